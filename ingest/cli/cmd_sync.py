"""`python -m ingest sync`: pull new history from the configured providers."""

from __future__ import annotations

import argparse
import datetime as dt
import sys

import settings
from ingest.cli import cmd_status
from ingest.sources import SOURCES
from ingest.sync import SyncRequest, SyncResult

NAME = "sync"
HELP = "fetch new alert history from the providers (incremental; safe to re-run or interrupt)"


def when(text: str) -> dt.datetime:
    """A date (midnight UTC) or an ISO 8601 time (UTC unless it carries an offset)."""
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date like 2026-05-22 or an ISO time, got {text!r}") from None
    if not settings.EARLIEST_YEAR <= value.year <= settings.LATEST_YEAR:
        raise argparse.ArgumentTypeError(
            f"expected a date from {settings.EARLIEST_YEAR} to {settings.LATEST_YEAR}, got {text!r}")
    return value.replace(tzinfo=value.tzinfo or dt.UTC).astimezone(dt.UTC)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=None, help="configuration file (default ./alerthygiene.toml)")
    parser.add_argument("--source", action="append", metavar="NAME",
                        help=f"sync only this source (repeatable): {', '.join(SOURCES)}; default: all configured")
    parser.add_argument("--since", type=when, help="fetch from this date/time instead of where the last sync stopped")
    parser.add_argument("--until", type=when, help="fetch up to this date/time (default: now)")
    parser.add_argument("--full", action="store_true",
                        help="ignore saved sync state and fetch the whole range again (--since or the backfill)")


def _selected(args: argparse.Namespace, config: settings.Settings) -> list[str]:
    if args.source:
        unknown = [name for name in args.source if name not in SOURCES]
        if unknown:
            raise settings.ConfigError(f"unknown source {unknown[0]!r} (known: {', '.join(SOURCES)})")
        for name in args.source:
            problem = SOURCES[name].problem(config)
            if problem:
                raise settings.ConfigError(problem)
        return list(dict.fromkeys(args.source))
    names = [name for name, source in SOURCES.items() if source.problem(config) is None]
    if not names:
        hints = "; ".join(source.problem(config) or "" for source in SOURCES.values())
        raise settings.ConfigError(f"no source is configured ({hints})")
    return names


def _summary(result: SyncResult) -> str:
    tables = ", ".join(f"{table} {count}" for table, count in sorted(result.by_table.items()))
    line = f"{result.source}: {result.status}, {result.rows} rows ({tables or 'none'}), {result.requests} requests"
    if result.quarantined:
        line += f"; {result.quarantined} records quarantined (see python -m ingest status)"
    if result.error:
        line += f"; failed: {result.error}"
    elif result.refused:
        line += f"; loaded without what was refused: {result.refused}"
    return line


def run(args: argparse.Namespace) -> int:
    config = settings.load(args.config)
    if args.since and args.until and args.since >= args.until:
        raise settings.ConfigError("--since must be before --until")
    request = SyncRequest(since=args.since, until=args.until, full=args.full, progress=sys.stderr.isatty())
    results = [SOURCES[name].sync(args.db, config, request) for name in _selected(args, config)]
    for result in results:
        print(_summary(result))
    if any(result.by_table.get("alerts") for result in results):
        cmd_status.advise_after_writing(args.db)
    incomplete = [r.source for r in results if r.status != "ok"]
    if incomplete:
        print(f"incomplete: {', '.join(incomplete)}", file=sys.stderr)
        return 1
    return 0
