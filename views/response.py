"""Response times: how fast alerts were acknowledged and resolved, as distributions and trends."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from metrics import browse
from metrics.targets import team_targets
from views import charts, data, format, page

FIGURES = [
    ("tta_median_s", "MTTA median"), ("tta_mean_s", "TTA mean"), ("tta_p90_s", "TTA p90"),
    ("ttr_median_s", "MTTR median"), ("ttr_mean_s", "TTR mean"), ("ttr_p90_s", "TTR p90"),
]


def tiles(scope: page.Scope, figures: dict, bounds: dict) -> None:
    """Acknowledgement on one row, resolution on the next (each wraps on its own in a narrow window)."""
    places = page.tile_row(3, "acknowledge") + page.tile_row(3, "resolve")
    for column, (name, label) in zip(places, FIGURES, strict=True):
        column.metric(label, format.duration(figures.get(name)), help=format.sentence(data.formula(name)) + ".",
                      border=True)
        if line := page.target_line(name, figures.get(name), bounds.get(name), 1.0):
            column.markdown(line)


LOG_TICKS = [(0.25, "15 s"), (1, "1 min"), (5, "5 min"), (15, "15 min"), (60, "1 h"), (240, "4 h"), (960, "16 h"),
             (2880, "2 days")]


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
        labels={"minutes": "Time (log scale)", by: by.title(), "measure": ""},
        title=f"Distribution per {by}: box = middle half, line = median",
    )
    figure.update_layout(height=380, margin={"t": 48, "b": 8})
    # Named ticks: a log axis's own ticks read "5, 2, 100, 5, 2, 10" (leading digits only).
    figure.update_yaxes(tickvals=[minutes for minutes, _ in LOG_TICKS], ticktext=[text for _, text in LOG_TICKS])
    st.plotly_chart(figure, width="stretch")


def slowest(scope: page.Scope) -> None:
    st.subheader("Slowest to resolve")
    rows = data.load(browse.slowest, scope.period, team=scope.team, service=scope.service)
    if rows.empty:
        st.caption("No resolved alerts in this period.")
        return
    rows = page.safe_links(rows, "url").assign(
        tta=format.texts(rows["tta_s"], format.duration), ttr=format.texts(rows["ttr_s"], format.duration)
    )
    page.table(rows, {
        "title": st.column_config.TextColumn("Alert", width=240, pinned=True),
        "team": st.column_config.TextColumn("Team", width=80),
        "service": st.column_config.TextColumn("Service", width=110),
        "created_at": st.column_config.DatetimeColumn("Fired", format=page.MOMENT, width=130,
                                                      timezone=scope.config.default_time_zone),
        "tta": st.column_config.TextColumn("Acked after", width=96),
        "ttr": st.column_config.TextColumn("Resolved after", width=104),
        "url": st.column_config.LinkColumn("In the provider", display_text="open", width=104),
    })
    page.download_csv(rows, f"slowest-alerts-{page.slug(scope)}.csv", "Download (CSV)")


def render() -> None:
    scope = page.start("Response times", "How fast alerts were acknowledged and resolved.", with_service=True)
    if scope is None:
        return
    page.scope_line(scope)
    figures = data.load("summary", scope.period, team=scope.team, service=scope.service)
    tiles(scope, figures, data.load(team_targets, scope.team))
    alerts = data.load("alert_list", scope.period, team=scope.team, service=scope.service)
    if alerts.empty:
        page.nothing_in_period(scope)
        return
    distributions(alerts, "service" if scope.team else "team")
    history, axis = charts.history(scope)
    over = "per sprint" if scope.is_sprint else ("per week" if axis == "Week from" else "per day")
    target = data.load(team_targets, scope.team).get("tta_median_s")
    left, right = st.columns(2)
    for column, name, title in ((left, "tta_median_s", f"MTTA {over} (minutes)"),
                                (right, "ttr_median_s", f"MTTR {over} (minutes)")):
        frame = history.assign(**{name: history[name] / 60})
        bound = target.value / 60 if target is not None and name == "tta_median_s" else None
        column.plotly_chart(charts.per_step_lines(frame, name, title, axis, target=bound), width="stretch")
    charts.note_so_far(history)
    slowest(scope)


render()
