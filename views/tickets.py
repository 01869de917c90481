"""Open or update tickets for chosen fixes from the planner: what `python -m metrics tickets` does."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from outbound import ticket_sync, tickets
from outbound.cli import Misconfigured, ticket_system
from outbound.http import SendError
from views import data, page

SYSTEMS = {"jira": "Jira", "github": "GitHub issues"}


def known(board: pd.DataFrame, plan: pd.DataFrame) -> None:
    """The tickets opened for fixes, with their status as the last sync read it back."""
    tickets = board[board["ticket_key"].notna()] if not board.empty else board
    if tickets.empty:
        return
    st.subheader("Tickets")
    st.caption("Each ticket's status as the last `python -m metrics tickets` (or the form below) read it back; a "
               "ticket closed as done counts as a fix from then on.")  # fmt: skip
    titles = dict(zip(plan["signature"], plan["title"].fillna(plan["signature"]), strict=True))
    shown = pd.DataFrame({
        "title": [titles.get(s) or (t if isinstance(t, str) else s)
                  for s, t in zip(tickets["signature"], tickets["title"], strict=True)],
        "system": tickets["system"].map(SYSTEMS),
        "ticket": tickets["ticket_key"],
        "status": tickets["ticket_status"],
        "url": [u if isinstance(u, str) and u.startswith(("https://", "http://")) else None
                for u in tickets["ticket_url"]],
    })  # fmt: skip
    page.table(shown, {
        "title": st.column_config.TextColumn("Alert", width=300),
        "system": st.column_config.TextColumn("In", width=120),
        "ticket": st.column_config.TextColumn("Ticket", width=100),
        "status": st.column_config.TextColumn("Status", width=170),
        "url": st.column_config.LinkColumn("Link", width=200, display_text="open"),
    })


def open_form(scope: page.Scope, plan: pd.DataFrame) -> None:
    st.subheader("Open tickets for fixes")
    st.caption("One ticket per signature, with its diagnosis, suggested fix (the advisor's patch when there is "
               "one), figures, estimate and a link back; a signature's ticket is updated, never opened twice. "
               "The credentials come from the dashboard's environment, as for `python -m metrics tickets`.")
    if message := st.session_state.pop("tickets_done", None):
        st.success(message, icon=":material/check:")
    titles = dict(zip(plan["signature"], plan["title"].fillna(plan["signature"]), strict=True))
    with st.form("tickets", border=True):
        chosen = st.multiselect("Alerts", plan["signature"].tolist(), key="ticket_signatures",
                                format_func=lambda s: f"{titles[s]}  ({s})")
        system = st.radio("Where", list(SYSTEMS), format_func=SYSTEMS.get, horizontal=True, key="ticket_system")
        go = st.form_submit_button("Open or update tickets", icon=":material/confirmation_number:")
    if not go:
        return
    if not chosen:
        st.warning("Choose at least one alert.", icon=":material/info:")
        return
    try:
        client = ticket_system(system, scope.config)
    except Misconfigured as exc:
        st.error(f"{SYSTEMS[system]} is not set up here: {exc}", icon=":material/settings_alert:")
        return
    now = dt.datetime.now(dt.UTC)
    try:
        with st.spinner(f"Talking to {SYSTEMS[system]}…"):
            advice = tickets.advisor_patches(data.db_path(), scope.config, scope.team, now)
            composed = tickets.compose(data.db_path(), scope.config, scope.team, chosen, now, advice)
            result = ticket_sync.sync(data.db_path(), client, composed, now)
    except SendError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    finally:
        client.close()
    st.session_state["tickets_done"] = result.summary(SYSTEMS[system])
    st.rerun()
