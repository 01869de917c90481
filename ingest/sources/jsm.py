"""Jira Service Management Operations (Opsgenie's successor): its alerts API, mapped like Opsgenie."""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from typing import Any

import settings
from ingest.http import Api
from ingest.mapping import Mapped, MappingError, as_json, optional_time, parse_time, required, required_text
from ingest.paginators import NextUrlPaginator, OffsetPaginator
from ingest.signature import title_signature
from ingest.sources.contract import HttpSource
from ingest.sources.opsgenie import created_time, log_rows, search_window  # the same search
from ingest.sync import Child, Context, Provider, Stream, Windowed

SOURCE = "jsm"
SECRET = "JSM_API_TOKEN"  # an Atlassian API token, used with the account's e-mail (basic auth)
EMAIL_ENV = "JSM_EMAIL"
CLOUD_ID_ENV = "JSM_CLOUD_ID"
BASE_URL_ENV = "JSM_BASE_URL"
API_URL = "https://api.atlassian.com/jsm/ops/api/{cloud_id}"
PAGE_LIMIT = 100
OFFSET_CAP = 19_999  # "Sum of offset and size should be lower than 20K": past it, slice by time
OPTIONS = {
    "cloud_id": f"your site's cloud id (${CLOUD_ID_ENV} takes precedence)",
    "page_size": "records per request, at most 100",
    "fetch_logs": "fetch each alert's log (true)",
}
_CLOUD_ID = re.compile(r"[0-9a-fA-F-]{8,64}")
CLOSED = ("closed", "resolved")  # the statuses of an alert that is over


def error_message(body: Any) -> str | None:
    """`{"code", "message"}` (401) or `{"errors": [{"title", "code"}]}` (the rest)."""
    if not isinstance(body, dict):
        return None
    titles = [str(e.get("title")) for e in body.get("errors") or [] if isinstance(e, dict) and e.get("title")]
    return "; ".join(titles) or (str(body["message"]) if body.get("message") else None)


def default_url(options: dict) -> str:
    """The API's URL for the site whose cloud id is in $JSM_CLOUD_ID or providers.jsm.cloud_id."""
    cloud_id = settings.secret(CLOUD_ID_ENV) or options.get("cloud_id")
    if not cloud_id:
        raise settings.ConfigError(
            f"{SOURCE}: set {CLOUD_ID_ENV} to your site's cloud id (https://<site>.atlassian.net/_edge/tenant_info)")
    if not isinstance(cloud_id, str) or not _CLOUD_ID.fullmatch(cloud_id):
        raise settings.ConfigError(f"{SOURCE}: {CLOUD_ID_ENV} is not a cloud id: {str(cloud_id)[:80]!r}")
    return API_URL.format(cloud_id=cloud_id)


def check(token: str, options: dict) -> str | None:
    if not settings.secret(EMAIL_ENV):
        return f"{SOURCE}: set {EMAIL_ENV} to the e-mail of the Atlassian account whose API token is in {SECRET}"
    return None


def _basic(token: str) -> dict[str, str]:
    pair = f"{settings.secret(EMAIL_ENV) or ''}:{token}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}


def _logs_path(alert: dict) -> str | None:
    alert_id = alert.get("id")
    return f"v1/alerts/{alert_id}/logs" if isinstance(alert_id, str) and alert_id else None


def provider(base_url: str, options: dict) -> Provider:
    limit = min(int(options.get("page_size", PAGE_LIMIT)), PAGE_LIMIT)
    alerts = OffsetPaginator(items=("values",), limit=limit, limit_param="size", cap=OFFSET_CAP, ask_total=False,
                             more=("links", "next"))
    logs = None
    if options.get("fetch_logs", True):
        # links.next carries the `after` key of the next page
        logs = Child("alert_logs", _logs_path,
                     NextUrlPaginator(items=("values",), limit=limit, limit_param="size", next_link=("links", "next")),
                     map_alert_log)
    return Provider(
        api=Api(
            source=SOURCE,
            base_url=base_url,
            auth=_basic,
            error_message=error_message,
            auth_hint=(f"Check {EMAIL_ENV} and {SECRET} (an API token of that Atlassian account, which needs "
                       f"access to Operations alerts) and {CLOUD_ID_ENV}"),
            refused_hint=(f"The account in {EMAIL_ENV} may not read these alerts: it needs the Operations "
                          "read access to alerts (read:ops-alert) on the teams whose alerts you want"),
        ),
        streams=(
            Stream("alerts", "v1/alerts", alerts, functools.partial(map_alert, logs_read=logs is not None),
                   windowed=Windowed(search_window, on_cap="advance", record_time=created_time, reopen=True), child=logs),
        ),
        lifecycle_from_events=True,
    )


SYNC = HttpSource(
    name=SOURCE, help="Jira Service Management Operations alerts and their logs (Opsgenie's successor)",
    secret=SECRET, base_url_env=BASE_URL_ENV, regions={}, page_limit=PAGE_LIMIT, provider=provider,
    options=OPTIONS, check=check, default_url=default_url,
)


# --- pure mappings --------------------------------------------------------------------------------


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31 else None


def map_alert(record: dict, ctx: Context, logs_read: bool = False) -> Mapped:
    """An alert → an alert row, as Opsgenie's: service is the integration's name (else the source),
    so an alert's signature is the one it had in Opsgenie. Who acknowledged and closed it, and so
    whether it closed on its own, come from its log."""
    alert_id = str(required(record, "id"))
    title = required_text(record, "message")
    created = parse_time(required(record, "createdAt"), "createdAt")
    service = record.get("integrationName") or record.get("source") or None
    closed = record.get("status") in CLOSED
    resolved_at = optional_time(record.get("closeTime"), "closeTime") if closed else None
    if closed and resolved_at is None:
        resolved_at = parse_time(required(record, "updatedAt"), "updatedAt")
    if not isinstance(service, (str, type(None))):
        raise MappingError("integrationName is not text")
    out = Mapped()
    out.add("alerts", {
        "source": SOURCE,
        "source_id": alert_id,
        "title": title,
        "signature": title_signature(service, title),
        "service": service,
        # responders name teams by id only; the configured service → team map names them
        "team": ctx.team_for(None, service),
        "severity": record.get("priority"),
        "created_at": created,
        "acknowledged_at": optional_time(record.get("ackTime"), "ackTime"),
        "resolved_at": resolved_at,
        "url": None,
        "occurrences": _count(record.get("count")),
        "notifications_known": logs_read,
        "labels": as_json({"tags": record.get("tags"), "alias": record.get("alias"), "count": record.get("count"),
                           "priority": record.get("priority"), "integration": record.get("integrationType"),
                           "status": record.get("status")}),
        "raw": as_json(record),
    })
    return out


def map_alert_log(record: dict, alert: dict, ctx: Context) -> Mapped:
    """A log line (`logTime`, `logType`, `log`, `owner`; no key of its own) → what Opsgenie's says."""
    alert_id = str(required(alert, "id"))
    text = required(record, "log")
    at = required(record, "logTime")
    digest = hashlib.sha256(f"{at}\n{record.get('owner')}\n{text}".encode("utf-8", "backslashreplace")).hexdigest()
    out = log_rows(SOURCE, alert_id, f"{alert_id}:{digest[:20]}", text, at, record.get("owner"),
                   record.get("logType"), ctx)
    for event in out.rows.get("events", ()):  # a person named by e-mail is a person of this source
        if event["agent_type"] == "user":
            out.add("people", {"source": SOURCE, "person_id": event["agent_id"], "name": None,
                               "email": event["agent_id"], "time_zone": None, "team": None})
    return out
