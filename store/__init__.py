"""The one module that owns DuckDB: opening, migrations, the lock across processes, saves kept aside and bulk upserts."""

import importlib

from store import lock, pending
from store.connection import (
    DEFAULT_DB,
    KEPT,
    DatabaseBusy,
    DatabaseError,
    check_writable,
    default_db,
    display_name,
    exists,
    is_local_file,
    keeps,
    last_change,
    migrate,
    read_session,
    reading,
    schema_version,
    upsert_soon,
    writing,
)
from store.migrations import LATEST_VERSION, PRIMARY_KEYS
from store.upsert import upsert

__all__ = [
    "DEFAULT_DB",
    "KEPT",
    "DatabaseBusy",
    "DatabaseError",
    "check_writable",
    "LATEST_VERSION",
    "PRIMARY_KEYS",
    "default_db",
    "display_name",
    "exists",
    "is_local_file",
    "keeps",
    "last_change",
    "lock",
    "migrate",
    "outbound",
    "pending",
    "read_session",
    "reading",
    "retro",
    "schema_version",
    "upsert",
    "upsert_soon",
    "writing",
]


def __getattr__(name: str):
    """store.outbound and store.retro, the writers of the app's own rows, load Arrow: imported when
    first used, so that a process that only reads never loads it."""
    if name in ("outbound", "retro"):
        return importlib.import_module(f"store.{name}")
    raise AttributeError(f"module 'store' has no attribute {name!r}")
