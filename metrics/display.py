"""Figures and times as people read them, the same on every page and in every report."""

from __future__ import annotations

import datetime as dt
import math
import sys
from typing import Any
from zoneinfo import ZoneInfo

from metrics.period import Period

MISSING = "—"
# How each kind of figure is shown: by the unit its registry entry names, or by its name.
SHARE_SUFFIXES = ("_share", "_rate", "_ratio", "_coverage")


def missing(value: Any) -> bool:
    """True for SQL NULL in any of its Python and pandas forms."""
    if value is None:
        return True
    pandas = sys.modules.get("pandas")  # pd.NA has no truth value: it is missing by identity
    if pandas is not None and value is pandas.NA:
        return True
    try:
        return bool(value != value) or (isinstance(value, float) and math.isnan(value))  # NaN, NaT, pd.NA
    except (TypeError, ValueError):
        return False


def sentence(text: str) -> str:
    """Text with its first letter capitalised (and the rest, symbols included, untouched)."""
    return text[:1].upper() + text[1:]


def duration(seconds: float | None) -> str:
    """'45 s', '12 min', '3 h 20 min', '2 d 4 h'; a dash when undefined."""
    if missing(seconds):
        return MISSING
    seconds = round(abs(float(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def share(value: float | None) -> str:
    """A share as a whole percentage: '98%'."""
    return MISSING if missing(value) else f"{float(value):.0%}"


def hours(value: float | None) -> str:
    """Hours with one decimal: '3.5 h'."""
    return MISSING if missing(value) else f"{float(value):,.1f} h"


def count(value: float | None) -> str:
    """A whole number with thousands separators."""
    return MISSING if missing(value) else f"{round(float(value)):,}"


def ratio(value: float | None) -> str:
    """A plain ratio with two decimals: '0.94'."""
    return MISSING if missing(value) else f"{float(value):.2f}"


def sprints(value: float | None) -> str:
    """A number of sprints: '0.4 sprints', '1 sprint'."""
    if missing(value):
        return MISSING
    value = float(value)
    return "1 sprint" if round(value, 1) == 1 else f"{value:,.1f} sprints"


def figure(name: str, value: Any) -> str:
    """A headline figure in its unit, chosen by its name (seconds, shares, hours or counts)."""
    if name.endswith("_s"):
        return duration(value)
    if name.endswith(SHARE_SUFFIXES):
        return share(value)
    if name.startswith("hours") or name.endswith("_hours"):
        return hours(value)
    if name in RATIOS:
        return ratio(value)
    return count(value)


RATIOS = {"interruptions_per_shift", "fairness"}


def change(name: str, value: Any) -> str:
    """A change of a figure, signed: '+3', '−2 pt', '+4 min', '−1.5 h'; a dash when undefined."""
    if missing(value):
        return MISSING
    value = float(value)
    sign = "+" if value > 0 else ("−" if value < 0 else "±")
    if name.endswith("_s"):
        return sign + duration(abs(value)) if value else "±0"
    if name.endswith(SHARE_SUFFIXES):
        return f"{sign}{abs(value) * 100:.0f} pt"
    if name.startswith("hours") or name.endswith("_hours"):
        return f"{sign}{abs(value):,.1f} h"
    return f"{sign}{abs(value):,.0f}"


def day(moment: Any, time_zone: str = "UTC") -> str:
    """A date as '9 Nov 2026' in the given zone."""
    if missing(moment):
        return MISSING
    return _local(moment, time_zone).strftime("%-d %b %Y")


def short_day(moment: Any, time_zone: str = "UTC") -> str:
    """A date as '9 Nov', for chart axes where the year is plain."""
    if missing(moment):
        return MISSING
    return _local(moment, time_zone).strftime("%-d %b")


def when(moment: Any, time_zone: str = "UTC") -> str:
    """A moment as '9 Nov 2026 14:05' in the given zone."""
    if missing(moment):
        return MISSING
    return _local(moment, time_zone).strftime("%-d %b %Y %H:%M")


def _local(moment: Any, time_zone: str) -> dt.datetime:
    if hasattr(moment, "to_pydatetime"):
        moment = moment.to_pydatetime()
    if isinstance(moment, dt.datetime):
        return moment.astimezone(ZoneInfo(time_zone)) if moment.tzinfo else moment
    return dt.datetime.combine(moment, dt.time(0))


def period(span: Period, time_zone: str = "UTC") -> str:
    """A period's days, last day included: '9 – 22 Nov 2026', '26 Oct – 8 Nov 2026'."""
    zone = ZoneInfo(time_zone)
    first = span.start.astimezone(zone)
    last = (span.end - dt.timedelta(microseconds=1)).astimezone(zone)
    if first.date() == last.date():
        return first.strftime("%-d %b %Y")
    if (first.year, first.month) == (last.year, last.month):
        return f"{first:%-d} – {last:%-d %b %Y}"
    if first.year == last.year:
        return f"{first:%-d %b} – {last:%-d %b %Y}"
    return f"{first:%-d %b %Y} – {last:%-d %b %Y}"


def progress(span: Period, now: dt.datetime | None = None) -> str:
    """'in progress, day 8 of 14' for a period not yet over; empty otherwise."""
    now = now or dt.datetime.now(dt.UTC)
    if not span.start < now < span.end:
        return ""
    total = max(1, round(span.length / dt.timedelta(days=1)))
    elapsed = min(total, (now - span.start) // dt.timedelta(days=1) + 1)
    return f"in progress, day {elapsed} of {total}"


VERDICTS = {
    "actionable": "Actionable",
    "noise": "Noise",
    "needs-tuning": "Needs tuning",
    "duplicate": "Duplicate",
}


def verdict(value: Any) -> str:
    """A verdict as people write it: 'Needs tuning'; a dash when there is none."""
    return MISSING if missing(value) else VERDICTS.get(str(value), str(value))
