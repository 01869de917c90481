"""Numbers and provider text for display: durations, shares, and inert text."""

from __future__ import annotations

import math
import re

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def duration(seconds: float | None) -> str:
    """'45s', '12m 05s', '3h 20m', '2d 4h'; '—' when undefined."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "—"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


def share(value: float | None) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.0%}"


def count(value: float | None) -> str:
    return "—" if value is None else f"{int(value):,}"


def inert(text: object) -> str:
    """Provider text (titles, labels, team names) escaped so Markdown renders it literally."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))


def short(text: object, limit: int = 60) -> str:
    """Long provider text cut for chart labels, so one huge title cannot squeeze a chart."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def ranked_labels(frame, column: str = "title"):
    """Add `label`: '1. <short title>' in row order; the rank keeps equal titles apart on an axis."""
    return frame.assign(label=[f"{rank}. {short(text)}" for rank, text in enumerate(frame[column], start=1)])
