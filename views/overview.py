"""Overview: the sprint's headline figures against the last, targets, and trends per team."""

from __future__ import annotations

import streamlit as st

from views import charts, data, format, page

# (figure, tile label, how to show it); lower is better for every one of them.
TILES = [
    ("alerts", "Alerts", format.count),
    ("tta_median_s", "MTTA (median)", format.duration),
    ("ttr_median_s", "MTTR (median)", format.duration),
    ("wake_ups", "Wake-ups", format.count),
    ("noise_ratio", "Noise ratio", format.share),
]
TRENDED = [("alerts", "Alerts"), ("wake_ups", "Wake-ups"), ("noise_ratio", "Noise ratio")]


def _delta(name: str, value, previous) -> str | None:
    if value is None or previous is None:
        return None
    change = value - previous
    if name.endswith("_s"):
        return ("+" if change >= 0 else "-") + format.duration(abs(change))
    if name == "noise_ratio":
        return f"{change * 100:+.0f} pp"
    return f"{change:+,.0f}"


def _plain(value):
    return None if value is None or value != value else value  # NaN → undefined


def tiles(comparison) -> None:
    columns = st.columns(len(TILES))
    for column, (name, label, show) in zip(columns, TILES, strict=True):
        value, previous = _plain(comparison.loc[name, "value"]), _plain(comparison.loc[name, "previous"])
        column.metric(
            label,
            show(value),
            delta=_delta(name, value, previous),
            delta_color="inverse",
            help=f"{data.formula(name)}. Change against the previous sprint.",
            border=True,
        )


def targets(scope: page.Scope, comparison) -> None:
    """The team against its own configured targets."""
    if not scope.team:
        return
    own = scope.config.team(scope.team)
    checks = []
    if own.max_wakeups_per_sprint is not None:
        checks.append(("Wake-ups", _plain(comparison.loc["wake_ups", "value"]) or 0, own.max_wakeups_per_sprint, format.count))
    if own.max_noise_ratio is not None:
        checks.append(("Noise ratio", _plain(comparison.loc["noise_ratio", "value"]), own.max_noise_ratio, format.share))
    if not checks:
        st.caption(f"No targets set for {format.inert(scope.team)}: add max_wakeups_per_sprint or "
                   "max_noise_ratio under [teams.<name>] in alerthygiene.toml.")
        return
    for label, value, target, show in checks:
        if value is None:
            continue
        line = f"{label} {show(value)} against a target of at most {show(target)}"
        (st.success if value <= target else st.warning)(line, icon=":material/flag:")


def trend_callouts(scope: page.Scope) -> None:
    """Slope over the last 6 sprints up to the chosen one: trending down is good."""
    frame = data.load("trends", sprints=6, team=scope.team, day=scope.period.start.date(),
                      names=[name for name, _ in TRENDED], by_team=False)
    columns = st.columns(len(TRENDED))
    for column, (name, label) in zip(columns, TRENDED, strict=True):
        row = frame[frame["metric"] == name]
        slope = _plain(row["slope"].iloc[0]) if len(row) else None
        if slope is None:
            column.caption(f"{label}: not enough sprints for a trend")
            continue
        per_sprint = f"{slope * 100:+.1f} pp" if name == "noise_ratio" else f"{slope:+.1f}"
        if abs(slope) < 1e-9:
            column.caption(f"{label}: flat over the last 6 sprints")
        elif slope < 0:
            column.success(f"{label} trending down ({per_sprint} per sprint)", icon=":material/trending_down:")
        else:
            column.warning(f"{label} trending up ({per_sprint} per sprint)", icon=":material/trending_up:")


def render() -> None:
    scope = page.start("Overview", "How the sprint went against the one before, and where each team is heading.")
    if scope is None:
        return
    st.caption(f"{scope.period.label()} · {format.inert(scope.who)} · change against the previous period")
    comparison = data.load("compare", scope.period, team=scope.team)
    tiles(comparison)
    if not comparison.loc["alerts", "value"]:
        page.nothing_in_period(scope)
    targets(scope, comparison)
    trend_callouts(scope)
    history = data.load("per_sprint", sprints=12, team=scope.team, day=scope.period.start.date())
    if history.empty or not history["alerts"].sum():
        st.info("No alerts in the last 12 sprints.")
        return
    st.plotly_chart(charts.per_sprint_bars(history, "alerts", "Alerts per sprint, by team"), width="stretch")
    left, right = st.columns(2)
    left.plotly_chart(charts.per_sprint_lines(history, "wake_ups", "Wake-ups per sprint"), width="stretch")
    right.plotly_chart(
        charts.per_sprint_lines(history, "noise_ratio", "Noise ratio per sprint", percent=True), width="stretch"
    )
    page.download_csv(history, f"per-sprint-{page.slug(scope)}.csv", "Download per-sprint figures (CSV)")


render()
