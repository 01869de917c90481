"""PagerDuty REST v2: declarations of its streams and pure mappings to canonical rows."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from ingest.http import Api
from ingest.mapping import (
    Mapped,
    MappingError,
    as_json,
    optional_time,
    parse_time,
    required,
    required_text,
    team_row,
)
from ingest.paginators import OffsetPaginator
from ingest.signature import title_signature
from ingest.sources import schedules
from ingest.sources.contract import HttpSource
from ingest.sync import Context, Provider, Stream, Windowed
from ingest.windows import Window, iso

SOURCE = "pagerduty"
SECRET = "PAGERDUTY_TOKEN"
BASE_URL_ENV = "PAGERDUTY_BASE_URL"
REGIONS = {"us": "https://api.pagerduty.com", "eu": "https://api.eu.pagerduty.com"}
PAGE_LIMIT = 100  # /incidents and /log_entries maximum
OFFSET_CAP = 10_000  # offset + limit
MAX_RANGE = dt.timedelta(days=180)  # since..until on /incidents is at most 6 months
OPTIONS = {"page_size": "records per request, at most 100"}

EVENT_TYPES = {
    "trigger_log_entry": "trigger",
    "acknowledge_log_entry": "acknowledge",
    "acknowledgement_log_entry": "acknowledge",  # the spelling of the spec's sub-schema
    "unacknowledge_log_entry": "unacknowledge",
    "resolve_log_entry": "resolve",
    "notify_log_entry": "notify",
    "escalate_log_entry": "escalate",
    "assign_log_entry": "assign",
    "delegate_log_entry": "assign",
    "annotate_log_entry": "annotate",
    "snooze_log_entry": "snooze",
    "urgency_change_log_entry": "urgency_change",
}
# A notification's channel, spelt `sms_notification` (the spec's enum) or bare `sms` (what
# accounts send too), in channel.notification.type or channel.type.
CHANNELS = {"sms": "sms", "phone": "phone", "push": "push", "email": "email"}
# The last resort: the entry's summary, "Notified Ana Ruiz by SMS".
_SUMMARY_CHANNEL = re.compile(r"\bby (sms|phone|push|e-?mail)\b", re.IGNORECASE)
MERGED = "merge_resolve_reason"


def error_message(body: Any) -> str | None:
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None
    details = [str(e) for e in error.get("errors") or []]
    return "; ".join([str(error.get("message") or ""), *details]).strip("; ") or None


def _window(w: Window) -> dict[str, str]:
    return {"since": iso(w.start), "until": iso(w.end), "time_zone": "UTC"}


def provider(base_url: str, options: dict) -> Provider:
    limit = min(int(options.get("page_size", PAGE_LIMIT)), PAGE_LIMIT)

    def listing(name: str, path: str, map_one, **more) -> Stream:
        return Stream(name, path, OffsetPaginator(items=(path,), limit=limit, cap=OFFSET_CAP), map_one, **more)

    return Provider(
        api=Api(
            source=SOURCE,
            base_url=base_url,
            auth=lambda token: {"Authorization": f"Token token={token}"},
            headers={"Accept": "application/vnd.pagerduty+json;version=2"},
            error_message=error_message,
            auth_hint=(
                f"Check {SECRET} (a read-only REST API key is enough) and that the base URL is your "
                f"account's region: US {REGIONS['us']}, EU {REGIONS['eu']}"
            ),
            refused_hint=(
                "Teams need an account with PagerDuty's Teams feature (else HTTP 402); users and services "
                f"need a key allowed to read them (else HTTP 403): a general access read-only REST API key in {SECRET}"
            ),
        ),
        streams=(
            listing("teams", "teams", map_team),
            listing("services", "services", map_service),
            listing("users", "users", map_user),
            listing("incidents", "incidents", map_incident, windowed=Windowed(_window, MAX_RANGE, reopen=True)),
            # include[]=channels: the notification's channel in full rather than a reference.
            listing("log_entries", "log_entries", map_log_entry,
                    params={"is_overview": "false", "include[]": "channels"},
                    windowed=Windowed(_window, MAX_RANGE)),
            schedules.pagerduty_stream(limit, OFFSET_CAP),
        ),
        lifecycle_from_events=True,
    )


SYNC = HttpSource(
    name=SOURCE, help="PagerDuty incidents, log entries, users, teams, services, on-calls (US or EU)",
    secret=SECRET, base_url_env=BASE_URL_ENV, regions=REGIONS, page_limit=PAGE_LIMIT, provider=provider,
    options=OPTIONS,
)


# --- pure mappings --------------------------------------------------------------------------------


def _ref_id(ref: Any) -> str | None:
    return ref.get("id") if isinstance(ref, dict) else None


def _ref_name(ref: Any) -> str | None:
    if not isinstance(ref, dict):
        return None
    return ref.get("summary") or ref.get("name")


def _first_team(record: dict, ctx: Context) -> str | None:
    teams = record.get("teams") or []
    if not teams:
        return None
    return _ref_name(teams[0]) or ctx.team_names.get(_ref_id(teams[0]) or "")


def map_team(record: dict, ctx: Context) -> Mapped:
    return team_row(SOURCE, record)


def map_service(record: dict, ctx: Context) -> Mapped:
    out = Mapped()
    out.add("services", {"source": SOURCE, "service_id": required(record, "id"),
                         "name": required(record, "name"), "team": _first_team(record, ctx)})
    return out


def map_user(record: dict, ctx: Context) -> Mapped:
    out = Mapped()
    out.add("people", {
        "source": SOURCE,
        "person_id": required(record, "id"),
        "name": record.get("name"),
        "email": record.get("email"),
        "time_zone": record.get("time_zone"),
        "team": _first_team(record, ctx),
    })
    return out


def map_incident(record: dict, ctx: Context) -> Mapped:
    """An incident → an alert; acknowledgement, resolver and escalations come from log entries."""
    incident_id = str(required(record, "id"))
    title = required_text(record, "title")
    created_at = parse_time(required(record, "created_at"), "created_at")
    service = _ref_name(record.get("service")) or ctx.service_names.get(_ref_id(record.get("service")) or "")
    team = _first_team(record, ctx)
    resolved_at = None
    if record.get("status") == "resolved":
        resolved_at = optional_time(record.get("resolved_at") or record.get("last_status_change_at"), "resolved_at")
    reason = record.get("resolve_reason") if isinstance(record.get("resolve_reason"), dict) else {}
    merged_into = _ref_id(reason.get("incident")) if reason.get("type") == MERGED else None
    out = Mapped()
    out.add("alerts", {
        "source": SOURCE,
        "source_id": incident_id,
        "title": title,
        "signature": title_signature(service, title),
        "service": service,
        "team": ctx.team_for(team, service),
        "severity": record.get("urgency"),
        "created_at": created_at,
        "resolved_at": resolved_at,
        "url": record.get("html_url"),
        "merged_into": merged_into,
        "notifications_known": True,  # every incident's log entries are read in the same sync
        "labels": as_json({
            "urgency": record.get("urgency"),
            "priority": _ref_name(record.get("priority")),
            "status": record.get("status"),
            "incident_key": record.get("incident_key"),
            "escalation_policy": _ref_name(record.get("escalation_policy")),
        }),
        "raw": as_json(record),
    })
    return out


def notification_channel(record: dict, channel: dict) -> str:
    """phone, sms, push or email from the notification's type, the channel's, else the summary; else other."""
    notification = channel.get("notification") if isinstance(channel.get("notification"), dict) else {}
    for kind in (notification.get("type"), channel.get("type")):
        if isinstance(kind, str) and kind.lower().removesuffix("_notification") in CHANNELS:
            return CHANNELS[kind.lower().removesuffix("_notification")]
    found = _SUMMARY_CHANNEL.search(record.get("summary") or "") if isinstance(record.get("summary"), str) else None
    return found[1].lower().replace("-", "") if found else "other"


def map_log_entry(record: dict, ctx: Context) -> Mapped:
    """A log entry → an event (and a notification for notify entries)."""
    entry_id = str(required(record, "id"))
    kind = required(record, "type")
    incident_id = _ref_id(record.get("incident"))
    if not incident_id:
        raise MappingError("log entry without an incident reference")
    at = parse_time(required(record, "created_at"), "created_at")
    event_type = EVENT_TYPES.get(kind, kind.removesuffix("_log_entry"))
    agent = record.get("agent") if isinstance(record.get("agent"), dict) else {}
    channel = record.get("channel") if isinstance(record.get("channel"), dict) else {}
    out = Mapped()
    if event_type == "notify":
        person = _ref_id(record.get("user")) or _ref_id((channel.get("notification") or {}).get("user"))
        if not person:
            raise MappingError("notify log entry without the notified user")
        out.add("notifications", {"source": SOURCE, "alert_source_id": incident_id, "person_id": person,
                                  "channel": notification_channel(record, channel), "notified_at": at})
        agent = agent or {"id": person, "type": "user_reference"}
    details = {
        "summary": record.get("summary"),
        "channel": channel.get("type"),
        "note": record.get("note"),
        "assignees": [_ref_id(a) for a in record.get("assignees") or []] or None,
    }
    out.add("events", {
        "source": SOURCE,
        "event_id": entry_id,
        "alert_source_id": incident_id,
        "type": event_type,
        "occurred_at": at,
        "agent_id": agent.get("id"),
        "agent_type": (agent.get("type") or "").removesuffix("_reference") or None,
        "details": as_json({k: v for k, v in details.items() if v is not None} or None),
    })
    return out
