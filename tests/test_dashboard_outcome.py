"""The outcome on the pages: did each fix work (retro, planner), tickets in the planner, a fix marked done."""

from __future__ import annotations

import datetime as dt
import re
import shutil

import pytest

import store
from tests.apptest import freeze_today, open_page

RETRO, PLANNER = "views/retro.py", "views/planner.py"


@pytest.fixture
def demo(demo_db, tmp_path, monkeypatch):
    copy = str(tmp_path / "demo.duckdb")
    shutil.copy(demo_db, copy)
    freeze_today(monkeypatch)
    return copy


def table(app, column: str):
    """The page's dataframe that has `column`."""
    return next(frame.value for frame in app.dataframe if column in frame.value.columns)


def test_the_planner_shows_whether_each_fix_worked_and_its_ticket(monkeypatch, demo):
    for name in ("JIRA_URL", "JIRA_EMAIL", "JIRA_API_TOKEN", "GITHUB_TOKEN", "GITHUB_REPOSITORY"):
        monkeypatch.delenv(name, raising=False)
    app = open_page(monkeypatch, demo, PLANNER)
    assert not app.exception
    plan = table(app, "worked").drop_duplicates("signature").set_index("signature")
    hold_down = plan.loc["ledger|disk #% full on db-#"]
    assert hold_down["worked"] == "no change"  # a hold-down marked done, still firing as before
    assert re.fullmatch(r"×0\.\d\d \(0\.\d\d–1\.\d\d\)", hold_down["effect"])
    assert "OPS-142 · In Progress" in set(plan["ticket"].dropna())
    assert "None" not in set(plan["worked"].dropna()) | set(plan["effect"].dropna()) | set(plan["ticket"].dropna())
    # Mark a fix done: it is stored, with who did it, and becomes the signature's latest fix, too early to tell.
    app.text_input(key="reviewer").input("Robin").run()
    app.selectbox(key="done_signature").set_value("ledger|disk #% full on db-#")
    app.radio(key="done_kind").set_value("cause")
    app.text_input(key="done_note").input("Replaced the flaky probe")
    app.button(key="FormSubmitter:fix_done-Mark done").click().run()
    assert not app.exception
    assert any("Marked done: the cause fix" in m.value for m in app.success)
    with store.reading(demo) as con:
        assert con.execute("SELECT fix_kind, note, done_by FROM fixes_done WHERE signature = "
                           "'ledger|disk #% full on db-#' ORDER BY done_at").fetchall() == [
            ("alert", "for: 10m added to the rule", "payments team"), ("cause", "Replaced the flaky probe", "Robin")]
    latest = table(app, "worked").drop_duplicates("signature").set_index("signature").loc[
        "ledger|disk #% full on db-#", "worked"]
    assert latest == "too early to tell"
    # Opening tickets without their credentials says what is missing instead of failing.
    app.multiselect(key="ticket_signatures").set_value(["ledger|disk #% full on db-#"])
    app.button(key="FormSubmitter:tickets-Open or update tickets").click().run()
    assert any("GITHUB_TOKEN, GITHUB_REPOSITORY not set" in e.value or "JIRA_URL" in e.value for e in app.error)


def test_the_retro_shows_the_fixes_being_judged_in_its_sprint(monkeypatch, demo):
    now = dt.datetime.now(dt.UTC)
    store.outbound.save_tickets(demo, [{
        "system": "jira", "signature": "ledger|disk #% full on db-#", "ticket_key": "OPS-9", "url": None,
        "status": "To Do", "done": False, "closed_at": None, "opened_at": now, "synced_at": now}])
    app = open_page(monkeypatch, demo, RETRO)
    assert not app.exception
    assert "Did the fix work" in [h.value for h in app.subheader]
    fixes = table(app, "effect_shown")
    assert {"no change", "too early to tell"} <= set(fixes["verdict"])
    row = fixes[fixes["how"] == "ticket #87 closed"].iloc[0]
    assert row["verdict"] == "too early to tell" and row["effect_shown"] == "–"
    assert row["ticket"] == "#87 · closed (completed)"
    firing = table(app, "alerts_since").set_index("signature")
    assert firing.loc["ledger|disk #% full on db-#", "ticket"] == "OPS-9 · To Do"  # still firing, a ticket open
