"""The sprint digest: the retro's outcome, short enough for a chat message, with links back."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlencode

from metrics.period import Period


@dataclass(frozen=True)
class Figure:
    """One headline figure as people read it: value, change against the sprint before, target."""

    name: str
    label: str
    value: str
    change: str | None = None
    target: str | None = None
    met: bool | None = None  # None: no target
    definition: str = ""


@dataclass(frozen=True)
class Item:
    """One signature in a list of the digest: what it is, a line of figures, a link to it."""

    signature: str
    title: str
    line: str
    link: str | None = None
    verdict: str | None = None  # a fix's verdict, or the verdict given in the retro


@dataclass
class Digest:
    """Everything a digest says, before it is rendered for Slack, Teams or a plain webhook."""

    title: str
    period: Period
    team: str | None
    in_progress: bool
    figures: list[Figure]
    decisions: list[Item] = field(default_factory=list)
    noisy: list[Item] = field(default_factory=list)
    still_firing: list[Item] = field(default_factory=list)
    fixes: list[Item] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)  # page label -> URL with the digest's filters
    footer: str = ""

    @property
    def sprint(self) -> str:
        return self.period.start.date().isoformat()

    def as_json(self) -> dict[str, Any]:
        """The plain webhook's body: every part, dates as ISO text."""
        body = asdict(self)
        body["period"] = {"from": self.period.start.isoformat(), "to": self.period.end.isoformat()}
        return body


def dashboard_link(base: str | None, page: str, team: str | None, period: Period, **extra: str) -> str | None:
    """A link to a dashboard page with the digest's filters in the URL (as the pages read them)."""
    if not base:
        return None
    params = {"team": team, "sprint": period.start.date().isoformat(), **extra}
    query = urlencode({k: v for k, v in params.items() if v})
    return f"{base}/{page}" + (f"?{query}" if query else "")


def date_range(period: Period) -> str:
    """'10 Nov – 23 Nov 2026' for a period (its last day is the day before its end)."""
    last = (period.end - dt.timedelta(seconds=1)).date()
    first = period.start.date()
    year = "" if first.year == last.year else f" {first.year}"
    return f"{first.day} {first:%b}{year} – {last.day} {last:%b} {last.year}"
