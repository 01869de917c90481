"""Headline figures per bucket (period, sprint or week) and team, their changes and trends."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd

from metrics import facts
from metrics.period import Period, in_progress, previous, sprints_back, steps, weeks_back
from metrics.registry import Metric, of_grain
from settings import Settings

# A figure over no alerts: counts and hours are 0, averages and shares are undefined.
_ZERO_WHEN_EMPTY = ("count", "hours")


def _column(metric: Metric, prefix: str) -> str:
    """A figure of a bucket; counts and hours of a bucket with no rows at all are 0."""
    ref = f"{prefix}.{metric.name}"
    if metric.unit not in _ZERO_WHEN_EMPTY:
        return ref
    return f"CASE WHEN {prefix}.bucket_start IS NULL THEN 0 ELSE {ref} END AS {metric.name}"


def headline_names() -> list[str]:
    """Every figure the aggregate statement yields, in registry order."""
    return [m.name for grain in ("alert", "interruption", "derived") for m in of_grain(grain)]


def _aggregates() -> str:
    """CTEs ending in `final`: one row per (team or NULL for all, bucket) with every figure."""
    alert = ", ".join(f"{m.sql} AS {m.name}" for m in of_grain("alert"))
    paged = ", ".join(f"{m.sql} AS {m.name}" for m in of_grain("interruption"))
    joined = ", ".join(
        [_column(m, "a") for m in of_grain("alert")] + [_column(m, "i") for m in of_grain("interruption")]
    )
    derived = ", ".join(f"{m.sql} AS {m.name}" for m in of_grain("derived"))
    return f""",
groups AS (
    SELECT DISTINCT team AS grp FROM scope WHERE $by_team
    UNION SELECT $team::VARCHAR WHERE $by_team AND $team::VARCHAR IS NOT NULL
    UNION SELECT NULL WHERE NOT $by_team
),
spine AS (SELECT b.bucket_start, g.grp FROM buckets AS b CROSS JOIN groups AS g),
alert_part AS (
    SELECT CASE WHEN $by_team THEN team END AS grp, bucket_start, {alert}
    FROM alert_facts GROUP BY ALL
),
interruption_part AS (
    SELECT CASE WHEN $by_team THEN team END AS grp, bucket_start, {paged}
    FROM interruption_facts GROUP BY ALL
),
joined AS (
    SELECT s.grp AS team, s.bucket_start, {joined}
    FROM spine AS s
    LEFT JOIN alert_part AS a ON a.bucket_start = s.bucket_start AND a.grp IS NOT DISTINCT FROM s.grp
    LEFT JOIN interruption_part AS i
      ON i.bucket_start = s.bucket_start AND i.grp IS NOT DISTINCT FROM s.grp
),
final AS (SELECT *, {derived} FROM joined)
"""  # noqa: S608 - fragments come only from the registry


def series_sql() -> str:
    return facts.over_facts(_aggregates() + "SELECT * FROM final ORDER BY team, bucket_start")  # noqa: S608 - fragments come only from the registry


def trends_sql(names: list[str]) -> str:
    """Per team and figure: latest value, previous, change and least-squares slope per bucket."""
    known = set(headline_names())
    unknown = [n for n in names if n not in known]
    if unknown:
        raise KeyError(f"not a per-bucket figure: {', '.join(unknown)}")
    long = "\n    UNION ALL ".join(
        f"SELECT team, bucket_start, '{n}' AS metric, {n}::DOUBLE AS value FROM final"  # noqa: S608 - registry names
        for n in names
    )
    return facts.over_facts(
        _aggregates()  # noqa: S608 - fragments come only from the registry
        + f""",
long AS (
    {long}
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
        regr_slope(value, k) FILTER (WHERE k > n - $slope_buckets) AS slope
    FROM ranked GROUP BY team, metric
)
SELECT team, metric, value, previous, value - previous AS change, slope, slope < 0 AS trending_down
FROM per_metric ORDER BY team, metric
"""  # noqa: S608 - fragments come only from the registry
    )


def _periods(settings: Settings, grain: str, count: int, day: dt.date | None) -> list[Period]:
    if grain == "sprint":
        return sprints_back(settings, count, day)
    if grain == "week":
        return weeks_back(settings, count, day)
    raise ValueError(f"grain must be 'sprint' or 'week', not {grain!r}")


def _run(db, settings: Settings, periods: list[Period], sql: str, team, service, by_team, **extra):
    whole = Period(periods[0].start, periods[-1].end)
    values = facts.params(
        settings, whole, team, service, [p.start for p in periods], by_team=by_team, **extra
    )
    return facts.query_one(db, settings, whole, sql, values)


def series(
    db: str | None,
    settings: Settings | None = None,
    grain: str = "sprint",
    count: int = 12,
    team: str | None = None,
    service: str | None = None,
    day: dt.date | None = None,
    by_team: bool = True,
) -> pd.DataFrame:
    """Every headline figure per team (or all teams: team None) per sprint or ISO week."""
    settings = facts.resolve(settings)
    periods = _periods(settings, grain, count, day)
    frame = _run(db, settings, periods, series_sql(), team, service, by_team)
    return frame.rename(columns={"bucket_start": f"{grain}_start"})


def trends(
    db: str | None,
    settings: Settings | None = None,
    sprints: int = 6,
    team: str | None = None,
    day: dt.date | None = None,
    names: list[str] | None = None,
    by_team: bool = True,
    as_of: dt.datetime | None = None,
) -> pd.DataFrame:
    """Per team and figure over the last `sprints` finished sprints up to `day`'s: value, previous, change, slope.

    A sprint still in progress at `as_of` (default now) is left out (METRICS.md, Trends).
    """
    settings = facts.resolve(settings)
    periods = _periods(settings, "sprint", sprints, day)
    if in_progress(periods[-1], as_of):
        periods = _periods(settings, "sprint", sprints, previous(periods[-1]).start.date())
    sql = trends_sql(names or headline_names())
    return _run(db, settings, periods, sql, team, None, by_team, slope_buckets=sprints)


def compare(
    db: str | None,
    period: Period,
    team: str | None = None,
    service: str | None = None,
    settings: Settings | None = None,
    as_of: dt.datetime | None = None,
) -> pd.DataFrame:
    """Each headline figure for `period` and the equally long period before, with the change.

    A period still in progress at `as_of` (default now) is compared pro rata: its figures so far
    against the same length of time from the start of the period before (METRICS.md, Trends).
    """
    settings = facts.resolve(settings)
    before = previous(period)
    as_of = as_of or dt.datetime.now(dt.UTC)
    if in_progress(period, as_of):
        # Three buckets: the previous period's first part (compared), its rest (skipped), this one.
        starts = [before.start, before.start + (as_of - period.start), period.start]
    else:
        starts = [before.start, period.start]
    values = facts.params(settings, Period(before.start, period.end), team, service, starts, by_team=False)
    frame = facts.query_one(db, settings, Period(before.start, period.end), series_sql(), values)
    frame = frame.sort_values("bucket_start")
    names = headline_names()
    first, last = frame.iloc[0], frame.iloc[-1]
    result = pd.DataFrame(
        {"value": [last[n] for n in names], "previous": [first[n] for n in names]}, index=pd.Index(names, name="metric")
    )
    return result.assign(change=result["value"] - result["previous"])


def series_over(
    db: str | None,
    period: Period,
    team: str | None = None,
    service: str | None = None,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """Every headline figure per team over free dates: by day up to 31 days, else by 7-day step.

    The rows carry `start` (each step's first moment) and `days` (its length, the last may be shorter).
    """
    settings = facts.resolve(settings)
    size = 1 if period.length <= dt.timedelta(days=31) else 7
    parts = steps(period, size)
    frame = _run(db, settings, parts, series_sql(), team, service, True)
    lengths = {p.start: (p.end - p.start) / dt.timedelta(days=1) for p in parts}
    frame = frame.rename(columns={"bucket_start": "start"})
    return frame.assign(days=frame["start"].map(lambda s: lengths.get(s.to_pydatetime(), float(size))))


def plain(value: Any) -> Any:
    """A result cell as a plain Python value (None for SQL NULL / NaN)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def summary(
    db: str | None,
    period: Period,
    team: str | None = None,
    service: str | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Every headline figure for one period and team (None: all teams) as plain values."""
    settings = facts.resolve(settings)
    return first_row(_run(db, settings, [period], series_sql(), team, service, False))


def first_row(frame: pd.DataFrame) -> dict[str, Any]:
    """The headline figures of a one-bucket, all-teams series as plain values."""
    row = frame.iloc[0].to_dict()
    return {name: plain(row[name]) for name in headline_names()}


def per_sprint(
    db: str | None,
    settings: Settings | None = None,
    sprints: int = 12,
    team: str | None = None,
    day: dt.date | None = None,
) -> pd.DataFrame:
    """Every headline figure per team per sprint, the last `sprints` sprints up to `day`'s."""
    return series(db, settings, "sprint", sprints, team, day=day)


def per_week(
    db: str | None,
    settings: Settings | None = None,
    weeks: int = 12,
    team: str | None = None,
    day: dt.date | None = None,
) -> pd.DataFrame:
    """Every headline figure per team per ISO week, the last `weeks` weeks up to `day`'s."""
    return series(db, settings, "week", weeks, team, day=day)
