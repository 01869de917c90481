"""Command line: `report` and `advise` print; `post` and `tickets` send the retro's outcome to chat and ticketing."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb

import settings as settings_module
import store
from metrics.period import Period, between, sprint_period
from metrics.read import Scope, read, read_memory
from metrics.report import DOCUMENT_NAMES, JSON_NAMES, RENDERERS, document, read_report

# The advisor and the outbound commands (and the HTTP client they bring) are imported only when
# their command runs: a report needs none of them, and importing them costs a fifth of a second.

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


class CommandFailed(Exception):
    """A source or destination failed: exit 1 with a one-line message."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage dump
        raise UsageError(message)


def parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line; `command` (the one asked for) gets its full arguments, the others their help line."""
    top = Parser(prog="python -m metrics", description="Alert hygiene metrics from the command line.")
    commands = top.add_subparsers(dest="command", required=True, parser_class=Parser)
    report = commands.add_parser(
        "report",
        help="print the sprint report",
        description="Print the alert hygiene report for one sprint (or period) and team.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _scope_arguments(report)
    report.add_argument("--format", choices=sorted(RENDERERS), default="markdown", help="default: markdown")
    advise_help = "print the changes to alerting the history supports, as a patch"
    post_help = "post the sprint digest to Slack, Teams or a webhook"
    tickets_help = "open or update one Jira or GitHub ticket per fix, and read their status"
    if command != "advise":
        commands.add_parser("advise", help=advise_help)
    else:
        from advisor import cli as advisor_cli

        advise = commands.add_parser(
            "advise",
            help=advise_help,
            description="Turn the alert history into changes to Prometheus rules and the Alertmanager "
            "configuration (or paging providers' settings), each replayed over the period first.",
            epilog=advisor_cli.EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        _scope_arguments(advise)
        advisor_cli.add_arguments(advise)
    if command not in ("post", "tickets"):
        commands.add_parser("post", help=post_help)
        commands.add_parser("tickets", help=tickets_help)
        return top
    from outbound import cli as outbound_cli

    post = _command(commands, "post", post_help,
                    "Post the sprint's digest (headline figures, the retro's decisions, the noisiest alerts, reviewed "
                    "alerts still firing, whether fixes worked, links back) to chat, once per sprint.",
                    outbound_cli.POST_EPILOG)
    _scope_arguments(post, dates="sprint")
    outbound_cli.add_post_arguments(post)
    tickets = _command(commands, "tickets", tickets_help,
                       "One ticket per chosen signature (title, diagnosis, suggested fix with the advisor's patch, "
                       "figures, estimate, a link back), found again by its label so a second run updates it.",
                       outbound_cli.TICKETS_EPILOG)
    _scope_arguments(tickets, dates="none")
    outbound_cli.add_ticket_arguments(tickets)
    return top


def _command_in(argv: list[str]) -> str | None:
    """The command named on the command line (the first word that is not an option)."""
    return next((word for word in argv if not word.startswith("-")), None)


def _command(commands, name: str, help_text: str, description: str, epilog: str) -> argparse.ArgumentParser:
    return commands.add_parser(name, help=help_text, description=description, epilog=epilog,
                               formatter_class=argparse.RawDescriptionHelpFormatter)


def _scope_arguments(command: argparse.ArgumentParser, dates: str = "period") -> None:
    """--db, --team, --config and the period: any (`period`), a sprint only (`sprint`, where --to names a
    destination), or none."""
    command.add_argument("--db", help="database (default $ALERTHYGIENE_DB, else data/alerts.duckdb)")
    command.add_argument("--team", help="a team's name as the app shows it (default: all teams)")
    if dates == "period":
        when = command.add_mutually_exclusive_group()
        when.add_argument("--sprint", metavar="DATE", help="the sprint containing DATE (default: today)")
        when.add_argument("--from", dest="start", metavar="DATE", help="period start (date or ISO time)")
        command.add_argument("--to", dest="end", metavar="DATE", help="period end, exclusive (with --from)")
    elif dates == "sprint":
        command.add_argument("--sprint", metavar="DATE", help="the sprint containing DATE (default: the last finished)")
    absent = {"period": (), "sprint": ("start", "end"), "none": ("sprint", "start", "end")}[dates]
    command.set_defaults(**dict.fromkeys(absent))
    command.add_argument("--config", help="settings file (default ./alerthygiene.toml if present)")


def _moment(text: str, option: str) -> dt.date | dt.datetime:
    try:
        value = dt.date.fromisoformat(text) if len(text) == 10 else dt.datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option}: expected a date like 2026-03-10 or an ISO time, got {text!r}") from None
    if not settings_module.EARLIEST_YEAR <= value.year <= settings_module.LATEST_YEAR:
        raise UsageError(f"{option}: expected a date from {settings_module.EARLIEST_YEAR} to "
                         f"{settings_module.LATEST_YEAR}, got {text!r}")
    return value


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


def check_team(db: str, team: str | None, period: Period) -> None:
    """An unknown team is bad usage; the known ones are listed only then (listing them reads every alert)."""
    if team is None or read(db, ["team_known"], Scope(period, team)).rows("team_known")[0]["known"]:
        return
    known = [row["team"] for row in read(db, ["teams"]).rows("teams")]
    if team not in known:
        raise UsageError(f"unknown team {team!r}; known teams: {', '.join(known) or 'none yet'}")


def _scope(args: argparse.Namespace, team_checked: bool = True) -> tuple[str, Period, settings_module.Settings]:
    """The database, period and settings the options ask for; `team_checked`: an unknown --team is bad
    usage now (a report checks it in its own read instead, sparing a connection)."""
    try:
        config = settings_module.load(args.config)
    except settings_module.ConfigError as exc:
        raise UsageError(str(exc)) from None
    try:
        read_memory()
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    db = args.db or store.default_db()
    period = period_of(args, config)
    check_db(db)
    if team_checked:
        check_team(db, args.team, period)
    return db, period, config


@contextlib.contextmanager
def c_output_to_stderr() -> Iterator[None]:
    """While the figures are computed, whatever native code prints goes to stderr, so that stdout carries
    the report alone. DuckDB draws its progress bar on the process's stdout once a query runs long; the
    bar is off on our connections, yet one reached the JSON in a test run on a busy machine."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def report(args: argparse.Namespace) -> str:
    db, period, config = _scope(args, team_checked=False)
    names = JSON_NAMES if args.format == "json" else DOCUMENT_NAMES
    now, scope = dt.datetime.now(dt.UTC), Scope(period, args.team)
    figures = read_report(db, scope, config, now, (*names, "team_known") if args.team else names)
    if args.team and not figures.rows("team_known")[0]["known"]:
        check_team(db, args.team, period)  # names the known teams
    return RENDERERS[args.format](document(db, scope, figures, now))


def advise(args: argparse.Namespace) -> int:
    """Print the patch; exit 1 when a patched file fails promtool or amtool (it is printed all the same)."""
    from advisor import cli as advisor_cli

    db, period, config = _scope(args)
    try:
        with c_output_to_stderr():
            text, plan = advisor_cli.advise(args, db, period, config)
    except advisor_cli.ConfigurationError as exc:
        raise UsageError(str(exc)) from None
    except advisor_cli.SourceError as exc:
        raise CommandFailed(str(exc)) from None
    sys.stdout.write(text)
    for failure in plan.checks_failed:
        print(f"python -m metrics: the patched {failure}", file=sys.stderr)
    return 1 if plan.checks_failed else 0


def outcome(args: argparse.Namespace) -> int:
    """`post` and `tickets`: the outcome where the team works."""
    from outbound import cli as outbound_cli
    from outbound.http import SendError

    db, period, config = _scope(args)
    try:
        if args.command == "post":
            return outbound_cli.run_post(args, db, outbound_cli.finished_sprint(args, period, config), config)
        return outbound_cli.run_tickets(args, db, config)
    except outbound_cli.Misconfigured as exc:
        raise UsageError(str(exc)) from None
    except SendError as exc:
        raise CommandFailed(str(exc)) from None


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings_module.install_redaction()
    try:
        argv = sys.argv[1:] if argv is None else argv
        args = parser(_command_in(argv)).parse_args(argv)
        if args.command == "advise":
            return advise(args)
        if args.command in ("post", "tickets"):
            return outcome(args)
        with c_output_to_stderr():
            text = report(args)
        sys.stdout.write(text)
    except UsageError as exc:
        print(f"python -m metrics: error: {exc}", file=sys.stderr)
        return 2
    except (store.DatabaseBusy, store.DatabaseError, CommandFailed) as exc:
        print(f"python -m metrics: {exc}", file=sys.stderr)
        return 1
    except duckdb.Error as exc:  # out of memory or disk, a damaged file: one line, not a traceback
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"python -m metrics: the database could not be read: {first}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
