"""Grafana OnCall on its own published examples and on cases built from its serializers (fixtures/oncall).

Two syncs: the first sees built/account.json's `alert_groups`, the second what `later` changed.
Every figure is worked out by hand from that file (T0 = 2026-03-02 15:00 UTC; times in seconds
after it).
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest
import reads

import metrics
import settings
from ingest import lifecycle
from ingest.sources import SOURCES
from tests.provider_servers import FakeOnCall, oncall_account, query, run_source, scalar, serve

TOKEN = "oncall-official-SECRET-5151"
T0 = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)
SINCE = dt.datetime(2020, 5, 1, tzinfo=dt.UTC)  # the documented example is from 2020
FIRST, SECOND = T0 + dt.timedelta(hours=6), T0 + dt.timedelta(days=3)
PERIOD = metrics.between(T0.date(), (T0 + dt.timedelta(days=1)).date())
OPTIONS = {"window_days": 400}
ALEX, ANA = "U4DNY931HHJS5", "UBUILT0000002"


def t(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


@pytest.fixture
def account():
    return oncall_account()


@pytest.fixture
def fake(account):
    return FakeOnCall(TOKEN, account[0])


def sync(monkeypatch, db, url, now, **more):
    return run_source(monkeypatch, db, "oncall", url, TOKEN, OPTIONS, now=now, **more)


@pytest.fixture
def synced(monkeypatch, tmp_path, fake, account):
    """Both syncs, the account changing in between; the database and the fake."""
    db = str(tmp_path / "oncall.duckdb")
    with serve(fake) as url:
        first = sync(monkeypatch, db, url, FIRST, since=SINCE)
        assert first.status == "ok", first.error
        account[0].change(account[1])
        fake.requests.clear()
        second = sync(monkeypatch, db, url, SECOND)
        assert second.status == "ok", second.error
    return db


def alert(db: str, source_id: str) -> dict:
    names = ("title", "service", "team", "acknowledged_at", "acknowledged_by", "resolved_at", "resolved_by",
             "auto_resolved", "silenced_at", "occurrences", "severity")
    [row] = query(db, f"SELECT {', '.join(names)} FROM alerts WHERE source = 'oncall' AND source_id = ?",
                  [source_id])
    return dict(zip(names, row, strict=True))


def test_the_documented_examples_map_as_published(synced):
    example = alert(synced, "I68T24C13IFW1")
    assert (example["title"], example["service"], example["team"]) == (
        "Memory above 90% threshold", "Grafana :blush:", "unassigned")  # its integration has no team
    # resolved by a user (not one the users sample lists); silenced_at beside a resolve is history
    assert example["resolved_at"] == dt.datetime(2020, 5, 19, 13, 37, 1, 429805, tzinfo=dt.UTC)
    assert (example["resolved_by"], example["auto_resolved"], example["silenced_at"]) == (
        "UCGEIXI1MR1NZ", False, None)
    assert (example["acknowledged_at"], example["occurrences"]) == (None, 3)
    people = query(synced, "SELECT person_id, name, email, time_zone, team FROM people ORDER BY person_id")
    assert people == [("U4DNY931HHJS5", "alex", "public-api-demo-user-1@grafana.com", "UTC", None),
                      ("UBUILT0000002", "ana", "Ana.Ruiz@acme.example", "Europe/Madrid", "my test team")]


def test_the_first_acknowledgement_is_kept_when_undone(synced):
    undone = alert(synced, "IBUILTACKUNDO")  # acknowledged at 120, unacknowledged, resolved by its source
    assert (undone["acknowledged_at"], undone["acknowledged_by"]) == (t(120), ALEX)
    assert (undone["resolved_at"], undone["resolved_by"], undone["auto_resolved"]) == (t(1500), None, True)
    reopened = alert(synced, "IBUILTUNRESOL")  # resolved at 6000, then un-resolved (which unacknowledges)
    assert (reopened["acknowledged_at"], reopened["acknowledged_by"]) == (t(5460), ALEX)
    assert (reopened["resolved_at"], reopened["resolved_by"], reopened["auto_resolved"]) == (None, None, None)
    # each acknowledgement and resolve shown is an event of its own; none is lost when undone
    kinds = query(synced, "SELECT type, occurred_at FROM events WHERE alert_source_id = 'IBUILTUNRESOL' "
                          "ORDER BY occurred_at")
    assert [(k, at - T0) for k, at in kinds] == [
        ("trigger", dt.timedelta(seconds=5400)), ("acknowledge", dt.timedelta(seconds=5460)),
        ("resolve", dt.timedelta(seconds=6000))]


def test_a_silenced_group_is_not_open_and_not_fetched_again(monkeypatch, synced, fake):
    silenced = alert(synced, "IBUILTSILENCE")
    assert (silenced["silenced_at"], silenced["resolved_at"]) == (t(3660), None)
    a_month = dt.timedelta(days=30)
    # within a day of its silence it may be a timed one that ends: fetched again until then
    assert lifecycle.oldest_open_alert(synced, "oncall", T0 - a_month, t(3660 + 3600)) == t(3600)
    # later it is silenced for good: the oldest open group is the un-resolved one
    assert lifecycle.oldest_open_alert(synced, "oncall", T0 - a_month, SECOND) == t(5400)
    fake.requests.clear()
    with serve(fake) as url:
        assert sync(monkeypatch, synced, url, SECOND + dt.timedelta(hours=1)).status == "ok"
    starts = [r.query["started_at"][0].split("_")[0] for r in fake.served("/api/v1/alert_groups/")]
    assert min(starts) == "2026-03-02T16:30:00"  # from the un-resolved group (5400 s), not the silenced one


def test_groups_of_deleted_integrations_keep_their_service_and_team(synced, fake):
    deleted = alert(synced, "IBUILTDELETED")  # its integration left the list before the second sync
    assert (deleted["service"], deleted["team"]) == ("Legacy Nagios", "my test team")
    assert "/api/v1/integrations/" in {r.path for r in fake.requests}  # listed again, without it
    never_listed = alert(synced, "IBUILTWIPED01")  # deleted before any sync, then wiped (no title)
    assert (never_listed["title"], never_listed["service"], never_listed["team"]) == ("Incident", None, "unassigned")
    assert (never_listed["auto_resolved"], never_listed["occurrences"]) == (True, 3)


def test_figures_worked_out_by_hand(synced):
    """METRICS.md on the six built groups of T0's day."""
    facts = reads.alert_list(synced, PERIOD).set_index("source_id")
    assert sorted(facts.index) == ["IBUILTACKUNDO", "IBUILTDELETED", "IBUILTSILENCE", "IBUILTSOURCE1",
                                   "IBUILTUNRESOL", "IBUILTWIPED01"]
    # TTA: ACKUNDO 120 (kept when undone), UNRESOL 60 (kept when un-resolved), DELETED 60 → median 60
    figures = reads.summary(synced, PERIOD)
    assert figures["alerts"] == 6
    assert figures["tta_median_s"] == pytest.approx(60)
    assert figures["tta_mean_s"] == pytest.approx(80)
    # TTR: WIPED 30, SOURCE1 240, DELETED 600, ACKUNDO 1500 (silenced and un-resolved: open) → (240+600)/2
    assert figures["ttr_median_s"] == pytest.approx(420)
    assert figures["unacknowledged"] == 2  # WIPED, SOURCE1: resolved, never acknowledged
    assert figures["auto_resolved"] == 3  # ACKUNDO, WIPED, SOURCE1: resolved with no resolved_by
    assert figures["transient"] == 2  # WIPED (30 s), SOURCE1 (240 s)
    assert sorted(facts.index[facts["is_transient"]]) == ["IBUILTSOURCE1", "IBUILTWIPED01"]
    # OnCall records no notifications: one interruption per group, to its acknowledger, else "unknown"
    pages = reads.interruption_list(synced, PERIOD)
    got = sorted(zip(pages["source_id"], pages["person_id"], pages["fallback"], strict=True))
    assert got == [("IBUILTACKUNDO", ALEX, True), ("IBUILTDELETED", ANA, True), ("IBUILTSILENCE", "unknown", True),
                   ("IBUILTSOURCE1", "unknown", True), ("IBUILTUNRESOL", ALEX, True),
                   ("IBUILTWIPED01", "unknown", True)]
    assert figures["interruptions"] == 6


@pytest.mark.parametrize("path", ["/api/v1/teams/", "/api/v1/users/", "/api/v1/integrations/"])
def test_a_refused_setup_list_loads_the_alert_groups_and_says_what_the_key_needs(
        monkeypatch, tmp_path, fake, path):
    fake.refuse.add(path)
    db = str(tmp_path / "refused.duckdb")
    with serve(fake) as url:
        result = sync(monkeypatch, db, url, FIRST, since=SINCE)
    assert result.status == "partial" and result.error is None
    assert f"GET {path} failed: HTTP 403" in result.refused and "grafana-oncall-app." in result.refused
    assert scalar(db, "SELECT count(*) FROM alerts") == 7


def test_refused_alert_groups_fail_the_sync(monkeypatch, tmp_path, fake):
    fake.refuse.add("/api/v1/alert_groups/")
    db = str(tmp_path / "refused.duckdb")
    with serve(fake) as url:
        result = sync(monkeypatch, db, url, FIRST, since=SINCE)
    assert result.status == "failed" and "alert-groups:read" in result.error


def test_a_service_account_token_works_with_the_stack_url(monkeypatch, tmp_path, account):
    stack = "https://acme.grafana.net"
    token = "glsa_official0SECRET0aaaaaaaaaaaaaaaa_0f0f0f0f"
    fake = FakeOnCall(token, account[0], grafana_url=stack)
    db = str(tmp_path / "sa.duckdb")
    with serve(fake) as url:
        result = run_source(monkeypatch, db, "oncall", url, token, {**OPTIONS, "grafana_url": stack},
                            now=FIRST, since=SINCE)
    assert result.status == "ok", result.error
    assert scalar(db, "SELECT count(*) FROM alerts") == 7
    assert {r.headers.get("X-Grafana-URL") for r in fake.requests} == {stack}


def test_a_service_account_token_without_the_stack_url_is_a_configuration_error(monkeypatch):
    monkeypatch.setenv("GRAFANA_ONCALL_TOKEN", "glsa_SECRET_abc")
    config = settings.parse({"providers": {"oncall": {"base_url": "http://127.0.0.1:9/oncall"}}})
    problem = SOURCES["oncall"].problem(config)
    assert "grafana_url" in problem and "SECRET" not in problem


def test_the_command_exits_1_with_one_line_when_users_are_refused(tmp_path, fake):
    fake.refuse.add("/api/v1/users/")
    db = str(tmp_path / "cli.duckdb")
    config = tmp_path / "alerthygiene.toml"
    config.write_text("[providers.oncall]\nwindow_days = 400\n")
    with serve(fake) as url:
        env = {**os.environ, "GRAFANA_ONCALL_TOKEN": TOKEN, "GRAFANA_ONCALL_URL": url}
        done = subprocess.run(
            [sys.executable, "-m", "ingest", "sync", "--db", db, "--config", str(config), "--source", "oncall",
             "--since", "2020-05-01", "--until", "2026-03-03"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    [line] = [row for row in done.stdout.splitlines() if row.startswith("oncall:")]
    assert "HTTP 403" in line and "user-settings:read" in line and "partial" in line
    assert "Traceback" not in done.stderr and TOKEN not in done.stdout + done.stderr


def test_events_of_an_older_database_take_the_new_keys(tmp_path):
    """Migration 11: acknowledge and resolve events stored under the old keys get the keys the
    mapping gives now, so the next sync adds no second copy of them."""
    import duckdb
    import pyarrow as pa

    import store
    from ingest.sources import oncall

    db = str(tmp_path / "old.duckdb")
    con = duckdb.connect(db)
    store.migrate(con, target=10)
    old = [{"source": "oncall", "event_id": f"G1:{kind}", "alert_source_id": "G1", "type": kind,
            "occurred_at": t(seconds)} for kind, seconds in (("trigger", 0), ("acknowledge", 60.25), ("resolve", 90))]
    store.upsert(con, "events", pa.Table.from_pylist(old))
    con.close()
    mapped = oncall.map_alert_group({"id": "G1", "created_at": t(0).isoformat(), "acknowledged_at": t(60.25).isoformat(),
                                     "resolved_at": t(90).isoformat(), "title": "x", "state": "resolved"},
                                    oncall.Context(settings.Settings()))
    with store.writing(db) as con:  # opening applies migration 11
        stored = sorted(r[0] for r in con.execute("SELECT event_id FROM events").fetchall())
    assert stored == sorted(e["event_id"] for e in mapped.rows["events"])
