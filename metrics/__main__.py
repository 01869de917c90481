"""Command line: `python -m metrics report` prints the sprint report as Markdown, HTML or JSON."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from pathlib import Path

import settings as settings_module
import store
from metrics import catalog
from metrics.period import Period, between, sprint_period
from metrics.report import RENDERERS, build

EPILOG = """\
examples:
  python -m metrics report                          this sprint, all teams, Markdown
  python -m metrics report --team payments --sprint 2026-03-10 --format html > report.html
  python -m metrics report --from 2026-03-01 --to 2026-04-01 --format json

Dates are read in the configured time zone (default UTC); --to is exclusive.
Exit codes: 0 done, 1 the database could not be read, 2 bad usage or configuration.
"""


class UsageError(Exception):
    """Bad usage or configuration: exit 2 with a one-line message."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage dump
        raise UsageError(message)


def parser() -> argparse.ArgumentParser:
    top = Parser(prog="python -m metrics", description="Alert hygiene metrics from the command line.")
    commands = top.add_subparsers(dest="command", required=True, parser_class=Parser)
    report = commands.add_parser(
        "report",
        help="print the sprint report",
        description="Print the alert hygiene report for one sprint (or period) and team.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    report.add_argument("--db", help="database (default $ALERTHYGIENE_DB, else data/alerts.duckdb)")
    report.add_argument("--team", help="a team's name as the app shows it (default: all teams)")
    when = report.add_mutually_exclusive_group()
    when.add_argument("--sprint", metavar="DATE", help="report the sprint containing DATE (default: today)")
    when.add_argument("--from", dest="start", metavar="DATE", help="period start (date or ISO time)")
    report.add_argument("--to", dest="end", metavar="DATE", help="period end, exclusive (with --from)")
    report.add_argument("--format", choices=sorted(RENDERERS), default="markdown", help="default: markdown")
    report.add_argument("--config", help="settings file (default ./alerthygiene.toml if present)")
    return top


def _moment(text: str, option: str) -> dt.date | dt.datetime:
    try:
        return dt.date.fromisoformat(text) if len(text) == 10 else dt.datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option}: expected a date like 2026-03-10 or an ISO time, got {text!r}") from None


def period_of(args: argparse.Namespace, config: settings_module.Settings) -> Period:
    """The period the options ask for: --from/--to, else the sprint containing --sprint or today."""
    if args.start or args.end:
        if not (args.start and args.end):
            raise UsageError("--from and --to go together")
        start, end = _moment(args.start, "--from"), _moment(args.end, "--to")
        try:
            return between(start, end, config.default_time_zone)
        except (TypeError, ValueError):
            raise UsageError(f"--to ({args.end}) must be after --from ({args.start})") from None
    day = _moment(args.sprint, "--sprint") if args.sprint else None
    if isinstance(day, dt.datetime):
        day = day.date()
    return sprint_period(config, day)


def check_db(db: str) -> None:
    if store.is_local_file(db) and not Path(db).exists():
        raise UsageError(f"database {db} does not exist (load one with `python -m ingest demo` or sync)")


def check_team(db: str, team: str | None) -> None:
    if team is None:
        return
    known = catalog.teams(db)
    if team not in known:
        raise UsageError(f"unknown team {team!r}; known teams: {', '.join(known) or 'none yet'}")


def report(args: argparse.Namespace) -> str:
    try:
        config = settings_module.load(args.config)
    except settings_module.ConfigError as exc:
        raise UsageError(str(exc)) from None
    db = args.db or store.default_db()
    period = period_of(args, config)
    check_db(db)
    check_team(db, args.team)
    return RENDERERS[args.format](build(db, period, args.team, config))


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings_module.install_redaction()
    try:
        args = parser().parse_args(argv)
        sys.stdout.write(report(args))
    except UsageError as exc:
        print(f"python -m metrics: error: {exc}", file=sys.stderr)
        return 2
    except (store.DatabaseBusy, store.DatabaseError) as exc:
        print(f"python -m metrics: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
