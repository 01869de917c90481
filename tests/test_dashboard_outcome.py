"""The outcome on the pages: did each fix work (retro, planner), tickets in the planner, a fix marked done."""

from __future__ import annotations

import datetime as dt
import shutil
import warnings

import pytest
from outcome_servers import serve
from ticket_servers import FakeGitHub

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
    assert "None" not in set(plan["worked"].dropna())
    # The tickets as last read back, below the table.
    tickets = table(app, "status").set_index("ticket")
    assert tickets.loc["OPS-142", "status"] == "In Progress" and tickets.loc["OPS-142", "system"] == "Jira"
    assert tickets.loc["#87", "status"] == "closed (completed)"
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
    row = fixes[fixes["how"].str.startswith("ticket #87 closed, ")].iloc[0]
    assert row["verdict"] == "too early to tell" and row["effect_shown"] == "–"
    assert row["ticket"] == "#87 · closed (completed)"
    firing = table(app, "alerts_since").set_index("signature")
    assert firing.loc["ledger|disk #% full on db-#", "ticket"] == "OPS-9 · To Do"  # still firing, a ticket open


def test_without_any_ticket_the_still_firing_list_says_so_without_a_warning(monkeypatch, demo):
    with store.writing(demo) as con:
        con.execute("DELETE FROM tickets")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pandas warned of a text fill in a column of numbers (no ticket at all)
        app = open_page(monkeypatch, demo, RETRO)
    assert not app.exception, app.exception[0].value if app.exception else None
    firing = table(app, "alerts_since")
    assert len(firing) and set(firing["ticket"]) == {"—"}


def test_tickets_opened_from_the_planner_twice_are_one_each_and_listed_with_their_link(monkeypatch, demo):
    fake = FakeGitHub()
    chosen = "ledger|disk #% full on db-#"
    with serve(fake) as base:
        monkeypatch.setenv("GITHUB_API_URL", base)
        monkeypatch.setenv("GITHUB_TOKEN", fake.token)
        monkeypatch.setenv("GITHUB_REPOSITORY", fake.repository)
        app = open_page(monkeypatch, demo, PLANNER)
        for summary in ("github issues: opened 1, updated 0", "github issues: opened 0, updated 1"):
            app.multiselect(key="ticket_signatures").set_value([chosen])
            app.radio(key="ticket_system").set_value("github")
            app.button(key="FormSubmitter:tickets-Open or update tickets").click().run()
            assert not app.exception and not app.error
            assert any(m.value.lower().startswith(summary) for m in app.success), [m.value for m in app.success]
    [issue] = [i for i in fake.issues.values() if "pull_request" not in i]
    assert issue["state"] == "open" and fake.token not in issue["body"]
    listed = table(app, "status").set_index("ticket")
    key = f"#{issue['number']}"
    assert listed.loc[key, "status"] == "open" and listed.loc[key, "url"] == (
        f"https://github.com/{fake.repository}/issues/{issue['number']}")
