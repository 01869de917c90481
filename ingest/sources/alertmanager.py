"""Alertmanager webhook payloads (version 4) → canonical alert rows: one row per firing interval."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from typing import Any

import settings as settings_module
from ingest.mapping import Mapped, MappingError, as_json, map_each, optional_time, parse_time
from ingest.signature import label_signature

SOURCE = "alertmanager"
STREAM = "webhook"
ALERT_COLUMNS = (
    "title", "signature", "service", "team", "severity", "created_at", "resolved_at",
    "auto_resolved", "runbook_url", "url", "labels", "raw", "ingested_at",
)  # fmt: skip
# Webhook rows: the newest notification wins, but a NULL (a firing alert's hidden end)
# never erases what an earlier resolved notification told us.
WEBHOOK_MERGE = {"alerts": {column: "coalesce" for column in ALERT_COLUMNS}}

_FNV_OFFSET = 14695981039346656037
_FNV_PRIME = 1099511628211
_MASK = (1 << 64) - 1
_SEPARATOR = 0xFF


def fingerprint(labels: Mapping[str, str]) -> str:
    """The label-set fingerprint Alertmanager reports: FNV-1a 64 over sorted name/value pairs."""
    value = _FNV_OFFSET
    for name in sorted(labels):
        for part in (name, labels[name]):
            for byte in part.encode("utf-8"):
                value = ((value ^ byte) * _FNV_PRIME) & _MASK
            value = ((value ^ _SEPARATOR) * _FNV_PRIME) & _MASK
    return f"{value:016x}"


def source_id(fingerprint_hex: str, starts_at: dt.datetime) -> str:
    """One firing interval of one label set: fingerprint + startsAt to the whole second.

    Whole seconds, because Prometheus stores the first firing sample in milliseconds while
    Alertmanager reports the same instant in nanoseconds; both floor to the same second.
    """
    return f"{fingerprint_hex}@{starts_at.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}"


def payload_problem(payload: Any) -> str | None:
    """Why a decoded body is not an Alertmanager webhook payload, or None when it is one."""
    if not isinstance(payload, dict):
        return "body is not a JSON object"
    if str(payload.get("version", "4")) != "4":
        return f"unsupported payload version {payload.get('version')!r} (expected \"4\")"
    alerts = payload.get("alerts")
    if not isinstance(alerts, list):
        return "payload has no 'alerts' list"
    for index, alert in enumerate(alerts):
        if not isinstance(alert, dict) or not isinstance(alert.get("labels"), dict):
            return f"alerts[{index}] has no 'labels' object"
        if not alert.get("startsAt"):
            return f"alerts[{index}] has no 'startsAt'"
    return None


def map_payload(payload: dict, config: settings_module.Settings) -> Mapped:
    """The alert rows of one webhook payload; alerts that cannot be mapped are rejected."""
    problem = payload_problem(payload)
    if problem:
        out = Mapped()
        out.reject(STREAM, payload, problem)
        return out
    context = {key: payload.get(key) for key in ("receiver", "groupKey", "externalURL")}
    out = map_each(STREAM, payload["alerts"], lambda alert: _map_alert(alert, context, config))
    dropped = dropped_row(payload)
    if dropped is not None:
        out.add("dropped_alerts", dropped)
    return out


def dropped_row(payload: dict) -> dict | None:
    """The `dropped_alerts` row of a payload whose truncatedAlerts > 0: alerts past the receiver's
    max_alerts, which Alertmanager counts but does not send (None when it dropped none)."""
    dropped = payload.get("truncatedAlerts")
    if isinstance(dropped, bool) or not isinstance(dropped, int) or dropped <= 0:
        return None
    starts = [a.get("startsAt") for a in payload["alerts"] if isinstance(a.get("startsAt"), str)]
    try:
        first = min((parse_time(at) for at in starts), default=None)
    except MappingError:
        first = None
    body = json.dumps(payload, sort_keys=True, default=str)  # the same body loaded twice counts once
    return {"source": SOURCE, "notification_id": hashlib.sha256(body.encode("utf-8", "backslashreplace")).hexdigest(),
            "group_key": payload.get("groupKey") if isinstance(payload.get("groupKey"), str) else None,
            "first_alert_at": first, "dropped": min(dropped, 2**31 - 1)}


def _map_alert(alert: dict, context: dict, config: settings_module.Settings) -> Mapped:
    labels = _string_map(alert.get("labels"), "labels")
    starts_at = parse_time(alert.get("startsAt"), "startsAt")
    ends_at = _resolved_at(alert)
    out = Mapped()
    out.add(
        "alerts",
        alert_row(
            labels=labels,
            annotations=_string_map(alert.get("annotations") or {}, "annotations"),
            starts_at=starts_at,
            resolved_at=ends_at,
            fingerprint_hex=alert.get("fingerprint") or fingerprint(labels),
            url=alert.get("generatorURL") or None,
            raw={**context, "alert": alert},
            config=config,
        ),
    )
    return out


def _resolved_at(alert: dict) -> dt.datetime | None:
    status = alert.get("status")
    if status == "firing":
        return None
    if status != "resolved":
        raise MappingError(f"alert status must be 'firing' or 'resolved', got {status!r}")
    ends_at = optional_time(alert.get("endsAt"), "endsAt")
    if ends_at is None:
        raise MappingError("resolved alert without endsAt")
    return ends_at


def _string_map(value: Any, what: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise MappingError(f"{what} must be an object of strings")
    return value


def alert_row(
    *,
    labels: dict[str, str],
    annotations: dict[str, str],
    starts_at: dt.datetime,
    resolved_at: dt.datetime | None,
    fingerprint_hex: str,
    url: str | None,
    raw: dict,
    config: settings_module.Settings,
) -> dict[str, Any]:
    """The canonical row of one firing interval (shared by the webhook and the backfill)."""
    if not labels.get("alertname"):
        raise MappingError("labels lack 'alertname'")
    signature = label_signature(labels, config.alertmanager_signature_labels)
    service = signature.split("|", 1)[1] or None
    return {
        "source": SOURCE,
        "source_id": source_id(fingerprint_hex, starts_at),
        "title": annotations.get("summary") or labels["alertname"],
        "signature": signature,
        "service": service,
        "team": _team(labels, service, config),
        "severity": labels.get("severity") or None,
        "created_at": starts_at,
        "resolved_at": resolved_at,
        "auto_resolved": True if resolved_at else None,
        "runbook_url": annotations.get("runbook_url") or None,
        "url": url,
        "labels": as_json(labels),
        "raw": as_json(raw),
    }


def _team(labels: Mapping[str, str], service: str | None, config: settings_module.Settings) -> str:
    """The team label, else the configured service→team map, else 'unassigned'."""
    return (
        labels.get(config.alertmanager_team_label)
        or (config.service_teams.get(service) if service else None)
        or "unassigned"
    )
