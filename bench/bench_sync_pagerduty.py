"""Benchmark: sync a large PagerDuty account from a local server; requests, rows/s and peak memory."""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.provider_servers import (  # noqa: E402
    PD_SERVICES,
    PD_TEAMS,
    PD_USERS,
    FakePagerDuty,
    PagerDutyHistory,
    TimeIndexed,
    iso,
    scalar,
    serve,
)

TOKEN = "bench-token"
SINCE = dt.datetime(2026, 5, 22, tzinfo=dt.UTC)
UNTIL = dt.datetime(2026, 11, 22, tzinfo=dt.UTC)
# Offsets (seconds after the trigger) of an incident's seven log entries.
KINDS = ("trigger", "push", "sms", "phone", "ack", "note", "resolve")


def _offsets(i: int) -> tuple[float, ...]:
    ack = 60 + (i * 37) % 840
    return (0, 5, 6, 7, ack, ack + 30, ack + 60 + (i * 53) % 3000)


class Incidents(Sequence):
    """Incident i, built when asked for, so the server holds no 100,000 dicts."""

    def __init__(self, count: int, spacing: float):
        self.count, self.spacing = count, spacing

    def __len__(self) -> int:
        return self.count

    def created(self, i: int) -> dt.datetime:
        return SINCE + dt.timedelta(seconds=i * self.spacing)

    def __getitem__(self, i):
        sid, name, team = PD_SERVICES[i % 3]
        created = self.created(i)
        resolved = created + dt.timedelta(seconds=_offsets(i)[-1])
        return {"id": f"Q{i:08d}", "type": "incident", "incident_number": i + 1,
                "title": f"CPU > {80 + i % 20}% on db-prod-{i % 13}", "status": "resolved", "urgency": "high",
                "created_at": iso(created), "resolved_at": iso(resolved), "last_status_change_at": iso(resolved),
                "service": {"id": sid, "type": "service_reference", "summary": name},
                "teams": [{"id": team, "type": "team_reference", "summary": dict(PD_TEAMS)[team]}] if team else [],
                "html_url": f"https://acme.pagerduty.com/incidents/Q{i:08d}"}


class LogEntries(Sequence):
    """Log entry j in time order, from a compact (time, incident, kind) index."""

    def __init__(self, incidents: Incidents, keys: list[int]):
        self.incidents, self.keys = incidents, keys

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, j):
        i, k = divmod(self.keys[j], 8)
        kind = KINDS[k]
        at = iso(self.incidents.created(i) + dt.timedelta(seconds=_offsets(i)[k]))
        user = {"id": PD_USERS[i % 3][0], "type": "user_reference"}
        entry = {"id": f"R{i:08d}{k}", "created_at": at, "incident": {"id": f"Q{i:08d}", "type": "incident_reference"},
                 "agent": user, "channel": {"type": "website"}}
        if kind == "trigger":
            entry.update(type="trigger_log_entry", agent={"id": "PSVC01", "type": "service_reference"})
        elif kind in ("push", "sms", "phone"):
            entry.update(type="notify_log_entry", user=user,
                         channel={"type": "auto", "notification": {"type": f"{kind}_notification"}})
        else:
            entry["type"] = {"ack": "acknowledge_log_entry", "note": "annotate_log_entry",
                             "resolve": "resolve_log_entry"}[kind]
        return entry


def build(count: int) -> PagerDutyHistory:
    spacing = (UNTIL - SINCE).total_seconds() / count * 0.999
    incidents = Incidents(count, spacing)
    index = sorted((i * spacing + offset, i * 8 + k) for i in range(count) for k, offset in enumerate(_offsets(i)))
    start = SINCE.timestamp()
    keys = [key for _, key in index]
    times = [start + t for t, _ in index]
    del index
    incident_times = [start + i * spacing for i in range(count)]
    teams = [{"id": i, "name": n, "summary": n} for i, n in PD_TEAMS]
    services = [{"id": i, "name": n, "teams": []} for i, n, _ in PD_SERVICES]
    users = [{"id": i, "name": n, "email": f"u{i}@acme.example", "time_zone": z, "teams": []} for i, n, z, _ in PD_USERS]
    assert bisect.bisect_left(times, UNTIL.timestamp()) == len(times), "every entry falls inside the range"
    return PagerDutyHistory(teams, services, users, TimeIndexed(incidents, times=incident_times),
                            TimeIndexed(LogEntries(incidents, keys), times=times))


def minimum_requests(history: PagerDutyHistory) -> int:
    pages = lambda n: max(1, -(-n // 100))  # noqa: E731
    return sum(pages(len(x)) for x in (history.teams, history.services, history.users,
                                       history.incidents.records, history.log_entries.records))


def run(count: int, db: str) -> dict:
    history = build(count)
    fake = FakePagerDuty(TOKEN, history)
    config = Path(tempfile.mkdtemp()) / "alerthygiene.toml"
    config.write_text("[providers.pagerduty]\nwait_scale = 0.01\n")
    with serve(fake) as url:
        env = {**os.environ, "PAGERDUTY_TOKEN": TOKEN, "PAGERDUTY_BASE_URL": url}
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "ingest", "sync", "--db", db, "--config", str(config), "--source", "pagerduty",
             "--since", SINCE.date().isoformat(), "--until", UNTIL.date().isoformat()],
            cwd=ROOT, env=env, capture_output=True, text=True)
        seconds = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"sync failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    rows = scalar(db, "SELECT rows_loaded FROM ingest_runs ORDER BY started_at DESC LIMIT 1")
    minimum = minimum_requests(history)
    return {
        "incidents": count, "log_entries": len(history.log_entries.records),
        "alerts_stored": scalar(db, "SELECT count(*) FROM alerts"),
        "events_stored": scalar(db, "SELECT count(*) FROM events"),
        "requests": len(fake.requests), "minimum_requests": minimum,
        "requests_ratio": round(len(fake.requests) / minimum, 3),
        "seconds": round(seconds, 1), "rows_loaded": rows, "rows_per_second": round(rows / seconds),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--incidents", type=int, default=100_000, help="incidents over 6 months (7 log entries each)")
    parser.add_argument("--db", default=None, help="database to write (default: a temporary file)")
    args = parser.parse_args()
    db = args.db or str(Path(tempfile.mkdtemp()) / "bench.duckdb")
    result = run(args.incidents, db)
    print(json.dumps(result, indent=2))
    print(f"requests {result['requests']} / minimum {result['minimum_requests']} = {result['requests_ratio']}x "
          f"(target <= 1.1x); {result['rows_per_second']} rows/s; peak memory {result['peak_rss_mb']} MB "
          f"(target < 500 MB)")


if __name__ == "__main__":
    main()
