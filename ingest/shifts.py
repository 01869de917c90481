"""On-call shifts: cut into UTC-day pieces, and whole days of a schedule replaced by a sync's answer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ingest.mapping import MappingError, parse_time
from ingest.windows import Window

DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Replace:
    """Stored shift time of `source` (and of one schedule, when given) within `window` is
    replaced by the batch: what the provider answered for that window is the whole truth."""

    source: str
    window: Window
    schedule_id: str | None = None


def utc_day(at: dt.datetime) -> dt.datetime:
    """Midnight UTC starting the day of `at`."""
    at = at.astimezone(dt.UTC)
    return dt.datetime(at.year, at.month, at.day, tzinfo=dt.UTC)


def day_aligned(window: Window) -> Window:
    """`window` widened to start at a UTC midnight (its end stays: it is usually 'now')."""
    return Window(utc_day(window.start), window.end)


def shift_row(
    source: str, schedule_id: Any, schedule: Any, person_id: Any, starts: Any, ends: Any,
    level: Any = 1, team: str | None = None,
) -> dict[str, Any]:
    """One canonical shift, checked: times parse, it ends after it starts, the level is 1 or more."""
    start = parse_time(starts, "shift start")
    end = parse_time(ends, "shift end")
    if end <= start:
        raise MappingError(f"shift ends ({end.isoformat()}) before it starts ({start.isoformat()})")
    if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level < 100:
        raise MappingError(f"escalation level is not a number from 1: {str(level)[:40]!r}")
    for name, value in (("schedule id", schedule_id), ("person", person_id)):
        if not isinstance(value, str) or not value:
            raise MappingError(f"shift without a {name}")
    return {
        "source": source, "schedule_id": schedule_id, "escalation_level": level, "person_id": person_id,
        "starts_at": start, "ends_at": end, "schedule": schedule if isinstance(schedule, str) and schedule
        else schedule_id, "team": team,
    }


def within(row: dict[str, Any], window: Window) -> dict[str, Any] | None:
    """The shift cut to `window` (a provider answers with whole shifts that overlap it, some of them
    running past now), or None when nothing of it lies inside."""
    start, end = max(row["starts_at"], window.start), min(row["ends_at"], window.end)
    return {**row, "starts_at": start, "ends_at": end} if end > start else None


def pieces(rows: Iterable[dict[str, Any]], window: Window | None = None) -> Iterator[dict[str, Any]]:
    """Each shift clipped to `window` and cut at UTC midnights: every piece lies within one day."""
    for row in rows:
        start, end = row["starts_at"], row["ends_at"]
        if window is not None:
            start, end = max(start, window.start), min(end, window.end)
        while start < end:
            cut = min(end, utc_day(start) + DAY)
            yield {**row, "starts_at": start, "ends_at": cut}
            start = cut


_SCOPE = "source = $source AND ($schedule::VARCHAR IS NULL OR schedule_id = $schedule::VARCHAR)"


def delete_replaced(con, replace: Replace) -> None:
    """Remove stored shift time inside the window a batch replaces (in the batch's own transaction):
    pieces inside it go, pieces across its edges keep only what lies outside."""
    values = {"source": replace.source, "start": replace.window.start, "end": replace.window.end,
              "schedule": replace.schedule_id}
    tails = {k: v for k, v in values.items() if k != "start"}
    con.execute(f"CREATE OR REPLACE TEMP TABLE _shift_tails AS SELECT * REPLACE ($end::TIMESTAMPTZ AS starts_at) "  # noqa: S608
                f"FROM on_call_shifts WHERE {_SCOPE} AND starts_at < $end AND ends_at > $end", tails)
    con.execute(f"DELETE FROM on_call_shifts WHERE {_SCOPE} AND starts_at >= $start AND starts_at < $end",  # noqa: S608
                values)
    heads = {k: v for k, v in values.items() if k != "end"}
    con.execute(f"UPDATE on_call_shifts SET ends_at = $start WHERE {_SCOPE} AND starts_at < $start "  # noqa: S608
                "AND ends_at > $start", heads)
    con.execute("INSERT OR REPLACE INTO on_call_shifts SELECT * FROM _shift_tails")
    con.execute("DROP TABLE _shift_tails")
