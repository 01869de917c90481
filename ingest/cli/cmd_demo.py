"""`python -m ingest demo`: write the demo history."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import settings
import store
from ingest.sources import demo
from ingest.status import sources_in

NAME = "demo"
HELP = "write a realistic, deterministic demo history (replaces earlier demo data)"


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=7, help="random seed; the same seed gives the same history")
    parser.add_argument("--days", type=_positive_int, default=180, help="days of history ending now (default 180)")
    parser.add_argument("--config", default=None, help="configuration file (default ./alerthygiene.toml)")


def run(args: argparse.Namespace) -> int:
    config = settings.load(args.config)
    exists = not store.is_local_file(args.db) or Path(args.db).exists()
    others = (sources_in(args.db) if exists else set()) - {demo.SOURCE}
    if others:
        print(
            f"error: {args.db} holds data from {', '.join(sorted(others))}; demo rows never mix with a "
            "provider's. Use a separate database, e.g. --db data/demo.duckdb",
            file=sys.stderr,
        )
        return 2
    started = time.monotonic()
    demo.clear_demo(args.db)
    loaded = demo.load_demo(args.db, config, seed=args.seed, days=args.days, progress=sys.stderr.isatty())
    totals = loaded.totals.by_table
    print(
        f"demo history written to {args.db} in {time.monotonic() - started:.1f}s: "
        f"{totals.get('alerts', 0)} alerts, {totals.get('notifications', 0)} notifications, "
        f"{totals.get('events', 0)} events, {totals.get('people', 0)} people in "
        f"{totals.get('teams', 0)} teams over {args.days} days"
    )
    return 0
