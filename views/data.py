"""Cached reads through metrics.read, keyed by the database's last change and the configuration."""

from __future__ import annotations

import datetime as dt
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


def config() -> settings.Settings:
    try:
        return settings.load()
    except settings.ConfigError as exc:
        st.error(f"Configuration error: {exc}", icon=":material/settings_alert:")
        st.stop()


def _scope(key: tuple | None) -> metrics.Scope | None:
    if key is None:
        return None
    start, end, team, service, signature = key
    period = metrics.Period(dt.datetime.fromisoformat(start), dt.datetime.fromisoformat(end))
    return metrics.Scope(period, team, service, signature)


def _key(scope: metrics.Scope | None) -> tuple | None:
    """The scope as plain values for the cache key (the time zone of the period included)."""
    if scope is None:
        return None
    p = scope.period
    return (p.start.isoformat(), p.end.isoformat(), scope.team, scope.service, scope.signature)


# The cached values are Figures holding Arrow tables: cheap to keep and to copy out, never
# pickled DataFrames. `version` and `config_stamp` change whenever the database or the
# configuration does, so a cached result is never stale.
@st.cache_data(show_spinner=False, max_entries=256, ttl=6 * 3600)
def _read(db: str, version: float, config_stamp: float, names: tuple, scope: tuple | None, options: tuple):
    return metrics.read(db, names, _scope(scope), settings.load(), **dict(options))


# Computations built on reads (the advisor's plan, the on-call view): cached alike. Figures are
# never read through this: they go through `read`.
@st.cache_data(show_spinner=False, max_entries=64, ttl=6 * 3600)
def _computed(db: str, version: float, config_stamp: float, _function: Callable, name: str, args: tuple,
              kwargs: tuple) -> Any:
    # `name` identifies `_function` in the cache key (functions themselves are not hashed).
    return _function(db, *args, settings=settings.load(), **dict(kwargs))


@st.cache_resource
def _last_good() -> dict:
    """The last result of each read, served with its age while a writer holds the database."""
    return {}


def _cached(function, *key: Any) -> Any:
    db = database.current().path
    try:
        result = function(db, store.last_change(db), _config_stamp(), *key)
    except store.DatabaseBusy:
        return _stale(repr((function.__name__, db, key)))
    except store.DatabaseError as exc:
        database.cannot_open(exc)
    except settings.ConfigError as exc:
        st.error(f"Configuration error: {exc}", icon=":material/settings_alert:")
        st.stop()
    _last_good()[repr((function.__name__, db, key))] = (dt.datetime.now(dt.UTC), result)
    return result


def read(names: list[str], scope: metrics.Scope | None = None, **options: Any) -> metrics.Figures:
    """metrics.read on this session's database: every name from one computation of the facts."""
    return _cached(_read, tuple(names), _key(scope), tuple(sorted(options.items())))


def load(function: Callable, *args: Any, **kwargs: Any) -> Any:
    """function(db, *args, settings=…, **kwargs), cached: a computation that reads through metrics.read
    and works on the figures (the advisor's plan, the on-call view)."""
    name = f"{function.__module__}.{function.__qualname__}"
    return _cached(_computed, function, name, args, tuple(sorted(kwargs.items())))


def _stale(key: str) -> Any:
    """While a long write holds the database: the last result, said to be so, never an error."""
    kept = _last_good().get(key)
    if kept is None:
        st.info("A sync is writing to the database right now; this view appears as soon as it "
                "finishes. Reload in a moment.", icon=":material/hourglass:")
        st.stop()
    at, result = kept
    if not st.session_state.get("_stale_noted"):
        st.session_state["_stale_noted"] = True
        st.caption(f"Showing figures as of {at:%H:%M:%S} UTC: a sync is writing to the database right now.")
    return result


def describe(name: str, team: str | None = None) -> str:
    """A definition rendered from the settings in force (where no read's Figures is at hand)."""
    return metrics.describe(name, config(), team)


def db_path() -> str:
    return database.current().path
