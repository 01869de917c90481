"""SIGKILL at random points of a sync, of the webhook's spool load and of review writes: nothing lost or ahead."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest
import requests

import settings
import store
from ingest.sources.alertmanager import map_payload
from ingest.webhook import map_records
from ingest.webhook_spool import read_segment
from tests.am_servers import TOKEN, numbered_body, start_receiver, wait_until
from tests.conftest import ROOT
from tests.provider_servers import FAST, FakeOnCall, fingerprint, oncall_history, run_source, serve, ts

pytestmark = pytest.mark.slow
KILLS = 10
SEED = 20260522


def kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def assert_opens(db: str) -> None:
    """The file opens for writing (replaying any WAL) and for reading, at the latest schema."""
    if not Path(db).exists():
        return
    con = duckdb.connect(db)
    con.close()
    with store.reading(db) as con:
        assert store.schema_version(con) == store.LATEST_VERSION


def rows(db: str, sql: str, params=None) -> list[tuple]:
    if not Path(db).exists():
        return []
    with store.reading(db) as con:
        return con.execute(sql, params or []).fetchall()


# --- a provider sync ------------------------------------------------------------------------------------

SYNC_SECRET = "oncall-crash-5e5e5e"
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
UNTIL = dt.datetime(2026, 1, 16, tzinfo=dt.UTC)
# One-day windows: the cursor moves fifteen times; small batches: rows land between cursor moves too.
SYNC_OPTIONS = {"window_days": 1, "page_size": 10, "batch_records": 15}


def spawn_sync(db: str, config: Path, url: str) -> subprocess.Popen:
    env = {**os.environ, "GRAFANA_ONCALL_TOKEN": SYNC_SECRET, "GRAFANA_ONCALL_URL": url}
    return subprocess.Popen(
        [sys.executable, "-m", "ingest", "sync", "--db", db, "--config", str(config), "--source", "oncall",
         "--until", UNTIL.isoformat()],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def kill_during(fake: FakeOnCall, process: subprocess.Popen, pause_at: int, rng: random.Random) -> None:
    """Let the sync run to request `pause_at`, release it, and SIGKILL it a random few milliseconds later
    (while it maps, writes or asks for the next page)."""
    fake.requests.clear()
    fake.paused.clear()
    fake.resume.clear()
    fake.pause_at = pause_at
    while not fake.paused.wait(0.02):
        if process.poll() is not None:
            break
    fake.pause_at = None
    fake.resume.set()
    time.sleep(rng.uniform(0, 0.08))
    kill(process)


def assert_cursors_behind_rows(db: str, groups: list[dict]) -> None:
    """Every record a stream's cursor claims is stored: sync state never runs ahead of the rows."""
    stored = {r[0] for r in rows(db, "SELECT source_id FROM alerts WHERE source = 'oncall'")}
    for stream, cursor in rows(db, "SELECT stream, cursor FROM sync_state WHERE source = 'oncall'"):
        if stream == "alert_groups":
            claimed = {g["id"] for g in groups if ts(g["created_at"]) < ts(cursor)}
            assert claimed <= stored, f"cursor {cursor} is ahead of {len(claimed - stored)} groups"
        elif stream == "final_shifts":
            continue  # this history has no schedules (tests/test_ingest_schedules.py syncs some)
        else:
            table = {"teams": "teams", "integrations": "services", "users": "people"}[stream]
            assert rows(db, f"SELECT count(*) FROM {table} WHERE source = 'oncall'")[0][0] > 0, stream


def test_a_sync_killed_ten_times_never_runs_ahead_and_a_rerun_completes_it(tmp_path, monkeypatch):
    rng = random.Random(SEED)
    history = oncall_history(240, START, spacing_s=5400, open_last=0)
    fake = FakeOnCall(SYNC_SECRET, history)
    config = tmp_path / "alerthygiene.toml"
    config.write_text("[providers.oncall]\n" + "".join(f"{k} = {json.dumps(v)}\n"
                                                      for k, v in {**FAST, **SYNC_OPTIONS}.items()))
    whole, killed = str(tmp_path / "whole.duckdb"), str(tmp_path / "killed.duckdb")
    with serve(fake) as url:
        assert run_source(monkeypatch, whole, "oncall", url, SYNC_SECRET, SYNC_OPTIONS, until=UNTIL).status == "ok"
        needed = len(fake.requests)
        for _ in range(KILLS):
            kill_during(fake, spawn_sync(killed, config, url), rng.randint(1, needed), rng)
            assert_opens(killed)
            assert_cursors_behind_rows(killed, history.groups.records)
        # Each run marks the runs whose process was killed; only the last one may still be 'running'.
        assert rows(killed, "SELECT count(*) FROM ingest_runs WHERE status = 'running'")[0][0] <= 1
        again = spawn_sync(killed, config, url)
        out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    statuses = dict(rows(killed, "SELECT status, count(*) FROM ingest_runs GROUP BY ALL"))
    assert "running" not in statuses and statuses["killed"] >= 1  # the next run marked them (some kills came too late)
    assert SYNC_SECRET not in out + err
    assert fingerprint(killed, "oncall") == fingerprint(whole, "oncall")
    assert rows(killed, "SELECT count(*) FROM alerts")[0][0] == len(history.groups.records)


# --- the webhook receiver and its spool load --------------------------------------------------------------


def webhook_body(number: int) -> bytes:
    return numbered_body(number, "Crash", dt.datetime(2026, 2, 1, tzinfo=dt.UTC), resolve_every=3)


class Poster(threading.Thread):
    """Posts bodies one after another until stopped or the receiver dies; remembers what was acknowledged."""

    def __init__(self, url: str, first: int):
        super().__init__(daemon=True)
        self.url, self.next = url, first
        self.acknowledged: list[int] = []
        self.stop = threading.Event()

    def run(self) -> None:
        session = requests.Session()
        while not self.stop.is_set():
            try:
                answer = session.post(self.url + "/alertmanager", data=webhook_body(self.next), timeout=5,
                                      headers={"Authorization": f"Bearer {TOKEN}"})
            except requests.RequestException:
                return
            if answer.status_code == 200:
                self.acknowledged.append(self.next)
            self.next += 1


def ids_of(numbers, config) -> set[str]:
    found = set()
    for number in numbers:
        found |= {row["source_id"] for row in map_payload(json.loads(webhook_body(number)), config).rows["alerts"]}
    return found


def spooled_ids(spool: Path, config) -> set[str]:
    records = [r for segment in sorted(spool.glob("*.seg")) for r in read_segment(segment)]
    return {row["source_id"] for row in map_records(records, config).rows.get("alerts", [])}


def test_a_receiver_killed_ten_times_while_loading_loses_nothing_and_duplicates_nothing(tmp_path):
    rng, config = random.Random(SEED + 1), settings.Settings()
    db, work = str(tmp_path / "alerts.duckdb"), tmp_path / "receiver"
    acknowledged, attempted = [], 0
    for _ in range(KILLS):
        server = start_receiver(work, db, token=TOKEN, extra=["--max-body", "100000"])
        poster = Poster(server.url, attempted)
        poster.start()
        time.sleep(rng.uniform(0.3, 1.2))  # the random point: posting, spooling and loading all go on
        server.kill()
        poster.stop.set()
        poster.join(10)
        acknowledged += poster.acknowledged
        attempted = poster.next + 1
        assert_opens(db)
        stored = {r[0] for r in rows(db, "SELECT source_id FROM alerts")}
        assert ids_of(acknowledged, config) <= stored | spooled_ids(work / "spool", config)
        assert stored <= ids_of(range(attempted), config)
    server = start_receiver(work, db, token=TOKEN)
    wait_until(lambda: requests.get(server.url + "/healthz", timeout=5).json()["spool_segments"] == 0,
               timeout=60, what="the spool to drain")
    server.stop()
    assert len(acknowledged) > KILLS
    stored = rows(db, "SELECT source_id, resolved_at FROM alerts ORDER BY 1")
    assert len(stored) == len({sid for sid, _ in stored})
    assert ids_of(acknowledged, config) <= {sid for sid, _ in stored} <= ids_of(range(attempted), config)
    resolved_bodies = [n for n in acknowledged if n % 3 == 2]
    resolved = {sid for sid, at in stored if at is not None}
    assert ids_of(resolved_bodies, config) <= resolved


# --- review writes --------------------------------------------------------------------------------------

REVIEWS = 60
WRITER = """
import datetime as dt, sys
from store import retro
db, count = sys.argv[1], int(sys.argv[2])
print("ready", flush=True)
for i in range(count):
    retro.save_review(db, f"sig-{i % 7}", retro.VERDICTS[i % 4], note=f"note {i}", reviewer="ana",
                      reviewed_at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=i),
                      review_id=f"r{i:04d}")
    print(i, flush=True)
"""
REVIEW_SQL = "SELECT review_id, signature, verdict, note, reviewer, reviewed_at FROM reviews ORDER BY review_id"


def write_reviews(db: str) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", WRITER, db, str(REVIEWS)], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    return process


def test_review_writes_killed_ten_times_keep_every_saved_review_whole(tmp_path):
    rng = random.Random(SEED + 2)
    db, whole = str(tmp_path / "alerts.duckdb"), str(tmp_path / "whole.duckdb")
    writer = write_reviews(whole)
    assert writer.wait(120) == 0, writer.stderr.read()
    expected = {row[0]: row for row in rows(whole, REVIEW_SQL)}
    for _ in range(KILLS):
        writer = write_reviews(db)
        time.sleep(rng.uniform(0, 1.5))
        kill(writer)
        saved = {f"r{int(line):04d}" for line in writer.stdout.read().split()}
        assert_opens(db)
        stored = {row[0]: row for row in rows(db, REVIEW_SQL)}
        assert saved <= set(stored)  # a save that returned is durable
        assert all(expected[key] == row for key, row in stored.items())  # no torn or foreign row
    writer = write_reviews(db)
    assert writer.wait(120) == 0
    assert rows(db, REVIEW_SQL) == rows(whole, REVIEW_SQL)
