"""Retro reviews: the actionable rate and fix follow-through of reviewed signatures."""

from __future__ import annotations

from metrics.registry import Metric, option, register

register(
    Metric(
        "reviewed_alerts",
        "Reviewed alerts",
        "alerts with a verdict in force: their own, else their signature's holding when they fired",
        "count",
        "count(verdict)",
    )
)
register(
    Metric(
        "actionable_rate",
        "Actionable rate",
        "alerts whose verdict in force is actionable / alerts with any verdict in force",
        "share",
        "count(*) FILTER (WHERE verdict = 'actionable') / nullif(count(verdict), 0)",
    )
)

FOLLOW_THROUGH = register(
    Metric(
        "follow_through",
        "Fix follow-through",
        "signatures reviewed noise/needs-tuning: fixed once silent for a sprint ({sprint_days}) after the review",
        "list",
        """
WITH latest AS (
    SELECT signature, verdict, note, reviewer, reviewed_at FROM reviews
    WHERE alert_source_id IS NULL AND reviewed_at <= $as_of
    QUALIFY row_number() OVER (PARTITION BY signature ORDER BY reviewed_at DESC, review_id DESC) = 1
),
targets AS (
    SELECT * FROM latest
    WHERE verdict IN ('noise', 'needs-tuning')
      AND ($team::VARCHAR IS NULL
           OR signature IN (SELECT signature FROM alerts WHERE team = $team::VARCHAR))
),
after AS (
    SELECT t.signature, count(a.source_id) AS alerts_since, max(a.created_at) AS last_alert_at,
        arg_max(a.title, a.created_at) AS title
    FROM targets AS t
    LEFT JOIN alerts AS a
      ON a.signature = t.signature AND a.created_at > t.reviewed_at AND a.created_at <= $as_of
    GROUP BY t.signature
),
judged AS (
    SELECT t.*, f.alerts_since, f.last_alert_at, f.title,
        $as_of - coalesce(f.last_alert_at, t.reviewed_at) >= to_days($sprint_days) AS fixed
    FROM targets AS t JOIN after AS f USING (signature)
)
SELECT signature, title, verdict, note, reviewer, reviewed_at, alerts_since, last_alert_at,
    CASE WHEN fixed THEN 'fixed' WHEN alerts_since > 0 THEN 'still firing' ELSE 'waiting' END AS status,
    CASE WHEN fixed THEN coalesce(epoch(last_alert_at - reviewed_at), 0) END AS time_to_fix_s,
    CASE WHEN NOT fixed THEN ceil(epoch($as_of - reviewed_at) / ($sprint_days * 86400.0))::INTEGER
    END AS sprints_open
FROM judged
ORDER BY status, reviewed_at, signature
""",
        "query",
        "tables",
        ("as_of",),
    )
)

register(
    Metric(
        "signature_reviews",
        "Reviews",
        "every verdict given on the signature, newest first, with its note and reviewer",
        "list",
        """
SELECT reviewed_at, verdict, note, reviewer,
       CASE WHEN alert_source_id IS NULL THEN 'signature' ELSE 'one alert: ' || alert_source_id END AS applies_to,
       alert_source, alert_source_id, period_start, period_end
FROM reviews WHERE signature = $signature
ORDER BY reviewed_at DESC, review_id DESC
""",
        "query",
        "tables",
    )
)

option("signatures", ())  # review_notes (and the advice metrics): the signatures asked about

register(
    Metric(
        "review_notes",
        "Notes in the review",
        "the notes given in the review on each of the signatures asked for, in any verdict",
        "list",
        """
SELECT DISTINCT signature, note FROM reviews
WHERE list_contains($signatures::VARCHAR[], signature) AND note IS NOT NULL
ORDER BY signature, note
""",
        "query",
        "tables",
        ("signatures",),
    )
)


RETRO_DECISIONS = register(
    Metric(
        "retro_decisions",
        "Decisions of the retro",
        "the last verdict given on each signature (or alert) by reviewers looking at this period",
        "list",
        """
WITH titled AS (
    SELECT signature, arg_max(title, created_at) AS title, arg_max(team, created_at) AS team
    FROM alerts
    WHERE created_at >= $start AND created_at < $end
      AND ($team::VARCHAR IS NULL OR team = $team::VARCHAR)
    GROUP BY signature
),
given AS (
    SELECT * FROM reviews
    WHERE period_start >= $start AND period_start < $end
    QUALIFY row_number() OVER (
        PARTITION BY signature, alert_source, alert_source_id ORDER BY reviewed_at DESC, review_id DESC) = 1
)
SELECT g.review_id, g.signature, t.title, t.team, g.alert_source, g.alert_source_id, a.created_at AS alert_created_at,
    g.verdict, g.note, g.reviewer, g.reviewed_at, g.owner
FROM given AS g
JOIN titled AS t USING (signature)
LEFT JOIN alerts AS a ON a.source = g.alert_source AND a.source_id = g.alert_source_id
ORDER BY g.alert_source_id IS NOT NULL, g.reviewed_at, g.signature
""",
        "query",
        "tables",
    )
)


# What a verdict asks the team to do next (METRICS.md, Noise diagnosis and Cost).
ACTIONS = {
    "noise": "Delete it or demote it to a ticket",
    "needs-tuning": "Tune its threshold or timing",
    "duplicate": "Group it with the alert it repeats, or inhibit it",
    "cause": "Fix what keeps it firing (it fired in each of the last 3 sprints)",
}


def action_for(verdict: str | None, suggested_fix: str | None = None, repeat_offender: bool = False) -> str | None:
    """The action item a signature verdict calls for; None when it calls for none."""
    if verdict == "needs-tuning" and suggested_fix:
        return suggested_fix[0].upper() + suggested_fix[1:]
    if verdict == "actionable":
        return ACTIONS["cause"] if repeat_offender else None
    return ACTIONS.get(verdict or "")
