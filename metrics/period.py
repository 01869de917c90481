"""Reporting periods: half-open [start, end) on created_at, sprints and weeks in local dates."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from settings import Settings


@dataclass(frozen=True)
class Period:
    """A half-open interval [start, end) of alert creation times (timezone-aware)."""

    start: dt.datetime
    end: dt.datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("Period bounds must be timezone-aware datetimes")
        if self.end <= self.start:
            raise ValueError(f"Period must end after it starts ({self.start} .. {self.end})")

    @property
    def length(self) -> dt.timedelta:
        return self.end - self.start

    def label(self) -> str:
        end = self.end - dt.timedelta(microseconds=1)
        return f"{self.start.date().isoformat()} – {end.date().isoformat()}"

    def as_dict(self) -> dict[str, str]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}


def local_midnight(day: dt.date, time_zone: str) -> dt.datetime:
    """Midnight starting `day` in `time_zone`, as an aware datetime."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=ZoneInfo(time_zone))


def between(start: dt.date | dt.datetime, end: dt.date | dt.datetime, time_zone: str = "UTC") -> Period:
    """A period from dates (local midnights in `time_zone`) or datetimes (naive ones read in it)."""
    return Period(_instant(start, time_zone), _instant(end, time_zone))


def _instant(value: dt.date | dt.datetime, time_zone: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=ZoneInfo(time_zone))
    return local_midnight(value, time_zone)


def sprint_period(settings: Settings, day: dt.date | None = None) -> Period:
    """The sprint containing `day` (default today), in the configured time zone."""
    day = day or dt.datetime.now(ZoneInfo(settings.default_time_zone)).date()
    first = settings.sprint_start(day)
    last = first + dt.timedelta(days=settings.sprint_length_days)
    return between(first, last, settings.default_time_zone)


def week_period(settings: Settings, day: dt.date | None = None) -> Period:
    """The ISO week (Monday to Monday) containing `day`, in the configured time zone."""
    day = day or dt.datetime.now(ZoneInfo(settings.default_time_zone)).date()
    monday = day - dt.timedelta(days=day.weekday())
    return between(monday, monday + dt.timedelta(days=7), settings.default_time_zone)


def previous(period: Period) -> Period:
    """The period of the same local length just before `period` (the previous sprint)."""
    tz = period.start.tzinfo
    start_local = period.start.astimezone(tz)
    days = (period.end.astimezone(tz).date() - start_local.date()).days
    whole_days = start_local.timetz().replace(tzinfo=None) == dt.time(0) and days > 0
    if whole_days and period.end.astimezone(tz).timetz().replace(tzinfo=None) == dt.time(0):
        first = start_local.date() - dt.timedelta(days=days)
        return Period(dt.datetime.combine(first, dt.time(0), tzinfo=tz), period.start)
    return Period(period.start - period.length, period.start)


def sprints_back(settings: Settings, count: int, day: dt.date | None = None) -> list[Period]:
    """`count` consecutive sprints, oldest first, ending with the one containing `day`."""
    periods = [sprint_period(settings, day)]
    while len(periods) < count:
        periods.insert(0, previous(periods[0]))
    return periods


def weeks_back(settings: Settings, count: int, day: dt.date | None = None) -> list[Period]:
    """`count` consecutive ISO weeks, oldest first, ending with the one containing `day`."""
    periods = [week_period(settings, day)]
    while len(periods) < count:
        periods.insert(0, previous(periods[0]))
    return periods


def elapsed_share(period: Period, now: dt.datetime | None = None) -> float:
    """How much of the period has passed at `now`: 0 before it starts, 1 once it has ended."""
    now = now or dt.datetime.now(dt.UTC)
    if now <= period.start:
        return 0.0
    return min(1.0, (now - period.start) / period.length)


def in_progress(period: Period, now: dt.datetime | None = None) -> bool:
    """True while `now` falls inside the period (a sprint not yet over)."""
    return 0.0 < elapsed_share(period, now) < 1.0


def steps(period: Period, days: int) -> list[Period]:
    """The period cut into consecutive `days`-long parts from its start (the last may be shorter)."""
    parts, start = [], period.start
    while start < period.end:
        end = min(start + dt.timedelta(days=days), period.end)
        parts.append(Period(start, end))
        start = end
    return parts
