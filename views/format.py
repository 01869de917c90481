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


# The most characters of a name a chart draws in its legend or beside an axis (a 200-character
# team name took the plot's width), and in one line of a hover, which names it in full.
LEGEND_CHARS = 24
TICK_CHARS = 40
HOVER_CHARS = 60


def shown_name(text: object, limit: int) -> str:
    """A name as a chart draws it beside the plot: cut at `limit` with an ellipsis, shown as written.

    plotly.js reads a trace's name as a template ("%{y}" in a legend entry showed nothing): a word
    joiner, which draws nothing, keeps "%" and "{" apart."""
    return plotly_text(short(text, limit)).replace("%{", "%\u2060{")


def hover_name(text: object) -> str:
    """A name in full for a hover, shown as written, in lines of at most HOVER_CHARS (a 200-character
    name on one line ran out of the chart)."""
    text = str(text)
    lines = [text[start:start + HOVER_CHARS] for start in range(0, len(text), HOVER_CHARS)] or [""]
    return "<br>".join(plotly_text(line) for line in lines)


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
