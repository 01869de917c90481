"""The dashboard in a real Chromium: every page, a review through the UI, downloads, screenshots."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import shutil

import pytest
import reads

import metrics
import settings
from ingest.sources.demo import load_demo
from tests.browser import (
    chromium_page,
    cut_off_tiles,
    overflowing_grids,
    screenshot,
    settled,
    streamlit_server,
    wait_for_app,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

METRIC = "[data-testid='stMetric']"
FORM = "[data-testid='stForm']"
# page name → (URL path, an element that shows once the page has rendered its data)
PAGES = {
    "overview": ("", ".js-plotly-plot"),
    "noisy-alerts": ("noisy", METRIC),  # the hold-down replay at the bottom
    "sprint-retro": ("retro", "[data-testid='stDownloadButton']"),
    "advisor": ("advice", "[data-testid='stButton']"),  # the first suggestion's accept button
    "wake-ups": ("wakeups", ".js-plotly-plot"),
    "on-call": ("on_call", "[data-testid='stDownloadButton']"),  # the monthly export, last on the page
    "response-times": ("response", "[data-testid='stDataFrame']"),
    "fix-planner": ("planner", "[data-testid='stDataFrame']"),
    "data": ("data_sources", "[data-testid='stDataFrame']"),
}


@pytest.fixture(scope="module")
def live_demo(tmp_path_factory) -> str:
    """A demo history ending now, since the browser's app computes 'this sprint' from the real clock."""
    path = str(tmp_path_factory.mktemp("live") / "demo.duckdb")
    load_demo(path, settings.Settings(), seed=7, days=180)
    return path


def _exceptions(page) -> list[str]:
    return page.locator("[data-testid='stException']").all_inner_texts()


def _last_finished_sprint() -> metrics.Period:
    return metrics.sprints_back(settings.Settings(), 12, dt.datetime.now(dt.UTC).date())[-2]


def test_every_page_loads_in_chromium_and_is_screenshotted(live_demo, tmp_path):
    (tmp_path / "data").mkdir()
    shutil.copy(live_demo, tmp_path / "data" / "demo.duckdb")  # as a new user's first start leaves it
    with streamlit_server(None, workdir=tmp_path) as url, chromium_page(1400, 1800) as page:
        for name, (path, ready) in PAGES.items():
            page.goto(f"{url}/{path}?team=payments")
            wait_for_app(page, ready=ready)
            assert _exceptions(page) == [], name
            assert overflowing_grids(page) == [], f"{name}: a table wider than the page at 1400 px"
            assert cut_off_tiles(page) == [], name
            screenshot(page, f"page-{name}")


@pytest.mark.timeout(600)  # nine pages, each drawn anew
def test_every_page_stays_usable_in_a_window_800_px_wide(live_demo):
    """Nothing wider than the window, and figure tiles wrap onto more rows rather than cut their figures."""
    with streamlit_server(live_demo) as url, chromium_page(800, 1800) as page:
        for name, (path, ready) in PAGES.items():
            page.goto(f"{url}/{path}?team=payments")
            wait_for_app(page, ready=ready)
            assert _exceptions(page) == [], name
            assert page.evaluate("document.documentElement.scrollWidth") <= 800, name
            assert cut_off_tiles(page) == [], name
            screenshot(page, f"narrow-{name}")


def test_overview_filters_come_from_the_url(live_demo):
    with streamlit_server(live_demo) as url, chromium_page() as page:
        page.goto(f"{url}/?team=payments")
        wait_for_app(page, ready=METRIC)
        assert page.locator(METRIC).count() == 5
        assert re.search(r"^payments · \d+ ", page.locator("[data-testid='stMain']").inner_text(), re.M)


def test_overview_on_an_empty_database_in_chromium(empty_db):
    with streamlit_server(empty_db) as url, chromium_page() as page:
        page.goto(url)
        wait_for_app(page, ready="[data-testid='stAlert']")
        assert _exceptions(page) == []
        assert "No alerts in this database yet" in page.inner_text("body")
        screenshot(page, "overview-empty")


def test_first_start_without_configuration_opens_the_labelled_demo(tmp_path):
    """What a new user sees after `streamlit run dashboard.py`: the demo, clearly labelled."""
    with streamlit_server(None, workdir=tmp_path) as url, chromium_page() as page:
        page.goto(url)
        wait_for_app(page, ready=".js-plotly-plot", timeout_ms=120_000)
        assert _exceptions(page) == []
        assert page.locator(METRIC).count() == 5
        body = page.inner_text("body")
        assert "Demo data" in body and "data/demo.duckdb (demo)" in body
        assert (tmp_path / "data" / "demo.duckdb").exists()
        assert not (tmp_path / "data" / "alerts.duckdb").exists()
        screenshot(page, "overview")


def test_downloads_produce_files_with_the_expected_rows(live_demo, tmp_path):
    period = _last_finished_sprint()
    expected = reads.noisy(live_demo, period, team="payments")
    with streamlit_server(live_demo) as url, chromium_page(1400, 2400) as page:
        page.goto(f"{url}/retro?team=payments")
        wait_for_app(page, ready="[data-testid='stDownloadButton']")
        with page.expect_download() as caught:
            page.get_by_role("button", name="Sprint data (CSV)").click()
        rows = list(csv.DictReader(io.StringIO(_read(caught.value, tmp_path))))
        assert [r["signature"] for r in rows] == expected["signature"].tolist()
        page.get_by_text("Prepare the sprint report").click()
        settled(page)
        with page.expect_download() as caught:
            page.get_by_role("button", name="Report (Markdown)").click()
        report = _read(caught.value, tmp_path)
        assert report.startswith("# Alert hygiene report: payments")
        assert f"| Alerts | {int(expected['alerts'].sum())} |" in report


def _read(download, tmp_path) -> str:
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    return target.read_text(encoding="utf-8")
