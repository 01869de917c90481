"""Cached reads through metrics/, keyed by the database's last change and the configuration."""

from __future__ import annotations

import inspect
import os
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


@st.cache_data(show_spinner=False, max_entries=256, ttl=6 * 3600)
def _cached(name: str, db: str, version: float, config_stamp: float, args: tuple, kwargs: tuple) -> Any:
    function = getattr(metrics, name)
    extra = dict(kwargs)
    if "settings" in inspect.signature(function).parameters:
        extra["settings"] = settings.load()
    return function(db, *args, **extra)


def config() -> settings.Settings:
    return settings.load()


def load(name: str, *args: Any, **kwargs: Any) -> Any:
    """metrics.<name>(db, *args, **kwargs), from the cache while the database is unchanged."""
    db = database.current().path
    try:
        return _cached(name, db, store.last_change(db), _config_stamp(), args, tuple(sorted(kwargs.items())))
    except store.DatabaseBusy as exc:
        st.warning(f"The database is busy right now: {exc}", icon=":material/hourglass:")
        st.stop()
    except settings.ConfigError as exc:
        st.error(f"Configuration error: {exc}")
        st.stop()


def database_label() -> str:
    db = database.current()
    return f"{db.path} (demo)" if db.is_demo else db.path


def is_ci() -> bool:
    return bool(os.environ.get("CI"))


def formula(name: str) -> str:
    """The one-line definition shown as help text beside a figure."""
    try:
        return metrics.formula(name)
    except KeyError:
        return ""
