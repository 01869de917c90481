"""Novelty: new signatures, the new-signature share and repeat offenders."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from metrics import facts
from metrics.period import Period, sprints_back
from metrics.registry import Metric, register
from settings import Settings

register(
    Metric(
        "new_signature_share",
        "New-signature share",
        "alerts whose signature first fired in the period / alerts; null without 90 days of history before",
        "share",
        "CASE WHEN count(*) > count(is_new) THEN NULL "
        "ELSE count(*) FILTER (WHERE is_new) / nullif(count(*), 0) END",
    )
)

NEW_SIGNATURES = register(
    Metric(
        "new_signatures",
        "New signatures",
        "signatures whose first alert ever is in the period ('unknown' without 90 days of history before)",
        "list",
        facts.over_facts(
            """
, by_signature AS (
    SELECT signature, count(*) AS alerts, min(first_seen) AS first_seen,
        arg_max(title, created_at) AS title, arg_max(team, created_at) AS team,
        CASE WHEN bool_or(is_new) THEN 'new' WHEN bool_and(is_new IS NULL) THEN 'unknown' END AS status
    FROM alert_facts GROUP BY signature
)
SELECT * FROM by_signature WHERE status IS NOT NULL ORDER BY status, first_seen, signature
"""
        ),
        "query",
    )
)

REPEAT_OFFENDERS = register(
    Metric(
        "repeat_offenders",
        "Repeat offenders",
        "signatures that fired in each of the last 3 sprints",
        "list",
        facts.over_facts(
            """
SELECT signature, count(*) AS alerts, count(DISTINCT bucket_start) AS sprints,
    arg_max(title, created_at) AS title, arg_max(team, created_at) AS team,
    min(created_at) AS first_in_window, max(created_at) AS last_seen
FROM scope
GROUP BY signature
HAVING count(DISTINCT bucket_start) = len($buckets::TIMESTAMPTZ[])
ORDER BY alerts DESC, signature
"""
        ),
        "query",
    )
)


def new_signatures(
    db: str | None, period: Period, team: str | None = None, settings: Settings | None = None
) -> pd.DataFrame:
    """Signatures first seen in the period: status 'new', or 'unknown' when history is short."""
    settings = facts.resolve(settings)
    values = facts.params(settings, period, team)
    return facts.query_one(db, settings, period, NEW_SIGNATURES.sql, values)


def repeat_offenders(
    db: str | None,
    settings: Settings | None = None,
    day: dt.date | None = None,
    team: str | None = None,
    sprints: int | None = None,
) -> pd.DataFrame:
    """Signatures that fired in every one of the last `sprints` sprints up to `day`'s sprint."""
    settings = facts.resolve(settings)
    periods = sprints_back(settings, sprints or settings.thresholds.repeat_offender_sprints, day)
    whole = Period(periods[0].start, periods[-1].end)
    values = facts.params(settings, whole, team, buckets=[p.start for p in periods])
    return facts.query_one(db, settings, whole, REPEAT_OFFENDERS.sql, values)
