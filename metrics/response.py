"""Response-time metrics: time to acknowledge, time to resolve, unacknowledged, auto-resolved."""

from __future__ import annotations

import pandas as pd

from metrics import facts
from metrics.period import Period
from metrics.registry import Metric, register
from settings import Settings

register(Metric("alerts", "Alerts", "count of alerts created in the period", "count", "count(*)"))

_TTA = "first acknowledged_at − created_at, over acknowledged alerts"
_TTR = "resolved_at − created_at, over resolved alerts"
for _stat, _name, _sql in (
    ("median", "median", "quantile_cont({}, 0.5)"),
    ("mean", "mean", "avg({})"),
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
        "one row per alert in the period with its response times, noise flags and verdict",
        "list",
        facts.over_facts(
            """
SELECT source, source_id, title, signature, service, team, created_at, acknowledged_at, resolved_at,
    tta_s, ttr_s, is_unacknowledged, is_transient, is_flap, is_new, verdict, has_runbook,
    auto_resolved, ack_to_resolve_s
FROM alert_facts ORDER BY created_at, source, source_id
"""
        ),
        "query",
    )
)


def alert_list(
    db: str | None,
    period: Period,
    team: str | None = None,
    service: str | None = None,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """Every alert of the period with the per-alert facts the figures are counted from."""
    settings = facts.resolve(settings)
    values = facts.params(settings, period, team, service)
    return facts.query_one(db, settings, period, ALERT_LIST.sql, values)
