"""Wake-ups and paging load: who was interrupted, when in their own day, and against the ceiling."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import metrics
from metrics import elapsed_share, oncall
from metrics.targets import team_targets
from views import charts, data, format, page, page_charts

SHOWN_OVER = 100  # person-days over the ceiling listed on the page (a long period has thousands)


TILES = [("interruptions", "Interruptions"), ("wake_ups", "Wake-ups"),
         ("disturbed_nights", "Disturbed nights"), ("off_hours_interruptions", "Off-hours")]
# What the page reads, in one call (with charts.history_read()'s names).
READ = [name for name, _ in TILES] + ["people_load", "interruptions_by_hour", "paging_load", "on_call_figures"]


def tiles(scope: page.Scope, figures: metrics.Figures) -> None:
    target = data.load(team_targets, scope.team).get("wake_ups") if scope.is_sprint else None
    for column, (name, label) in zip(page.tile_row(len(TILES), "wakeups"), TILES, strict=True):
        column.metric(label, format.count(figures[name]), help=format.sentence(figures.describe(name)) + ".",
                      border=True)
        if name == "wake_ups" and (line := page.target_line(name, figures[name], target,
                                                            elapsed_share(scope.period))):
            column.markdown(line)


def load_against_ceiling(scope: page.Scope, figures: metrics.Figures) -> None:
    st.subheader("Paging load against the SRE ceiling")
    st.caption(format.sentence(figures.describe("paging_load"))
               + ". Without on-call schedules every person is judged per calendar day.")
    # By week over long periods: a year of daily dots per person is hundreds of kilobytes and unreadable.
    long = scope.period.end - scope.period.start > pd.Timedelta(days=62)
    per = st.radio("Per", ["day", "week"], index=1 if long else 0, horizontal=True, key="load_per")
    load = figures["paging_load"]
    load = load[load["per"] == per].reset_index(drop=True)
    if load.empty:
        st.caption("Nobody was paged in this period.")
        return
    charts.draw(page_charts.load_figure, load, per)
    over = load[load["over_ceiling"]].reset_index(drop=True)
    if over.empty:
        st.success("Nobody went over the ceiling in this period.", icon=":material/check_circle:")
    else:
        st.warning(f"{len(over):,} person-{per}s over the ceiling:", icon=":material/warning:")
        shown = over
        if len(over) > SHOWN_OVER:
            shown = over.sort_values(["interruptions", "day"], ascending=False).head(SHOWN_OVER)
            st.caption(f"The {SHOWN_OVER} most loaded, highest first; all {len(over):,} are in the CSV.")
        page.table(shown, {
            "person_name": st.column_config.TextColumn("Person", width=200),
            "day": st.column_config.DateColumn("Day" if per == "day" else "Week starting", format=page.DAY, width=140),
            "interruptions": st.column_config.NumberColumn("Interruptions", width=110),
            "ceiling": st.column_config.NumberColumn("Ceiling", width=90),
        })
        page.download_csv(over, f"over-ceiling-{page.slug(scope)}.csv", "Download (CSV)")


def on_call_pointer() -> None:
    """On-call schedules cover this period: the load against the rota has a page of its own."""
    st.page_link("views/on_call.py", label="On call, against the rota: pages per 12-hour shift, breaks, fairness",
                 icon=":material/support_agent:")


def render() -> None:
    scope = page.start("Wake-ups and paging load", "Who was interrupted, when in their own day, and how often.")
    if scope is None:
        return
    page.scope_line(scope)
    history, options = charts.history_read(scope)
    figures = data.read(READ + history, scope.about(), **options)
    tiles(scope, figures)
    people = figures["people_load"]
    if people.empty:
        page.nothing_in_period(scope, "interruptions")
    else:
        left, right = st.columns([3, 2])
        charts.draw(page_charts.per_person, people, where=left)
        charts.draw(page_charts.heatmap, figures["interruptions_by_hour"], where=right)
        page.table(people, {
            "person_name": st.column_config.TextColumn("Person", width=200),
            "interruptions": st.column_config.NumberColumn("Interruptions", width=110),
            **{name: st.column_config.NumberColumn(label, width=120) for name, label in page_charts.BUCKET_COLUMNS.items()},
            "disturbed_nights": st.column_config.NumberColumn("Disturbed nights", width=130),
        })
        page.download_csv(people, f"wake-ups-{page.slug(scope)}.csv", "Download per person (CSV)")
    if people.empty:
        return
    # With schedules the ceiling is judged per 12-hour shift on the On call page; without, per person and day here.
    if oncall.figures_of(figures.rows("on_call_figures"))["known"]:
        on_call_pointer()
    else:
        load_against_ceiling(scope, figures)
    history, axis = charts.history(scope, figures)
    over = "per sprint" if scope.is_sprint else ("per week" if axis == "Week from" else "per day")
    target = data.load(team_targets, scope.team).get("wake_ups") if scope.is_sprint else None
    left, right = st.columns(2)
    charts.draw(charts.per_step_lines, history, "wake_ups", f"Wake-ups {over}", axis,
                target=None if target is None else target.value, where=left)
    charts.draw(charts.per_step_lines, history, "disturbed_nights", f"Disturbed nights {over}", axis, where=right)
    charts.note_so_far(history)


render()
