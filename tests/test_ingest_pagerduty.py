"""PagerDuty sync against a local server that enforces the API's auth, limits, caps and failures."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import pytest

import settings
from ingest.mapping import map_each
from ingest.sources import pagerduty
from ingest.sync import Context
from tests.provider_servers import (
    FakePagerDuty,
    Fault,
    all_text,
    fingerprint,
    kill_and_resume,
    pagerduty_history,
    query,
    run_source,
    scalar,
    serve,
)

TOKEN = "u+pdSECRETtoken-Zx81"
START = dt.datetime(2026, 5, 22, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def history():
    return pagerduty_history(240, START, spacing_s=3000)  # 240 incidents over ~8 days


@pytest.fixture
def fake(history):
    return FakePagerDuty(TOKEN, history)


@pytest.fixture
def url(fake):
    with serve(fake) as base:
        yield base


def sync(monkeypatch, db, url, options=None, **request):
    request.setdefault("now", NOW)
    request.setdefault("since", START)
    return run_source(monkeypatch, db, "pagerduty", url, TOKEN, {"page_size": 25, **(options or {})}, **request)


def test_sync_loads_every_record_with_its_lifecycle_from_log_entries(monkeypatch, db, url, history):
    result = sync(monkeypatch, db, url)
    assert result.status == "ok", result.error
    assert scalar(db, "SELECT count(*) FROM alerts WHERE source = 'pagerduty'") == 240
    entries = history.log_entries.records
    assert scalar(db, "SELECT count(*) FROM events") == len(entries)
    assert scalar(db, "SELECT count(*) FROM notifications") == sum(e["type"] == "notify_log_entry" for e in entries)
    # Both spellings of the acknowledge entry count as acknowledgements.
    acks = {e["incident"]["id"]: e for e in entries if e["type"] in ("acknowledge_log_entry",
                                                                     "acknowledgement_log_entry")}
    assert {e["type"] for e in acks.values()} == {"acknowledge_log_entry", "acknowledgement_log_entry"}
    rows = dict((r[0], r[1:]) for r in query(
        db, "SELECT source_id, acknowledged_at, acknowledged_by, resolved_at, auto_resolved, escalations, team, url,"
            " signature FROM alerts"))
    for incident_id, entry in acks.items():
        assert rows[incident_id][0] == dt.datetime.fromisoformat(entry["created_at"].replace("Z", "+00:00"))
        assert rows[incident_id][1] == entry["agent"]["id"]
    q0 = rows["Q0000000"]  # triggered with escalation, resolved by a user
    assert q0[3] is False and q0[4] == 1 and q0[5] == "Data Platform"
    assert q0[6] == "https://acme.pagerduty.com/incidents/Q0000000"
    assert q0[7].startswith("Postgres Prod|")
    q3 = rows["Q0000003"]  # never acknowledged: resolved by the service itself
    assert q3[0] is None and q3[3] is True
    assert rows["Q0000002"][5] == "unassigned"  # Batch Jobs has no team and no configured mapping
    channels = dict(query(db, "SELECT channel, count(*) FROM notifications GROUP BY ALL"))
    assert set(channels) == {"push", "sms", "phone"}
    assert query(db, "SELECT time_zone FROM people WHERE person_id = 'PUSER02'") == [("Asia/Singapore",)]


def test_service_to_team_map_applies_when_the_incident_names_no_team(monkeypatch, db, url):
    config_options = {}
    result = sync(monkeypatch, db, url, config_options)
    assert result.status == "ok"
    mapped = map_each("incidents", [{"id": "X1", "title": "t", "created_at": "2026-05-22T00:00:00Z",
                                      "service": {"id": "PSVC03", "summary": "Batch Jobs"}, "teams": []}],
                      lambda r: pagerduty.map_incident(r, Context(settings.parse({"services": {"Batch Jobs": "Ops"}}))))
    assert mapped.rows["alerts"][0]["team"] == "Ops"


def test_a_second_sync_adds_no_duplicates_and_asks_only_for_what_is_new(monkeypatch, db, url, fake, history):
    sync(monkeypatch, db, url)
    first = fingerprint(db, "pagerduty")
    requests_before = len(fake.requests)
    again = sync(monkeypatch, db, url, since=None, now=NOW + dt.timedelta(minutes=5))
    assert again.status == "ok"
    assert fingerprint(db, "pagerduty") == first
    for table, key in (("alerts", "source_id"), ("events", "event_id")):
        assert scalar(db, f"SELECT count(*) - count(DISTINCT {key}) FROM {table}") == 0
    incidents = [r for r in fake.requests[requests_before:] if r.path == "/incidents"]
    assert incidents and all(r.query["since"][0] < "2026-06-01" for r in incidents)
    # incremental: incidents from the oldest one still open, log entries from the cursor minus the overlap
    oldest_open = min(i["created_at"] for i in history.incidents.records if i["status"] != "resolved")
    assert min(r.query["since"][0] for r in incidents) == oldest_open
    entries = [r for r in fake.requests[requests_before:] if r.path == "/log_entries"]
    assert min(r.query["since"][0] for r in entries) == "2026-05-31T23:45:00Z"


def test_every_request_respects_the_documented_limits(monkeypatch, db, url, fake):
    assert sync(monkeypatch, db, url, {"page_size": 100}, since=START - dt.timedelta(days=400)).status == "ok"
    for r in fake.requests:
        assert int(r.query["limit"][0]) <= 100
        assert r.headers["Accept"] == "application/vnd.pagerduty+json;version=2"
        if r.path in ("/incidents", "/log_entries"):
            span = (dt.datetime.fromisoformat(r.query["until"][0].replace("Z", "+00:00"))
                    - dt.datetime.fromisoformat(r.query["since"][0].replace("Z", "+00:00")))
            assert span <= dt.timedelta(days=180) and r.query["time_zone"] == ["UTC"]
    assert not fake.served(status=400)


def test_a_page_size_above_the_maximum_is_a_configuration_error(monkeypatch, db, url):
    with pytest.raises(settings.ConfigError, match="page_size"):
        sync(monkeypatch, db, url, {"page_size": 500})


def test_the_fake_rejects_what_pagerduty_rejects(url):
    import requests

    auth = {"Authorization": f"Token token={TOKEN}"}
    too_long = requests.get(f"{url}/incidents", params={"since": "2026-01-01T00:00:00Z",
                                                         "until": "2026-09-01T00:00:00Z"}, headers=auth, timeout=5)
    assert too_long.status_code == 400
    past_cap = requests.get(f"{url}/log_entries", params={"offset": 9950, "limit": 100}, headers=auth, timeout=5)
    assert past_cap.status_code == 400 and "10000" in past_cap.json()["error"]["message"]
    assert requests.get(f"{url}/users", params={"limit": 101}, headers=auth, timeout=5).status_code == 400
    assert requests.get(f"{url}/users", timeout=5).status_code == 401


@pytest.mark.slow
def test_history_past_the_offset_cap_arrives_whole(monkeypatch, db):
    history = pagerduty_history(10_300, START, spacing_s=60, open_last=0)  # about 7 days, one window
    history.log_entries = type(history.log_entries)(
        [e for e in history.log_entries.records if e["type"] == "trigger_log_entry"],
        history.log_entries.time_of)
    fake = FakePagerDuty(TOKEN, history)
    with serve(fake) as url:
        result = run_source(monkeypatch, db, "pagerduty", url, TOKEN, since=START, now=NOW + dt.timedelta(days=7))
    assert result.status == "ok", result.error
    assert scalar(db, "SELECT count(DISTINCT source_id) FROM alerts") == 10_300
    assert scalar(db, "SELECT count(*) FROM events") == 10_300
    assert not fake.served(status=400)
    minimum = 2 * -(-10_300 // 100) + 3
    assert result.requests <= 1.1 * minimum + 6


def test_429_5xx_timeouts_and_a_broken_page_are_retried(monkeypatch, db, url, fake):
    fake.slow_s = 0.6
    fake.faults = [Fault("429", "/incidents", 2, {"ratelimit-reset": "2"}), Fault("500", "/log_entries", 1),
                   Fault("slow", "/users", 1), Fault("malformed", "/teams", 1)]
    result = sync(monkeypatch, db, url, {"timeout_s": 0.2})
    assert result.status == "ok", result.error
    assert scalar(db, "SELECT count(*) FROM alerts") == 240
    assert len(fake.served("/incidents", 429)) == 2 and len(fake.served("/log_entries", 500)) == 1
    assert len(fake.served("/users")) >= 2 and len(fake.served("/teams")) == 2


def test_a_provider_that_keeps_failing_fails_the_source_and_keeps_the_cursor(monkeypatch, db, url, fake):
    assert sync(monkeypatch, db, url).status == "ok"
    cursor = scalar(db, "SELECT cursor FROM sync_state WHERE stream = 'log_entries'")
    fake.faults = [Fault("500", "/log_entries", 100)]
    result = sync(monkeypatch, db, url, since=None, now=NOW + dt.timedelta(hours=6))
    assert result.status == "failed" and "HTTP 500" in result.error and "after 4 attempts" in result.error
    assert scalar(db, "SELECT cursor FROM sync_state WHERE stream = 'log_entries'") == cursor


def test_a_rejected_token_fails_fast_with_a_region_hint(monkeypatch, db, url, fake):
    result = run_source(monkeypatch, db, "pagerduty", url, "not-the-token", since=START, now=NOW)
    assert result.status == "failed"
    assert "HTTP 401" in result.error and "api.eu.pagerduty.com" in result.error and "PAGERDUTY_TOKEN" in result.error
    assert "not-the-token" not in result.error
    assert len(fake.requests) == 1  # no retry of a 4xx


def test_records_missing_fields_are_quarantined_and_the_rest_loads(monkeypatch, db, url, history):
    del history.incidents.records[5]["title"]
    del history.log_entries.records[7]["incident"]
    result = sync(monkeypatch, db, url)
    assert result.status == "partial" and result.quarantined == 2
    assert scalar(db, "SELECT count(*) FROM alerts") == 239
    reasons = sorted(r[0] for r in query(db, "SELECT reason FROM quarantine"))
    assert reasons == ["log entry without an incident reference", "missing required field 'title'"]
    assert "Q0000005" in scalar(db, "SELECT raw FROM quarantine WHERE stream = 'incidents'")


def test_alerts_open_at_one_sync_are_resolved_by_the_next(monkeypatch, db, url, history):
    assert sync(monkeypatch, db, url).status == "ok"
    open_ids = history.open_ids
    assert scalar(db, "SELECT count(*) FROM alerts WHERE resolved_at IS NULL") == len(open_ids) == 2
    later = NOW + dt.timedelta(hours=2)
    history.resolve(open_ids[0], later - dt.timedelta(minutes=30), by_user="PUSER01")
    history.resolve(open_ids[1], later - dt.timedelta(minutes=20), by_user=None)
    assert sync(monkeypatch, db, url, since=None, now=later).status == "ok"
    rows = dict((r[0], r[1:]) for r in query(db, "SELECT source_id, resolved_at, resolved_by, auto_resolved FROM alerts "
                                                 "WHERE source_id IN (?, ?)", open_ids))
    assert rows[open_ids[0]] == (later - dt.timedelta(minutes=30), "PUSER01", False)
    assert rows[open_ids[1]][0] == later - dt.timedelta(minutes=20) and rows[open_ids[1]][2] is True
    assert scalar(db, "SELECT count(*) FROM alerts WHERE resolved_at IS NULL") == 0


def test_the_token_never_appears_in_logs_errors_database_or_status(monkeypatch, db, url, fake, history, caplog,
                                                                      capsys):
    caplog.set_level(logging.DEBUG)
    del history.incidents.records[3]["created_at"]
    fake.faults = [Fault("429", "/incidents", 1, {"ratelimit-reset": "1"}), Fault("500", "/log_entries", 100)]
    result = sync(monkeypatch, db, url)
    assert result.status == "failed" and result.quarantined == 1
    from ingest.cli import cmd_status

    cmd_status.run(type("Args", (), {"db": db})())
    status = capsys.readouterr().out
    assert "pagerduty" in status
    for text in (caplog.text, result.error, all_text(db), status):
        assert TOKEN not in text
    assert "HTTP 500" in all_text(db)  # the error was recorded, without the token


def test_region_and_base_url_come_from_config_or_environment(monkeypatch):
    monkeypatch.delenv("PAGERDUTY_BASE_URL", raising=False)
    assert pagerduty.SYNC.base_url(settings.Settings()) == "https://api.pagerduty.com"
    eu = settings.parse({"providers": {"pagerduty": {"region": "eu"}}})
    assert pagerduty.SYNC.base_url(eu) == "https://api.eu.pagerduty.com"
    monkeypatch.setenv("PAGERDUTY_BASE_URL", "http://127.0.0.1:9")
    assert pagerduty.SYNC.base_url(eu) == "http://127.0.0.1:9"


# --- a real process, killed and run again ---------------------------------------------------------------------


@pytest.mark.slow
def test_a_sync_killed_midway_and_run_again_ends_with_the_same_rows(monkeypatch, tmp_path, url, fake):
    whole, killed = kill_and_resume(monkeypatch, tmp_path, fake, url, "pagerduty", TOKEN, {"page_size": 25, "batch_records": 50},
                                    "2026-05-22", "2026-06-01", pause_at=20)
    assert scalar(whole, "SELECT count(*) FROM alerts") == 240
    assert fingerprint(killed, "pagerduty") == fingerprint(whole, "pagerduty")


# --- pure mappings on recorded pages -------------------------------------------------------------------------


def _page(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def test_map_incident_on_a_recorded_page():
    page = _page("pagerduty_incidents.json")
    mapped = map_each("incidents", page["incidents"], lambda r: pagerduty.map_incident(r, Context(settings.Settings())))
    assert not mapped.rejected
    alert = mapped.rows["alerts"][0]
    assert alert["source_id"] == "Q1R2S3T4U5V6W7" and alert["team"] == "Data Platform"
    assert alert["signature"] == "Postgres Prod|cpu > #% on db-prod-#"
    assert alert["resolved_at"] == dt.datetime(2024, 3, 4, 2, 41, 55, tzinfo=dt.UTC)
    assert alert["url"] == "https://acme.pagerduty.com/incidents/Q1R2S3T4U5V6W7"
    assert "acknowledged_at" not in alert  # it comes from log entries, never from the emptied acknowledgements


def test_map_log_entry_on_a_recorded_page():
    page = _page("pagerduty_log_entries.json")
    mapped = map_each("log_entries", page["log_entries"], lambda r: pagerduty.map_log_entry(r, Context(settings.Settings())))
    assert not mapped.rejected
    types = [e["type"] for e in mapped.rows["events"]]
    assert types == ["trigger", "notify", "acknowledge", "annotate", "resolve"]
    assert mapped.rows["notifications"] == [{
        "source": "pagerduty", "alert_source_id": "Q1R2S3T4U5V6W7", "person_id": "PUSER42", "channel": "phone",
        "notified_at": dt.datetime(2024, 3, 4, 2, 13, 40, tzinfo=dt.UTC)}]
    assert mapped.rows["events"][2]["agent_type"] == "user"
    assert mapped.rows["events"][0]["agent_type"] == "service"


def test_map_user_keeps_the_time_zone():
    page = _page("pagerduty_users.json")
    mapped = map_each("users", page["users"], lambda r: pagerduty.map_user(r, Context(settings.Settings())))
    assert mapped.rows["people"][0]["time_zone"] == "Europe/Madrid"
    assert mapped.rows["people"][0]["team"] == "Data Platform"
