"""Opsgenie Alert API v2: declarations of its streams and pure mappings to canonical rows."""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Any

from ingest.http import Api
from ingest.mapping import Mapped, MappingError, as_json, parse_time, required, required_text, team_row
from ingest.paginators import CursorPaginator, NextUrlPaginator
from ingest.signature import title_signature
from ingest.sources import schedules
from ingest.sources.contract import HttpSource
from ingest.sync import Child, Context, Provider, Stream, Windowed
from ingest.windows import Window

SOURCE = "opsgenie"
SECRET = "OPSGENIE_API_KEY"
BASE_URL_ENV = "OPSGENIE_BASE_URL"
REGIONS = {"us": "https://api.opsgenie.com", "eu": "https://api.eu.opsgenie.com"}
PAGE_LIMIT = 100
OFFSET_CAP = 20_000  # offset + limit on /v2/alerts
OPTIONS = {"page_size": "records per request, at most 100", "fetch_logs": "fetch each alert's log (true)"}

# What alert log lines say (classify_log). A notification, from a notification rule ("... -> Sent
# [email] notification", "-> An aggregated ...", "... notification ... submitted") or plain ("Sent
# push notification to ...", "Made voice call to ..."), however it names the action it is about.
_NOTIFICATION = re.compile(
    r"->\s*(sent|received|an aggregated)\b|\bnotification\b.*\bsubmitted\b|\brule\s*\[|"
    r"^(sent|made|placed)\b.*\b(notification|sms|e-?mail|call|push)\b|\bnotification (was )?sent\b")
_SUPPRESSED = re.compile(r"\b(suppress\w*|not sent|will not be sent|skipped|rate-limit-drop|blocked)\b")
# Contact methods (E-mail, SMS, voice call, mobile push), as a bracketed token or a word.
CHANNELS = {"sms": "sms", "voice": "phone", "phone": "phone", "call": "phone", "mobile": "push", "push": "push",
            "email": "email", "e-mail": "email", "mail": "email"}
_BRACKETED_CHANNEL = re.compile(r"\[(sms|voice|phone|mobile|push|e-?mail)\]")
_CHANNEL_WORDS = (("sms", "sms"), ("voice", "phone"), ("call", "phone"), ("phone", "phone"), ("push", "push"),
                  ("mobile", "push"), ("e-?mail", "email"))
# An action: "Alert <action> via <where>" (also "Alert is <action>").
_ACTION = re.compile(r"^alert (?:is )?(created|acknowledged|unacknowledged|closed|escalated|snoozed|"
                     r"unsnoozed|assigned|note added|reopened)\b")
ACTIONS = {"created": "trigger", "reopened": "trigger", "acknowledged": "acknowledge",
           "unacknowledged": "unacknowledge", "closed": "resolve", "escalated": "escalate", "snoozed": "snooze",
           "assigned": "assign", "note added": "annotate"}
# Lines known to say nothing the figures use (how the alert was seen, routed or to be handled).
KNOWN_WORDINGS = ("viewed on", "will close alert automatically", "assigning owner team", "note added", "added note")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def error_message(body: Any) -> str | None:
    return str(body.get("message")) if isinstance(body, dict) and body.get("message") else None


def _ms(at: dt.datetime) -> int:
    return int(at.timestamp() * 1000)


def search_window(w: Window) -> dict[str, str]:
    """The alert search for a window, oldest first (JSM Operations searches alike)."""
    # Opsgenie's search compares createdAt in epoch milliseconds; `>` and `<` are the documented forms.
    return {"query": f"createdAt > {_ms(w.start) - 1} AND createdAt < {_ms(w.end)}",
            "sort": "createdAt", "order": "asc"}


def created_time(record: dict) -> dt.datetime:
    return parse_time(record["createdAt"])


def _logs_path(alert: dict) -> str | None:
    alert_id = alert.get("id")
    return f"v2/alerts/{alert_id}/logs" if isinstance(alert_id, str) and alert_id else None


def provider(base_url: str, options: dict) -> Provider:
    limit = min(int(options.get("page_size", PAGE_LIMIT)), PAGE_LIMIT)
    pages = NextUrlPaginator(items=("data",), limit=limit, next_link=("paging", "next"))
    logs = None
    if options.get("fetch_logs", True):
        logs = Child("alert_logs", _logs_path, CursorPaginator(items=("data",), limit=limit), map_alert_log,
                     params={"identifierType": "id", "order": "asc"})
    return Provider(
        api=Api(
            source=SOURCE,
            base_url=base_url,
            auth=lambda key: {"Authorization": f"GenieKey {key}"},
            error_message=error_message,
            auth_hint=(
                f"Check {SECRET} (an API integration key; read access is enough) and that the base URL is "
                f"your account's region: US {REGIONS['us']}, EU {REGIONS['eu']}"
            ),
            refused_hint=(
                f"The key in {SECRET} may not read this list: users and teams need an API integration "
                "without 'Restrict Access to Configurations'; without them people are their usernames and "
                "teams come from the [services] map"
            ),
        ),
        streams=(
            Stream("teams", "v2/teams", pages, map_team),
            Stream("users", "v2/users", pages, map_user),
            Stream("alerts", "v2/alerts", NextUrlPaginator(items=("data",), limit=limit, cap=OFFSET_CAP,
                                                           next_link=("paging", "next")),
                   functools.partial(map_alert, logs_read=logs is not None),
                   windowed=Windowed(search_window, on_cap="advance", record_time=created_time, reopen=True),
                   child=logs),
            schedules.opsgenie_stream(limit),
        ),
        lifecycle_from_events=True,
    )


SYNC = HttpSource(
    name=SOURCE, help="Opsgenie alerts and their logs, users, teams, schedule timelines (US or EU)",
    secret=SECRET, base_url_env=BASE_URL_ENV, regions=REGIONS, page_limit=PAGE_LIMIT, provider=provider,
    options=OPTIONS,
)


# --- pure mappings --------------------------------------------------------------------------------


def map_team(record: dict, ctx: Context) -> Mapped:
    return team_row(SOURCE, record)


def map_user(record: dict, ctx: Context) -> Mapped:
    out = Mapped()
    out.add("people", {
        "source": SOURCE,
        "person_id": required(record, "id"),
        "name": record.get("fullName"),
        "email": record.get("username"),
        "time_zone": record.get("timeZone"),
        "team": None,
    })
    return out


def _person(who: Any, ctx: Context) -> str | None:
    """A user's id from their username (email), else the text as given."""
    if not isinstance(who, str) or not who:
        return None
    return ctx.person_by_email.get(who.lower(), who)


def _team(record: dict, ctx: Context) -> str | None:
    for responder in record.get("responders") or []:
        if isinstance(responder, dict) and responder.get("type") == "team":
            name = ctx.team_names.get(responder.get("id") or "") or responder.get("name")
            if name:
                return name
    return ctx.team_names.get(record.get("ownerTeamId") or "")


def _after(created: dt.datetime, millis: Any) -> dt.datetime | None:
    if isinstance(millis, bool) or not isinstance(millis, (int, float)) or millis < 0:
        return None
    return created + dt.timedelta(milliseconds=millis)


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31 else None


def map_alert(record: dict, ctx: Context, logs_read: bool = False) -> Mapped:
    """An alert → an alert row; its report gives acknowledgement and close until its log says more.
    `logs_read`: its log is fetched too, so its notifications are known (METRICS.md, Interruption)."""
    alert_id = str(required(record, "id"))
    title = required_text(record, "message")
    created = parse_time(required(record, "createdAt"), "createdAt")
    integration = record.get("integration") if isinstance(record.get("integration"), dict) else {}
    service = integration.get("name") or record.get("source") or None
    report = record.get("report") if isinstance(record.get("report"), dict) else {}
    closed = record.get("status") == "closed"
    resolved_at = _after(created, report.get("closeTime")) if closed else None
    if closed and resolved_at is None:
        resolved_at = parse_time(required(record, "updatedAt"), "updatedAt")
    closed_by = report.get("closedBy") if closed else None
    out = Mapped()
    out.add("alerts", {
        "source": SOURCE,
        "source_id": alert_id,
        "title": title,
        "signature": title_signature(service, title),
        "service": service,
        "team": ctx.team_for(_team(record, ctx), service),
        "severity": record.get("priority"),
        "created_at": created,
        # the report, whatever the `acknowledged` flag says: the docs' own sample has
        # "acknowledged": false beside an ackTime (the flag is cleared when the alert closes)
        "acknowledged_at": _after(created, report.get("ackTime")),
        "acknowledged_by": _person(report.get("acknowledgedBy"), ctx),
        "resolved_at": resolved_at,
        "resolved_by": _person(closed_by, ctx),
        # a person closes as their username, an e-mail (also one deleted since, or not listed to a key
        # without configuration access); an integration or Opsgenie itself by name ("System")
        "auto_resolved": None if not isinstance(closed_by, str) or not closed_by else "@" not in closed_by,
        "url": None,
        "occurrences": _count(record.get("count")),
        "notifications_known": logs_read,
        "labels": as_json({"tags": record.get("tags"), "alias": record.get("alias"), "count": record.get("count"),
                           "priority": record.get("priority"), "integration": integration.get("type")}),
        "raw": as_json(record),
    })
    return out


def classify_log(text: str) -> tuple[str | None, str | None]:
    """(event type, notification channel) an alert log line says; (None, None) for a line known to
    say nothing the figures use; ("unrecognised", None) for a wording not known at all.

    Lines are of three kinds. An action is "Alert <action> via <where>" ("Alert acknowledged via
    web", "Alert closed via API[Prometheus]", "Alert closed via system using policy/policies[...]").
    A notification comes from a user's notification rule ("...Rule[name][action][step]... -> Sent
    [voice] notification", also about a close or an acknowledgement: it is never the action itself)
    or a plain "Sent push notification to ...". The rest says what Opsgenie looked at or decided
    ("Viewed on [web]", "Will close alert automatically ...", "Assigning owner team [...] ...").
    """
    t = " ".join(text.lower().split())
    if _NOTIFICATION.search(t):
        if _SUPPRESSED.search(t):  # a notification that was not sent paged nobody
            return None, None
        return ("notify", _channel(t)) if _channel(t) else (None, None)
    action = _ACTION.match(t)
    if action:
        kind = ACTIONS.get(action[1])
        return (kind, None) if kind else (None, None)
    if any(t.startswith(known) for known in KNOWN_WORDINGS):
        return None, None
    return "unrecognised", None


def _channel(t: str) -> str | None:
    bracketed = _BRACKETED_CHANNEL.search(t)
    if bracketed:
        return CHANNELS[bracketed[1]]
    for word, channel in _CHANNEL_WORDS:
        if re.search(rf"\b{word}\b", t):
            return channel
    return None


def map_alert_log(record: dict, alert: dict, ctx: Context) -> Mapped:
    """A log line of an alert → an event (and a notification), when it says something we use."""
    return log_rows(SOURCE, str(required(alert, "id")), f"{required(alert, 'id')}:{required(record, 'offset')}",
                    required(record, "log"), required(record, "createdAt"), record.get("owner"), record.get("type"),
                    ctx)


def log_rows(source: str, alert_id: str, event_id: str, text: Any, created: Any, owner: Any, kind_of_log: Any,
             ctx: Context) -> Mapped:
    """The event (and notification) one Opsgenie-style log line says, if any. JSM Operations
    (Opsgenie's successor) writes the same lines under other field names."""
    out = Mapped()
    kind, channel = classify_log(str(text))
    if kind is None:
        return out
    # a wording not recognised is kept as an event of its own (counted on the Data page), moving no figure
    at = parse_time(created, "log time")
    owner = owner if isinstance(owner, str) else ""
    if kind == "notify":
        found = _EMAIL.search(str(text))
        person = _person(found.group(0) if found else owner, ctx)
        if not person:
            raise MappingError("notification log line without a recipient")
        out.add("notifications", {"source": source, "alert_source_id": alert_id, "person_id": person,
                                  "channel": channel, "notified_at": at})
    out.add("events", {
        "source": source,
        "event_id": event_id,
        "alert_source_id": alert_id,
        "type": kind,
        "occurred_at": at,
        "agent_id": _person(owner, ctx),
        "agent_type": "user" if "@" in owner else ("integration" if owner else None),
        "details": as_json({"log": text, "type": kind_of_log}),
    })
    return out
