"""Shared SQL: per-alert and per-interruption facts for a scope, and how queries are run."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Sequence
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

import settings as settings_module
import store
from metrics.period import Period
from settings import Hours, Settings

log = logging.getLogger(__name__)

PAGING_CHANNELS = ("phone", "sms", "push")
DEFAULT_KEY = "*"  # the team_config row for teams without settings of their own

# The facts every metric reads, as one SQL document of stages `name AS (SELECT ...)`, each
# reading the ones above it. `query` computes them once per connection, in order, into
# temporary tables of their names. The two that metrics aggregate:
#   alert_facts: one row per alert created in [$start, $end) for the team/service, tagged with
#     the bucket ($buckets: sorted starts of sprints or weeks) it falls in;
#   interruption_facts: one row per interruption of those alerts, in its person's local time;
#     `person_key` is the person whatever the source (METRICS.md, Person), `person_id` the id shown.
FACTS = """
buckets AS (
    SELECT unnest($buckets::TIMESTAMPTZ[]) AS bucket_start
),
in_period AS (
    SELECT source, source_id, title, signature, service, team, created_at,
           acknowledged_at, resolved_at, acknowledged_by, auto_resolved, runbook_url,
           merged_into, notifications_known, occurrences
    FROM alerts
    WHERE created_at >= $start AND created_at < $end
      AND ($team::VARCHAR IS NULL OR team = $team::VARCHAR)
      AND ($service::VARCHAR IS NULL OR service = $service::VARCHAR)
),
scope AS (
    SELECT p.*, b.bucket_start
    FROM in_period AS p
    ASOF JOIN buckets AS b ON p.created_at >= b.bucket_start
),
resolutions AS (
    SELECT signature, created_at, resolved_at
    FROM alerts
    WHERE resolved_at >= $start - to_seconds($flap_s) AND resolved_at < $end
      AND signature IN (SELECT signature FROM scope)
),
latest_resolution AS (
    SELECT s.source, s.source_id, s.created_at - r.resolved_at < to_seconds($flap_s) AS recent
    FROM scope AS s
    ASOF LEFT JOIN resolutions AS r
      ON s.signature = r.signature AND s.created_at > r.resolved_at
),
touching_resolution AS (
    SELECT DISTINCT s.source, s.source_id
    FROM scope AS s
    JOIN resolutions AS r
      ON r.signature = s.signature AND r.resolved_at = s.created_at AND r.created_at < s.created_at
),
signature_history AS (
    SELECT signature, min(created_at) AS first_seen
    FROM alerts
    WHERE created_at < $end AND signature IN (SELECT signature FROM scope)
    GROUP BY signature
),
source_history AS (
    SELECT source, min(created_at) AS history_from FROM alerts WHERE created_at < $end GROUP BY source
),
runbooks AS (  -- a link on one of the signature's alerts in the period, or one entered in the app
    SELECT DISTINCT signature FROM scope WHERE coalesce(runbook_url, '') <> ''
    UNION
    SELECT signature FROM runbook_links
),
signature_reviews AS (  -- a verdict holds from the start of the period its reviewer looked at
    SELECT * FROM (
        SELECT signature, verdict, note, reviewer, reviewed_at, review_id,
            least(reviewed_at, coalesce(period_start, reviewed_at)) AS in_force_from
        FROM reviews
        WHERE alert_source_id IS NULL AND signature IN (SELECT signature FROM scope)
    )
    QUALIFY row_number() OVER (  -- of two holding from the same moment, the later-given one
        PARTITION BY signature, in_force_from ORDER BY reviewed_at DESC, review_id DESC) = 1
),
alert_review AS (
    SELECT alert_source AS source, alert_source_id AS source_id, verdict FROM reviews
    WHERE alert_source_id IS NOT NULL
    QUALIFY row_number() OVER (
        PARTITION BY alert_source, alert_source_id ORDER BY reviewed_at DESC, review_id DESC) = 1
),
verdict_in_force AS (  -- the signature verdict holding latest at or before the alert's creation
    SELECT s.source, s.source_id, r.verdict
    FROM scope AS s
    ASOF JOIN signature_reviews AS r ON s.signature = r.signature AND s.created_at >= r.in_force_from
),
signature_verdict AS (  -- each signature's verdict in force at the end of the period, with its note
    SELECT signature, verdict, note, reviewer, reviewed_at
    FROM signature_reviews
    WHERE in_force_from < $end
    QUALIFY row_number() OVER (PARTITION BY signature ORDER BY in_force_from DESC, reviewed_at DESC, review_id DESC) = 1
),
alert_facts AS (
    SELECT s.*,
        epoch(s.acknowledged_at - s.created_at) AS tta_s,
        epoch(s.resolved_at - s.created_at) AS ttr_s,
        s.resolved_at IS NOT NULL AND s.acknowledged_at IS NULL AS is_unacknowledged,
        s.resolved_at IS NOT NULL AND s.acknowledged_at IS NULL AND s.merged_into IS NULL
            AND s.resolved_at - s.created_at <= to_seconds($transient_s) AS is_transient,
        coalesce(lr.recent, false) OR tr.source_id IS NOT NULL AS is_flap,
        g.first_seen,
        CASE WHEN g.first_seen < s.bucket_start THEN false
             WHEN sh.history_from > s.bucket_start - to_days($lookback_days) THEN NULL
             ELSE true END AS is_new,
        -- a merged alert is a duplicate unless a person reviewed it otherwise (METRICS.md, Merged alert)
        coalesce(ar.verdict, CASE WHEN s.merged_into IS NOT NULL THEN 'duplicate' END, vf.verdict) AS verdict,
        rb.signature IS NOT NULL AS has_runbook,
        least(greatest(epoch(s.resolved_at - s.acknowledged_at), 0), $ack_cap_s) AS ack_to_resolve_s
    FROM scope AS s
    LEFT JOIN latest_resolution AS lr USING (source, source_id)
    LEFT JOIN touching_resolution AS tr USING (source, source_id)
    LEFT JOIN signature_history AS g ON g.signature = s.signature
    LEFT JOIN source_history AS sh ON sh.source = s.source
    LEFT JOIN alert_review AS ar USING (source, source_id)
    LEFT JOIN verdict_in_force AS vf USING (source, source_id)
    LEFT JOIN runbooks AS rb ON rb.signature = s.signature
),
notified AS (
    SELECT n.source, n.alert_source_id AS source_id, n.person_id, n.channel, n.notified_at
    FROM notifications AS n
    SEMI JOIN scope AS s ON n.source = s.source AND n.alert_source_id = s.source_id
    WHERE n.notified_at >= $start - INTERVAL 1 DAY  -- no page precedes its alert (a day for clock skew)
),
paged AS (
    SELECT source, source_id, source AS person_source, person_id, min(notified_at) AS paged_at, false AS fallback
    FROM notified
    WHERE list_contains($paging_channels::VARCHAR[], channel)
    GROUP BY source, source_id, person_id
),
channels_read AS (  -- per alert with notifications: were they all of a channel that could not be read?
    SELECT source, source_id, bool_and(channel = 'other') AS all_unreadable
    FROM notified GROUP BY source, source_id
),
unnotified AS (  -- notifications unknown (METRICS.md, Interruption): the fallback applies
    SELECT s.source, s.source_id, s.team, s.created_at, s.acknowledged_by
    FROM scope AS s
    LEFT JOIN channels_read AS c USING (source, source_id)
    WHERE CASE WHEN c.source_id IS NULL THEN NOT coalesce(s.notifications_known, false)
               ELSE c.all_unreadable END
),
rota_paged AS (  -- no notifications and no acknowledger: whoever was on call (level 1) for the alert's team
    SELECT u.source, u.source_id, min_by(c.source, [epoch(c.starts_at)::VARCHAR, c.person_id]) AS person_source,
        min_by(c.person_id, [epoch(c.starts_at)::VARCHAR, c.person_id]) AS person_id
    FROM unnotified AS u
    JOIN on_call_shifts AS c ON c.team = u.team AND c.escalation_level = 1
     AND u.created_at >= c.starts_at AND u.created_at < c.ends_at
    WHERE u.acknowledged_by IS NULL
    GROUP BY u.source, u.source_id
),
fallback_paged AS (
    SELECT u.source, u.source_id, coalesce(r.person_source, u.source) AS person_source,
        coalesce(u.acknowledged_by, r.person_id, 'unknown') AS person_id, u.created_at AS paged_at, true AS fallback
    FROM unnotified AS u
    LEFT JOIN rota_paged AS r USING (source, source_id)
),
people_keyed AS (  -- METRICS.md, Person: one human across sources, by e-mail, else full name
    SELECT source, person_id, nullif(trim(name), '') AS name, team,
        CASE WHEN time_zone IN (SELECT name FROM pg_timezone_names()) THEN time_zone END AS time_zone,
        nullif(lower(trim(email)), '') AS email_key,
        nullif(lower(regexp_replace(trim(name), '[[:space:]]+', ' ', 'g')), '') AS name_key
    FROM people
),
named_emails AS (  -- a full name whose people with an e-mail all share that one e-mail
    SELECT name_key, min(email_key) AS email_key
    FROM people_keyed WHERE name_key IS NOT NULL AND email_key IS NOT NULL
    GROUP BY name_key HAVING count(DISTINCT email_key) = 1
),
persons AS (  -- each people row with its person key (on-call figures read these too)
    SELECT k.*, coalesce('email:' || coalesce(k.email_key, n.email_key), 'name:' || k.name_key,
                         'id:' || k.source || ':' || k.person_id) AS person_key
    FROM people_keyed AS k LEFT JOIN named_emails AS n USING (name_key)
),
person_groups AS (  -- a person's shown source and id, name (one that is not an e-mail first), time zone, team
    SELECT person_key, min(source) AS person_source,
        arg_min(person_id, [source, person_id]) AS person_id,
        arg_min(name, [contains(name, '@')::INT::VARCHAR, source, person_id]) FILTER (WHERE name IS NOT NULL) AS name,
        arg_min(time_zone, [source, person_id]) FILTER (WHERE time_zone IS NOT NULL) AS time_zone,
        arg_min(team, [source, person_id]) FILTER (WHERE team IS NOT NULL) AS team
    FROM persons GROUP BY person_key
),
person_aliases AS (  -- e-mails and full names that name exactly one person
    SELECT alias, min(person_key) AS person_key
    FROM (SELECT email_key AS alias, person_key FROM persons WHERE email_key IS NOT NULL
          UNION ALL SELECT name_key, person_key FROM persons WHERE name_key IS NOT NULL)
    GROUP BY alias HAVING count(DISTINCT person_key) = 1
),
interrupted AS (  -- who each interruption went to, as one person whatever the source
    SELECT r.*, coalesce(p.person_key, a.person_key,  -- a person's id, else an e-mail or name given for one
            CASE WHEN r.person_id = 'unknown' THEN 'unknown'
                 WHEN r.person_id LIKE '%@%' THEN 'email:' || lower(r.person_id)
                 ELSE 'id:' || r.person_source || ':' || r.person_id END) AS person_key
    FROM (SELECT * FROM paged UNION ALL BY NAME SELECT * FROM fallback_paged) AS r
    LEFT JOIN persons AS p ON p.source = r.person_source AND p.person_id = r.person_id
    LEFT JOIN person_aliases AS a
      ON p.person_key IS NULL AND a.alias = lower(regexp_replace(trim(r.person_id), '[[:space:]]+', ' ', 'g'))
),
placed AS (
    SELECT i.* REPLACE (coalesce(g.person_source, i.person_source) AS person_source,
                        coalesce(g.person_id, i.person_id) AS person_id),
        s.team, s.signature, s.bucket_start, coalesce(g.name, g.person_id, i.person_id) AS person_name,
        coalesce(tp.key, ta.key, $default_key) AS cfg_key, g.time_zone AS person_tz
    FROM interrupted AS i
    JOIN scope AS s USING (source, source_id)
    LEFT JOIN person_groups AS g USING (person_key)
    LEFT JOIN team_config AS tp ON tp.key = g.team
    LEFT JOIN team_config AS ta ON ta.key = s.team
),
localized AS (
    SELECT pl.*, c.business_start, c.business_end, c.sleep_start, c.sleep_end, c.working_days,
        coalesce(pl.person_tz, c.time_zone) AS time_zone,
        timezone(coalesce(pl.person_tz, c.time_zone), pl.paged_at) AS local_at
    FROM placed AS pl
    JOIN team_config AS c ON c.key = pl.cfg_key
),
classified AS (
    SELECT l.*,
        CASE WHEN l.sleep_start > l.sleep_end
             THEN l.local_at::TIME >= l.sleep_start OR l.local_at::TIME < l.sleep_end
             ELSE l.local_at::TIME >= l.sleep_start AND l.local_at::TIME < l.sleep_end END AS in_sleep,
        list_contains(l.working_days, isodow(l.local_at) - 1) AND h.day IS NULL AS working_day
    FROM localized AS l
    LEFT JOIN team_holidays AS h ON h.key = l.cfg_key AND h.day = l.local_at::DATE
),
bucketed AS (
    SELECT source, source_id, person_source, person_id, person_key, person_name, paged_at, fallback, team, signature,
        bucket_start,
        time_zone, local_at,
        CASE WHEN in_sleep THEN 'sleep'
             WHEN working_day AND local_at::TIME >= business_start AND local_at::TIME < business_end
             THEN 'business'
             ELSE 'off' END AS time_bucket,
        local_at::DATE AS local_day,
        (local_at - INTERVAL 12 HOUR)::DATE AS night
    FROM classified
),
interruption_facts AS (
    SELECT *,
        CASE time_bucket WHEN 'sleep' THEN $cost_sleep_min
                         WHEN 'business' THEN $cost_business_min
                         ELSE $cost_off_min END / 60.0 AS cost_h
    FROM bucketed
)
"""


def resolve(settings: Settings | None) -> Settings:
    """The given settings, else those of ./alerthygiene.toml (or the defaults)."""
    return settings if settings is not None else settings_module.load()


_PARAM = re.compile(r"\$([A-Za-z_]\w*)")


_STAGE = re.compile(r"^([a-z_]+) AS \((.*?)^\),?\s*$", re.M | re.S)


def parse_stages(document: str) -> list[tuple[str, str]]:
    """A document of stages `name AS (SELECT ...)` as (name, SELECT) pairs, in order."""
    return [(m[1], m[2].strip()) for m in _STAGE.finditer(document)]


# FACTS as (name, SELECT) stages in order; each later stage may read the earlier ones.
STAGES: list[tuple[str, str]] = parse_stages(FACTS)


def over_facts(body: str) -> str:
    """A statement over the fact relations: `body` is a SELECT, or comma-led CTEs then a SELECT."""
    text = body.strip()
    return "WITH " + text[1:].lstrip() if text.startswith(",") else text


def materialize(con: duckdb.DuckDBPyConnection, values: dict[str, Any],
                stages: Sequence[tuple[str, str]] = STAGES) -> None:
    """Compute every fact stage once, in order, into a temporary table of its name."""
    for name, select in stages:
        run(con, f"CREATE OR REPLACE TEMP TABLE {name} AS {select}", values, fetch=False)


def params(
    settings: Settings,
    period: Period,
    team: str | None = None,
    service: str | None = None,
    buckets: Sequence[dt.datetime] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Every named parameter a metric statement may use; `run` binds the ones it does."""
    t = settings.thresholds
    return {
        "start": period.start,
        "end": period.end,
        "buckets": list(buckets or [period.start]),
        "team": team,
        "service": service,
        "flap_s": t.flap_s,
        "transient_s": t.transient_s,
        "lookback_days": t.novelty_lookback_days,
        "ack_cap_s": t.ack_to_resolve_cap_s,
        "grouping_s": t.grouping_window_s,
        "cost_business_min": float(settings.cost.business_minutes),
        "cost_off_min": float(settings.cost.off_minutes),
        "cost_sleep_min": float(settings.cost.sleep_minutes),
        "tz": settings.default_time_zone,
        "default_key": DEFAULT_KEY,
        "paging_channels": list(PAGING_CHANNELS),
        **extra,
    }


def run(con: duckdb.DuckDBPyConnection, sql: str, values: dict[str, Any], fetch: bool = True):
    """Execute `sql` binding only the named parameters it mentions; its result as a DataFrame."""
    used = {name: values[name] for name in set(_PARAM.findall(sql))}
    cursor = con.execute(sql, used)
    return cursor.df() if fetch else None


def _hours_row(key: str, time_zone: str, hours: Hours) -> dict[str, Any]:
    return {
        "key": key,
        "time_zone": time_zone,
        "business_start": hours.business_start,
        "business_end": hours.business_end,
        "sleep_start": hours.sleep_start,
        "sleep_end": hours.sleep_end,
        "working_days": list(hours.working_days),
        "holidays": hours.holidays,
    }


def team_config(settings: Settings) -> list[dict[str, Any]]:
    """One row per configured team plus the default row, with each one's zone and hours."""
    rows = [_hours_row(DEFAULT_KEY, settings.default_time_zone, settings.hours)]
    for name in settings.teams:
        rows.append(_hours_row(name, settings.team_time_zone(name), settings.team_hours(name)))
    return rows


_CONFIG_SCHEMA = pa.schema(
    [
        ("key", pa.string()),
        ("time_zone", pa.string()),
        ("business_start", pa.time64("us")),
        ("business_end", pa.time64("us")),
        ("sleep_start", pa.time64("us")),
        ("sleep_end", pa.time64("us")),
        ("working_days", pa.list_(pa.int32())),
    ]
)
_HOLIDAY_SCHEMA = pa.schema([("key", pa.string()), ("day", pa.date32()), ("name", pa.string())])


def holiday_rows(config: list[dict[str, Any]], years: range) -> list[dict[str, Any]]:
    """Holiday dates per team_config key from the `holidays` package's country calendars."""
    rows = []
    for row in config:
        if not row["holidays"]:
            continue
        import holidays  # slow to import; only needed when a calendar is configured

        calendar = holidays.country_holidays(row["holidays"], years=list(years))
        rows += [{"key": row["key"], "day": day, "name": name} for day, name in sorted(calendar.items())]
    return rows


def register_calendars(con: duckdb.DuckDBPyConnection, settings: Settings, years: range) -> None:
    """Register team_config and team_holidays (built in Python) for the fact CTEs."""
    config = team_config(settings)
    columns = {name: [row[name] for row in config] for name in _CONFIG_SCHEMA.names}
    con.register("team_config", pa.Table.from_pydict(columns, schema=_CONFIG_SCHEMA))
    days = holiday_rows(config, years)
    holiday_columns = {name: [row[name] for row in days] for name in _HOLIDAY_SCHEMA.names}
    con.register("team_holidays", pa.Table.from_pydict(holiday_columns, schema=_HOLIDAY_SCHEMA))


def years_of(period: Period) -> range:
    """Calendar years a period's local dates can fall in (a day of margin each side)."""
    return range(period.start.year - 1, period.end.year + 2)


def query(
    db: str | None,
    settings: Settings,
    period: Period,
    statements: dict[str, str],
    values: dict[str, Any],
    with_facts: bool = True,
    stages: Sequence[tuple[str, str]] = (),
) -> dict[str, pd.DataFrame]:
    """Run named statements on one short-lived read connection, the facts (and then `stages`, more
    stages over them such as the on-call ones) computed once."""
    with store.reading(db) as con:
        con.execute("SET TimeZone = 'UTC'")
        if with_facts:
            register_calendars(con, settings, years_of(period))
            materialize(con, values)
            materialize(con, values, stages)
        results = {}
        for name, sql in statements.items():
            log.debug("running %s", name)
            results[name] = run(con, sql, values)
        return results


def query_one(
    db: str | None,
    settings: Settings,
    period: Period,
    sql: str,
    values: dict[str, Any],
    with_facts: bool = True,
) -> pd.DataFrame:
    """Run one statement as `query` does; its result."""
    return query(db, settings, period, {"result": sql}, values, with_facts)["result"]
