"""Grafana OnCall sync against a local server: page numbers newest first, started_at windows, failures."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import pytest

import settings
from ingest.mapping import map_each
from ingest.sources import SOURCES, oncall
from ingest.sync import Context
from tests.provider_servers import (
    FakeOnCall,
    Fault,
    all_text,
    fingerprint,
    kill_and_resume,
    oncall_history,
    query,
    run_source,
    scalar,
    serve,
)

TOKEN = "oncall-SECRET-0f0f0f"
START = dt.datetime(2026, 5, 22, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def history():
    return oncall_history(150, START, spacing_s=3000)


@pytest.fixture
def fake(history):
    return FakeOnCall(TOKEN, history)


@pytest.fixture
def url(fake):
    with serve(fake) as base:
        yield base + "/oncall"  # the OnCall API URL has a path of its own on Grafana Cloud


@pytest.fixture(autouse=True)
def _strip_prefix(fake):
    route = fake.route
    fake.route = lambda path, query, host: route(path.removeprefix("/oncall"), query, host)


def sync(monkeypatch, db, url, options=None, **request):
    request.setdefault("now", NOW)
    request.setdefault("since", START)
    return run_source(monkeypatch, db, "oncall", url, TOKEN, {"page_size": 20, "window_days": 2, **(options or {})},
                      **request)


def test_sync_loads_alert_groups_users_teams_and_integrations(monkeypatch, db, url, history):
    result = sync(monkeypatch, db, url)
    assert result.status == "ok", result.error
    assert scalar(db, "SELECT count(*) FROM alerts WHERE source = 'oncall'") == 150
    rows = {r[0]: r[1:] for r in query(db, "SELECT source_id, acknowledged_at, resolved_at, auto_resolved, team, "
                                           "service, url FROM alerts")}
    for group in history.groups.records:
        row = rows[group["id"]]
        assert (row[0] is None) == (group["acknowledged_at"] is None)
        assert (row[1] is None) == (group["resolved_at"] is None)
    first = history.groups.records[0]
    assert rows[first["id"]][3:5] == ("Data Platform", "Prometheus prod")
    assert rows[history.groups.records[1]["id"]][3] == "unassigned"
    assert rows[history.groups.records[2]["id"]][2] is True  # resolved with no user: auto-resolved
    assert query(db, "SELECT time_zone FROM people WHERE person_id = 'UCGEIXI1MR1N1'") == [("Europe/Madrid",)]
    assert scalar(db, "SELECT count(*) FROM services") == 2


def test_windows_are_closed_ranges_in_the_documented_format(monkeypatch, db, url, fake):
    assert sync(monkeypatch, db, url).status == "ok"
    windows = [r.query["started_at"][0] for r in fake.requests if "started_at" in r.query and "page" not in r.query]
    assert len(windows) == 5  # ten days in two-day windows
    for window in windows:
        start, end = window.split("_")
        assert dt.datetime.strptime(end, "%Y-%m-%dT%H:%M:%S") <= NOW.replace(tzinfo=None)
        assert start < end
    assert all(int(r.query.get("perpage", ["50"])[0]) <= 50 for r in fake.requests)


def test_a_second_sync_adds_no_duplicates(monkeypatch, db, url):
    sync(monkeypatch, db, url)
    first = fingerprint(db, "oncall")
    assert sync(monkeypatch, db, url, since=None, now=NOW + dt.timedelta(minutes=5)).status == "ok"
    assert fingerprint(db, "oncall") == first
    assert scalar(db, "SELECT count(*) - count(DISTINCT source_id) FROM alerts") == 0


def test_429_with_retry_after_5xx_timeouts_and_a_broken_page_are_retried(monkeypatch, db, url, fake):
    fake.slow_s = 0.6
    fake.faults = [Fault("429", "/oncall/api/v1/alert_groups/", 2, {"Retry-After": "1"}),
                   Fault("500", "/oncall/api/v1/users/", 1), Fault("slow", "/oncall/api/v1/teams/", 1),
                   Fault("malformed", "/oncall/api/v1/alert_groups/", 1)]
    result = sync(monkeypatch, db, url, {"timeout_s": 0.2})
    assert result.status == "ok", result.error
    assert scalar(db, "SELECT count(*) FROM alerts") == 150
    assert len(fake.served("/oncall/api/v1/alert_groups/", 429)) == 2


def test_a_rejected_token_fails_fast_with_a_hint(monkeypatch, db, url, fake):
    result = run_source(monkeypatch, db, "oncall", url, "nope", since=START, now=NOW)
    assert result.status == "failed" and "HTTP 401" in result.error and "GRAFANA_ONCALL_URL" in result.error
    assert len(fake.requests) == 1


def test_without_a_url_the_source_is_not_configured(monkeypatch):
    monkeypatch.setenv("GRAFANA_ONCALL_TOKEN", TOKEN)
    monkeypatch.delenv("GRAFANA_ONCALL_URL", raising=False)
    with pytest.raises(settings.ConfigError, match="GRAFANA_ONCALL_URL"):
        SOURCES["oncall"].problem(settings.Settings())


def test_records_missing_fields_are_quarantined_and_the_rest_loads(monkeypatch, db, url, history):
    history.groups.records[4]["title"] = {"text": "not a title"}  # a null title is OnCall's own (untitled)
    del history.groups.records[9]["id"]
    result = sync(monkeypatch, db, url)
    assert result.status == "partial" and result.quarantined == 2
    assert scalar(db, "SELECT count(*) FROM alerts") == 148


def test_alert_groups_open_at_one_sync_are_resolved_by_the_next(monkeypatch, db, url, history):
    assert sync(monkeypatch, db, url).status == "ok"
    open_ids = [g["id"] for g in history.groups.records if g["resolved_at"] is None]
    assert scalar(db, "SELECT count(*) FROM alerts WHERE resolved_at IS NULL") == len(open_ids) == 2
    later = NOW + dt.timedelta(hours=1)
    for group_id in open_ids:
        history.resolve(group_id, later - dt.timedelta(minutes=10), "UCGEIXI1MR1N1")
    assert sync(monkeypatch, db, url, since=None, now=later).status == "ok"
    assert query(db, "SELECT DISTINCT resolved_at, auto_resolved FROM alerts WHERE source_id IN (?, ?)",
                 open_ids) == [(later - dt.timedelta(minutes=10), False)]


def test_the_token_never_appears_in_logs_errors_database_or_status(monkeypatch, db, url, fake, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    fake.faults = [Fault("500", "/oncall/api/v1/alert_groups/", 99)]
    result = sync(monkeypatch, db, url)
    assert result.status == "failed"
    from ingest.cli import cmd_status

    cmd_status.run(type("Args", (), {"db": db})())
    status = capsys.readouterr().out
    for text in (caplog.text, result.error, all_text(db), status):
        assert TOKEN not in text


@pytest.mark.slow
def test_a_sync_killed_midway_and_run_again_ends_with_the_same_rows(monkeypatch, tmp_path, url, fake):
    whole, killed = kill_and_resume(monkeypatch, tmp_path, fake, url, "oncall", TOKEN,
                                    {"page_size": 10, "window_days": 1, "batch_records": 20},
                                    "2026-05-22", "2026-06-01", pause_at=12)
    assert scalar(whole, "SELECT count(*) FROM alerts") == 150
    assert fingerprint(killed, "oncall") == fingerprint(whole, "oncall")


def test_map_alert_group_on_a_recorded_page():
    page = json.loads((FIXTURES / "oncall_alert_groups.json").read_text())
    ctx = Context(settings.Settings())
    ctx.team_names["TE5EF3RQHJQPI"] = "Data Platform"
    ctx.service_names["CFRPV98RPR1U8"] = "Prometheus prod"
    mapped = map_each("alert_groups", page["results"], lambda r: oncall.map_alert_group(r, ctx))
    alert = mapped.rows["alerts"][0]
    assert alert["team"] == "Data Platform" and alert["service"] == "Prometheus prod"
    assert alert["severity"] == "page" and alert["auto_resolved"] is False
    assert alert["acknowledged_at"] == dt.datetime(2024, 3, 4, 2, 16, 40, 120311, tzinfo=dt.UTC)
    assert alert["url"].endswith("/alert-groups/I68T24C13IFW1")
    assert [e["type"] for e in mapped.rows["events"]] == ["trigger", "acknowledge", "resolve"]
