"""Novelty: new signatures, the new-signature share and repeat offenders."""

from __future__ import annotations

from metrics.registry import Metric, register

register(
    Metric(
        "new_signature_share",
        "New-signature share",
        "alerts whose signature first fired in the period / alerts; null without {lookback_days} of history before",
        "share",
        "CASE WHEN count(*) > count(is_new) THEN NULL "
        "ELSE count(*) FILTER (WHERE is_new) / nullif(count(*), 0) END",
    )
)

NEW_SIGNATURES = register(
    Metric(
        "new_signatures",
        "New signatures",
        "signatures whose first alert ever is in the period ('unknown' without {lookback_days} of history before)",
        "list",
        """
WITH by_signature AS (
    SELECT signature, count(*) AS alerts, min(first_seen) AS first_seen,
        arg_max(title, created_at) AS title, arg_max(team, created_at) AS team,
        CASE WHEN bool_or(is_new) THEN 'new' WHEN bool_and(is_new IS NULL) THEN 'unknown' END AS status
    FROM alert_facts GROUP BY signature
)
SELECT * FROM by_signature WHERE status IS NOT NULL ORDER BY status, first_seen, signature
""",
        "query",
    )
)

REPEAT_OFFENDERS = register(
    Metric(
        "repeat_offenders",
        "Repeat offenders",
        "signatures that fired in each of the last {repeat_sprints} sprints up to the period's",
        "list",
        """
SELECT signature, count(*) AS alerts, count(DISTINCT bucket_start) AS sprints,
    arg_max(title, created_at) AS title, arg_max(team, created_at) AS team,
    min(created_at) AS first_in_window, max(created_at) AS last_seen
FROM alert_facts
GROUP BY signature
HAVING count(DISTINCT bucket_start) = len($buckets::TIMESTAMPTZ[])
ORDER BY alerts DESC, signature
""",
        "query",
        "repeat",
    )
)
