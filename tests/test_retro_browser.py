"""The retro, the manager's and the product owner's workflows, done in a real Chromium as people do them."""

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
import store
from ingest.sources.demo import load_demo
from metrics.report import md_escape
from tests.browser import (
    choose_in,
    chromium_page,
    grid_column,
    grid_text,
    screenshot,
    settled,
    streamlit_server,
    toggle,
    type_into,
    wait_for_app,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

GRID = "[data-testid='stDataFrame']"
S = settings.Settings()
# Five signatures decided one by one in the queue: (row, verdict as shown, note).
DECISIONS = [
    (0, "Noise", "Demote it to a ticket"),
    (1, "Needs tuning", "Page only above 5% for 10 minutes"),
    (2, "Actionable", "Real customer impact, keep paging"),
    (3, "Duplicate", "Same as the replica lag page"),
    (4, "Noise", "Nobody acts on it"),
]
BULK_ROWS, BULK_NOTE = (5, 6), "Grouped with the deploy alerts"


@pytest.fixture(scope="module")
def live_demo(tmp_path_factory) -> str:
    """A demo history ending now, since the app computes 'this sprint' from the real clock."""
    path = str(tmp_path_factory.mktemp("retro") / "demo.duckdb")
    load_demo(path, S, seed=7, days=180)
    return path


def _sprints() -> list[metrics.Period]:
    return metrics.sprints_back(S, 12, dt.datetime.now(dt.UTC).date())


def _grid_with(page, header: str, timeout_s: float = 30):
    """The first grid on the page with a column headed `header` (waiting while the page draws).

    Found by its content, not its position, so a re-run that redraws the page finds it again.
    """
    heading = page.locator("[role=columnheader]", has_text=re.compile(rf"^\s*{re.escape(header)}\s*$"))
    grid = page.locator(GRID).filter(has=heading).first
    try:
        grid.wait_for(state="attached", timeout=timeout_s * 1000)
    except Exception:
        screenshot(page, "retro-table-missing")
        raise AssertionError(f"no table with a column {header!r}") from None
    return grid


def _saved(page, saying: str = "Saved") -> None:
    """Until the toast of this save shows (`saying` is part of its text) and the page has re-run."""
    try:
        page.locator("[data-testid='stToast']").filter(has_text=saying).last.wait_for(timeout=60_000)
    except Exception:
        screenshot(page, "retro-save-missing")
        raise
    settled(page)


def _report(page, tmp_path, fmt: str = "Markdown") -> str:
    switch = page.get_by_text("Prepare the sprint report")
    if not page.get_by_role("button", name=f"Report ({fmt})").count():
        switch.click()
        settled(page)
    with page.expect_download(timeout=60_000) as caught:
        page.get_by_role("button", name=f"Report ({fmt})").click()
    target = tmp_path / f"{len(list(tmp_path.iterdir()))}-{caught.value.suggested_filename}"
    caught.value.save_as(target)
    return target.read_text(encoding="utf-8")


def _body(markdown: str) -> str:
    return markdown[: markdown.rindex("Generated ")]


def _open(page, url: str, ready: str = GRID) -> None:
    page.goto(url)
    wait_for_app(page, ready=ready, timeout_ms=120_000)
    settled(page)


def test_a_retro_done_in_the_browser_ends_in_a_report_with_every_decision(live_demo, tmp_path):
    db = str(tmp_path / "retro.duckdb")
    shutil.copy(live_demo, db)
    last, earlier = _sprints()[-2], _sprints()[-4]
    with streamlit_server(db) as url, chromium_page(1400, 2200) as page:
        _open(page, f"{url}/retro?team=payments&sprint={earlier.start.date().isoformat()}")
        earlier_before = _report(page, tmp_path)

        _open(page, f"{url}/retro?team=payments")
        name = page.get_by_role("textbox", name="Your name, saved with your verdicts")
        name.fill("Robin")
        name.press("Enter")
        settled(page)
        queue = _grid_with(page, "Verdict")
        verdict, note, tick, given = (grid_column(queue, t) for t in ("Verdict", "Note", "✓", "Given"))
        titles = [grid_text(queue, 0, row) for row in range(7)]
        # Verdicts from earlier retros hold until changed; ticked, they are confirmed as this retro's.
        from_before = [row for row in range(7) if grid_text(queue, given, row) not in ("—", "this retro")]
        assert from_before, "the demo's queue shows verdicts given in earlier retros"
        held = [grid_text(queue, verdict, row) for row in from_before]
        for row in from_before:
            toggle(page, queue, row, tick)
            settled(page)
        confirm = f"Confirm {len(from_before)} earlier verdict" + ("s" if len(from_before) > 1 else "")
        screenshot(page, "retro-confirm-earlier")
        page.get_by_role("button", name=confirm).click()
        _saved(page, "confirmed for this retro")
        queue = _grid_with(page, "Verdict")
        assert [grid_text(queue, given, row) for row in from_before] == ["this retro"] * len(from_before)
        assert [grid_text(queue, verdict, row) for row in from_before] == held
        for row, chosen, text in DECISIONS:
            choose_in(page, queue, row, verdict, chosen)
            _saved(page, f"{chosen.lower()}")
            type_into(page, queue, row, note, text)
            _saved(page, text)
        for row in BULK_ROWS:
            toggle(page, queue, row, tick)
            settled(page)
        page.locator(".st-key-bulk_verdict [data-testid='stSelectbox']").click()
        page.get_by_role("option", name="Duplicate", exact=True).click()
        page.locator(".st-key-bulk_note input").fill(BULK_NOTE)
        page.get_by_role("button", name="Mark 2 ticked").click()
        _saved(page, "duplicate for 2 signatures")
        alerts = _grid_with(page, "Own verdict")  # up close: the first signature's alerts
        choose_in(page, alerts, 0, grid_column(alerts, "Own verdict"), "Actionable")
        _saved(page, "a verdict on 1 alert")
        screenshot(page, "retro-decided")

        page.reload()
        wait_for_app(page, ready=GRID, timeout_ms=120_000)
        settled(page)
        assert page.get_by_role("textbox", name="Your name, saved with your verdicts").input_value() == "Robin"  # remembered
        queue = _grid_with(page, "Verdict")
        shown = [grid_text(queue, verdict, row) for row in range(7)]
        assert shown == ["noise", "needs-tuning", "actionable", "duplicate", "noise", "duplicate", "duplicate"]
        assert [grid_text(queue, note, row) for row, _, _ in DECISIONS] == [text for _, _, text in DECISIONS]
        assert "7 of" in page.locator("[data-testid='stMetric']").first.inner_text()
        markdown = _report(page, tmp_path)
        screenshot(page, "retro-after-reload")

        _open(page, f"{url}/retro?team=payments&sprint={earlier.start.date().isoformat()}")
        earlier_after = _report(page, tmp_path)

    decisions = markdown[markdown.index("### Verdicts and notes"):markdown.index("### Action items")]
    for row, chosen, text in DECISIONS:
        assert f"| {md_escape(titles[row])} | {chosen} | {md_escape(text)} | Robin |" in decisions, titles[row]
    for row in BULK_ROWS:
        assert f"| {md_escape(titles[row])} | Duplicate | {BULK_NOTE} | Robin |" in decisions
    assert re.search(rf"\| {re.escape(md_escape(titles[0]))} \(one alert, [^)]+\) \| Actionable \| — \| Robin \|",
                     decisions)
    actions = markdown[markdown.index("### Action items"):]
    assert "| Delete it or demote it to a ticket | " + md_escape(titles[0]) + " | no owner yet |" in actions
    assert _body(earlier_after) == _body(earlier_before)  # today's verdicts never reach back
    with store.reading(db) as con:
        given = con.execute("SELECT DISTINCT reviewer, period_start FROM reviews WHERE reviewer = 'Robin'").fetchall()
    assert given == [("Robin", last.start)]


def test_filters_survive_page_changes(live_demo):
    older = _sprints()[-5].start.date().isoformat()
    with streamlit_server(live_demo) as url, chromium_page(1400, 1200) as page:
        _open(page, f"{url}/?team=search&sprint={older}", ready="[data-testid='stMetric']")
        sidebar = page.locator("[data-testid='stSidebar']")
        for title, path in (("Noisy alerts", "noisy"), ("Wake-ups and load", "wakeups"), ("Sprint retro", "retro"),
                            ("Response times", "response"), ("Overview", "")):
            sidebar.get_by_role("link", name=title).click()
            page.wait_for_url(re.compile(rf"/{path}\?"), timeout=60_000)
            settled(page)
            team = sidebar.get_by_role("combobox", name="Team").input_value()
            sprint = sidebar.get_by_role("combobox", name="Sprint").input_value()
            assert team == "search", title
            assert metrics.display.period(_sprints()[-5]) in sprint, title
            assert "team=search" in page.url and f"sprint={older}" in page.url, title
        sidebar.get_by_role("link", name="Fix planner").click()  # no period here; the team stays
        settled(page)
        assert sidebar.get_by_role("combobox", name="Team").input_value() == "search"


def test_the_product_owner_weighs_fixes_and_takes_them_to_the_backlog(live_demo, tmp_path):
    db = str(tmp_path / "po.duckdb")
    shutil.copy(live_demo, db)
    plan = reads.fix_planner(db, team="payments")
    actionable = plan[(plan["verdict"] == "actionable") & (plan["fix_kind"] == "alert")].iloc[0]
    cause = plan[plan["fix_kind"] == "cause"].iloc[0]
    with streamlit_server(db) as url, chromium_page(1400, 1800) as page:
        _open(page, f"{url}/planner?team=payments")
        page.get_by_text("fixes that would save nothing").click()
        settled(page)
        table = _grid_with(page, "Saving / sprint")
        columns = [t for t in table.locator("[role=columnheader]").all_inner_texts()]
        rows = _rows(table, len(columns))
        found = [r for r in rows if r[0] == actionable["title"] and r[columns.index("Fix")] == "Alert fix"]
        assert found and found[0][columns.index("Payback")] == "nothing to save"
        assert float(found[0][columns.index("Saving / sprint")]) == 0  # an actionable alert: nothing to save
        row = next(i for i, r in enumerate(rows) if r[0] == cause["title"] and r[columns.index("Fix")] == "Cause fix")
        type_into(page, table, row, columns.index("Estimate"), "12")
        _saved(page)
        screenshot(page, "planner-estimated")
        page.get_by_text("Prepare the backlog files").click()
        settled(page)
        with page.expect_download(timeout=60_000) as caught:
            page.get_by_role("button", name="Backlog for Jira (CSV)").click()
        target = tmp_path / "jira.csv"
        caught.value.save_as(target)
    issues = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert issues[0] == ["Summary", "Issue Type", "Description", "Original Estimate", "Labels", "Labels", "Labels"]
    fix = next(r for r in issues[1:] if r[0] == f"Cause fix: {cause['title']}")
    assert fix[3] == str(12 * 3600) and fix[4:] == ["alert-hygiene", "cause-fix", "payments"]
    assert "*Estimate:* 12.0 h (not named" in fix[2] and "*On the dashboard:* http://127.0.0.1:" in fix[2]
    with store.reading(db) as con:
        assert con.execute("SELECT hours FROM fix_estimates WHERE signature = ? AND fix_kind = 'cause'",
                           [cause["signature"]]).fetchone() == (12.0,)


def _rows(grid, width: int) -> list[list[str]]:
    cells = grid.locator("[role=gridcell]").all_inner_texts()
    return [cells[i:i + width] for i in range(0, len(cells), width)]


def test_the_manager_sets_a_target_and_sees_it_against_the_figures(live_demo, tmp_path):
    db = str(tmp_path / "manager.duckdb")
    shutil.copy(live_demo, db)
    with streamlit_server(db) as url, chromium_page(1400, 1600) as page:
        _open(page, f"{url}/?team=payments", ready="[data-testid='stMetric']")
        page.get_by_text("Targets of payments").click()
        page.get_by_label("Wake-ups per sprint, at most").fill("20")
        page.get_by_label("Noise ratio, at most (%)").fill("40")
        page.get_by_role("button", name="Save targets").click()
        _saved(page)
        page.reload()
        wait_for_app(page, ready="[data-testid='stMetric']", timeout_ms=120_000)
        settled(page)
        main = page.locator("[data-testid='stMain']").inner_text()
        assert "Target: at most 20" in main and "Target: at most 40%" in main
        screenshot(page, "manager-overview-targets")
        _open(page, f"{url}/wakeups?team=payments", ready="[data-testid='stMetric']")
        assert "Target: at most 20" in page.locator("[data-testid='stMain']").inner_text()
        screenshot(page, "manager-wake-ups")
        _open(page, f"{url}/wakeups", ready="[data-testid='stMetric']")
        screenshot(page, "manager-wake-ups-all-teams")
    with store.reading(db) as con:
        assert con.execute("SELECT figure, value FROM targets WHERE team = 'payments' ORDER BY figure").fetchall() == [
            ("noise_ratio", 0.4), ("wake_ups", 20.0)]


def test_the_html_report_fits_an_a4_page_and_prints(live_demo, tmp_path):
    """At A4's width (210 mm = 794 px at 96 dpi) nothing is wider than the page; it prints to PDF pages."""
    from metrics import report

    long_title = "checkout-api " + "x" * 300  # one unbroken alert title must wrap, not widen the page
    document = report.build(live_demo, _sprints()[-2], "payments", S)
    assert document.noisy, "the payments sprint has noisy alerts to render"
    document.noisy[0]["title"] = long_title
    with chromium_page(794, 1123) as page:
        page.set_content(report.render_html(document))
        assert page.evaluate("document.documentElement.scrollWidth") <= 794
        widest = page.evaluate("Math.max(...Array.from(document.querySelectorAll('table')).map(t => t.scrollWidth))")
        assert widest <= 794 - 2 * 15 / 25.4 * 96 + 1  # inside the 15 mm margins
        pdf = page.pdf(format="A4", print_background=True)
    (tmp_path / "report.pdf").write_bytes(pdf)
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page") >= 1
