"""Cached reads through metrics/, keyed by the database's last change and the configuration."""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st

import metrics
import settings
import store
from views import database


def _config_stamp() -> float:
    path = Path(settings.DEFAULT_CONFIG_FILE)
    return path.stat().st_mtime if path.exists() else 0.0


@st.cache_data(show_spinner=False, max_entries=512, ttl=6 * 3600)
def _cached(
    _function: Callable, name: str, db: str, version: float, config_stamp: float, args: tuple, kwargs: tuple
) -> Any:
    # `name` identifies `_function` in the cache key (functions themselves are not hashed).
    extra = dict(kwargs)
    if "settings" in inspect.signature(_function).parameters:
        extra["settings"] = settings.load()
    return _function(db, *args, **extra)


def config() -> settings.Settings:
    try:
        return settings.load()
    except settings.ConfigError as exc:
        st.error(f"Configuration error: {exc}", icon=":material/settings_alert:")
        st.stop()


@st.cache_resource
def _last_good() -> dict:
    """The last result of each read, served with its age while a writer holds the database."""
    return {}


def load(function: str | Callable, *args: Any, **kwargs: Any) -> Any:
    """function(db, *args, **kwargs) — a metrics.* name or a reader — cached while nothing changes."""
    if isinstance(function, str):
        function = getattr(metrics, function)
    db = database.current().path
    name = f"{function.__module__}.{function.__qualname__}"
    key = tuple(sorted(kwargs.items()))
    try:
        result = _cached(function, name, db, store.last_change(db), _config_stamp(), args, key)
    except store.DatabaseBusy:
        return _stale(name, db, args, key)
    except store.DatabaseError as exc:
        database.cannot_open(exc)
    except settings.ConfigError as exc:
        st.error(f"Configuration error: {exc}", icon=":material/settings_alert:")
        st.stop()
    _last_good()[repr((name, db, args, key))] = (dt.datetime.now(dt.UTC), result)
    return result


def _stale(name: str, db: str, args: tuple, key: tuple) -> Any:
    """While a long write holds the database: the last result, said to be so, never an error."""
    kept = _last_good().get(repr((name, db, args, key)))
    if kept is None:
        st.info("A sync is writing to the database right now; this view appears as soon as it "
                "finishes. Reload in a moment.", icon=":material/hourglass:")
        st.stop()
    at, result = kept
    if not st.session_state.get("_stale_noted"):
        st.session_state["_stale_noted"] = True
        st.caption(f"Showing figures as of {at:%H:%M:%S} UTC: a sync is writing to the database right now.")
    return result


def formula(name: str) -> str:
    """The one-line definition shown as help text beside a figure."""
    try:
        return metrics.formula(name)
    except KeyError:
        return ""


def db_path() -> str:
    return database.current().path
