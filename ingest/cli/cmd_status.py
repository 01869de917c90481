"""`python -m ingest status`: what each source has loaded."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import metrics
import settings
import store
from metrics import catalog
from store import layout

NAME = "status"
HELP = "show per source: last sync, alerts, open alerts, quarantined records, last error"
ADVICE_WAIT_S = 5.0  # after an import or a sync, the longest the reorder advice waits for the file


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options beyond --db."""


def run(args: argparse.Namespace) -> int:
    if store.is_local_file(args.db) and not Path(args.db).exists():  # a typo must not become a new database
        raise settings.ConfigError(f"database {store.display_name(args.db)} does not exist (--db, $ALERTHYGIENE_DB)")
    figures = metrics.read(args.db, ["sources", "data_gaps"], settings=settings.Settings())  # no figure needs the file
    table = figures["sources"].drop(columns="last_ingested_at")
    if table.empty:
        print(f"{store.display_name(args.db)}: no data yet. Try: python -m ingest demo --db data/demo.duckdb")
        return 0
    print(f"database: {store.display_name(args.db)}")
    table["last_sync"] = table["last_sync"].dt.tz_convert("UTC").dt.strftime("%Y-%m-%d %H:%M UTC")  # to the minute
    print(table.astype(object).where(table.notna(), "-").to_string(index=False))  # never 'None' or 'NaT'
    for gap in catalog.gap_lines(figures["data_gaps"]):
        print(f"read in part: {gap}")
    advice = reorder_advice(args.db)
    if advice:
        print(advice)
    return 0


def advise_after_writing(db: str) -> None:
    """After an import or a sync stored alerts (a backfill merged over a live history is where the
    order is lost): the reorder advice on stderr, where it happened. Only advice: a file kept busy
    by another writer is not waited for long (`status` says it later)."""
    try:
        advice = reorder_advice(db, timeout_s=ADVICE_WAIT_S)
    except store.DatabaseBusy:
        return
    if advice:
        print(advice, file=sys.stderr)


def reorder_advice(db: str, timeout_s: float | None = None) -> str | None:
    """A line saying the alerts are stored far out of time order, with the command that fixes it; None if
    they are not (or for a remote store, which keeps its own layout)."""
    if not store.is_local_file(db):
        return None
    with store.reading(db, timeout_s) as con:
        stored = layout.layout(con)
    if not stored.poor:
        return None
    return (f"out of time order: a moment of the alerts' history is spread over {stored.spread:.1f} of "
            f"{stored.row_groups} row groups (1 in time order): a period read scans about that many times the "
            f"rows it needs. Run: python -m ingest reorder --db {db}")
