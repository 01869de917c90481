"""Real Prometheus, Alertmanager and webhook receiver processes on 127.0.0.1 for the tests."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from tests.conftest import require_tool
from tests.provider_servers import iso

REPO = Path(__file__).resolve().parent.parent
TOKEN = "test-token-7c1f"

ALERTS_PER_BODY = 5


def numbered_body(number: int, name: str, base: dt.datetime, resolve_every: int) -> bytes:
    """Webhook body `number` of a numbered stream: ALERTS_PER_BODY distinct firing alerts (alert k
    starts k seconds after `base`, fingerprint k); every `resolve_every`-th body instead resolves
    the alerts of the body before it."""
    resolving = number % resolve_every == resolve_every - 1
    first = (number - 1 if resolving else number) * ALERTS_PER_BODY
    alerts = []
    for k in range(first, first + ALERTS_PER_BODY):
        start = base + dt.timedelta(seconds=k)
        alerts.append({
            "status": "resolved" if resolving else "firing",
            "labels": {"alertname": f"{name}{k % 17}", "job": f"job{k % 5}", "team": f"team{k % 3}"},
            "annotations": {"summary": f"{name} alert {k}"},
            "startsAt": iso(start),
            "endsAt": iso(start + dt.timedelta(seconds=60)) if resolving else "0001-01-01T00:00:00Z",
            "fingerprint": f"{k:016x}",
        })  # fmt: skip
    return json.dumps(
        {"version": "4", "status": "firing", "receiver": "hygiene", "groupKey": "{}:{}", "alerts": alerts}
    ).encode()


RULES = """\
groups:
  - name: hygiene-test
    interval: 1s
    rules:
      - alert: AlwaysFiring
        expr: vector(1)
        labels: {severity: page, team: payments, service: checkout}
        annotations:
          summary: Always firing
          runbook_url: https://runbooks.example/always
      - alert: Blinking
        expr: vector(time()) % 10 < 4
        labels: {severity: warning, team: search, job: indexer}
        annotations:
          summary: Blinks every ten seconds
          runbook_url: https://runbooks.example/blinking
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check: Callable[[], Any], timeout: float, what: str, every: float = 0.2) -> Any:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
        except (requests.RequestException, OSError):
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(every)


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen
    log: Path
    port: int
    extra: dict = field(default_factory=dict)

    def kill(self) -> None:
        """SIGKILL: no chance to flush or clean up."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def _spawn(name: str, argv: list[str], workdir: Path, port: int, ready_path: str, env=None) -> Server:
    log = workdir / f"{name}.log"
    with open(log, "ab") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=workdir, env=env)
    server = Server(name, f"http://127.0.0.1:{port}", process, log, port)
    try:
        wait_until(
            lambda: process.poll() is None and requests.get(server.url + ready_path, timeout=1).ok,
            timeout=30,
            what=f"{name} to be ready",
        )
    except AssertionError:
        server.stop()
        raise AssertionError(f"{name} did not start:\n{server.log_tail()}") from None
    return server


def start_alertmanager(workdir: Path, receiver_url: str, token: str = TOKEN) -> Server:
    binary = require_tool("prometheus-alertmanager", "alertmanager")
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "alertmanager.yml"
    config.write_text(
        "route:\n  receiver: hygiene\n  group_by: [alertname]\n"
        "  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\n"
        "receivers:\n  - name: hygiene\n    webhook_configs:\n"
        f"      - url: {receiver_url}\n        send_resolved: true\n"
        f"        http_config:\n          authorization:\n            credentials: {token}\n"
    )
    port = free_port()
    argv = [
        binary, f"--config.file={config}", f"--storage.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
    ]  # fmt: skip
    return _spawn("alertmanager", argv, workdir, port, "/-/ready")


def start_prometheus(workdir: Path, alertmanager_url: str, rules: str = RULES) -> Server:
    binary = require_tool("prometheus")
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "rules.yml").write_text(rules)
    target = alertmanager_url.removeprefix("http://")
    (workdir / "prometheus.yml").write_text(
        "global:\n  evaluation_interval: 1s\n  scrape_interval: 15s\n"
        "  external_labels: {cluster: test}\n"
        f"rule_files: [{workdir / 'rules.yml'}]\n"
        f"alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['{target}']\n"
    )
    port = free_port()
    argv = [
        binary, f"--config.file={workdir / 'prometheus.yml'}",
        f"--storage.tsdb.path={workdir / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
        "--rules.alert.resend-delay=1s",
    ]  # fmt: skip
    return _spawn("prometheus", argv, workdir, port, "/-/ready")


def start_receiver(
    workdir: Path, db: str, port: int | None = None, token: str | None = TOKEN, extra: list[str] = (),
    env: dict[str, str] | None = None,
) -> Server:
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    env = {k: v for k, v in {**os.environ, **(env or {})}.items() if k != "ALERTMANAGER_WEBHOOK_TOKEN"}
    env["PYTHONPATH"] = str(REPO)
    if token:
        env["ALERTMANAGER_WEBHOOK_TOKEN"] = token
    argv = [
        sys.executable, "-m", "ingest", "-v", "webhook", "--db", db, "--host", "127.0.0.1",
        "--port", str(port), "--spool", str(workdir / "spool"), "--load-interval", "0.2", *extra,
    ]  # fmt: skip
    server = _spawn("receiver", argv, workdir, port, "/healthz", env=env)
    server.extra["spool"] = workdir / "spool"
    return server
