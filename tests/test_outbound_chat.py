"""Digests to Slack, Teams and a plain webhook, against servers that behave as the vendors document."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import requests
from outcome_servers import (
    FakePlainWebhook,
    FakeSlack,
    FakeTeamsWorkflow,
    RateLimit,
    adaptive_card_problems,
    serve,
)

import store
from ingest.http import HttpPolicy
from metrics.period import Period
from outbound import post as posting
from outbound import slack, teams
from outbound.digest import Digest, Figure, Item, dashboard_link
from outbound.http import Sender, SendError

P = Period(dt.datetime(2026, 11, 9, tzinfo=dt.UTC), dt.datetime(2026, 11, 23, tzinfo=dt.UTC))
FAST = HttpPolicy(max_attempts=4, wait_scale=0.01, timeout_s=5)
HOSTILE = "<!channel> *bold* _it_ ~x~ `code` <https://evil.example|click> & more"


def digest(team: str | None = "payments", items: int = 3, title: str = "disk full on db-#") -> Digest:
    base = "https://hygiene.example.com"
    figures = [
        Figure("alerts", "Alerts", "312", "−12 %", None, None),
        Figure("wake_ups", "Wake-ups", "9", "+2", "≤ 6", False),
        Figure("noise_ratio", "Noise ratio", "41 %", "−5 pt", "≤ 50 %", True),
    ]
    noisy = [Item(f"db|{title} {i}", f"{title} {i}", "41 alerts · 80 % noise · mostly transient: add a hold-down",
                  dashboard_link(base, "noisy", team, P, signature=f"db|{title} {i}")) for i in range(items)]
    return Digest(
        title=f"Alert hygiene: {team or 'all teams'}",
        period=P, team=team, in_progress=False, figures=figures,
        decisions=[Item(f"db|{title} {i}", f"{title} {i}", f"noise: {HOSTILE}") for i in range(items)],
        noisy=noisy,
        still_firing=[Item("api|5xx", "5xx on checkout", "reviewed noise 3 sprints ago, 12 alerts since")],
        fixes=[Item("api|slow", "slow checkout", "×0.20 (95 %: 0.05–0.61), reviewed noise on 12 Oct", None,
                    "too early to tell")],
        links={"Sprint retro": dashboard_link(base, "retro", team, P)},
        footer="Generated from the alert hygiene dashboard.",
    )


def text_objects(node) -> list[dict]:
    """Every text object of a Block Kit message."""
    if isinstance(node, list):
        return [t for child in node for t in text_objects(child)]
    if not isinstance(node, dict):
        return []
    own = [node] if node.get("type") in ("mrkdwn", "plain_text") else []
    return own + [t for value in node.values() for t in text_objects(value)]


@pytest.fixture
def db(tmp_path):
    path = str(tmp_path / "posts.duckdb")
    with store.writing(path):
        pass
    return path


def test_the_slack_digest_posts_once_per_sprint_unless_again(monkeypatch, db):
    fake = FakeSlack()
    with serve(fake) as base:
        monkeypatch.setenv("SLACK_WEBHOOK_URL", base + fake.token_path)
        first = posting.post(db, digest(), "slack", policy=FAST)
        second = posting.post(db, digest(), "slack", policy=FAST)
        other_team = posting.post(db, digest("search"), "slack", policy=FAST)
        again = posting.post(db, digest(), "slack", again=True, policy=FAST)
    assert (first.posted, second.posted, other_team.posted, again.posted) == (True, False, True, True)
    assert "already" in second.message and "--again" in second.message
    assert len(fake.messages) == 3
    with store.reading(db) as con:
        rows = con.execute("SELECT team, posts FROM chat_posts ORDER BY team").fetchall()
    assert rows == [("payments", 2), ("search", 1)]


def test_the_slack_message_is_block_kit_with_figures_targets_lists_and_links(monkeypatch, db):
    fake = FakeSlack()
    with serve(fake) as base:
        monkeypatch.setenv("SLACK_WEBHOOK_URL", base + fake.token_path)
        posting.post(db, digest(), "slack", policy=FAST)
    message = fake.messages[0]
    text = json.dumps(message, ensure_ascii=False)
    assert message["blocks"][0]["type"] == "header"
    assert "Wake-ups" in text and "target ≤ 6 ❌" in text and "target ≤ 50 % ✅" in text
    for heading in ("Decisions of the retro", "Noisiest alerts", "Reviewed alerts still firing", "Did the fix work"):
        assert heading in text
    assert "https://hygiene.example.com/noisy?team=payments&sprint=2026-11-09&signature=db%7C" in text
    assert "⏳" in text  # the fix's verdict
    # Alert text goes only into plain_text, which Slack never reads as mentions, links or formatting.
    marked_up = " ".join(t["text"] for t in text_objects(message) if t["type"] == "mrkdwn")
    plain = " ".join(t["text"] for t in text_objects(message) if t["type"] == "plain_text")
    assert "<!channel>" not in marked_up and "evil" not in marked_up and "*bold*" not in marked_up
    assert HOSTILE in plain
    assert not any(b["type"] == "actions" and b["block_id"].startswith("review") for b in message["blocks"])


def test_verdict_buttons_appear_only_with_a_signing_secret(monkeypatch, db):
    fake = FakeSlack()
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "slackSIGN-0f1e2d3c")
    with serve(fake) as base:
        monkeypatch.setenv("SLACK_WEBHOOK_URL", base + fake.token_path)
        posting.post(db, digest(items=5), "slack", policy=FAST)
    rows = [b for b in fake.messages[0]["blocks"] if b.get("block_id", "").startswith("review")]
    assert len(rows) == 5
    buttons = rows[0]["elements"]
    assert [b["action_id"] for b in buttons] == [f"verdict:0:{v}" for v in ("actionable", "noise", "needs-tuning",
                                                                            "duplicate")]
    assert json.loads(buttons[1]["value"]) == {"signature": "db|disk full on db-# 0", "from": P.start.isoformat(),
                                                "to": P.end.isoformat()}


def test_slack_refuses_a_message_over_its_limits_as_slack_does():
    fake = FakeSlack(rate=RateLimit(burst=100))
    too_many = {"blocks": [{"type": "divider"}] * 51}
    too_long = {"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]}
    header = {"blocks": [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}]}
    with serve(fake) as base:
        url = base + fake.token_path
        answers = [requests.post(url, json=body, timeout=5) for body in (too_many, too_long, header, {})]
        answers.append(requests.post(url, data=b"not json", timeout=5))
        answers.append(requests.post(base + "/services/T/B/wrong", json={"text": "x"}, timeout=5))
    assert [(a.status_code, a.text) for a in answers] == [
        (400, "invalid_blocks"), (400, "invalid_blocks"), (400, "invalid_blocks"), (400, "no_text"),
        (400, "invalid_payload"), (404, "no_service")]
    assert fake.messages == []


def test_a_huge_hostile_digest_is_cut_to_fit_and_slack_takes_it(monkeypatch, db):
    fake = FakeSlack()
    big = digest(team="t" * 5000, items=10, title=HOSTILE * 40)
    big.decisions = big.decisions * 30
    big.still_firing = big.still_firing * 300
    message = slack.message(big, buttons=True)
    assert len(message["blocks"]) <= 50
    with serve(fake) as base:
        assert requests.post(base + fake.token_path, json=message, timeout=5).text == "ok"
    assert "more in the dashboard" in json.dumps(message)


def test_rate_limits_and_server_errors_are_waited_out(monkeypatch, db):
    fake = FakeSlack(faults=[500, 429])
    fake.rate.burst = 1
    with serve(fake) as base:
        monkeypatch.setenv("SLACK_WEBHOOK_URL", base + fake.token_path)
        for team in ("a", "b", "c"):
            assert posting.post(db, digest(team), "slack", policy=HttpPolicy(max_attempts=5, timeout_s=5)).posted
    assert len(fake.messages) == 3
    assert (500, "rollup_error") in fake.refused and (429, "rate_limited") in fake.refused
    assert fake.rate.refused >= 1  # one a second: the later posts waited for Retry-After


def test_a_refused_post_says_why_in_one_line_without_the_url(monkeypatch, db):
    fake = FakeSlack(archived=True)
    with serve(fake) as base:
        url = base + fake.token_path
        monkeypatch.setenv("SLACK_WEBHOOK_URL", url)
        with pytest.raises(SendError) as caught:
            posting.post(db, digest(), "slack", policy=FAST)
    message = str(caught.value)
    assert "HTTP 410: channel_is_archived" in message and "\n" not in message
    assert url not in message and "XXXXsecretXXXX" not in message
    assert store.outbound.last_post(db, "slack", "payments", P.start, P.end) is None  # not recorded


def test_a_missing_url_is_a_clear_error(monkeypatch, db):
    monkeypatch.delenv("TEAMS_WEBHOOK_URL", raising=False)
    with pytest.raises(posting.NotConfigured, match="TEAMS_WEBHOOK_URL is not set"):
        posting.post(db, digest(), "teams")


def test_the_teams_workflow_posts_the_adaptive_card(monkeypatch, db):
    fake = FakeTeamsWorkflow()
    with serve(fake) as base:
        monkeypatch.setenv("TEAMS_WEBHOOK_URL", f"{base}{fake.path}?api-version=1&sig={fake.sig}")
        assert posting.post(db, digest(), "teams", policy=FAST).posted
    assert fake.failed_runs == [] and len(fake.posted) == 1
    card = fake.posted[0]
    text = json.dumps(card, ensure_ascii=False)
    assert card["version"] == "1.4"
    assert {"title": "Wake-ups", "value": "9 (+2) · target ≤ 6 ✘"} in card["body"][2]["facts"]
    assert HOSTILE in text  # in TextRuns, which Teams shows as text
    assert card["actions"][0]["url"] == "https://hygiene.example.com/retro?team=payments&sprint=2026-11-09"


def test_a_huge_digest_fits_teams_28_kb_and_an_oversize_card_fails_its_run(monkeypatch, db):
    fake = FakeTeamsWorkflow()
    big = digest(items=10, title=HOSTILE * 20)
    big.still_firing = big.still_firing * 400
    body = teams.message(big)
    assert teams.size(body) <= 28 * 1024 and "left out" in json.dumps(body)
    assert adaptive_card_problems(body["attachments"][0]["content"]) == []
    oversize = {"type": "message", "attachments": [{"contentType": teams.CARD_TYPE, "content": teams.card(big)}]}
    with serve(fake) as base:
        url = f"{base}{fake.path}?sig={fake.sig}"
        assert requests.post(url, json=body, timeout=5).status_code == 202
        assert requests.post(url, json=oversize, timeout=5).status_code == 202  # accepted, then the run fails
        wrong = requests.post(f"{base}{fake.path}?sig=nope", json=body, timeout=5)
    assert len(fake.posted) == 1 and "over Teams' 28 KB" in fake.failed_runs[0]
    assert wrong.status_code == 401


def test_a_wrong_teams_signature_is_refused_without_naming_it(monkeypatch, db):
    fake = FakeTeamsWorkflow()
    with serve(fake) as base:
        monkeypatch.setenv("TEAMS_WEBHOOK_URL", f"{base}{fake.path}?sig=stale-sig-value")
        with pytest.raises(SendError) as caught:
            posting.post(db, digest(), "teams", policy=FAST)
    assert "HTTP 401: The request must be authenticated." in str(caught.value)
    assert "stale-sig-value" not in str(caught.value)


def test_the_plain_webhook_gets_the_digest_as_json_after_a_retry(monkeypatch, db):
    fake = FakePlainWebhook(faults=[503])
    with serve(fake) as base:
        monkeypatch.setenv("DIGEST_WEBHOOK_URL", base + "/hooks/digest")
        assert posting.post(db, digest(), "webhook", policy=FAST).posted
    body = fake.received[0]
    assert (body["kind"], body["version"], body["team"]) == ("alert-hygiene.digest", 1, "payments")
    assert body["period"] == {"from": "2026-11-09T00:00:00+00:00", "to": "2026-11-23T00:00:00+00:00"}
    assert body["figures"][1] == {"name": "wake_ups", "label": "Wake-ups", "value": "9", "change": "+2",
                                  "target": "≤ 6", "met": False, "definition": ""}
    assert body["fixes"][0]["verdict"] == "too early to tell"


def test_a_request_that_may_have_taken_effect_is_not_sent_twice():
    fake = FakePlainWebhook(faults=[502])
    with serve(fake) as base:
        sender = Sender("tickets", base, policy=FAST)
        with pytest.raises(SendError, match="HTTP 502"):
            sender.send("POST", "/issues", json={"title": "x"}, retry_ambiguous=False)
    assert sender.requests == 1 and fake.received == []


def test_the_teams_workflow_throttles_and_the_post_waits(monkeypatch, db):
    fake = FakeTeamsWorkflow(rate=RateLimit(burst=1))
    with serve(fake) as base:
        monkeypatch.setenv("TEAMS_WEBHOOK_URL", f"{base}{fake.path}?sig={fake.sig}")
        for team in ("a", "b"):
            assert posting.post(db, digest(team), "teams", policy=HttpPolicy(max_attempts=4, timeout_s=5)).posted
    assert len(fake.posted) == 2 and 429 in fake.refused
