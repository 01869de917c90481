"""A soak run: webhook load, provider syncs, dashboard clicks, a report loop, a CSV import and review saves at
once, each in its own process; what was lost, doubled or shown to a person as an error, and how long each waited."""

from __future__ import annotations

import csv
import datetime as dt
import json
import multiprocessing
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from store.pending import WAIT_S
from tests import reads
from tests.am_servers import ALERTS_PER_BODY, TOKEN, numbered_body, start_receiver, wait_until
from tests.conftest import ROOT
from tests.provider_servers import FAST, FakeOnCall, iso, oncall_history, serve

SYNC_SECRET = "oncall-soak-4d4d4d"


@dataclass(frozen=True)
class SoakPlan:
    """What runs at once, and how hard."""

    seconds: float
    rate: float = 20.0  # webhook bodies per second (5 alerts each)
    csv_rows: int = 0  # a PagerDuty CSV export of this many incidents imported once, alone first (0: none)
    think_s: tuple[float, float] = (1.0, 4.0)  # a person's pause between two dashboard pages
    report_pause_s: float = 2.0  # between two `python -m metrics report` runs (a script's loop)
    review_pause_s: float = 0.5  # between two verdicts saved in the retro
    sync: bool = True  # an OnCall sync loop against a growing fake OnCall
    env: dict[str, str] = field(default_factory=dict)  # extra environment for every process of the run


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
    reports: int = 0
    read_s: list[float] = field(default_factory=list)
    review_s: list[float] = field(default_factory=list)
    report_s: list[float] = field(default_factory=list)
    import_alone_s: float | None = None
    import_s: float | None = None
    import_waited_s: float = 0.0  # of import_s, waiting for the database (the lock)
    import_behind: tuple[float, float] = (0.0, 0.0)  # of that, behind writers and behind readers
    imported: int = 0
    import_alone_cpu_s: float = 0.0  # CPU seconds the import used alone, and with everything else:
    import_cpu_s: float = 0.0  # wall time beyond CPU and lock waits is time the machine ran others
    kept_left: int = 0  # saves still kept aside (store.pending) once everything has stopped
    review_units: list[dict] = field(default_factory=list)  # per save: see unit_record
    read_units: list[dict] = field(default_factory=list)  # per dashboard read

    @property
    def slowest_read_s(self) -> float:
        return max(self.read_s, default=0.0)

    @property
    def slowest_review_s(self) -> float:
        return max(self.review_s, default=0.0)

    @property
    def import_ratio(self) -> float | None:
        return self.import_s / self.import_alone_s if self.import_s and self.import_alone_s else None

    def lines(self) -> list[str]:
        lines = [
            f"minutes: {self.seconds / 60:.1f}", f"requests: {self.requests}", f"alerts: {self.alerts}",
            f"lost: {self.lost}", f"duplicated: {self.duplicated}",
            f"user-visible errors: {len(self.user_visible_errors)}",
            f"review saves: {len(self.review_s)}, p50 {percentile(self.review_s, 50):.2f}s, "
            f"p95 {percentile(self.review_s, 95):.2f}s, slowest {self.slowest_review_s:.2f}s",
            f"dashboard pages: {len(self.read_s)}, p50 {percentile(self.read_s, 50):.2f}s, "
            f"p95 {percentile(self.read_s, 95):.2f}s, slowest {self.slowest_read_s:.2f}s",
            f"reports: {len(self.report_s)}, p50 {percentile(self.report_s, 50):.2f}s, "
            f"p95 {percentile(self.report_s, 95):.2f}s",
            f"(webhook alerts acknowledged {self.acknowledged_alerts}, syncs {self.syncs}; "
            f"saves still kept aside at the end: {self.kept_left})",
        ]
        if self.review_units:
            kept = sum(1 for u in self.review_units if u.get("kept"))
            lines.append(f"review saves kept aside (the file busy for over {WAIT_S}s): {kept}; the others, "
                         "where the time went: " + spread([u for u in self.review_units if not u.get("kept")]))
            lines.append("  waited behind: " + blame([u for u in self.review_units if not u.get("kept")]))
        if self.read_units:
            lines.append("dashboard reads, where the time went: " + spread(self.read_units))
        if self.import_s is not None:
            ratio = f"{self.import_ratio:.2f}x" if self.import_ratio else "-"
            lines.append(f"CSV import of {self.imported} rows: alone {self.import_alone_s:.1f}s, "
                         f"with everything else {self.import_s:.1f}s ({ratio} its time alone; "
                         f"{self.import_waited_s:.1f}s of it waiting for the database: "
                         f"{self.import_behind[0]:.1f}s behind writers, {self.import_behind[1]:.1f}s behind readers)")
            lines.append(f"  CPU time of the import: alone {self.import_alone_cpu_s:.1f}s, with everything else "
                         f"{self.import_cpu_s:.1f}s; neither running nor waiting for the database (the machine "
                         f"busy with others): alone {self.import_alone_s - self.import_alone_cpu_s:.1f}s, with "
                         f"everything else {self.import_s - self.import_cpu_s - self.import_waited_s:.1f}s")
        return lines


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of `values`; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def spread(units: list[dict]) -> str:
    """p50/p95 of each part of units of work: waiting behind writers, behind readers, opening, working."""
    parts = []
    for key, name in (("queue", "behind writers"), ("gate", "behind readers"), ("open", "opening"),
                      ("work", "working")):
        values = [u[key] for u in units]
        parts.append(f"{name} p50 {percentile(values, 50):.2f}s p95 {percentile(values, 95):.2f}s")
    return "; ".join(parts)


def blame(units: list[dict]) -> str:
    """Whom the units waited behind: per role, how many units and their total wait."""
    waits: dict[str, list[float]] = {}
    for unit in units:
        for who in unit["behind"] or (["nobody"] if unit["queue"] + unit["gate"] < 0.05 else ["unknown"]):
            waits.setdefault(who, []).append(unit["queue"] + unit["gate"])
    return ", ".join(f"{who} {len(w)}x ({sum(w):.1f}s)" for who, w in sorted(waits.items(), key=lambda i: -sum(i[1])))


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


def post_load(url: str, stop, ready, rate: float, out: str) -> None:
    """Steady load on the receiver: `rate` bodies a second until `stop` is set."""
    session, acknowledged, errors = requests.Session(), [], []
    ready.release()
    started, number = time.monotonic(), -1
    while not stop.is_set():
        number += 1
        time.sleep(max(0.0, started + number / rate - time.monotonic()))  # pacing: the load is a rate, not a burst
        try:
            answer = session.post(url + "/alertmanager", data=body(number), timeout=30,
                                  headers={"Authorization": f"Bearer {TOKEN}"})
            (acknowledged.append(number) if answer.status_code == 200 else errors.append(f"HTTP {answer.status_code}"))
        except requests.RequestException as exc:
            errors.append(f"webhook: {type(exc).__name__}: {exc}")
    Path(out).write_text(json.dumps({"acknowledged": acknowledged, "errors": errors}))


def role(command: str) -> str:
    """What a process found holding the database lock was, from its command line."""
    for words, name in (("metrics report", "report"), ("ingest sync", "sync"), ("import", "import"),
                        ("webhook", "receiver"), (" -c ", "dashboard")):
        if words in f" {command} ":
            return name
    return "other"


def unit_record() -> dict:
    """Where this thread's last unit of work spent its time, and whom it waited behind."""
    import store.connection

    unit = store.connection.last_unit()
    return {"queue": unit.queue_s, "gate": unit.gate_s, "open": unit.open_s, "work": unit.work_s,
            "behind": sorted({role(command) for _, command in unit.behind}), "kept": unit.kept_aside}


class UnitLog:
    """Every unit of work this process does, as `unit_record`s (from store.connection's debug log)."""

    def __init__(self):
        import logging

        self.units: list[dict] = []
        handler = logging.Handler(logging.DEBUG)
        handler.emit = lambda record: self.units.append(unit_record()) if "held" in record.msg else None
        logger = logging.getLogger("store.connection")
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)


def click_loop(db: str, stop, ready, think_s: tuple[float, float], out: str, env: dict) -> None:
    """A person clicking through the dashboard: a page's reads on a cache miss, then a pause to look at it."""
    os.environ.update(env)
    import metrics

    units = UnitLog()

    period = metrics.between(dt.date(2026, 1, 1), dt.date(2027, 1, 1), "UTC")
    pages = [lambda: (reads.teams(db), reads.summary(db, period)), lambda: reads.noisy(db, period),
             lambda: reads.alert_list(db, period), lambda: reads.source_status(db)]
    rng, took, errors = random.Random(5), [], []
    ready.release()
    while not stop.is_set():
        began = time.monotonic()
        try:
            rng.choice(pages)()
        except Exception as exc:  # every failure here is one a person would have seen
            errors.append(f"read: {type(exc).__name__}: {str(exc)[:300]}")
        took.append(time.monotonic() - began)
        stop.wait(rng.uniform(*think_s))
    Path(out).write_text(json.dumps({"took": took, "errors": errors, "units": units.units}))


def review_loop(db: str, stop, ready, pause_s: float, out: str, env: dict) -> None:
    """A retro in progress: a verdict saved every `pause_s` seconds."""
    os.environ.update(env)
    from store import retro

    saved, errors, number, took, units = [], [], 0, [], []
    ready.release()
    while not stop.is_set():
        review_id, began = f"soak-{number:06d}", time.monotonic()
        try:
            retro.save_review(db, f"Soak{number % 17}|job{number % 5}", retro.VERDICTS[number % 4],
                              note=f"note {number}", reviewer="ana", review_id=review_id)
            saved.append(review_id)
        except Exception as exc:
            errors.append(f"review: {type(exc).__name__}: {str(exc)[:300]}")
        took.append(time.monotonic() - began)
        units.append(unit_record())
        number += 1
        stop.wait(pause_s)
    Path(out).write_text(json.dumps({"saved": saved, "errors": errors, "took": took, "units": units}))


# --- commands a person or a script runs (subprocesses, driven from threads of this process) -----------------


def command(argv: list[str], env: dict, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *argv], cwd=ROOT, env={**os.environ, **env}, capture_output=True,
                          text=True, timeout=timeout)


def report_loop(db: str, stop, pause_s: float, env: dict, result: SoakResult) -> None:
    while not stop.is_set():
        began = time.monotonic()
        done = command(["-m", "metrics", "report", "--db", db, "--from", "2026-01-01", "--to", "2027-01-01",
                        "--format", "json"], env)
        result.report_s.append(time.monotonic() - began)
        if done.returncode != 0:
            result.user_visible_errors.append(f"report exit {done.returncode}: {done.stderr.strip()[-300:]}")
        stop.wait(pause_s)


def write_csv_export(path: Path, rows: int) -> None:
    """A PagerDuty incident export of `rows` resolved incidents, one a minute from SOAK_BASE."""
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["ID", "Incident Number", "Title", "Created On", "Resolved On", "Service Name", "Team Name",
                      "Urgency", "Status"])
        for k in range(rows):
            created = SOAK_BASE + dt.timedelta(minutes=k)
            out.writerow([f"PSOAK{k:07d}", k + 1, f"Disk {k % 90}% full on db-{k % 13}", iso(created),
                          iso(created + dt.timedelta(seconds=60 + k % 900)), f"Service {k % 7}", f"team{k % 3}",
                          "high" if k % 4 else "low", "resolved"])


def import_csv(db: str, path: Path, env: dict) -> tuple[float, subprocess.CompletedProcess, float]:
    """Import the export: its wall time, how it ended, and the CPU seconds it used (user + system)."""
    began = time.monotonic()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen([sys.executable, "-m", "ingest", "-v", "import", str(path), "--format",
                                    "pagerduty-csv", "--db", db], cwd=ROOT, env={**os.environ, **env},
                                   stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(process.pid, 0)  # wait4, not wait: it says the child's CPU time
        process.returncode = os.waitstatus_to_exitcode(status)
        took = time.monotonic() - began
        out.seek(0)
        err.seek(0)
        done = subprocess.CompletedProcess(process.args, process.returncode, out.read(), err.read())
    return took, done, usage.ru_utime + usage.ru_stime


def lock_waits(stderr: str) -> float:
    """Seconds a command (run with -v) spent waiting for the database, from its log."""
    return sum(float(m) for m in re.findall(r"waited ([0-9.]+)s to (?:read|write) the database", stderr))


def import_together(db: str, path: Path, env: dict, result: SoakResult) -> None:
    result.import_s, done, result.import_cpu_s = import_csv(db, path, env)
    result.import_waited_s = lock_waits(done.stderr)
    behind = re.findall(r"\(([0-9.]+)s behind writers, ([0-9.]+)s behind readers", done.stderr)
    result.import_behind = (sum(float(w) for w, _ in behind), sum(float(r) for _, r in behind))
    if done.returncode != 0:
        result.user_visible_errors.append(f"import exit {done.returncode}: {done.stderr.strip()[-300:]}")


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


def sync_once(db: str, config: Path, url: str, env: dict) -> subprocess.CompletedProcess:
    return command(["-m", "ingest", "sync", "--db", db, "--config", str(config), "--source", "oncall"],
                   {**env, "GRAFANA_ONCALL_TOKEN": SYNC_SECRET, "GRAFANA_ONCALL_URL": url}, timeout=300)


def sync_loop(db: str, config: Path, url: str, stop, env: dict, result: SoakResult) -> None:
    while not stop.is_set():
        done = sync_once(db, config, url, env)
        result.syncs += 1
        if done.returncode != 0:
            result.user_visible_errors.append(f"sync exit {done.returncode}: {done.stderr.strip()[-300:]}")


# --- the run --------------------------------------------------------------------------------------------------


def run_soak(work: Path, plan: SoakPlan) -> SoakResult:
    """Everything at once for `plan.seconds`; then drain, sync once more and count what is lost or doubled."""
    work.mkdir(parents=True, exist_ok=True)
    db, result = str(work / "alerts.duckdb"), SoakResult()
    export = work / "incidents.csv"
    if plan.csv_rows:
        write_csv_export(export, plan.csv_rows)
        result.imported = plan.csv_rows
        result.import_alone_s, done, result.import_alone_cpu_s = import_csv(str(work / "alone.duckdb"), export,
                                                                            plan.env)
        if done.returncode != 0:
            result.user_visible_errors.append(f"import alone exit {done.returncode}: {done.stderr.strip()[-300:]}")
    provider = GrowingOnCall(dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    config = work / "alerthygiene.toml"
    config.write_text("[providers.oncall]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in FAST.items())
                      + "page_size = 20\nbatch_records = 20\nbackfill_days = 3\n")
    import store

    with store.writing(db):
        pass  # the database exists before anyone reads it (readers never create one)
    # The receiver loads its spool once a second, as it does by default (the tests' 0.2 s is for speed).
    receiver = start_receiver(work / "receiver", db, token=TOKEN, env=plan.env, extra=["--load-interval", "1"])
    began = time.monotonic()
    try:
        with serve(provider.fake) as url:
            outputs = _run_workers(work, db, receiver.url, url, config, plan, provider, export, result)
            wait_until(lambda: requests.get(receiver.url + "/healthz", timeout=5).json()["spool_segments"] == 0,
                       timeout=300, what="the webhook spool to drain")
            if plan.sync:
                final = sync_once(db, config, url, plan.env)
                if final.returncode != 0:
                    result.user_visible_errors.append(f"final sync exit {final.returncode}: {final.stderr[-300:]}")
    finally:
        receiver.stop()
    result.seconds = time.monotonic() - began
    _count(db, outputs, provider, plan, result)
    return result


def _run_workers(work, db, receiver_url, provider_url, config, plan: SoakPlan, provider, export, result) -> dict:
    """Start everything; stop it once `plan.seconds` have passed and the import (if any) has finished."""
    ctx = multiprocessing.get_context("spawn")
    stop, ready = ctx.Event(), ctx.Semaphore(0)
    outputs = {name: str(work / f"{name}.json") for name in ("load", "clicks", "reviews")}
    workers = [
        ctx.Process(target=post_load, args=(receiver_url, stop, ready, plan.rate, outputs["load"])),
        ctx.Process(target=click_loop, args=(db, stop, ready, plan.think_s, outputs["clicks"], plan.env)),
        ctx.Process(target=review_loop, args=(db, stop, ready, plan.review_pause_s, outputs["reviews"], plan.env)),
    ]
    loops = [threading.Thread(target=report_loop, args=(db, stop, plan.report_pause_s, plan.env, result))]
    if plan.sync:
        loops.append(threading.Thread(target=provider.grow, args=(max(plan.seconds / 20, 0.5),), daemon=True))
        loops.append(threading.Thread(target=sync_loop, args=(db, config, provider_url, stop, plan.env, result)))
    for worker in workers:
        worker.start()
    # The clock starts once every worker process is running its loop: on a busy machine starting
    # them (a Python with DuckDB and pandas each) can take longer than a short soak lasts.
    for _ in workers:
        if not ready.acquire(timeout=300):
            raise RuntimeError("a soak worker did not start within 300 s")
    deadline = time.monotonic() + plan.seconds
    for loop in loops:
        loop.start()
    if plan.csv_rows:
        time.sleep(min(5.0, plan.seconds / 6))  # the import starts into a running load
        import_together(db, export, plan.env, result)
    time.sleep(max(0.0, deadline - time.monotonic()))
    stop.set()
    provider.stop.set()
    for loop in loops:
        loop.join(timeout=900)
    for worker in workers:
        worker.join(300)
        if worker.exitcode != 0:
            result.user_visible_errors.append(f"worker {worker.name} exited {worker.exitcode}")
    return {name: json.loads(Path(path).read_text()) if Path(path).exists() else {} for name, path in outputs.items()}


def _count(db: str, outputs: dict, provider: GrowingOnCall, plan: SoakPlan, result: SoakResult) -> None:
    import store

    result.kept_left = len(store.pending.kept(db))  # the last writers (the receiver, the sync) applied them all
    load, clicks, reviews = outputs.get("load", {}), outputs.get("clicks", {}), outputs.get("reviews", {})
    result.user_visible_errors += load.get("errors", []) + clicks.get("errors", []) + reviews.get("errors", [])
    acknowledged = {sid for number in load.get("acknowledged", []) for sid in alert_ids(number)}
    groups = {g["id"] for g in provider.history.groups.records} if plan.sync else set()
    with store.reading(db) as con:
        webhook = dict(con.execute("SELECT source_id, count(*) FROM alerts WHERE source = 'alertmanager' "
                                   "GROUP BY ALL").fetchall())
        synced = dict(con.execute("SELECT source_id, count(*) FROM alerts WHERE source = 'oncall' "
                                  "GROUP BY ALL").fetchall())
        imported = con.execute("SELECT count(*), count(DISTINCT source_id) FROM alerts "
                               "WHERE source = 'pagerduty'").fetchone()
        stored_reviews = {r[0] for r in con.execute("SELECT review_id FROM reviews").fetchall()}
        result.alerts = con.execute("SELECT count(*) FROM alerts").fetchone()[0]
    result.requests = len(load.get("acknowledged", [])) + len(load.get("errors", []))
    result.acknowledged_alerts = len(acknowledged)
    result.read_s, result.read_units = clicks.get("took", []), clicks.get("units", [])
    result.reviews, result.review_s = len(reviews.get("saved", [])), reviews.get("took", [])
    result.review_units = reviews.get("units", [])
    result.reports = len(result.report_s)
    result.lost = (len(acknowledged - set(webhook)) + len(groups - set(synced))
                   + len(set(reviews.get("saved", [])) - stored_reviews) + (plan.csv_rows - imported[1]))
    result.duplicated = (sum(n - 1 for n in [*webhook.values(), *synced.values()])
                         + len(set(webhook) - acknowledged) + len(set(synced) - groups)
                         + (imported[0] - imported[1]))
