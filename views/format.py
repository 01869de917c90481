"""Numbers and provider text for display: the report's formats (metrics.display), plus inert text."""

from __future__ import annotations

import re

import pandas as pd

from metrics.display import (  # noqa: F401  (one set of formats for pages and reports)
    MISSING,
    VERDICTS,
    change,
    count,
    day,
    duration,
    figure,
    hours,
    missing,
    period,
    progress,
    sentence,
    share,
    short_day,
    sprints,
    verdict,
    when,
)

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def inert(text: object) -> str:
    """Provider text (titles, labels, team names) escaped so Markdown renders it literally."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))


def short(text: object, limit: int = 60) -> str:
    """Long provider text cut for chart labels, so one huge title cannot squeeze a chart."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plotly_text(text: str) -> str:
    """Text plotly shows as written: it reads <b>, <br>, <a> and entities in labels and hover text as markup
    otherwise (a title "<b>boom</b>" showed as a bold "boom")."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def ranked_labels(frame, column: str = "title"):
    """Add `label`: '1. <short title>' in row order, for a chart's axis (as written, see plotly_text); the rank
    keeps equal titles apart on an axis."""
    texts = [plotly_text(short(text)) for text in frame[column]]
    return frame.assign(label=[f"{rank}. {text}" for rank, text in enumerate(texts, start=1)])


def texts(series: pd.Series, show) -> pd.Series:
    """A column formatted for a table cell by `show` (a dash where the value is missing)."""
    return series.map(lambda value: MISSING if missing(value) else show(value)).astype("string")


def percent(series: pd.Series) -> pd.Series:
    """Shares as whole percentages (0–100) for a progress bar: '98%' beside '100%', never '97.73%'."""
    return (series.astype("float64") * 100).round(0)
