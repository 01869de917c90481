"""The demo history: deterministic, loaded through the provider path, and rich in every signal."""

from __future__ import annotations

import datetime as dt

import pytest

import settings
import store
from ingest.mapping import map_each
from ingest.sources.demo import clear_demo, load_demo, map_incident
from tests.conftest import DEMO_END


def q(db: str, sql: str, params=None):
    with store.reading(db) as con:
        return con.execute(sql, params or []).fetchall()


def one(db: str, sql: str, params=None):
    return q(db, sql, params)[0][0]


def _fingerprint(db: str) -> tuple:
    return (
        q(db, "SELECT md5(string_agg(source_id || coalesce(title,'') || created_at::VARCHAR"
              " || coalesce(resolved_at::VARCHAR,'-') || coalesce(acknowledged_by,'-'), ',' ORDER BY source_id))"
              " FROM alerts")[0][0],
        one(db, "SELECT count(*) FROM notifications"),
        one(db, "SELECT count(*) FROM events"),
    )


def test_same_seed_gives_the_same_history(tmp_path, demo_db):
    again = str(tmp_path / "again.duckdb")
    load_demo(again, settings.Settings(), seed=7, days=180, end=DEMO_END)
    assert _fingerprint(again) == _fingerprint(demo_db)


def test_another_seed_gives_another_history(tmp_path, demo_db):
    other = str(tmp_path / "other.duckdb")
    load_demo(other, settings.Settings(), seed=8, days=30, end=DEMO_END)
    assert _fingerprint(other) != _fingerprint(demo_db)


def test_reloading_replaces_instead_of_duplicating(tmp_path):
    db = str(tmp_path / "d.duckdb")
    for _ in range(2):
        clear_demo(db)
        load_demo(db, settings.Settings(), seed=3, days=20, end=DEMO_END)
    assert one(db, "SELECT count(*) - count(DISTINCT source_id) FROM alerts") == 0
    assert one(db, "SELECT count(*) FROM reviews") == one(db, "SELECT count(DISTINCT review_id) FROM reviews")


def test_run_and_sync_state_are_recorded_like_a_provider_sync(demo_db):
    status, rows = q(demo_db, "SELECT status, rows_loaded FROM ingest_runs WHERE source = 'demo'")[0]
    assert status == "ok" and rows > 10_000
    cursor = one(demo_db, "SELECT cursor FROM sync_state WHERE source = 'demo' AND stream = 'incidents'")
    assert cursor == one(demo_db, "SELECT strftime(max(created_at), '%Y-%m-%dT%H:%M:%SZ') FROM alerts")


def test_organisation_size_and_long_tail(demo_db):
    assert one(demo_db, "SELECT count(DISTINCT team) FROM alerts") >= 6
    assert one(demo_db, "SELECT count(DISTINCT service) FROM alerts") >= 30
    assert one(demo_db, "SELECT count(DISTINCT signature) FROM alerts") >= 120
    top10 = one(demo_db, """
        WITH s AS (SELECT signature, count(*) AS n FROM alerts GROUP BY 1)
        SELECT (SELECT sum(n) FROM (SELECT n FROM s ORDER BY n DESC LIMIT 10)) / sum(n) FROM s""")
    assert top10 >= 0.5


def test_history_spans_180_days_ending_today(demo_db):
    first, last = q(demo_db, "SELECT min(created_at), max(created_at) FROM alerts")[0]
    assert (DEMO_END - first) >= dt.timedelta(days=179)
    assert dt.timedelta(0) <= DEMO_END - last < dt.timedelta(days=1)
    assert one(demo_db, "SELECT count(*) FROM alerts WHERE resolved_at IS NULL") >= 1


def test_transients_and_flaps(demo_db):
    transients = one(demo_db, """SELECT count(*) FROM alerts WHERE acknowledged_at IS NULL
        AND resolved_at - created_at <= INTERVAL 300 SECOND""")
    flaps = one(demo_db, """
        WITH a AS (SELECT signature, created_at,
                     max(resolved_at) OVER (PARTITION BY signature ORDER BY created_at
                                            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_resolved
                   FROM alerts)
        SELECT count(*) FROM a WHERE created_at - prev_resolved < INTERVAL 1800 SECOND""")
    assert transients >= 500 and flaps >= 500
    assert one(demo_db, "SELECT count(*) FROM alerts WHERE auto_resolved") >= transients


def test_nightly_batch_failures_wake_people_in_their_own_time_zone(demo_db):
    wakeups = one(demo_db, """
        SELECT count(*) FROM notifications n JOIN people p USING (source, person_id)
        WHERE n.channel IN ('phone', 'sms', 'push') AND p.time_zone IS NOT NULL
          AND (hour(timezone(p.time_zone, n.notified_at)) >= 22 OR hour(timezone(p.time_zone, n.notified_at)) < 8)""")
    nightly = one(demo_db, """SELECT count(*) FROM alerts WHERE title ILIKE 'Nightly ETL job%'
        AND hour(timezone('America/Los_Angeles', created_at)) BETWEEN 1 AND 4""")
    assert wakeups >= 200 and nightly >= 100


def test_people_in_many_time_zones_with_half_hour_and_southern_ones(demo_db):
    zones = {r[0] for r in q(demo_db, "SELECT DISTINCT time_zone FROM people WHERE time_zone IS NOT NULL")}
    assert len(zones) >= 4
    assert "Asia/Kolkata" in zones  # +05:30
    assert zones & {"Australia/Sydney", "Pacific/Auckland"}  # southern hemisphere
    assert one(demo_db, "SELECT count(*) FROM people WHERE time_zone IS NULL") >= 1  # exercises the fallback


def test_weekly_rotation_channels_and_escalation(demo_db):
    channels = {r[0] for r in q(demo_db, "SELECT DISTINCT channel FROM notifications")}
    assert {"push", "sms", "phone", "email"} <= channels
    # Each team's primary changes from week to week.
    rotating = one(demo_db, """
        WITH first_page AS (
            SELECT a.team, date_trunc('week', a.created_at) AS week, arg_min(n.person_id, n.notified_at) AS person
            FROM alerts a JOIN notifications n ON n.source = a.source AND n.alert_source_id = a.source_id
            GROUP BY ALL)
        SELECT count(*) FROM (SELECT team FROM first_page GROUP BY team HAVING count(DISTINCT person) >= 3)""")
    assert rotating >= 6
    escalated = one(demo_db, """
        SELECT count(*) FROM alerts a WHERE escalations > 0 AND (
            SELECT count(DISTINCT person_id) FROM notifications n
            WHERE n.source = a.source AND n.alert_source_id = a.source_id) = 2""")
    assert escalated >= 50


def test_reviews_follow_through_and_new_signatures(demo_db):
    start = one(demo_db, "SELECT min(created_at) FROM alerts")
    fixed = q(demo_db, """
        SELECT r.signature,
               (SELECT count(*) FROM alerts a WHERE a.signature = r.signature
                  AND a.created_at > r.reviewed_at + INTERVAL 14 DAY) AS later
        FROM reviews r WHERE r.verdict = 'noise'""")
    assert len(fixed) >= 4
    assert sum(1 for _, later in fixed if later == 0) >= 3  # fixed after the review
    assert sum(1 for _, later in fixed if later > 0) >= 1  # one keeps firing
    assert one(demo_db, "SELECT min(reviewed_at) FROM reviews WHERE verdict = 'noise'") < start + dt.timedelta(days=42)
    # New signatures appear in every sprint after the first.
    sprints_with_new = one(demo_db, """
        WITH firsts AS (SELECT signature, min(created_at) AS first_seen FROM alerts GROUP BY 1)
        SELECT count(DISTINCT floor(epoch(first_seen - $start) / (14 * 86400)))
        FROM firsts WHERE first_seen >= $start + INTERVAL 14 DAY""", {"start": start})
    assert sprints_with_new >= 11


def test_runbooks_and_fix_estimates_on_part_of_the_signatures(demo_db):
    with_runbook, total = q(demo_db, "SELECT count(DISTINCT signature) FILTER (WHERE runbook_url IS NOT NULL),"
                                      " count(DISTINCT signature) FROM alerts")[0]
    assert 0.2 * total <= with_runbook <= 0.7 * total
    estimated = one(demo_db, "SELECT count(*) FROM fix_estimates f JOIN (SELECT DISTINCT signature FROM alerts) a"
                             " USING (signature)")
    assert 2 <= estimated <= 10


def test_demo_cli_refuses_to_mix_with_a_providers_data(db, capsys):
    from ingest.cli import main

    with store.writing(db) as con:
        con.execute("INSERT INTO alerts (source, source_id, signature, team, created_at)"
                    " VALUES ('pagerduty', 'P1', 's', 't', now())")
    assert main(["demo", "--db", db, "--days", "3"]) == 2
    assert "never mix" in capsys.readouterr().err
    assert one(db, "SELECT count(*) FROM alerts WHERE source = 'demo'") == 0


@pytest.mark.parametrize(
    ("broken", "reason"),
    [
        ({"id": "X1", "title": "t"}, "created_at"),
        ({"id": "X2", "title": "t", "created_at": "yesterday"}, "ISO 8601"),
        ({"id": "X3", "title": None, "created_at": "2026-01-01T00:00:00Z"}, "title"),
        ({"id": "X4", "title": "t", "created_at": "2026-01-01T00:00:00Z",
          "log_entries": [{"id": "e", "type": "explode", "created_at": "2026-01-01T00:00:00Z"}]}, "unknown type"),
    ],
)
def test_bad_records_are_rejected_with_a_reason(broken, reason):
    mapped = map_each("incidents", [broken], lambda r: map_incident(r, settings.Settings()))
    assert mapped.count("alerts") == 0
    assert len(mapped.rejected) == 1 and reason in mapped.rejected[0].reason
    assert broken["id"] in mapped.rejected[0].raw
