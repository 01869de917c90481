"""A person's saves kept aside while the database is busy: durable at once, seen by every reader, applied soon.

A DuckDB file takes one writer and no readers at a time, and a report can read for many seconds;
a verdict saved in the retro should not wait for it. So a save that cannot have the file within
WAIT_S is written here instead, in `<db>.pending/` beside the file, as one Arrow file of whole
rows, made durable (fsync, rename) before the save returns, as the webhook's spool does:

- every reader sees kept rows at once: the table's name is a view over the stored rows and
  the kept ones (a kept row replaces the stored row of its primary key);
- every writer applies what is kept first, in its own transaction, and removes the files only
  once that transaction has committed, while it still holds the file, so no reader sees a
  row twice or not at all; the process that kept them also applies them itself, once it can.

Only whole rows of tables with a primary key are kept (an upsert), never a delete.
"""

from __future__ import annotations

import itertools
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from store.durable import fsync_dir
from store.migrations import PRIMARY_KEYS
from store.paths import beside
from store.upsert import upsert

if TYPE_CHECKING:
    import pyarrow as pa

# Arrow is imported where kept rows are written or read: a read with nothing kept aside (the
# command-line report, say) never loads it.

log = logging.getLogger(__name__)

WAIT_S = 0.5  # how long a person's save waits for the database before it is kept aside
_SUFFIX = ".arrow"
_numbers = itertools.count()


def pending_dir(db: str) -> Path:
    return beside(db, ".pending")


def keep(db: str, table: str, rows: pa.Table) -> Path:
    """Write `rows` of `table` aside durably; the path they were kept in."""
    if table not in PRIMARY_KEYS:
        raise KeyError(f"{table} is not a table rows can be kept aside for")
    directory = pending_dir(db)
    directory.mkdir(exist_ok=True)
    # Names sort in the order saves were made (time first), so a later save of a key wins.
    name = f"{time.time_ns():020d}-{os.getpid()}-{next(_numbers):06d}.{table}"
    partial, final = directory / f".{name}.part", directory / f"{name}{_SUFFIX}"
    import pyarrow.ipc

    with partial.open("wb") as handle:
        with pyarrow.ipc.new_file(handle, rows.schema) as writer:
            writer.write_table(rows)
        handle.flush()
        os.fsync(handle.fileno())
    partial.rename(final)
    fsync_dir(directory)
    return final


def kept(db: str) -> list[Path]:
    """The files kept aside, oldest first (none for a database that is not a local file)."""
    try:
        return sorted(p for p in pending_dir(db).iterdir() if p.name.endswith(_SUFFIX) and not p.name.startswith("."))
    except (FileNotFoundError, NotADirectoryError):
        return []


def _read(path: Path) -> tuple[str, pa.Table] | None:
    """The table a kept file is for and its rows; None if it is gone (applied meanwhile)."""
    import pyarrow.ipc

    table = path.name[: -len(_SUFFIX)].rsplit(".", 1)[-1]
    try:
        with pyarrow.memory_map(str(path)) as source:
            return table, pyarrow.ipc.open_file(source).read_all()
    except FileNotFoundError:
        return None


def apply(con: duckdb.DuckDBPyConnection, db: str) -> list[Path]:
    """Upsert every kept file into its table within `con`'s transaction; the files to remove once it commits.

    A file that cannot be applied (its table or columns no longer exist) is set aside under
    `failed/` with a warning rather than failing every write after it.
    """
    applied = []
    for path in kept(db):
        found = _read(path)
        if found is None:
            continue
        table, rows = found
        columns = {r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? AND table_schema = 'main'",
            [table]).fetchall()}
        if table not in PRIMARY_KEYS or not set(rows.column_names) <= columns:
            _set_aside(path, f"table {table} has no columns {sorted(set(rows.column_names) - columns)}")
            continue
        upsert(con, table, rows)
        applied.append(path)
    return applied


def remove(paths: list[Path]) -> None:
    """Remove kept files once their rows are committed."""
    for path in paths:
        path.unlink(missing_ok=True)
    if paths:
        fsync_dir(paths[0].parent)


def overlay(con: duckdb.DuckDBPyConnection, db: str) -> bool:
    """On a read connection: each table with kept rows becomes a view of its stored rows and the kept
    ones. Whether there were any."""
    by_table: dict[str, list[pa.Table]] = {}
    for path in kept(db):
        found = _read(path)
        if found is not None and found[0] in PRIMARY_KEYS:
            by_table.setdefault(found[0], []).append(found[1])
    if not by_table:
        return False
    import pyarrow as pa

    catalog = con.execute("SELECT current_database()").fetchall()[0][0]
    for table, parts in by_table.items():
        rows = pa.concat_tables(parts, promote_options="default")
        rows = rows.append_column("_kept_order", pa.array(range(rows.num_rows), pa.int64()))
        view = f"_kept_{table}"
        con.register(view, rows)
        keys = PRIMARY_KEYS[table]
        same = " AND ".join(f"k.{_quoted(k)} IS NOT DISTINCT FROM s.{_quoted(k)}" for k in keys)
        partition = ", ".join(_quoted(k) for k in keys)
        # Identifiers: the table is one of PRIMARY_KEYS' and the catalog is DuckDB's own name for the file.
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {_quoted(table)} AS "  # noqa: S608
            f"SELECT * FROM {_quoted(catalog)}.main.{_quoted(table)} s "
            f"WHERE NOT EXISTS (SELECT 1 FROM {view} k WHERE {same}) "
            f"UNION ALL BY NAME "
            f"SELECT * EXCLUDE (_kept_order) FROM {view} "
            f"QUALIFY row_number() OVER (PARTITION BY {partition} ORDER BY _kept_order DESC) = 1"
        )
    return True


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _set_aside(path: Path, why: str) -> None:
    failed = path.parent / "failed"
    failed.mkdir(exist_ok=True)
    path.rename(failed / path.name)
    log.warning("a save kept aside could not be applied (%s); it is in %s", why, failed / path.name)

