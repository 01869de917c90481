"""Figures per bucket (period, sprint or week) for each team and all teams, changes and trends."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from metrics.registry import STAGES, Metric, metric, of_grain, option, register

# A series (series_over, per_sprint, per_week) holds every figure unless the read names the figures it
# draws (`series_figures`): then only those and what they are worked out from, and the interruption
# facts only if one of them needs them (Response times draws two figures of alerts: every team's year of
# 1M alerts, half a second to two of interruption facts and a tenth of a GB for nothing).
SERIES = ("series_over", "per_sprint", "per_week")
option("series_figures", ())

# A figure over no alerts: counts and hours are 0, averages and shares are undefined.
_ZERO_WHEN_EMPTY = ("count", "hours")


def _column(metric: Metric, prefix: str) -> str:
    """A figure of a bucket; counts and hours of a bucket with no rows at all are 0."""
    ref = f"{prefix}.{metric.name}"
    if metric.unit not in _ZERO_WHEN_EMPTY:
        return ref
    return f"CASE WHEN {prefix}.bucket_start IS NULL THEN 0 ELSE {ref} END AS {metric.name}"


def needed(figures: list[Metric]) -> list[Metric]:
    """The figures asked for and those the derived ones among them are worked out from."""
    names = {m.name for m in figures}
    for m in figures:
        if m.grain == "derived":
            names |= {other.name for other in of_grain("alert") + of_grain("interruption")
                      if re.search(rf"\b{other.name}\b", m.sql)}
    return [m for grain in ("alert", "interruption", "derived") for m in of_grain(grain) if m.name in names]


def series_figures(series: list[Metric], given: Mapping[str, Any]) -> list[Metric] | None:
    """The figures `series` (the metrics over figures_by_bucket) are narrowed to, or None: every figure
    (none named, or a metric among them that shows them all, such as `compare`)."""
    names = given.get("series_figures") or ()
    if not names or any(m.name not in SERIES for m in series):
        return None
    chosen = [metric(name) for name in names]
    for m in chosen:
        if not m.is_figure:
            raise TypeError(f"series_figures: {m.name} is no figure")
    return chosen


def reads_interruptions(m: Metric, given: Mapping[str, Any] | None = None) -> bool:
    """Whether a metric needs the interruption facts (a series: those of the figures it is narrowed to)."""
    if m.is_figure:
        return any(n.grain == "interruption" for n in needed([m]))
    narrowed = series_figures([m], given or {}) if m.name in SERIES else None
    if narrowed is not None:
        return any(n.grain == "interruption" for n in needed(narrowed))
    texts = [m.sql, *(STAGES[name].document for name in m.stages)]
    return any("interruption_facts" in text or "figures_by_bucket" in text for text in texts)


def by_team(series: list[Metric]) -> bool:
    """Series and trends are per team as well as for all teams; the comparison and scalars are not."""
    return any(m.name != "compare" for m in series)


def figures_sql(figures: list[Metric], everything: bool = False, by_team: bool = False) -> str:
    """The figures per bucket, for all teams together (team NULL) and, `by_team`, for each team.

    `everything` gives every registered figure (series and comparisons show them all), else
    only `figures` and what they are worked out from. A bucket or team without alerts still has
    its row (counts 0, the rest undefined), so series have no gaps.
    """
    chosen = [m for grain in ("alert", "interruption", "derived") for m in of_grain(grain)] if everything \
        else needed(figures)
    alert_metrics = [m for m in chosen if m.grain == "alert"]
    paged_metrics = [m for m in chosen if m.grain == "interruption"]
    alert = "".join(f", {m.sql} AS {m.name}" for m in alert_metrics)
    paged = "".join(f", {m.sql} AS {m.name}" for m in paged_metrics)
    joined = "".join(f", {_column(m, 'a')}" for m in alert_metrics) + "".join(
        f", {_column(m, 'i')}" for m in paged_metrics)
    derived = "".join(f", {m.sql} AS {m.name}" for m in chosen if m.grain == "derived")
    sets = "GROUPING SETS ((team, bucket_start), (bucket_start))" if by_team else "bucket_start"
    team = "team" if by_team else "NULL::VARCHAR AS team"
    groups = "SELECT DISTINCT team FROM alert_facts UNION SELECT $team::VARCHAR WHERE $team::VARCHAR IS NOT NULL " \
        "UNION SELECT NULL" if by_team else "SELECT NULL::VARCHAR AS team"
    interruptions = f"""
interruption_part AS (
    SELECT {team}, bucket_start{paged} FROM interruption_facts GROUP BY {sets}
),""" if paged_metrics else ""  # noqa: S608 - fragments come only from the registry
    join_interruptions = """
    LEFT JOIN interruption_part AS i
      ON i.bucket_start = s.bucket_start AND i.team IS NOT DISTINCT FROM s.team""" if paged_metrics else ""
    return f"""
WITH buckets AS (SELECT unnest($buckets::TIMESTAMPTZ[]) AS bucket_start),
groups AS ({groups}),
spine AS (SELECT b.bucket_start, g.team FROM buckets AS b CROSS JOIN groups AS g),
alert_part AS (
    SELECT {team}, bucket_start{alert} FROM alert_facts GROUP BY {sets}
),{interruptions}
joined AS (
    SELECT s.team, s.bucket_start{joined}
    FROM spine AS s
    LEFT JOIN alert_part AS a ON a.bucket_start = s.bucket_start AND a.team IS NOT DISTINCT FROM s.team{join_interruptions}
)
SELECT *{derived} FROM joined
"""  # noqa: S608 - fragments come only from the registry


# Statements over `figures_by_bucket`, the result of figures_sql() for a read's buckets.
_SERIES = (
    "SELECT * RENAME (bucket_start AS {grain}_start) FROM figures_by_bucket ORDER BY team NULLS FIRST, bucket_start"
)

_TRENDS = """
WITH numbers AS (
    SELECT team, bucket_start, COLUMNS(* EXCLUDE (team, bucket_start))::DOUBLE FROM figures_by_bucket
),
long AS (  -- one row per team, bucket and figure, undefined values kept
    FROM numbers UNPIVOT INCLUDE NULLS (value FOR metric IN (COLUMNS(* EXCLUDE (team, bucket_start))))
),
ranked AS (
    SELECT *, dense_rank() OVER (PARTITION BY team, metric ORDER BY bucket_start) AS k,
        count(*) OVER (PARTITION BY team, metric) AS n
    FROM long
),
per_metric AS (
    SELECT team, metric,
        max(value) FILTER (WHERE k = n) AS value,
        max(value) FILTER (WHERE k = n - 1) AS previous,
        regr_slope(value, k ORDER BY k) AS slope  -- in step order: its running sums round by order
    FROM ranked GROUP BY team, metric
)
SELECT team, metric, value, previous, value - previous AS change, slope, slope < 0 AS trending_down
FROM per_metric
ORDER BY team NULLS FIRST, metric
"""

register(
    Metric(
        "per_sprint",
        "Per sprint",
        "every figure (or those the read names) per sprint, for each team and for all teams together (team empty), "
        "over the sprints up to the period's start",
        "list",
        _SERIES.format(grain="sprint"),
        "query",
        "sprints",
        ("count", "series_figures"),
    )
)
register(
    Metric(
        "per_week",
        "Per week",
        "every figure (or those the read names) per ISO week, for each team and for all teams together (team empty), "
        "over the weeks up to the period's start",
        "list",
        _SERIES.format(grain="week"),
        "query",
        "weeks",
        ("count", "series_figures"),
    )
)
register(
    Metric(
        "trends",
        "Trends",
        "per figure, for each team and all teams: the last finished sprint's value, the one before, the "
        "change and the least-squares slope per sprint over the last {trend_sprints} finished sprints",
        "list",
        _TRENDS,
        "query",
        "trend",
        ("as_of",),
    )
)

# The period's figures (its last bucket) against the period before (its first bucket): while the
# period is in progress, the buckets are the part of the period before that has elapsed as much,
# the rest of it (left out), and the period (METRICS.md, Trends: pro rata).
register(
    Metric(
        "compare",
        "Against the period before",
        "each figure for the period and for the equally long period just before it, with the change; "
        "a period in progress against as much of the one before",
        "list",
        """
WITH numbers AS (
    SELECT bucket_start, COLUMNS(* EXCLUDE (team, bucket_start))::DOUBLE FROM figures_by_bucket WHERE team IS NULL
),
long AS (
    FROM numbers UNPIVOT INCLUDE NULLS (value FOR metric IN (COLUMNS(* EXCLUDE (bucket_start))))
),
ends AS (SELECT min(bucket_start) AS first, max(bucket_start) AS last FROM numbers),
paired AS (
    SELECT metric, max(value) FILTER (WHERE bucket_start = last) AS value,
        max(value) FILTER (WHERE bucket_start = first) AS previous
    FROM long, ends GROUP BY metric
)
SELECT metric, value, previous, value - previous AS change FROM paired ORDER BY metric
""",
        "query",
        "compare",
        ("as_of",),
    )
)

register(
    Metric(
        "series_over",
        "Over the dates",
        "every figure (or those the read names) for each team and all teams, by day over up to 31 days, else by 7-day steps "
        "(the last may be shorter)",
        "list",
        """
SELECT * RENAME (bucket_start AS start),
    epoch(lead(bucket_start, 1, $end) OVER (PARTITION BY team ORDER BY bucket_start) - bucket_start) / 86400.0
        AS days
FROM figures_by_bucket ORDER BY team NULLS FIRST, bucket_start
""",
        "query",
        "steps",
        ("series_figures",),
    )
)
