"""The advisor's replay against the real thing: a recorded alert sequence played through real Prometheus and
Alertmanager with the team's configuration and with the patched one; the notifications counted match."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
import yaml
from metrics_fixtures import T0, am_alert, build, review

from advisor import check, durations
from advisor.amconfig import AmConfig
from advisor.cli import rules_from_prometheus
from advisor.plan import Configs
from advisor.plan import build as plan
from advisor.rules import RuleSet
from metrics import sprint_period
from settings import Advice, Settings
from tests.am_servers import Server, _spawn, free_port, wait_until
from tests.conftest import ROOT, require_tool

pytestmark = pytest.mark.slow
FIXTURES = ROOT / "tests" / "fixtures" / "advisor" / "replay"
SCALE = 60.0  # recorded seconds played per real second: a recorded minute takes one second
LEAD_IN_S = 4.0  # real seconds between the servers being ready and the first recorded minute
# Hold-downs up to 10 minutes: alerts of 12 minutes are never held-down candidates here.
SETTINGS = Settings(advice=Advice(hold_down_minutes=(0, 1, 2, 5, 10)))


@dataclass
class Series:
    """One label set of the replay's condition metric and the minutes in which its condition holds."""

    alertname: str
    labels: dict[str, str]
    minutes: list[tuple[float, float]]
    recorded: list[dict] = field(default_factory=list)


def timeline() -> list[Series]:
    series = []
    # DiskFull (for: 1m): six blips of 3.5 min on their own instances, two outages of 25 min.
    for i, start in enumerate((0, 1, 2, 3, 4, 5)):
        series.append(Series("DiskFull", {"check": "disk", "service": "db", "instance": f"t{i}"},
                             [(start, start + 3.5)]))  # fmt: skip
    for i, start in enumerate((0.5, 2.5)):
        series.append(Series("DiskFull", {"check": "disk", "service": "db", "instance": f"o{i}"},
                             [(start, start + 25)]))  # fmt: skip
    # QueueBacklog: one label set on for 12 min (someone acted on that one), then for 6 min after gaps of 3,
    # 3, 3 and then 15 min.
    on, start, length = [], 6.0, 12
    for gap in (3, 3, 3, 15, None):
        on.append((start, start + length))
        start += length + (gap or 0)
        length = 6
    series.append(Series("QueueBacklog", {"check": "queue", "service": "queue", "instance": "q1"}, on))
    # CheckoutErrors and CheckoutLatency: four incidents, both at once, 12 min each.
    for i, start in enumerate((12, 22, 32, 42)):
        for name, condition in (("CheckoutErrors", "checkout_errors"), ("CheckoutLatency", "checkout_latency")):
            series.append(Series(name, {"check": condition, "service": "checkout", "instance": "c1",
                                        "incident": str(i)}, [(start, start + 12)]))  # fmt: skip
    # NodeDown (15 min) and, a minute later, PodCrash (11 min) on the same node; once PodCrash alone.
    for i, start in enumerate((15, 20, 25, 30, 35, 40)):
        series.append(Series("NodeDown", {"check": "node", "service": "node", "node": f"k{i}", "instance": "n1"},
                             [(start, start + 15)]))  # fmt: skip
        series.append(Series("PodCrash", {"check": "pod", "service": "payments", "node": f"k{i}", "instance": "p1"},
                             [(start + 1, start + 12)]))  # fmt: skip
    series.append(Series("PodCrash", {"check": "pod", "service": "payments", "node": "k9", "instance": "p1"},
                         [(47, 59)]))  # fmt: skip
    return series


def rule_settings(rules_text: str) -> dict[str, tuple[dict, float, float]]:
    """Per alertname: static labels, for and keep_firing_for in seconds, as the rule file says."""
    found = {}
    for group in yaml.safe_load(rules_text)["groups"]:
        for rule in group["rules"]:
            found[rule["alert"]] = (rule.get("labels") or {}, durations.parse(rule.get("for")) or 0.0,
                                    durations.parse(rule.get("keep_firing_for")) or 0.0)  # fmt: skip
    return found


def recorded_history(series: list[Series], rules_text: str) -> tuple[list[dict], list[dict]]:
    """The firing intervals Prometheus records for the timeline under the team's rules (for: as written)."""
    rules = rule_settings(rules_text)
    alerts = []
    for one in series:
        static, hold_s, _ = rules[one.alertname]
        for start, end in one.minutes:
            if (end - start) * 60 <= hold_s:
                continue
            row = am_alert(T0 + dt.timedelta(minutes=start, seconds=hold_s), (end - start) * 60 - hold_s,
                           one.alertname, **{**one.labels, **static, "job": "replay"})  # fmt: skip
            one.recorded.append(row)
            alerts.append(row)
    disk = [s for s in series if s.alertname == "DiskFull" and s.labels["instance"].startswith("o")]
    queue = next(s for s in series if s.alertname == "QueueBacklog")
    reviews = [review("DiskFull|db", "actionable", T0, alert=s.recorded[0]) for s in disk]  # real outages
    reviews.append(review("QueueBacklog|queue", "actionable", T0, alert=queue.recorded[0]))
    reviews.append(review("NodeDown|node", "actionable", T0 - dt.timedelta(days=1)))
    return alerts, reviews


# --- the servers ------------------------------------------------------------------------------------------


class Condition:
    """The scrape target: `replay_condition` of each series, 1 while its condition holds in the played time."""

    def __init__(self, series: list[Series]):
        self.series = series
        self.started: float | None = None  # time.monotonic() of recorded minute 0

    def minute(self) -> float | None:
        return None if self.started is None else (time.monotonic() - self.started) * SCALE / 60

    def exposition(self) -> str:
        minute = self.minute()
        lines = ["# TYPE replay_condition gauge"]
        for one in self.series:
            on = minute is not None and any(a <= minute < b for a, b in one.minutes)
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(one.labels.items()))
            lines.append(f"replay_condition{{{labels}}} {1 if on else 0}")
        return "\n".join(lines) + "\n"


class Pages:
    """The webhook receiver: every notification body Alertmanager sends, by path."""

    def __init__(self):
        self.bodies: dict[str, list[dict]] = {}
        self.lock = threading.Lock()

    def add(self, path: str, body: dict) -> None:
        with self.lock:
            self.bodies.setdefault(path, []).append(body)

    def count(self, path: str, alertnames: set[str]) -> int:
        """Notifications to `path` naming a firing alert of one of `alertnames`."""
        with self.lock:
            return sum(
                any(a["status"] == "firing" and a["labels"].get("alertname") in alertnames for a in body["alerts"])
                for body in self.bodies.get(path, [])
            )


def serve(handler_for) -> tuple[ThreadingHTTPServer, int]:
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), handler_for)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, port


def condition_handler(condition: Condition):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            body = condition.exposition().encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Handler


def pages_handler(pages: Pages):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            pages.add(self.path, json.loads(body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    return Handler


# --- playing a configuration at the replay's speed ------------------------------------------------------


def scaled(seconds: float) -> str:
    """A recorded duration as the replay plays it, in Prometheus's notation."""
    return f"{max(1, round(seconds / SCALE * 1000))}ms"


def scale_rules(text: str) -> str:
    """The rule file with every duration played SCALE times faster, each rule following its own series."""
    document = yaml.safe_load(text)
    for group in document["groups"]:
        for rule in group["rules"]:
            for key in ("for", "keep_firing_for"):
                if rule.get(key):
                    rule[key] = scaled(durations.parse(rule[key]))
    return yaml.safe_dump(document, sort_keys=False)


def scale_alertmanager(text: str, url: str) -> str:
    document = yaml.safe_load(text)
    routes = [document["route"]]
    while routes:
        route = routes.pop()
        for key in ("group_wait", "group_interval", "repeat_interval"):
            if route.get(key):
                route[key] = scaled(durations.parse(route[key]))
        routes += route.get("routes") or []
    for receiver in document["receivers"]:
        for hook in receiver.get("webhook_configs") or []:
            hook["url"] = url
    return yaml.safe_dump(document, sort_keys=False)


def start_stack(work: Path, name: str, rules: str, alertmanager: str, target: str) -> list[Server]:
    """Alertmanager and Prometheus evaluating `rules` every 500 ms over the condition target."""
    prometheus_binary = require_tool("prometheus")
    alertmanager_binary = require_tool("prometheus-alertmanager", "alertmanager")
    folder = work / name
    folder.mkdir()
    (folder / "alertmanager.yml").write_text(alertmanager)
    am_port = free_port()
    am = _spawn(f"alertmanager-{name}", [
        alertmanager_binary, f"--config.file={folder / 'alertmanager.yml'}", f"--storage.path={folder / 'am'}",
        f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address=",
    ], folder, am_port, "/-/ready")  # fmt: skip
    (folder / "rules.yml").write_text(rules)
    (folder / "prometheus.yml").write_text(yaml.safe_dump({
        "global": {"scrape_interval": "500ms", "scrape_timeout": "400ms", "evaluation_interval": "500ms"},
        "rule_files": [str(folder / "rules.yml")],
        "scrape_configs": [{"job_name": "replay", "honor_labels": True, "static_configs": [{"targets": [target]}]}],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]},
    }))  # fmt: skip
    prom_port = free_port()
    prom = _spawn(f"prometheus-{name}", [
        prometheus_binary, f"--config.file={folder / 'prometheus.yml'}", f"--storage.tsdb.path={folder / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{prom_port}", "--rules.alert.resend-delay=500ms",
    ], folder, prom_port, "/-/ready")  # fmt: skip
    return [am, prom]


def machine_slips(prometheus: Server, alertmanager: Server, seconds: float) -> list[str]:
    """What the machine did to the replay's timing: failed scrapes, missed rule evaluations, failed sends.

    The replay's premise is a scrape and an evaluation every 500 ms; a starved machine breaks it, and the
    servers then see conditions end and start again that never did. Said beside a failure, not judged."""
    window = f"{int(seconds) + 1}s"
    query = f'count_over_time(up{{job="replay"}}[{window}]) - sum_over_time(up{{job="replay"}}[{window}])'
    result = requests.get(prometheus.url + "/api/v1/query", params={"query": query}, timeout=5).json()
    slips = {f"{prometheus.name} failed scrapes": sum(float(r["value"][1]) for r in result["data"]["result"])}
    for server, names in ((prometheus, ("prometheus_rule_group_iterations_missed_total",)),
                          (alertmanager, ("alertmanager_notifications_failed_total",))):  # fmt: skip
        for line in requests.get(server.url + "/metrics", timeout=5).text.splitlines():
            if line.startswith(names):
                name = f'{server.name} {line.split("{")[0].split(" ")[0]}'
                slips[name] = slips.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
    return [f"{name} {count:g}" for name, count in slips.items() if count]


def scraped(server: Server) -> bool:
    answer = requests.get(server.url + "/api/v1/query", params={"query": "count(replay_condition)"}, timeout=2)
    result = answer.json()["data"]["result"]
    return bool(result) and float(result[0]["value"][1]) > 0


# --- the test ------------------------------------------------------------------------------------------


def test_real_prometheus_and_alertmanager_send_the_pages_the_advisor_replays(tmp_path):
    rules_text = (FIXTURES / "rules.yml").read_text()
    am_text = (FIXTURES / "alertmanager.yml").read_text()
    series = timeline()
    alerts, reviews = recorded_history(series, rules_text)
    db = build(tmp_path / "history.duckdb", alerts=alerts, reviews=reviews)

    (tmp_path / "rules.yml").write_text(rules_text)
    configs = Configs(RuleSet.from_paths([tmp_path / "rules.yml"]), AmConfig("alertmanager.yml", am_text))
    advice = plan(db, sprint_period(SETTINGS, T0.date()), None, SETTINGS, configs)
    by_kind = {s.kind: s for s in advice.suggestions}
    assert sorted(by_kind) == ["group", "hold_down", "inhibit", "keep_firing"], [s.title for s in advice.suggestions]
    assert len(advice.suggestions) == 4, [s.title for s in advice.suggestions]
    assert all(s.change is not None for s in advice.suggestions), [s.note for s in advice.suggestions]
    patched = {f.kind: f.after for f in advice.files}
    assert all(c.ok for f in advice.files for c in f.checks), [c.output for f in advice.files for c in f.checks]

    condition, pages = Condition(series), Pages()
    target_server, target_port = serve(condition_handler(condition))
    pages_server, pages_port = serve(pages_handler(pages))
    servers: list[Server] = []
    try:
        hook = f"http://127.0.0.1:{pages_port}"
        for name, rules, am in (("before", rules_text, am_text),
                                ("after", patched["rules"], patched["alertmanager"])):  # fmt: skip
            servers += start_stack(tmp_path, name, scale_rules(rules), scale_alertmanager(am, f"{hook}/{name}"),
                                   f"127.0.0.1:{target_port}")  # fmt: skip
        for prometheus in servers[1::2]:
            wait_until(lambda p=prometheus: scraped(p), 30, f"{prometheus.name} scraping the replay")
        condition.started = time.monotonic() + LEAD_IN_S
        from_api = rules_from_prometheus(servers[1].url, {"max_attempts": 1})
        last = max(b for one in series for _, b in one.minutes)
        played_s = LEAD_IN_S + last * 60 / SCALE + 6  # the whole timeline, then the last flushes
        time.sleep(played_s)
        stacks = zip(servers[::2], servers[1::2], strict=True)  # (alertmanager, prometheus) of each
        slips = [slip for am, prom in stacks for slip in machine_slips(prom, am, played_s)]
    finally:
        for server in servers:
            server.stop()
        target_server.shutdown()
        pages_server.shutdown()

    # The rules as Prometheus serves them (--prometheus): the same rules, the played durations.
    played = {(r.alert, r.for_s, r.keep_firing_s, tuple(sorted(r.labels.items()))) for r in from_api.rules}
    assert played == {(alert, hold / SCALE, keep / SCALE, tuple(sorted(labels.items())))
                      for alert, (labels, hold, keep) in rule_settings(rules_text).items()}  # fmt: skip
    [rebuilt] = from_api.files
    assert check.rule_file_text(rebuilt.document.text, "rules.yml").ok

    failures = []
    for suggestion in advice.suggestions:
        names = {signature.split("|")[0] for signature in suggestion.signatures}
        got = (pages.count("/before", names), pages.count("/after", names))
        want = (suggestion.pages_before, suggestion.pages_after)
        if got != want:
            failures.append(f"{suggestion.kind} {sorted(names)}: real {got}, replay {want}")
    assert not failures, "; ".join(failures) + f"\nslips of the machine: {slips or 'none seen'}\n" + "\n".join(
        s.log_tail(10) for s in servers
    )
