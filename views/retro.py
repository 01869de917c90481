"""Sprint retro: review the sprint's noisy alerts, follow up earlier verdicts, take the report away."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

import store
from metrics import report
from views import data, format, page

VERDICT_HELP = {
    "actionable": "someone had to act, and did",
    "noise": "nobody needed to act: delete it or demote it to a ticket",
    "needs-tuning": "real signal, wrong threshold or timing",
    "duplicate": "another alert already says this",
}


def _report(db: str, period, team, fmt: str, settings=None) -> str:
    document = report.build(db, period, team, settings)
    return report.render_html(document) if fmt == "html" else report.render_markdown(document)


def review_queue(ranked: pd.DataFrame) -> None:
    st.subheader("Review queue")
    st.caption("The sprint's signatures, loudest first, with the verdict in force. " + data.formula("actionable_rate"))
    shown = ranked.assign(ttr=ranked["ttr_median_s"].map(format.duration), verdict=ranked["verdict"].fillna("—"))
    st.dataframe(
        shown,
        column_order=["verdict", "title", "alerts", "noise_ratio", "interruptions", "sleep_interruptions",
                      "ttr", "diagnosis", "suggested_fix", "signature"],
        column_config={
            "verdict": "Verdict", "title": st.column_config.TextColumn("Example title", width="large"),
            "alerts": "Alerts", "noise_ratio": st.column_config.ProgressColumn(
                "Noise ratio", min_value=0.0, max_value=1.0, format="percent", help=data.formula("noise_ratio")),
            "interruptions": "Pages", "sleep_interruptions": "Wake-ups", "ttr": "MTTR",
            "diagnosis": "Diagnosis", "suggested_fix": "Suggested fix", "signature": "Signature",
        },
        hide_index=True, width="stretch", height=min(420, 38 + 35 * len(shown)),
    )


def verdict_chart(ranked: pd.DataFrame) -> None:
    by_verdict = ranked.assign(verdict=ranked["verdict"].fillna("not reviewed")).groupby("verdict", as_index=False)[
        "alerts"
    ].sum()
    figure = px.bar(
        by_verdict, x="alerts", y="verdict", orientation="h", color="verdict",
        color_discrete_map={"actionable": "#27ae60", "noise": "#c0392b", "needs-tuning": "#f39c12",
                            "duplicate": "#8e44ad", "not reviewed": "#95a5a6"},
        labels={"alerts": "Alerts this period", "verdict": ""}, title="The period's alerts by verdict in force",
    )
    figure.update_layout(height=240, showlegend=False, margin={"t": 48, "b": 8})
    st.plotly_chart(figure, width="stretch")


def review_form(scope: page.Scope, ranked: pd.DataFrame) -> None:
    st.subheader("Mark a signature")
    unreviewed_first = ranked.sort_values("verdict", key=lambda v: v.notna(), kind="stable")
    titles = dict(zip(ranked["signature"], ranked["title"], strict=True))
    verdicts = {s: (None if pd.isna(v) else v) for s, v in zip(ranked["signature"], ranked["verdict"], strict=True)}
    with st.form("review", clear_on_submit=True, border=True):
        signature = st.selectbox(
            "Signature", unreviewed_first["signature"].tolist(), key="review_signature",
            format_func=lambda s: f"{titles[s]}  ·  {verdicts[s] or 'not reviewed'}  ({s})",
        )
        verdict = st.radio("Verdict", list(VERDICT_HELP), horizontal=True, key="review_verdict",
                           captions=list(VERDICT_HELP.values()))
        note = st.text_input("Note (optional)", key="review_note", max_chars=500)
        saved = st.form_submit_button("Save verdict", type="primary", icon=":material/save:")
    if saved:
        reviewer = st.session_state.get("reviewer") or "anonymous"
        store.retro.save_review(data.db_path(), signature, verdict, note=note or None, reviewer=reviewer,
                                period=(scope.period.start, scope.period.end))
        st.session_state["review_saved"] = f"Saved: {verdict} for “{titles[signature]}”."
        st.rerun()


def still_firing(scope: page.Scope) -> None:
    st.subheader("Reviewed, and still firing")
    st.caption(data.formula("follow_through"))
    firing = data.load("still_firing", as_of=scope.as_of, team=scope.team)
    if firing.empty:
        st.success("Every signature reviewed as noise or needs-tuning has gone quiet.", icon=":material/check_circle:")
        return
    st.dataframe(
        firing,
        column_order=["title", "verdict", "reviewed_at", "alerts_since", "last_alert_at", "sprints_open", "note",
                      "reviewer", "signature"],
        column_config={
            "title": st.column_config.TextColumn("Example title", width="large"), "verdict": "Verdict",
            "reviewed_at": st.column_config.DatetimeColumn("Reviewed", format="YYYY-MM-DD"),
            "alerts_since": "Alerts since", "sprints_open": "Sprints open",
            "last_alert_at": st.column_config.DatetimeColumn("Last alert", format="YYYY-MM-DD HH:mm"),
            "note": "Note", "reviewer": "Reviewer", "signature": "Signature",
        },
        hide_index=True, width="stretch",
    )


def downloads(scope: page.Scope, ranked: pd.DataFrame) -> None:
    st.subheader("Take it away")
    db = data.db_path()
    left, middle, right = st.columns(3)
    with left:
        st.download_button("Sprint report (Markdown)", data.load(_report, scope.period, scope.team, "markdown"),
                           file_name=f"sprint-report-{page.slug(scope)}.md", mime="text/markdown",
                           icon=":material/description:", key="report_md")
    with middle:
        st.download_button("Sprint report (HTML)", data.load(_report, scope.period, scope.team, "html"),
                           file_name=f"sprint-report-{page.slug(scope)}.html", mime="text/html",
                           icon=":material/html:", key="report_html")
    with right:
        page.download_csv(ranked, f"sprint-data-{page.slug(scope)}.csv", "Sprint data (CSV)", key="report_csv")
    st.caption(f"From {store.display_name(db)}; the report's footer says who generated it and when.")


def render() -> None:
    scope = page.start("Sprint retro", "Walk the sprint's noisy alerts, mark each one, and take the report away.")
    if scope is None:
        return
    st.sidebar.text_input("Your name, for the reviews you save", key="reviewer", placeholder="anonymous")
    if message := st.session_state.pop("review_saved", None):
        st.success(message, icon=":material/check:")
    ranked = data.load("noisy", scope.period, team=scope.team)
    if ranked.empty:
        page.nothing_in_period(scope)
    else:
        verdict_chart(ranked)
        review_queue(ranked)
        review_form(scope, ranked)
    still_firing(scope)
    if not ranked.empty:
        downloads(scope, ranked)


render()
