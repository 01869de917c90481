"""Lookups for the dashboard's pickers and drill-downs: services, a signature's reviews, slow alerts."""

from __future__ import annotations

import pandas as pd

import store
from metrics.period import Period

_SERVICES = """
SELECT DISTINCT service FROM alerts
WHERE service IS NOT NULL AND ($team::VARCHAR IS NULL OR team = $team::VARCHAR)
ORDER BY service
"""

_REVIEWS_OF = """
SELECT reviewed_at, verdict, note, reviewer,
       CASE WHEN alert_source_id IS NULL THEN 'signature' ELSE 'one alert: ' || alert_source_id END AS applies_to,
       alert_source, alert_source_id, period_start, period_end
FROM reviews WHERE signature = $signature
ORDER BY reviewed_at DESC, review_id DESC
"""

_SLOWEST = """
SELECT title, team, service, created_at,
       epoch(acknowledged_at - created_at) AS tta_s,
       epoch(resolved_at - created_at) AS ttr_s,
       url, source, source_id
FROM alerts
WHERE created_at >= $start AND created_at < $end AND resolved_at IS NOT NULL
  AND ($team::VARCHAR IS NULL OR team = $team::VARCHAR)
  AND ($service::VARCHAR IS NULL OR service = $service::VARCHAR)
ORDER BY resolved_at - created_at DESC, source, source_id
LIMIT $limit
"""


def services(db: str | None, team: str | None = None) -> list[str]:
    """Service names with alerts, for the team (None: all teams)."""
    with store.reading(db) as con:
        return [row[0] for row in con.execute(_SERVICES, {"team": team}).fetchall()]


def reviews_of(db: str | None, signature: str) -> pd.DataFrame:
    """Every verdict given on a signature, newest first."""
    with store.reading(db) as con:
        return con.execute(_REVIEWS_OF, {"signature": signature}).df()


def slowest(
    db: str | None, period: Period, team: str | None = None, service: str | None = None, limit: int = 20
) -> pd.DataFrame:
    """The alerts of the period that took longest to resolve, with their links back."""
    values = {"start": period.start, "end": period.end, "team": team, "service": service, "limit": limit}
    with store.reading(db) as con:
        return con.execute(_SLOWEST, values).df()
