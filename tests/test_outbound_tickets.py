"""Tickets per fix in Jira and GitHub: one per signature however often it runs, status read back."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from metrics_fixtures import T0, alert, build, review
from outcome_servers import RateLimit, serve
from ticket_servers import FakeGitHub, FakeJira, adf_problems, jira_text

import store
from ingest.http import HttpPolicy
from metrics.fix_effect import fix_effects
from outbound import ticket_sync, tickets
from outbound.github import GitHub
from outbound.http import SendError
from outbound.jira import Jira
from settings import Outcome, Settings

S = Settings(outcome=Outcome(dashboard_url="https://hygiene.example.com", jira_project="OPS"))
NOW = T0 + dt.timedelta(days=43)  # the saving window is the three sprints from T0
FAST = HttpPolicy(max_attempts=4, wait_scale=0.01, timeout_s=5)
HOSTILE = "Disk *full* on [db](https://evil.example) <b>#7</b> `x`"
SIGNATURES = ["db|disk # full", "api|5xx on checkout", "queue|lag"]


def day(n: float) -> dt.datetime:
    return T0 + dt.timedelta(days=n)


@pytest.fixture
def db(tmp_path):
    transient = [alert(day(d / 3), resolve_s=60, signature=SIGNATURES[0], title=HOSTILE) for d in range(40)]
    acked = [alert(day(d), ack_s=60, resolve_s=900, signature=SIGNATURES[1], title="5xx on checkout")
             for d in range(0, 40, 4)]
    lag = [alert(day(d), resolve_s=120, signature=SIGNATURES[2], title="Queue lag") for d in (1, 9)]
    path = build(tmp_path / "tickets.duckdb", alerts=transient + acked + lag,
                 reviews=[review(SIGNATURES[0], "noise", day(20)), review(SIGNATURES[2], "needs-tuning", day(20))])
    store.retro.save_fix_estimate(path, SIGNATURES[0], 3)
    return path


def composed(db: str, advice: dict | None = None) -> list[tickets.FixTicket]:
    return tickets.compose(db, S, None, SIGNATURES, NOW, advice)


def test_a_ticket_says_diagnosis_fix_figures_estimate_and_links_back(db):
    first = composed(db, {SIGNATURES[0]: "hold-down\n\n-  for: 0m\n+  for: 5m"})[0]
    assert first.summary.startswith("Alert fix: Disk *full*")
    assert first.diagnosis == ("40 alerts in the last 3 sprints (02 Mar – 12 Apr 2026), 100% of them noise; "
                               "diagnosis: reviewed noise.")
    assert first.fix == "Delete it or demote it to a ticket."
    assert ("Transient", "40") in first.figures and ("Alerts", "40") in first.figures
    assert first.estimate.startswith("3 h, paid back in")
    assert first.link == ("https://hygiene.example.com/noisy?sprint=2026-03-02&signature=db%7Cdisk+%23+full")
    body = tickets.markdown(first)
    assert "```diff\nhold-down\n\n-  for: 0m\n+  for: 5m\n```" in body
    assert "[db](https://evil" not in body and "\\[db\\]\\(https://evil" in body  # alert text stays text
    assert adf_problems(tickets.adf(first)) == []
    assert any(node["type"] == "codeBlock" for node in tickets.adf(first)["content"])


def test_the_chosen_signatures_are_the_retros_fix_decisions_and_those_already_ticketed(db):
    # Both reviewed on day 20; by day 25 neither has been silent a sprint; by NOW (day 43) both have.
    assert tickets.chosen(db, S, None, None, set(), day(25)) == [SIGNATURES[0], SIGNATURES[2]]
    assert tickets.chosen(db, S, None, None, {"old|one"}, day(25)) == [SIGNATURES[0], SIGNATURES[2], "old|one"]
    assert tickets.chosen(db, S, None, None, set(), NOW) == []
    assert tickets.chosen(db, S, None, ["x|y", "x|y"], set(), NOW) == ["x|y"]


def jira(fake: FakeJira, url: str) -> Jira:
    return Jira(url, fake.email, fake.token, "OPS", policy=FAST)


def test_jira_twice_opens_one_ticket_each_and_then_updates_it(db):
    fake = FakeJira()
    with serve(fake) as url:
        first = ticket_sync.sync(db, jira(fake, url), composed(db), NOW)
        second = ticket_sync.sync(db, jira(fake, url), composed(db), NOW)
    assert len(fake.issues) == 3 and first.opened == ["OPS-1", "OPS-2", "OPS-3"]
    assert second.opened == [] and second.updated == ["OPS-1", "OPS-2", "OPS-3"]
    assert sum(1 for method, path in fake.requests if method == "POST") == 3
    assert sum(1 for method, path in fake.requests if method == "PUT") == 3
    issue = fake.issues["OPS-1"]["fields"]
    assert issue["labels"] == ["alert-hygiene", tickets.signature_label(SIGNATURES[0])]
    words = jira_text(issue["description"])
    assert "Suggested fix" in words and "Estimate" in words and SIGNATURES[0] in words
    stored = store.outbound.tickets(db, "jira")
    assert [(t["signature"], t["ticket_key"], t["status"], t["done"]) for t in stored] == [
        (SIGNATURES[1], "OPS-2", "To Do", False), (SIGNATURES[0], "OPS-1", "To Do", False),
        (SIGNATURES[2], "OPS-3", "To Do", False)]


def test_a_jira_ticket_moved_to_done_is_read_back_and_becomes_a_fix(db):
    fake = FakeJira()
    with serve(fake) as url:
        ticket_sync.sync(db, jira(fake, url), composed(db), NOW)
        fake.resolve("OPS-3", "2026-03-20T09:00:00.000+0000")
        again = ticket_sync.sync(db, jira(fake, url), composed(db), NOW)
    assert again.left == ["OPS-3"]  # a closed ticket's text belongs to its people now
    row = next(t for t in store.outbound.tickets(db, "jira") if t["ticket_key"] == "OPS-3")
    assert (row["status"], row["done"]) == ("Done", True)
    assert row["closed_at"] == dt.datetime(2026, 3, 20, 9, tzinfo=dt.UTC)
    fixes = fix_effects(db, as_of=NOW, settings=S)
    assert ("ticket", "OPS-3") in set(zip(fixes["fixed_by"], fixes["detail"], strict=True))


def test_an_answer_lost_after_jira_made_the_ticket_does_not_make_a_second(db):
    fake = FakeJira(faults=[500])
    with serve(fake) as url:
        result = ticket_sync.sync(db, jira(fake, url), composed(db)[:1], NOW)
    assert fake.created_during_fault and len(fake.issues) == 1 and result.opened == ["OPS-1"]


def test_jira_refusals_are_one_line_with_jiras_reason_and_no_token(db):
    fake = FakeJira()
    with serve(fake) as url:
        wrong_project = Jira(url, fake.email, fake.token, "NOPE", policy=FAST)
        with pytest.raises(SendError) as refused:
            ticket_sync.sync(db, wrong_project, composed(db)[:1], NOW)
        with pytest.raises(SendError) as unauthenticated:
            ticket_sync.sync(db, Jira(url, fake.email, "wrongTOKEN-000", "OPS", policy=FAST), composed(db), NOW)
    assert "HTTP 400" in str(refused.value)
    assert "HTTP 401: You are not authenticated" in str(unauthenticated.value)
    assert "wrongTOKEN-000" not in str(unauthenticated.value) and fake.token not in str(refused.value)


def github(fake: FakeGitHub, url: str) -> GitHub:
    return GitHub(url, fake.repository, fake.token, policy=FAST)


def test_github_twice_opens_one_issue_each_skipping_pull_requests_and_paging(db):
    fake = FakeGitHub(per_page_max=2)
    with serve(fake) as url:
        first = ticket_sync.sync(db, github(fake, url), composed(db), NOW)
        second = ticket_sync.sync(db, github(fake, url), composed(db), NOW)
    assert first.opened == ["#2", "#3", "#4"] and second.opened == [] and second.updated == ["#2", "#3", "#4"]
    assert len(fake.issues) == 4  # the pull request and three issues
    assert fake.issues[2]["title"] == f"Alert fix: {HOSTILE} (core)"  # a title is plain text on GitHub
    body = fake.issues[2]["body"]
    assert "## Diagnosis" in body and "## Estimate" in body and "hygiene.example.com/noisy" in body


def test_github_closed_as_completed_is_done_and_not_planned_is_not(db):
    fake = FakeGitHub()
    with serve(fake) as url:
        ticket_sync.sync(db, github(fake, url), composed(db), NOW)
        fake.close_issue(2, "completed", "2026-03-25T08:00:00Z")
        fake.close_issue(3, "not_planned")
        fake.primary_limited = 1  # the next request meets the primary rate limit, then waits for its reset
        result = ticket_sync.sync(db, github(fake, url), composed(db), NOW)
    assert sorted(result.left) == ["#2", "#3"] and result.updated == ["#4"]
    stored = {t["ticket_key"]: t for t in store.outbound.tickets(db, "github")}
    assert (stored["#2"]["status"], stored["#2"]["done"]) == ("closed (completed)", True)
    assert stored["#2"]["closed_at"] == dt.datetime(2026, 3, 25, 8, tzinfo=dt.UTC)
    assert (stored["#3"]["status"], stored["#3"]["done"]) == ("closed (not planned)", False)
    assert stored["#4"]["url"] == "https://github.com/acme/ops/issues/4"


def test_the_advisors_change_goes_into_the_ticket(db):
    patches = tickets.advisor_patches(db, S, None, NOW)
    assert SIGNATURES[0] in patches
    assert "hold" in patches[SIGNATURES[0]].lower()
    json.dumps(patches)  # plain text, storable and renderable


def test_jiras_rate_limit_is_waited_out_as_retry_after_asks(db):
    fake = FakeJira(rate=RateLimit(burst=3))  # three requests a second, then 429 with Retry-After: 1
    with serve(fake) as url:
        result = ticket_sync.sync(db, Jira(url, fake.email, fake.token, "OPS", policy=HttpPolicy(timeout_s=5)),
                                  composed(db), NOW)
    assert result.opened == ["OPS-1", "OPS-2", "OPS-3"] and len(fake.issues) == 3
    assert fake.rate.refused >= 1


def test_a_patch_too_long_for_a_jira_description_is_cut_and_the_ticket_opens(db):
    fake = FakeJira()
    huge = "\n".join(f"+  - alert: rule_{n}\n+    for: 5m" for n in range(3000))  # about 80,000 characters
    with serve(fake) as url:
        result = ticket_sync.sync(db, jira(fake, url), composed(db, {SIGNATURES[0]: huge})[:1], NOW)
    assert result.opened == ["OPS-1"]
    assert "(cut: the whole patch is in python -m metrics advise)" in jira_text(fake.issues["OPS-1"]["fields"]["description"])
