"""Loader-side queries of the sync: open alerts to fetch again, names seen before, lifecycle from events."""

from __future__ import annotations

import datetime as dt

import store
from ingest.mapping import Mapped

# The longest timed silence a provider offers (Grafana OnCall's UI and chat apps: 24 hours, else
# forever; its API takes any delay). An alert still silenced this long after its silence is taken
# as silenced for good: not open, so no longer fetched again (METRICS.md, Silenced alert).
SILENCE_SETTLES = dt.timedelta(hours=24)

_OLDEST_OPEN = """
SELECT min(created_at) FROM alerts
WHERE source = $source AND resolved_at IS NULL AND created_at >= $not_before
  AND (silenced_at IS NULL OR silenced_at > $settled)
"""

# Names of teams, services and people a source listed in earlier syncs: an alert of an integration
# deleted since, or synced while a list is refused to the key, keeps its service and team.
_KNOWN = {
    "teams": "SELECT team_id, name FROM teams WHERE source = ?",
    "services": "SELECT service_id, name FROM services WHERE source = ?",
    "people": "SELECT person_id, email FROM people WHERE source = ? AND email IS NOT NULL",
}

# First acknowledgement (kept even if later undone), last resolve (and who or what did it) and
# escalations, per alert, from the lifecycle log; what the log does not say keeps the value the
# alert record gave. METRICS.md, Reopened alert: when the record says open and the log shows it
# triggered or acknowledged again after its last resolve, it is open (the record wins over a log
# whose entries disagree with it, as the vendors' own examples sometimes do).
_DERIVE = """
WITH lifecycle AS (
    SELECT alert_source_id AS source_id,
           min(occurred_at) FILTER (WHERE type = 'acknowledge') AS acknowledged_at,
           arg_min(agent_id, occurred_at) FILTER (WHERE type = 'acknowledge') AS acknowledged_by,
           max(occurred_at) FILTER (WHERE type = 'resolve') AS resolved_at,
           max(occurred_at) FILTER (WHERE type IN ('trigger', 'acknowledge')) AS last_raised_at,
           arg_max(agent_id, occurred_at) FILTER (WHERE type = 'resolve') AS resolved_by,
           arg_max(coalesce(agent_type, ''), occurred_at) FILTER (WHERE type = 'resolve') AS resolver_type,
           count(*) FILTER (WHERE type = 'escalate') AS escalations
    FROM events
    WHERE source = $source
    GROUP BY alert_source_id
), reopened AS (  -- the record says open and the log raised it again after its last resolve
    SELECT l.*, a.resolved_at IS NULL AND l.last_raised_at > l.resolved_at AS reopened
    FROM lifecycle AS l JOIN alerts AS a ON a.source = $source AND a.source_id = l.source_id
), final AS (
    SELECT l.source_id,
           -- the first acknowledgement the record (Opsgenie's report, JSM's ackTime) or the log shows
           CASE WHEN record_first THEN a.acknowledged_at ELSE l.acknowledged_at END AS acknowledged_at,
           CASE WHEN record_first THEN a.acknowledged_by ELSE l.acknowledged_by END AS acknowledged_by,
           CASE WHEN l.reopened THEN NULL ELSE coalesce(l.resolved_at, a.resolved_at) END AS resolved_at,
           CASE WHEN l.reopened THEN NULL WHEN l.resolved_at IS NULL THEN a.resolved_by
                ELSE l.resolved_by END AS resolved_by,
           CASE WHEN l.reopened THEN NULL WHEN l.resolved_at IS NULL THEN a.auto_resolved
                ELSE l.resolver_type <> 'user' END AS auto_resolved,
           CASE WHEN l.escalations > 0 OR a.escalations IS NULL THEN l.escalations ELSE a.escalations END
               AS escalations
    FROM (SELECT r.*, a.acknowledged_at IS NOT NULL
                 AND (r.acknowledged_at IS NULL OR a.acknowledged_at < r.acknowledged_at) AS record_first
          FROM reopened AS r JOIN alerts AS a ON a.source = $source AND a.source_id = r.source_id) AS l
    JOIN alerts a ON a.source = $source AND a.source_id = l.source_id
)
UPDATE alerts SET
    acknowledged_at = f.acknowledged_at, acknowledged_by = f.acknowledged_by,
    resolved_at = f.resolved_at, resolved_by = f.resolved_by,
    auto_resolved = f.auto_resolved, escalations = f.escalations
FROM final f
WHERE alerts.source = $source AND alerts.source_id = f.source_id
  AND (alerts.acknowledged_at IS DISTINCT FROM f.acknowledged_at
       OR alerts.acknowledged_by IS DISTINCT FROM f.acknowledged_by
       OR alerts.resolved_at IS DISTINCT FROM f.resolved_at
       OR alerts.resolved_by IS DISTINCT FROM f.resolved_by
       OR alerts.auto_resolved IS DISTINCT FROM f.auto_resolved
       OR alerts.escalations IS DISTINCT FROM f.escalations)
"""


# METRICS.md, Merged alert: resolved when the alert it was merged into resolves (open while that
# one is open), never auto-resolved. One merged into an alert not loaded keeps its own resolve.
_MERGED = """
UPDATE alerts SET resolved_at = t.resolved_at, resolved_by = t.resolved_by, auto_resolved = false
FROM alerts AS t
WHERE alerts.source = $source AND alerts.merged_into IS NOT NULL
  AND t.source = alerts.source AND t.source_id = alerts.merged_into
  AND (alerts.resolved_at IS DISTINCT FROM t.resolved_at OR alerts.resolved_by IS DISTINCT FROM t.resolved_by
       OR alerts.auto_resolved IS DISTINCT FROM false)
"""


def oldest_open_alert(db: str, source: str, not_before: dt.datetime, now: dt.datetime) -> dt.datetime | None:
    """When the oldest alert of `source` still open (created after `not_before`) was created."""
    with store.reading(db) as con:
        row = con.execute(_OLDEST_OPEN, {"source": source, "not_before": not_before,
                                         "settled": now - SILENCE_SETTLES}).fetchone()
    return row[0].astimezone(dt.UTC) if row and row[0] else None


def known_names(db: str, source: str) -> Mapped:
    """The teams, services and people (ids with names or e-mails) `source` has stored."""
    out = Mapped()
    with store.reading(db) as con:
        for table, sql in _KNOWN.items():
            cursor = con.execute(sql, [source])
            names = [d[0] for d in cursor.description]
            for row in cursor.fetchall():
                out.add(table, dict(zip(names, row, strict=True)))
    return out


def derive_from_events(db: str, source: str) -> int:
    """Set acknowledged/resolved/auto_resolved/escalations of `source`'s alerts from their events,
    then merged alerts' resolve from the alert each was merged into."""
    with store.writing(db) as con:
        row = con.execute(_DERIVE, {"source": source}).fetchone()
        merged = con.execute(_MERGED, {"source": source}).fetchone()
    return (int(row[0]) if row else 0) + (int(merged[0]) if merged else 0)
