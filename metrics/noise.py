"""Noise: transient alerts, flaps, noise ratio, runbook coverage, the noisy ranking and its diagnoses."""

from __future__ import annotations

import metrics.cost  # noqa: F401  (the ranking reuses their definitions)
import metrics.facts  # noqa: F401  (the verdicts stages)
import metrics.interruptions  # noqa: F401
import metrics.response  # noqa: F401
from metrics.registry import Metric, Stages, metric, register, stages

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

# Co-firing (METRICS.md, Noise diagnosis): an alert co-fires when an alert of another signature lies
# within the grouping window. A stage of its own, counted per signature: its hash tables over the
# period's alerts are freed before the ranking's aggregates start (together they held 0.5 GB more
# for a year of 1M alerts).
stages(
    Stages(
        "co_firing",
        """
co_fired AS (  -- per signature of the scope, how many of its alerts co-fire
    WITH names AS (  -- the signatures alerting within the window of the period, numbered: the slots
                     -- below hold numbers, not text
        SELECT signature, (row_number() OVER ())::INTEGER AS sig
        FROM (SELECT DISTINCT signature FROM alerts
              WHERE created_at >= $start - to_seconds($grouping_s) AND created_at < $end + to_seconds($grouping_s))
    ),
    scoped AS (  -- the scope's alerts, each in its slot of the grouping window's width
        SELECT n.sig, epoch_us(f.created_at) AS t,
            floor(epoch_us(f.created_at) / ($grouping_s * 1e6))::BIGINT AS slot
        FROM alert_facts AS f JOIN names AS n USING (signature)
    ),
    by_slot AS (  -- every alert within the window of the period in those slots and their neighbours,
                  -- per slot and signature: the first and last alert
        SELECT floor(epoch_us(a.created_at) / ($grouping_s * 1e6))::BIGINT AS slot, n.sig,
            min(epoch_us(a.created_at)) AS first_t, max(epoch_us(a.created_at)) AS last_t
        FROM alerts AS a JOIN names AS n USING (signature)
        WHERE a.created_at >= $start - to_seconds($grouping_s) AND a.created_at < $end + to_seconds($grouping_s)
          AND floor(epoch_us(a.created_at) / ($grouping_s * 1e6))::BIGINT
              IN (SELECT unnest([slot - 1, slot, slot + 1]) FROM scoped)
        GROUP BY ALL
    ),
    ends AS (  -- each slot's signature with the latest alert and the one with the earliest
        SELECT slot, count(*) AS signatures, arg_max(sig, last_t) AS last_sig, max(last_t) AS last_t,
            arg_min(sig, first_t) AS first_sig, min(first_t) AS first_t
        FROM by_slot GROUP BY slot
    ),
    slots AS (  -- and the latest and the earliest alert of the slot's other signatures
        SELECT e.slot, e.signatures, e.last_sig, e.last_t, e.first_sig, e.first_t,
            max(b.last_t) FILTER (WHERE b.sig <> e.last_sig) AS other_last_t,
            min(b.first_t) FILTER (WHERE b.sig <> e.first_sig) AS other_first_t
        FROM ends AS e JOIN by_slot AS b USING (slot)
        GROUP BY ALL
    ),
    neighbours AS (  -- each slot with the latest alerts of the slot before and the earliest of the slot after:
        -- one join per alert below, not three (each built a hash table of every slot)
        SELECT slot, signatures, last_sig,
            CASE WHEN lag(slot) OVER in_order = slot - 1 THEN lag(last_sig) OVER in_order END AS before_last_sig,
            CASE WHEN lag(slot) OVER in_order = slot - 1 THEN lag(last_t) OVER in_order END AS before_last_t,
            CASE WHEN lag(slot) OVER in_order = slot - 1 THEN lag(other_last_t) OVER in_order END AS before_other_last_t,
            CASE WHEN lead(slot) OVER in_order = slot + 1 THEN lead(first_sig) OVER in_order END AS after_first_sig,
            CASE WHEN lead(slot) OVER in_order = slot + 1 THEN lead(first_t) OVER in_order END AS after_first_t,
            CASE WHEN lead(slot) OVER in_order = slot + 1 THEN lead(other_first_t) OVER in_order END AS after_other_first_t
        FROM slots
        WINDOW in_order AS (ORDER BY slot)
    ),
    -- an alert of another signature within the window: any other in the alert's own slot, or the
    -- latest other in the slot before, or the earliest other in the slot after (hash aggregates and
    -- an equi-join on slots: the work grows with the alerts; only the slots are sorted)
    counted AS (
        SELECT f.sig, count(*) FILTER (WHERE
            n.signatures > 1 OR n.last_sig <> f.sig
            OR coalesce(CASE WHEN n.before_last_sig <> f.sig THEN n.before_last_t ELSE n.before_other_last_t END
                        >= f.t - $grouping_s * 1e6, false)
            OR coalesce(CASE WHEN n.after_first_sig <> f.sig THEN n.after_first_t ELSE n.after_other_first_t END
                        <= f.t + $grouping_s * 1e6, false)) AS co_fired
        FROM scoped AS f
        JOIN neighbours AS n ON n.slot = f.slot
        GROUP BY f.sig
    )
    SELECT n.signature, c.co_fired FROM counted AS c JOIN names AS n USING (sig)
)
""",
    )
)


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
WITH per_signature AS (
    SELECT signature, {per_alert},
        -- METRICS.md, Repeats: the repeats a provider folded into its alerts, beside the alerts
        sum(coalesce(occurrences, 1))::BIGINT AS occurrences,
        arg_max(title, created_at) AS title,
        arg_max(service, created_at) AS service,
        arg_max(team, created_at) AS team,
        max(created_at) AS last_seen,
        min(first_seen) AS first_seen,
        bool_or(has_runbook) AS has_runbook
    FROM alert_facts
    GROUP BY signature
),
by_signature AS (
    SELECT s.*, coalesce(c.co_fired, 0) AS co_fired
    FROM per_signature AS s LEFT JOIN co_fired AS c USING (signature)
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
        stages=("verdicts", "co_firing"),
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
        f"""
WITH scoped AS (  -- each alert's own columns: is_unacknowledged and ttr_s as in the alert facts
    SELECT signature, resolved_at IS NOT NULL AND acknowledged_at IS NULL AS is_unacknowledged,
        (epoch_us(resolved_at) - epoch_us(created_at)) / 1e6 AS ttr_s
    FROM alerts WHERE {metrics.facts.IN_SCOPE}
),
replayed AS (
    SELECT signature,
        is_unacknowledged AND ttr_s <= $hold_down_s AS avoided,
        CASE WHEN NOT (is_unacknowledged AND ttr_s <= $hold_down_s) THEN $hold_down_s::DOUBLE END AS delay_s
    FROM scoped
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
""",  # noqa: S608 - constants of the facts module
        "query",
        "tables",  # the alerts' own columns only: no facts computed (it follows the noisy ranking's read)
        options=("hold_down_s",),
    )
)
