"""Shared fixtures: temporary databases, the demo database, and tools that CI must have."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest

import settings

ROOT = Path(__file__).resolve().parent.parent
DEMO_END = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)


def require_tool(*names: str) -> str:
    """The first of `names` on PATH; skips locally when missing, fails under CI (CI installs it)."""
    for name in names:
        path = shutil.which(name) or (name if os.path.isabs(name) and os.path.exists(name) else None)
        if path:
            return path
    message = f"needs {' or '.join(names)} (Debian packages; .ci/run installs them)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def pytest_collection_modifyitems(items):
    """Browser tests take turns on one test worker: two Chromiums and their dashboards at once only slow
    each other past their timeouts on a small machine."""
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.xdist_group("browser"))


@pytest.fixture
def db(tmp_path) -> str:
    """A path for a fresh database file."""
    return str(tmp_path / "alerts.duckdb")


@pytest.fixture
def empty_db(db) -> str:
    """A database that exists, migrated, without any rows (readers never create one)."""
    import store

    with store.writing(db):
        pass
    return db


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory) -> str:
    """The demo history (seed 7, 180 days ending DEMO_END), built once per test session."""
    from ingest.sources.demo import load_demo

    path = str(tmp_path_factory.mktemp("demo") / "demo.duckdb")
    load_demo(path, settings.Settings(), seed=7, days=180, end=DEMO_END)
    return path
