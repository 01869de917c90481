"""Tiny alert histories built in code for the metrics tests."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any

import pandas as pd

import store

UTC = dt.UTC
# A sprint start with the default settings (anchor 2026-01-05, 14 days), a Monday.
T0 = dt.datetime(2026, 3, 2, tzinfo=UTC)
_ids = itertools.count(1)


def at(minutes: float = 0, days: float = 0, base: dt.datetime = T0) -> dt.datetime:
    """A time `days` and `minutes` after `base`."""
    return base + dt.timedelta(days=days, minutes=minutes)


def alert(
    created: dt.datetime,
    ack_s: float | None = None,
    resolve_s: float | None = None,
    signature: str = "api|disk # full",
    team: str = "core",
    source: str = "pagerduty",
    **extra: Any,
) -> dict[str, Any]:
    """One alert row; acknowledgement and resolution given in seconds after creation."""
    row = {
        "source": source,
        "source_id": extra.pop("source_id", f"A{next(_ids)}"),
        "title": extra.pop("title", signature.split("|")[-1]),
        "signature": signature,
        "service": extra.pop("service", signature.split("|")[0]),
        "team": team,
        "created_at": created,
        "acknowledged_at": created + dt.timedelta(seconds=ack_s) if ack_s is not None else None,
        "resolved_at": created + dt.timedelta(seconds=resolve_s) if resolve_s is not None else None,
    }
    row.update(extra)
    return row


def am_alert(
    created: dt.datetime, resolve_s: float | None, name: str, team: str = "core", ack_s: float | None = None,
    **labels: str,
) -> dict[str, Any]:
    """An Alertmanager firing interval of alert `name` with `labels` (signature: name|service, else job)."""
    labels = {"alertname": name, **labels}
    qualifier = labels.get("service") or labels.get("job") or labels.get("namespace") or ""
    return alert(created, ack_s=ack_s, resolve_s=resolve_s, signature=f"{name}|{qualifier}", source="alertmanager",
                 team=team, labels=json.dumps(labels, sort_keys=True), service=qualifier or None)  # fmt: skip


def page(a: dict[str, Any], person: str, after_s: float = 0, channel: str = "phone") -> dict[str, Any]:
    """A notification of alert `a` to `person` `after_s` seconds after it was created."""
    return {
        "source": a["source"],
        "alert_source_id": a["source_id"],
        "person_id": person,
        "channel": channel,
        "notified_at": a["created_at"] + dt.timedelta(seconds=after_s),
    }


def person(person_id: str, time_zone: str | None = None, team: str | None = None, source: str = "pagerduty"):
    return {
        "source": source,
        "person_id": person_id,
        "name": person_id.title(),
        "time_zone": time_zone,
        "team": team,
    }


def review(
    signature: str, verdict: str, reviewed_at: dt.datetime, alert: dict | None = None, period=None, **extra
):
    """A verdict given at `reviewed_at`, by a reviewer looking at `period` (a Period) when given."""
    return {
        "review_id": extra.pop("review_id", f"R{next(_ids)}"),
        "signature": signature,
        "alert_source": alert["source"] if alert else None,
        "alert_source_id": alert["source_id"] if alert else None,
        "verdict": verdict,
        "note": extra.pop("note", None),
        "reviewer": extra.pop("reviewer", "sam"),
        "reviewed_at": reviewed_at,
        "period_start": period.start if period else None,
        "period_end": period.end if period else None,
    }


_TYPES = {
    "alerts": {
        "acknowledged_at": "datetime64[us, UTC]",
        "resolved_at": "datetime64[us, UTC]",
        "acknowledged_by": "string",
        "auto_resolved": "boolean",
        "runbook_url": "string",
    },
    "people": {"time_zone": "string", "team": "string"},
    "reviews": {"alert_source": "string", "alert_source_id": "string", "note": "string",
                "period_start": "datetime64[us, UTC]", "period_end": "datetime64[us, UTC]"},
}


def _frame(table: str, rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for column, kind in _TYPES.get(table, {}).items():
        if column in frame:
            frame[column] = frame[column].astype(kind)
    return frame


def build(path, **tables: list[dict[str, Any]]) -> str:
    """Write the given rows (table name → list of dicts) into a new database file."""
    db = str(path)
    with store.writing(db) as con:
        for table, rows in tables.items():
            if rows:
                store.upsert(con, table, _frame(table, rows))
    return db
