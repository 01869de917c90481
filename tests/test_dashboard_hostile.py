"""The dashboard under attack, in Chromium: hostile alert text renders inert on every page."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
from urllib.parse import quote

import pyarrow as pa
import pytest

import settings
import store
from ingest.sources.demo import load_demo
from tests.browser import chromium_page, screenshot, streamlit_server, wait_for_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCRIPT = "<script>window.__pwned = 'script'</script>"
IMG = "<img src=x onerror=\"window.__pwned = 'img'\">"
LINK = "[click me](javascript:window.__pwned='link')"
# Names as long as providers allow (a legend or axis cuts them; the hover names them in full).
HOSTILE_TEAM = "<img src=x onerror=\"window.__pwned = 'team'\">ops %{x} " + "platform-reliability-" * 8
PERSON = f"Mallory %{{y}} {SCRIPT} " + "Hohenzollern-" * 12  # plotly's template syntax: shown as written
LONG = "A" * 5000
FORMULA = "=cmd|' /C calc'!A0"
TITLES = [f"Disk {SCRIPT} full", f"CPU {IMG} high", f"Queue {LINK} stuck", f"**bold** _it_ `code` {LONG}",
          "{{7*7}} ${7*7} %s %n \u202eevil\u202c", FORMULA]
PAGES = ["", "noisy", "retro", "advice", "wakeups", "on_call", "response", "planner", "data_sources"]


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory) -> str:
    """A short demo history plus alerts, people and reviews whose text is an attack."""
    path = str(tmp_path_factory.mktemp("hostile") / "hostile.duckdb")
    load_demo(path, settings.Settings(), seed=3, days=30)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    alerts, notifications = [], []
    for index in range(40):
        title = TITLES[index % len(TITLES)]
        created = now - dt.timedelta(days=1 + index % 20, minutes=index)
        alerts.append({
            "source": "demo", "source_id": f"H{index}", "title": title,
            "signature": f"{SCRIPT}|{title[:60]}", "service": f"svc {IMG}", "team": HOSTILE_TEAM,
            "created_at": created, "resolved_at": created + dt.timedelta(minutes=3 + index),
            "acknowledged_at": created + dt.timedelta(minutes=1) if index % 2 else None,
            "acknowledged_by": "PX1" if index % 2 else None,
            "url": "javascript:window.__pwned='url'", "runbook_url": "javascript:window.__pwned='runbook'",
            "labels": json.dumps({"alertname": SCRIPT, "team": IMG}),
        })
        notifications.append({"source": "demo", "alert_source_id": f"H{index}", "person_id": "PX1",
                              "channel": "phone", "notified_at": created + dt.timedelta(seconds=30)})
    with store.writing(path) as con:
        store.upsert(con, "alerts", pa.Table.from_pylist(alerts))
        store.upsert(con, "notifications", pa.Table.from_pylist(notifications))
        store.upsert(con, "people", pa.Table.from_pylist([{
            "source": "demo", "person_id": "PX1", "name": PERSON, "time_zone": "Europe/Berlin",
            "team": HOSTILE_TEAM}]))
        con.execute("INSERT INTO quarantine VALUES ('demo', 'incidents', 'h1', ?, ?, NULL, now())",
                    [f"{{\"title\": \"{IMG}\"}}", f"bad record {SCRIPT}"])
    store.retro.save_review(path, f"{SCRIPT}|{TITLES[0][:60]}", "noise", note=f"note {IMG} {LINK}",
                            reviewer=f"rev {SCRIPT}")
    return path


def _inert(page) -> None:
    assert page.evaluate("() => window.__pwned === undefined"), page.evaluate("() => window.__pwned")
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.locator("a[href^='javascript:' i]").count() == 0
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1] + 2, f"the page is wider than the window: {width}"


def _hover_lines(page, per_chart: int = 3) -> list[str]:
    """The hover text of the first few dots of each chart on the page, line by line, as the mouse shows it."""
    lines = []
    for chart in page.locator(".js-plotly-plot").all():
        points = chart.locator(".scatterlayer .point")
        for index in range(min(points.count(), per_chart)):
            points.nth(index).scroll_into_view_if_needed()
            box = points.nth(index).bounding_box()
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            chart.locator(".hoverlayer text").first.wait_for(timeout=5000)
            lines += chart.evaluate("""chart => [...chart.querySelectorAll('.hoverlayer text')].flatMap(text => {
                const parts = text.querySelectorAll('tspan.line');
                return parts.length ? [...parts].map(part => part.textContent) : [text.textContent];
            })""")
            screenshot(page, "hostile-wakeups-hover")
    return lines


def test_hostile_text_renders_inert_on_every_page(hostile_db, tmp_path):
    db = str(tmp_path / "h.duckdb")
    shutil.copy(hostile_db, db)
    dialogs = []
    with streamlit_server(db) as url, chromium_page(1400, 1600) as page:
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        for path in PAGES:
            page.goto(f"{url}/{path}?team={quote(HOSTILE_TEAM)}")
            wait_for_app(page, ready="[data-testid='stMainBlockContainer'] h1")
            page.wait_for_timeout(1500)
            wait_for_app(page, ready="[data-testid='stMainBlockContainer'] h1")
            _inert(page)
            if path == "wakeups":  # a person's and a team's name in the charts' hover, as written
                shown = _hover_lines(page)
                # In full, in lines a chart has room for (a long name is broken every 60 characters).
                assert f"Person: {PERSON}" in "".join(shown), shown
                assert f"Team {HOSTILE_TEAM}, Wake-ups: " in "".join(shown), shown
            screenshot(page, f"hostile-{path or 'overview'}")
        # The hostile team name is shown, as text, in the filter.
        assert page.get_by_text("ops", exact=False).count() >= 1
    assert dialogs == []


def test_sql_and_path_fragments_in_the_url_only_filter(hostile_db, tmp_path):
    db = str(tmp_path / "h.duckdb")
    shutil.copy(hostile_db, db)
    fragments = "team=%27%3B%20DROP%20TABLE%20alerts%3B--&sprint=..%2F..%2Fetc%2Fpasswd&service=%25&from=x&to=%00"
    with streamlit_server(db) as url, chromium_page() as page:
        for path in ("", "noisy", "response"):
            page.goto(f"{url}/{path}?{fragments}")
            wait_for_app(page, ready="[data-testid='stMainBlockContainer'] h1")
            _inert(page)
    with store.reading(db) as con:
        assert con.execute("SELECT count(*) FROM alerts").fetchone()[0] > 40


def test_csv_downloads_hold_formulas_as_text(hostile_db, tmp_path):
    """The reported case: a title `=cmd|' /C calc'!A0` went raw into the CSV downloads."""
    db = str(tmp_path / "h.duckdb")
    shutil.copy(hostile_db, db)
    team = quote(HOSTILE_TEAM)
    with streamlit_server(db) as url, chromium_page(1400, 2400) as page:
        page.goto(f"{url}/retro?team={team}")
        wait_for_app(page, ready="[data-testid='stDownloadButton']")
        with page.expect_download() as caught:
            page.get_by_role("button", name="Sprint data (CSV)").click()
        target = tmp_path / caught.value.suggested_filename
        caught.value.save_as(target)
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8"))))
    cells = [cell for row in rows for cell in row]
    assert any(cell == "'" + FORMULA or cell.startswith("'" + FORMULA) for cell in cells), cells[:40]
    assert not [cell for cell in cells if cell.startswith(("=", "+", "-", "@"))]
