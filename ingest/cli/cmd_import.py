"""`python -m ingest import`: load an exported file (CSV exports and other registered formats)."""

from __future__ import annotations

import argparse
import sys
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import settings
import store
from ingest.cli import cmd_status
from ingest.imports import FORMATS, ImportFailed, ImportOptions
from ingest.sources import (
    alertmanager_import,  # noqa: F401 - registers alertmanager-json
    csv_exports,  # noqa: F401 - registers the CSV formats
    shifts_csv,  # noqa: F401 - registers shifts-csv
)
from ingest.sources.csv_exports import DATE_ORDERS

NAME = "import"
HELP = "load an exported file: " + ", ".join(FORMATS)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="the exported file")
    parser.add_argument("--format", required=True, choices=list(FORMATS),
                        help="; ".join(f"{f.name}: {f.help}" for f in FORMATS.values()))
    parser.add_argument("--config", default=None, help="configuration file (default ./alerthygiene.toml)")
    parser.add_argument("--date-order", choices=list(DATE_ORDERS),
                        help="CSV: read dates like 04/03/2026 as day/month (dmy) or month/day (mdy); needed only "
                             "when no date in the file decides it")
    parser.add_argument("--time-zone", metavar="ZONE",
                        help="CSV: the time zone of times written without one (a PagerDuty export's: the "
                             "account's), e.g. Europe/Madrid")


def run(args: argparse.Namespace) -> int:
    config = settings.load(args.config)
    try:
        options = ImportOptions(date_order=args.date_order, time_zone=_zone(args.time_zone))
        run_ = FORMATS[args.format].load(args.file, args.db, config, options)
    except ImportFailed as exc:
        if not exc.loaded:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        # A partial import: what is in, what is not, and how to finish the job.
        print(f"error: {exc}. {exc.loaded} alerts from the file before that point were loaded into "
              f"{store.display_name(args.db)}; the rest of the file was not. Fix what stopped it and import the file "
              "again: what is already loaded is not duplicated.", file=sys.stderr)
        return 1
    totals = run_.totals
    loaded = (f"{totals.by_table.get('on_call_shifts', 0)} shift pieces (within one UTC day each)"
              if args.format == "shifts-csv" else f"{totals.by_table.get('alerts', 0)} alerts")
    print(f"{args.file}: {loaded} loaded into {args.db} as source {run_.source}")
    if args.format != "shifts-csv":
        cmd_status.advise_after_writing(args.db)
    if run_.warning:
        print(f"warning: {run_.warning}", file=sys.stderr)
    if totals.quarantined:
        print(f"{totals.quarantined} rows quarantined (see python -m ingest status)", file=sys.stderr)
    return 1 if totals.quarantined or run_.warning else 0


def _zone(name: str | None) -> str | None:
    if name is None:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise settings.ConfigError(f"--time-zone: not a time zone: {name!r} (an IANA name, e.g. Europe/Madrid)") from None
    return name
