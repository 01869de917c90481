"""What the app needs before it reads figures: which sources wrote alerts, when one last ran well."""

# What people read about each source (last sync, open alerts, quarantine, what was read only in
# part) are the `sources`, `quarantined` and `data_gaps` metrics.

from __future__ import annotations

import datetime as dt

import store


def sources_in(db: str, timeout_s: float | None = None) -> set[str]:
    """The sources that have written alerts into `db`."""
    with store.reading(db, timeout_s=timeout_s) as con:
        return {row[0] for row in con.execute("SELECT DISTINCT source FROM alerts").fetchall()}


def last_good_run(db: str, source: str) -> dt.datetime | None:
    """When the last run of `source` that finished without errors ended."""
    with store.reading(db) as con:
        row = con.execute(
            "SELECT max(finished_at) FROM ingest_runs WHERE source = ? AND status = 'ok'", [source]
        ).fetchone()
    return row[0]

