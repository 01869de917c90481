"""The webhook receiver as a real process on 127.0.0.1: auth, 400/413, spool durability, idempotent merge."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

import store
from ingest.webhook_spool import PAYLOAD, Record, Spool, encode, read_segment
from tests.am_servers import (
    ALERTS_PER_BODY,
    REPO,
    TOKEN,
    free_port,
    numbered_body,
    start_receiver,
    wait_until,
)

FIXTURES = Path(__file__).parent / "fixtures" / "alertmanager"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
START = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)


def body(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


@pytest.fixture
def receiver(tmp_path):
    server = start_receiver(tmp_path / "recv", str(tmp_path / "alerts.duckdb"), extra=["--max-body", "100000"])
    server.extra["db"] = str(tmp_path / "alerts.duckdb")
    yield server
    server.stop()


def post(server, data: bytes, headers=AUTH) -> requests.Response:
    return requests.post(server.url + "/alertmanager", data=data, headers=headers, timeout=10)


def query(db: str, sql: str) -> list[tuple]:
    if not Path(db).exists():
        return []
    with store.reading(db) as con:
        return con.execute(sql).fetchall()


def loaded(server) -> bool:
    """Everything spooled has been committed."""
    return requests.get(server.url + "/healthz", timeout=5).json()["spool_segments"] == 0


def test_wrong_or_missing_token_gets_401_and_stores_nothing(receiver):
    assert post(receiver, body("blinking_firing"), {"Authorization": "Bearer nope"}).status_code == 401
    assert post(receiver, body("blinking_firing"), {}).status_code == 401
    assert list(Path(receiver.extra["spool"]).glob("*.seg")) == []
    assert query(receiver.extra["db"], "SELECT * FROM alerts") == []


def test_malformed_body_gets_400_with_the_reason_and_lands_in_quarantine(receiver):
    response = post(receiver, b'{"version": "4", "alerts": "nope"')
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]
    assert post(receiver, b'{"version": "4"}').json() == {"error": "payload has no 'alerts' list"}
    rows = wait_until(
        lambda: len(got := query(receiver.extra["db"], "SELECT raw, reason FROM quarantine ORDER BY raw")) == 2
        and got,
        timeout=15,
        what="two quarantined bodies",
    )
    assert rows[0] == ('{"version": "4", "alerts": "nope"', rows[0][1])
    assert query(receiver.extra["db"], "SELECT count(*) FROM alerts") == [(0,)]


def test_body_over_the_limit_gets_413(receiver):
    assert post(receiver, b"x" * 100_001).status_code == 413
    assert list(Path(receiver.extra["spool"]).glob("*.seg")) == []


def test_healthz_answers(receiver):
    answer = requests.get(receiver.url + "/healthz", timeout=5)
    assert answer.status_code == 200 and answer.json()["status"] == "ok"


def test_repeated_notifications_change_nothing(receiver):
    for name in ("always_firing", "blinking_firing", "blinking_resolved"):
        assert post(receiver, body(name)).status_code == 200
    wait_until(lambda: loaded(receiver) and query(receiver.extra["db"], "SELECT count(*) FROM alerts") == [(2,)],
               timeout=15, what="two alerts")  # fmt: skip
    sql = "SELECT source_id, created_at, resolved_at, title, runbook_url, labels FROM alerts ORDER BY 1"
    before = query(receiver.extra["db"], sql)
    for name in ("blinking_firing", "always_firing", "blinking_resolved", "blinking_firing"):
        assert post(receiver, body(name)).status_code == 200
    wait_until(lambda: loaded(receiver), timeout=15, what="the spool to drain")
    assert query(receiver.extra["db"], sql) == before


def test_resolved_before_firing_makes_one_correct_row(receiver):
    post(receiver, body("blinking_resolved"))
    post(receiver, body("blinking_firing"))
    wait_until(lambda: loaded(receiver) and query(receiver.extra["db"], "SELECT count(*) FROM alerts") == [(1,)],
               timeout=15, what="one alert")  # fmt: skip
    [(created, resolved)] = query(receiver.extra["db"], "SELECT created_at, resolved_at FROM alerts")
    resolved_at = json.loads(body("blinking_resolved"))["alerts"][0]["endsAt"]
    assert resolved.isoformat().replace("+00:00", "Z").startswith(resolved_at[:19])
    assert (resolved - created).total_seconds() == 4


def test_spool_ignores_a_torn_tail_and_a_second_receiver(tmp_path):
    spool = Spool(tmp_path / "spool")
    spool.append(Record(PAYLOAD, 1.0, "", b'{"a": 1}')).result(timeout=5)
    spool.append(Record(PAYLOAD, 2.0, "", b'{"b": 2}')).result(timeout=5)
    [segment] = spool.seal()
    with open(segment, "ab") as handle:  # a crash in the middle of the next append
        handle.write(encode(Record(PAYLOAD, 3.0, "", b'{"c": 3}'))[:-3])
    assert [r.body for r in read_segment(segment)] == [b'{"a": 1}', b'{"b": 2}']
    with pytest.raises(RuntimeError, match="in use"):
        Spool(tmp_path / "spool")
    spool.close()


# --- stopping, health, refusing to listen beyond loopback without a token, killed runs ---------------------


def _run_rows(db: str) -> list[tuple]:
    with store.reading(db) as con:
        return con.execute("SELECT status, error FROM ingest_runs ORDER BY started_at").fetchall()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_ctrl_c_load_the_spool_record_the_run_and_print_no_traceback(tmp_path, sig):
    """What `systemctl stop` (SIGTERM) and Ctrl-C (SIGINT) do: drain, record the run as finished, exit 0."""
    db = str(tmp_path / "alerts.duckdb")
    receiver = start_receiver(tmp_path / "r", db, extra=["--load-interval", "3600"])  # only the final drain loads
    try:
        answer = requests.post(receiver.url + "/alertmanager", data=numbered_body(0, "Stop", START, 4),
                               headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
        assert answer.status_code == 200
        receiver.process.send_signal(sig)
        assert receiver.process.wait(timeout=60) == 0
    finally:
        receiver.kill()
    log = receiver.log.read_text()
    assert "Traceback" not in log and "KeyboardInterrupt" not in log
    assert store_count(db) == ALERTS_PER_BODY  # loaded on the way out
    assert [status for status, _ in _run_rows(db)] == ["ok"]


def store_count(db: str) -> int:
    with store.reading(db) as con:
        return con.execute("SELECT count(*) FROM alerts").fetchone()[0]


def test_a_run_killed_mid_way_is_marked_killed_by_the_next_run(tmp_path):
    db = str(tmp_path / "alerts.duckdb")
    receiver = start_receiver(tmp_path / "r", db, extra=["--load-interval", "0.1"])
    try:
        requests.post(receiver.url + "/alertmanager", data=numbered_body(0, "Kill", START, 4),
                      headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
        wait_until(lambda: Path(db).exists() and store_count(db) == ALERTS_PER_BODY, timeout=30, what="a load")
    finally:
        receiver.kill()  # SIGKILL: no chance to record anything
    assert [status for status, _ in _run_rows(db)] == ["running"]
    again = start_receiver(tmp_path / "r2", db, extra=["--load-interval", "0.1"])
    try:
        requests.post(again.url + "/alertmanager", data=numbered_body(1, "Kill", START, 4),
                      headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
        wait_until(lambda: len(_run_rows(db)) == 2, timeout=30, what="the second run")
        first, second = _run_rows(db)
        assert first[0] == "killed" and "stopped before it finished" in first[1]
        assert second[0] == "running"  # alive: never marked
    finally:
        again.stop()


def test_healthz_says_unhealthy_when_the_database_cannot_be_loaded_and_logs_the_error_once(tmp_path):
    db = str(tmp_path / "alerts.duckdb")
    receiver = start_receiver(tmp_path / "r", db, extra=["--load-interval", "0.1"])
    try:
        assert requests.get(receiver.url + "/healthz", timeout=5).status_code == 200
        Path(db).unlink()
        Path(db).mkdir()  # the database path is now something DuckDB cannot open
        requests.post(receiver.url + "/alertmanager", data=numbered_body(0, "Broken", START, 4),
                      headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
        wait_until(lambda: requests.get(receiver.url + "/healthz", timeout=5).status_code == 503, timeout=30,
                   what="/healthz to say 503")
        time.sleep(1.5)  # ~15 more failed loads
        health = requests.get(receiver.url + "/healthz", timeout=5).json()
        assert health["status"] == "unhealthy" and health["loader"]["repeats"] >= 5
    finally:
        receiver.stop()
    log = receiver.log.read_text()
    assert log.count("loading the spool failed") == 1 and "Traceback" not in log
    assert "came" in log and "more times" in log  # said when the receiver stopped


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10"])
def test_it_refuses_to_listen_beyond_loopback_without_a_token(tmp_path, host):
    env = {k: v for k, v in os.environ.items() if k != "ALERTMANAGER_WEBHOOK_TOKEN"}
    done = subprocess.run([sys.executable, "-m", "ingest", "webhook", "--db", str(tmp_path / "a.duckdb"),
                           "--host", host, "--port", str(free_port())], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and "--insecure-no-token" in done.stderr and done.stderr.count("\n") == 1
    assert not (tmp_path / "a.duckdb").exists()


def test_with_insecure_no_token_it_listens_on_all_addresses(tmp_path):
    db = str(tmp_path / "alerts.duckdb")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "ALERTMANAGER_WEBHOOK_TOKEN"}
    process = subprocess.Popen([sys.executable, "-m", "ingest", "webhook", "--db", db, "--host", "0.0.0.0",
                                "--port", str(port), "--insecure-no-token"], cwd=REPO, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok, timeout=30,
                   what="the receiver")
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_a_spool_that_cannot_be_made_is_one_line_at_start(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    done = subprocess.run([sys.executable, "-m", "ingest", "webhook", "--db", str(tmp_path / "a.duckdb"),
                           "--spool", str(blocker / "spool"), "--port", str(free_port())], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stderr.startswith(f"error: spool {blocker / 'spool'}:")
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
