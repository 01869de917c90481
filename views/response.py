"""Response times: how fast alerts were acknowledged and resolved, as distributions and trends."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import metrics
from metrics.targets import team_targets
from views import charts, data, format, page, page_charts

FIGURES = [
    ("tta_median_s", "MTTA median"), ("tta_mean_s", "TTA mean"), ("tta_p90_s", "TTA p90"),
    ("ttr_median_s", "MTTR median"), ("ttr_mean_s", "TTR mean"), ("ttr_p90_s", "TTR p90"),
]
# What the page reads, in one call (with charts.history_read()'s names when no service is chosen).
READ = ["alerts", *(name for name, _ in FIGURES), "response_spread", "slowest"]
DRAWN = ("tta_median_s", "ttr_median_s")  # the figures of its history it draws, per step


def tiles(figures: metrics.Figures, bounds: dict) -> None:
    """Acknowledgement on one row, resolution on the next (each wraps on its own in a narrow window)."""
    places = page.tile_row(3, "acknowledge") + page.tile_row(3, "resolve")
    for column, (name, label) in zip(places, FIGURES, strict=True):
        column.metric(label, format.duration(figures[name]), help=format.sentence(figures.describe(name)) + ".",
                      border=True)
        if line := page.target_line(name, figures[name], bounds.get(name), 1.0):
            column.markdown(line)


def distributions(spread: pd.DataFrame, per: str) -> None:
    """Box plots drawn from quartiles worked out in the database (never every alert in memory)."""
    mine = spread[spread["per"] == per]
    if mine.empty:
        st.caption("No acknowledged or resolved alerts in this period.")
        return
    charts.draw(page_charts.distribution_figure, mine, per)


def slowest(scope: page.Scope, figures: metrics.Figures) -> None:
    st.subheader("Slowest to resolve")
    rows = figures["slowest"]
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
    history_names, options = charts.history_read(scope, DRAWN) if scope.service is None else ([], {})
    figures = data.read(READ + history_names, scope.about(), **options)
    tiles(figures, data.load(team_targets, scope.team))
    if not figures["alerts"]:
        page.nothing_in_period(scope)
        return
    distributions(figures["response_spread"], "service" if scope.team else "team")
    history, axis = charts.history(scope, figures)
    over = "per sprint" if scope.is_sprint else ("per week" if axis == "Week from" else "per day")
    target = data.load(team_targets, scope.team).get("tta_median_s")
    left, right = st.columns(2)
    for column, name, title in zip((left, right), DRAWN, (f"MTTA {over} (minutes)", f"MTTR {over} (minutes)"),
                                   strict=True):
        frame = history.assign(**{name: history[name] / 60})
        bound = target.value / 60 if target is not None and name == "tta_median_s" else None
        charts.draw(charts.per_step_lines, frame, name, title, axis, target=bound, unit=" min", where=column)
    charts.note_so_far(history)
    slowest(scope, figures)


render()
