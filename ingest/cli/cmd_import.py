"""`python -m ingest import`: load an exported file (CSV exports and other registered formats)."""

from __future__ import annotations

import argparse
import sys

import settings
from ingest.imports import FORMATS, ImportFailed
from ingest.sources import (
    alertmanager_import,  # noqa: F401 - registers alertmanager-json
    csv_exports,  # noqa: F401 - registers the CSV formats
    shifts_csv,  # noqa: F401 - registers shifts-csv
)

NAME = "import"
HELP = "load an exported file: " + ", ".join(FORMATS)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="the exported file")
    parser.add_argument("--format", required=True, choices=list(FORMATS),
                        help="; ".join(f"{f.name}: {f.help}" for f in FORMATS.values()))
    parser.add_argument("--config", default=None, help="configuration file (default ./alerthygiene.toml)")


def run(args: argparse.Namespace) -> int:
    config = settings.load(args.config)
    try:
        run_ = FORMATS[args.format].load(args.file, args.db, config)
    except ImportFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    totals = run_.totals
    loaded = (f"{totals.by_table.get('on_call_shifts', 0)} shift pieces (within one UTC day each)"
              if args.format == "shifts-csv" else f"{totals.by_table.get('alerts', 0)} alerts")
    print(f"{args.file}: {loaded} loaded into {args.db} as source {run_.source}")
    if totals.quarantined:
        print(f"{totals.quarantined} rows quarantined (see python -m ingest status)", file=sys.stderr)
        return 1
    return 0
