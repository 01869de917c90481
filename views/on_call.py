"""On call: the manager's view of load against the rota, per person, breaks, fairness and the monthly export."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

import metrics
from metrics import oncall
from views import charts, data, format, page, page_charts

SPRINTS = 12  # the trend's sprints, ending with the chosen one
NO_SCHEDULES = (
    "No on-call schedule covers {who} in {period}, so the on-call figures are unknown (not zero). Sync a "
    "provider's schedules (PagerDuty on-calls, Opsgenie or Grafana OnCall schedules) or write the rota in "
    "alerthygiene.toml under [rotas.<name>]; the README shows how."
)


def hours(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} h"


def rate(value: float | None) -> str:
    return "—" if value is None or pd.isna(value) else f"{value:.2f}"


def tiles(figures: dict, ceiling: int) -> None:
    cells = [
        ("On-call hours", hours(figures["on_call_hours"]),
         data.describe("on_call_hours") + f" — business {hours(figures['business_hours'])}, off "
         f"{hours(figures['off_hours'])}, sleep {hours(figures['sleep_hours'])}"),
        ("Pages per 12 h on call", rate(figures["interruptions_per_shift"]),
         data.describe("interruptions_per_shift")),
        ("Off-rota pages", format.count(figures["off_rota_pages"]), data.describe("off_rota_pages")),
        ("Disturbed on-call nights", format.share(figures["disturbed_on_call_nights_share"]),
         data.describe("disturbed_on_call_nights_share")
         + f" — {format.count(figures['disturbed_on_call_nights'])} of {format.count(figures['on_call_nights'])}"),
    ]
    for column, (label, value, help_text) in zip(page.tile_row(len(cells), "on_call"), cells, strict=True):
        column.metric(label, value, help=help_text, border=True)


def trend_table(view: dict, ceiling: int, zone: str) -> None:
    """One row per person: team, schedules, this period's figures and sparklines over the sprints."""
    trend = view["trend"]
    people = view["people"]
    sprints = view["sprints"]
    st.subheader("Per person, against the rota")
    span = format.period(metrics.Period(sprints[0].start, sprints[-1].end), zone)
    st.caption(f"Trend: pages per 12 hours on call; nights trend: disturbed nights; each in the last "
               f"{len(sprints)} sprints ({span}). The other columns are for the chosen period: pages "
               f"per 12 h on call (the ceiling is {ceiling}), pages as backup and off rota, and the share of "
               "on-call nights someone was woken on call.")
    if people.empty:
        st.info("Nobody was on call in this period.", icon=":material/event_busy:")
        return
    series = trend.sort_values("bucket_start").groupby("person_key").agg(
        per_shift=("interruptions_per_shift", lambda s: [round(v, 2) if pd.notna(v) else 0.0 for v in s]),
        nights=("disturbed_nights", list))
    table = people.join(series, on="person_key")
    table["rate"] = [rate(v) if pd.notna(v) else "not on call" for v in table["interruptions_per_shift"]]
    table["nights_share"] = [format.share(v) if pd.notna(v) else "—"
                             for v in table["disturbed_on_call_nights_share"]]
    st.dataframe(
        table, hide_index=True, width="stretch",
        column_order=["person_name", "team", "schedules", "per_shift", "rate", "nights", "on_call_hours",
                      "backup_pages", "off_rota_pages", "nights_share"],
        column_config={
            "person_name": "Person", "team": "Team", "schedules": "Schedules",
            "per_shift": st.column_config.LineChartColumn("Trend", y_min=0,
                                                          help="pages per 12 h on call, one point per sprint, oldest first"),
            "rate": st.column_config.TextColumn("Per 12 h", width="small",
                                                help=data.describe("interruptions_per_shift")),
            "nights": st.column_config.BarChartColumn("Nights trend", y_min=0,
                                                      help="disturbed nights, one bar per sprint, oldest first"),
            "on_call_hours": st.column_config.NumberColumn("On call (h)", format="%.0f", width="small",
                                                           help=data.describe("on_call_hours")),
            "backup_pages": st.column_config.NumberColumn("Backup", width="small",
                                                         help="paged during a level-2+ shift only"),
            "off_rota_pages": st.column_config.NumberColumn("Off rota", width="small",
                                                           help=data.describe("off_rota_pages")),
            "nights_share": st.column_config.TextColumn(
                "Woken", width="small",
                help=data.describe("disturbed_on_call_nights_share") + "; — when no night was on call"),
        },
    )


def breaks(view: dict, zone: str) -> None:
    st.subheader("Who needs a break")
    recent = view["sprints"][-2:]
    span = format.period(metrics.Period(recent[0].start, recent[-1].end), zone)
    st.caption(f"Over the last two sprints ({span}): " + data.describe("who_needs_a_break") + ".")
    frame = view["breaks"]
    worn = frame[(frame["longest_run"] >= 2) | (frame["broken_nights_before_working_day"] > 0)
                 | (frame["shifts_over_ceiling"] > 0)]
    if worn.empty:
        st.success("Nobody had two disturbed nights in a row, a broken night before a working day, or a shift "
                   "over the ceiling.", icon=":material/check_circle:")
        return
    st.dataframe(worn, hide_index=True, width="stretch",
                 column_order=["person_name", "team", "longest_run", "broken_nights_before_working_day",
                               "shifts_over_ceiling"],
                 column_config={
                     "person_name": "Person", "team": "Team",
                     "longest_run": st.column_config.NumberColumn(
                         "Longest run of disturbed nights", help=data.describe("longest_disturbed_run")),
                     "broken_nights_before_working_day": st.column_config.NumberColumn(
                         "Broken nights before a working day", help=data.describe("broken_nights_before_working_day")),
                     "shifts_over_ceiling": st.column_config.NumberColumn(
                         "12-hour shifts over the ceiling", help=data.describe("shifts_over_ceiling")),
                 })


def over_ceiling(view: dict, ceiling: int) -> None:
    over = view["over"]
    st.subheader("Shifts over the ceiling")
    st.caption(data.describe("shifts_over_ceiling") + f" ({ceiling}), in the chosen period.")
    if over.empty:
        st.success("No 12-hour shift took more pages than the ceiling.", icon=":material/check_circle:")
        return
    shown = over.assign(block=[f"{a:%a %d %b %H:%M} – {b:%H:%M} UTC" for a, b in
                               zip(over["block_start"], over["block_end"], strict=True)])
    st.dataframe(shown, hide_index=True, width="stretch", column_order=["person_name", "team", "block", "interruptions"],
                 column_config={"person_name": "Person", "team": "Team", "block": "Shift (12 h)",
                                "interruptions": "Pages"})


def fairness(view: dict) -> None:
    st.subheader("Fairness per schedule")
    st.caption(data.describe("fairness") + ".")
    frame = view["fairness"]
    if frame.empty:
        return
    st.dataframe(frame, hide_index=True, width="stretch",
                 column_order=["schedule", "people", "pages", "pages_gini", "unsocial_hours", "hours_gini"],
                 column_config={
                     "schedule": "Schedule", "people": "People", "pages": "Pages on call",
                     "pages_gini": st.column_config.ProgressColumn("Gini of pages", min_value=0, max_value=1,
                                                                   format="%.2f", help=data.describe("fairness")),
                     "unsocial_hours": st.column_config.NumberColumn("Off/sleep hours on call", format="%.0f"),
                     "hours_gini": st.column_config.ProgressColumn("Gini of those hours", min_value=0,
                                                                   max_value=1, format="%.2f"),
                 })
    left, right = st.columns([1, 2])
    names = frame["schedule"].tolist()
    chosen = left.selectbox("Distribution of", names, key="fairness_schedule")
    left.caption("Each person's share of the schedule's pages and of its off- and sleep-hour on-call time.")
    rows = pd.DataFrame(list(frame.loc[frame["schedule"] == chosen, "distribution"].iloc[0]))
    names_by_key = view["people"].set_index("person_key")["person_name"]
    rows = rows.assign(person=rows["person"].map(names_by_key).fillna(rows["person"]).map(format.short))
    long = rows.melt(id_vars=["person"], value_vars=["pages", "unsocial_hours"], var_name="what")
    long["what"] = long["what"].map({"pages": "Pages on call", "unsocial_hours": "Off/sleep hours on call"})
    charts.draw(page_charts.carried, long, format.short(chosen, 40), len(rows), where=right)


def months_back(today: dt.date, count: int = 12) -> list[dt.date]:
    first = today.replace(day=1)
    months = []
    for _ in range(count):
        months.append(first)
        first = (first - dt.timedelta(days=1)).replace(day=1)
    return months


def export(scope: page.Scope) -> None:
    st.subheader("Export for compensation or time off")
    st.caption(data.describe("on_call_export") + "; each person's month in their own time zone.")
    months = months_back(scope.period.end.date())
    month = st.selectbox("Month", months, format_func=lambda m: f"{m:%B %Y}", key="export_month")
    frame = data.read(["on_call_export"], oncall.month_scope(month, scope.team, scope.config))["on_call_export"]
    frame = frame[frame["month"] == f"{month:%Y-%m}"].reset_index(drop=True)
    if frame.empty:
        st.caption(f"Nobody was on call in {month:%B %Y}.")
        return
    page.download_csv(frame, f"on-call-{page.slug(scope).rsplit('-', 3)[0]}-{month:%Y-%m}.csv",
                      f"Download {month:%B %Y} (CSV, {len(frame)} people)", key="on_call_export_csv")


def render() -> None:
    scope = page.start("On call, against the rota",
                       "Who carried the rota: pages per 12 hours on call, broken nights, fairness per schedule, and "
                       "each person's on-call hours for compensation or time off.")
    if scope is None:
        return
    page.scope_line(scope)
    view = oncall.view_of(data.read(oncall.VIEW_NAMES, metrics.Scope(scope.period, scope.team), count=SPRINTS),
                          SPRINTS)
    if not view["figures"]["known"]:
        st.info(NO_SCHEDULES.format(who=format.inert(scope.who), period=scope.period_label),
                icon=":material/event_busy:")
        return
    ceiling = scope.config.thresholds.paging_ceiling_per_shift
    tiles(view["figures"], ceiling)
    zone = scope.config.default_time_zone
    trend_table(view, ceiling, zone)
    breaks(view, zone)
    over_ceiling(view, ceiling)
    fairness(view)
    export(scope)


render()
