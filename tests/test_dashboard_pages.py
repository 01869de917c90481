"""Every dashboard page under Streamlit's AppTest: demo data, an empty database, writes, URL filters."""

from __future__ import annotations

import shutil

import pytest
from streamlit.testing.v1 import AppTest

import metrics
import settings
import store
from tests.apptest import freeze_today, open_page
from tests.conftest import DEMO_END

PAGES = {
    "views/overview.py": "Overview",
    "views/noisy.py": "Noisy alerts",
    "views/retro.py": "Sprint retro",
    "views/advice.py": "Advisor",
    "views/wakeups.py": "Wake-ups and paging load",
    "views/response.py": "Response times",
    "views/planner.py": "Fix planner",
    "views/data_sources.py": "Data",
}
LAST_SPRINT = "2026-11-09"  # the last finished sprint on DEMO_END with the default anchor


@pytest.fixture
def demo_copy(tmp_path, demo_db) -> str:
    """A private copy of the demo database, for tests that write."""
    path = tmp_path / "demo.duckdb"
    shutil.copy(demo_db, path)
    return str(path)


@pytest.fixture(autouse=True)
def frozen_today(monkeypatch):
    freeze_today(monkeypatch)


def q(db: str, sql: str, params=None):
    with store.reading(db) as con:
        return con.execute(sql, params or []).fetchall()


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_on_demo_data(monkeypatch, demo_db, page):
    app = open_page(monkeypatch, demo_db, page)
    assert not app.exception, app.exception[0].value if app.exception else None
    assert app.title[0].value == PAGES[page]
    assert not app.error
    if page != "views/data_sources.py":
        assert app.get("plotly_chart"), "a chart where people would rather look than read"


@pytest.mark.parametrize("page", PAGES)
def test_every_page_has_a_helpful_empty_state(monkeypatch, empty_db, page):
    app = open_page(monkeypatch, empty_db, page)
    assert not app.exception
    texts = " ".join(e.value for e in [*app.info, *app.success])
    assert "No alerts in this database yet" in texts or "Nothing loaded yet" in texts


def test_a_review_is_written_read_back_and_changed(monkeypatch, demo_copy):
    app = open_page(monkeypatch, demo_copy, "views/retro.py", team="search")
    signature = app.selectbox(key="review_signature").value
    before = len(q(demo_copy, "SELECT * FROM reviews"))
    app.sidebar.text_input(key="reviewer").input("Dana")
    app.radio(key="review_verdict").set_value("noise")
    app.text_input(key="review_note").input("Demote to a ticket")
    _submit(app, "review")
    assert not app.exception
    assert len(q(demo_copy, "SELECT * FROM reviews")) == before + 1
    rows = q(demo_copy, "SELECT verdict, note, reviewer FROM reviews WHERE signature = ? ORDER BY reviewed_at",
             [signature])
    assert rows[-1] == ("noise", "Demote to a ticket", "Dana")
    assert any("Saved: noise" in s.value for s in app.success)

    # Read back after a reload: the queue shows the verdict in force.
    again = open_page(monkeypatch, demo_copy, "views/retro.py", team="search")
    queue = again.dataframe[0].value
    assert queue.loc[queue["signature"] == signature, "verdict"].item() == "noise"

    # Changed: a later verdict replaces it, the history keeps both.
    again.selectbox(key="review_signature").set_value(signature)
    again.radio(key="review_verdict").set_value("needs-tuning")
    _submit(again, "review")
    verdicts = [r[0] for r in q(demo_copy, "SELECT verdict FROM reviews WHERE signature = ? ORDER BY reviewed_at",
                                [signature])]
    assert verdicts[-2:] == ["noise", "needs-tuning"]
    third = open_page(monkeypatch, demo_copy, "views/retro.py", team="search")
    queue = third.dataframe[0].value
    assert queue.loc[queue["signature"] == signature, "verdict"].item() == "needs-tuning"


def _submit(app: AppTest, form: str) -> None:
    """Click the submit button of `form`."""
    (button,) = [b for b in app.get("button") if b.proto.form_id == form]
    button.click().run()


def test_a_fix_estimate_is_saved_and_ranks_the_signature(monkeypatch, demo_copy):
    app = open_page(monkeypatch, demo_copy, "views/planner.py", team="data")
    signature = app.selectbox(key="estimate_signature").value
    app.number_input(key="estimate_hours").set_value(3.5)
    _submit(app, "estimate")
    assert not app.exception
    assert q(demo_copy, "SELECT hours FROM fix_estimates WHERE signature = ?", [signature]) == [(3.5,)]
    table = app.dataframe[0].value
    assert table.loc[table["signature"] == signature, "estimate_h"].item() == 3.5
    assert table["payback_sprints"].notna().iloc[0]  # estimated rows rank first


def test_url_parameters_restore_every_filter(monkeypatch, demo_db):
    app = open_page(monkeypatch, demo_db, "views/noisy.py", team="platform", service="kubernetes",
                    sprint="2026-10-26")
    assert not app.exception
    assert app.selectbox(key="filter_team").value == "platform"
    assert app.selectbox(key="filter_service").value == "kubernetes"
    period = metrics.sprint_period(settings.Settings(), DEMO_END.date().replace(month=10, day=28))
    expected = metrics.noisy(demo_db, period, team="platform", service="kubernetes")
    shown = app.dataframe[0].value
    assert shown["signature"].tolist() == expected["signature"].tolist()
    assert set(shown["team"]) == {"platform"}


def test_free_dates_come_from_the_url(monkeypatch, demo_db):
    app = open_page(monkeypatch, demo_db, "views/response.py", team="mobile", **{"from": "2026-10-01", "to": "2026-10-15"})
    assert not app.exception
    assert app.radio(key="filter_mode").value == "Dates"
    period = metrics.between(DEMO_END.date().replace(month=10, day=1), DEMO_END.date().replace(month=10, day=15))
    expected = metrics.summary(demo_db, period, team="mobile")
    from views import format

    tiles = {m.label: m.value for m in app.metric}
    assert tiles["MTTA median"] == format.duration(expected["tta_median_s"])


def test_the_hold_down_slider_replays_the_signature(monkeypatch, demo_db):
    app = open_page(monkeypatch, demo_db, "views/noisy.py", team="payments", sprint=LAST_SPRINT)
    signature = app.selectbox(key="filter_signature").value
    assert app.query_params["signature"] in (signature, [signature])
    app.slider(key="hold_down").set_value(0).run()
    avoided_none = {m.label: m.value for m in app.metric}["Pages avoided"]
    app.slider(key="hold_down").set_value(60).run()
    avoided_many = {m.label: m.value for m in app.metric}["Pages avoided"]
    assert avoided_none.startswith("0 of")
    assert int(avoided_many.split(" of ")[0]) > 0


def test_downloads_carry_the_sprint_report(monkeypatch, demo_db):
    app = open_page(monkeypatch, demo_db, "views/retro.py", team="payments", sprint=LAST_SPRINT)
    labels = [b.label for b in app.get("download_button")]
    assert {"Sprint report (Markdown)", "Sprint report (HTML)", "Sprint data (CSV)"} <= set(labels)


def test_a_writer_holding_the_database_never_shows_the_reader_an_error(monkeypatch, demo_copy):
    """While a sync holds the write lock, pages serve their last figures with their age."""
    import subprocess
    import sys
    import textwrap

    monkeypatch.setenv("ALERTHYGIENE_LOCK_TIMEOUT", "0.5")
    first = open_page(monkeypatch, demo_copy, "views/overview.py", team="payments")
    before = {m.label: m.value for m in first.metric}
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import time, duckdb
            con = duckdb.connect({demo_copy!r})
            con.execute("CREATE TABLE IF NOT EXISTS _busy AS SELECT 1 AS x")
            con.execute("CHECKPOINT")
            print("locked", flush=True)
            time.sleep(60)
        """)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        first.run()  # the file changed, so the cache misses and the reads meet the lock
        assert not first.exception and not first.error
        shown = " ".join(e.value for e in [*first.warning, *first.info, *first.markdown]).lower()
        assert "lock" not in shown and "busy" not in shown
        assert {m.label: m.value for m in first.metric} == before
        assert any("a sync is writing to the database" in c.value for c in first.caption)
    finally:
        holder.kill()
        holder.wait()
