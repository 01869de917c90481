"""Plotly figures shared by the pages: readable labels, one look."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

LABELS = {
    "sprint": "Sprint starting",
    "alerts": "Alerts",
    "wake_ups": "Wake-ups",
    "noise_ratio": "Noise ratio",
    "team": "Team",
    "tta_median_s": "MTTA (median)",
    "ttr_median_s": "MTTR (median)",
    "interruptions": "Interruptions",
}


def _tidy(figure: go.Figure, height: int = 360) -> go.Figure:
    figure.update_layout(
        height=height, margin={"t": 48, "b": 8, "l": 8, "r": 8}, hovermode="x unified", legend_title_text=""
    )
    return figure


def with_sprint_label(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(sprint=frame["sprint_start"].dt.strftime("%d %b"))


def per_sprint_bars(frame: pd.DataFrame, y: str, title: str) -> go.Figure:
    figure = px.bar(with_sprint_label(frame), x="sprint", y=y, color="team", labels=LABELS, title=title)
    return _tidy(figure)


def per_sprint_lines(frame: pd.DataFrame, y: str, title: str, percent: bool = False) -> go.Figure:
    figure = px.line(with_sprint_label(frame), x="sprint", y=y, color="team", markers=True, labels=LABELS, title=title)
    if percent:
        figure.update_yaxes(tickformat=".0%", rangemode="tozero")
    else:
        figure.update_yaxes(rangemode="tozero")
    return _tidy(figure, height=300)


def reference_line(figure: go.Figure, value: float, text: str) -> go.Figure:
    figure.add_hline(y=value, line_dash="dash", line_color="#c0392b", annotation_text=text,
                     annotation_position="top left")
    return figure
