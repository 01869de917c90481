"""Cached reads through metrics/, keyed by the database's last change and the configuration."""

from __future__ import annotations

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


def load(function: str | Callable, *args: Any, **kwargs: Any) -> Any:
    """function(db, *args, **kwargs) — a metrics.* name or a reader — cached while nothing changes."""
    if isinstance(function, str):
        function = getattr(metrics, function)
    db = database.current().path
    try:
        name = f"{function.__module__}.{function.__qualname__}"
        key = tuple(sorted(kwargs.items()))
        return _cached(function, name, db, store.last_change(db), _config_stamp(), args, key)
    except store.DatabaseBusy as exc:
        st.warning(f"The database is busy right now: {exc}", icon=":material/hourglass:")
        st.stop()
    except settings.ConfigError as exc:
        st.error(f"Configuration error: {exc}", icon=":material/settings_alert:")
        st.stop()


def formula(name: str) -> str:
    """The one-line definition shown as help text beside a figure."""
    try:
        return metrics.formula(name)
    except KeyError:
        return ""


def db_path() -> str:
    return database.current().path
