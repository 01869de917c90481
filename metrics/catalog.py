"""What the database holds: team names and each source's last sync."""

from __future__ import annotations

from typing import Any

import store
from metrics.registry import Metric, register

TEAMS = register(
    Metric(
        "teams",
        "Teams",
        "team names of alerts and people, alphabetical",
        "list",
        """
        SELECT team FROM alerts
        UNION SELECT team FROM people WHERE team IS NOT NULL
        ORDER BY team
        """,
        "query",
    )
)

SOURCES = register(
    Metric(
        "sources",
        "Sources",
        "each source's last sync: latest sync_state update or finished ingest run, and that run's status",
        "list",
        """
        WITH known AS (
            SELECT source FROM sync_state UNION SELECT source FROM ingest_runs
            UNION SELECT DISTINCT source FROM alerts
        ),
        synced AS (SELECT source, max(updated_at) AS synced_at FROM sync_state GROUP BY source),
        last_run AS (
            SELECT source, finished_at, status, rows_loaded, quarantined FROM ingest_runs
            QUALIFY row_number() OVER (PARTITION BY source ORDER BY started_at DESC, run_id DESC) = 1
        ),
        loaded AS (SELECT source, count(*) AS alerts, max(ingested_at) AS ingested_at FROM alerts GROUP BY source)
        SELECT k.source,
            greatest(s.synced_at, r.finished_at) AS last_sync,
            r.status AS last_run_status,
            coalesce(l.alerts, 0) AS alerts,
            l.ingested_at AS last_ingested_at
        FROM known AS k
        LEFT JOIN synced AS s USING (source)
        LEFT JOIN last_run AS r USING (source)
        LEFT JOIN loaded AS l USING (source)
        ORDER BY k.source
        """,
        "query",
    )
)


def teams(db: str | None = None) -> list[str]:
    """Every team name the database knows, alphabetical."""
    with store.reading(db) as con:
        return [row[0] for row in con.execute(TEAMS.sql).fetchall()]


def sources(db: str | None = None) -> dict[str, dict[str, Any]]:
    """Per source: last sync time (UTC, aware), last run's status, alerts held, last ingest."""
    with store.reading(db) as con:
        con.execute("SET TimeZone = 'UTC'")
        cursor = con.execute(SOURCES.sql)
        names = [d[0] for d in cursor.description]
        return {row[0]: dict(zip(names[1:], row[1:], strict=True)) for row in cursor.fetchall()}
