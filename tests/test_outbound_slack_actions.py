"""The digest's verdict buttons: a request Slack signed is recorded as a review; a forged one is refused.

The receiver runs for real (`python -m ingest webhook` on 127.0.0.1) with SLACK_SIGNING_SECRET set;
requests are signed the way Slack's "Verifying requests from Slack" describes, and the answer
goes to a response_url served by the fake Slack.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from urllib.parse import urlencode

import pytest
import requests
from outcome_servers import FakeSlack, serve

import store
from outbound import slack_actions
from tests.am_servers import start_receiver, wait_until

SECRET = "slackSIGN-8c7b6a59"
START, END = dt.datetime(2026, 11, 9, tzinfo=dt.UTC), dt.datetime(2026, 11, 23, tzinfo=dt.UTC)


def press(verdict: str, response_url: str, signature: str = "db|disk # full") -> bytes:
    """A block_actions body as Slack sends it: a form with one field, payload."""
    value = json.dumps({"signature": signature, "from": START.isoformat(), "to": END.isoformat()})
    payload = {
        "type": "block_actions", "user": {"id": "U024BE7LH", "username": "ana", "team_id": "T0000TEST"},
        "api_app_id": "A0000TEST", "trigger_id": "1.2.3", "response_url": response_url,
        "actions": [{"type": "button", "action_id": f"verdict:0:{verdict}", "block_id": "review-0",
                     "value": value, "action_ts": "1700000000.000100"}],
    }  # fmt: skip
    return urlencode({"payload": json.dumps(payload)}).encode()


def signed(body: bytes, secret: str = SECRET, at: float | None = None) -> dict[str, str]:
    timestamp = str(int(time.time() if at is None else at))
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": slack_actions.signature(secret, timestamp, body),
            "Content-Type": "application/x-www-form-urlencoded"}


def test_the_signature_is_slacks_documented_example():
    # The worked example of Slack's "Verifying requests from Slack".
    body = (b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
            b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
            b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRs"
            b"kXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
    assert slack_actions.signature("8f742231b10e8888abcd99yyyzzz85a5", "1531420618", body) == (
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503")
    slack_actions.verify("8f742231b10e8888abcd99yyyzzz85a5", "1531420618",
                         "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503", body, now=1531420618)


def test_stale_and_future_timestamps_are_refused_even_when_signed():
    body = b"payload=%7B%7D"
    for offset in (-301, 301):
        at = time.time() + offset
        headers = signed(body, at=at)
        with pytest.raises(slack_actions.Refused, match="five minutes"):
            slack_actions.verify(SECRET, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"], body)


@pytest.fixture
def receiver(tmp_path, monkeypatch):
    db = str(tmp_path / "buttons.duckdb")
    with store.writing(db):
        pass
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    server = start_receiver(tmp_path / "receiver", db)
    yield server, db
    server.stop()


def reviews(db: str) -> list[tuple]:
    with store.reading(db) as con:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute("SELECT signature, verdict, reviewer, note, period_start, period_end FROM reviews "
                           "ORDER BY reviewed_at").fetchall()


def test_a_signed_press_is_a_review_and_a_forged_one_is_refused(receiver):
    server, db = receiver
    fake = FakeSlack()
    with serve(fake) as slack_url:
        response_url = slack_url + "/actions/T0000TEST/1234/abcd"
        url = server.url + "/slack/actions"
        body = press("noise", response_url)
        forged = requests.post(url, data=body, headers=signed(body, secret="not-the-secret"), timeout=10)
        tampered_body = press("actionable", response_url)
        tampered = requests.post(url, data=tampered_body, headers=signed(body), timeout=10)  # another body's signature
        unsigned = requests.post(url, data=body, timeout=10)
        replayed = requests.post(url, data=body, headers=signed(body, at=time.time() - 600), timeout=10)
        assert [r.status_code for r in (forged, tampered, unsigned, replayed)] == [401, 401, 401, 401]
        accepted = requests.post(url, data=body, headers=signed(body), timeout=10)
        assert accepted.status_code == 200
        wait_until(lambda: fake.responses, timeout=30, what="the answer on the response_url")
    assert reviews(db) == [("db|disk # full", "noise", "ana (Slack)", "marked from the Slack digest", START, END)]
    assert fake.responses == [{"replace_original": False,
                               "text": "Marked db|disk # full as *noise* for the sprint of 09 Nov."}]


def test_a_link_button_is_acknowledged_and_anything_else_signed_is_a_bad_request(receiver):
    server, db = receiver
    answers = {}
    for action_id in ("open:0", "open-signature:3", "delete-everything:1"):
        body = urlencode({"payload": json.dumps({"type": "block_actions", "actions": [
            {"action_id": action_id, "url": "https://hygiene.example.com/retro"}]})}).encode()
        answer = requests.post(server.url + "/slack/actions", data=body, headers=signed(body), timeout=10)
        answers[action_id] = (answer.status_code, answer.text)
    # Slack reports presses of URL buttons too and marks the button failed unless answered 200.
    assert answers["open:0"] == (200, "") and answers["open-signature:3"] == (200, "")
    assert answers["delete-everything:1"][0] == 400 and "not a verdict button" in answers["delete-everything:1"][1]
    assert reviews(db) == []
