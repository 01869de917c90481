"""Versioned schema migrations for the canonical tables, applied in order on open."""

from __future__ import annotations

# Each migration is (version, description, statements). Never edit a released
# migration: add a new one, so an old database upgrades without losing rows.
MIGRATIONS: list[tuple[int, str, list[str]]] = [
    (
        1,
        "canonical tables",
        [
            """
            CREATE TABLE alerts (
                source          VARCHAR NOT NULL,
                source_id       VARCHAR NOT NULL,
                title           VARCHAR,
                signature       VARCHAR NOT NULL,
                service         VARCHAR,
                team            VARCHAR NOT NULL DEFAULT 'unassigned',
                severity        VARCHAR,
                created_at      TIMESTAMPTZ NOT NULL,
                acknowledged_at TIMESTAMPTZ,
                resolved_at     TIMESTAMPTZ,
                acknowledged_by VARCHAR,
                resolved_by     VARCHAR,
                auto_resolved   BOOLEAN,
                escalations     INTEGER,
                runbook_url     VARCHAR,
                url             VARCHAR,
                labels          JSON,
                raw             JSON,
                ingested_at     TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
                PRIMARY KEY (source, source_id)
            )
            """,
            """
            CREATE TABLE notifications (
                source          VARCHAR NOT NULL,
                alert_source_id VARCHAR NOT NULL,
                person_id       VARCHAR NOT NULL,
                channel         VARCHAR NOT NULL,
                notified_at     TIMESTAMPTZ NOT NULL,
                PRIMARY KEY (source, alert_source_id, person_id, channel, notified_at)
            )
            """,
            """
            CREATE TABLE events (
                source          VARCHAR NOT NULL,
                event_id        VARCHAR NOT NULL,
                alert_source_id VARCHAR NOT NULL,
                type            VARCHAR NOT NULL,
                occurred_at     TIMESTAMPTZ NOT NULL,
                agent_id        VARCHAR,
                agent_type      VARCHAR,
                details         JSON,
                PRIMARY KEY (source, event_id)
            )
            """,
            """
            CREATE TABLE people (
                source    VARCHAR NOT NULL,
                person_id VARCHAR NOT NULL,
                name      VARCHAR,
                email     VARCHAR,
                time_zone VARCHAR,
                team      VARCHAR,
                PRIMARY KEY (source, person_id)
            )
            """,
            """
            CREATE TABLE teams (
                source  VARCHAR NOT NULL,
                team_id VARCHAR NOT NULL,
                name    VARCHAR NOT NULL,
                PRIMARY KEY (source, team_id)
            )
            """,
            """
            CREATE TABLE services (
                source     VARCHAR NOT NULL,
                service_id VARCHAR NOT NULL,
                name       VARCHAR NOT NULL,
                team       VARCHAR,
                PRIMARY KEY (source, service_id)
            )
            """,
            """
            CREATE TABLE reviews (
                review_id       VARCHAR NOT NULL PRIMARY KEY,
                signature       VARCHAR NOT NULL,
                alert_source    VARCHAR,
                alert_source_id VARCHAR,
                verdict         VARCHAR NOT NULL
                    CHECK (verdict IN ('actionable', 'noise', 'needs-tuning', 'duplicate')),
                note            VARCHAR,
                reviewer        VARCHAR,
                reviewed_at     TIMESTAMPTZ NOT NULL
            )
            """,
            """
            CREATE TABLE fix_estimates (
                signature    VARCHAR NOT NULL PRIMARY KEY,
                hours        DOUBLE NOT NULL CHECK (hours >= 0),
                note         VARCHAR,
                estimated_by VARCHAR,
                estimated_at TIMESTAMPTZ NOT NULL
            )
            """,
            """
            CREATE TABLE sync_state (
                source     VARCHAR NOT NULL,
                stream     VARCHAR NOT NULL,
                cursor     VARCHAR,
                updated_at TIMESTAMPTZ NOT NULL,
                PRIMARY KEY (source, stream)
            )
            """,
            """
            CREATE TABLE ingest_runs (
                run_id      VARCHAR NOT NULL PRIMARY KEY,
                source      VARCHAR NOT NULL,
                started_at  TIMESTAMPTZ NOT NULL,
                finished_at TIMESTAMPTZ,
                status      VARCHAR NOT NULL,
                rows_loaded BIGINT NOT NULL DEFAULT 0,
                quarantined BIGINT NOT NULL DEFAULT 0,
                error       VARCHAR
            )
            """,
            """
            CREATE TABLE quarantine (
                source         VARCHAR NOT NULL,
                stream         VARCHAR NOT NULL,
                record_hash    VARCHAR NOT NULL,
                raw            VARCHAR NOT NULL,
                reason         VARCHAR NOT NULL,
                run_id         VARCHAR,
                quarantined_at TIMESTAMPTZ NOT NULL,
                PRIMARY KEY (source, stream, record_hash)
            )
            """,
        ],
    ),
    (
        2,
        "runbook links entered in the app",
        [
            """
            CREATE TABLE runbook_links (
                signature VARCHAR NOT NULL PRIMARY KEY,
                url       VARCHAR NOT NULL,
                added_by  VARCHAR,
                added_at  TIMESTAMPTZ NOT NULL
            )
            """,
        ],
    ),
    (
        3,
        "alerts: zstd compression for the labels and raw JSON",
        # DuckDB's default string compression (dictionary/FSST) spends most of a bulk append
        # analysing these long, unique JSON texts; zstd writes them faster and into about half
        # the space. No metric reads them, so their slower point reads cost the dashboard nothing.
        # DuckDB cannot change a column's compression in place: the table is rebuilt.
        [
            """
            CREATE TABLE alerts_v3 (
                source          VARCHAR NOT NULL,
                source_id       VARCHAR NOT NULL,
                title           VARCHAR,
                signature       VARCHAR NOT NULL,
                service         VARCHAR,
                team            VARCHAR NOT NULL DEFAULT 'unassigned',
                severity        VARCHAR,
                created_at      TIMESTAMPTZ NOT NULL,
                acknowledged_at TIMESTAMPTZ,
                resolved_at     TIMESTAMPTZ,
                acknowledged_by VARCHAR,
                resolved_by     VARCHAR,
                auto_resolved   BOOLEAN,
                escalations     INTEGER,
                runbook_url     VARCHAR,
                url             VARCHAR,
                labels          JSON USING COMPRESSION zstd,
                raw             JSON USING COMPRESSION zstd,
                ingested_at     TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
                PRIMARY KEY (source, source_id)
            )
            """,
            "INSERT INTO alerts_v3 SELECT * FROM alerts",
            "DROP TABLE alerts",
            "ALTER TABLE alerts_v3 RENAME TO alerts",
        ],
    ),
    (
        4,
        "reviews: the period the reviewer was looking at",
        # A verdict given while reviewing a period holds from that period's start (METRICS.md,
        # Reviewed), so a review made today never rewrites an earlier period's figures. Reviews
        # saved before this version keep NULL: they hold from the time they were given.
        [
            "ALTER TABLE reviews ADD COLUMN period_start TIMESTAMPTZ",
            "ALTER TABLE reviews ADD COLUMN period_end TIMESTAMPTZ",
        ],
    ),
    (
        5,
        "targets set in the app, per team and figure",
        # One row per (team, figure): the bound a team set in the app, which overrides the
        # configuration file's; clearing it in the app deletes the row.
        [
            """
            CREATE TABLE targets (
                team   VARCHAR NOT NULL,
                figure VARCHAR NOT NULL,
                value  DOUBLE NOT NULL CHECK (value >= 0),
                set_by VARCHAR,
                set_at TIMESTAMPTZ NOT NULL,
                PRIMARY KEY (team, figure)
            )
            """,
        ],
    ),
    (
        6,
        "the Prometheus backfill's cursor under its own name",
        # Its rows stay the Alertmanager source's; its runs and cursor were filed under it too.
        ["UPDATE sync_state SET source = 'prometheus' WHERE source = 'alertmanager' AND stream = 'prometheus'"],
    ),
    (
        7,
        "alerts: merged into, notifications known, occurrences",
        # METRICS.md: a merged alert resolves with the alert it was merged into; notifications are
        # known where the source records them and the alert's log was read (PagerDuty; Opsgenie
        # with its logs, which leave events), else the interruption fallback applies; a provider
        # that folds repeats into one alert keeps their count as occurrences.
        [
            "ALTER TABLE alerts ADD COLUMN merged_into VARCHAR",
            "ALTER TABLE alerts ADD COLUMN notifications_known BOOLEAN",
            "ALTER TABLE alerts ADD COLUMN occurrences INTEGER",
            "UPDATE alerts SET notifications_known = true WHERE source IN ('pagerduty', 'demo')",
            """
            UPDATE alerts SET notifications_known = true
            WHERE source = 'opsgenie' AND EXISTS (
                SELECT 1 FROM events AS e WHERE e.source = alerts.source AND e.alert_source_id = alerts.source_id)
            """,
        ],
    ),
    (
        8,
        "alerts Alertmanager dropped from a webhook notification (truncatedAlerts, past max_alerts)",
        [
            """
            CREATE TABLE dropped_alerts (
                source          VARCHAR NOT NULL,
                notification_id VARCHAR NOT NULL,
                group_key       VARCHAR,
                first_alert_at  TIMESTAMPTZ,
                dropped         INTEGER NOT NULL,
                PRIMARY KEY (source, notification_id)
            )
            """,
        ],
    ),
    (
        9,
        "on-call shifts from schedules and rotas",
        # One row per piece of a shift within one UTC day: a sync replaces whole days of a
        # schedule with what the provider answers for them, so an override made later (or a
        # rota edited from today on) changes those days and no others.
        [
            """
            CREATE TABLE on_call_shifts (
                source           VARCHAR NOT NULL,
                schedule_id      VARCHAR NOT NULL,
                escalation_level INTEGER NOT NULL DEFAULT 1,
                person_id        VARCHAR NOT NULL,
                starts_at        TIMESTAMPTZ NOT NULL,
                ends_at          TIMESTAMPTZ NOT NULL,
                schedule         VARCHAR NOT NULL,
                team             VARCHAR,
                PRIMARY KEY (source, schedule_id, escalation_level, person_id, starts_at),
                CHECK (ends_at > starts_at)
            )
            """,
        ],
    ),
    (
        10,
        "the outcome where the team works: fixes marked done, tickets, chat posts",
        # METRICS.md, Did the fix work: a fix is a review, a fix marked done in the planner, or its
        # ticket closed. A ticket is found again by (system, signature), so a second run updates
        # it; its status is read back on each sync. A digest posted for a sprint is recorded so
        # the same sprint is posted once (team '' = all teams).
        [
            """
            CREATE TABLE fixes_done (
                signature VARCHAR NOT NULL,
                done_at   TIMESTAMPTZ NOT NULL,
                fix_kind  VARCHAR NOT NULL DEFAULT 'alert' CHECK (fix_kind IN ('alert', 'cause')),
                done_by   VARCHAR,
                note      VARCHAR,
                PRIMARY KEY (signature, done_at)
            )
            """,
            """
            CREATE TABLE tickets (
                system     VARCHAR NOT NULL CHECK (system IN ('jira', 'github')),
                signature  VARCHAR NOT NULL,
                ticket_key VARCHAR NOT NULL,
                url        VARCHAR,
                status     VARCHAR,
                done       BOOLEAN NOT NULL DEFAULT false,
                closed_at  TIMESTAMPTZ,
                opened_at  TIMESTAMPTZ NOT NULL,
                synced_at  TIMESTAMPTZ NOT NULL,
                PRIMARY KEY (system, signature)
            )
            """,
            """
            CREATE TABLE chat_posts (
                destination  VARCHAR NOT NULL CHECK (destination IN ('slack', 'teams', 'webhook')),
                team         VARCHAR NOT NULL,
                period_start TIMESTAMPTZ NOT NULL,
                period_end   TIMESTAMPTZ NOT NULL,
                posted_at    TIMESTAMPTZ NOT NULL,
                posts        INTEGER NOT NULL DEFAULT 1,
                PRIMARY KEY (destination, team, period_start, period_end)
            )
            """,
        ],
    ),
    (
        11,
        "alerts: silenced at (Grafana OnCall); OnCall acknowledge and resolve events keyed by their time",
        # METRICS.md, Silenced alert: silenced and not resolved is not open. Each acknowledgement
        # and resolve OnCall showed is kept as its own event, so one undone later is not lost.
        [
            "ALTER TABLE alerts ADD COLUMN silenced_at TIMESTAMPTZ",
            """
            UPDATE events SET event_id = event_id || '@' || epoch_us(occurred_at)
            WHERE source = 'oncall' AND type IN ('acknowledge', 'resolve') AND event_id NOT LIKE '%@%'
            """,
        ],
    ),
    (
        12,
        "fix estimates per kind of fix (alert fix or cause fix)",
        # An alert fix (tune, hold down, group, delete) and a cause fix (repair what keeps
        # firing) of one signature take different work, so each has its own estimate.
        # Estimates made before were for the only fix the planner offered then: an alert fix.
        [
            """
            CREATE TABLE fix_estimates_v6 (
                signature    VARCHAR NOT NULL,
                fix_kind     VARCHAR NOT NULL DEFAULT 'alert' CHECK (fix_kind IN ('alert', 'cause')),
                hours        DOUBLE NOT NULL CHECK (hours >= 0),
                note         VARCHAR,
                estimated_by VARCHAR,
                estimated_at TIMESTAMPTZ NOT NULL,
                PRIMARY KEY (signature, fix_kind)
            )
            """,
            """
            INSERT INTO fix_estimates_v6
            SELECT signature, 'alert', hours, note, estimated_by, estimated_at FROM fix_estimates
            """,
            "DROP TABLE fix_estimates",
            "ALTER TABLE fix_estimates_v6 RENAME TO fix_estimates",
        ],
    ),
    (
        13,
        "reviews: who owns the action a verdict calls for",
        ["ALTER TABLE reviews ADD COLUMN owner VARCHAR"],
    ),
]

LATEST_VERSION = MIGRATIONS[-1][0]

# Primary keys by table: the upsert path and the tests read them from here.
PRIMARY_KEYS: dict[str, tuple[str, ...]] = {
    "alerts": ("source", "source_id"),
    "notifications": ("source", "alert_source_id", "person_id", "channel", "notified_at"),
    "events": ("source", "event_id"),
    "people": ("source", "person_id"),
    "teams": ("source", "team_id"),
    "services": ("source", "service_id"),
    "reviews": ("review_id",),
    "fix_estimates": ("signature", "fix_kind"),
    "sync_state": ("source", "stream"),
    "ingest_runs": ("run_id",),
    "quarantine": ("source", "stream", "record_hash"),
    "runbook_links": ("signature",),
    "dropped_alerts": ("source", "notification_id"),
    "targets": ("team", "figure"),
    "on_call_shifts": ("source", "schedule_id", "escalation_level", "person_id", "starts_at"),
    "fixes_done": ("signature", "done_at"),
    "tickets": ("system", "signature"),
    "chat_posts": ("destination", "team", "period_start", "period_end"),
}
