"""Cost of noise: hours lost, projected saving of a fix and payback, for the fix planner."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from metrics import facts
from metrics.period import Period, previous, sprint_period
from metrics.registry import Metric, register
from settings import Settings

INTERRUPTION_HOURS = register(
    Metric(
        "interruption_hours",
        "Hours lost to interruptions",
        "interruptions × cost (15 min business, 30 min off hours, 60 min sleep hours)",
        "hours",
        "sum(cost_h)",
        "interruption",
    )
)
HANDLING_HOURS = register(
    Metric(
        "handling_hours",
        "Hours handling alerts",
        "sum of acknowledged_at → resolved_at, capped at 4 h an alert",
        "hours",
        "coalesce(sum(ack_to_resolve_s), 0) / 3600.0",
    )
)
HOURS_LOST = register(
    Metric(
        "hours_lost",
        "Hours lost",
        "interruptions × cost per time-of-day bucket + ack→resolve time capped at 4 h an alert",
        "hours",
        "coalesce(interruption_hours, 0) + coalesce(handling_hours, 0)",
        "derived",
    )
)

_BY_SIGNATURE = f"""
, alert_hours AS (
    SELECT signature, count(*) AS alerts, arg_max(title, created_at) AS title,
        arg_max(team, created_at) AS team,
        {HANDLING_HOURS.sql} AS handling_hours
    FROM alert_facts GROUP BY signature
),
page_hours AS (
    SELECT signature, count(*) AS interruptions, {INTERRUPTION_HOURS.sql} AS interruption_hours
    FROM interruption_facts GROUP BY signature
),
by_signature AS (
    SELECT a.signature, a.title, a.team, a.alerts, coalesce(p.interruptions, 0) AS interruptions,
        coalesce(p.interruption_hours, 0) AS interruption_hours, a.handling_hours,
        {HOURS_LOST.sql} AS hours_lost
    FROM alert_hours AS a LEFT JOIN page_hours AS p USING (signature)
)
"""  # noqa: S608 - fragments come only from the registry

HOURS_BY_SIGNATURE = register(
    Metric(
        "hours_lost_by_signature",
        "Hours lost per signature",
        "per signature: interruptions × cost per bucket + ack→resolve time capped at 4 h an alert",
        "list",
        facts.over_facts(_BY_SIGNATURE + "SELECT * FROM by_signature ORDER BY hours_lost DESC, signature"),  # noqa: S608 - fragments come only from the registry
        "query",
    )
)

FIX_PLANNER = register(
    Metric(
        "fix_planner",
        "Fix planner",
        "payback = fix estimate (h) / projected saving (hours lost per sprint, mean of last 3 sprints)",
        "list",
        facts.over_facts(
            _BY_SIGNATURE
            + """
SELECT b.signature, b.title, b.team, b.alerts, b.interruptions, b.hours_lost,
    b.hours_lost / $sprints AS projected_saving_h, e.hours AS estimate_h,
    e.hours / nullif(b.hours_lost / $sprints, 0) AS payback_sprints
FROM by_signature AS b LEFT JOIN fix_estimates AS e USING (signature)
ORDER BY e.hours IS NULL, payback_sprints ASC NULLS LAST, projected_saving_h DESC, b.signature
"""
        ),
        "query",
    )
)


def hours_lost(
    db: str | None, period: Period, team: str | None = None, settings: Settings | None = None
) -> pd.DataFrame:
    """Hours lost per signature in the period, most first."""
    settings = facts.resolve(settings)
    values = facts.params(settings, period, team)
    return facts.query_one(db, settings, period, HOURS_BY_SIGNATURE.sql, values)


def saving_window(settings: Settings, day: dt.date | None = None, sprints: int = 3) -> Period:
    """The last `sprints` complete sprints before the sprint containing `day`."""
    current = sprint_period(settings, day)
    first = current
    for _ in range(sprints):
        first = previous(first)
    return Period(first.start, current.start)


def fix_planner(
    db: str | None,
    day: dt.date | None = None,
    team: str | None = None,
    sprints: int = 3,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """Signatures ranked by payback in sprints, shortest first; unestimated last."""
    settings = facts.resolve(settings)
    window = saving_window(settings, day, sprints)
    values = facts.params(settings, window, team, sprints=float(sprints))
    return facts.query_one(db, settings, window, FIX_PLANNER.sql, values)
