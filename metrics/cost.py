"""Cost of noise: hours lost, projected saving of a fix and payback, for the fix planner."""

from __future__ import annotations

import datetime as dt

import metrics.facts  # noqa: F401  (the verdicts stages)
from metrics.period import Period, previous, sprint_period
from metrics.registry import SAVING_SPRINTS, Metric, parameters, register
from settings import Settings


# Hours are summed exactly and divided once, so they are the same in any row or thread order
# (sums of doubles are not): handling time as whole microseconds (a HUGEINT sum), interruption
# cost as the minutes set, to a millionth of a minute (a DECIMAL sum).
def handling_us(seconds: str) -> str:
    return f"round({seconds} * 1e6)::BIGINT"


COST_MIN = "(cost_h * 60)::DECIMAL(18, 6)"


def exact_hours(minutes: str, micros: str) -> str:
    """Hours from a sum of cost minutes and a sum of handling microseconds (each may be NULL)."""
    return f"(coalesce({minutes}, 0) / 60.0 + coalesce({micros}, 0) / 3.6e9)"


@parameters
def _planner_values(settings: Settings) -> dict:
    return {"sprints": float(SAVING_SPRINTS)}


INTERRUPTION_HOURS = register(
    Metric(
        "interruption_hours",
        "Hours lost to interruptions",
        "interruptions × cost ({cost_business} business, {cost_off} off hours, {cost_sleep} sleep hours)",
        "hours",
        f"coalesce(sum({COST_MIN}), 0) / 60.0",
        "interruption",
    )
)
HANDLING_HOURS = register(
    Metric(
        "handling_hours",
        "Hours handling alerts",
        "sum of acknowledged_at → resolved_at, capped at {ack_cap} an alert",
        "hours",
        f"coalesce(sum({handling_us('ack_to_resolve_s')}), 0) / 3.6e9",
    )
)
HOURS_LOST = register(
    Metric(
        "hours_lost",
        "Hours lost",
        "interruptions × cost per time-of-day bucket + ack→resolve time capped at {ack_cap} an alert",
        "hours",
        "coalesce(interruption_hours, 0) + coalesce(handling_hours, 0)",
        "derived",
    )
)

_BY_SIGNATURE = f"""
WITH alert_hours AS (
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
        "per signature: interruptions × cost per bucket + ack→resolve time capped at {ack_cap} an alert",
        "list",
        _BY_SIGNATURE + "SELECT * FROM by_signature ORDER BY hours_lost DESC, signature",  # noqa: S608 - registry SQL
        "query",
    )
)

# The fix planner looks forward: each alert of the last finished sprints counts with what the
# team decided last (its own verdict, else its signature's verdict in force now), so a
# signature reviewed actionable offers no alert-fix saving even for alerts before that review.
_PLANNER_ALERTS = f"""
WITH alert_pages AS (
    SELECT id, count(*) AS interruptions, sum({COST_MIN}) AS cost_min
    FROM interruption_facts GROUP BY id
),
decided AS (
    SELECT f.*,  -- a merged alert is a duplicate unless a person said otherwise (METRICS.md, Merged alert)
        coalesce(ar.verdict, CASE WHEN f.merged_into IS NOT NULL THEN 'duplicate' END, sv.verdict) AS decided_verdict
    FROM alert_facts AS f
    LEFT JOIN alert_review AS ar USING (source, source_id)
    LEFT JOIN signature_verdict AS sv USING (signature)
),
alert_cost AS (
    SELECT d.signature, d.title, d.team, d.created_at, d.bucket_start,
        coalesce(p.interruptions, 0) AS interruptions,
        p.cost_min, {handling_us("d.ack_to_resolve_s")} AS handling_us,
        CASE WHEN d.decided_verdict IN ('noise', 'needs-tuning', 'duplicate') THEN true
             WHEN d.decided_verdict = 'actionable' THEN false
             ELSE d.is_transient OR d.is_unacknowledged OR d.is_flap END AS is_noise
    FROM decided AS d LEFT JOIN alert_pages AS p USING (id)
)
"""  # noqa: S608 - fragments come only from the registry

NOISE_HOURS = register(
    Metric(
        "noise_hours",
        "Noise hours",
        "hours lost by alerts that are noise: transient, unacknowledged, flaps, or reviewed noise, "
        "needs-tuning or duplicate; never one reviewed actionable",
        "hours",
        exact_hours("sum(cost_min) FILTER (WHERE is_noise)", "sum(handling_us) FILTER (WHERE is_noise)"),
        "column",
        of="fix_planner",
    )
)
PROJECTED_SAVING = register(
    Metric(
        "projected_saving",
        "Saving per sprint",
        "alert fix: noise hours per sprint; cause fix (actionable repeat offenders): all hours lost per "
        "sprint; mean of the last {saving_sprints} finished sprints",
        "hours",
        "CASE fix_kind WHEN 'cause' THEN hours_lost ELSE noise_hours END / $sprints",
        "column",
        of="fix_planner",
    )
)
PAYBACK = register(
    Metric(
        "payback",
        "Payback",
        "fix estimate (hours) / saving per sprint (hours), in sprints; none without an estimate or a saving",
        "sprints",
        "estimate_h / nullif(projected_saving_h, 0)",
        "column",
        of="fix_planner",
    )
)

FIX_PLANNER = register(
    Metric(
        "fix_planner",
        "Fix planner",
        "per signature and kind of fix: saving per sprint and payback of the fix, shortest payback first",
        "list",
        _PLANNER_ALERTS  # noqa: S608 - fragments come only from the registry
        + f""",
by_signature AS (
    SELECT signature, count(*) AS alerts, arg_max(title, created_at) AS title,
        arg_max(team, created_at) AS team, sum(interruptions) AS interruptions,
        {exact_hours("sum(cost_min)", "sum(handling_us)")} AS hours_lost, {NOISE_HOURS.sql} AS noise_hours,
        count(DISTINCT bucket_start) = len($buckets::TIMESTAMPTZ[]) AS repeat_offender
    FROM alert_cost GROUP BY signature
),
offers AS (  -- an alert fix for every signature; a cause fix for actionable repeat offenders
    SELECT b.*, v.verdict, 'alert' AS fix_kind
    FROM by_signature AS b LEFT JOIN signature_verdict AS v USING (signature)
    UNION ALL
    SELECT b.*, v.verdict, 'cause' AS fix_kind
    FROM by_signature AS b JOIN signature_verdict AS v USING (signature)
    WHERE v.verdict = 'actionable' AND b.repeat_offender
),
saved AS (SELECT *, {PROJECTED_SAVING.sql} AS projected_saving_h FROM offers),
estimated AS (
    SELECT s.*, e.hours AS estimate_h, e.note AS estimate_note, e.estimated_by, e.estimated_at
    FROM saved AS s
    LEFT JOIN fix_estimates AS e ON e.signature = s.signature AND e.fix_kind = s.fix_kind
)
SELECT signature, fix_kind, title, team, verdict, alerts, interruptions, hours_lost, noise_hours,
    repeat_offender, projected_saving_h, estimate_h, {PAYBACK.sql} AS payback_sprints,
    estimate_note, estimated_by, estimated_at
FROM estimated
ORDER BY payback_sprints IS NULL, payback_sprints, estimate_h IS NULL, projected_saving_h DESC, signature,
    fix_kind
""",  # noqa: S608 - fragments come only from the registry
        "query",
        "saving",
        stages=("verdicts",),
    )
)


def saving_sprints(settings: Settings, day: dt.date | None = None, sprints: int = SAVING_SPRINTS) -> list[Period]:
    """The last `sprints` finished sprints before the sprint containing `day`, oldest first."""
    finished = [previous(sprint_period(settings, day))]
    while len(finished) < sprints:
        finished.insert(0, previous(finished[0]))
    return finished


def saving_window(settings: Settings, day: dt.date | None = None, sprints: int = SAVING_SPRINTS) -> Period:
    """The last `sprints` finished sprints before the sprint containing `day`, as one period."""
    finished = saving_sprints(settings, day, sprints)
    return Period(finished[0].start, finished[-1].end)
