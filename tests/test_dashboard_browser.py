"""The dashboard in a real Chromium: pages load without exceptions; screenshots kept as artefacts."""

from __future__ import annotations

import pytest

from tests.browser import chromium_page, screenshot, streamlit_server, wait_for_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

METRIC = "[data-testid='stMetric']"


def _exceptions(page) -> list[str]:
    return page.locator("[data-testid='stException']").all_inner_texts()


def test_overview_on_demo_data_in_chromium(demo_db):
    with streamlit_server(demo_db) as url, chromium_page() as page:
        page.goto(f"{url}/?team=payments")
        wait_for_app(page, ready=METRIC)
        assert _exceptions(page) == []
        tiles = page.locator("[data-testid='stMetric']")
        assert tiles.count() == 5
        assert "Alerts" in tiles.first.inner_text()
        page.wait_for_selector(".js-plotly-plot", timeout=30_000)
        # The team filter came from the URL.
        assert "· payments ·" in page.locator("[data-testid='stMain']").inner_text()
        screenshot(page, "overview-payments")


def test_first_start_without_configuration_opens_the_labelled_demo(tmp_path):
    """What a new user sees after `streamlit run dashboard.py`: the demo, clearly labelled."""
    with streamlit_server(None, workdir=tmp_path) as url, chromium_page() as page:
        page.goto(url)
        wait_for_app(page, ready=METRIC, timeout_ms=120_000)
        assert _exceptions(page) == []
        body = page.inner_text("body")
        assert "Demo data" in body and "data/demo.duckdb (demo)" in body
        assert (tmp_path / "data" / "demo.duckdb").exists()
        assert not (tmp_path / "data" / "alerts.duckdb").exists()
        screenshot(page, "overview")


def test_overview_on_an_empty_database_in_chromium(db):
    with streamlit_server(db) as url, chromium_page() as page:
        page.goto(url)
        wait_for_app(page, ready="[data-testid='stAlert']")
        assert _exceptions(page) == []
        assert "No alerts in this database yet" in page.inner_text("body")
        screenshot(page, "overview-empty")
