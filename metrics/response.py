"""Response-time metrics: time to acknowledge, time to resolve, unacknowledged, auto-resolved."""

from __future__ import annotations

from metrics.registry import Metric, register

register(Metric("alerts", "Alerts", "count of alerts created in the period", "count", "count(*)"))

_TTA = "first acknowledged_at − created_at, over acknowledged alerts"
_TTR = "resolved_at − created_at, over resolved alerts"
for _stat, _name, _sql in (
    ("median", "median", "quantile_cont({}, 0.5)"),
    # whole microseconds, summed exactly (a HUGEINT) and divided once: the same in any row order
    ("mean", "mean", "avg(round({} * 1e6)::BIGINT) / 1e6"),
    ("p90", "90th percentile", "quantile_cont({}, 0.9)"),
):
    _how = "" if _stat == "mean" else "; linear interpolation"
    register(
        Metric(
            f"tta_{_stat}_s",
            f"Time to acknowledge ({_name})",
            f"{_name} of ({_TTA}){_how}",
            "s",
            _sql.format("tta_s"),
        )
    )
    register(
        Metric(
            f"ttr_{_stat}_s",
            f"Time to resolve ({_name})",
            f"{_name} of ({_TTR}){_how}",
            "s",
            _sql.format("ttr_s"),
        )
    )

register(
    Metric(
        "unacknowledged",
        "Unacknowledged",
        "alerts resolved with no acknowledgement",
        "count",
        "count(*) FILTER (WHERE is_unacknowledged)",
    )
)
register(
    Metric(
        "auto_resolved",
        "Auto-resolved",
        "alerts resolved by the monitoring system, not a person (null when no provider says)",
        "count",
        "CASE WHEN count(auto_resolved) = 0 THEN NULL ELSE count(*) FILTER (WHERE auto_resolved) END",
    )
)

ALERT_LIST = register(
    Metric(
        "alert_list",
        "Alerts",
        "one row per alert in the period with its response times, noise flags and verdict, oldest first",
        "list",
        """
SELECT source, source_id, title, signature, service, team, created_at, acknowledged_at, resolved_at,
    tta_s, ttr_s, is_unacknowledged, is_transient, is_flap, is_new, verdict, has_runbook,
    auto_resolved, ack_to_resolve_s
FROM alert_facts ORDER BY created_at, source, source_id
LIMIT $limit OFFSET $offset
""",
        "query",
        options=("limit", "offset"),
    )
)

SLOWEST = register(
    Metric(
        "slowest",
        "Slowest to resolve",
        "the period's resolved alerts that took longest from created_at to resolved_at, with links back",
        "list",
        """
SELECT title, team, service, created_at,
       epoch(acknowledged_at - created_at) AS tta_s,
       epoch(resolved_at - created_at) AS ttr_s,
       url, source, source_id
FROM alerts
WHERE created_at >= $start AND created_at < $end AND resolved_at IS NOT NULL
  AND ($team::VARCHAR IS NULL OR team = $team::VARCHAR)
  AND ($service::VARCHAR IS NULL OR service = $service::VARCHAR)
  AND ($signature::VARCHAR IS NULL OR signature = $signature::VARCHAR)
ORDER BY resolved_at - created_at DESC, source, source_id
LIMIT $limit
""",
        "query",
        "tables",
        ("limit",),
    )
)

register(
    Metric(
        "response_spread",
        "Spread of response times",
        "per team and per service: quartiles of time to acknowledge and to resolve, and the most extreme "
        "times within 1.5 × the interquartile range of them (the whiskers of a box plot)",
        "list",
        """
-- long and keyed are read twice (quartiles, then fences): recomputed, not kept (a kept keyed holds
-- four rows per alert: 190 MiB more for the 1M year of all teams, and slower)
WITH long AS NOT MATERIALIZED (
    SELECT team, service, 'tta' AS measure, tta_s AS seconds FROM alert_facts WHERE tta_s IS NOT NULL
    UNION ALL
    SELECT team, service, 'ttr', ttr_s FROM alert_facts WHERE ttr_s IS NOT NULL
),
keyed AS NOT MATERIALIZED (
    SELECT 'team' AS per, team AS name, measure, seconds FROM long
    UNION ALL
    SELECT 'service', service, measure, seconds FROM long WHERE service IS NOT NULL
),
quartiles AS (  -- the three from one list of each group's times (three quantiles would hold three)
    SELECT per, name, measure, alerts, q[1] AS q1, q[2] AS median, q[3] AS q3 FROM (
        SELECT per, name, measure, count(*) AS alerts, quantile_cont(seconds, [0.25, 0.5, 0.75]) AS q
        FROM keyed GROUP BY ALL
    )
)
SELECT q.per, q.name, q.measure, q.alerts, q.q1, q.median, q.q3,
    min(k.seconds) FILTER (WHERE k.seconds >= q.q1 - 1.5 * (q.q3 - q.q1)) AS lower_fence,
    max(k.seconds) FILTER (WHERE k.seconds <= q.q3 + 1.5 * (q.q3 - q.q1)) AS upper_fence
FROM quartiles AS q JOIN keyed AS k USING (per, name, measure)
GROUP BY ALL
ORDER BY q.per, q.name, q.measure
""",
        "query",
    )
)
