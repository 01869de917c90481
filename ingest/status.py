"""What each source has loaded: last sync, rows, open alerts, quarantine and the last error."""

from __future__ import annotations

import datetime as dt

import pandas as pd

import store

_STATUS_SQL = """
WITH runs AS (
    SELECT source,
           max(finished_at) FILTER (WHERE status NOT IN ('failed', 'killed', 'running')) AS last_sync,
           arg_max(status, started_at) AS last_status,
           arg_max(error, started_at) AS last_error
    FROM ingest_runs GROUP BY source
), alert_counts AS (
    SELECT source, count(*) AS alerts, count(*) FILTER (WHERE resolved_at IS NULL AND silenced_at IS NULL) AS open_alerts
    FROM alerts GROUP BY source
), quarantined AS (
    SELECT source, count(*) AS quarantined FROM quarantine GROUP BY source
), final AS (
    SELECT coalesce(r.source, a.source) AS source, r.last_sync, r.last_status,
           coalesce(a.alerts, 0) AS alerts, coalesce(a.open_alerts, 0) AS open_alerts,
           coalesce(q.quarantined, 0) AS quarantined, r.last_error
    FROM runs r
    FULL JOIN alert_counts a USING (source)
    LEFT JOIN quarantined q ON q.source = coalesce(r.source, a.source)
)
SELECT * FROM final ORDER BY source
"""


def source_status(db: str) -> pd.DataFrame:
    """One row per source."""
    with store.reading(db) as con:
        return con.execute(_STATUS_SQL).df()


# What a source sent that the figures could read only in part, one line each (Data page, `ingest status`).
_GAPS_SQL = """
SELECT source, count(*) AS n, 'unknown channel' AS kind, NULL AS notifications
FROM notifications WHERE channel = 'other' GROUP BY source
UNION ALL
SELECT source, count(*), 'unrecognised log line', NULL
FROM events WHERE type = 'unrecognised' GROUP BY source
UNION ALL
SELECT 'alertmanager', sum(dropped)::BIGINT, 'dropped', count(*)
FROM dropped_alerts HAVING count(*) > 0
ORDER BY source, kind
"""


def _plural(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def _gap(source: str, n: int, kind: str, notifications: int | None) -> str:
    if kind == "unknown channel":
        what = (_plural(n, "notification", "notifications") + " of unknown channel (an alert with only these "
                "gets the interruption fallback)")
    elif kind == "unrecognised log line":
        what = (_plural(n, "alert log line", "alert log lines") + " in a wording not recognised (kept as they "
                "came; they move no figure)")
    else:
        what = (_plural(n, "alert", "alerts") + " dropped by Alertmanager from "
                + _plural(notifications or 0, "notification", "notifications")
                + ": raise max_alerts in its webhook_config")
    return f"{source}: {what}"


def data_gaps(db: str) -> list[str]:
    """'<source>: N <what>' for each thing a source sent that could be read only in part."""
    with store.reading(db) as con:
        return [_gap(*row) for row in con.execute(_GAPS_SQL).fetchall()]


def sources_in(db: str, timeout_s: float | None = None) -> set[str]:
    """The sources that have written alerts into `db`."""
    with store.reading(db, timeout_s=timeout_s) as con:
        return {row[0] for row in con.execute("SELECT DISTINCT source FROM alerts").fetchall()}


def last_good_run(db: str, source: str) -> dt.datetime | None:
    """When the last run of `source` that finished without errors ended."""
    with store.reading(db) as con:
        row = con.execute(
            "SELECT max(finished_at) FROM ingest_runs WHERE source = ? AND status = 'ok'", [source]
        ).fetchone()
    return row[0]


def quarantined(db: str, limit: int = 500) -> pd.DataFrame:
    """The most recent quarantined records with their reasons."""
    with store.reading(db) as con:
        return con.execute(
            "SELECT quarantined_at, source, stream, reason, raw FROM quarantine "
            "ORDER BY quarantined_at DESC, source, record_hash LIMIT ?",
            [limit],
        ).df()
