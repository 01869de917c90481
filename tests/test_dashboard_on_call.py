"""The On call page for the manager: AppTest on the demo and without schedules, and Chromium."""

from __future__ import annotations

import csv
import io

import pytest
import reads

import metrics
import settings
import store
from metrics import oncall
from tests.apptest import freeze_today, open_page
from tests.browser import chromium_page, screenshot, streamlit_server, wait_for_app
from tests.conftest import DEMO_END

PAGE, WAKE_UPS = "views/on_call.py", "views/wakeups.py"


@pytest.fixture(autouse=True)
def frozen_today(monkeypatch):
    freeze_today(monkeypatch)


def _period() -> metrics.Period:
    return metrics.sprints_back(settings.Settings(), 2, DEMO_END.date())[0]  # the last finished sprint


def test_the_manager_sees_load_against_the_rota_per_person(monkeypatch, demo_db):
    app = open_page(monkeypatch, demo_db, PAGE, team="payments")
    assert not app.exception and not app.error
    assert app.title[0].value == "On call, against the rota"
    figures = reads.on_call_figures(demo_db, _period(), "payments", settings.Settings())
    tiles = {m.label: m.value for m in app.metric}
    assert tiles["Pages per 12 h on call"] == f"{figures['interruptions_per_shift']:.2f}"
    assert tiles["On-call hours"] == f"{figures['on_call_hours']:,.0f} h"
    assert tiles["Off-rota pages"] == "0"  # the demo pages only whoever its rota names
    subheaders = [h.value for h in app.subheader]
    for section in ("Per person, against the rota", "Who needs a break", "Fairness per schedule",
                    "Export for compensation or time off"):
        assert section in subheaders
    table = next(frame.value for frame in app.dataframe if "per_shift" in frame.value)
    period = _period()
    with store.reading(demo_db) as con:
        rostered = con.execute("SELECT count(DISTINCT person_id) FROM on_call_shifts WHERE team = 'payments' "
                               "AND starts_at < ? AND ends_at > ?", [period.end, period.start]).fetchone()[0]
    assert set(table["team"]) == {"payments"} and len(table) == rostered == 3  # two primaries, one backup
    assert all(len(points) == 12 for points in table["per_shift"])  # a point per sprint


def test_with_schedules_the_wake_ups_page_points_to_the_on_call_page(monkeypatch, demo_db):
    app = open_page(monkeypatch, demo_db, WAKE_UPS, team="payments")
    assert not app.exception and not app.error
    # With a rota the ceiling is judged per shift on the On call page, not per day here.
    assert "Paging load against the SRE ceiling" not in [h.value for h in app.subheader]
    assert [link.proto.page for link in app.get("page_link")] == ["on_call"]  # the page's URL path


def test_without_schedules_the_section_says_unknown_and_keeps_the_per_day_ceiling(monkeypatch, demo_db, tmp_path):
    import shutil

    bare = str(tmp_path / "bare.duckdb")
    shutil.copy(demo_db, bare)
    with store.writing(bare) as con:
        con.execute("DELETE FROM on_call_shifts")
    app = open_page(monkeypatch, bare, PAGE, team="payments")
    assert not app.exception
    assert any("so the on-call figures are unknown (not zero)" in i.value for i in app.info)
    assert "Pages per 12 h on call" not in {m.label for m in app.metric}
    wake_ups = open_page(monkeypatch, bare, WAKE_UPS, team="payments")
    assert not wake_ups.exception
    assert "Paging load against the SRE ceiling" in [h.value for h in wake_ups.subheader]
    assert not wake_ups.get("page_link")


def test_month_export_matches_the_metric(demo_db):
    frame = oncall.on_call_export_month(demo_db, DEMO_END.date().replace(day=1, month=10), "payments",
                                        settings.Settings())
    assert len(frame) == 4 and set(frame["month"]) == {"2026-10"}
    # The payments rota covers every hour of October once, shared by whoever was on call; the team is
    # in Berlin, whose October has 745 hours (the clocks go back on the 25th).
    assert frame["on_call_hours"].sum() == pytest.approx(745)
    row = frame.iloc[0]
    assert row["business_hours"] + row["off_hours"] + row["sleep_hours"] == pytest.approx(row["on_call_hours"])
    text = frame.to_csv(index=False)
    assert next(csv.reader(io.StringIO(text)))[:4] == ["person", "team", "month", "on_call_hours"]


@pytest.mark.browser
@pytest.mark.slow
def test_on_call_page_in_chromium(demo_db, tmp_path):
    with streamlit_server(demo_db) as url, chromium_page(1400, 1000) as page:
        page.goto(f"{url}/wakeups?team=payments&from=2026-11-09&to=2026-11-23")
        wait_for_app(page, ready="[data-testid='stPageLink']")
        page.locator("[data-testid='stMain'] [data-testid='stPageLink'] a").click()  # the team and dates go along
        wait_for_app(page, ready="[data-testid='stHeading']:has-text('Fairness per schedule')")
        assert "/on_call?" in page.url and "team=payments" in page.url and "from=2026-11-09" in page.url
        page.get_by_text("On call, against the rota").first.scroll_into_view_if_needed()
        page.wait_for_timeout(1500)
        screenshot(page, "on-call-people")
        page.locator("[data-testid='stHeading']:has-text('Shifts over the ceiling')").first.scroll_into_view_if_needed()
        page.wait_for_timeout(1000)
        screenshot(page, "on-call-breaks")
        page.get_by_text("Fairness per schedule").first.scroll_into_view_if_needed()
        page.wait_for_timeout(1500)
        body = page.inner_text("body")
        assert "Traceback" not in body and "None" not in body.split("On call, against the rota")[1]
        assert "nan" not in body.split("On call, against the rota")[1].split()
        screenshot(page, "on-call")
        with page.expect_download() as download:
            page.get_by_text("Download November 2026").click()
        rows = list(csv.DictReader(open(download.value.path(), encoding="utf-8")))
        assert {r["team"] for r in rows} == {"payments"} and rows[0]["month"] == "2026-11"
