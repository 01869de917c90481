"""Local HTTP servers that behave as providers.md says PagerDuty, Opsgenie and Grafana OnCall do."""

from __future__ import annotations

import base64
import bisect
import datetime as dt
import json
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

Response = tuple[int, dict[str, str], bytes]
FIXTURES = Path(__file__).parent / "fixtures"


class _Later:
    """tests.schedule_servers, imported on first use (it imports this module)."""

    def __getattr__(self, name: str) -> Any:
        from tests import schedule_servers as module

        return getattr(module, name)


schedule_servers = _Later()


def iso(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def ts(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(body).encode()


@dataclass
class Recorded:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    status: int = 0


@dataclass
class Fault:
    """Answer the next `times` requests whose path starts with `path` with a failure of `kind`."""

    kind: str  # "429", "500", "slow", "malformed", "empty-page"
    path: str = "/"
    times: int = 1
    headers: dict[str, str] = field(default_factory=dict)


class FakeProvider:
    """Shared behaviour: auth header, recorded requests, injected faults, a pause for kill tests."""

    auth_header = "Authorization"
    slow_s = 1.0

    def __init__(self, secret: str):
        self.secret = secret
        self.requests: list[Recorded] = []
        self.faults: list[Fault] = []
        self.lock = threading.Lock()
        self.pause_at: int | None = None  # the request number at which to stop and wait
        self.paused = threading.Event()
        self.resume = threading.Event()

    # subclasses: expected_auth(), error(status, message, headers), route(path, query, host)
    def expected_auth(self) -> str:
        raise NotImplementedError

    def error(self, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
        raise NotImplementedError

    def route(self, path: str, query: dict[str, list[str]], host: str) -> Response:
        raise NotImplementedError

    def handle(self, path: str, query: dict[str, list[str]], headers: dict[str, str], host: str) -> Response:
        with self.lock:
            record = Recorded(path, query, headers)
            self.requests.append(record)
            number = len(self.requests)
            fault = self._take_fault(path)
        if self.pause_at is not None and number >= self.pause_at:
            self.paused.set()
            self.resume.wait(30)
        response = self._respond(path, query, headers, host, fault)
        record.status = response[0]
        return response

    def authorized(self, headers: dict[str, str]) -> bool:
        return headers.get(self.auth_header) == self.expected_auth()

    def _respond(self, path, query, headers, host, fault: Fault | None) -> Response:
        if not self.authorized(headers):
            return self.error(401, "Unauthorized: the key is missing or not valid")
        if fault is not None and fault.kind == "429":
            return self.error(429, self.throttled_message, fault.headers)
        if fault is not None and fault.kind == "500":
            return self.error(500, "Internal Server Error")
        if fault is not None and fault.kind == "malformed":
            return 200, {"Content-Type": "application/json"}, b'{"truncated": [1, 2'
        if fault is not None and fault.kind == "slow":
            time.sleep(self.slow_s)
        try:
            return self.route(path, query, host)
        except BadRequest as exc:
            return self.error(exc.status, str(exc))

    throttled_message = "Too many requests"

    def _take_fault(self, path: str) -> Fault | None:
        for fault in self.faults:
            if path.startswith(fault.path) and fault.times > 0:
                fault.times -= 1
                return fault
        return None

    def rotas(self) -> Any:
        """The history's on-call schedules (schedule_servers.Rotas), none unless a test gives some."""
        return getattr(self.history, "rotas", None) or schedule_servers.Rotas()

    def served(self, path_prefix: str = "/", status: int | None = None) -> list[Recorded]:
        return [r for r in self.requests if r.path.startswith(path_prefix) and (status is None or r.status == status)]


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def one(query: dict[str, list[str]], name: str, default: str | None = None) -> str | None:
    values = query.get(name)
    return values[0] if values else default


def int_param(query, name: str, default: int, low: int, high: int | None, message: str) -> int:
    try:
        value = int(one(query, name, str(default)))
    except ValueError:
        raise BadRequest(message) from None
    if value < low or (high is not None and value > high):
        raise BadRequest(message)
    return value


@contextmanager
def serve(fake: FakeProvider) -> Iterator[str]:
    """Run `fake` on 127.0.0.1 in a thread; yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # else every response waits for a delayed ACK

        def do_GET(self):  # noqa: N802 - the stdlib's name
            parts = urlsplit(self.path)
            status, headers, body = fake.handle(
                parts.path, parse_qs(parts.query), dict(self.headers.items()), self.headers.get("Host", ""))
            try:
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        fake.resume.set()
        server.shutdown()
        server.server_close()


# --- records kept sorted by time, served by windows ----------------------------------------------------


class TimeIndexed:
    """Records with a time each, sorted; a window [since, until) is a slice found by bisection."""

    def __init__(self, records: Sequence[dict] | None = None, time_of: Callable[[dict], float] | None = None,
                 times: list[float] | None = None):
        # With `times` given, `records` may be any sequence (the benchmark builds records on demand).
        self.records = records if times is not None else list(records or [])
        self.time_of = time_of
        self.times = times if times is not None else [time_of(r) for r in self.records]
        if times is None:
            order = sorted(range(len(self.records)), key=lambda i: self.times[i])
            self.records = [self.records[i] for i in order]
            self.times = [self.times[i] for i in order]

    def window(self, since: float, until: float, inclusive_end: bool = False) -> tuple[int, int]:
        lo = bisect.bisect_left(self.times, since)
        hi = (bisect.bisect_right if inclusive_end else bisect.bisect_left)(self.times, until)
        return lo, hi

    def add(self, record: dict) -> None:
        at = self.time_of(record)
        i = bisect.bisect_right(self.times, at)
        self.times.insert(i, at)
        self.records.insert(i, record)


# --- PagerDuty ------------------------------------------------------------------------------------------

PD_OFFSET_CAP_MESSAGE = (
    "Offset+limit exceeds maximum allowed value of 10000. Please try to refine your search to reduce the "
    "returned set of records below this number, like adding a date range"
)
SIX_MONTHS = dt.timedelta(days=183)


class FakePagerDuty(FakeProvider):
    throttled_message = "Rate Limit Exceeded"

    def __init__(self, secret: str, history: PagerDutyHistory):
        super().__init__(secret)
        self.history = history
        self.refuse: dict[str, int] = {}  # path → 402 (an account without the feature) or 403 (the key may not)

    def expected_auth(self) -> str:
        return f"Token token={self.secret}"

    def error(self, status, message, headers=None) -> Response:
        return json_response(status, {"error": {"code": 2001 if status == 400 else status, "message": message,
                                                "errors": []}}, headers)

    def route(self, path, query, host) -> Response:
        if one(query, "time_zone", "UTC") != "UTC" and path == "/log_entries":
            raise BadRequest("this fake only renders UTC")
        if path in self.refuse:  # the spec's PaymentRequired and Forbidden responses
            status = self.refuse[path]
            return self.error(status, "Account does not have the abilities to perform the action" if status == 402
                              else "Caller is not authorized to view the requested resource")
        lists = {"/teams": self.history.teams, "/services": self.history.services, "/users": self.history.users}
        if path in lists:
            return self._page(path.strip("/"), lists[path], (0, len(lists[path])), query, descending=False)
        if path == "/incidents":
            return self._page("incidents", self.history.incidents.records, self._range(query, self.history.incidents,
                              max_range=SIX_MONTHS), query, descending=False)
        if path == "/log_entries":
            return self._page("log_entries", self.history.log_entries.records,
                              self._range(query, self.history.log_entries), query, descending=True)
        if path == "/oncalls":
            oncalls = schedule_servers.pagerduty_oncalls(self.rotas(), query)
            return self._page("oncalls", oncalls, (0, len(oncalls)), query, descending=False)
        return self.error(404, "Not Found")

    def _range(self, query, indexed: TimeIndexed, max_range: dt.timedelta | None = None) -> tuple[int, int]:
        try:
            until = ts(one(query, "until")) if one(query, "until") else time.time()
            since = ts(one(query, "since")) if one(query, "since") else until - 30 * 86400
        except ValueError:
            raise BadRequest("Invalid Input Provided: since/until are not dates") from None
        if since > until:
            raise BadRequest("Invalid Input Provided: since is after until")
        if max_range is not None and until - since > max_range.total_seconds():
            raise BadRequest("Invalid Input Provided: the date range may not exceed 6 months")
        return indexed.window(since, until)

    def _page(self, key, records, span, query, descending: bool) -> Response:
        limit = int_param(query, "limit", 25, 1, 100, "Invalid Input Provided: limit must be 1 to 100")
        offset = int_param(query, "offset", 0, 0, None, "Invalid Input Provided: offset")
        if offset + limit > 10_000:
            raise BadRequest(PD_OFFSET_CAP_MESSAGE)
        lo, hi = span
        count = hi - lo
        index = [hi - 1 - k if descending else lo + k for k in range(offset, min(offset + limit, count))]
        body = {key: [records[i] for i in index], "limit": limit, "offset": offset,
                "more": offset + limit < count, "total": count if one(query, "total") == "true" else None}
        return json_response(200, body, {"ratelimit-limit": "960", "ratelimit-remaining": "959",
                                         "ratelimit-reset": "60"})


@dataclass
class PagerDutyHistory:
    teams: list[dict]
    services: list[dict]
    users: list[dict]
    incidents: TimeIndexed
    log_entries: TimeIndexed
    open_ids: list[str] = field(default_factory=list)
    rotas: Any = None  # schedule_servers.Rotas

    def resolve(self, incident_id: str, at: dt.datetime, by_user: str | None) -> None:
        """The incident resolves now: its status changes and a resolve log entry appears."""
        incident = next(i for i in self.incidents.records if i["id"] == incident_id)
        incident.update(status="resolved", resolved_at=iso(at), last_status_change_at=iso(at))
        agent = {"id": by_user, "type": "user_reference"} if by_user else {"id": incident["service"]["id"],
                                                                             "type": "service_reference"}
        self.log_entries.add({"id": f"R{incident_id}RES", "type": "resolve_log_entry", "created_at": iso(at),
                              "agent": agent, "channel": {"type": "website" if by_user else "auto"},
                              "incident": {"id": incident_id, "type": "incident_reference"}})


PD_TEAMS = [("PTEAM01", "Data Platform"), ("PTEAM02", "Checkout")]
PD_SERVICES = [("PSVC01", "Postgres Prod", "PTEAM01"), ("PSVC02", "Payments API", "PTEAM02"),
               ("PSVC03", "Batch Jobs", None)]
PD_USERS = [("PUSER01", "Ana Ruiz", "Europe/Madrid", "PTEAM01"), ("PUSER02", "Bo Chen", "Asia/Singapore", "PTEAM02"),
            ("PUSER03", "Cy Okafor", "America/New_York", "PTEAM01")]
PD_TITLES = ["CPU > {n}% on db-prod-{m}", "Disk {n}% full on db-{m}", "Payment latency p99 above {n}ms",
             "Job nightly-export-{m} failed", "Pod restarting: api-{m}"]


def pagerduty_history(count: int, start: dt.datetime, spacing_s: float, seed: int = 1,
                      open_last: int = 2) -> PagerDutyHistory:
    """`count` incidents `spacing_s` apart with realistic log entries; the last `open_last` are still open."""
    rng = random.Random(seed)
    teams = [{"id": i, "type": "team", "name": n, "summary": n} for i, n in PD_TEAMS]
    names = dict(PD_TEAMS)
    services = [{"id": i, "type": "service", "name": n, "summary": n,
                 "teams": [{"id": t, "type": "team_reference", "summary": names[t]}] if t else []}
                for i, n, t in PD_SERVICES]
    users = [{"id": i, "type": "user", "name": n, "email": f"{n.split()[0].lower()}@acme.example", "time_zone": z,
              "teams": [{"id": t, "type": "team_reference", "summary": names[t]}]} for i, n, z, t in PD_USERS]
    incidents, entries, open_ids = [], [], []
    for k in range(count):
        created = start + dt.timedelta(seconds=k * spacing_s)
        still_open = k >= count - open_last
        incident, log = _pd_incident(rng, k, created, still_open)
        incidents.append(incident)
        entries.extend(log)
        if still_open:
            open_ids.append(incident["id"])
    return PagerDutyHistory(teams, services, users, TimeIndexed(incidents, lambda r: ts(r["created_at"])),
                            TimeIndexed(entries, lambda r: ts(r["created_at"])), open_ids)


def pagerduty_account() -> PagerDutyHistory:
    """PagerDuty's own examples (fixtures/pagerduty/official) with the cases built after its schema."""
    official = FIXTURES / "pagerduty" / "official"
    listed = {name: json.loads((official / f"{name}.json").read_text()) for name in
              ("listTeams", "listServices", "listUsers", "listIncidents", "listLogEntries")}
    built = json.loads((FIXTURES / "pagerduty" / "built" / "account.json").read_text())
    incidents = listed["listIncidents"]["incidents"] + built["incidents"]
    entries = listed["listLogEntries"]["log_entries"] + built["log_entries"]
    return PagerDutyHistory(listed["listTeams"]["teams"], listed["listServices"]["services"],
                            listed["listUsers"]["users"], TimeIndexed(incidents, lambda r: ts(r["created_at"])),
                            TimeIndexed(entries, lambda r: ts(r["created_at"])))


def _pd_incident(rng: random.Random, k: int, created: dt.datetime, still_open: bool) -> tuple[dict, list[dict]]:
    sid, sname, team = PD_SERVICES[k % len(PD_SERVICES)]
    incident_id = f"Q{k:07d}"
    title = PD_TITLES[k % len(PD_TITLES)].format(n=rng.randint(80, 99), m=rng.randint(1, 20))
    ref = {"id": incident_id, "type": "incident_reference"}
    responder = PD_USERS[k % len(PD_USERS)][0]
    at = lambda s: iso(created + dt.timedelta(seconds=s))  # noqa: E731
    log = [{"id": f"R{incident_id}T", "type": "trigger_log_entry", "created_at": at(0), "incident": ref,
            "agent": {"id": sid, "type": "service_reference"}, "channel": {"type": "api"}}]
    for n, kind in enumerate(("push_notification", "sms_notification", "phone_notification")[: 1 + k % 3]):
        log.append({"id": f"R{incident_id}N{n}", "type": "notify_log_entry", "created_at": at(5 + n), "incident": ref,
                    "user": {"id": responder, "type": "user_reference"},
                    "channel": {"type": "auto", "notification": {"type": kind, "status": "success"}}})
    acked = k % 4 != 3
    ack_s = rng.randint(60, 900)
    has_ack = acked and not (still_open and k % 2)
    if has_ack:
        log.append({"id": f"R{incident_id}A", "created_at": at(ack_s), "incident": ref,
                    "type": "acknowledge_log_entry" if k % 2 else "acknowledgement_log_entry",
                    "agent": {"id": responder, "type": "user_reference"}, "channel": {"type": "website"},
                    "acknowledgement_timeout": 1800})
    if k % 5 == 0:
        log.append({"id": f"R{incident_id}E", "type": "escalate_log_entry", "created_at": at(300), "incident": ref,
                    "agent": {"id": "PEP01", "type": "escalation_policy_reference"},
                    "assignees": [{"id": PD_USERS[(k + 1) % 3][0], "type": "user_reference"}],
                    "channel": {"type": "timeout"}})
    if k % 7 == 0:
        log.append({"id": f"R{incident_id}N", "type": "annotate_log_entry", "created_at": at(ack_s + 30),
                    "incident": ref, "agent": {"id": responder, "type": "user_reference"},
                    "channel": {"type": "note"}, "note": "Looking into it"})
    resolved = None
    if not still_open:
        resolve_s = ack_s + rng.randint(60, 3000) if acked else rng.randint(30, 280)
        resolved = at(resolve_s)
        by_user = acked
        log.append({"id": f"R{incident_id}R", "type": "resolve_log_entry", "created_at": resolved, "incident": ref,
                    "agent": {"id": responder, "type": "user_reference"} if by_user
                    else {"id": sid, "type": "service_reference"},
                    "channel": {"type": "website" if by_user else "auto"}})
    incident = {
        "id": incident_id, "type": "incident", "incident_number": k + 1, "title": title,
        "summary": f"[#{k + 1}] {title}", "status": "resolved" if resolved else ("acknowledged" if has_ack else "triggered"),
        "urgency": "high" if k % 3 else "low", "created_at": at(0), "resolved_at": resolved,
        "incident_key": f"{sname}/{k % 5}",
        "service": {"id": sid, "type": "service_reference", "summary": sname},
        "teams": [{"id": team, "type": "team_reference", "summary": dict(PD_TEAMS)[team]}] if team else [],
        "escalation_policy": {"id": "PEP01", "type": "escalation_policy_reference", "summary": "Default"},
        "priority": {"id": "PPRIO2", "type": "priority_reference", "summary": "P2"} if k % 2 else None,
        "assignments": [], "acknowledgements": [],
        "html_url": f"https://acme.pagerduty.com/incidents/{incident_id}",
    }
    return incident, log


# --- Opsgenie ------------------------------------------------------------------------------------------


def alert_search(alerts: TimeIndexed, query) -> list[dict]:
    """Opsgenie's (and JSM Operations') alert search, as far as the sync uses it: createdAt in a
    window of epoch milliseconds, sorted by createdAt."""
    text = one(query, "query", "")
    match = re.fullmatch(r"createdAt > (\d+) AND createdAt < (\d+)", text)
    if not match:
        raise BadRequest(f"this fake understands only 'createdAt > ms AND createdAt < ms', got {text!r}", 422)
    if one(query, "sort") != "createdAt":
        raise BadRequest("this fake sorts only by createdAt", 422)
    lo, hi = alerts.window(int(match.group(1)) / 1000 + 0.0005, int(match.group(2)) / 1000)
    records = alerts.records[lo:hi]
    return records[::-1] if one(query, "order", "desc") == "desc" else records


class FakeOpsgenie(FakeProvider):
    throttled_message = "You are making too many requests! To avoid errors, we recommend you limit requests."

    def __init__(self, secret: str, history: OpsgenieHistory):
        super().__init__(secret)
        self.history = history
        self.refuse: set[str] = set()  # paths refused with 403: a key restricted from configuration

    def expected_auth(self) -> str:
        return f"GenieKey {self.secret}"

    def error(self, status, message, headers=None) -> Response:
        return json_response(status, {"message": message, "code": status, "took": 0.001,
                                      "requestId": str(uuid.uuid4())}, headers)

    def route(self, path, query, host) -> Response:
        if path in self.refuse:
            return self.error(403, "You are not authorized for this operation. Check your API key's access rights.")
        if path == "/v2/teams":
            return json_response(200, {"data": self.history.teams, "took": 0.01, "requestId": "r"})
        if path == "/v2/users":
            return self._offset_page(host, path, self.history.users, query, cap=None)
        if path == "/v2/alerts":
            return self._alerts(host, query)
        match = re.fullmatch(r"/v2/alerts/([^/]+)/logs", path)
        if match:
            return self._logs(match.group(1), query)
        if path == "/v2/schedules":
            return json_response(200, {"data": self.rotas().schedules, "took": 0.01, "requestId": "r"})
        match = re.fullmatch(r"/v2/schedules/([^/]+)/timeline", path)
        if match:
            return schedule_servers.opsgenie_timeline(self.rotas(), match.group(1), query)
        return self.error(404, "Could not find the resource")

    def _alerts(self, host, query) -> Response:
        return self._offset_page(host, "/v2/alerts", alert_search(self.history.alerts, query), query, cap=20_000)

    def _offset_page(self, host, path, records, query, cap: int | None) -> Response:
        limit = int_param(query, "limit", 20, 1, 100, "limit should be between 1 and 100")
        offset = int_param(query, "offset", 0, 0, None, "offset should be 0 or more")
        if cap is not None and offset + limit > cap:
            raise BadRequest(f"offset + limit should be less than or equal to {cap}", 422)
        body: dict[str, Any] = {"data": records[offset: offset + limit], "took": 0.02, "requestId": "r"}
        flat = {k: v[0] for k, v in query.items()}
        paging = {"first": f"http://{host}{path}?{urlencode({**flat, 'offset': 0})}"}
        if offset + limit < len(records):
            paging["next"] = f"http://{host}{path}?{urlencode({**flat, 'offset': offset + limit})}"
        body["paging"] = paging
        return json_response(200, body, {"X-RateLimit-State": "OK"})

    def _logs(self, alert_id: str, query) -> Response:
        if one(query, "identifierType", "id") != "id":
            raise BadRequest("identifierType must be id here", 422)
        logs = self.history.logs.get(alert_id)
        if logs is None:
            return self.error(404, "Alert with id [" + alert_id + "] does not exist")
        limit = int_param(query, "limit", 20, 1, 100, "limit should be between 1 and 100")
        ordered = sorted(logs, key=lambda r: r["offset"], reverse=one(query, "order", "desc") == "desc")
        cursor = one(query, "offset")
        start = 0
        if cursor:
            positions = [i for i, r in enumerate(ordered) if r["offset"] == cursor]
            if not positions:
                raise BadRequest("invalid offset", 422)
            start = positions[0] + 1
        data = ordered[start: start + limit]
        paging = {"first": "first"}
        if start + limit < len(ordered):
            paging["next"] = f"/v2/alerts/{alert_id}/logs?offset={data[-1]['offset']}&direction=next"
        return json_response(200, {"data": data, "paging": paging, "took": 0.01, "requestId": "r"})


@dataclass
class OpsgenieHistory:
    teams: list[dict]
    users: list[dict]
    alerts: TimeIndexed
    logs: dict[str, list[dict]]
    rotas: Any = None  # schedule_servers.Rotas

    def close(self, alert_id: str, at: dt.datetime, by: str) -> None:
        alert = next(a for a in self.alerts.records if a["id"] == alert_id)
        created = ts(alert["createdAt"])
        alert.update(status="closed", updatedAt=iso(at))
        alert.setdefault("report", {}).update(closeTime=int((at.timestamp() - created) * 1000), closedBy=by)
        self.logs[alert_id].append(_og_log(at, "Alert closed via web", by))


def opsgenie_account() -> OpsgenieHistory:
    """Opsgenie's own examples (fixtures/opsgenie/official) with the cases built after its schemas."""
    official = FIXTURES / "opsgenie" / "official"
    alerts = json.loads((official / "listAlerts.json").read_text())["data"]
    logs = json.loads((official / "listAlertLogs.json").read_text())["data"]
    built = json.loads((FIXTURES / "opsgenie" / "built" / "account.json").read_text())
    return OpsgenieHistory(built["teams"], built["users"],
                           TimeIndexed(alerts + built["alerts"], lambda r: ts(r["createdAt"])),
                           {alerts[0]["id"]: logs, **built["logs"]})


OG_TEAMS = [("4513b7ea-0000-0000-0000-000000000001", "Data Platform"),
            ("4513b7ea-0000-0000-0000-000000000002", "Checkout")]
OG_USERS = [("bb4d9938-0000-0000-0000-000000000001", "ana@acme.example", "Ana Ruiz", "Europe/Madrid"),
            ("bb4d9938-0000-0000-0000-000000000002", "bo@acme.example", "Bo Chen", "Asia/Singapore")]


def _og_log(at: dt.datetime, text: str, owner: str, kind: str = "system") -> dict:
    millis = int(at.timestamp() * 1000)
    return {"log": text, "type": kind, "owner": owner, "createdAt": iso(at), "offset": f"{millis}_{millis}000123"}


def opsgenie_history(count: int, start: dt.datetime, spacing_s: float, seed: int = 2, open_last: int = 2,
                     logs_per_alert: int = 1) -> OpsgenieHistory:
    rng = random.Random(seed)
    teams = [{"id": i, "name": n, "description": ""} for i, n in OG_TEAMS]
    users = [{"id": i, "username": u, "fullName": n, "timeZone": z, "role": {"name": "User"}} for i, u, n, z in OG_USERS]
    alerts, logs = [], {}
    for k in range(count):
        created = start + dt.timedelta(seconds=k * spacing_s, milliseconds=rng.randint(0, 999))
        alert_id = str(uuid.UUID(int=rng.getrandbits(128)))
        user = OG_USERS[k % 2][1]
        still_open = k >= count - open_last
        acked = k % 3 != 2 and not (still_open and k % 2)
        ack_ms, close_ms = rng.randint(30_000, 600_000), rng.randint(700_000, 3_000_000)
        report = {}
        if acked:
            report.update(ackTime=ack_ms, acknowledgedBy=user)
        if not still_open:
            report.update(closeTime=close_ms if acked else rng.randint(20_000, 250_000),
                          closedBy=user if acked else "Prometheus")
        alert = {
            "id": alert_id, "tinyId": str(k + 1), "alias": f"alias-{k % 9}",
            "message": f"Disk {rng.randint(80, 99)}% full on db-{rng.randint(1, 20)}",
            "status": "open" if still_open else "closed", "acknowledged": acked, "isSeen": True,
            "tags": ["db"], "snoozed": False, "count": 1 + k % 4, "createdAt": iso(created),
            "updatedAt": iso(created + dt.timedelta(milliseconds=report.get("closeTime", ack_ms))),
            "source": "prometheus", "owner": user if acked else "", "priority": f"P{1 + k % 5}",
            "responders": [{"id": OG_TEAMS[k % 2][0], "type": "team"}, {"id": OG_USERS[k % 2][0], "type": "user"}],
            "integration": {"id": "c9cec2cb", "name": ["Prometheus", "CloudWatch"][k % 2], "type": "API"},
        }
        if report:
            alert["report"] = report
        alerts.append(alert)
        lines = [_og_log(created, "Alert created via API[Prometheus]", "System")]
        lines.append(_og_log(created + dt.timedelta(seconds=2), f"Sent push notification to {user}", user,
                             "alertRecipient"))
        if k % 2:
            lines.append(_og_log(created + dt.timedelta(seconds=3), f"Sent SMS to {user}", user, "alertRecipient"))
        lines.extend(_og_log(created + dt.timedelta(seconds=4, milliseconds=j), "Viewed on [web]", user,
                             "alertRecipient") for j in range(logs_per_alert))
        if acked:
            lines.append(_og_log(created + dt.timedelta(milliseconds=ack_ms), "Alert acknowledged via web", user))
        if not still_open:
            closer = report["closedBy"]
            lines.append(_og_log(created + dt.timedelta(milliseconds=report["closeTime"]),
                                 "Alert closed via web" if acked else "Alert closed via API[Prometheus]",
                                 closer if acked else "System"))
        logs[alert_id] = lines
    return OpsgenieHistory(teams, users, TimeIndexed(alerts, lambda r: ts(r["createdAt"])), logs)


# --- Grafana OnCall ---------------------------------------------------------------------------------------


class FakeOnCall(FakeProvider):
    auth_header = "Authorization"
    throttled_message = "Request was throttled. Expected available in 1 second."

    def __init__(self, secret: str, history: OnCallHistory, grafana_url: str | None = None):
        super().__init__(secret)
        self.history = history
        self.grafana_url = grafana_url  # a service account token (glsa_...) is taken only with X-Grafana-URL
        self.refuse: set[str] = set()  # paths refused with 403, as RBAC does to a key without the permission

    def expected_auth(self) -> str:
        return self.secret

    def authorized(self, headers) -> bool:
        # engine/apps/auth_token/auth.py: GrafanaServiceAccountAuthentication finds the organization
        # by X-Grafana-URL (else, on Grafana Cloud, fails with "Missing X-Grafana-Instance-ID")
        if self.secret.startswith("glsa_") and headers.get("X-Grafana-URL") != self.grafana_url:
            return False
        return super().authorized(headers)

    def error(self, status, message, headers=None) -> Response:
        return json_response(status, {"detail": message}, headers)

    def route(self, path, query, host) -> Response:
        if path in self.refuse:
            return self.error(403, "You do not have permission to perform this action.")
        lists = {"/api/v1/teams/": self.history.teams, "/api/v1/integrations/": self.history.integrations,
                 "/api/v1/users/": self.history.users}
        if path in lists:
            return self._page(host, path, lists[path], query)
        if path == "/api/v1/alert_groups/":
            return self._alert_groups(host, query)
        if path == "/api/v1/schedules/":
            return self._page(host, path, self.rotas().schedules, query)
        match = re.fullmatch(r"/api/v1/schedules/([^/]+)/final_shifts", path)
        if match:
            emails = {u["id"]: u["email"] for u in self.history.users}
            return schedule_servers.oncall_final_shifts(self.rotas(), match.group(1), query, emails)
        return self.error(404, "Not found.")

    def _alert_groups(self, host, query) -> Response:
        records = self.history.groups.records
        window = one(query, "started_at")
        if window:
            try:
                start, end = (dt.datetime.strptime(p, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=dt.UTC).timestamp()
                              for p in window.split("_"))
            except ValueError:
                raise BadRequest("started_at: expected YYYY-MM-DDTHH:MM:SS_YYYY-MM-DDTHH:MM:SS") from None
            lo, hi = self.history.groups.window(start, end, inclusive_end=True)
            records = records[lo:hi]
        return self._page(host, "/api/v1/alert_groups/", records[::-1], query)  # newest first

    def _page(self, host, path, records, query) -> Response:
        size = min(int_param(query, "perpage", 50, 1, None, "Invalid perpage"), 50)
        page = int_param(query, "page", 1, 1, None, "Invalid page.")
        pages = max(1, -(-len(records) // size))
        if page > pages:
            return self.error(404, "Invalid page.")
        flat = {k: v[0] for k, v in query.items()}
        link = lambda n: f"http://{host}{path}?{urlencode({**flat, 'page': n})}"  # noqa: E731
        return json_response(200, {
            "count": len(records), "next": link(page + 1) if page < pages else None,
            "previous": link(page - 1) if page > 1 else None,
            "results": records[(page - 1) * size: page * size], "page_size": size,
            "current_page_number": page, "total_pages": pages})


@dataclass
class OnCallHistory:
    teams: list[dict]
    integrations: list[dict]
    users: list[dict]
    groups: TimeIndexed
    rotas: Any = None  # schedule_servers.Rotas

    def resolve(self, group_id: str, at: dt.datetime, by: str | None) -> None:
        group = next(g for g in self.groups.records if g["id"] == group_id)
        group.update(state="resolved", resolved_at=iso(at), resolved_by=by)

    def change(self, later: dict) -> None:
        """Apply what changed between two syncs (built/account.json's `later`)."""
        gone = set(later.get("deleted_integrations", ()))
        self.integrations = [i for i in self.integrations if i["id"] not in gone]
        for group in self.groups.records:
            group.update(later.get("alert_groups", {}).get(group["id"], {}))


def oncall_account() -> tuple[OnCallHistory, dict]:
    """OnCall's own examples (fixtures/oncall/official) with the cases built after its serializers;
    also what changes before a second sync."""
    official = FIXTURES / "oncall" / "official"
    listed = {name: json.loads((official / f"list_{name}.json").read_text())["results"]
              for name in ("teams", "integrations", "users", "alert_groups")}
    built = json.loads((FIXTURES / "oncall" / "built" / "account.json").read_text())
    groups = listed["alert_groups"] + built["alert_groups"]
    history = OnCallHistory(listed["teams"] + built["teams"], listed["integrations"] + built["integrations"],
                            listed["users"] + built["users"], TimeIndexed(groups, lambda r: ts(r["created_at"])))
    return history, built["later"]


def oncall_history(count: int, start: dt.datetime, spacing_s: float, seed: int = 3, open_last: int = 2) -> OnCallHistory:
    rng = random.Random(seed)
    teams = [{"id": "TE5EF3RQHJQP1", "name": "Data Platform"}, {"id": "TE5EF3RQHJQP2", "name": "Checkout"}]
    integrations = [{"id": "CFRPV98RPR1U1", "name": "Prometheus prod", "team_id": "TE5EF3RQHJQP1", "type": "alertmanager"},
                    {"id": "CFRPV98RPR1U2", "name": "Grafana alerts", "team_id": None, "type": "grafana_alerting"}]
    users = [{"id": "UCGEIXI1MR1N1", "email": "ana@acme.example", "username": "ana", "timezone": "Europe/Madrid",
              "teams": ["TE5EF3RQHJQP1"]},
             {"id": "UCGEIXI1MR1N2", "email": "bo@acme.example", "username": "bo", "timezone": None, "teams": []}]
    groups = []
    for k in range(count):
        created = start + dt.timedelta(seconds=k * spacing_s, microseconds=rng.randint(0, 999_999))
        still_open = k >= count - open_last
        acked = k % 3 != 2 and not still_open
        ack = created + dt.timedelta(seconds=rng.randint(30, 600))
        resolved = None if still_open else ack + dt.timedelta(seconds=rng.randint(60, 3000))
        user = users[k % 2]["id"]
        groups.append({
            "id": f"I{k:012d}", "integration_id": integrations[k % 2]["id"],
            "team_id": teams[0]["id"] if k % 2 == 0 else None, "route_id": "RIYGUJXCPFHXY", "alerts_count": 1 + k % 3,
            "state": "firing" if still_open else "resolved", "created_at": iso(created),
            "acknowledged_at": iso(ack) if acked else None, "acknowledged_by": user if acked else None,
            "resolved_at": iso(resolved) if resolved else None,
            "resolved_by": user if (resolved and acked) else None, "silenced_at": None,
            "title": f"HighCPU db-prod-{rng.randint(1, 9)}",
            "labels": [{"key": {"id": "severity", "name": "severity"}, "value": {"id": "page", "name": "page"}}],
            "permalinks": {"slack": None, "web": f"https://acme.grafana.net/a/grafana-oncall-app/alert-groups/I{k}"},
            "last_alert": None,
        })
    return OnCallHistory(teams, integrations, users, TimeIndexed(groups, lambda r: ts(r["created_at"])))


# --- Jira Service Management Operations -----------------------------------------------------------------


JSM_CLOUD = "a436116f-02ce-4520-8fbb-7301462a1674"


class FakeJsm(FakeProvider):
    """The Operations alerts API under /jsm/ops/api/{cloudId}/: basic auth, offset + size below the cap."""

    throttled_message = "Rate limit exceeded"

    def __init__(self, email: str, token: str, history: JsmHistory, cloud_id: str = JSM_CLOUD, cap: int = 20_000):
        super().__init__(token)
        self.email = email
        self.history = history
        self.prefix = f"/jsm/ops/api/{cloud_id}/v1/"
        self.cap = cap  # "Sum of offset and size should be lower than 20K"

    def expected_auth(self) -> str:
        return "Basic " + base64.b64encode(f"{self.email}:{self.secret}".encode()).decode()

    def error(self, status, message, headers=None) -> Response:
        if status == 401:
            return json_response(status, {"code": 401, "message": message}, headers)
        return json_response(status, {"errors": [{"title": message, "code": str(status)}]}, headers)

    def route(self, path, query, host) -> Response:
        if not path.startswith(self.prefix):
            return self.error(404, "Not Found")
        rest = path[len(self.prefix):]
        if rest == "alerts":
            return self._alerts(query)
        match = re.fullmatch(r"alerts/([^/]+)/logs", rest)
        if match:
            return self._logs(match.group(1), query)
        return self.error(404, "Not Found")

    def _alerts(self, query) -> Response:
        records = alert_search(self.history.alerts, query)
        size = int_param(query, "size", 20, 1, 100, "size should be between 1 and 100")
        offset = int_param(query, "offset", 0, 0, None, "offset should be 0 or more")
        if offset + size >= self.cap:
            raise BadRequest("More than 20000 alerts cannot be retrieved", 422)
        body: dict[str, Any] = {"values": records[offset: offset + size], "count": len(records), "links": {}}
        if offset + size < len(records):  # as published: the link keeps offset and size, not the query
            body["links"]["next"] = f"/v1/alerts?offset={offset + size}&size={size}"
        return json_response(200, body)

    def _logs(self, alert_id: str, query) -> Response:
        lines = self.history.logs.get(alert_id)
        if lines is None:
            return self.error(404, "Alert does not exist")
        size = int_param(query, "size", 20, 1, 100, "size should be between 1 and 100")
        keys = [f"{int(ts(line['logTime']) * 1000)}_{n:06d}" for n, line in enumerate(lines)]
        after = one(query, "after")
        start = 0
        if after:
            if after not in keys:
                raise BadRequest("invalid after key", 422)
            start = keys.index(after) + 1
        body: dict[str, Any] = {"values": lines[start: start + size], "links": {}}
        if start + size < len(lines):
            body["links"]["next"] = f"/v1/alerts/{alert_id}/logs?after={keys[start + size - 1]}"
        return json_response(200, body)


@dataclass
class JsmHistory:
    alerts: TimeIndexed
    logs: dict[str, list[dict]]



def jsm_account() -> JsmHistory:
    """The Operations API's own examples (fixtures/jsm/official) with the cases built after its schemas."""
    official = FIXTURES / "jsm" / "official"
    alerts = json.loads((official / "listAlerts.json").read_text())["values"]
    logs = json.loads((official / "listAlertLogs.json").read_text())["values"]
    built = json.loads((FIXTURES / "jsm" / "built" / "account.json").read_text())
    return JsmHistory(TimeIndexed(alerts + built["alerts"], lambda r: ts(r["createdAt"])),
                      {alerts[0]["id"]: logs, **built["logs"]})


def jsm_history(count: int, start: dt.datetime, spacing_s: float) -> JsmHistory:
    """`count` closed alerts `spacing_s` apart, each with one log line (for paging past the cap)."""
    alerts, logs = [], {}
    for k in range(count):
        created = start + dt.timedelta(seconds=k * spacing_s)
        alert_id = f"{uuid.UUID(int=k)}-{int(created.timestamp() * 1000)}"
        alerts.append({"id": alert_id, "tinyId": str(k + 1), "createdAt": iso(created), "updatedAt": iso(created),
                       "message": f"Disk {80 + k % 20}% full on db-{k % 7}", "status": "closed",
                       "closeTime": iso(created + dt.timedelta(seconds=60)), "count": 1,
                       "integrationName": "Prometheus", "priority": "P3"})
        logs[alert_id] = [{"logTime": iso(created), "logType": "system", "log": "Alert created via API[Prometheus]",
                           "owner": "System"}]
    return JsmHistory(TimeIndexed(alerts, lambda r: ts(r["createdAt"])), logs)


# --- running a sync against a fake ------------------------------------------------------------------------

SECRETS = {"pagerduty": "PAGERDUTY_TOKEN", "opsgenie": "OPSGENIE_API_KEY", "oncall": "GRAFANA_ONCALL_TOKEN",
           "jsm": "JSM_API_TOKEN"}
BASE_URLS = {"pagerduty": "PAGERDUTY_BASE_URL", "opsgenie": "OPSGENIE_BASE_URL", "oncall": "GRAFANA_ONCALL_URL",
             "jsm": "JSM_BASE_URL"}
# Retry waits shrink a thousandfold, so a test never sleeps for real seconds.
FAST = {"wait_scale": 0.001, "timeout_s": 2.0, "connect_timeout_s": 2.0, "max_attempts": 4}


def run_source(monkeypatch, db: str, source: str, base_url: str, secret: str, options: dict | None = None,
               **request):
    """Sync one source in this process against a fake provider; returns the SyncResult."""
    import settings
    from ingest.sources import SOURCES
    from ingest.sync import SyncRequest

    monkeypatch.setenv(SECRETS[source], secret)
    monkeypatch.delenv(BASE_URLS[source], raising=False)
    config = settings.parse({"providers": {source: {"base_url": base_url, **FAST, **(options or {})}}})
    return SOURCES[source].sync(db, config, SyncRequest(**request))


def query(db: str, sql: str, params=None) -> list[tuple]:
    import store

    with store.reading(db) as con:
        return con.execute(sql, params or []).fetchall()


def scalar(db: str, sql: str, params=None):
    return query(db, sql, params)[0][0]


def fingerprint(db: str, source: str) -> tuple:
    """Every stored row of a source (minus load times), to compare two databases."""
    tables = {
        "alerts": "source_id, title, signature, service, team, severity, created_at, acknowledged_at, resolved_at, "
                  "acknowledged_by, resolved_by, auto_resolved, escalations, url",
        "events": "event_id, alert_source_id, type, occurred_at, agent_id, agent_type",
        "notifications": "alert_source_id, person_id, channel, notified_at",
        "people": "person_id, name, email, time_zone, team",
        "teams": "team_id, name",
        "services": "service_id, name, team",
    }
    return tuple(
        tuple(query(db, f"SELECT {cols} FROM {table} WHERE source = ? ORDER BY ALL", [source]))
        for table, cols in tables.items()
    )


def all_text(db: str) -> str:
    """Every value in every table of the database, as one string (for secret searches)."""
    parts = []
    for (table,) in query(db, "SELECT table_name FROM information_schema.tables"):
        parts.extend(str(row) for row in query(db, f'SELECT * FROM "{table}"'))
    return "\n".join(parts)


def cli_sync(db: str, config, source: str, url: str, secret: str, since: str, until: str):
    """`python -m ingest sync` for one source in a real subprocess."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, SECRETS[source]: secret, BASE_URLS[source]: url}
    return subprocess.Popen(
        [sys.executable, "-m", "ingest", "sync", "--db", db, "--config", str(config), "--source", source,
         "--since", since, "--until", until],
        cwd=Path(__file__).resolve().parents[1], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def kill_and_resume(monkeypatch, tmp_path, fake: FakeProvider, url: str, source: str, secret: str, options: dict,
                    since: str, until: str, pause_at: int) -> tuple[str, str]:
    """Sync once whole (in this process); sync again in a subprocess into another database, SIGKILL it
    at request `pause_at`, then run it again to the end. Returns both databases."""
    import signal

    config = tmp_path / "alerthygiene.toml"
    config.write_text(f"[providers.{source}]\n" + "".join(f"{k} = {json.dumps(v)}\n"
                                                          for k, v in {**FAST, **options}.items()))
    whole, killed = str(tmp_path / "whole.duckdb"), str(tmp_path / "killed.duckdb")
    day = lambda text: dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)  # noqa: E731
    assert run_source(monkeypatch, whole, source, url, secret, options, since=day(since), until=day(until)).status == "ok"
    fake.requests.clear()
    fake.pause_at = pause_at
    victim = cli_sync(killed, config, source, url, secret, since, until)
    assert fake.paused.wait(60), "the sync never reached the pause"
    victim.send_signal(signal.SIGKILL)
    victim.wait(30)
    fake.pause_at = None
    fake.resume.set()
    assert scalar(killed, "SELECT status FROM ingest_runs") == "running"  # it really died midway
    again = cli_sync(killed, config, source, url, secret, since, until)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert secret not in out + err
    return whole, killed
