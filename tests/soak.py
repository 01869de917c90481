"""A soak run: webhook load, provider syncs, dashboard reads and review writes at once, each in its own process."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.am_servers import ALERTS_PER_BODY, TOKEN, numbered_body, start_receiver, wait_until
from tests.conftest import ROOT
from tests.provider_servers import FAST, FakeOnCall, iso, oncall_history, serve

SYNC_SECRET = "oncall-soak-4d4d4d"


@dataclass
class SoakResult:
    seconds: float = 0.0
    requests: int = 0
    acknowledged_alerts: int = 0
    alerts: int = 0
    lost: int = 0
    duplicated: int = 0
    user_visible_errors: list[str] = field(default_factory=list)
    reads: int = 0
    reviews: int = 0
    syncs: int = 0
    slowest_read_s: float = 0.0
    slowest_review_s: float = 0.0

    def lines(self) -> list[str]:
        return [
            f"minutes: {self.seconds / 60:.1f}", f"requests: {self.requests}", f"alerts: {self.alerts}",
            f"lost: {self.lost}", f"duplicated: {self.duplicated}",
            f"user-visible errors: {len(self.user_visible_errors)}",
            f"(webhook alerts acknowledged {self.acknowledged_alerts}, dashboard read sets {self.reads}, "
            f"slowest {self.slowest_read_s:.2f}s, reviews saved {self.reviews}, slowest "
            f"{self.slowest_review_s:.2f}s, syncs {self.syncs})",
        ]


# --- the workers (each runs in a process of its own) ----------------------------------------------------


SOAK_BASE = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
RESOLVE_EVERY = 4


def body(number: int) -> bytes:
    return numbered_body(number, "Soak", SOAK_BASE, RESOLVE_EVERY)


def alert_ids(number: int) -> list[str]:
    """The source ids the alerts of body `number` get (fingerprint @ startsAt)."""
    first = (number - 1 if number % RESOLVE_EVERY == RESOLVE_EVERY - 1 else number) * ALERTS_PER_BODY
    return [
        f"{k:016x}@{SOAK_BASE + dt.timedelta(seconds=k):%Y-%m-%dT%H:%M:%SZ}"
        for k in range(first, first + ALERTS_PER_BODY)
    ]


def post_load(url: str, seconds: float, rate: float, limit: int, out: str) -> None:
    """Steady load on the receiver: `rate` bodies a second, bounded by `limit` bodies and `seconds`."""
    session, acknowledged, errors = requests.Session(), [], []
    started = time.monotonic()
    for number in range(limit):
        due = started + number / rate
        if due - started > seconds:
            break
        time.sleep(max(0.0, due - time.monotonic()))  # pacing: the load is a rate, not a burst
        try:
            answer = session.post(url + "/alertmanager", data=body(number), timeout=30,
                                  headers={"Authorization": f"Bearer {TOKEN}"})
            (acknowledged.append(number) if answer.status_code == 200 else errors.append(f"HTTP {answer.status_code}"))
        except requests.RequestException as exc:
            errors.append(f"webhook: {type(exc).__name__}: {exc}")
    Path(out).write_text(json.dumps({"acknowledged": acknowledged, "errors": errors}))


def read_loop(db: str, seconds: float, out: str) -> None:
    """What a dashboard page does on a cache miss: a set of metrics reads, each one short connection."""
    import metrics
    from ingest import status

    period = metrics.between(dt.date(2026, 1, 1), dt.date(2027, 1, 1), "UTC")
    reads, errors, slowest = 0, [], 0.0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        began = time.monotonic()
        try:
            metrics.teams(db)
            metrics.summary(db, period)
            metrics.noisy(db, period)
            metrics.alert_list(db, period)
            status.source_status(db)
            reads += 1
        except Exception as exc:  # every failure here is one a person would have seen
            errors.append(f"read: {type(exc).__name__}: {str(exc)[:300]}")
        slowest = max(slowest, time.monotonic() - began)
    Path(out).write_text(json.dumps({"reads": reads, "errors": errors, "slowest": slowest}))


def review_loop(db: str, seconds: float, out: str) -> None:
    """A retro in progress: a verdict every few tens of milliseconds."""
    from store import retro

    saved, errors, number, slowest = [], [], 0, 0.0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        review_id, began = f"soak-{number:06d}", time.monotonic()
        try:
            retro.save_review(db, f"Soak{number % 17}|job{number % 5}", retro.VERDICTS[number % 4],
                              note=f"note {number}", reviewer="ana", review_id=review_id)
            saved.append(review_id)
        except Exception as exc:
            errors.append(f"review: {type(exc).__name__}: {str(exc)[:300]}")
        slowest = max(slowest, time.monotonic() - began)
        number += 1
        time.sleep(0.05)
    Path(out).write_text(json.dumps({"saved": saved, "errors": errors, "slowest": slowest}))


# --- the provider and its syncs (driven from this process) ----------------------------------------------------


class GrowingOnCall:
    """A fake OnCall whose history gains an alert group every `every` seconds while the soak runs."""

    def __init__(self, start: dt.datetime):
        self.history = oncall_history(60, start, spacing_s=600, open_last=0)
        self.fake = FakeOnCall(SYNC_SECRET, self.history)
        self.stop = threading.Event()
        self.added = 0

    def grow(self, every: float) -> None:
        template = self.history.groups.records[-1]
        while not self.stop.wait(every):
            self.added += 1
            now = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
            with self.fake.lock:
                self.history.groups.add({**template, "id": f"S{self.added:08d}", "created_at": iso(now),
                                         "acknowledged_at": None, "resolved_at": None, "state": "firing"})


def sync_once(db: str, config: Path, url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "GRAFANA_ONCALL_TOKEN": SYNC_SECRET, "GRAFANA_ONCALL_URL": url}
    return subprocess.run([sys.executable, "-m", "ingest", "sync", "--db", db, "--config", str(config),
                           "--source", "oncall"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def sync_loop(db: str, config: Path, url: str, seconds: float, result: SoakResult) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done = sync_once(db, config, url)
        result.syncs += 1
        if done.returncode != 0:
            result.user_visible_errors.append(f"sync exit {done.returncode}: {done.stderr.strip()[-300:]}")


# --- the run --------------------------------------------------------------------------------------------------


def run_soak(work: Path, seconds: float, rate: float = 20.0) -> SoakResult:
    """Everything at once for `seconds`; then drain, sync once more and count what is lost or doubled."""
    work.mkdir(parents=True, exist_ok=True)
    db, result = str(work / "alerts.duckdb"), SoakResult()
    provider = GrowingOnCall(dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    config = work / "alerthygiene.toml"
    config.write_text("[providers.oncall]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in FAST.items())
                      + "page_size = 20\nbatch_records = 20\nbackfill_days = 3\n")
    receiver = start_receiver(work / "receiver", db, token=TOKEN)
    began = time.monotonic()
    try:
        with serve(provider.fake) as url:
            outputs = _run_workers(work, db, receiver.url, url, config, seconds, rate, provider, result)
            wait_until(lambda: requests.get(receiver.url + "/healthz", timeout=5).json()["spool_segments"] == 0,
                       timeout=120, what="the webhook spool to drain")
            final = sync_once(db, config, url)
            if final.returncode != 0:
                result.user_visible_errors.append(f"final sync exit {final.returncode}: {final.stderr[-300:]}")
    finally:
        receiver.stop()
    result.seconds = time.monotonic() - began
    _count(db, outputs, provider, result)
    return result


def _run_workers(work, db, receiver_url, provider_url, config, seconds, rate, provider, result) -> dict:
    ctx = multiprocessing.get_context("spawn")
    outputs = {name: str(work / f"{name}.json") for name in ("load", "reads", "reviews")}
    workers = [
        ctx.Process(target=post_load, args=(receiver_url, seconds, rate, int(seconds * rate) + 1, outputs["load"])),
        ctx.Process(target=read_loop, args=(db, seconds, outputs["reads"])),
        ctx.Process(target=review_loop, args=(db, seconds, outputs["reviews"])),
    ]
    for worker in workers:
        worker.start()
    grower = threading.Thread(target=provider.grow, args=(max(seconds / 20, 0.5),), daemon=True)
    grower.start()
    sync_loop(db, config, provider_url, seconds, result)
    provider.stop.set()
    for worker in workers:
        worker.join(seconds + 300)
        if worker.exitcode != 0:
            result.user_visible_errors.append(f"worker {worker.name} exited {worker.exitcode}")
    return {name: json.loads(Path(path).read_text()) if Path(path).exists() else {} for name, path in outputs.items()}


def _count(db: str, outputs: dict, provider: GrowingOnCall, result: SoakResult) -> None:
    import store

    load, reads, reviews = outputs.get("load", {}), outputs.get("reads", {}), outputs.get("reviews", {})
    result.user_visible_errors += load.get("errors", []) + reads.get("errors", []) + reviews.get("errors", [])
    acknowledged = {sid for number in load.get("acknowledged", []) for sid in alert_ids(number)}
    groups = {g["id"] for g in provider.history.groups.records}
    with store.reading(db) as con:
        webhook = dict(con.execute("SELECT source_id, count(*) FROM alerts WHERE source = 'alertmanager' "
                                   "GROUP BY ALL").fetchall())
        synced = dict(con.execute("SELECT source_id, count(*) FROM alerts WHERE source = 'oncall' "
                                  "GROUP BY ALL").fetchall())
        stored_reviews = {r[0] for r in con.execute("SELECT review_id FROM reviews").fetchall()}
        result.alerts = con.execute("SELECT count(*) FROM alerts").fetchone()[0]
    result.requests = len(load.get("acknowledged", [])) + len(load.get("errors", []))
    result.acknowledged_alerts = len(acknowledged)
    result.reads, result.slowest_read_s = reads.get("reads", 0), reads.get("slowest", 0.0)
    result.reviews, result.slowest_review_s = len(reviews.get("saved", [])), reviews.get("slowest", 0.0)
    result.lost = (len(acknowledged - set(webhook)) + len(groups - set(synced))
                   + len(set(reviews.get("saved", [])) - stored_reviews))
    result.duplicated = (sum(n - 1 for n in [*webhook.values(), *synced.values()])
                         + len(set(webhook) - acknowledged) + len(set(synced) - groups))
