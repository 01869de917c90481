"""A deterministic, realistic alert history for the demo, as a paging provider's records."""

from __future__ import annotations

import datetime as dt
import math
import random
import uuid
from dataclasses import dataclass
from zoneinfo import ZoneInfo

DEMO_URL = "https://demo.invalid"
ROTA_ANCHOR = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)  # a Monday: every team hands over weekly from here

# (team, time zone of most of its people, holiday calendar)
TEAMS = [
    ("payments", "Europe/Berlin", "DE"),
    ("search", "America/New_York", "US"),
    ("platform", "Asia/Kolkata", "IN"),
    ("mobile", "Australia/Sydney", "AU"),
    ("data", "America/Los_Angeles", "US"),
    ("identity", "Europe/London", "GB"),
]
SERVICES = {
    "payments": ["checkout-api", "ledger", "payment-gateway", "fraud-scoring", "invoicing"],
    "search": ["search-api", "indexer", "elasticsearch", "query-suggest", "crawler"],
    "platform": ["kubernetes", "ingress", "dns", "vault", "ci-runners"],
    "mobile": ["push-gateway", "mobile-bff", "app-config", "media-cdn", "release-bot"],
    "data": ["etl", "warehouse", "kafka", "airflow", "reporting"],
    "identity": ["auth-api", "sso", "user-profile", "mfa", "session-store"],
}
FIRST_NAMES = [
    "Amara", "Bastian", "Chloe", "Dev", "Elena", "Farid", "Greta", "Hiro", "Ines", "Jonas",
    "Kavya", "Liam", "Maya", "Noah", "Olu", "Priya", "Quinn", "Rosa", "Sami", "Tess",
    "Uma", "Viktor", "Wen", "Yusuf",
]
# People whose own time zone differs from their team's, and one with none (falls back).
TIME_ZONE_EXCEPTIONS = {"Jonas": "America/Chicago", "Kavya": None, "Tess": "Pacific/Auckland"}

# The ten loudest rules: (team, service, title template, kind, alerts per day)
LOUD = [
    ("payments", "ledger", "Disk {pct}% full on db-{nn}", "transient", 3.8),
    ("search", "elasticsearch", "Elasticsearch cluster yellow on es-{nn}", "flapping", 1.5),
    ("data", "etl", "Nightly ETL job {hex} failed", "nightly", 0.9),
    ("platform", "kubernetes", "Pod {uuid} restarting in kube-system", "transient", 4.0),
    ("mobile", "push-gateway", "Push gateway p99 latency {n}ms", "flapping", 1.4),
    ("identity", "auth-api", "Login error rate above {pct}%", "actionable", 1.4),
    ("platform", "kubernetes", "Node {ip} NotReady", "cofire", 0.0),  # fires with the pod rule
    ("payments", "checkout-api", "Checkout API 5xx rate {pct}%", "actionable", 1.8),
    ("data", "kafka", "Kafka consumer lag {n} on orders", "flapping", 0.8),
    ("search", "indexer", "Index backup {hex} took too long", "nightly", 0.8),
]
TAIL_TEMPLATES = [
    ("{svc} certificate expires in {n} days", "actionable"),
    ("{svc} health check failed on host-{nn}", "transient"),
    ("{svc} error budget burn rate high", "actionable"),
    ("{svc} queue depth {n} above threshold", "flapping"),
    ("{svc} memory usage {pct}% on {svc}-{nn}", "transient"),
    ("{svc} deploy {hex} rollback triggered", "actionable"),
    ("{svc} replica lag {n}s", "flapping"),
    ("{svc} scheduled backup failed", "nightly"),
    ("{svc} 5xx spike on endpoint /v{n}/items", "actionable"),
    ("{svc} latency SLO at risk", "actionable"),
    ("{svc} connection pool exhausted on {svc}-{nn}", "transient"),
    ("{svc} cron job {hex} missed schedule", "nightly"),
]
TAIL_SIGNATURES_PER_SERVICE = 5  # 30 services x 5 = 150 tail rules, plus the loud ten
NIGHT_ACTIVITY = 0.35  # how likely a rule that would fire at night (20–08 local) still does


@dataclass
class Rule:
    rule_id: str
    team: str
    service: str
    template: str
    kind: str
    rate: float  # alerts per day while alive
    born: float  # day the rule starts firing
    dies: float  # day it stops (a fix)
    urgency: str
    runbook: bool
    night_hour: float = 2.5


@dataclass
class Person:
    person_id: str
    name: str
    team: str
    time_zone: str | None


def fill_template(template: str, rng: random.Random, service: str) -> str:
    return template.format(
        svc=service,
        pct=rng.randint(80, 99),
        nn=f"{rng.randint(1, 24):02d}",
        n=rng.randint(2, 900),
        hex=f"{rng.getrandbits(40):010x}",
        uuid=uuid.UUID(int=rng.getrandbits(128)),
        ip=f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
    )


class DemoHistory:
    """Generates teams, services, people and incidents with log entries, deterministically."""

    def __init__(self, seed: int = 7, days: int = 180, end: dt.datetime | None = None):
        self.seed = seed
        self.days = days
        self.end = (end or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
        self.start = (self.end - dt.timedelta(days=days)).replace(hour=0, minute=0, second=0)
        self.rng = random.Random(seed)
        self.people = self._people()
        self.rules = self._rules()
        self.reviews: list[dict] = []
        self.fix_estimates: list[dict] = []
        self.fixes_done: list[dict] = []  # fixes marked done in the planner
        self.tickets: list[dict] = []  # tickets opened for fixes, as a sync last read them
        self._counter = 0

    # --- the organisation ---------------------------------------------------------------

    def _people(self) -> list[Person]:
        people = []
        for index, name in enumerate(FIRST_NAMES):
            team, tz, _ = TEAMS[index // 4]
            people.append(Person(f"P{index + 1:03d}", name, team, TIME_ZONE_EXCEPTIONS.get(name, tz)))
        return people

    def _rules(self) -> list[Rule]:
        rng = self.rng
        rules = []
        for index, (team, service, template, kind, rate) in enumerate(LOUD):
            rules.append(
                Rule(f"R{index:03d}", team, service, template, kind, rate, 0.0, math.inf,
                     urgency="high", runbook=index % 3 == 0, night_hour=2.0 + index * 0.1)
            )
        for team, _, _ in TEAMS:
            for service in SERVICES[team]:
                templates = rng.sample(TAIL_TEMPLATES, TAIL_SIGNATURES_PER_SERVICE)
                for template, kind in templates:
                    # Most rules exist from the start; the rest appear through the history.
                    born = 0.0 if rng.random() < 0.55 else rng.uniform(5, self.days - 3)
                    rules.append(
                        Rule(f"R{len(rules):03d}", team, service, template, kind,
                             rate=rng.choice([0.03, 0.06, 0.1, 0.2, 0.35]) * (0.5 if kind == "nightly" else 1),
                             born=born, dies=math.inf,
                             urgency="high" if rng.random() < 0.6 else "low",
                             runbook=rng.random() < 0.4, night_hour=rng.uniform(0.5, 4.5))
                    )
        return rules

    def teams(self) -> list[dict]:
        return [{"id": f"T-{team}", "name": team, "holidays": cal} for team, _, cal in TEAMS]

    def services(self) -> list[dict]:
        return [
            {"id": f"S-{service}", "name": service, "team": {"id": f"T-{team}", "name": team}}
            for team, _, _ in TEAMS
            for service in SERVICES[team]
        ]

    def users(self) -> list[dict]:
        return [
            {
                "id": p.person_id,
                "name": p.name,
                "email": f"{p.name.lower()}@example.com",
                "time_zone": p.time_zone,
                "team": {"id": f"T-{p.team}", "name": p.team},
            }
            for p in self.people
        ]

    # --- reviews: early noise verdicts, most of them followed by a fix -----------------

    def plan_reviews(self) -> None:
        """Mark a few rules noise early on: three get fixed, one keeps firing."""
        sprint_days = 14
        candidates = sorted(
            (r for r in self.rules[10:] if r.born == 0.0 and r.kind in ("transient", "flapping")),
            key=lambda r: (-r.rate, r.rule_id),
        )
        fixed, kept = candidates[:3], candidates[3]
        for number, rule in enumerate(fixed):
            review_day = sprint_days * (1 + number % 2) + 3
            rule.dies = review_day + self.rng.uniform(2, 9)
            self.reviews.append({"rule": rule, "day": review_day, "verdict": "noise",
                                 "note": "Nobody acts on this; remove the page."})
        self.reviews.append({"rule": kept, "day": sprint_days + 3, "verdict": "noise",
                             "note": "Should be a ticket, not a page."})
        loud = self.rules[0]
        self.reviews.append({"rule": loud, "day": 2 * sprint_days + 3, "verdict": "needs-tuning",
                             "note": "Add a for: 10m hold-down."})
        for rule in (self.rules[5], self.rules[7], self.rules[2]):
            self.reviews.append({"rule": rule, "day": 3 * sprint_days + 2, "verdict": "actionable",
                                 "note": "Real customer impact."})
        self.reviews.append({"rule": self.rules[6], "day": 4 * sprint_days + 1, "verdict": "duplicate",
                             "note": "Same root cause as the pod restarts."})
        for rule, hours in ((self.rules[0], 6), (self.rules[1], 16), (self.rules[4], 10), (self.rules[8], 24)):
            self.fix_estimates.append({"rule": rule, "hours": hours})
        # Later fixes, whose effect the retro follows (the alerts themselves are not changed by them):
        # a hold-down marked done three weeks before the end, a ticket in progress, one closed lately.
        self.fixes_done.append({"rule": loud, "day": self.days - 21, "kind": "alert",
                                "note": "for: 10m added to the rule"})
        self.tickets.append({"rule": self.rules[1], "system": "jira", "key": "OPS-142", "status": "In Progress",
                             "done": False, "day": self.days - 12})
        self.tickets.append({"rule": self.rules[4], "system": "github", "key": "#87", "status": "closed (completed)",
                             "done": True, "day": self.days - 4})

    # --- incidents -----------------------------------------------------------------------

    def _on_call(self, team: str, at: dt.datetime) -> tuple[Person, Person]:
        members = [p for p in self.people if p.team == team]
        week = (at - ROTA_ANCHOR).days // 7
        return members[week % len(members)], members[(week + 1) % len(members)]

    def on_call_shifts(self) -> list[dict]:
        """The weekly rotas `_on_call` pages from, as a schedule provider reports them: per team a
        primary (level 1) and its next person as secondary (level 2), hand-over Mondays 00:00 UTC."""
        shifts = []
        first = (self.start - ROTA_ANCHOR).days // 7
        last = (self.end - ROTA_ANCHOR).days // 7
        for team, _, _ in TEAMS:
            for week in range(first, last + 1):
                begins = ROTA_ANCHOR + dt.timedelta(weeks=week)
                ends = min(begins + dt.timedelta(weeks=1), self.end)
                for level, person in enumerate(self._on_call(team, begins), start=1):
                    shifts.append({"schedule_id": f"SCH-{team}", "schedule": f"{team} on call", "team": team,
                                   "person_id": person.person_id, "level": level,
                                   "start": max(begins, self.start).isoformat(), "end": ends.isoformat()})
        return shifts

    def _team_zone(self, team: str) -> ZoneInfo:
        return ZoneInfo(next(tz for name, tz, _ in TEAMS if name == team))

    def _fire_times(self, rule: Rule, rng: random.Random) -> list[float]:
        """Seconds since start at which the rule fires."""
        times: list[float] = []
        first, last = max(rule.born, 0.0), min(rule.dies, self.days)
        if rule.kind == "nightly":
            zone = self._team_zone(rule.team)
            day = math.floor(first)
            while day < last:
                if rng.random() < min(rule.rate, 0.95):
                    local_day = (self.start + dt.timedelta(days=day)).astimezone(zone).date()
                    local = dt.datetime.combine(local_day, dt.time(0), zone) + dt.timedelta(
                        hours=rule.night_hour + rng.uniform(-0.3, 0.3))
                    offset = (local.astimezone(dt.UTC) - self.start).total_seconds()
                    if first * 86400 <= offset < last * 86400:
                        times.append(offset)
                day += 1
            return times
        # Poisson episodes, thinned so that daytime (when traffic and deploys happen) is busier.
        zone = self._team_zone(rule.team)
        t = first * 86400
        while True:
            t += rng.expovariate(rule.rate / 86400) if rule.rate > 0 else math.inf
            if t >= last * 86400:
                break
            local_hour = (self.start + dt.timedelta(seconds=t)).astimezone(zone).hour
            if not 8 <= local_hour < 20 and rng.random() > NIGHT_ACTIVITY:
                continue
            if rule.kind == "flapping":
                burst = rng.randint(2, 6)
                for _ in range(burst):
                    times.append(t)
                    t += rng.uniform(120, 600) + rng.uniform(120, 1500)  # firing + quiet gap < 30 min
            else:
                times.append(t)
        return times

    def incidents(self) -> list[dict]:
        """Every incident with its log entries, oldest first."""
        self.plan_reviews()
        rng = random.Random(self.seed * 7919 + 1)
        incidents = []
        pod_rule = self.rules[3]
        pod_times: list[float] = []
        for rule in self.rules:
            if rule.kind == "cofire":
                continue
            times = self._fire_times(rule, rng)
            if rule is pod_rule:
                pod_times = times
            incidents.extend(self._incident(rule, t, rng) for t in times)
        node_rule = self.rules[6]
        for t in pod_times:
            if rng.random() < 0.3:  # node failures cause a share of pod restarts
                incidents.append(self._incident(node_rule, t + rng.uniform(5, 50), rng))
        # Two alerts are still open now: one being worked on, one nobody has touched.
        for rule, hours_ago, acked in ((self.rules[7], 3.0, True), (self.rules[5], 1.5, False)):
            offset = (self.end - self.start).total_seconds() - hours_ago * 3600
            incidents.append(self._incident(rule, offset, rng, still_open=True, acked=acked))
        incidents = [i for i in incidents if i is not None]
        incidents.sort(key=lambda i: (i["created_at"], i["id"]))
        return incidents

    def _incident(
        self, rule: Rule, offset_s: float, rng: random.Random, still_open: bool = False, acked: bool = True
    ) -> dict | None:
        created = self.start + dt.timedelta(seconds=round(offset_s))
        if created >= self.end:
            return None
        self._counter += 1
        incident_id = f"D{self.seed:02d}{self._counter:07d}"
        primary, secondary = self._on_call(rule.team, created)
        title = fill_template(rule.template, rng, rule.service)
        log: list[dict] = []

        def entry(kind: str, seconds: float, **extra) -> None:
            if math.isinf(seconds):
                return
            at = created + dt.timedelta(seconds=round(seconds))
            if at <= self.end:
                log.append({"id": f"{incident_id}-{len(log)}", "type": kind, "created_at": _iso(at), **extra})

        service_agent = {"type": "service", "id": f"S-{rule.service}"}
        entry("trigger", 0, agent=service_agent)
        ack_after, resolve_after, responder = self._response(rule, rng, primary, secondary)
        if still_open:
            ack_after = rng.uniform(60, 240) if acked else None
            resolve_after = math.inf
        high = rule.urgency == "high"
        entry("notify", 0, user=primary.person_id, channel="email")
        entry("notify", 1, user=primary.person_id, channel="push")
        if high:
            entry("notify", 30, user=primary.person_id, channel="sms")
        unacked_until = ack_after if ack_after is not None else resolve_after
        if high and unacked_until > 150:
            entry("notify", 150, user=primary.person_id, channel="phone")
        if unacked_until > 300 and high:  # escalation policy: secondary after 5 minutes
            entry("escalate", 300, agent={"type": "service", "id": "escalation-policy"},
                  assignees=[secondary.person_id])
            entry("notify", 301, user=secondary.person_id, channel="phone")
            entry("notify", 302, user=secondary.person_id, channel="push")
        if ack_after is not None:
            entry("acknowledge", ack_after, agent={"type": "user", "id": responder.person_id})
            if rng.random() < 0.3:
                entry("annotate", ack_after + 60, agent={"type": "user", "id": responder.person_id},
                      note="Looking into it.")
            entry("resolve", resolve_after, agent={"type": "user", "id": responder.person_id})
        else:
            entry("resolve", resolve_after, agent=service_agent)
        record = {
            "id": incident_id,
            "title": title,
            "urgency": rule.urgency,
            "created_at": _iso(created),
            "service": {"id": f"S-{rule.service}", "name": rule.service},
            "team": {"id": f"T-{rule.team}", "name": rule.team},
            "html_url": f"{DEMO_URL}/incidents/{incident_id}",
            "log_entries": log,
        }
        if rule.runbook:
            record["runbook_url"] = f"{DEMO_URL}/runbooks/{rule.service}/{rule.rule_id.lower()}"
        return record

    def _response(self, rule: Rule, rng: random.Random, primary: Person, secondary: Person):
        """(seconds to acknowledge or None, seconds to resolve, who responded)."""
        kind = rule.kind
        if kind == "transient" or (kind == "cofire"):
            return None, rng.uniform(25, 290) if kind == "transient" else rng.uniform(60, 600), primary
        if kind == "flapping":
            if rng.random() < 0.15:
                ack = rng.uniform(60, 400)
                return ack, ack + rng.uniform(60, 500), primary
            return None, rng.uniform(120, 600), primary
        slow = rng.random() < 0.2  # primary misses it, secondary takes it after escalation
        ack = rng.lognormvariate(math.log(200), 0.8)
        if slow:
            ack = 300 + rng.uniform(60, 900)
        ack = max(20.0, ack)
        if kind == "nightly":
            resolve = ack + rng.uniform(900, 5400)
        else:
            resolve = ack + rng.lognormvariate(math.log(2400), 1.0)
        if kind == "actionable" and rng.random() < 0.08:
            return None, rng.uniform(400, 1200), primary  # recovered before anyone looked
        return ack, resolve, secondary if slow else primary


def _iso(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
