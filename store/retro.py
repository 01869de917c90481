"""What people write in the app: retro verdicts, fix estimates, runbook links and team targets."""

from __future__ import annotations

import datetime as dt
import uuid

import pyarrow as pa

from store.connection import upsert_soon, writing
from store.upsert import upsert

VERDICTS = ("actionable", "noise", "needs-tuning", "duplicate")


def review_row(
    signature: str,
    verdict: str,
    note: str | None = None,
    reviewer: str | None = None,
    reviewed_at: dt.datetime | None = None,
    alert: tuple[str, str] | None = None,
    review_id: str | None = None,
    period: tuple[dt.datetime, dt.datetime] | None = None,
    owner: str | None = None,
) -> dict:
    """One checked review: a verdict on a signature (or on one alert: `alert=(source, source_id)`).

    `period` is the [start, end) the reviewer was looking at: the verdict holds from its start
    (METRICS.md, verdict in force); without it, from the time it was given.
    """
    if verdict not in VERDICTS:
        raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, got {verdict!r}")
    if not signature:
        raise ValueError("a review needs a signature")
    if period is not None and not period[0] < period[1]:
        raise ValueError(f"a reviewed period must end after it starts, got {period[0]} .. {period[1]}")
    return {
        "review_id": review_id or uuid.uuid4().hex,
        "signature": signature,
        "alert_source": alert[0] if alert else None,
        "alert_source_id": alert[1] if alert else None,
        "verdict": verdict,
        "note": note,
        "reviewer": reviewer,
        "reviewed_at": reviewed_at or dt.datetime.now(dt.UTC),
        "period_start": period[0] if period else None,
        "period_end": period[1] if period else None,
        "owner": owner,
    }


def save_reviews(db: str, rows: list[dict]) -> list[str]:
    """Record several reviews (from `review_row`) in one unit of work; their ids."""
    if rows:
        upsert_soon(db, "reviews", pa.Table.from_pylist(rows, schema=_REVIEW_SCHEMA))
    return [row["review_id"] for row in rows]


def save_review(db: str, signature: str, verdict: str, **review) -> str:
    """Record one verdict (see `review_row` for the fields); its id."""
    return save_reviews(db, [review_row(signature, verdict, **review)])[0]


_TIME = pa.timestamp("us", tz="UTC")
_REVIEW_SCHEMA = pa.schema([
    ("review_id", pa.string()), ("signature", pa.string()), ("alert_source", pa.string()),
    ("alert_source_id", pa.string()), ("verdict", pa.string()), ("note", pa.string()),
    ("reviewer", pa.string()), ("reviewed_at", _TIME), ("period_start", _TIME), ("period_end", _TIME),
    ("owner", pa.string()),
])


def set_owner(db: str, review_id: str, owner: str | None) -> None:
    """Name who takes on the action a verdict calls for (None: nobody yet)."""
    with writing(db) as con:
        found = con.execute("SELECT count(*) FROM reviews WHERE review_id = $id", {"id": review_id}).fetchone()[0]
        if not found:
            raise ValueError(f"no review {review_id!r}")
        upsert(con, "reviews", pa.Table.from_pylist([{"review_id": review_id, "owner": owner or None}],
                                                     schema=pa.schema([("review_id", pa.string()), ("owner", pa.string())])))


FIX_KINDS = ("alert", "cause")  # METRICS.md, Cost: an alert fix removes noise; a cause fix repairs


def save_fix_estimate(
    db: str, signature: str, hours: float, note: str | None = None, estimated_by: str | None = None,
    estimated_at: dt.datetime | None = None, fix_kind: str = "alert",
) -> None:
    """Store (or replace) the hours an alert fix or a cause fix of this signature would take."""
    if not hours >= 0:
        raise ValueError(f"a fix estimate is a number of hours >= 0, got {hours!r}")
    if fix_kind not in FIX_KINDS:
        raise ValueError(f"a fix is one of {', '.join(FIX_KINDS)}, got {fix_kind!r}")
    row = {
        "signature": signature,
        "fix_kind": fix_kind,
        "hours": float(hours),
        "note": note,
        "estimated_by": estimated_by,
        "estimated_at": estimated_at or dt.datetime.now(dt.UTC),
    }
    upsert_soon(db, "fix_estimates", pa.Table.from_pylist([row]))


def save_runbook_link(db: str, signature: str, url: str, added_by: str | None = None) -> None:
    """Record a runbook link for a signature entered by a person."""
    if not url.startswith(("https://", "http://")):
        raise ValueError("a runbook link must start with https:// or http://")
    row = {"signature": signature, "url": url, "added_by": added_by, "added_at": dt.datetime.now(dt.UTC)}
    upsert_soon(db, "runbook_links", pa.Table.from_pylist([row]))


# Figures a team can bound in the app (METRICS.md names them; the dashboard labels them).
TARGET_FIGURES = ("wake_ups", "noise_ratio", "tta_median_s")


def save_target(db: str, team: str, figure: str, value: float, set_by: str | None = None) -> None:
    """Set (or replace) a team's upper bound on a figure; it overrides the configuration file."""
    if figure not in TARGET_FIGURES:
        raise ValueError(f"a target bounds one of {', '.join(TARGET_FIGURES)}, got {figure!r}")
    if not team:
        raise ValueError("a target needs a team")
    if not value >= 0 or (figure == "noise_ratio" and value > 1):
        raise ValueError(f"a target for {figure} must be a number >= 0 (a share <= 1 for noise_ratio), got {value!r}")
    row = {"team": team, "figure": figure, "value": float(value), "set_by": set_by,
           "set_at": dt.datetime.now(dt.UTC)}
    upsert_soon(db, "targets", pa.Table.from_pylist([row]))


def clear_target(db: str, team: str, figure: str) -> None:
    """Remove a target set in the app: the configuration file's applies again, if any."""
    with writing(db) as con:
        con.execute("DELETE FROM targets WHERE team = $team AND figure = $figure", {"team": team, "figure": figure})


FIX_KINDS = ("alert", "cause")


def mark_fix_done(
    db: str, signature: str, fix_kind: str = "alert", done_by: str | None = None, note: str | None = None,
    done_at: dt.datetime | None = None,
) -> dt.datetime:
    """Record that a fix of this signature was made (the planner's "done"): a fix time (METRICS.md)."""
    if fix_kind not in FIX_KINDS:
        raise ValueError(f"a fix is one of {', '.join(FIX_KINDS)}, got {fix_kind!r}")
    if not signature:
        raise ValueError("a fix needs a signature")
    done_at = done_at or dt.datetime.now(dt.UTC)
    row = {"signature": signature, "done_at": done_at, "fix_kind": fix_kind, "done_by": done_by, "note": note}
    upsert_soon(db, "fixes_done", pa.Table.from_pylist([row], schema=_FIX_SCHEMA))
    return done_at


_FIX_SCHEMA = pa.schema([
    ("signature", pa.string()), ("done_at", _TIME), ("fix_kind", pa.string()), ("done_by", pa.string()),
    ("note", pa.string()),
])
