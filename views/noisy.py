"""Noisy alerts: the ranking with diagnoses, and one signature up close with a hold-down replay."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.express as px
import streamlit as st

from metrics import browse
from views import data, format, page

RANKING_COLUMNS = {
    "title": st.column_config.TextColumn("Example title", width="large"),
    "team": "Team",
    "alerts": st.column_config.NumberColumn("Alerts", help=data.formula("alerts")),
    "occurrences": st.column_config.NumberColumn(
        "Occurrences", help="alerts plus the repeats the provider folded into them (Opsgenie count, OnCall alerts)"),
    "transient": st.column_config.NumberColumn("Transient", help=data.formula("transient")),
    "flaps": st.column_config.NumberColumn("Flaps", help=data.formula("flaps")),
    "unacknowledged": st.column_config.NumberColumn("Unacked", help=data.formula("unacknowledged")),
    "noise_ratio": st.column_config.ProgressColumn(
        "Noise ratio", help=data.formula("noise_ratio"), min_value=0.0, max_value=1.0, format="percent"
    ),
    "ttr_median": st.column_config.TextColumn("MTTR", help=data.formula("ttr_median_s")),
    "interruptions": st.column_config.NumberColumn("Pages", help=data.formula("interruptions")),
    "sleep_interruptions": st.column_config.NumberColumn("Wake-ups", help=data.formula("wake_ups")),
    "diagnosis": st.column_config.TextColumn("Diagnosis", help=data.formula("noise_diagnosis") or None),
    "suggested_fix": st.column_config.TextColumn("Suggested fix", width="medium"),
    "verdict": "Verdict",
    "first_seen": st.column_config.DatetimeColumn("First seen", format="YYYY-MM-DD HH:mm"),
    "last_seen": st.column_config.DatetimeColumn("Last seen", format="YYYY-MM-DD HH:mm"),
    "signature": st.column_config.TextColumn("Signature"),
}


def ranking_chart(ranked: pd.DataFrame) -> None:
    top = format.ranked_labels(ranked.head(15)).iloc[::-1]
    figure = px.bar(
        top, x="alerts", y="label", orientation="h", color="noise_ratio", range_color=(0, 1),
        color_continuous_scale="RdYlGn_r", labels={"alerts": "Alerts", "label": "", "noise_ratio": "Noise"},
        title="The 15 loudest signatures (colour: noise ratio)", hover_data={"signature": True, "title": True},
    )
    figure.update_layout(height=480, margin={"t": 48, "b": 8}, coloraxis_colorbar={"tickformat": ".0%"})
    st.plotly_chart(figure, width="stretch")


def timeline(alerts: pd.DataFrame) -> None:
    frame = alerts.assign(
        ended=alerts["resolved_at"].fillna(pd.Timestamp(dt.datetime.now(dt.UTC))),
        state=alerts["is_transient"].map({True: "transient", False: "not transient"}),
    )
    figure = px.timeline(
        frame, x_start="created_at", x_end="ended", y="service", color="state",
        hover_data={"title": True, "tta_s": True, "ttr_s": True}, title="Firing intervals",
        labels={"service": "", "state": ""},
    )
    figure.update_layout(height=260, margin={"t": 48, "b": 8})
    st.plotly_chart(figure, width="stretch")


def hold_down(scope: page.Scope, signature: str) -> None:
    st.subheader("Hold-down replay")
    st.caption(data.formula("hold_down_replay"))
    minutes = st.slider("Proposed hold-down H (minutes)", 0, 60, scope.config.thresholds.hold_down_s // 60, key="hold_down")
    replay = data.load("hold_down_replay", scope.period, hold_down_s=minutes * 60, signature=signature, team=scope.team)
    if replay.empty:
        st.info("No alerts of this signature to replay in the period.")
        return
    row = replay.iloc[0]
    left, middle, right = st.columns(3)
    left.metric("Pages avoided", f"{int(row['pages_avoided'])} of {int(row['alerts'])}", border=True)
    middle.metric("Pages delayed", format.count(row["pages_delayed"]), border=True)
    right.metric("Delay added to each", format.duration(row["delay_added_s"]), border=True)


def drill_down(scope: page.Scope, ranked: pd.DataFrame) -> None:
    st.header("One signature up close")
    options = ranked["signature"].tolist()
    titles = dict(zip(ranked["signature"], ranked["title"], strict=True))
    wanted = st.query_params.get("signature")
    signature = st.selectbox(
        "Signature", options, index=options.index(wanted) if wanted in options else 0,
        format_func=lambda s: f"{titles[s]}  ({s})", key="filter_signature",
    )
    st.query_params["signature"] = signature
    alerts = data.load("alert_list", scope.period, team=scope.team, service=scope.service)
    mine = alerts[alerts["signature"] == signature]
    timeline(mine)
    woke = data.load("interruption_list", scope.period, team=scope.team)
    woke = woke[woke["signature"] == signature]
    left, right = st.columns(2)
    with left:
        st.subheader("Who it paged")
        if woke.empty:
            st.caption("Nobody was paged by it in this period.")
        else:
            table = woke.pivot_table(index="person_name", columns="time_bucket", values="source_id",
                                     aggfunc="count", fill_value=0)
            st.dataframe(table, width="stretch")
    with right:
        st.subheader("Reviews")
        reviews = data.load(browse.reviews_of, signature)
        if reviews.empty:
            st.caption("Not reviewed yet. Mark it on the Sprint retro page.")
        else:
            st.dataframe(reviews, hide_index=True, width="stretch",
                         column_order=["reviewed_at", "verdict", "note", "reviewer", "applies_to"])
    hold_down(scope, signature)


def render() -> None:
    scope = page.start("Noisy alerts", "Which alerts were noise, why, and what usually fixes them.", with_service=True)
    if scope is None:
        return
    ranked = data.load("noisy", scope.period, team=scope.team, service=scope.service)
    if ranked.empty:
        page.nothing_in_period(scope)
        return
    ranking_chart(ranked)
    shown = ranked.assign(ttr_median=ranked["ttr_median_s"].map(format.duration))
    st.dataframe(shown, column_config=RANKING_COLUMNS, column_order=list(RANKING_COLUMNS), hide_index=True,
                 width="stretch")
    page.download_csv(ranked, f"noisy-alerts-{page.slug(scope)}.csv", "Download the ranking (CSV)")
    drill_down(scope, ranked)


render()
