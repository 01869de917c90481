"""What the database holds: teams, services, each source's last sync and its quarantined records."""

from __future__ import annotations

from metrics.display import missing
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
        "tables",
    )
)

SERVICES = register(
    Metric(
        "services",
        "Services",
        "each team's services with alerts, alphabetical",
        "list",
        """
SELECT DISTINCT team, service FROM alerts WHERE service IS NOT NULL ORDER BY team, service
""",
        "query",
        "tables",
    )
)

# The one definition of a source's last sync, for the Data page, `ingest status` and the report.
LAST_SYNC = """runs AS (
    SELECT source,
        max(finished_at) FILTER (WHERE status NOT IN ('failed', 'killed', 'running')) AS last_sync,
        arg_max(status, started_at) AS last_status,
        arg_max(error, started_at) AS last_error
    FROM ingest_runs GROUP BY source
)"""

SOURCES = register(
    Metric(
        "sources",
        "Sources",
        "per source: last sync (when its last run that ended well or in part finished), the last run's status "
        "and error, alerts held, open alerts and quarantined records",
        "list",
        "WITH "  # noqa: S608 - constants of this module
        + LAST_SYNC
        + """,
held AS (
    SELECT source, count(*) AS alerts, count(*) FILTER (WHERE resolved_at IS NULL AND silenced_at IS NULL) AS open_alerts,
        max(ingested_at) AS last_ingested_at
    FROM alerts GROUP BY source
),
quarantined AS (SELECT source, count(*) AS quarantined FROM quarantine GROUP BY source),
known AS (
    SELECT source FROM runs UNION SELECT source FROM held UNION SELECT source FROM quarantined
    UNION SELECT source FROM sync_state
)
SELECT k.source, r.last_sync, r.last_status, coalesce(h.alerts, 0) AS alerts,
    coalesce(h.open_alerts, 0) AS open_alerts, coalesce(q.quarantined, 0) AS quarantined,
    r.last_error, h.last_ingested_at
FROM known AS k
LEFT JOIN runs AS r USING (source)
LEFT JOIN held AS h USING (source)
LEFT JOIN quarantined AS q USING (source)
ORDER BY k.source
""",
        "query",
        "tables",
    )
)

# The sources and their last sync without counting each one's alerts: what a report's footer shows,
# for the price of reading the source column once (the counts read three columns of every alert).
SYNCS = register(
    Metric(
        "syncs",
        "Last syncs",
        "per source: last sync (when its last run that ended well or in part finished) and the last run's status",
        "list",
        "WITH "  # noqa: S608 - constants of this module
        + LAST_SYNC
        + """
SELECT k.source, r.last_sync, r.last_status
FROM (SELECT source FROM runs UNION SELECT DISTINCT source FROM alerts UNION SELECT source FROM quarantine
      UNION SELECT source FROM sync_state) AS k
LEFT JOIN runs AS r USING (source)
ORDER BY k.source
""",
        "query",
        "tables",
    )
)

TARGETS_SET = register(
    Metric(
        "targets_set",
        "Targets set in the app",
        "the bounds the scope's team set in the app: figure, value, who set it and when",
        "list",
        "SELECT figure, value, set_by, set_at FROM targets WHERE team = $team ORDER BY figure",
        "query",
        "tables",
    )
)

TEAM_KNOWN = register(
    Metric(
        "team_known",
        "Team known",
        "whether the scope's team has alerts or people (one row)",
        "list",
        """
SELECT EXISTS (SELECT 1 FROM alerts WHERE team = $team) OR EXISTS (SELECT 1 FROM people WHERE team = $team)
    AS known
""",
        "query",
        "tables",
    )
)

QUARANTINED = register(
    Metric(
        "quarantined",
        "Quarantined records",
        "the most recent records that could not be mapped, as received, with the reason",
        "list",
        """
SELECT quarantined_at, source, stream, reason, raw FROM quarantine
ORDER BY quarantined_at DESC, source, record_hash
LIMIT $limit
""",
        "query",
        "tables",
        ("limit",),
    )
)

DATA_GAPS = register(
    Metric(
        "data_gaps",
        "Read in part",
        "per source, what it sent that the figures can use only in part: notifications of a channel "
        "that could not be read, alert log lines in a wording not recognised, alerts Alertmanager dropped "
        "from its notifications",
        "list",
        """
SELECT source, count(*) AS n, 'unknown channel' AS kind, NULL::BIGINT AS notifications
FROM notifications WHERE channel = 'other' GROUP BY source
UNION ALL
SELECT source, count(*), 'unrecognised log line', NULL
FROM events WHERE type = 'unrecognised' GROUP BY source
UNION ALL
SELECT 'alertmanager', sum(dropped)::BIGINT, 'dropped', count(*)
FROM dropped_alerts HAVING count(*) > 0
ORDER BY source, kind
""",
        "query",
        "tables",
    )
)


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


def gap_lines(gaps) -> list[str]:
    """'<source>: N <what>', one line each, from the data_gaps table (a DataFrame)."""
    return [_gap(row.source, int(row.n), row.kind, None if missing(row.notifications) else int(row.notifications))
            for row in gaps.itertuples(index=False)]
