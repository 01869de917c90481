"""Grafana OnCall (and Grafana Cloud IRM) public API: declarations of its streams and pure mappings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ingest.http import Api
from ingest.mapping import (
    Mapped,
    MappingError,
    as_json,
    optional_time,
    parse_time,
    required,
    team_row,
)
from ingest.paginators import NextUrlPaginator
from ingest.signature import title_signature
from ingest.sources import schedules
from ingest.sources.contract import HttpSource
from ingest.sync import Context, Provider, Stream, Windowed
from ingest.windows import Window

SOURCE = "oncall"
SECRET = "GRAFANA_ONCALL_TOKEN"
BASE_URL_ENV = "GRAFANA_ONCALL_URL"
REGIONS: dict[str, str] = {}  # no public default: the "OnCall API URL" from OnCall's settings page
PAGE_LIMIT = 50
OPTIONS = {"page_size": "records per request, at most 50", "window_days": "days per started_at window (7)",
           "grafana_url": "your Grafana stack's URL, sent as X-Grafana-URL: needed with a service account token"}
_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"  # OnCall's filter format: no time zone, inclusive at both ends
SERVICE_ACCOUNT_PREFIX = "glsa_"  # Grafana service account tokens; they need X-Grafana-URL beside them
UNTITLED = "Incident"  # what OnCall itself shows for a group without a title (not rendered yet, or wiped)
# The first acknowledgement OnCall showed is kept: unacknowledge (and un-resolve, which undoes
# the acknowledgement too) sets acknowledged_at back to null, and a later one has a later time.
MERGE = {"alerts": {"acknowledged_at": "keep", "acknowledged_by": "keep"}}


def error_message(body: Any) -> str | None:
    return str(body.get("detail")) if isinstance(body, dict) and body.get("detail") else None


def _window(w: Window) -> dict[str, str]:
    start, end = (at.astimezone(dt.UTC).strftime(_DATE_FORMAT) for at in (w.start, w.end))
    return {"started_at": f"{start}_{end}"}


def provider(base_url: str, options: dict) -> Provider:
    limit = min(int(options.get("page_size", PAGE_LIMIT)), PAGE_LIMIT)
    pages = NextUrlPaginator(items=("results",), limit=limit, limit_param="perpage", next_link=("next",))
    span = dt.timedelta(days=float(options.get("window_days", 7)) or 7)
    stack = options.get("grafana_url")
    return Provider(
        api=Api(
            source=SOURCE,
            base_url=base_url,
            auth=lambda token: {"Authorization": token},  # an OnCall API key or a service account token, bare
            headers={"X-Grafana-URL": stack} if stack else None,
            error_message=error_message,
            auth_hint=(
                f"Check {SECRET} (an OnCall API key, or a Grafana service account token with "
                f"providers.{SOURCE}.grafana_url set to your stack's URL) and that {BASE_URL_ENV} is the "
                "OnCall API URL shown on OnCall's settings page"
            ),
            refused_hint=(
                f"The key in {SECRET} may not read this list: alert groups need the "
                "grafana-oncall-app.alert-groups:read permission, teams and users "
                "grafana-oncall-app.user-settings:read, integrations grafana-oncall-app.integrations:read, schedules "
                "grafana-oncall-app.schedules:read"
            ),
        ),
        streams=(
            Stream("teams", "api/v1/teams/", pages, map_team),
            Stream("integrations", "api/v1/integrations/", pages, map_integration),
            Stream("users", "api/v1/users/", pages, map_user),
            # Newest first inside closed started_at windows: groups created later cannot shift the pages.
            Stream("alert_groups", "api/v1/alert_groups/", pages, map_alert_group,
                   windowed=Windowed(_window, max_span=span, reopen=True), merge=MERGE),
            schedules.oncall_stream(limit),
        ),
    )


def check(token: str, options: dict) -> str | None:
    """A service account token is refused without the stack's URL beside it: say so before any request."""
    if token.startswith(SERVICE_ACCOUNT_PREFIX) and not options.get("grafana_url"):
        return (f"{SOURCE}: {SECRET} holds a Grafana service account token; set providers.{SOURCE}.grafana_url "
                "to your Grafana stack's URL (sent as X-Grafana-URL)")
    stack = options.get("grafana_url")
    if stack is not None and (not isinstance(stack, str) or not stack.startswith(("https://", "http://"))):
        return f"providers.{SOURCE}.grafana_url: expected your Grafana stack's URL (https://...), got {stack!r}"
    return None


SYNC = HttpSource(
    name=SOURCE, help="Grafana OnCall / Grafana Cloud IRM alert groups, users, teams, integrations, schedules' final shifts",
    secret=SECRET, base_url_env=BASE_URL_ENV, regions=REGIONS, page_limit=PAGE_LIMIT, provider=provider,
    options=OPTIONS, check=check,
)


# --- pure mappings --------------------------------------------------------------------------------


def map_team(record: dict, ctx: Context) -> Mapped:
    return team_row(SOURCE, record)


def map_integration(record: dict, ctx: Context) -> Mapped:
    out = Mapped()
    out.add("services", {"source": SOURCE, "service_id": required(record, "id"), "name": required(record, "name"),
                         "team": ctx.team_names.get(record.get("team_id") or "")})
    return out


def map_user(record: dict, ctx: Context) -> Mapped:
    out = Mapped()
    teams = record.get("teams") or []
    out.add("people", {
        "source": SOURCE,
        "person_id": required(record, "id"),
        "name": record.get("name") or record.get("username"),
        "email": record.get("email"),
        "time_zone": record.get("timezone"),
        "team": ctx.team_names.get(teams[0]) if teams and isinstance(teams[0], str) else None,
    })
    return out


def _labels(record: dict) -> dict[str, str]:
    labels = {}
    for label in record.get("labels") or []:
        key, value = (label.get("key") or {}).get("name"), (label.get("value") or {}).get("name")
        if key:
            labels[key] = value
    return labels


def _title(record: dict) -> str:
    title = record.get("title")
    if title is None:
        return UNTITLED
    if not isinstance(title, str) or not title.strip():
        raise MappingError("title is not text")
    return title


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31 else None


def _event_id(group_id: str, kind: str, at: dt.datetime) -> str:
    """One event per acknowledgement or resolve shown, so one undone later stays in the log."""
    if kind == "trigger":
        return f"{group_id}:trigger"
    return f"{group_id}:{kind}@{(at - _EPOCH) // dt.timedelta(microseconds=1)}"


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def map_alert_group(record: dict, ctx: Context) -> Mapped:
    """An alert group → an alert, with trigger/acknowledge/resolve events from its own fields.

    The record says only the current state: the stream's MERGE keeps the first acknowledgement
    and the service once known. Silenced and not resolved is not open (METRICS.md, Silenced alert).
    """
    group_id = str(required(record, "id"))
    title = _title(record)
    created = parse_time(required(record, "created_at"), "created_at")
    acknowledged = optional_time(record.get("acknowledged_at"), "acknowledged_at")
    resolved = optional_time(record.get("resolved_at"), "resolved_at")
    silenced = optional_time(record.get("silenced_at"), "silenced_at") if resolved is None else None
    # A group of a deleted integration stays listed, its integration does not: the name comes from
    # the services stored by earlier syncs (the sync's context starts with them).
    service = ctx.service_names.get(record.get("integration_id") or "")
    labels = _labels(record)
    out = Mapped()
    out.add("alerts", {
        "source": SOURCE,
        "source_id": group_id,
        "title": title,
        "signature": title_signature(service, title),
        "service": service,
        "team": ctx.team_for(ctx.team_names.get(record.get("team_id") or ""), service),
        "severity": labels.get("severity"),
        "created_at": created,
        "acknowledged_at": acknowledged,
        "acknowledged_by": record.get("acknowledged_by") if acknowledged else None,
        "resolved_at": resolved,
        "resolved_by": record.get("resolved_by") if resolved else None,
        # resolved_by is null for a resolve by the alert source, the last escalation step, a wipe
        # or the end of maintenance: none of them a person
        "auto_resolved": None if resolved is None else not record.get("resolved_by"),
        "silenced_at": silenced,
        "occurrences": _count(record.get("alerts_count")),
        "url": (record.get("permalinks") or {}).get("web"),
        "labels": as_json({**labels, "alerts_count": record.get("alerts_count"), "state": record.get("state")}),
        "raw": as_json(record),
    })
    for kind, at, who in (("trigger", created, None), ("acknowledge", acknowledged, record.get("acknowledged_by")),
                          ("resolve", resolved, record.get("resolved_by"))):
        if at is not None:
            out.add("events", {"source": SOURCE, "event_id": _event_id(group_id, kind, at),
                               "alert_source_id": group_id, "type": kind, "occurred_at": at, "agent_id": who,
                               "agent_type": "user" if who else None, "details": None})
    return out
