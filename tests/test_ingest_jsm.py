"""Jira Service Management Operations on its own published examples and on cases built from its
schemas (fixtures/jsm), against a local server that enforces its auth, paging and 20,000 cap.

Figures are worked out by hand from built/account.json (T0 = 2026-03-02 15:00 UTC; times in
seconds after it).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
import sys

import pytest
import reads

import metrics
import settings
from ingest.sources import SOURCES, jsm, opsgenie
from ingest.sync import Context
from tests.provider_servers import (
    JSM_CLOUD,
    FakeJsm,
    all_text,
    jsm_account,
    jsm_history,
    query,
    run_source,
    scalar,
    serve,
)

EMAIL, TOKEN = "sync-bot@acme.example", "ATATT3xFfGF0-jsm-SECRET-7733"
T0 = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)
SINCE, NOW = dt.datetime(2024, 1, 1, tzinfo=dt.UTC), dt.datetime(2026, 3, 3, tzinfo=dt.UTC)
PERIOD = metrics.between(T0.date(), (T0 + dt.timedelta(days=1)).date())
ANA, BO = "ana@acme.example", "bo@acme.example"
J1, J2, J3 = (f"b1a5e0c3-0000-4000-8000-00000000000{n}-{ms}" for n, ms in
              ((1, 1772463600000), (2, 1772467200000), (3, 1772470800000)))


def t(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


@pytest.fixture
def fake():
    return FakeJsm(EMAIL, TOKEN, jsm_account())


def sync(monkeypatch, db, url, options=None, **request):
    monkeypatch.setenv("JSM_EMAIL", EMAIL)
    request.setdefault("now", NOW)
    request.setdefault("since", SINCE)
    return run_source(monkeypatch, db, "jsm", url + f"/jsm/ops/api/{JSM_CLOUD}", TOKEN,
                      {"page_size": 2, **(options or {})}, **request)


@pytest.fixture
def synced(monkeypatch, db, fake):
    with serve(fake) as url:
        result = sync(monkeypatch, db, url)
    assert result.status == "ok", result.error
    return db


def alert(db: str, source_id: str) -> dict:
    names = ("title", "service", "severity", "acknowledged_at", "acknowledged_by", "resolved_at", "resolved_by",
             "auto_resolved", "occurrences", "notifications_known")
    [row] = query(db, f"SELECT {', '.join(names)} FROM alerts WHERE source = 'jsm' AND source_id = ?", [source_id])
    return dict(zip(names, row, strict=True))


def test_the_published_example_maps_as_published(synced):
    example = alert(synced, "e0caa0ce-d52f-4500-81b9-d592d06970b6")
    assert (example["service"], example["severity"], example["occurrences"]) == ("Default API", "P1", 3)
    # ackTime and closeTime are times here, not Opsgenie's milliseconds after creation
    assert example["acknowledged_at"] == dt.datetime(2024, 1, 5, 7, 8, 47, 958000, tzinfo=dt.UTC)
    assert example["resolved_at"] == dt.datetime(2024, 1, 5, 9, 6, 47, 958000, tzinfo=dt.UTC)
    # its one log line (assigning an owner team) says nothing the figures use: who closed it is unknown
    assert (example["resolved_by"], example["auto_resolved"]) == (None, None)


def test_requests_follow_the_published_contract(synced, fake):
    searches = [r for r in fake.requests if r.path.endswith("/v1/alerts")]
    assert searches and all(r.query["query"][0].startswith("createdAt > ") for r in searches)
    assert all(r.query["sort"] == ["createdAt"] and r.query["order"] == ["asc"] for r in searches)
    # the published next link drops the query: pages are asked for by offset with the query kept
    assert {r.query["offset"][0] for r in searches} >= {"0", "2"}
    logs = [r for r in fake.requests if r.path.endswith("/logs")]
    assert any("after" in r.query for r in logs)  # J1's six lines come in pages of two
    assert not fake.served(status=422) and not fake.served(status=401)
    assert all(r.headers["Authorization"].startswith("Basic ") for r in fake.requests)


def test_who_acknowledged_and_closed_comes_from_the_log(synced):
    by_people = alert(synced, J1)
    assert (by_people["acknowledged_at"], by_people["acknowledged_by"]) == (t(120), ANA)
    # the notification rule's e-mail about the close is not the close; the close line is
    assert (by_people["resolved_at"], by_people["resolved_by"], by_people["auto_resolved"]) == (t(900), BO, False)
    by_integration = alert(synced, J2)
    assert (by_integration["resolved_at"], by_integration["auto_resolved"]) == (t(3840), True)
    still_open = alert(synced, J3)
    assert (still_open["acknowledged_by"], still_open["resolved_at"]) == (BO, None)
    assert query(synced, "SELECT person_id, email FROM people WHERE source = 'jsm' ORDER BY 1") == [(ANA, ANA), (BO, BO)]


def test_figures_worked_out_by_hand(synced):
    figures = reads.summary(synced, PERIOD)
    assert figures["alerts"] == 3
    assert figures["tta_median_s"] == pytest.approx(210)  # J1 120, J3 300
    assert figures["ttr_median_s"] == pytest.approx(570)  # J1 900, J2 240
    assert (figures["unacknowledged"], figures["auto_resolved"], figures["transient"]) == (1, 1, 1)  # J2
    pages = reads.interruption_list(synced, PERIOD)
    got = sorted(zip(pages["source_id"], pages["person_id"], pages["fallback"], pages["paged_at"], strict=True))
    # J1: ana's push at 2 s (then SMS; bo's e-mail does not page); J2: its log shows no page; J3: bo's call
    assert got == [(J1, ANA, False, t(2)), (J3, BO, False, t(7205))]


def test_an_alert_keeps_its_opsgenie_signature():
    """Moving from Opsgenie: the same alert from the same integration has the same signature."""
    ctx = Context(settings.Settings())
    built = next(a for a in jsm_account().alerts.records if a["message"] == "Disk 91% full on db-7")
    from_jsm = jsm.map_alert(built, ctx).rows["alerts"][0]
    from_opsgenie = opsgenie.map_alert({"id": "x", "message": "Disk 93% full on db-12", "createdAt": built["createdAt"],
                                        "integration": {"name": "Prometheus", "type": "Prometheus"}},
                                       ctx).rows["alerts"][0]
    assert from_jsm["signature"] == from_opsgenie["signature"] == "Prometheus|disk #% full on db-#"


def test_history_past_the_offset_cap_arrives_whole(monkeypatch, db):
    """Past offset + size = cap the search starts again from the last alert's time (cap made small)."""
    monkeypatch.setattr(jsm, "OFFSET_CAP", 29)
    fake = FakeJsm(EMAIL, TOKEN, jsm_history(75, T0, spacing_s=60), cap=30)
    with serve(fake) as url:
        result = sync(monkeypatch, db, url, {"page_size": 10, "fetch_logs": False}, since=T0, now=t(7200))
    assert result.status == "ok", result.error
    assert scalar(db, "SELECT count(DISTINCT source_id) FROM alerts") == 75
    assert not fake.served(status=422)
    assert scalar(db, "SELECT count(*) FROM alerts WHERE notifications_known") == 0  # logs were not read


def test_a_rejected_token_fails_fast_with_a_hint(monkeypatch, db, fake):
    with serve(fake) as url:
        monkeypatch.setenv("JSM_EMAIL", EMAIL)
        result = run_source(monkeypatch, db, "jsm", url + f"/jsm/ops/api/{JSM_CLOUD}", "wrong", since=SINCE, now=NOW)
    assert result.status == "failed" and "HTTP 401" in result.error and "JSM_EMAIL" in result.error
    assert len(fake.requests) == 1


def test_configuration_is_checked_before_any_request(monkeypatch):
    monkeypatch.setenv("JSM_API_TOKEN", TOKEN)
    monkeypatch.delenv("JSM_BASE_URL", raising=False)
    monkeypatch.delenv("JSM_EMAIL", raising=False)
    monkeypatch.setenv("JSM_CLOUD_ID", JSM_CLOUD)
    assert "JSM_EMAIL" in SOURCES["jsm"].problem(settings.Settings())
    monkeypatch.setenv("JSM_EMAIL", EMAIL)
    assert SOURCES["jsm"].problem(settings.Settings()) is None
    assert SOURCES["jsm"].base_url(settings.Settings()) == f"https://api.atlassian.com/jsm/ops/api/{JSM_CLOUD}"
    monkeypatch.delenv("JSM_CLOUD_ID")
    with pytest.raises(settings.ConfigError, match="JSM_CLOUD_ID"):
        SOURCES["jsm"].problem(settings.Settings())


def test_the_token_never_appears_in_logs_errors_database_or_the_command(monkeypatch, db, fake, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    with serve(fake) as url:
        result = sync(monkeypatch, db, url)
        env = {**os.environ, "JSM_EMAIL": EMAIL, "JSM_API_TOKEN": TOKEN, "JSM_BASE_URL": url + "/jsm/ops/api/x"}
        done = subprocess.run([sys.executable, "-m", "ingest", "sync", "--db", str(tmp_path / "cli.duckdb"),
                               "--source", "jsm", "--since", "2026-03-01"], env=env, capture_output=True, text=True,
                              timeout=120)
    assert result.status == "ok"
    assert done.returncode == 1 and "HTTP 404" in done.stdout and "Traceback" not in done.stderr
    for text in (caplog.text, all_text(db), done.stdout + done.stderr):
        assert TOKEN not in text
