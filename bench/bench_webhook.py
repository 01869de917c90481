"""Benchmark: durable webhook receiver throughput, and the JSON import against DuckDB's own read_json."""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import multiprocessing
import os
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.process import timed  # noqa: E402
from tests.am_servers import start_receiver  # noqa: E402

TOKEN = "bench-token"


def make_payload(rnd: random.Random, first: int, per: int, base: dt.datetime) -> dict:
    alerts = []
    for k in range(first, first + per):
        start = base + dt.timedelta(seconds=k * 7)
        resolved = rnd.random() < 0.5
        labels = {"alertname": f"Alert{k % 300}", "job": f"job{k % 40}", "instance": f"host-{k % 997}:9100",
                  "severity": rnd.choice(["page", "warning"]), "team": f"team{k % 7}"}  # fmt: skip
        alerts.append({
            "status": "resolved" if resolved else "firing", "labels": labels,
            "annotations": {"summary": f"thing {k} broke", "runbook_url": f"https://runbooks.example/{k % 300}"},
            "startsAt": start.isoformat().replace("+00:00", "Z"),
            "endsAt": (start + dt.timedelta(seconds=300)).isoformat().replace("+00:00", "Z")
            if resolved else "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example:9090/graph?g0.expr=up", "fingerprint": f"{k:016x}",
        })  # fmt: skip
    return {"version": "4", "groupKey": "{}:{}", "truncatedAlerts": 0, "status": "firing", "receiver": "hygiene",
            "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
            "externalURL": "http://alertmanager.example:9093", "alerts": alerts}  # fmt: skip


def _client(args: tuple) -> int:
    """One load-generator connection: POST batches until the count or the time is up."""
    port, worker, requests_each, seconds, per = args
    rnd = random.Random(worker)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    deadline, sent = time.monotonic() + seconds, 0
    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    while sent < requests_each and time.monotonic() < deadline:
        body = json.dumps(make_payload(rnd, (worker * requests_each + sent) * per, per, base))
        conn.request("POST", "/alertmanager", body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"receiver answered {response.status}")
        sent += 1
    conn.close()
    return sent


def bench_receiver(work: Path, connections: int, requests_total: int, seconds: float, per: int) -> None:
    os.environ["ALERTMANAGER_WEBHOOK_TOKEN"] = TOKEN
    server = start_receiver(work / "receiver", str(work / "recv.duckdb"), token=TOKEN)
    try:
        each = max(1, requests_total // connections)
        started = time.perf_counter()
        with multiprocessing.Pool(connections) as pool:
            sent = sum(pool.map(_client, [(server.port, w, each, seconds, per) for w in range(connections)]))
        took = time.perf_counter() - started
        print(f"receiver: {sent} requests ({sent * per} alerts) over {connections} connections in {took:.1f}s: "
              f"{sent / took:.0f} requests/s, {sent * per / took:.0f} alerts/s acknowledged (fsynced)")  # fmt: skip
        drained = time.perf_counter()
        while _pending(server) and time.perf_counter() - drained < 300:
            time.sleep(0.2)
        print(f"receiver: spool loaded into DuckDB {time.perf_counter() - drained:.1f}s after the last request")
    finally:
        server.stop()


def _pending(server) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", "/healthz")
    state = json.loads(conn.getresponse().read())
    conn.close()
    return state["spool_segments"]


def write_file(path: Path, alerts: int, per: int) -> None:
    """`alerts` alerts 7 s apart, the last an hour ago (an alert in the future is quarantined)."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    rnd, base = random.Random(1), now - dt.timedelta(seconds=7 * alerts + 3600)
    with open(path, "w") as out:
        for first in range(0, alerts, per):
            out.write(json.dumps(make_payload(rnd, first, min(per, alerts - first), base)) + "\n")


def _timed(code: str, *argv: str) -> tuple[float, float]:
    """Run `code` in a fresh interpreter; its wall time and its own peak memory (MB)."""
    return timed([sys.executable, "-c", code, *argv])


DUCKDB_READ = """
import sys, duckdb
con = duckdb.connect(sys.argv[2])
con.execute("CREATE TABLE t AS SELECT unnest(alerts, recursive := true) FROM read_json(?)", [sys.argv[1]])
"""
IMPORT = """
import sys, settings
from ingest.sources.alertmanager_import import load_file
load_file(sys.argv[1], sys.argv[2], settings.Settings())
"""


def write_doubled(path: Path, source: Path) -> None:
    """Every payload of `source` twice, the copies after all originals (every alert repeats)."""
    with open(path, "wb") as out:
        for _ in range(2):
            with open(source, "rb") as handle:
                while block := handle.read(1 << 20):
                    out.write(block)


def bench_import(work: Path, alerts: int, per: int, merges: bool) -> None:
    path = work / "alerts.jsonl"
    write_file(path, alerts, per)
    size = path.stat().st_size / 2**20
    duck, duck_peak = _timed(DUCKDB_READ, str(path), str(work / "duck.duckdb"))
    ours, peak = _timed(IMPORT, str(path), str(work / "import.duckdb"))
    print(f"import: {alerts} alerts ({size:.0f} MiB JSON lines, {per} per payload)")
    print(f"  DuckDB read_json into a table: {duck:.1f}s ({alerts / duck:.0f} alerts/s), "
          f"peak memory {duck_peak:.0f} MB")  # fmt: skip
    print(f"  python -m ingest import:       {ours:.1f}s ({alerts / ours:.0f} alerts/s), peak memory {peak:.0f} MB")
    print(f"  ratio (ours / DuckDB speed): {duck / ours:.2f} (target >= 0.33)")
    if not merges:
        return
    # The merge path: every key already stored, then every key repeating within the file.
    again, again_peak = _timed(IMPORT, str(path), str(work / "import.duckdb"))
    print(f"  the same file again (every key stored): {again:.1f}s, peak memory {again_peak:.0f} MB")
    doubled = work / "doubled.jsonl"
    write_doubled(doubled, path)
    twice, twice_peak = _timed(IMPORT, str(doubled), str(work / "doubled.duckdb"))
    print(f"  a file with every alert twice ({2 * alerts} alerts) into an empty database: "
          f"{twice:.1f}s, peak memory {twice_peak:.0f} MB")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--connections", type=int, default=8, help="concurrent load-generator connections")
    parser.add_argument("--requests", type=int, default=20_000, help="receiver: requests in total (bound)")
    parser.add_argument("--seconds", type=float, default=30, help="receiver: time bound")
    parser.add_argument("--per-request", type=int, default=10, help="alerts per webhook request")
    parser.add_argument("--import-alerts", type=int, default=1_000_000, help="alerts in the import file")
    parser.add_argument("--skip-receiver", action="store_true")
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument("--merges", action="store_true",
                        help="import: also re-import the file, and import a file with every alert twice")  # fmt: skip
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-webhook-") as scratch:
        work = Path(scratch)
        if not args.skip_receiver:
            bench_receiver(work, args.connections, args.requests, args.seconds, args.per_request)
        if not args.skip_import:
            bench_import(work, args.import_alerts, args.per_request, args.merges)


if __name__ == "__main__":
    main()
