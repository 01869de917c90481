"""Half-open time windows: plan a range under a maximum span, split a window into parts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

MIN_SPAN = dt.timedelta(seconds=1)


@dataclass(frozen=True)
class Window:
    start: dt.datetime
    end: dt.datetime

    @property
    def span(self) -> dt.timedelta:
        return self.end - self.start


def plan(start: dt.datetime, end: dt.datetime, max_span: dt.timedelta | None) -> list[Window]:
    """Consecutive windows covering [start, end), none longer than max_span."""
    if end <= start:
        return []
    if max_span is None:
        return [Window(start, end)]
    windows = []
    while start < end:
        windows.append(Window(start, min(start + max_span, end)))
        start = windows[-1].end
    return windows


def split(window: Window, parts: int) -> list[Window]:
    """`parts` equal consecutive windows (fewer if that would make them shorter than a second)."""
    parts = max(1, min(parts, int(window.span / MIN_SPAN)))
    step = window.span / parts
    edges = [window.start + step * i for i in range(parts)] + [window.end]
    return [Window(a, b) for a, b in zip(edges, edges[1:], strict=False) if b > a]


def iso(at: dt.datetime) -> str:
    """UTC ISO 8601 with a Z, to the second when there are no microseconds."""
    return at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def parse_iso(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
