"""Records that would make the numbers wrong (resolved before created, times in the future, negative counts)
go to quarantine with their reason on every path: provider syncs, the webhook, Prometheus, CSV and JSON imports."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from reads import summary

import settings
from ingest import cli
from ingest.mapping import FUTURE_SKEW, Mapped, implausible, map_each
from ingest.sources import alertmanager, alertmanager_import, oncall
from ingest.sync import Context
from metrics import between
from tests.provider_servers import query, scalar

FIXTURES = Path(__file__).parent / "fixtures"
NOW = dt.datetime.now(dt.UTC)
CONFIG = settings.Settings()


def am_alert(k: int, starts: dt.datetime, ends: dt.datetime | None) -> dict:
    return {"status": "resolved" if ends else "firing", "labels": {"alertname": f"Disk{k}", "job": "node"},
            "annotations": {}, "startsAt": starts.isoformat(), "fingerprint": f"{k:016x}",
            "endsAt": ends.isoformat() if ends else "0001-01-01T00:00:00Z"}


def am_payload(*alerts: dict) -> dict:
    return {"version": "4", "status": "firing", "receiver": "r", "groupKey": "{}", "alerts": list(alerts)}


START = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)


def test_the_reported_case_an_alertmanager_alert_that_ends_before_it_starts_is_quarantined_on_both_paths(db, tmp_path):
    body = am_payload(am_alert(1, START, START - dt.timedelta(hours=278)), am_alert(2, START, START + dt.timedelta(minutes=3)))
    webhook = alertmanager.map_payload(body, CONFIG)
    assert [r["source_id"][:16] for r in webhook.rows["alerts"]] == [f"{2:016x}"]
    [bad] = webhook.rejected
    assert "resolved_at" in bad.reason and "before created_at" in bad.reason

    path = tmp_path / "am.jsonl"
    path.write_text(json.dumps(body) + "\n")
    assert cli.main(["import", str(path), "--format", "alertmanager-json", "--db", db]) == 1
    assert query(db, "SELECT count(*), min(resolved_at - created_at) FROM alerts") == [(1, dt.timedelta(minutes=3))]
    reason = scalar(db, "SELECT reason FROM quarantine")
    assert "is before created_at" in reason
    figures = summary(db, between(dt.date(2026, 3, 1), dt.date(2026, 3, 9)), settings=CONFIG)
    assert figures["ttr_median_s"] == 180  # was -278.5 h: the bad alert counted


times = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2040, 1, 1), timezones=st.just(dt.UTC))


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(starts=times, ends=st.one_of(st.none(), times))
def test_the_webhook_and_the_bulk_import_agree_on_what_is_implausible(tmp_path, starts, ends):
    body = am_payload(am_alert(7, starts, ends))
    python = alertmanager.map_payload(body, CONFIG)
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(body) + "\n")
    import duckdb

    con = duckdb.connect()
    [bulk] = alertmanager_import.mapped_relation(con, str(path), CONFIG, dt.datetime.now(dt.UTC)).fetchall()
    con.close()
    bulk_problem = bulk[0]
    wrong = (ends is not None and ends < starts) or starts > NOW + FUTURE_SKEW or (
        ends is not None and ends > NOW + FUTURE_SKEW)
    assert bool(python.rejected) == wrong == (bulk_problem is not None), (python.rejected, bulk_problem)
    for row in python.rows.get("alerts", []):
        assert row["resolved_at"] is None or row["resolved_at"] >= row["created_at"]


@hsettings(max_examples=80, deadline=None)
@given(created=times, acknowledged=st.one_of(st.none(), times), resolved=st.one_of(st.none(), times),
       escalations=st.one_of(st.none(), st.integers(-5, 5)))
def test_every_alert_row_that_passes_has_no_negative_duration_no_future_time_and_no_negative_count(
        created, acknowledged, resolved, escalations):
    row = {"created_at": created, "acknowledged_at": acknowledged, "resolved_at": resolved,
           "escalations": escalations}
    problem = implausible("alerts", row, NOW)
    if problem is None:
        assert all(t is None or t >= created for t in (acknowledged, resolved))
        assert all(t is None or t <= NOW + FUTURE_SKEW for t in (created, acknowledged, resolved))
        assert escalations is None or escalations >= 0
    else:
        assert any(word in problem for word in ("before created_at", "in the future", "negative"))


def _group(**changes) -> dict:
    record = json.loads((FIXTURES / "oncall_alert_groups.json").read_text())["results"][0]
    return {**record, **changes}


@pytest.mark.parametrize(("changes", "reason"), [
    ({"resolved_at": "2024-03-04T01:00:00Z"}, "resolved_at 2024-03-04T01:00:00+00:00 is before created_at"),
    ({"acknowledged_at": "2024-03-03T02:16:40Z"}, "acknowledged_at 2024-03-03T02:16:40+00:00 is before created_at"),
    ({"created_at": (NOW + dt.timedelta(days=2)).isoformat(), "acknowledged_at": None, "resolved_at": None},
     "created_at is in the future"),
])
def test_a_provider_record_that_would_make_numbers_wrong_is_rejected_with_its_reason(changes, reason):
    mapped = map_each("alert_groups", [_group(**changes), _group(id="GOOD")],
                      lambda r: oncall.map_alert_group(r, Context(CONFIG)))
    assert [r["source_id"] for r in mapped.rows["alerts"]] == ["GOOD"]
    assert reason in mapped.rejected[0].reason
    assert not [e for e in mapped.rows["events"] if e["alert_source_id"] != "GOOD"]  # nothing of it is kept


def test_a_csv_row_in_the_future_or_resolved_before_it_started_is_quarantined(db, tmp_path):
    future = (NOW + dt.timedelta(days=300)).strftime("%Y-%m-%dT%H:%M:%SZ")
    path = tmp_path / "pd.csv"
    path.write_text("ID,Title,Created On,Resolved On\n"
                    "P1,Disk full,2026-03-02T09:00:00Z,2026-03-02T09:05:00Z\n"
                    "P2,Disk full,2026-03-02T09:00:00Z,2026-03-01T09:05:00Z\n"
                    f"P3,Disk full,{future},\n")
    assert cli.main(["import", str(path), "--format", "pagerduty-csv", "--db", db]) == 1
    assert query(db, "SELECT source_id FROM alerts") == [("P1",)]
    reasons = sorted(r for (r,) in query(db, "SELECT reason FROM quarantine"))
    assert "before created_at" in reasons[1] and "created_at is in the future" in reasons[0]


def test_a_negative_escalation_count_is_implausible():
    assert implausible("alerts", {"created_at": START, "escalations": -1}, NOW) == "escalations is negative: -1"
    assert implausible("events", {"occurred_at": NOW + dt.timedelta(hours=1)}, NOW).startswith(
        "occurred_at is in the future")
    assert implausible("events", {"occurred_at": NOW + FUTURE_SKEW / 2}, NOW) is None  # clocks disagree a little
    assert Mapped().rows == {}
