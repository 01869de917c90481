"""Response-time metrics: time to acknowledge, time to resolve, unacknowledged, auto-resolved."""

from __future__ import annotations

from metrics.registry import Metric, register

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
