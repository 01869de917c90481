"""`python -m ingest`: load alert history into the DuckDB store."""

from __future__ import annotations

import argparse
import logging
import sys

import settings
import store
from ingest.cli import cmd_demo, cmd_export, cmd_import, cmd_reorder, cmd_status, cmd_sync, cmd_webhook

# Each command module has NAME, HELP, add_arguments(parser) and run(args) -> exit code.
COMMANDS = [cmd_demo, cmd_sync, cmd_import, cmd_status, cmd_webhook, cmd_export, cmd_reorder]

EPILOG = """\
examples:
  python -m ingest demo --db data/demo.duckdb          # a realistic 180-day history to explore
  PAGERDUTY_TOKEN=... python -m ingest sync --source pagerduty
  python -m ingest import incidents.csv --format pagerduty-csv
  ALERTMANAGER_WEBHOOK_TOKEN=... python -m ingest webhook --port 9095
  python -m ingest status                              # what each source has loaded
  python -m ingest export --parquet exports/           # Hive-partitioned Parquet for other engines
  python -m ingest reorder                             # alerts rewritten in time order, after a backfill

The database is --db, else $ALERTHYGIENE_DB, else data/alerts.duckdb. Tokens come only from
the environment. Exit codes: 0 done; 1 partly done (records quarantined or a source failed);
2 bad usage or configuration.
"""


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m ingest",
        description="Load alert and incident history into the alert hygiene database.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("-v", "--verbose", action="store_true", help="log what happens, step by step")
    subcommands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        sub = subcommands.add_parser(command.NAME, help=command.HELP, description=command.HELP)
        sub.add_argument("--db", default=None, help="database path or DuckDB connection string")
        command.add_arguments(sub)
        sub.set_defaults(run=command.run)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    settings.install_redaction()
    args.db = args.db or store.default_db()
    try:
        return args.run(args)
    except settings.ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (store.DatabaseBusy, store.DatabaseError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
