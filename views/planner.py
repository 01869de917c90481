"""Fix planner: what each noisy alert costs, what a fix would save, and how soon it pays back."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

import store
from views import data, filters, format, page

BACKLOG_COLUMNS = ["title", "signature", "team", "hours_lost", "projected_saving_h", "estimate_h", "payback_sprints"]


def _payback_bucket(sprints: float) -> str:
    if pd.isna(sprints):
        return "no estimate yet"
    return "pays back within 1 sprint" if sprints <= 1 else ("within 3 sprints" if sprints <= 3 else "later")


def chart(plan: pd.DataFrame) -> None:
    top = plan.sort_values("projected_saving_h", ascending=False).head(15).iloc[::-1]
    top = format.ranked_labels(top.iloc[::-1]).iloc[::-1]
    top = top.assign(payback=top["payback_sprints"].map(_payback_bucket))
    figure = px.bar(
        top, x="projected_saving_h", y="label", orientation="h", color="payback",
        color_discrete_map={"pays back within 1 sprint": "#27ae60", "within 3 sprints": "#f1c40f",
                            "later": "#e67e22", "no estimate yet": "#bdc3c7"},
        labels={"projected_saving_h": "Hours a fix would save per sprint", "label": "", "payback": ""},
        title="What fixing each of the 15 costliest signatures would save", hover_data={"signature": True},
    )
    figure.update_layout(height=480, margin={"t": 48, "b": 8}, yaxis={"categoryorder": "total ascending"})
    st.plotly_chart(figure, width="stretch")


def estimate_form(plan: pd.DataFrame) -> None:
    st.subheader("Enter a fix estimate")
    titles = dict(zip(plan["signature"], plan["title"], strict=True))
    with st.form("estimate", clear_on_submit=True, border=True):
        signature = st.selectbox("Signature", plan["signature"].tolist(), key="estimate_signature",
                                 format_func=lambda s: f"{titles[s]}  ({s})")
        hours = st.number_input("Hours to fix", min_value=0.0, max_value=10_000.0, value=8.0, step=1.0,
                                key="estimate_hours")
        note = st.text_input("Note (optional)", key="estimate_note", max_chars=500)
        saved = st.form_submit_button("Save estimate", type="primary", icon=":material/save:")
    if saved:
        store.retro.save_fix_estimate(data.db_path(), signature, hours, note=note or None,
                                      estimated_by=st.session_state.get("reviewer") or "anonymous")
        st.session_state["estimate_saved"] = f"Saved: {hours:g} h for “{titles[signature]}”."
        st.rerun()


def render() -> None:
    scope = page.start(
        "Fix planner",
        "Hours each signature costs per sprint, what fixing it would save, and the payback of the fix.",
        with_period=False,
    )
    if scope is None:
        return
    if message := st.session_state.pop("estimate_saved", None):
        st.success(message, icon=":material/check:")
    st.caption(f"{data.formula('projected_saving')} {data.formula('payback')}")
    plan = data.load("fix_planner", day=filters.today(), team=scope.team)
    if plan.empty:
        st.info("No alerts in the last three finished sprints, so nothing to weigh yet.", icon=":material/inbox:")
        return
    chart(plan)
    shown = plan.assign(payback=plan["payback_sprints"].map(lambda v: "—" if pd.isna(v) else f"{v:.1f} sprints"))
    st.dataframe(
        shown,
        column_order=["title", "team", "alerts", "interruptions", "hours_lost", "projected_saving_h", "estimate_h",
                      "payback", "signature"],
        column_config={
            "title": st.column_config.TextColumn("Example title", width="large"), "team": "Team",
            "alerts": "Alerts", "interruptions": "Pages",
            "hours_lost": st.column_config.NumberColumn(
                "Hours lost (3 sprints)", format="%.1f", help=data.formula("hours_lost")
            ),
            "projected_saving_h": st.column_config.NumberColumn("Saving / sprint (h)", format="%.1f"),
            "estimate_h": st.column_config.NumberColumn("Estimate (h)", format="%.1f"),
            "payback": "Payback", "signature": "Signature",
        },
        hide_index=True, width="stretch",
    )
    backlog = plan[[c for c in BACKLOG_COLUMNS if c in plan]]
    page.download_csv(backlog, f"fix-planner-{format.inert(scope.who).replace(' ', '-')}.csv",
                      "Download for the backlog (CSV)")
    estimate_form(plan)


render()
