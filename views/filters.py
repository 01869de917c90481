"""Sidebar filters kept in the URL and across pages, so a link reproduces the view.

A value comes from the URL when it names one, else from what this browser session chose last
on any page, else the default; the choice is written back to both.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

import metrics
from metrics import Period, display
from settings import EARLIEST_YEAR, LATEST_YEAR, Settings

ALL_TEAMS = "All teams"
ALL_SERVICES = "All services"
SPRINTS_SHOWN = 12
_KEPT = "_filters"  # session-wide (not a widget key): survives page changes


def _kept() -> dict[str, str]:
    return st.session_state.setdefault(_KEPT, {})


def _wanted(key: str) -> str | None:
    """The URL's value for `key`, else the one chosen last in this session."""
    value = st.query_params.get(key)
    return value if value is not None else _kept().get(key)


def _keep(key: str, value: str | None) -> None:
    """Remember `value` for this session and put it in the URL (None: drop it from both)."""
    if value is None:
        _kept().pop(key, None)
        st.query_params.pop(key, None)
        return
    _kept()[key] = value
    if st.query_params.get(key) != value:
        st.query_params[key] = value


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _choice(label: str, key: str, options: list[str], everything: str) -> str | None:
    """A select box over `options` plus `everything`, kept as `?key=`; None means everything."""
    choices = [everything, *options]
    wanted = _wanted(key) or everything
    index = choices.index(wanted) if wanted in choices else 0
    choice = st.sidebar.selectbox(label, choices, index=index, key=f"filter_{key}")
    chosen = None if choice == everything else choice
    _keep(key, chosen)
    return chosen


def team(teams: list[str]) -> str | None:
    """The chosen team (None: all teams), from and to `?team=`."""
    return _choice("Team", "team", teams, ALL_TEAMS)


def service(services: list[str]) -> str | None:
    """The chosen service (None: all services), from and to `?service=`."""
    return _choice("Service", "service", services, ALL_SERVICES)


def recent_sprints(config: Settings, count: int = SPRINTS_SHOWN) -> list[Period]:
    """The last `count` sprints, oldest first, ending with the one in progress."""
    return metrics.sprints_back(config, count, today())


def _sprint_label(span: Period, config: Settings) -> str:
    state = display.progress(span)
    return display.period(span, config.default_time_zone) + (f" ({state})" if state else "")


def sprint(sprints: list[Period], config: Settings) -> Period:
    """The chosen sprint, from and to `?sprint=<first day>`; by default the last finished one."""
    newest_first = list(reversed(sprints))
    keys = [p.start.date().isoformat() for p in newest_first]
    default = 1 if len(keys) > 1 else 0  # retros look back at the sprint that just ended
    wanted = _wanted("sprint") or keys[default]
    index = keys.index(wanted) if wanted in keys else default
    choice = st.sidebar.selectbox(
        "Sprint",
        range(len(newest_first)),
        index=index,
        format_func=lambda i: _sprint_label(newest_first[i], config),
        key="filter_sprint",
    )
    _keep("sprint", None if choice == default else keys[choice])
    return newest_first[choice]


def _date(key: str) -> dt.date | None:
    """A date from the URL (or this session), or None for anything that is not a date this program reckons with."""
    try:
        value = dt.date.fromisoformat(_wanted(key) or "")
    except ValueError:
        return None
    return value if EARLIEST_YEAR <= value.year <= LATEST_YEAR else None


def period(config: Settings) -> Period:
    """A sprint from the picker, or free dates (`?from=&to=`, `to` exclusive)."""
    start, end = _date("from"), _date("to")
    free = start is not None and end is not None and start < end
    mode = st.sidebar.radio(
        "Period", ["Sprint", "Dates"], index=1 if free else 0, horizontal=True, key="filter_mode"
    )
    if mode == "Sprint":
        _keep("from", None)
        _keep("to", None)
        return sprint(recent_sprints(config), config)
    _keep("sprint", None)
    if not free:
        end = today() + dt.timedelta(days=1)
        start = end - dt.timedelta(days=config.sprint_length_days)
    picked = st.sidebar.date_input("From – to (inclusive)", (start, end - dt.timedelta(days=1)), key="filter_dates",
                                   format="YYYY-MM-DD")
    if isinstance(picked, tuple) and len(picked) == 2:
        start, end = picked[0], picked[1] + dt.timedelta(days=1)
    _keep("from", start.isoformat())
    _keep("to", end.isoformat())
    return metrics.between(start, end, config.default_time_zone)


def sprint_containing(config: Settings, day: dt.date) -> Period:
    return metrics.sprint_period(config, day)
