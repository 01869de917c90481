"""Every dashboard page under Streamlit's AppTest: demo data, an empty database, writes, URL filters."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
import reads
from streamlit.testing.v1 import AppTest

import metrics
import settings
import store
from tests.apptest import freeze_today, new_app, open_page
from tests.conftest import DEMO_END

PAGES = {
    "views/overview.py": "Overview",
    "views/noisy.py": "Noisy alerts",
    "views/retro.py": "Sprint retro",
    "views/advice.py": "Advisor",
    "views/wakeups.py": "Wake-ups and paging load",
    "views/on_call.py": "On call, against the rota",
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


def _queue(app: AppTest):
    (queue,) = [d for d in app.dataframe if "verdict" in d.value and "tick" in d.value]
    return queue.value.set_index("signature")


def test_the_queue_shows_this_retros_verdicts_and_leaves_earlier_periods_alone(monkeypatch, demo_copy):
    app = open_page(monkeypatch, demo_copy, "views/retro.py", team="search", sprint=LAST_SPRINT)
    assert {m.label: m.value for m in app.metric}["Decided in this retro"].startswith("0 of")
    period = metrics.sprint_period(settings.Settings(), dt.date.fromisoformat(LAST_SPRINT))
    before = metrics.previous(period).start.date().isoformat()
    earlier = open_page(monkeypatch, demo_copy, "views/retro.py", team="search", sprint=before)
    signature = next(s for s in _queue(app).index if s in _queue(earlier).index)  # fired in both sprints
    shown_before = _queue(earlier).loc[signature].to_dict()
    store.retro.save_review(demo_copy, signature, "noise", note="Demote to a ticket", reviewer="Dana",
                            period=(period.start, period.end))
    again = open_page(monkeypatch, demo_copy, "views/retro.py", team="search", sprint=LAST_SPRINT)
    row = _queue(again).loc[signature]
    assert (row["verdict"], row["note"], row["given"]) == ("noise", "Demote to a ticket", "this retro")
    assert {m.label: m.value for m in again.metric}["Decided in this retro"].startswith("1 of")
    # The sprint before: today's verdict, given while looking at the later sprint, does not reach back.
    earlier = open_page(monkeypatch, demo_copy, "views/retro.py", team="search", sprint=before)
    assert _queue(earlier).loc[signature].to_dict() == shown_before


def test_a_fix_estimate_shows_who_entered_it_and_its_payback(monkeypatch, demo_copy):
    plan = reads.fix_planner(demo_copy, day=DEMO_END.date(), team="data")
    worth = plan[(plan["projected_saving_h"] > 0) & plan["estimate_h"].isna()].iloc[0]
    store.retro.save_fix_estimate(demo_copy, worth["signature"], 3.5, note="one afternoon", estimated_by="Kim",
                                  fix_kind=worth["fix_kind"])
    app = open_page(monkeypatch, demo_copy, "views/planner.py", team="data")
    assert not app.exception
    table = app.dataframe[0].value
    row = table[(table["signature"] == worth["signature"]) & (table["fix_kind"] == worth["fix_kind"])].iloc[0]
    assert row["estimate"] == 3.5 and row["note"] == "one afternoon"
    assert row["by"].startswith("Kim, ")
    assert row["payback"] == metrics.display.sprints(3.5 / worth["projected_saving_h"])
    assert table["payback"].iloc[0] != "no estimate yet"  # estimated rows rank first


def test_url_parameters_restore_every_filter(monkeypatch, demo_db):
    app = open_page(monkeypatch, demo_db, "views/noisy.py", team="platform", service="kubernetes",
                    sprint="2026-10-26")
    assert not app.exception
    assert app.selectbox(key="filter_team").value == "platform"
    assert app.selectbox(key="filter_service").value == "kubernetes"
    period = metrics.sprint_period(settings.Settings(), DEMO_END.date().replace(month=10, day=28))
    expected = reads.noisy(demo_db, period, team="platform", service="kubernetes")
    shown = app.dataframe[0].value
    assert shown["signature"].tolist() == expected["signature"].tolist()
    assert set(shown["team"]) == {"platform"}


def test_free_dates_come_from_the_url(monkeypatch, demo_db):
    app = open_page(monkeypatch, demo_db, "views/response.py", team="mobile", **{"from": "2026-10-01", "to": "2026-10-15"})
    assert not app.exception
    assert app.radio(key="filter_mode").value == "Dates"
    period = metrics.between(DEMO_END.date().replace(month=10, day=1), DEMO_END.date().replace(month=10, day=15))
    expected = reads.summary(demo_db, period, team="mobile")
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
    # The delay is shown per delayed page (mean, and the most beneath it) and in total, each as such.
    app.slider(key="hold_down").set_value(2).run()
    period = next(p for p in metrics.sprints_back(settings.Settings(), 12, DEMO_END.date())
                  if p.start.date().isoformat() == LAST_SPRINT)
    replay = reads.hold_down_replay(demo_db, period, hold_down_s=120, signature=signature,
                                      team="payments").iloc[0]
    assert replay["pages_delayed"] > 1 and replay["delay_total_s"] > replay["delay_mean_s"]
    tiles = {m.label: m.value for m in app.metric}
    assert tiles["Delay per delayed page"] == metrics.display.duration(replay["delay_mean_s"])
    assert tiles["Delay in total"] == metrics.display.duration(replay["delay_total_s"])
    assert f"on average; at most {metrics.display.duration(replay['delay_max_s'])}" in [c.value for c in app.caption]


def test_downloads_carry_the_sprint_report(monkeypatch, demo_db):
    app = open_page(monkeypatch, demo_db, "views/retro.py", team="payments", sprint=LAST_SPRINT)
    labels = [b.label for b in app.get("download_button")]
    assert "Sprint data (CSV)" in labels
    app.toggle(key="report_ready").set_value(True).run()
    labels = [b.label for b in app.get("download_button")]
    assert {"Report (Markdown)", "Report (HTML)", "Report (JSON)", "Sprint data (CSV)"} <= set(labels)


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


LOGIN = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "a-long-random-cookie-secret",
         "client_id": "alert-hygiene", "client_secret": "not-a-real-secret",
         "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}


def _save_a_target(app: AppTest) -> AppTest:
    app.number_input(key="target_wake_ups").set_value(15)
    app.form_submit_button[0].click()
    return app.run()


def test_with_login_on_a_save_carries_the_signed_in_user(monkeypatch, demo_copy):
    app = new_app(monkeypatch, demo_copy, team="payments")
    app.secrets["auth"] = LOGIN
    app.user = {"is_logged_in": True, "email": "dana@example.com"}
    app = _save_a_target(app.run())
    assert not app.exception
    assert [t.value for t in app.toast] == ["Targets of payments saved"]  # no "not named" said
    app.switch_page("views/retro.py").run()
    assert "Saving as dana@example.com" in [c.value for c in app.sidebar.caption]
    assert not [t for t in app.text_input if t.key == "reviewer"]  # no name to type when signed in
    assert not app.warning
    with store.reading(demo_copy) as con:
        assert con.execute("SELECT set_by FROM targets WHERE team = 'payments'").fetchall() == [("dana@example.com",)]


def test_without_a_name_the_page_says_so_before_and_when_saving(monkeypatch, demo_copy):
    app = open_page(monkeypatch, demo_copy, "views/retro.py", team="payments")
    assert any("Add your name in the sidebar" in w.value for w in app.warning)
    app = _save_a_target(open_page(monkeypatch, demo_copy, team="payments"))
    assert [t.value for t in app.toast] == ["Targets of payments saved (not named: add your name in the sidebar)"]
    with store.reading(demo_copy) as con:
        assert con.execute("SELECT set_by FROM targets WHERE team = 'payments'").fetchall() == [(None,)]


def test_a_loud_signatures_firings_come_page_by_page_newest_first(monkeypatch, demo_db):
    from views import signature

    monkeypatch.setattr(signature, "TIMELINE_ALERTS", 4)  # pages of 4, so the demo's loudest has several
    app = open_page(monkeypatch, demo_db, "views/retro.py", team="search", sprint=LAST_SPRINT)
    chosen = app.selectbox(key="retro_signature").value
    pages = app.selectbox(key=f"firings_{chosen}")
    count = len(pages.options)
    assert count >= 3 and pages.options[0].startswith("1–4 of ") and pages.options[0].endswith("(newest)")
    period = metrics.sprint_period(settings.Settings(), dt.date.fromisoformat(LAST_SPRINT))
    every = metrics.read(demo_db, ["alert_list"], metrics.Scope(period, "search", None, chosen))["alert_list"]
    newest_first = every.sort_values("created_at", ascending=False)["source_id"].tolist()

    def listed(app) -> list[str]:
        (alerts,) = [d for d in app.dataframe if "own_verdict" in d.value]
        return alerts.value["source_id"].tolist()

    assert listed(app) == newest_first[:4]
    pages.set_value(4).run()  # the second page: firings 5-8
    assert listed(app) == newest_first[4:8]
    app.selectbox(key=f"firings_{chosen}").set_value(4 * (count - 1)).run()  # the oldest, maybe fewer than 4
    assert listed(app) == newest_first[4 * (count - 1):]
    assert app.selectbox(key=f"firings_{chosen}").options[-1].endswith("(oldest)")


def test_paging_load_over_a_long_period_goes_by_week_and_lists_only_the_most_loaded(monkeypatch, tmp_path):
    from metrics_fixtures import T0, alert, build, page

    alerts = [alert(T0 + dt.timedelta(days=d, hours=10 + h), resolve_s=60, signature=f"api|check {h}")
              for d in range(110) for h in range(5 + d % 2)]  # 5 or 6 pages a day: over the ceiling of 4 every day
    db = build(tmp_path / "load.duckdb", alerts=alerts, notifications=[page(a, "ana") for a in alerts])
    dates = {"from": T0.date().isoformat(), "to": (T0 + dt.timedelta(days=110)).date().isoformat()}
    app = open_page(monkeypatch, db, "views/wakeups.py", team="core", **dates)
    assert not app.exception
    assert app.radio(key="load_per").value == "week"  # months of daily dots per person are unreadable
    app.radio(key="load_per").set_value("day").run()
    assert any(w.value.startswith("110 person-days over the ceiling") for w in app.warning)
    (over,) = [d.value for d in app.dataframe if "ceiling" in d.value]
    assert len(over) == 100 and over["interruptions"].is_monotonic_decreasing and over["interruptions"].iloc[0] == 6
    assert any(c.value == "The 100 most loaded, highest first; all 110 are in the CSV." for c in app.caption)
    dates["to"] = (T0 + dt.timedelta(days=14)).date().isoformat()
    assert open_page(monkeypatch, db, "views/wakeups.py", team="core", **dates).radio(key="load_per").value == "day"
