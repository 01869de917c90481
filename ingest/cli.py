"""`python -m ingest`: load alert history into the DuckDB store."""

from __future__ import annotations

import argparse
import logging
import sys
import time

import settings
import store
from ingest import demo
from ingest.status import source_status, sources_in

EPILOG = """\
examples:
  python -m ingest demo --db data/demo.duckdb     # a realistic 180-day history to explore
  python -m ingest status                         # what each source has loaded

The database is --db, else $ALERTHYGIENE_DB, else data/alerts.duckdb.
Exit codes: 0 done; 1 partly done (records quarantined or a source failed); 2 bad usage.
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ingest",
        description="Load alert and incident history into the alert hygiene database.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens, step by step")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--db", default=None, help="database path or DuckDB connection string")
        return sub

    demo_cmd = add("demo", "write a realistic, deterministic demo history (replaces earlier demo data)")
    demo_cmd.add_argument("--seed", type=int, default=7, help="random seed; the same seed gives the same history")
    demo_cmd.add_argument("--days", type=_positive_int, default=180, help="days of history ending now (default 180)")
    demo_cmd.add_argument("--config", default=None, help="configuration file (default ./alerthygiene.toml)")
    add("status", "show per source: last sync, alerts, open alerts, quarantined records, last error")
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def run_demo(args: argparse.Namespace) -> int:
    db = args.db or store.default_db()
    config = settings.load(args.config)
    others = sources_in(db) - {demo.SOURCE}
    if others:
        print(
            f"error: {db} holds data from {', '.join(sorted(others))}; demo rows never mix with a "
            "provider's. Use a separate database, e.g. --db data/demo.duckdb",
            file=sys.stderr,
        )
        return 2
    started = time.monotonic()
    demo.clear_demo(db)
    run = demo.load_demo(db, config, seed=args.seed, days=args.days, progress=sys.stderr.isatty())
    totals = run.totals.by_table
    print(
        f"demo history written to {db} in {time.monotonic() - started:.1f}s: "
        f"{totals.get('alerts', 0)} alerts, {totals.get('notifications', 0)} notifications, "
        f"{totals.get('events', 0)} events, {totals.get('people', 0)} people in "
        f"{totals.get('teams', 0)} teams over {args.days} days"
    )
    return 0


def run_status(args: argparse.Namespace) -> int:
    db = args.db or store.default_db()
    table = source_status(db)
    if table.empty:
        print(f"{db}: no data yet. Try: python -m ingest demo --db {db}")
        return 0
    print(f"database: {db}")
    print(table.to_string(index=False, na_rep="-"))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    handlers = {"demo": run_demo, "status": run_status}
    try:
        return handlers[args.command](args)
    except settings.ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (store.DatabaseBusy, store.DatabaseError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
