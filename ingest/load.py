"""The loader every provider shares: rows, quarantine and sync state in one transaction."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

import pyarrow as pa

import store
from ingest import shifts
from ingest.mapping import Mapped

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

    def __init__(self, db: str, source: str):
        self.db = db
        self.source = source
        self.run_id = uuid.uuid4().hex
        self.started_at = dt.datetime.now(dt.UTC)
        self.totals = RunTotals()
        self.warning: str | None = None  # loaded, but something the user must know (finish(partial=...))
        with store.writing(db) as con:
            _mark_killed_runs(db, con, self.started_at)
            con.execute(
                "INSERT INTO ingest_runs (run_id, source, started_at, status) VALUES (?, ?, ?, 'running')",
                [self.run_id, source, self.started_at],
            )
        self._alive = store.lock.hold_run(db, self.run_id) if store.is_local_file(db) else None

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

    def finish(self, error: str | None = None, partial: str | None = None) -> str:
        """Close the run: 'ok', 'partial' (some records quarantined, or `partial` says what is
        missing) or 'failed'."""
        self.warning = partial if not error else None
        status = "failed" if error else ("partial" if self.totals.quarantined or partial else "ok")
        error = error or partial
        with store.writing(self.db) as con:
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
