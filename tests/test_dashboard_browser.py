"""The dashboard in a real Chromium: pages load without exceptions; screenshots kept as artefacts."""

from __future__ import annotations

import pytest

from tests.browser import chromium_page, screenshot, streamlit_server, wait_for_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _exceptions(page) -> list[str]:
    return page.locator("[data-testid='stException']").all_inner_texts()


def test_overview_on_demo_data_in_chromium(demo_db):
    with streamlit_server(demo_db) as url, chromium_page() as page:
        page.goto(f"{url}/?team=payments")
        wait_for_app(page)
        assert _exceptions(page) == []
        tiles = page.locator("[data-testid='stMetric']")
        assert tiles.count() == 5
        assert "Alerts" in tiles.first.inner_text()
        page.wait_for_selector(".js-plotly-plot", timeout=30_000)
        # The team filter came from the URL.
        assert "· payments ·" in page.locator("[data-testid='stMain']").inner_text()
        screenshot(page, "overview")


def test_overview_on_an_empty_database_in_chromium(db):
    with streamlit_server(db) as url, chromium_page() as page:
        page.goto(url)
        wait_for_app(page)
        assert _exceptions(page) == []
        assert "No alerts in this database yet" in page.inner_text("body")
        screenshot(page, "overview-empty")
