"""Sidebar filters whose values live in the URL, so a link reproduces the view."""

from __future__ import annotations

import datetime as dt

import streamlit as st

import metrics
from metrics import Period

ALL_TEAMS = "All teams"


def _set_param(key: str, value: str | None) -> None:
    if value is None:
        st.query_params.pop(key, None)
    elif st.query_params.get(key) != value:
        st.query_params[key] = value


def team(teams: list[str]) -> str | None:
    """The chosen team (None: all teams), from and to `?team=`."""
    options = [ALL_TEAMS, *teams]
    wanted = st.query_params.get("team", ALL_TEAMS)
    index = options.index(wanted) if wanted in options else 0
    choice = st.sidebar.selectbox("Team", options, index=index, key="filter_team")
    chosen = None if choice == ALL_TEAMS else choice
    _set_param("team", chosen)
    return chosen


def sprint(sprints: list[Period]) -> Period:
    """The chosen sprint, from and to `?sprint=<first day>`; by default the last finished one."""
    newest_first = list(reversed(sprints))
    keys = [p.start.date().isoformat() for p in newest_first]
    default = 1 if len(keys) > 1 else 0  # retros look back at the sprint that just ended
    wanted = st.query_params.get("sprint", keys[default])
    index = keys.index(wanted) if wanted in keys else default
    choice = st.sidebar.selectbox(
        "Sprint",
        range(len(newest_first)),
        index=index,
        format_func=lambda i: newest_first[i].label() + (" (in progress)" if i == 0 else ""),
        key="filter_sprint",
    )
    _set_param("sprint", None if choice == default else keys[choice])
    return newest_first[choice]


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def recent_sprints(config, count: int = 12) -> list[Period]:
    return metrics.sprints_back(config, count, today())
