"""Response times: how fast alerts were acknowledged and resolved, as distributions and trends."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from metrics import browse
from views import charts, data, format, page

FIGURES = [
    ("tta_median_s", "MTTA median"), ("tta_mean_s", "TTA mean"), ("tta_p90_s", "TTA p90"),
    ("ttr_median_s", "MTTR median"), ("ttr_mean_s", "TTR mean"), ("ttr_p90_s", "TTR p90"),
]


def tiles(figures: dict) -> None:
    for column, (name, label) in zip(st.columns(len(FIGURES)), FIGURES, strict=True):
        column.metric(label, format.duration(figures.get(name)), help=data.formula(name), border=True)


def distributions(alerts: pd.DataFrame, by: str) -> None:
    long = alerts.melt(id_vars=[by], value_vars=["tta_s", "ttr_s"], var_name="measure", value_name="seconds")
    long = long.dropna(subset=["seconds"]).assign(
        minutes=lambda f: f["seconds"] / 60,
        measure=lambda f: f["measure"].map({"tta_s": "Time to acknowledge", "ttr_s": "Time to resolve"}),
    )
    if long.empty:
        st.caption("No acknowledged or resolved alerts in this period.")
        return
    figure = px.box(
        long, x=by, y="minutes", color="measure", log_y=True, points=False,
        labels={"minutes": "Minutes (log scale)", by: by.title(), "measure": ""},
        title=f"Distribution per {by}: box = middle half, line = median",
    )
    figure.update_layout(height=380, margin={"t": 48, "b": 8})
    st.plotly_chart(figure, width="stretch")


def slowest(scope: page.Scope) -> None:
    st.subheader("Slowest to resolve")
    rows = data.load(browse.slowest, scope.period, team=scope.team, service=scope.service)
    if rows.empty:
        st.caption("No resolved alerts in this period.")
        return
    rows = page.safe_links(rows, "url").assign(
        tta=rows["tta_s"].map(format.duration), ttr=rows["ttr_s"].map(format.duration)
    )
    st.dataframe(
        rows,
        column_order=["title", "team", "service", "created_at", "tta", "ttr", "url"],
        column_config={
            "title": st.column_config.TextColumn("Title", width="large"),
            "created_at": st.column_config.DatetimeColumn("Created (UTC)", format="YYYY-MM-DD HH:mm"),
            "tta": "TTA", "ttr": "TTR",
            "url": st.column_config.LinkColumn("In the provider", display_text="open"),
        },
        hide_index=True, width="stretch",
    )
    page.download_csv(rows, f"slowest-alerts-{page.slug(scope)}.csv", "Download (CSV)")


def render() -> None:
    scope = page.start("Response times", "How fast alerts were acknowledged and resolved.", with_service=True)
    if scope is None:
        return
    figures = data.load("summary", scope.period, team=scope.team, service=scope.service)
    tiles(figures)
    alerts = data.load("alert_list", scope.period, team=scope.team, service=scope.service)
    if alerts.empty:
        page.nothing_in_period(scope)
        return
    distributions(alerts, "service" if scope.team else "team")
    history = data.load("per_sprint", sprints=12, team=scope.team, day=scope.period.start.date())
    left, right = st.columns(2)
    for column, name, title in ((left, "tta_median_s", "MTTA per sprint (minutes)"),
                                (right, "ttr_median_s", "MTTR per sprint (minutes)")):
        frame = history.assign(**{name: history[name] / 60})
        column.plotly_chart(charts.per_sprint_lines(frame, name, title), width="stretch")
    slowest(scope)


render()
