"""Opsgenie sync against a local server that enforces the API's auth, limits, cap and failures."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import pytest

import settings
from ingest.mapping import map_each
from ingest.sources import opsgenie
from ingest.sync import Context
from tests.provider_servers import (
    FakeOpsgenie,
    Fault,
    all_text,
    fingerprint,
    kill_and_resume,
    opsgenie_history,
    query,
    run_source,
    scalar,
    serve,
)

KEY = "og-SECRET-key-7781aa"
START = dt.datetime(2026, 5, 22, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def history():
    return opsgenie_history(120, START, spacing_s=3600)


@pytest.fixture
def fake(history):
    return FakeOpsgenie(KEY, history)


@pytest.fixture
def url(fake):
    with serve(fake) as base:
        yield base


def sync(monkeypatch, db, url, options=None, **request):
    request.setdefault("now", NOW)
    request.setdefault("since", START)
    return run_source(monkeypatch, db, "opsgenie", url, KEY, {"page_size": 25, **(options or {})}, **request)


def _t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_sync_loads_alerts_with_lifecycle_and_notifications_from_their_logs(monkeypatch, db, url, history):
    result = sync(monkeypatch, db, url)
    assert result.status == "ok", result.error
    assert scalar(db, "SELECT count(*) FROM alerts WHERE source = 'opsgenie'") == 120
    logs = history.logs
    pushes = sum("push" in line["log"] for lines in logs.values() for line in lines)
    sms = sum("SMS" in line["log"] for lines in logs.values() for line in lines)
    assert dict(query(db, "SELECT channel, count(*) FROM notifications GROUP BY ALL")) == {"push": pushes, "sms": sms}
    assert scalar(db, "SELECT count(*) FROM events WHERE type = 'trigger'") == 120
    rows = {r[0]: r[1:] for r in query(db, "SELECT source_id, acknowledged_at, acknowledged_by, resolved_at, "
                                           "auto_resolved, team, service FROM alerts")}
    ana = scalar(db, "SELECT person_id FROM people WHERE email = 'ana@acme.example'")
    for alert in history.alerts.records:
        row = rows[alert["id"]]
        ack = next((line for line in logs[alert["id"]] if "acknowledged" in line["log"]), None)
        assert row[0] == (_t(ack["createdAt"]) if ack else None)
        closed_by_integration = alert.get("report", {}).get("closedBy") == "Prometheus"
        if alert["status"] == "closed":
            closed = _t(alert["createdAt"]) + dt.timedelta(milliseconds=alert["report"]["closeTime"])
            assert row[2] == closed and row[3] is closed_by_integration
        else:
            assert row[2] is None and row[3] is None
    first = history.alerts.records[0]
    assert rows[first["id"]][1] == ana and rows[first["id"]][3] is False
    assert rows[first["id"]][4] == "Data Platform" and rows[first["id"]][5] == "Prometheus"
    assert query(db, "SELECT time_zone FROM people WHERE email = 'bo@acme.example'") == [("Asia/Singapore",)]


def test_a_second_sync_adds_no_duplicates(monkeypatch, db, url):
    sync(monkeypatch, db, url)
    first = fingerprint(db, "opsgenie")
    assert sync(monkeypatch, db, url, since=None, now=NOW + dt.timedelta(minutes=5)).status == "ok"
    assert fingerprint(db, "opsgenie") == first
    for table, key in (("alerts", "source_id"), ("events", "event_id")):
        assert scalar(db, f"SELECT count(*) - count(DISTINCT {key}) FROM {table}") == 0


def test_alert_search_windows_use_created_at_in_milliseconds_and_respect_limits(monkeypatch, db, url, fake):
    assert sync(monkeypatch, db, url, {"page_size": 100}).status == "ok"
    alerts = fake.served("/v2/alerts", 200)
    searches = [r for r in alerts if r.path == "/v2/alerts" and "query" in r.query]
    assert searches and all(r.query["query"][0].startswith("createdAt > ") for r in searches)
    assert all(r.query["sort"] == ["createdAt"] and r.query["order"] == ["asc"] for r in searches)
    assert all(int(r.query.get("limit", ["20"])[0]) <= 100 for r in fake.requests)
    assert not fake.served(status=422) and not fake.served(status=400)


@pytest.mark.slow
def test_history_past_the_offset_cap_arrives_whole(monkeypatch, db):
    history = opsgenie_history(20_250, START, spacing_s=20, open_last=0)  # ~4.7 days, one window
    fake = FakeOpsgenie(KEY, history)
    with serve(fake) as url:
        result = run_source(monkeypatch, db, "opsgenie", url, KEY, {"fetch_logs": False}, since=START, now=NOW)
    assert result.status == "ok", result.error
    assert scalar(db, "SELECT count(DISTINCT source_id) FROM alerts") == 20_250
    assert not fake.served(status=422)
    assert result.requests <= 1.1 * (-(-20_250 // 100)) + 3


def test_429_5xx_timeouts_and_a_broken_page_are_retried(monkeypatch, db, url, fake):
    fake.slow_s = 0.6
    fake.faults = [Fault("429", "/v2/alerts", 2, {"X-RateLimit-State": "THROTTLED", "X-RateLimit-Reason": "Search",
                                                  "X-RateLimit-Period-In-Sec": "60"}),
                   Fault("500", "/v2/users", 1), Fault("slow", "/v2/teams", 1), Fault("malformed", "/v2/alerts/", 1)]
    result = sync(monkeypatch, db, url, {"timeout_s": 0.2})
    assert result.status == "ok", result.error
    assert scalar(db, "SELECT count(*) FROM alerts") == 120
    assert len(fake.served("/v2/alerts", 429)) == 2 and len(fake.served("/v2/users", 500)) == 1


def test_a_rejected_key_fails_fast_with_a_region_hint(monkeypatch, db, url, fake):
    result = run_source(monkeypatch, db, "opsgenie", url, "wrong-key", since=START, now=NOW)
    assert result.status == "failed" and "HTTP 401" in result.error and "api.eu.opsgenie.com" in result.error
    assert len(fake.requests) == 1


def test_records_missing_fields_are_quarantined_and_the_rest_loads(monkeypatch, db, url, history):
    first = history.alerts.records[0]
    del history.alerts.records[3]["message"]
    del history.logs[first["id"]][0]["createdAt"]
    result = sync(monkeypatch, db, url)
    assert result.status == "partial" and result.quarantined == 2
    assert scalar(db, "SELECT count(*) FROM alerts") == 119
    assert sorted(r[0] for r in query(db, "SELECT stream FROM quarantine")) == ["alert_logs", "alerts"]


def test_alerts_open_at_one_sync_are_closed_by_the_next(monkeypatch, db, url, history):
    assert sync(monkeypatch, db, url).status == "ok"
    open_ids = [a["id"] for a in history.alerts.records if a["status"] == "open"]
    assert scalar(db, "SELECT count(*) FROM alerts WHERE resolved_at IS NULL") == len(open_ids) == 2
    later = NOW + dt.timedelta(hours=3)
    for alert_id in open_ids:
        history.close(alert_id, later - dt.timedelta(hours=1), "bo@acme.example")
    assert sync(monkeypatch, db, url, since=None, now=later).status == "ok"
    rows = query(db, "SELECT resolved_at, auto_resolved FROM alerts WHERE source_id IN (?, ?)", open_ids)
    assert rows == [(later - dt.timedelta(hours=1), False)] * 2


def test_the_key_never_appears_in_logs_errors_database_or_status(monkeypatch, db, url, fake, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    fake.faults = [Fault("429", "/v2/alerts", 1, {"X-RateLimit-Period-In-Sec": "1"}), Fault("500", "/v2/alerts/", 99)]
    result = sync(monkeypatch, db, url)
    assert result.status == "failed"
    from ingest.cli import cmd_status

    cmd_status.run(type("Args", (), {"db": db})())
    status = capsys.readouterr().out
    for text in (caplog.text, result.error, all_text(db), status):
        assert KEY not in text


@pytest.mark.slow
def test_a_sync_killed_midway_and_run_again_ends_with_the_same_rows(monkeypatch, tmp_path, url, fake):
    whole, killed = kill_and_resume(monkeypatch, tmp_path, fake, url, "opsgenie", KEY, {"page_size": 10, "batch_records": 20},
                                    "2026-05-22", "2026-06-01", pause_at=60)
    assert scalar(whole, "SELECT count(*) FROM alerts") == 120
    assert fingerprint(killed, "opsgenie") == fingerprint(whole, "opsgenie")


# --- pure mappings on recorded pages -------------------------------------------------------------------------


def _ctx() -> Context:
    ctx = Context(settings.Settings())
    ctx.team_names["4513b7ea-3b91-438f-b7e4-e3e54af9147c"] = "Data Platform"
    ctx.person_by_email["ana@acme.example"] = "bb4d9938-c3c2-455d-aaab-727aa701c0d8"
    return ctx


def test_map_alert_on_a_recorded_page():
    page = json.loads((FIXTURES / "opsgenie_alerts.json").read_text())
    mapped = map_each("alerts", page["data"], lambda r: opsgenie.map_alert(r, _ctx()))
    alert = mapped.rows["alerts"][0]
    assert alert["team"] == "Data Platform" and alert["service"] == "Prometheus"
    assert alert["acknowledged_at"] == dt.datetime(2024, 3, 1, 2, 16, 40, 353000, tzinfo=dt.UTC)
    assert alert["resolved_at"] == dt.datetime(2024, 3, 1, 2, 41, 55, 353000, tzinfo=dt.UTC)
    assert alert["acknowledged_by"] == "bb4d9938-c3c2-455d-aaab-727aa701c0d8" and alert["auto_resolved"] is False
    assert alert["signature"] == "Prometheus|cpu > #% on db-prod-#"


def test_map_alert_log_on_a_recorded_page():
    page = json.loads((FIXTURES / "opsgenie_logs.json").read_text())
    alert = {"id": "70413a06-38d6-4c85-92b8-5ebc900d42e2"}
    mapped = map_each("alert_logs", page["data"], lambda r: opsgenie.map_alert_log(r, alert, _ctx()))
    assert [e["type"] for e in mapped.rows["events"]] == ["acknowledge", "notify", "resolve"]
    assert mapped.rows["events"][2]["agent_type"] == "integration"
    assert mapped.rows["notifications"][0]["channel"] == "sms"
    assert mapped.rows["notifications"][0]["person_id"] == "bb4d9938-c3c2-455d-aaab-727aa701c0d8"


@pytest.mark.parametrize("line, expected", [
    ("Alert acknowledged via web", ("acknowledge", None)),
    ("Alert unacknowledged via web", ("unacknowledge", None)),
    ("Alert closed via API[Prometheus]", ("resolve", None)),
    ("Sent push notification to ana@acme.example", ("notify", "push")),
    ("Made voice call to ana@acme.example", ("notify", "phone")),
    ("Sent email to ana@acme.example", ("notify", "email")),
    ("Viewed on [web]", (None, None)),
    # a notification rule's message about an action is a notification, never the action
    ("User ana@acme.example [closed-alert] notification rule matched -> Sent [email] notification",
     ("notify", "email")),
    ("[acknowledged-alert] notification rule matched -> Sent [SMS] notification", ("notify", "sms")),
    ("Alert closed notification sent to ana@acme.example", (None, None)),  # not the close; channel unsaid
    # wordings of real accounts' logs
    ("Alert closed via system using policy/policies[autoclose and no-notify tags]", ("resolve", None)),
    ("Will close alert automatically in 5 minutes [Auto-Close out-of-rotation time]", (None, None)),
    ("Notification Rule[Default Rule][New Alert][Step 1] -> Sent [voice] notification", ("notify", "phone")),
    ("Rule[Default Rule][Re-Notified Alert][Step 2] -> Sent [mobile] notification", ("notify", "push")),
    ("Rule[Default Rule][New Alert][Step 1] -> An aggregated [email] notification", ("notify", "email")),
    ("Rule[Default Rule][New Alert][Step 1] -> Notification suppressed: quiet hours", (None, None)),
    ("Rule[Closes][Closed Alert][Step 1] -> Sent [sms] notification", ("notify", "sms")),
    ("Assigning owner team [Dream] to alert because it is the only team on the alert and alert is not created "
     "via team integration.", (None, None)),
    ("AE - DEI Automation ExecutionStatus[succeed] key: [DEI-12]", ("unrecognised", None)),
])
def test_log_lines_are_classified(line, expected):
    assert opsgenie.classify_log(line) == expected


def test_the_report_gives_the_acknowledgement_whatever_the_flag_and_count_is_kept():
    page = json.loads((FIXTURES / "opsgenie_alerts.json").read_text())
    record = {**page["data"][0], "acknowledged": False, "count": 7}  # closed alerts show the flag cleared
    [row] = opsgenie.map_alert(record, _ctx(), logs_read=True).rows["alerts"]
    assert row["acknowledged_at"] == dt.datetime(2024, 3, 1, 2, 16, 40, 353000, tzinfo=dt.UTC)
    assert row["acknowledged_by"] == "bb4d9938-c3c2-455d-aaab-727aa701c0d8"
    assert row["occurrences"] == 7 and row["notifications_known"] is True
    [row] = opsgenie.map_alert({**record, "count": "7"}, _ctx()).rows["alerts"]
    assert row["occurrences"] is None and row["notifications_known"] is False
