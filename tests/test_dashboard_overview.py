"""The overview page under Streamlit's AppTest: demo data, an empty database, URL filters."""

from __future__ import annotations

import pytest
import reads
from streamlit.testing.v1 import AppTest

import metrics
import settings
from ingest.sources.demo import load_demo
from tests.apptest import DASHBOARD, freeze_today, open_page
from tests.conftest import DEMO_END


def _scope_line(app: AppTest) -> str:
    """The caption that says which period and team the figures are for."""
    return next(c.value for c in app.caption if " · " in c.value)


def _tiles(app: AppTest) -> dict[str, tuple[str, str]]:
    return {tile.label: (tile.value, tile.delta) for tile in app.metric}


@pytest.fixture
def frozen_today(monkeypatch):
    freeze_today(monkeypatch)


def test_overview_on_demo_data_shows_tiles_chart_and_formulas(monkeypatch, demo_db, frozen_today):
    app = open_page(monkeypatch, demo_db)
    assert not app.exception
    tiles = _tiles(app)
    assert list(tiles) == ["Alerts", "MTTA (median)", "MTTR (median)", "Wake-ups", "Noise ratio"]
    # The default sprint is the last finished one: 9–22 Nov 2026 with the default anchor.
    period = metrics.sprint_period(settings.Settings(), DEMO_END.date().replace(day=15))
    expected = reads.summary(demo_db, period)
    assert tiles["Alerts"][0] == f"{expected['alerts']:,}"
    assert tiles["Wake-ups"][0] == f"{expected['wake_ups']:,}"
    assert all(delta for _, delta in tiles.values())  # every tile compares with the sprint before
    assert all(tile.help for tile in app.metric)  # every number carries its formula
    assert "9 – 22 Nov 2026" in _scope_line(app)
    assert app.get("plotly_chart")


def test_team_and_sprint_come_from_the_url(monkeypatch, demo_db, frozen_today):
    app = open_page(monkeypatch, demo_db, team="mobile", sprint="2026-10-26")
    assert not app.exception
    assert app.selectbox(key="filter_team").value == "mobile"
    assert "26 Oct – 8 Nov 2026" in _scope_line(app) and "mobile" in _scope_line(app)
    period = metrics.sprint_period(settings.Settings(), DEMO_END.date().replace(month=10, day=30))
    assert _tiles(app)["Alerts"][0] == f"{reads.summary(demo_db, period, team='mobile')['alerts']:,}"
    # Changing a filter writes it back into the URL.
    app.selectbox(key="filter_team").select("search").run()
    assert app.query_params["team"] == ["search"] or app.query_params["team"] == "search"


def test_unknown_url_values_fall_back_to_defaults(monkeypatch, demo_db, frozen_today):
    app = open_page(monkeypatch, demo_db, team="'; DROP TABLE alerts; --", sprint="../../etc/passwd")
    assert not app.exception
    assert app.selectbox(key="filter_team").value == "All teams"
    assert "9 – 22 Nov 2026" in _scope_line(app)


def test_overview_on_an_empty_database_says_how_to_load_data(monkeypatch, empty_db):
    app = open_page(monkeypatch, empty_db)
    assert not app.exception
    assert not app.metric
    assert any("No alerts in this database yet" in info.value for info in app.info)


def test_without_configuration_the_app_opens_the_labelled_demo(monkeypatch, tmp_path):
    from views import database

    monkeypatch.chdir(tmp_path)  # no data/alerts.duckdb here
    monkeypatch.delenv("ALERTHYGIENE_DB", raising=False)
    filled = []

    def small_demo(db, config):
        filled.append(db)
        return load_demo(db, config, seed=1, days=14)

    monkeypatch.setattr(database.demo, "load_demo", small_demo)
    database._ensure_demo.clear()
    app = AppTest.from_file(DASHBOARD, default_timeout=120).run()
    assert not app.exception
    assert filled == [database.DEMO_DB]
    assert any("Demo data" in info.value for info in app.info)
    assert len(app.metric) == 5
    assert not (tmp_path / "data" / "alerts.duckdb").exists()  # the real database is left alone
