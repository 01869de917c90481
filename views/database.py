"""Which database the app shows: the configured one, else the demo (filled on first start)."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

import settings
import store
from ingest import status
from ingest.sources import demo

DEMO_DB = "data/demo.duckdb"


@dataclass(frozen=True)
class Database:
    path: str
    is_demo: bool


def _has_alerts(db: str) -> bool:
    if store.is_local_file(db) and not Path(db).exists():
        return False
    try:
        return bool(status.sources_in(db, timeout_s=5))
    except store.DatabaseBusy:
        return True  # a sync is filling it right now: it is the real database


def _demo_is_current(db: str) -> bool:
    """The demo history ends today: regenerate it once a day so 'this sprint' has data."""
    if not Path(db).exists():
        return False
    finished = status.last_good_run(db, demo.SOURCE)
    return finished is not None and finished.date() == dt.datetime.now(dt.UTC).date()


@st.cache_resource(show_spinner="Preparing the demo history (first start only)…")
def _ensure_demo(db: str, day: str) -> None:
    """Fill the demo database once per day and process (`day` is part of the cache key)."""
    if not _demo_is_current(db):
        demo.clear_demo(db)
        demo.load_demo(db, settings.load())


def resolve() -> Database:
    """$ALERTHYGIENE_DB when set; else data/alerts.duckdb when it holds alerts; else the demo."""
    configured = os.environ.get("ALERTHYGIENE_DB")
    if configured:
        return Database(configured, is_demo=False)
    if _has_alerts(store.DEFAULT_DB):
        return Database(store.DEFAULT_DB, is_demo=False)
    _ensure_demo(DEMO_DB, dt.datetime.now(dt.UTC).date().isoformat())
    return Database(DEMO_DB, is_demo=True)


def current() -> Database:
    """The database of this session (resolved by the entry point)."""
    if "database" not in st.session_state:
        st.session_state["database"] = resolve()
    return st.session_state["database"]


def cannot_open(exc: store.DatabaseError) -> None:
    """The database cannot be used at all (missing, unreadable, a newer schema): say so and stop."""
    st.error(f"Cannot open the database: {exc}", icon=":material/database_off:")
    st.stop()


def demo_banner() -> None:
    st.info(
        "**Demo data.** You are looking at a generated 180-day history of six made-up teams, "
        "not your alerts. To see your own, load a provider's history "
        "(`python -m ingest sync --source pagerduty`, see the README) into `data/alerts.duckdb` "
        "or point `ALERTHYGIENE_DB` at your database, then restart the app.",
        icon=":material/science:",
    )
