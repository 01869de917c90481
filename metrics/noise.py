"""Noise: transient alerts, flaps, noise ratio, runbook coverage, the noisy ranking and its diagnoses."""

from __future__ import annotations

import pandas as pd

import metrics.cost  # noqa: F401  (the ranking reuses their definitions)
import metrics.interruptions  # noqa: F401
import metrics.response  # noqa: F401
from metrics import facts
from metrics.period import Period
from metrics.registry import Metric, metric, register
from settings import Settings

register(
    Metric(
        "transient",
        "Transient",
        "alerts resolved within 300 s of created_at and never acknowledged",
        "count",
        "count(*) FILTER (WHERE is_transient)",
    )
)
register(
    Metric(
        "flaps",
        "Flaps",
        "alerts whose signature had an earlier alert resolved < 1800 s before this one's created_at",
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
    return f""",
co_fire AS (  -- alerts with an alert of another signature created within the grouping window
    SELECT DISTINCT f.source, f.source_id, true AS co_fired
    FROM alert_facts AS f
    JOIN alerts AS o
      ON o.created_at BETWEEN f.created_at - to_seconds($grouping_s) AND f.created_at + to_seconds($grouping_s)
     AND o.signature <> f.signature
    WHERE o.created_at >= $start - to_seconds($grouping_s) AND o.created_at < $end + to_seconds($grouping_s)
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
        bool_or(has_runbook) AS has_runbook
    FROM alert_facts AS f
    LEFT JOIN co_fire AS c USING (source, source_id)
    GROUP BY signature
),
pages_by_signature AS (
    SELECT signature, {per_page} FROM interruption_facts GROUP BY signature
),
diagnosed AS (
    SELECT b.*, coalesce(p.interruptions, 0) AS interruptions,
        coalesce(p.sleep_interruptions, 0) AS sleep_interruptions,
        {hours_lost} AS hours_lost,
        h.first_seen, v.verdict, v.note AS verdict_note, v.reviewer AS verdict_reviewer,
        v.reviewed_at AS verdict_at,
        CASE WHEN v.verdict = 'noise' THEN 'reviewed noise'
             WHEN b.transient / b.alerts > $mostly
                  AND b.transient >= b.flaps AND b.transient >= b.co_fired THEN 'mostly transient'
             WHEN b.flaps / b.alerts > $mostly AND b.flaps >= b.co_fired THEN 'mostly flaps'
             WHEN b.co_fired / b.alerts > $mostly THEN 'fires with other alerts'
        END AS diagnosis
    FROM by_signature AS b
    LEFT JOIN pages_by_signature AS p USING (signature)
    LEFT JOIN signature_history AS h USING (signature)
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
        facts.over_facts(_ranking_sql()),
        "query",
    )
)

HOLD_DOWN = register(
    Metric(
        "hold_down_replay",
        "Hold-down replay",
        "for a hold-down H: alerts resolved within H unacknowledged would not page; each other page comes H later",
        "list",
        facts.over_facts(
            """
, replayed AS (
    SELECT signature,
        is_unacknowledged AND ttr_s <= $hold_down_s AS avoided,
        CASE WHEN NOT (is_unacknowledged AND ttr_s <= $hold_down_s) THEN $hold_down_s::DOUBLE END AS delay_s
    FROM alert_facts
    WHERE $signature::VARCHAR IS NULL OR signature = $signature::VARCHAR
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
"""
        ),
        "query",
    )
)


def noisy(
    db: str | None,
    period: Period,
    team: str | None = None,
    service: str | None = None,
    limit: int | None = None,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """The noisy-alerts ranking with each signature's diagnosis and suggested fix."""
    settings = facts.resolve(settings)
    values = facts.params(settings, period, team, service, mostly=MOSTLY)
    frame = facts.query_one(db, settings, period, NOISY.sql, values)
    return frame.head(limit) if limit else frame


def hold_down_replay(
    db: str | None,
    period: Period,
    hold_down_s: float | None = None,
    signature: str | None = None,
    team: str | None = None,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """Per signature: pages a hold-down of `hold_down_s` (default the setting) avoids and delays."""
    settings = facts.resolve(settings)
    hold = settings.thresholds.hold_down_s if hold_down_s is None else hold_down_s
    values = facts.params(settings, period, team, hold_down_s=float(hold), signature=signature)
    return facts.query_one(db, settings, period, HOLD_DOWN.sql, values)
