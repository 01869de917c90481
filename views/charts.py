"""Plotly figures shared by the pages: readable labels, one look, trends over sprints or chosen dates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import streamlit as st

import metrics
from metrics import display
from views import data, format

LABELS = {
    "step": "Sprint starting",
    "alerts": "Alerts",
    "wake_ups": "Wake-ups",
    "noise_ratio": "Noise ratio",
    "team": "Team",
    "tta_median_s": "MTTA (median)",
    "ttr_median_s": "MTTR (median)",
    "interruptions": "Interruptions",
    "disturbed_nights": "Disturbed nights",
}
SO_FAR = " (so far)"


def draw(build: Callable[..., go.Figure], *args: Any, where: Any = None, **kwargs: Any) -> None:
    """Show build(*args, **kwargs) across the column (or in `where`), built once per distinct input.

    Plotly takes about 0.1 s to build and validate a figure, which every rerun of every page paid;
    a figure kept by its inputs (frames hashed by content) is only serialised. `build` must be pure:
    it returns a figure and writes nothing to the page.
    """
    name = f"{build.__code__.co_filename}:{build.__qualname__}"
    figure = _built(build, name, args, tuple(sorted(kwargs.items())))
    (where or st).plotly_chart(figure, width="stretch")


# Shared, never copied: a figure is only read after it is built (st.plotly_chart serialises it).
@st.cache_resource(show_spinner=False, max_entries=256, ttl=6 * 3600)
def _built(_build: Callable[..., go.Figure], name: str, args: tuple, kwargs: tuple) -> go.Figure:
    # `name` identifies `_build` in the key (functions themselves are not hashed).
    return _build(*args, **dict(kwargs))


def _tidy(figure: go.Figure, height: int = 360) -> go.Figure:
    figure.update_layout(
        height=height, margin={"t": 48, "b": 8, "l": 8, "r": 8}, hovermode="x unified", legend_title_text=""
    )
    return figure


def history_read(scope, drawn: tuple[str, ...] = ()) -> tuple[list[str], dict]:
    """The names (and options) a page adds to its read to draw `history`; `drawn`: the only figures it
    draws of it (the others are then not worked out), else every figure."""
    options = {"series_figures": drawn} if drawn else {}
    return (["per_sprint"], {"count": 12, **options}) if scope.is_sprint else (["series_over"], options)


def history(scope, figures: metrics.Figures | None = None) -> tuple[pd.DataFrame, str]:
    """The figures to draw over time, labelled by step: 12 sprints up to the chosen one, else the chosen dates.

    A sprint still in progress is labelled '(so far)'; free dates go by day up to 31 days, else by week.
    `figures`, a read of the team's scope holding history_read()'s names, saves a read of its own.
    """
    zone = scope.config.default_time_zone
    names, options = history_read(scope)
    if figures is None or names[0] not in figures or figures.scope.service is not None:
        figures = data.read(names, metrics.Scope(scope.period, scope.team), **options)
    if scope.is_sprint:
        frame = _per_team(figures["per_sprint"])
        now = dt.datetime.now(dt.UTC)
        ends = frame["sprint_start"] + pd.Timedelta(days=scope.config.sprint_length_days)
        steps = [display.short_day(start, zone) + (SO_FAR if start <= now < end else "")
                 for start, end in zip(frame["sprint_start"], ends, strict=True)]
        return frame.assign(step=steps), "Sprint starting"
    frame = _per_team(figures["series_over"])
    by_week = bool(len(frame)) and frame["days"].max() > 1
    steps = [display.short_day(start, zone) + ("" if days in (1, 7) else f" ({days:g} days)")
             for start, days in zip(frame["start"], frame["days"], strict=True)]
    return frame.assign(step=steps), ("Week from" if by_week else "Day")


def _per_team(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of each team (a series also has rows for all teams together, team empty)."""
    return frame[frame["team"].notna()].reset_index(drop=True)


def by_group(frame: pd.DataFrame, group: str, trace: Callable[..., Any], x: str, y: str, hover: str,
             colours: dict[str, str] | None = None, columns: dict[str, str | list[str]] | None = None,
             **common: Any) -> list:
    """One `trace` per value of `group`, in order of first appearance, coloured as plotly express would.

    Built from columns rather than by plotly express, which groups and validates the frame again
    per trace: a few times faster, and the figure was a large share of a page's cold run.
    `hover` is the traces' hover template with `{name}` standing for the group's value; `columns` gives
    further fields of each trace from the group's rows (a list of columns makes rows, as for customdata).
    Rows without a group are left out, as a group-by leaves them.
    """
    colourway = pio.templates[pio.templates.default].layout.colorway or ("#636efa",)
    # Each column sorted by group once and cut into slices: a group-by built a frame per group (106 at 1M).
    codes, names = pd.factorize(frame[group], sort=False)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
    wanted = {"x": x, "y": y, **(columns or {})}
    in_order = {field: (frame[column].to_numpy() if isinstance(column, list) else _points(frame[column]))[order]
                for field, column in wanted.items()}
    # The name reaches the hover as data: spliced into the template, a "%{y}" in a person's name was read.
    # In full, from the trace's meta: the legend draws it cut (format.LEGEND_CHARS).
    template = hover.replace("{name}", "%{meta[0]}")
    traces = []
    for index, (name, start, end) in enumerate(zip(names, bounds[:-1], bounds[1:], strict=True)):
        colour = (colours or {}).get(name, colourway[index % len(colourway)])
        fields = {field: values[start:end] for field, values in in_order.items()}
        label = format.plotly_text(str(name))  # a team's or person's name, shown as written
        traces.append(trace(name=format.shown_name(name, format.LEGEND_CHARS), legendgroup=label,
                            meta=[format.hover_name(name)],
                            showlegend=True, hovertemplate=template, colour=colour, **fields, **common))
    return traces


def short_ticks(figure: go.Figure, axis: str, names: pd.Series) -> go.Figure:
    """Names along a category `axis` ("x" or "y") cut at format.TICK_CHARS, so a long one cannot take the
    plot's room; the points keep the full name (as written, format.plotly_text), which the hover shows."""
    names = names.dropna().astype(str).unique()
    if all(len(name) <= format.TICK_CHARS for name in names):
        return figure  # plotly's own ticks
    figure.update_layout({f"{axis}axis": {"tickmode": "array", "tickvals": [format.plotly_text(n) for n in names],
                                          "ticktext": [format.shown_name(n, format.TICK_CHARS) for n in names]}})
    return figure


def _points(column: pd.Series) -> np.ndarray:
    """A column as plotly takes it fastest: a numpy array (it looks at a Series through a data frame
    library, per trace: twice the build of a chart with a trace per person). Zoned times become their
    own clock time, which is what plotly draws of them."""
    if pd.api.types.is_datetime64_any_dtype(column.dtype) and column.dt.tz is not None:
        column = column.dt.tz_localize(None)
    return column.to_numpy()


def bar_trace(colour: str, **fields: Any) -> dict:
    """A bar trace of one colour.

    Traces are plain dicts: a figure validates its traces as it takes them, so a trace object built first
    was validated twice (a chart of a hundred people spent a third of its build on that).
    """
    return {"type": "bar", "marker": {"color": colour}, **fields}


def point_trace(colour: str, lines: bool = False, **fields: Any) -> dict:
    """Dots of one colour, joined by a line when `lines`."""
    if lines:
        return {"type": "scatter", "mode": "lines+markers", "line": {"color": colour}, **fields}
    return {"type": "scatter", "mode": "markers", "marker": {"color": colour}, **fields}


def figure_of(traces: list, x_title: str | None, y_title: str | None, **layout: Any) -> go.Figure:
    """The traces with their axis titles, laid out as plotly express would.

    An axis title of None leaves the axis without one: an empty title still takes its room below the axis.
    """
    axes = {axis: {"title": {"text": title}} for axis, title in (("xaxis", x_title), ("yaxis", y_title))
            if title is not None}
    return go.Figure(traces, layout={**axes, "legend": {"tracegroupgap": 0, "title": {"text": ""}}, **layout})


def _step_hover(y: str, value: str = ",.1~f", unit: str = "") -> str:
    """One team's value at a step. The hover is unified: the step heads it, one line per team below."""
    return f"{LABELS['team']} {{name}}, {LABELS.get(y, y)}: %{{y:{value}}}{unit}<extra></extra>"


def per_step_bars(frame: pd.DataFrame, y: str, title: str, axis: str) -> go.Figure:
    hover = _step_hover(y)
    figure = figure_of(by_group(frame, "team", bar_trace, "step", y, hover), axis, LABELS.get(y, y),
                     title={"text": title}, barmode="relative")
    figure.update_xaxes(type="category")
    return _tidy(figure)


def per_step_lines(frame: pd.DataFrame, y: str, title: str, axis: str, percent: bool = False,
                   target: float | None = None, unit: str = "") -> go.Figure:
    """`frame`'s `y` per step, a line per team; `unit` follows each value in the hover (' min')."""
    hover = _step_hover(y, ".0%" if percent else ",.1~f", unit)
    figure = figure_of(by_group(frame, "team", point_trace, "step", y, hover, lines=True), axis, LABELS.get(y, y),
                     title={"text": title})
    figure.update_xaxes(type="category")
    if percent:
        figure.update_yaxes(tickformat=".0%", rangemode="tozero")
    else:
        figure.update_yaxes(rangemode="tozero")
    if target is not None:
        reference_line(figure, target, "target " + (display.share(target) if percent else display.count(target)))
    return _tidy(figure, height=300)


def reference_line(figure: go.Figure, value: float, text: str) -> go.Figure:
    """A dashed line across the plot at `value`, labelled at its top left (what add_hline draws).

    Written as the shape and note themselves: add_hline looks through every trace for the subplots
    it spans, which took half the build of a chart with a trace per person.
    """
    line = {"type": "line", "xref": "x domain", "x0": 0, "x1": 1, "yref": "y", "y0": value, "y1": value,
            "line": {"color": "#c0392b", "dash": "dash"}}
    note = {"text": text, "showarrow": False, "xref": "x domain", "x": 0, "xanchor": "left", "yref": "y", "y": value,
            "yanchor": "bottom"}
    figure.update_layout(shapes=[*figure.layout.shapes, line], annotations=[*figure.layout.annotations, note])
    return figure


def note_so_far(frame: pd.DataFrame) -> None:
    """Say that the last step is a sprint still in progress, when it is."""
    if len(frame) and frame["step"].str.endswith(SO_FAR).any():
        st.caption("The sprint marked “so far” is still in progress: its bars and points are partial.")
