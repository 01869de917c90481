"""The schedule endpoints of the fake providers, as each vendor documents them (see tests/fixtures/*/official)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from tests.provider_servers import BadRequest, json_response, one, ts

Response = tuple[int, dict[str, str], bytes]


@dataclass(frozen=True)
class Turn:
    """Someone on call: `start`/`end` None for PagerDuty's permanent on-calls."""

    schedule: str  # schedule id (or escalation policy id for a user named directly)
    schedule_name: str
    user: str
    user_name: str
    start: dt.datetime | None
    end: dt.datetime | None
    level: int = 1
    policy: str = "PEPOL01"


@dataclass
class Rotas:
    turns: list[Turn] = field(default_factory=list)
    schedules: list[dict] = field(default_factory=list)  # the provider's schedule records

    def overlapping(self, schedule: str | None, since: float, until: float) -> list[Turn]:
        """Turns overlapping [since, until), by start."""
        hits = [t for t in self.turns if (schedule is None or t.schedule == schedule)
                and (t.start is None or t.start.timestamp() < until) and (t.end is None or t.end.timestamp() > since)]
        return sorted(hits, key=lambda t: (t.start or dt.datetime.min.replace(tzinfo=dt.UTC), t.user, t.level))


def weekly(schedule: str, name: str, people: list[tuple[str, str]], first: dt.datetime, weeks: int,
           level: int = 1) -> list[Turn]:
    """A weekly rotation of `people` from `first`."""
    week = dt.timedelta(days=7)
    return [Turn(schedule, name, *people[k % len(people)], first + k * week, first + (k + 1) * week, level)
            for k in range(weeks)]


def _when(text: str | None, what: str) -> float:
    try:
        return ts(text)
    except (TypeError, ValueError):
        raise BadRequest(f"Invalid Input Provided: {what} is not a date") from None


# --- PagerDuty GET /oncalls ----------------------------------------------------------------------------

PD_ACCOUNT_ZONE = "America/New_York"  # `time_zone` defaults to the account's


def pagerduty_oncalls(rotas: Rotas, query) -> list[dict]:
    """On-calls overlapping [since, until) (both default to now), rendered in `time_zone`."""
    now = dt.datetime.now(dt.UTC).timestamp()
    since = _when(one(query, "since"), "since") if one(query, "since") else now
    until = _when(one(query, "until"), "until") if one(query, "until") else now
    if until < since:
        raise BadRequest("Invalid Input Provided: until cannot be before since")
    zone = ZoneInfo(one(query, "time_zone", PD_ACCOUNT_ZONE))
    wanted = set(query.get("schedule_ids[]", []))
    render = lambda at: at.astimezone(zone).isoformat() if at else None  # noqa: E731
    records = []
    for turn in rotas.overlapping(None, since, max(until, since + 1)):
        if wanted and turn.schedule not in wanted:
            continue
        permanent = turn.start is None
        record = {
            "user": {"id": turn.user, "type": "user_reference", "summary": turn.user_name},
            "escalation_policy": {"id": turn.policy, "type": "escalation_policy_reference",
                                  "summary": "Engineering Escalation Policy"},
            "schedule": None if permanent else {"id": turn.schedule, "type": "schedule_reference",
                                                "summary": turn.schedule_name},
            "escalation_level": turn.level, "start": render(turn.start), "end": render(turn.end),
        }
        records.append(record)
    return records


# --- Opsgenie GET /v2/schedules and /v2/schedules/{id}/timeline ------------------------------------------

_UNITS = {"days": dt.timedelta(days=1), "weeks": dt.timedelta(weeks=1)}


def opsgenie_timeline(rotas: Rotas, schedule_id: str, query) -> Response:
    """The final timeline from `date` for `interval` × `intervalUnit` (days, weeks or months)."""
    if one(query, "identifierType", "id") != "id":
        raise BadRequest("this fake looks schedules up by id", 422)
    schedule = next((s for s in rotas.schedules if s["id"] == schedule_id), None)
    if schedule is None:
        return json_response(404, {"message": f"Schedule with id [{schedule_id}] does not exist", "took": 0.0,
                                   "requestId": "r"})
    start = dt.datetime.fromtimestamp(_when(one(query, "date"), "date"), dt.UTC) if one(query, "date") \
        else dt.datetime.now(dt.UTC)
    try:
        interval = int(one(query, "interval", "1"))
    except ValueError:
        raise BadRequest("interval must be an integer", 422) from None
    unit = one(query, "intervalUnit", "weeks")
    if unit == "months":
        end = start.replace(month=(start.month + interval - 1) % 12 + 1,
                            year=start.year + (start.month + interval - 1) // 12)
    elif unit in _UNITS and interval >= 1:
        end = start + interval * _UNITS[unit]
    else:
        raise BadRequest("intervalUnit must be days, weeks or months and interval at least 1", 422)
    rotations: dict[str, list[dict]] = {}
    for turn in rotas.overlapping(schedule_id, start.timestamp(), end.timestamp()):
        # The timeline is cut at its own start and end.
        rotations.setdefault(f"{schedule_id}-rot", []).append({
            "startDate": _og(max(turn.start, start)), "endDate": _og(min(turn.end, end)), "type": "historical",
            "recipient": {"id": turn.user, "type": "user", "name": turn.user_name}})
    body = {"data": {"_parent": {"id": schedule_id, "name": schedule["name"], "enabled": True},
                     "startDate": _og(start), "endDate": _og(end),
                     "finalTimeline": {"rotations": [{"id": rid, "name": "Rota", "order": 1.0, "periods": periods}
                                                     for rid, periods in rotations.items()]}},
            "took": 0.02, "requestId": "r"}
    return json_response(200, body)


def _og(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- Grafana OnCall GET /api/v1/schedules/{id}/final_shifts --------------------------------------------------


def _oncall_date(text: str | None, name: str) -> dt.datetime:
    for pattern in ("%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text or "", pattern).replace(tzinfo=dt.UTC)
        except ValueError:
            continue
    raise BadRequest(f"{name}: Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm, "
                     "YYYY-MM-DD.")


def oncall_final_shifts(rotas: Rotas, schedule_id: str, query, emails: dict[str, str]) -> Response:
    """Final shifts of [start_date, end_date], each cut to the period, as one page."""
    if not any(s["id"] == schedule_id for s in rotas.schedules):
        return json_response(404, {"detail": "Not found."})
    start, end = _oncall_date(one(query, "start_date"), "start_date"), _oncall_date(one(query, "end_date"), "end_date")
    if start > end:
        raise BadRequest("start_date must be less than or equal to end_date")
    if end - start > dt.timedelta(days=365):
        raise BadRequest("The difference between start_date and end_date must be less than one year (365 days)")
    results = [{"user_pk": t.user, "user_email": emails.get(t.user), "user_username": t.user_name,
                "shift_start": _og(max(t.start, start)), "shift_end": _og(min(t.end, end))}
               for t in rotas.overlapping(schedule_id, start.timestamp(), end.timestamp())]
    return json_response(200, {"count": len(results), "next": None, "previous": None, "results": results,
                               "current_page_number": 1, "page_size": 50, "total_pages": 1})
