"""PagerDuty on its own published examples and on cases built from its schema (fixtures/pagerduty).

Every figure below is worked out by hand from tests/fixtures/pagerduty/built/account.json (T0 =
2026-03-02 15:00 UTC; times in seconds after it).
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest
import reads
from reads import data_gaps

import metrics
from tests.provider_servers import FakePagerDuty, pagerduty_account, query, run_source, scalar, serve

TOKEN = "pd-official-SECRET-4411"
T0 = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)
SINCE = dt.datetime(2015, 10, 1, tzinfo=dt.UTC)  # the official examples are from 2015
NOW = dt.datetime(2026, 3, 3, tzinfo=dt.UTC)
PERIOD = metrics.between(T0.date(), (T0 + dt.timedelta(days=1)).date())


def t(seconds: int) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


@pytest.fixture
def fake():
    return FakePagerDuty(TOKEN, pagerduty_account())


@pytest.fixture(scope="module")
def account(tmp_path_factory) -> tuple[str, FakePagerDuty]:
    """The account synced once for the tests that only read it: the sync walks ten years of windows."""
    fake = FakePagerDuty(TOKEN, pagerduty_account())
    db = str(tmp_path_factory.mktemp("pd-official") / "pd.duckdb")
    with pytest.MonkeyPatch.context() as monkeypatch, serve(fake) as url:
        result = run_source(monkeypatch, db, "pagerduty", url, TOKEN, now=NOW, since=SINCE)
    assert result.status == "ok", result.error
    return db, fake


@pytest.fixture
def synced(account) -> str:
    return account[0]


def alert(db: str, source_id: str) -> dict:
    rows = query(db, "SELECT resolved_at, acknowledged_at, acknowledged_by, auto_resolved, severity, merged_into, "
                     "team, service FROM alerts WHERE source = 'pagerduty' AND source_id = ?", [source_id])
    names = ("resolved_at", "acknowledged_at", "acknowledged_by", "auto_resolved", "severity", "merged_into",
             "team", "service")
    return dict(zip(names, rows[0], strict=True))


def test_the_official_examples_map_as_published(synced):
    official = alert(synced, "PT4KHLK")
    assert (official["service"], official["team"]) == ("My Mail Service", "Engineering")
    # the example's one log entry (a trigger in November) is later than its resolve: the record wins
    assert official["resolved_at"] == dt.datetime(2015, 10, 6, 21, 38, 23, tzinfo=dt.UTC)
    people = query(synced, "SELECT person_id, email, time_zone, team FROM people ORDER BY person_id")
    assert people == [("PAM4FGS", "126_dvm_kyler_kuhn@beahan.name", "Asia/Hong_Kong", "Engineering"),
                      ("PXPGF42", "125.greenholt.earline@graham.name", "America/Lima", "Engineering")]
    assert query(synced, "SELECT name, team FROM services") == [("My Application Service", "Engineering")]


def test_log_entries_are_asked_for_with_their_channels(account):
    asked = account[1].served("/log_entries")
    assert asked and all(r.query.get("include[]") == ["channels"] for r in asked)


def test_the_channel_is_read_in_every_spelling_then_from_the_summary(synced):
    found = sorted(query(synced, "SELECT alert_source_id, person_id, channel FROM notifications"))
    assert found == [
        ("PCHAN01", "PAM4FGS", "phone"),  # channel.notification.type "phone" (bare)
        ("PCHAN01", "PXPGF42", "email"),  # "email_notification"
        ("PCHAN01", "PXPGF42", "sms"),  # "sms_notification"
        ("PCHAN02", "PAM4FGS", "push"),  # channel.type "push"
        ("PCHAN02", "PXPGF42", "sms"),  # only the summary: "Notified Earline Greenholt by SMS"
        ("PMERGE1", "PAM4FGS", "push"),
        ("PREOPEN1", "PAM4FGS", "sms"),  # bare "sms"
        ("PUNK01", "PXPGF42", "other"),  # nothing says how
    ]
    assert data_gaps(synced) == [
        "pagerduty: 1 notification of unknown channel (an alert with only these gets the interruption fallback)"]


def test_interruptions_worked_out_by_hand(synced):
    pages = reads.interruption_list(synced, PERIOD)
    got = sorted(zip(pages["source_id"], pages["person_id"], pages["fallback"], pages["paged_at"], strict=True))
    assert got == [
        ("PCHAN01", "PAM4FGS", False, t(11)),  # phone
        ("PCHAN01", "PXPGF42", False, t(10)),  # sms; the e-mail does not page
        ("PCHAN02", "PAM4FGS", False, t(3610)),
        ("PCHAN02", "PXPGF42", False, t(3611)),
        ("PMERGE1", "PAM4FGS", False, t(305)),
        ("PREOPEN1", "PAM4FGS", False, t(14405)),
        # its only notification's channel is unknown: the fallback, to its acknowledger, at creation
        ("PUNK01", "PAM4FGS", True, t(7200)),
        # PQUIET1: its log was read and shows no page, so it interrupted nobody
    ]


def test_merged_reopened_and_the_rest_of_the_lifecycle(synced):
    merged = alert(synced, "PMERGE1")
    assert merged["merged_into"] == "PCHAN01"
    assert merged["resolved_at"] == t(1800) and merged["auto_resolved"] is False  # when PCHAN01 resolved

    reopened = alert(synced, "PREOPEN1")
    assert reopened["resolved_at"] is None  # resolved at 16400, triggered again at 16900
    assert (reopened["acknowledged_at"], reopened["acknowledged_by"]) == (t(14460), "PAM4FGS")  # kept when undone
    assert reopened["severity"] == "low"  # the urgency after its change
    kinds = [k for (k,) in query(synced, "SELECT type FROM events WHERE alert_source_id = 'PREOPEN1' "
                                         "ORDER BY occurred_at")]
    assert kinds == ["trigger", "notify", "urgency_change", "acknowledge", "snooze", "unacknowledge", "resolve",
                     "trigger", "assign"]
    assert scalar(synced, "SELECT details->>'$.assignees[0]' FROM events WHERE event_id = 'L106G'") == "PXPGF42"

    facts = reads.alert_list(synced, PERIOD).set_index("source_id")
    assert facts.loc["PMERGE1", "ttr_s"] == 1500  # 300 → 1800
    assert facts.loc["PMERGE1", "verdict"] == "duplicate"
    assert not facts.loc["PMERGE1", "is_transient"]  # resolved by the merge 120 s in, unacknowledged
    assert sorted(facts.index[facts["is_transient"]]) == ["PQUIET1"]  # 200 s, never acknowledged
    assert sorted(facts.index[facts["is_unacknowledged"]]) == ["PCHAN02", "PMERGE1", "PQUIET1"]
    assert facts.loc["PQUIET1", "auto_resolved"] and facts.loc["PCHAN02", "auto_resolved"]


@pytest.mark.parametrize(("path", "status"), [("/teams", 402), ("/users", 403), ("/services", 403)])
def test_a_refused_setup_list_loads_the_alerts_and_says_what_the_key_needs(monkeypatch, tmp_path, fake, path, status):
    fake.refuse[path] = status
    db = str(tmp_path / "refused.duckdb")
    with serve(fake) as url:
        result = run_source(monkeypatch, db, "pagerduty", url, TOKEN, now=NOW, since=SINCE)
    assert result.status == "partial" and result.error is None
    assert f"GET {path} failed: HTTP {status}" in result.refused
    assert scalar(db, "SELECT count(*) FROM alerts") == 7
    assert scalar(db, "SELECT last_status FROM (SELECT arg_max(status, started_at) AS last_status FROM ingest_runs)") \
        == "partial"


def test_the_command_exits_1_with_one_line_when_teams_are_refused(tmp_path, fake):
    fake.refuse["/teams"] = 402
    db = str(tmp_path / "cli.duckdb")
    with serve(fake) as url:
        env = {**os.environ, "PAGERDUTY_TOKEN": TOKEN, "PAGERDUTY_BASE_URL": url}
        done = subprocess.run(
            [sys.executable, "-m", "ingest", "sync", "--db", db, "--source", "pagerduty", "--since", "2015-10-01",
             "--until", "2026-03-03"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    [line] = [row for row in done.stdout.splitlines() if row.startswith("pagerduty:")]
    assert "HTTP 402" in line and "Teams feature" in line and "partial" in line
    assert "Traceback" not in done.stderr and TOKEN not in done.stdout + done.stderr
