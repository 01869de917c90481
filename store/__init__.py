"""The one module that owns DuckDB: opening, migrations, lock retry and bulk upserts."""

from store import lock, outbound, retro
from store.connection import (
    DEFAULT_DB,
    DatabaseBusy,
    DatabaseError,
    check_writable,
    default_db,
    display_name,
    exists,
    is_local_file,
    last_change,
    migrate,
    reading,
    schema_version,
    writing,
)
from store.migrations import LATEST_VERSION, PRIMARY_KEYS
from store.upsert import upsert

__all__ = [
    "DEFAULT_DB",
    "DatabaseBusy",
    "DatabaseError",
    "check_writable",
    "LATEST_VERSION",
    "PRIMARY_KEYS",
    "default_db",
    "display_name",
    "exists",
    "is_local_file",
    "last_change",
    "lock",
    "migrate",
    "outbound",
    "reading",
    "retro",
    "schema_version",
    "upsert",
    "writing",
]
