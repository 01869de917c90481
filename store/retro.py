"""What people write in the app: retro verdicts, fix estimates and runbook links."""

from __future__ import annotations

import datetime as dt
import uuid

import pyarrow as pa

from store.connection import writing
from store.upsert import upsert

VERDICTS = ("actionable", "noise", "needs-tuning", "duplicate")


def save_review(
    db: str,
    signature: str,
    verdict: str,
    note: str | None = None,
    reviewer: str | None = None,
    reviewed_at: dt.datetime | None = None,
    alert: tuple[str, str] | None = None,
    review_id: str | None = None,
) -> str:
    """Record a verdict on a signature (or on one alert: `alert=(source, source_id)`)."""
    if verdict not in VERDICTS:
        raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, got {verdict!r}")
    if not signature:
        raise ValueError("a review needs a signature")
    review_id = review_id or uuid.uuid4().hex
    row = {
        "review_id": review_id,
        "signature": signature,
        "alert_source": alert[0] if alert else None,
        "alert_source_id": alert[1] if alert else None,
        "verdict": verdict,
        "note": note,
        "reviewer": reviewer,
        "reviewed_at": reviewed_at or dt.datetime.now(dt.UTC),
    }
    with writing(db) as con:
        upsert(con, "reviews", pa.Table.from_pylist([row]))
    return review_id


def save_fix_estimate(
    db: str, signature: str, hours: float, note: str | None = None, estimated_by: str | None = None,
    estimated_at: dt.datetime | None = None,
) -> None:
    """Store (or replace) the hours a fix of this signature would take."""
    if not hours >= 0:
        raise ValueError(f"a fix estimate is a number of hours >= 0, got {hours!r}")
    row = {
        "signature": signature,
        "hours": float(hours),
        "note": note,
        "estimated_by": estimated_by,
        "estimated_at": estimated_at or dt.datetime.now(dt.UTC),
    }
    with writing(db) as con:
        upsert(con, "fix_estimates", pa.Table.from_pylist([row]))


def save_runbook_link(db: str, signature: str, url: str, added_by: str | None = None) -> None:
    """Record a runbook link for a signature entered by a person."""
    if not url.startswith(("https://", "http://")):
        raise ValueError("a runbook link must start with https:// or http://")
    row = {"signature": signature, "url": url, "added_by": added_by, "added_at": dt.datetime.now(dt.UTC)}
    with writing(db) as con:
        upsert(con, "runbook_links", pa.Table.from_pylist([row]))
