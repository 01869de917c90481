"""Noise: transient alerts, flaps, noise ratio, runbook coverage, the noisy ranking and its diagnoses."""

from __future__ import annotations

import metrics.cost  # noqa: F401  (the ranking reuses their definitions)
import metrics.facts  # noqa: F401  (the verdicts stages)
import metrics.interruptions  # noqa: F401
import metrics.response  # noqa: F401
from metrics.registry import Metric, metric, register

register(
    Metric(
        "transient",
        "Transient",
        "alerts resolved within {transient_s} of created_at and never acknowledged",
        "count",
        "count(*) FILTER (WHERE is_transient)",
    )
)
register(
    Metric(
        "flaps",
        "Flaps",
        "alerts whose signature had an earlier alert resolved less than {flap_s} before this one's created_at",
        "count",
        "count(*) FILTER (WHERE is_flap)",
    )
)
register(
    Metric(
        "noise_ratio",
        "Noise ratio",
        "alerts that are transient, unacknowledged or flaps (each counted once) / alerts",
        "share",
        "count(*) FILTER (WHERE is_transient OR is_unacknowledged OR is_flap) / nullif(count(*), 0)",
    )
)
register(
    Metric(
        "runbook_coverage",
        "Runbook coverage",
        "alerts whose signature has a runbook link (on one of its alerts in the period, or entered in the app) / alerts",
        "share",
        "count(*) FILTER (WHERE has_runbook) / nullif(count(*), 0)",
    )
)

MOSTLY = 0.5  # "mostly" / "most times": more than half of a signature's alerts

# Diagnosis → the fix it usually needs (METRICS.md, Noise diagnosis), in priority order.
FIXES = {
    "reviewed noise": "delete it or demote it to a ticket",
    "mostly transient": "add a hold-down (a `for:` duration, or an auto-pause)",
    "mostly flaps": "add hysteresis or `keep_firing_for`",
    "fires with other alerts": "group it with the alerts it fires with, or add an inhibition rule",
}


def _ranking_sql() -> str:
    per_alert = ", ".join(
        f"{metric(n).sql} AS {n}"
        for n in (
            "alerts",
            "transient",
            "flaps",
            "unacknowledged",
            "noise_ratio",
            "ttr_median_s",
            "handling_hours",
        )
    )
    per_page = ", ".join(
        f"{metric(n).sql} AS {n}" for n in ("interruptions", "sleep_interruptions", "interruption_hours")
    )
    hours_lost = metric("hours_lost").sql  # over the joined per-signature columns below
    fixes = " ".join(f"WHEN '{d}' THEN '{f}'" for d, f in FIXES.items())
    return f"""
WITH nearby AS (  -- every alert created in the period or within the grouping window of it, in time order
    SELECT rowid AS id, signature, created_at, epoch_us(created_at) AS t,
        signature IS DISTINCT FROM lag(signature) OVER w AS run_starts, epoch_us(lag(created_at) OVER w) AS before_t,
        signature IS DISTINCT FROM lead(signature) OVER w AS run_ends, epoch_us(lead(created_at) OVER w) AS after_t
    FROM alerts
    WHERE created_at >= $start - to_seconds($grouping_s) AND created_at < $end + to_seconds($grouping_s)
    WINDOW w AS (ORDER BY created_at, signature)
),
co_fire AS (  -- a sweep, not a range join: consecutive alerts of one signature form a run, and the
              -- nearest alerts of other signatures are those just before and just after the run
    SELECT id,
        t - max(before_t) FILTER (WHERE run_starts) OVER upto <= $grouping_s * 1e6
        OR min(after_t) FILTER (WHERE run_ends) OVER onwards - t <= $grouping_s * 1e6 AS co_fired
    FROM nearby
    WINDOW upto AS (ORDER BY created_at, signature ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW),
           onwards AS (ORDER BY created_at, signature ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING)
),
by_signature AS (
    SELECT signature, {per_alert},
        -- METRICS.md, Repeats: the repeats a provider folded into its alerts, beside the alerts
        sum(coalesce(occurrences, 1))::BIGINT AS occurrences,
        count(*) FILTER (WHERE c.co_fired) AS co_fired,
        arg_max(title, created_at) AS title,
        arg_max(service, created_at) AS service,
        arg_max(team, created_at) AS team,
        max(created_at) AS last_seen,
        min(first_seen) AS first_seen,
        bool_or(has_runbook) AS has_runbook
    FROM alert_facts AS f
    LEFT JOIN co_fire AS c USING (id)
    GROUP BY signature
),
pages_by_signature AS (
    SELECT signature, {per_page} FROM interruption_facts GROUP BY signature
),
diagnosed AS (
    SELECT b.*, coalesce(p.interruptions, 0) AS interruptions,
        coalesce(p.sleep_interruptions, 0) AS sleep_interruptions,
        {hours_lost} AS hours_lost,
        v.verdict, v.note AS verdict_note, v.reviewer AS verdict_reviewer, v.reviewed_at AS verdict_at,
        CASE WHEN v.verdict = 'noise' THEN 'reviewed noise'
             WHEN b.transient / b.alerts > {MOSTLY}
                  AND b.transient >= b.flaps AND b.transient >= b.co_fired THEN 'mostly transient'
             WHEN b.flaps / b.alerts > {MOSTLY} AND b.flaps >= b.co_fired THEN 'mostly flaps'
             WHEN b.co_fired / b.alerts > {MOSTLY} THEN 'fires with other alerts'
        END AS diagnosis
    FROM by_signature AS b
    LEFT JOIN pages_by_signature AS p USING (signature)
    LEFT JOIN signature_verdict AS v USING (signature)
)
SELECT signature, alerts, occurrences, transient, flaps, unacknowledged, noise_ratio, ttr_median_s,
    interruptions, sleep_interruptions, first_seen, last_seen, title, service, team,
    co_fired, has_runbook, verdict, verdict_note, verdict_reviewer, verdict_at, hours_lost, diagnosis,
    CASE diagnosis {fixes} END AS suggested_fix
FROM diagnosed
ORDER BY alerts DESC, signature
"""  # noqa: S608 - fragments come only from the registry


NOISY = register(
    Metric(
        "noisy",
        "Noisy alerts",
        "signatures by alerts in the period, most first, ties by signature",
        "list",
        _ranking_sql(),
        "query",
        stages=("verdicts",),
    )
)
register(
    Metric(
        "noise_diagnosis",
        "Diagnosis",
        "more than half transient: hold-down; more than half flaps: hysteresis; more than half within "
        "{grouping_s} of another signature: grouping or inhibition; reviewed noise: delete or demote",
        "text",
        grain="column",
        of="noisy",
    )
)

HOLD_DOWN = register(
    Metric(
        "hold_down_replay",
        "Hold-down replay",
        "for a hold-down H: alerts resolved within H unacknowledged would not page; each other page comes H later",
        "list",
        """
WITH replayed AS (
    SELECT signature,
        is_unacknowledged AND ttr_s <= $hold_down_s AS avoided,
        CASE WHEN NOT (is_unacknowledged AND ttr_s <= $hold_down_s) THEN $hold_down_s::DOUBLE END AS delay_s
    FROM alert_facts
)
SELECT signature, count(*) AS alerts,
    count(*) FILTER (WHERE avoided) AS pages_avoided,
    count(delay_s) AS pages_delayed,
    avg(delay_s) AS delay_mean_s,
    max(delay_s) AS delay_max_s,
    coalesce(sum(delay_s), 0) AS delay_total_s,
    $hold_down_s::DOUBLE AS hold_down_s
FROM replayed
GROUP BY signature
ORDER BY pages_avoided DESC, signature
""",
        "query",
        options=("hold_down_s",),
    )
)
