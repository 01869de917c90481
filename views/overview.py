"""Overview: this sprint's headline figures against the last, and alerts per sprint per team."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from views import data, filters, format

# (figure, tile label, how to show it); lower is better for every one of them.
TILES = [
    ("alerts", "Alerts", format.count),
    ("tta_median_s", "MTTA (median)", format.duration),
    ("ttr_median_s", "MTTR (median)", format.duration),
    ("wake_ups", "Wake-ups", format.count),
    ("noise_ratio", "Noise ratio", format.share),
]


def _delta(name: str, value, previous) -> str | None:
    if value is None or previous is None:
        return None
    change = value - previous
    if name.endswith("_s"):
        return ("+" if change >= 0 else "-") + format.duration(abs(change))
    if name == "noise_ratio":
        return f"{change * 100:+.0f} pp"
    return f"{change:+,.0f}"


def tiles(comparison) -> None:
    columns = st.columns(len(TILES))
    for column, (name, label, show) in zip(columns, TILES, strict=True):
        value, previous = comparison.loc[name, "value"], comparison.loc[name, "previous"]
        value = None if value != value else value  # NaN → undefined
        previous = None if previous != previous else previous
        column.metric(
            label,
            show(value),
            delta=_delta(name, value, previous),
            delta_color="inverse",
            help=f"{data.formula(name)} Change against the previous sprint.",
            border=True,
        )


def alerts_chart(per_sprint) -> None:
    frame = per_sprint.assign(sprint=per_sprint["sprint_start"].dt.strftime("%d %b"))
    figure = px.bar(
        frame,
        x="sprint",
        y="alerts",
        color="team",
        labels={"sprint": "Sprint starting", "alerts": "Alerts", "team": "Team"},
        title="Alerts per sprint, by team",
    )
    figure.update_layout(legend_title_text="Team", margin={"t": 48, "b": 0}, hovermode="x unified")
    st.plotly_chart(figure, width="stretch")


def render() -> None:
    st.title("Overview")
    config = data.config()
    teams = data.load("teams")
    if not teams:
        st.info(
            "No alerts in this database yet. Load some history first: "
            "`python -m ingest demo --db data/demo.duckdb` for a demo, or a provider sync "
            "(see the README), then reload this page.",
            icon=":material/inbox:",
        )
        return
    team = filters.team(teams)
    sprints = filters.recent_sprints(config)
    period = filters.sprint(sprints)
    who = team or "all teams"
    st.caption(f"Sprint {period.label()} · {format.inert(who)} · change against the previous sprint")
    comparison = data.load("compare", period, team=team)
    tiles(comparison)
    if not comparison.loc["alerts", "value"]:
        st.info(f"No alerts for {format.inert(who)} in this sprint. Pick another sprint or team in the sidebar.")
    per_sprint = data.load("per_sprint", sprints=len(sprints), team=team, day=sprints[-1].start.date())
    if per_sprint.empty or not per_sprint["alerts"].sum():
        st.info("No alerts in the last 12 sprints.")
        return
    alerts_chart(per_sprint)
    st.download_button(
        "Download per-sprint figures (CSV)",
        per_sprint.to_csv(index=False).encode("utf-8"),
        file_name="alerts-per-sprint.csv",
        mime="text/csv",
    )


render()
