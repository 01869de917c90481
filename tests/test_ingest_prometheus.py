"""Real Prometheus → Alertmanager → receiver on 127.0.0.1, and the backfill from Prometheus agreeing with it."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
import requests
from reads import source_status

import settings
import store
from ingest.http import HttpPolicy, ProviderError
from ingest.load import saved_cursor
from ingest.mapping import parse_time
from ingest.sources import alertmanager, prometheus
from ingest.sync import SyncRequest
from ingest.webhook_spool import PAYLOAD, read_segment
from store.migrations import MIGRATIONS
from tests.am_servers import REPO, free_port, start_alertmanager, start_prometheus, start_receiver, wait_until

pytestmark = pytest.mark.slow
BLINKING = "Blinking"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """Receiver, Alertmanager (routed to it with the bearer token) and Prometheus, started once."""
    work = tmp_path_factory.mktemp("am-stack")
    db = str(work / "alerts.duckdb")
    started_at = dt.datetime.now(dt.UTC)
    servers = {}
    try:
        servers["receiver"] = start_receiver(work / "receiver", db)
        servers["alertmanager"] = start_alertmanager(
            work / "alertmanager", f"{servers['receiver'].url}/alertmanager"
        )
        servers["prometheus"] = start_prometheus(work / "prometheus", servers["alertmanager"].url)
        yield {"db": db, "work": work, "started_at": started_at, **servers}
    finally:
        for server in reversed(list(servers.values())):
            server.stop()


def rows(db: str, where: str = "true") -> list[dict]:
    if not Path(db).exists():
        return []
    with store.reading(db) as con:
        result = con.execute(f"SELECT * FROM alerts WHERE {where} ORDER BY created_at")
        names = [d[0] for d in result.description]
        return [dict(zip(names, values, strict=True)) for values in result.fetchall()]


def resolved_blinks(db: str) -> list[dict]:
    return [r for r in rows(db, f"title <> '' AND signature LIKE '{BLINKING}|%'") if r["resolved_at"]]


def test_firing_then_resolved_alert_is_one_row_close_to_the_truth(stack):
    blinks = wait_until(lambda: resolved_blinks(stack["db"]), timeout=40, what="a resolved Blinking alert")
    for row in blinks:
        # The rule fires while time() % 10 < 4, evaluated every second.
        truth = dt.datetime.fromtimestamp(row["created_at"].timestamp() // 10 * 10, dt.UTC)
        assert 0 <= (row["created_at"] - truth).total_seconds() <= 1.5
        assert abs((row["resolved_at"] - (truth + dt.timedelta(seconds=4))).total_seconds()) <= 1.5
        assert row["auto_resolved"] is True
        assert row["team"] == "search" and row["signature"] == "Blinking|indexer"
    assert len({r["source_id"] for r in blinks}) == len(blinks)


def test_always_firing_alert_stays_open_with_labels_and_runbook(stack):
    [row] = wait_until(lambda: rows(stack["db"], "signature = 'AlwaysFiring|checkout'"), 30, "AlwaysFiring")
    assert row["resolved_at"] is None
    assert row["runbook_url"] == "https://runbooks.example/always"
    assert json.loads(row["labels"]) == {
        "alertname": "AlwaysFiring", "cluster": "test", "service": "checkout", "severity": "page",
        "team": "payments",
    }  # fmt: skip
    assert row["team"] == "payments" and row["severity"] == "page"
    assert "/graph?g0.expr=" in row["url"]


def test_fingerprints_agree_with_alertmanager(stack):
    live = wait_until(
        lambda: requests.get(stack["alertmanager"].url + "/api/v2/alerts", timeout=5).json(), 30, "alerts"
    )
    for alert in live:
        assert alertmanager.fingerprint(alert["labels"]) == alert["fingerprint"]


def run_backfill(db: str, url: str, since: dt.datetime, until: dt.datetime) -> subprocess.CompletedProcess:
    env = {**os.environ, "PROMETHEUS_URL": url, "PYTHONPATH": str(REPO)}
    argv = [sys.executable, "-m", "ingest", "sync", "--db", db, "--source", "prometheus",
            "--since", since.isoformat(), "--until", until.isoformat()]  # fmt: skip
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)


def test_backfill_agrees_with_the_webhook_and_merges_without_duplicates(stack, tmp_path):
    wait_until(lambda: len(resolved_blinks(stack["db"])) >= 2, timeout=40, what="two resolved blinks")
    until = dt.datetime.now(dt.UTC)
    since = stack["started_at"] - dt.timedelta(minutes=1)
    fresh = str(tmp_path / "backfill.duckdb")
    done = run_backfill(fresh, stack["prometheus"].url, since, until)
    assert done.returncode == 0, done.stdout + done.stderr
    backfilled = {r["source_id"]: r for r in rows(fresh)}
    received = [r for r in resolved_blinks(stack["db"]) if r["resolved_at"] < until - dt.timedelta(seconds=3)]
    assert received
    for row in received:
        twin = backfilled[row["source_id"]]
        assert abs((twin["created_at"] - row["created_at"]).total_seconds()) <= 1
        assert abs((twin["resolved_at"] - row["resolved_at"]).total_seconds()) <= 2
        assert twin["signature"] == row["signature"] and json.loads(twin["labels"]) == json.loads(row["labels"])
    # The run and its cursor are the backfill's own, so `ingest status` lists it beside the receiver.
    [listed] = source_status(fresh).query("source == 'prometheus'").to_dict("records")
    assert listed["last_status"] == "ok" and listed["alerts"] == 0
    assert saved_cursor(fresh, "prometheus", prometheus.STREAM) == until.isoformat()
    always = [r for r in backfilled.values() if r["signature"] == "AlwaysFiring|checkout"]
    assert len(always) == 1 and always[0]["resolved_at"] is None
    assert always[0]["runbook_url"] == "https://runbooks.example/always"

    done = run_backfill(stack["db"], stack["prometheus"].url, since, until)
    assert done.returncode == 0, done.stdout + done.stderr
    merged = rows(stack["db"], "signature = 'Blinking|indexer'")
    assert not overlapping(merged), "the backfill duplicated intervals the webhook had"
    for row in received:  # the webhook's exact times were kept
        [same] = [r for r in merged if r["source_id"] == row["source_id"]]
        assert (same["created_at"], same["resolved_at"]) == (row["created_at"], row["resolved_at"])


def overlapping(intervals: list[dict]) -> list[tuple[str, str]]:
    never = dt.datetime.max.replace(tzinfo=dt.UTC)
    ordered = sorted(intervals, key=lambda r: r["created_at"])
    return [
        (a["source_id"], b["source_id"])
        for a, b in zip(ordered, ordered[1:], strict=False)
        if b["created_at"] < (a["resolved_at"] or never)
    ]


def spooled_intervals(spool: Path) -> set[str]:
    found = set()
    for segment in sorted(spool.glob("*.seg")):
        for record in read_segment(segment):
            if record.kind == PAYLOAD:
                for alert in json.loads(record.body)["alerts"]:
                    starts = parse_time(alert["startsAt"])
                    found.add(alertmanager.source_id(alert["fingerprint"], starts))
    return found


def test_receiver_killed_while_alertmanager_sends_loses_nothing(stack):
    receiver = stack["receiver"]
    receiver.stop()  # restart it with loading paused, so acknowledged bodies sit in the spool
    paused = start_receiver(stack["work"] / "receiver", stack["db"], port=receiver.port,
                            extra=["--load-interval", "3600"])  # fmt: skip
    spool = paused.extra["spool"]
    acknowledged = wait_until(lambda: spooled_intervals(spool), timeout=30, what="spooled notifications")
    paused.kill()
    time.sleep(2)  # Alertmanager keeps sending into a dead port meanwhile
    restarted = start_receiver(stack["work"] / "receiver", stack["db"], port=receiver.port)
    stack["receiver"] = restarted
    wait_until(
        lambda: acknowledged <= {r["source_id"] for r in rows(stack["db"])}, timeout=30,
        what="every acknowledged notification in the database",
    )  # fmt: skip
    before = {r["source_id"] for r in resolved_blinks(stack["db"])}
    wait_until(lambda: {r["source_id"] for r in resolved_blinks(stack["db"])} - before, timeout=30,
               what="notifications after the restart")  # fmt: skip
    restarted.stop()


def test_query_range_chunks_stay_under_the_point_limit():
    pieces = list(prometheus.chunks(0, 100_000, 1.0))
    assert all((hi - lo) / 1.0 + 1 <= prometheus.MAX_POINTS for lo, hi in pieces)
    assert pieces[0][0] == 0 and pieces[-1][1] == 100_000
    assert all(b[0] - a[1] == 1.0 for a, b in zip(pieces, pieces[1:], strict=False))


def test_prometheus_errors_come_back_in_one_line_with_its_own_message(stack):
    api = prometheus.PrometheusApi(stack["prometheus"].url)
    with pytest.raises(ProviderError, match=r"prometheus: GET /api/v1/query_range failed: HTTP 400: .*parse error"):
        api.query_range("ALERTS{", 0, 60, 15)
    assert api.requests == 1  # a bad query is not retried


def test_an_unreachable_prometheus_is_retried_then_reported():
    api = prometheus.PrometheusApi(f"http://127.0.0.1:{free_port()}", HttpPolicy(max_attempts=3, wait_scale=0.001))
    with pytest.raises(ProviderError, match="prometheus: GET /api/v1/rules failed after 3 attempts: connection failed"):
        api.rules()
    assert api.requests == 3


def test_a_failed_backfill_is_a_run_of_its_own_in_ingest_status(tmp_path):
    db = str(tmp_path / "alerts.duckdb")
    url = f"http://127.0.0.1:{free_port()}"
    config = settings.parse({"providers": {"prometheus": {"base_url": url, "max_attempts": 1}}})
    result = prometheus.SYNC.sync(db, config, SyncRequest())
    assert result.status == "failed" and "connection failed" in result.error
    [listed] = source_status(db).to_dict("records")
    assert (listed["source"], listed["last_status"]) == ("prometheus", "failed")
    assert "connection failed" in listed["last_error"]


def test_an_old_database_keeps_the_backfill_cursor_under_the_backfill(tmp_path):
    db = str(tmp_path / "old.duckdb")
    con = duckdb.connect(db)
    [named] = [version for version, what, _ in MIGRATIONS if "Prometheus backfill" in what]
    store.migrate(con, target=named - 1)  # before the backfill had a name of its own
    con.execute("INSERT INTO sync_state VALUES ('alertmanager', 'prometheus', '2026-11-15T00:00:00+00:00', now())")
    con.execute("INSERT INTO sync_state VALUES ('alertmanager', 'webhook', 'w', now())")
    con.close()
    assert saved_cursor(db, "prometheus", prometheus.STREAM) == "2026-11-15T00:00:00+00:00"
    assert saved_cursor(db, "alertmanager", "webhook") == "w"
    assert saved_cursor(db, "alertmanager", prometheus.STREAM) is None
