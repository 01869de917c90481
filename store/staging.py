"""An import's rows staged in Parquet files beside the database, then upserted from there in few write turns.

Every write turn waits for the reads in progress and the writers queued ahead of it; an import
that writes batch by batch waits for one such convoy per batch. So a long import maps its whole
file first, outside the lock, into one Parquet file per table in `<db>.staging/` (appended a batch
at a time: memory stays that of one batch, whatever the file's size), and then upserts from there
in turns of at most TURN_ROWS rows (one turn for most files; a huge file in several, so that the
readers waiting behind it are not held up for minutes).

The files are named after the run that staged them, removed when it is done, failed or not, and
removed by the next staging of the same database if their run's process died (kill -9).
"""

from __future__ import annotations

import contextlib
import itertools
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from store import lock
from store.connection import is_local_file
from store.paths import beside
from store.upsert import upsert_staged

# Rows upserted in one write turn: a turn holds the file for seconds, not minutes (readers wait
# for it; they give up after 30 s). A 200k-row CSV export is one turn.
TURN_ROWS = 250_000
ORDER = "_ord"  # the staged rows' order in the file: a later row of a key wins as in store.upsert
_SUFFIX = ".parquet"
_names = itertools.count()


def staging_dir(db: str) -> Path:
    return beside(db, ".staging")


class Staging:
    """Rows of several tables, appended batch by batch to a Parquet file per table; `upsert_turns`
    writes them to the store. Use as a context manager: the files are removed at its end."""

    def __init__(self, db: str, run_id: str):
        self.db, self.run_id = db, run_id
        if is_local_file(db):  # beside the database: the same disk, which has room for its data
            self.directory = staging_dir(db)
            self.directory.mkdir(exist_ok=True)
            self._temporary = False
            remove_abandoned(db)
        else:
            self.directory = Path(tempfile.mkdtemp(prefix="staging-"))
            self._temporary = True
        self._writers: dict[str, pq.ParquetWriter] = {}
        self._schemas: dict[str, pa.Schema] = {}
        self.rows: dict[str, int] = {}  # table → rows staged

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def path(self, table: str) -> Path:
        return self.directory / f"{self.run_id}.{table}{_SUFFIX}"

    def add(self, table: str, rows: pa.Table) -> None:
        """Append rows of `table`. The first batch fixes the columns and their types (so give it
        typed: a column all null has no type of its own); later batches are cast to them."""
        if rows.num_rows == 0:
            return
        schema = self._schemas.get(table)
        if schema is None:
            schema = self._schemas[table] = rows.schema.append(pa.field(ORDER, pa.int64()))
            self._writers[table] = pq.ParquetWriter(self.path(table), schema)
        missing = set(rows.column_names) ^ set(schema.names[:-1])
        if missing:
            raise ValueError(f"staged {table}: the batch's columns differ from the first batch's: {sorted(missing)}")
        done = self.rows.get(table, 0)
        rows = rows.select(schema.names[:-1]).append_column(ORDER, pa.array(range(done, done + rows.num_rows), pa.int64()))
        self._writers[table].write_table(rows.cast(schema))
        self.rows[table] = done + rows.num_rows

    def turns(self, tables: Sequence[str], turn_rows: int | None = None) -> list[list[tuple[str, tuple[int, int]]]]:
        """The staged rows of `tables`, in that order, cut into write turns of `turn_rows` (default
        TURN_ROWS) rows at most: per turn, (table, [start, stop) of its rows) pieces."""
        turn_rows = turn_rows or TURN_ROWS
        turns, current, room = [], [], turn_rows
        for table in tables:
            start, count = 0, self.rows.get(table, 0)
            while start < count:
                take = min(room, count - start)
                current.append((table, (start, start + take)))
                start, room = start + take, room - take
                if room == 0:
                    turns.append(current)
                    current, room = [], turn_rows
        return [*turns, current] if current else turns

    def upsert(
        self,
        con: duckdb.DuckDBPyConnection,
        table: str,
        rows: tuple[int, int],
        merge: Mapping[str, str] | None = None,
    ) -> int:
        """Upsert the staged rows [start, stop) of `table` on `con` (a write transaction), as
        store.upsert would (contested keys merged, the later row of a key winning); rows written."""
        self._finish_writing()
        start, stop = (int(bound) for bound in rows)
        view = f"_staged_{next(_names)}"
        con.register(view, con.read_parquet(str(self.path(table))))
        try:
            return upsert_staged(
                con, table, view, self._schemas[table].names[:-1], merge=merge,
                where=f"{ORDER} >= {start} AND {ORDER} < {stop}", order=ORDER,  # integers of ours, not data
            )
        finally:
            with contextlib.suppress(duckdb.Error):  # an aborted transaction: the rollback drops it
                con.unregister(view)

    def _finish_writing(self) -> None:
        for writer in self._writers.values():
            writer.close()  # idempotent: writes the footer once

    def close(self) -> None:
        """Remove the staged files. The directory beside the database stays (like `<db>.locks/`): an
        import starting beside us may be about to stage into it."""
        with contextlib.suppress(Exception):
            self._finish_writing()
        for table in self._schemas:
            self.path(table).unlink(missing_ok=True)
        if self._temporary:
            with contextlib.suppress(OSError):
                self.directory.rmdir()


def remove_abandoned(db: str) -> list[Path]:
    """Remove staged files whose run's process is gone (killed mid-import); the files removed."""
    removed = []
    for path in _staged_files(db):
        run_id = path.name.split(".", 1)[0]
        if not lock.run_alive(db, run_id):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _staged_files(db: str) -> Iterator[Path]:
    try:
        yield from (p for p in staging_dir(db).iterdir() if p.name.endswith(_SUFFIX))
    except (FileNotFoundError, NotADirectoryError):
        return
