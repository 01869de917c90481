"""Noisy alerts: the ranking with diagnoses, and one signature up close with a hold-down replay."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import metrics
from views import charts, data, format, page, page_charts, signature

DIAGNOSIS_HELP = "What the figures suggest; the usual fix is shown up close."
ALL_TEAMS_COLUMNS = {"team": st.column_config.TextColumn("Team", width=90)}
# Shown only where a provider folds repeats into one alert (Opsgenie count, OnCall alert groups).
OCCURRENCES = st.column_config.NumberColumn(
    "Occurrences", width=86, help="alerts plus the repeats the provider folded into them (Opsgenie count, OnCall alerts)")


def ranking_columns(figures: metrics.Figures) -> dict:
    """The ranking's columns, each figure with its definition (from the settings in force) as help."""
    return {
        "title": st.column_config.TextColumn("Alert", width=210, pinned=True),
        "alerts": st.column_config.NumberColumn("Alerts", width=58, help=figures.describe("alerts")),
        "noise": st.column_config.ProgressColumn("Noise", width=76, min_value=0, max_value=100, format="%d%%",
                                                 help=figures.describe("noise_ratio")),
        "transient": st.column_config.NumberColumn("Transient", width=74, help=figures.describe("transient")),
        "flaps": st.column_config.NumberColumn("Flaps", width=54, help=figures.describe("flaps")),
        "interruptions": st.column_config.NumberColumn("Pages", width=56, help=figures.describe("interruptions")),
        "sleep_interruptions": st.column_config.NumberColumn("Wake-ups", width=72,
                                                             help=figures.describe("sleep_interruptions")),
        "ttr": st.column_config.TextColumn("MTTR", width=76, help=figures.describe("ttr_median_s")),
        "diagnosis": st.column_config.TextColumn("Diagnosis", width=140, help=DIAGNOSIS_HELP),
        "verdict": st.column_config.TextColumn("Verdict", width=96, help="The verdict in force at the period's end."),
    }


def ranking_table(scope: page.Scope, figures: metrics.Figures) -> None:
    ranked = figures["noisy"]
    shown = ranked.assign(
        noise=format.percent(ranked["noise_ratio"]),
        ttr=format.texts(ranked["ttr_median_s"], format.duration),
        verdict=ranked["verdict"].map(format.verdict),
        title=ranked["title"].fillna(ranked["signature"]),
    )
    columns = ranking_columns(figures)
    if "occurrences" in ranked and (ranked["occurrences"] != ranked["alerts"]).any():
        columns = {"title": st.column_config.TextColumn("Alert", width=170, pinned=True), "alerts": columns["alerts"],
                   "occurrences": OCCURRENCES, **{k: v for k, v in columns.items() if k not in ("title", "alerts")}}
        columns["diagnosis"] = st.column_config.TextColumn("Diagnosis", width=120, help=DIAGNOSIS_HELP)
    if not scope.team:  # the team column only when several teams are shown; the verdict gives way
        columns = {**{k: v for k, v in columns.items() if k != "verdict"}, **ALL_TEAMS_COLUMNS}
    page.table(shown, columns, height=min(38 + 35 * len(shown), 38 + 35 * 15))
    st.caption("Every column, with first and last seen and the signature, is in the CSV.")
    page.download_csv(ranked, f"noisy-alerts-{page.slug(scope)}.csv", "Download the ranking (CSV)")


def hold_down(scope: page.Scope, signature_: str) -> None:
    st.subheader("Hold-down replay")
    minutes = st.slider("Proposed hold-down H (minutes)", 0, 60, scope.config.thresholds.hold_down_s // 60,
                        key="hold_down")
    figures = data.read(["hold_down_replay"], scope.about(signature_), hold_down_s=minutes * 60)
    st.caption(format.sentence(figures.describe("hold_down_replay")) + ".")
    replay = figures["hold_down_replay"]
    if replay.empty:
        st.info("No alerts of this signature to replay in the period.")
        return
    row = replay.iloc[0]
    avoided, delayed, per_page, total = page.tile_row(4, "hold_down")
    avoided.metric("Pages avoided", f"{int(row['pages_avoided'])} of {int(row['alerts'])}", border=True,
                   help="Alerts that resolved within H without an acknowledgement would not have paged.")
    delayed.metric("Pages delayed", format.count(row["pages_delayed"]), border=True,
                   help="The other alerts would have paged H later.")
    if row["pages_delayed"]:
        per_page.metric("Delay per delayed page", format.duration(row["delay_mean_s"]), border=True,
                        help="Mean over the delayed pages; the most any one page waits is below.")
        per_page.caption(f"on average; at most {format.duration(row['delay_max_s'])}")
    else:
        per_page.metric("Delay per delayed page", format.MISSING, border=True, help="No page would be delayed.")
    total.metric("Delay in total", format.duration(row["delay_total_s"]), border=True,
                 help="All delayed pages' delays added up.")


def drill_down(scope: page.Scope, ranked: pd.DataFrame) -> None:
    st.header("One signature up close")
    chosen = signature.picker(ranked, key="filter_signature")
    row = ranked[ranked["signature"] == chosen].iloc[0]
    signature.summary(row)
    detail = signature.detail(scope, chosen, int(row["alerts"]))
    left, right = st.columns(2)
    with left:
        signature.timeline(detail, int(row["alerts"]))
        signature.who_it_paged(detail["interruption_list"])
    with right:
        signature.verdict_history(detail, scope)
        st.caption("Give or change a verdict on the Sprint retro page.")
    hold_down(scope, chosen)


def render() -> None:
    scope = page.start("Noisy alerts", "Which alerts were noise, why, and what usually fixes them.", with_service=True)
    if scope is None:
        return
    page.scope_line(scope)
    figures = data.read(["noisy"], scope.about())
    ranked = figures["noisy"]
    if ranked.empty:
        page.nothing_in_period(scope)
        return
    charts.draw(page_charts.ranking_chart, ranked)
    ranking_table(scope, figures)
    drill_down(scope, ranked)


render()
