"""The loader every provider shares: rows, quarantine and sync state in one transaction."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

import store
import store.staging
from ingest import shifts
from ingest.mapping import Mapped, canonical_table

log = logging.getLogger(__name__)

# Tables are written in this order so a batch's alerts land before rows that refer to them.
TABLE_ORDER = ("teams", "services", "people", "alerts", "events", "notifications", "dropped_alerts",
               "on_call_shifts")


@dataclass
class RunTotals:
    rows: int = 0
    quarantined: int = 0
    by_table: dict[str, int] = field(default_factory=dict)


def saved_cursor(db: str, source: str, stream: str) -> str | None:
    """Where the last committed load of a source's stream stopped (None before the first)."""
    if not store.exists(db):
        return None
    with store.reading(db) as con:
        row = con.execute(
            "SELECT cursor FROM sync_state WHERE source = ? AND stream = ?", [source, stream]
        ).fetchone()
    return row[0] if row else None


class IngestRun:
    """One run of one source: records an `ingest_runs` row and loads batches into the store."""

    def __init__(self, db: str, source: str, read: Callable[[duckdb.DuckDBPyConnection], Any] | None = None):
        """Record the run as running. `read(con)`: what the caller needs from the store before it
        maps anything, read in the same turn (`self.read` holds its result)."""
        self.db = db
        self.source = source
        self.run_id = uuid.uuid4().hex
        self.started_at = dt.datetime.now(dt.UTC)
        self.totals = RunTotals()
        self.warning: str | None = None  # loaded, but something the user must know (finish(partial=...))
        # Held before the run is recorded, so that no other run's start takes it for a killed one.
        self._alive = store.lock.hold_run(db, self.run_id) if store.is_local_file(db) and store.exists(db) else None
        try:
            with store.writing(db) as con:
                _mark_killed_runs(db, con, self.started_at)
                con.execute(
                    "INSERT INTO ingest_runs (run_id, source, started_at, status) VALUES (?, ?, ?, 'running')",
                    [self.run_id, source, self.started_at],
                )
                self.read = read(con) if read else None
        except BaseException:
            store.lock.release_run(db, self.run_id, self._alive)
            raise
        if self._alive is None and store.is_local_file(db):  # the database was new: its directory is there now
            self._alive = store.lock.hold_run(db, self.run_id)

    def cursor(self, stream: str) -> str | None:
        """Where the last committed load of this stream stopped."""
        return saved_cursor(self.db, self.source, stream)

    def load(
        self,
        stream: str,
        mapped: Mapped,
        cursor: str | None = None,
        merge: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        """Upsert a batch and move the stream's cursor, all or nothing.

        A table's rows may be a list of dicts or an Arrow table; `merge` gives per table
        the columns that combine with stored values (see store.upsert).
        """
        ingested_at = dt.datetime.now(dt.UTC)
        tables = {}  # built before the database is taken: others wait only for the writing itself
        for table in TABLE_ORDER:
            rows = mapped.rows.get(table)
            if rows is None or len(rows) == 0:
                continue
            if not isinstance(rows, pa.Table):
                if table == "alerts":
                    for row in rows:
                        row.setdefault("ingested_at", ingested_at)
                rows = pa.Table.from_pylist(rows)
            tables[table] = rows
        quarantine = self._quarantine_rows(mapped, ingested_at) if mapped.rejected else None
        with store.writing(self.db) as con:
            for replace in mapped.replaces:
                shifts.delete_replaced(con, replace)
            for table, rows in tables.items():
                written = store.upsert(con, table, rows, merge=(merge or {}).get(table))
                self.totals.rows += written
                self.totals.by_table[table] = self.totals.by_table.get(table, 0) + written
            if quarantine is not None:
                store.upsert(con, "quarantine", quarantine)
                self.totals.quarantined += len(mapped.rejected)
            if cursor is not None:
                store.upsert(
                    con,
                    "sync_state",
                    pa.Table.from_pylist(
                        [{"source": self.source, "stream": stream, "cursor": cursor, "updated_at": ingested_at}]
                    ),
                )
            self._record_progress(con)

    def stage(self, staging: store.staging.Staging, mapped: Mapped) -> None:
        """Append a batch to `staging` (outside the lock; see `load_staged`), its rejects as quarantine rows."""
        if mapped.replaces:
            raise ValueError("a batch that replaces stored rows cannot be staged")
        ingested_at = dt.datetime.now(dt.UTC)
        for table in TABLE_ORDER:
            rows = mapped.rows.get(table)
            if rows:
                if table == "alerts":
                    for row in rows:
                        row.setdefault("ingested_at", ingested_at)
                staging.add(table, canonical_table(rows))
        if mapped.rejected:
            staging.add("quarantine", self._quarantine_rows(mapped, ingested_at))

    def load_staged(
        self,
        staging: store.staging.Staging,
        merge: Mapping[str, Mapping[str, str]] | None = None,
        partial: str | None = None,
    ) -> str:
        """Upsert everything staged and close the run in as few write turns as its size allows
        (one, for all but huge files: see store.staging.TURN_ROWS), the run's close in the last.

        Tables go in TABLE_ORDER, each in turns of its rows in the order staged; a turn commits its
        rows and the run's progress together, so an import that fails part way has written whole
        turns, which a re-run finds stored (and, upserted on their keys, does not double).
        """
        turns = staging.turns((*TABLE_ORDER, "quarantine"))
        if not turns:
            return self.finish(partial=partial)
        for number, pieces in enumerate(turns, 1):
            with store.writing(self.db) as con:
                for table, rows in pieces:
                    written = staging.upsert(con, table, rows, merge=(merge or {}).get(table))
                    if table == "quarantine":
                        self.totals.quarantined += rows[1] - rows[0]
                    else:
                        self.totals.rows += written
                        self.totals.by_table[table] = self.totals.by_table.get(table, 0) + written
                if number < len(turns):
                    self._record_progress(con)
                else:
                    return self.finish(partial=partial, con=con)
        raise AssertionError("unreachable")

    def record_batch(self, con, written: Mapping[str, int], mapped: Mapped, at: dt.datetime) -> None:
        """For callers that upsert in bulk themselves: count their rows and quarantine their rejects
        in the same transaction (`con`)."""
        for table, count in written.items():
            self.totals.rows += count
            self.totals.by_table[table] = self.totals.by_table.get(table, 0) + count
        if mapped.rejected:
            store.upsert(con, "quarantine", self._quarantine_rows(mapped, at))
            self.totals.quarantined += len(mapped.rejected)
        self._record_progress(con)

    def _quarantine_rows(self, mapped: Mapped, at: dt.datetime) -> pa.Table:
        return pa.Table.from_pylist(
            [
                {
                    "source": self.source,
                    "stream": bad.stream,
                    "record_hash": hashlib.sha256(bad.raw.encode("utf-8", "backslashreplace")).hexdigest(),
                    "raw": bad.raw,
                    "reason": bad.reason,
                    "run_id": self.run_id,
                    "quarantined_at": at,
                }
                for bad in mapped.rejected
            ]
        )

    def _record_progress(self, con) -> None:
        con.execute(
            "UPDATE ingest_runs SET rows_loaded = ?, quarantined = ? WHERE run_id = ?",
            [self.totals.rows, self.totals.quarantined, self.run_id],
        )

    def finish(self, error: str | None = None, partial: str | None = None, con=None) -> str:
        """Close the run: 'ok', 'partial' (some records quarantined, or `partial` says what is
        missing) or 'failed'. With `con`, in that write transaction (the caller's last turn)."""
        self.warning = partial if not error else None
        status = "failed" if error else ("partial" if self.totals.quarantined or partial else "ok")
        error = error or partial
        with store.writing(self.db) if con is None else contextlib.nullcontext(con) as con:
            con.execute(
                "UPDATE ingest_runs SET finished_at = ?, status = ?, rows_loaded = ?, quarantined = ?, "
                "error = ? WHERE run_id = ?",
                [dt.datetime.now(dt.UTC), status, self.totals.rows, self.totals.quarantined, error, self.run_id],
            )
        store.lock.release_run(self.db, self.run_id, self._alive)
        self._alive = None
        log.info("%s: %s, %d rows, %d quarantined", self.source, status, self.totals.rows, self.totals.quarantined)
        return status


KILLED = "stopped before it finished (killed, or the machine went down); the next run picked up where it stopped"


def _mark_killed_runs(db: str, con, now: dt.datetime) -> None:
    """Runs recorded as running whose process is gone (kill -9, a crash) become 'killed'.

    Only for a local file, where each live run holds a lock of its own; elsewhere they stay.
    """
    if not store.is_local_file(db):
        return
    running = [row[0] for row in con.execute("SELECT run_id FROM ingest_runs WHERE status = 'running'").fetchall()]
    for run_id in running:
        if not store.lock.run_alive(db, run_id):
            con.execute("UPDATE ingest_runs SET status = 'killed', finished_at = ?, error = ? WHERE run_id = ?",
                        [now, KILLED, run_id])
            log.warning("run %s had been %s", run_id, KILLED.split(";")[0])
    store.staging.remove_abandoned(db)  # what a killed import had staged
