"""Overview: the period's headline figures against the one before and the team's targets, and trends."""

from __future__ import annotations

import streamlit as st

import store
from metrics import elapsed_share
from metrics import targets as team_targets
from views import charts, data, format, identity, page

# (figure, tile label); lower is better for every one of them.
TILES = [
    ("alerts", "Alerts"),
    ("tta_median_s", "MTTA (median)"),
    ("ttr_median_s", "MTTR (median)"),
    ("wake_ups", "Wake-ups"),
    ("noise_ratio", "Noise ratio"),
]
TRENDED = [("alerts", "Alerts"), ("wake_ups", "Wake-ups"), ("noise_ratio", "Noise ratio")]
TARGET_LABELS = {"wake_ups": "Wake-ups per sprint", "noise_ratio": "Noise ratio", "tta_median_s": "MTTA (median)"}


def _plain(value):
    return None if format.missing(value) else value


def tiles(scope: page.Scope, figures, bounds: dict) -> None:
    against = ("against the same number of days of the sprint before" if scope.in_progress
               else "against the period before")
    elapsed = elapsed_share(scope.period) if scope.is_sprint else 1.0
    comparison = figures["compare"].set_index("metric")
    for column, (name, label) in zip(page.tile_row(len(TILES), "overview"), TILES, strict=True):
        value, previous = _plain(comparison.loc[name, "value"]), _plain(comparison.loc[name, "previous"])
        change = None if value is None or previous is None else value - previous
        column.metric(
            label, format.figure(name, value), border=True,
            help=f"{format.sentence(figures.describe(name))}. The change is {against}.",
            delta=None if change is None else format.change(name, change).replace("−", "-"),
            delta_color="off" if not change else "inverse", delta_arrow="off" if not change else "auto",
        )
        target = bounds.get(name) if scope.is_sprint or name != "wake_ups" else None  # wake-ups: per sprint
        if line := page.target_line(name, value, target, elapsed):
            column.markdown(line)


def targets_editor(scope: page.Scope, bounds: dict) -> None:
    """Set, change or clear the team's targets; they override the configuration file."""
    if not scope.team:
        st.caption("Pick a team in the sidebar to see and set its targets.")
        return
    with st.expander(f"Targets of {scope.team}"):
        for figure, label in TARGET_LABELS.items():
            target = bounds.get(figure)
            where = ("not set" if target is None else "set in the configuration file" if target.source == "configuration"
                     else f"set here by {target.set_by or 'someone not named'} on "
                          f"{format.day(target.set_at, scope.config.default_time_zone)}")
            st.markdown(f"**{label}**: " + (f"at most {format.figure(figure, target.value)}" if target else "none")
                        + f" ({where})")
        with st.form("targets", border=False):
            wake, noise, mtta = st.columns(3)
            current = {f: (bounds[f].value if f in bounds else None) for f in TARGET_LABELS}
            wake.number_input("Wake-ups per sprint, at most", min_value=0, step=1, key="target_wake_ups",
                              value=None if current["wake_ups"] is None else int(current["wake_ups"]))
            noise.number_input("Noise ratio, at most (%)", min_value=0, max_value=100, step=5, key="target_noise",
                               value=None if current["noise_ratio"] is None else round(current["noise_ratio"] * 100))
            mtta.number_input("MTTA, at most (minutes)", min_value=0.0, step=1.0, key="target_mtta",
                              value=None if current["tta_median_s"] is None else current["tta_median_s"] / 60)
            st.caption("Leave a box empty to clear the target set here (the configuration file's then applies).")
            if st.form_submit_button("Save targets", type="primary", icon=":material/flag:"):
                save_targets(scope.team)


def save_targets(team: str) -> None:
    values = {"wake_ups": st.session_state.get("target_wake_ups"),
              "noise_ratio": None if st.session_state.get("target_noise") is None
              else st.session_state["target_noise"] / 100,
              "tta_median_s": None if st.session_state.get("target_mtta") is None
              else st.session_state["target_mtta"] * 60}
    db, who = data.db_path(), identity.reviewer()
    for figure, value in values.items():
        if value is None:
            store.retro.clear_target(db, team, figure)
        else:
            store.retro.save_target(db, team, figure, value, set_by=who)
    st.toast(f"Targets of {team} saved" + ("" if who else " (not named: add your name in the sidebar)"),
             icon=":material/check:")


def trend_callouts(figures) -> None:
    """Slope over the last 6 finished sprints up to the chosen one: trending down is good."""
    frame = figures["trends"]
    frame = frame[frame["team"].isna()]  # the scope's own figures, not each team's
    columns = st.columns(len(TRENDED))
    for column, (name, label) in zip(columns, TRENDED, strict=True):
        row = frame[frame["metric"] == name]
        slope = _plain(row["slope"].iloc[0]) if len(row) else None
        if slope is None:
            column.caption(f"{label}: not enough sprints for a trend")
            continue
        per_sprint = f"{slope * 100:+.1f} pt" if name == "noise_ratio" else f"{slope:+.1f}"
        if abs(slope) < 1e-9:
            column.caption(f"{label}: flat over the last 6 finished sprints")
        elif slope < 0:
            column.success(f"{label} trending down ({per_sprint} per sprint)", icon=":material/trending_down:")
        else:
            column.warning(f"{label} trending up ({per_sprint} per sprint)", icon=":material/trending_up:")
    st.caption("Trends: least-squares slope over the last 6 finished sprints up to the one chosen; a sprint still "
               "in progress is left out.")


def trends(scope: page.Scope, figures, bounds: dict) -> None:
    frame, axis = charts.history(scope, figures)
    if frame.empty or not frame["alerts"].sum():
        st.info("No alerts to draw over time here.")
        return
    over = "per sprint" if scope.is_sprint else ("per week" if axis == "Week from" else "per day")
    charts.draw(charts.per_step_bars, frame, "alerts", f"Alerts {over}, by team", axis)
    left, right = st.columns(2)
    wake_target = bounds["wake_ups"].value if "wake_ups" in bounds and scope.is_sprint else None
    charts.draw(charts.per_step_lines, frame, "wake_ups", f"Wake-ups {over}", axis, target=wake_target, where=left)
    noise_target = bounds["noise_ratio"].value if "noise_ratio" in bounds else None
    charts.draw(charts.per_step_lines, frame, "noise_ratio", f"Noise ratio {over}", axis, percent=True,
                target=noise_target, where=right)
    charts.note_so_far(frame)
    page.download_csv(frame, f"over-time-{page.slug(scope)}.csv", "Download these figures (CSV)")


def render() -> None:
    scope = page.start("Overview", "How the period went against the one before, and where each team is heading.")
    if scope is None:
        return
    identity.name_input()
    page.scope_line(scope)
    bounds = data.load(team_targets.team_targets, scope.team)
    history, options = charts.history_read(scope)
    figures = data.read(["compare", *history, *(["trends"] if scope.is_sprint else [])], scope.about(), **options)
    tiles(scope, figures, bounds)
    if not figures["compare"].set_index("metric").loc["alerts", "value"]:
        page.nothing_in_period(scope)
    targets_editor(scope, bounds)
    if scope.is_sprint:
        trend_callouts(figures)
    trends(scope, figures, bounds)


render()
