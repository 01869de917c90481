"""Fix planner: what each noisy alert costs, what a fix would save, and how soon it pays back."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

import store
from views import data, filters, format, page

BACKLOG_COLUMNS = ["title", "signature", "team", "hours_lost", "projected_saving_h", "estimate_h", "payback_sprints"]


def chart(plan: pd.DataFrame) -> None:
    estimated = plan.dropna(subset=["estimate_h"])
    if estimated.empty:
        return
    figure = px.scatter(
        estimated, x="estimate_h", y="projected_saving_h", size="alerts", color="team", hover_name="title",
        labels={"estimate_h": "Fix estimate (hours)", "projected_saving_h": "Hours saved per sprint", "team": ""},
        title="Quick wins sit top left: cheap to fix, much to save",
    )
    figure.update_layout(height=380, margin={"t": 48, "b": 8})
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
            "hours_lost": st.column_config.NumberColumn("Hours lost", format="%.1f", help=data.formula("hours_lost")),
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
