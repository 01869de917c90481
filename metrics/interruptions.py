"""Interruptions, time-of-day buckets in local time, wake-ups, disturbed nights and paging load."""

from __future__ import annotations

import pandas as pd

from metrics import facts
from metrics.period import Period
from metrics.registry import Metric, metric, register
from settings import Settings

_PAGE = "distinct (alert, person) paged by phone/SMS/push (fallback: acknowledger, else unknown)"

register(Metric("interruptions", "Interruptions", _PAGE, "count", "count(*)", "interruption"))
register(
    Metric(
        "business_hours_interruptions",
        "Business-hours interruptions",
        "interruptions at local 08:00–18:00 on a working day (holidays excluded), outside sleep hours",
        "count",
        "count(*) FILTER (WHERE time_bucket = 'business')",
        "interruption",
    )
)
register(
    Metric(
        "off_hours_interruptions",
        "Off-hours interruptions",
        "interruptions neither in sleep hours nor in business hours (local time)",
        "count",
        "count(*) FILTER (WHERE time_bucket = 'off')",
        "interruption",
    )
)
register(
    Metric(
        "sleep_interruptions",
        "Sleep-hours interruptions",
        "interruptions at local 22:00–08:00, any day",
        "count",
        "count(*) FILTER (WHERE time_bucket = 'sleep')",
        "interruption",
    )
)
register(
    Metric(
        "wake_ups",
        "Wake-ups",
        "interruptions in sleep hours (local 22:00–08:00)",
        "count",
        "count(*) FILTER (WHERE time_bucket = 'sleep')",
        "interruption",
    )
)
register(
    Metric(
        "disturbed_nights",
        "Disturbed nights",
        "distinct (person, night) with ≥ 1 wake-up; a night is named by the local date it began",
        "count",
        "count(DISTINCT [person_key, night::VARCHAR]) FILTER (WHERE time_bucket = 'sleep')",
        "interruption",
    )
)
register(
    Metric(
        "people_paged",
        "People paged",
        "distinct people with ≥ 1 interruption",
        "count",
        "count(DISTINCT person_key)",
        "interruption",
    )
)
register(
    Metric(
        "fallback_interruptions",
        "Interruptions by fallback",
        "interruptions of alerts without notification data: one to the acknowledger, else unknown",
        "count",
        "count(*) FILTER (WHERE fallback)",
        "interruption",
    )
)

# The registered definitions, grouped per person (so disturbed nights are that person's nights).
_PERSON = ", ".join(
    f"{metric(n).sql} AS {n}"
    for n in (
        "interruptions",
        "business_hours_interruptions",
        "off_hours_interruptions",
        "wake_ups",
        "disturbed_nights",
    )
)

INTERRUPTION_LIST = register(
    Metric(
        "interruption_list",
        "Interruptions",
        "one row per interruption with its local time, time-of-day bucket and night",
        "list",
        facts.over_facts(
            """
SELECT source, source_id, person_id, person_name, team, signature, paged_at, time_zone, local_at,
    local_day, time_bucket, night, fallback, cost_h
FROM interruption_facts ORDER BY paged_at, source, person_id, source_id
"""
        ),
        "query",
    )
)

PEOPLE_LOAD = register(
    Metric(
        "people_load",
        "Wake-ups per person",
        "per person: interruptions by time-of-day bucket, wake-ups and disturbed nights",
        "list",
        facts.over_facts(
            f"""
SELECT min(source) AS source, any_value(person_id) AS person_id, any_value(person_name) AS person_name,
    {_PERSON}
FROM interruption_facts
GROUP BY person_key
ORDER BY wake_ups DESC, interruptions DESC, person_id
"""  # noqa: S608 - fragments come only from the registry
        ),
        "query",
    )
)

PAGING_LOAD = register(
    Metric(
        "paging_load",
        "Paging load",
        "interruptions per person per local day (ceiling 2 per 12 h shift = 4) or on-call week (28)",
        "list",
        facts.over_facts(
            """
, load AS (
    SELECT min(source) AS source, any_value(person_id) AS person_id, any_value(person_name) AS person_name,
        CASE WHEN $per = 'week' THEN date_trunc('week', local_day)::DATE ELSE local_day END AS day,
        count(*) AS interruptions
    FROM interruption_facts
    GROUP BY person_key, day
)
SELECT *, $ceiling AS ceiling, interruptions > $ceiling AS over_ceiling
FROM load ORDER BY day, person_id, source
"""
        ),
        "query",
    )
)


def _run(db, period, team, settings, statement: Metric, **extra) -> pd.DataFrame:
    settings = facts.resolve(settings)
    values = facts.params(settings, period, team, **extra)
    return facts.query_one(db, settings, period, statement.sql, values)


def interruption_list(
    db: str | None, period: Period, team: str | None = None, settings: Settings | None = None
) -> pd.DataFrame:
    """Every interruption of the period's alerts, localized and bucketed."""
    return _run(db, period, team, settings, INTERRUPTION_LIST)


def people_load(
    db: str | None, period: Period, team: str | None = None, settings: Settings | None = None
) -> pd.DataFrame:
    """Per person: interruptions by bucket, wake-ups and disturbed nights, most woken first."""
    return _run(db, period, team, settings, PEOPLE_LOAD)


def ceiling(settings: Settings, per: str) -> int:
    """The SRE paging ceiling per person: per shift × 2 shifts a day (× 7 for a week)."""
    per_day = settings.thresholds.paging_ceiling_per_shift * 2
    return per_day * 7 if per == "week" else per_day


def paging_load(
    db: str | None,
    period: Period,
    team: str | None = None,
    per: str = "day",
    settings: Settings | None = None,
) -> pd.DataFrame:
    """Interruptions per person per local day (or ISO on-call week) against the ceiling."""
    if per not in ("day", "week"):
        raise ValueError(f"per must be 'day' or 'week', not {per!r}")
    settings = facts.resolve(settings)
    return _run(db, period, team, settings, PAGING_LOAD, per=per, ceiling=ceiling(settings, per))


def over_ceiling(
    db: str | None,
    period: Period,
    team: str | None = None,
    per: str = "day",
    settings: Settings | None = None,
) -> pd.DataFrame:
    """The people and days (or weeks) over the paging ceiling."""
    load = paging_load(db, period, team, per, settings)
    return load[load["over_ceiling"]].reset_index(drop=True)
