"""The facts every figure is counted from: one row per alert and one per interruption, for a scope."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import duckdb

import store
from metrics.period import Period
from metrics.registry import PARAMETERS, Stages, stages
from settings import Hours, Settings

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

PAGING_CHANNELS = ("phone", "sms", "push")
DEFAULT_KEY = "*"  # the team_config row for teams without settings of their own

# A signature's verdicts, each holding from the start of the period its reviewer looked at; of two
# holding from the same moment, the later-given one. `{alerts}` names the alerts whose signatures count.
SIGNATURE_REVIEWS = """signature_reviews AS (
    SELECT * FROM (
        SELECT signature, verdict, note, reviewer, reviewed_at, review_id,
            least(reviewed_at, coalesce(period_start, reviewed_at)) AS in_force_from
        FROM reviews
        WHERE alert_source_id IS NULL AND signature IN (SELECT signature FROM {alerts})
    )
    QUALIFY row_number() OVER (
        PARTITION BY signature, in_force_from ORDER BY reviewed_at DESC, review_id DESC) = 1
)"""

# Durations are worked out on epoch_us, not as INTERVALs: interval arithmetic costs ten times more.

# The alerts of a scope: created in [$start, $end), of the team, service and signature when given.
IN_SCOPE = """created_at >= $start AND created_at < $end
  AND ($team::VARCHAR IS NULL OR team = $team::VARCHAR)
  AND ($service::VARCHAR IS NULL OR service = $service::VARCHAR)
  AND ($signature::VARCHAR IS NULL OR signature = $signature::VARCHAR)"""

# alert_facts: one row per alert created in [$start, $end) for the team/service/signature, tagged
# with the bucket ($buckets: sorted starts of sprints, weeks or periods) it falls in. `id` is the
# alert's row in the table: every join back to an alert is on it, never on (source, source_id).
# Each stage reads as few columns as it needs, so only in_period is as wide as an alert.
ALERT_FACTS = """
WITH in_period AS NOT MATERIALIZED (
    SELECT rowid AS id, source, source_id, title, signature, service, team, created_at,
        acknowledged_at, resolved_at, acknowledged_by, auto_resolved, merged_into, merged_into IS NOT NULL AS is_merged,
        notifications_known, occurrences, coalesce(runbook_url, '') <> '' AS links_runbook,
        {bucket_start} AS bucket_start
    FROM alerts
    WHERE {in_scope}
),
signature_ids AS (  -- the scope's signatures numbered: the flap search sorts numbers, not text
    SELECT signature, (row_number() OVER ())::INTEGER AS sig FROM (SELECT DISTINCT signature FROM in_period)
),
keys AS (SELECT p.id, s.sig, p.created_at FROM in_period AS p JOIN signature_ids AS s USING (signature)),
resolutions AS (  -- of the scope's signatures, resolved in time to make one of its alerts a flap
    SELECT s.sig, a.created_at, a.resolved_at
    FROM alerts AS a JOIN signature_ids AS s USING (signature)
    WHERE a.resolved_at >= $start - to_seconds($flap_s) AND a.resolved_at < $end
),
flaps AS (  -- an earlier alert of the signature resolved less than $flap_s before the alert's creation, or at
    -- that very moment (of an alert created before it): one ASOF join finds both, the latest resolution ordered
    -- before the creation, where a resolution at the moment of a creation comes before it if its alert was
    -- created earlier, else after (`turn`; a hash join for the second case held 70 MiB more for 1M alerts)
    SELECT k.id,
        coalesce(epoch_us(k.created_at) - epoch_us(r.resolved_at) < $flap_s * 1e6 OR r.resolved_at = k.created_at,
                 false) AS is_flap
    FROM (SELECT id, sig, created_at, epoch_us(created_at) * 4 + 1 AS turn FROM keys) AS k
    ASOF LEFT JOIN (
        SELECT sig, resolved_at, epoch_us(resolved_at) * 4 + CASE WHEN created_at < resolved_at THEN 0 ELSE 2 END AS turn
        FROM resolutions
    ) AS r ON k.sig = r.sig AND k.turn > r.turn
),
signature_history AS (
    SELECT signature, min(created_at) AS first_seen
    FROM alerts
    WHERE created_at < $end AND signature IN (SELECT signature FROM in_period)
    GROUP BY signature
),
runbooks AS (  -- a link on one of the signature's alerts in the bucket, or one entered in the app
    SELECT DISTINCT signature, bucket_start FROM in_period WHERE links_runbook
),
{signature_reviews},
alert_review AS (  -- a verdict on one alert overrides its signature's
    SELECT p.id, r.verdict
    FROM (
        SELECT alert_source, alert_source_id, verdict FROM reviews
        WHERE alert_source_id IS NOT NULL
        QUALIFY row_number() OVER (
            PARTITION BY alert_source, alert_source_id ORDER BY reviewed_at DESC, review_id DESC) = 1
    ) AS r
    JOIN in_period AS p ON p.source = r.alert_source AND p.source_id = r.alert_source_id
),
verdict_in_force AS (  -- the signature verdict holding latest at or before the alert's creation
    SELECT k.id, r.verdict
    FROM (SELECT id, signature, created_at FROM in_period
          WHERE signature IN (SELECT signature FROM signature_reviews)) AS k
    ASOF JOIN signature_reviews AS r ON k.signature = r.signature AND k.created_at >= r.in_force_from
)
SELECT s.*,
    (epoch_us(s.acknowledged_at) - epoch_us(s.created_at)) / 1e6 AS tta_s,
    (epoch_us(s.resolved_at) - epoch_us(s.created_at)) / 1e6 AS ttr_s,
    s.resolved_at IS NOT NULL AND s.acknowledged_at IS NULL AS is_unacknowledged,
    s.resolved_at IS NOT NULL AND s.acknowledged_at IS NULL AND NOT s.is_merged
        AND epoch_us(s.resolved_at) - epoch_us(s.created_at) <= $transient_s * 1e6 AS is_transient,
    f.is_flap,
    g.first_seen,
    sh.history_from,
    {is_new} AS is_new,
    -- a merged alert is a duplicate unless a person reviewed it otherwise (METRICS.md, Merged alert)
    coalesce(ar.verdict, CASE WHEN s.is_merged THEN 'duplicate' END, vf.verdict) AS verdict,
    {has_runbook} AS has_runbook,
    least(greatest((epoch_us(s.resolved_at) - epoch_us(s.acknowledged_at)) / 1e6, 0), $ack_cap_s) AS ack_to_resolve_s
FROM in_period AS s
JOIN flaps AS f USING (id)
LEFT JOIN signature_history AS g ON g.signature = s.signature
LEFT JOIN source_history AS sh ON sh.source = s.source  -- a temp table: see source_history below
LEFT JOIN alert_review AS ar USING (id)
LEFT JOIN verdict_in_force AS vf USING (id)
LEFT JOIN runbooks AS rb ON rb.signature = s.signature AND rb.bucket_start = s.bucket_start
"""

# The columns that depend on the buckets: its bucket, new in it, a runbook in it (a link on one of
# the signature's alerts in the bucket, or one entered in the app).
BUCKET_START = """CASE WHEN len($buckets::TIMESTAMPTZ[]) = 1 THEN ($buckets::TIMESTAMPTZ[])[1]
             ELSE list_filter($buckets::TIMESTAMPTZ[], lambda b: b <= created_at)[-1] END"""
IS_NEW = """CASE WHEN {first_seen} < s.bucket_start THEN false
         WHEN epoch_us({history_from}) > epoch_us(s.bucket_start) - $lookback_days * 86400e6 THEN NULL
         ELSE true END"""
HAS_RUNBOOK = "rb.signature IS NOT NULL OR s.signature IN (SELECT signature FROM runbook_links)"

ALERT_FACTS = (ALERT_FACTS.replace("{in_scope}", IN_SCOPE).replace("{signature_reviews}", SIGNATURE_REVIEWS.format(alerts="in_period"))
               .replace("{bucket_start}", BUCKET_START).replace("{is_new}", IS_NEW.format(first_seen="g.first_seen", history_from="sh.history_from"))
               .replace("{has_runbook}", HAS_RUNBOOK))

# The scope's alerts are read by eight stages. For one team, service or signature they are a small
# part of the table, kept once rather than filtered out of every alert eight times (team3's year of
# 1M alerts: a third less work on one thread); for all of them a copy costs more than scans of the
# table (0.5 GB and 30 % more time at 1M alerts), so each stage reads the table.
ALERT_FACTS_OF_A_PART = ALERT_FACTS.replace("WITH in_period AS NOT MATERIALIZED (", "WITH in_period AS MATERIALIZED (", 1)
if ALERT_FACTS_OF_A_PART == ALERT_FACTS:
    raise RuntimeError("the alert facts' first stage is no longer in_period")


def alert_facts_sql(values: dict[str, Any]) -> str:
    """The statement of the alert facts for the scope in `values`."""
    part = any(values[name] is not None for name in ("team", "service", "signature"))
    return ALERT_FACTS_OF_A_PART if part else ALERT_FACTS


# The facts of one frame (a list of buckets) from those computed once, with a single bucket, for the
# span of every frame a read needs (base_alert_facts): only the bucket columns are worked out again.
# Every other column is the alert's own whatever the span (its first sighting and its source's
# history are of the time before it, its flap of the flap window before it). Only those columns are
# stored per frame (frame_columns), and the frame's facts are a view of the base with them: a copy
# of every alert's facts per frame held two copies of them at once (0.3 GB more for the 1M year of
# all teams).
FRAME_COLUMNS = f"""
WITH framed AS (
    SELECT id, signature, links_runbook, first_seen, history_from, {BUCKET_START} AS bucket_start
    FROM base_alert_facts
    WHERE created_at >= $start AND created_at < $end
),
runbooks AS (SELECT DISTINCT signature, bucket_start FROM framed WHERE links_runbook)
SELECT s.id, s.bucket_start, {IS_NEW.format(first_seen="s.first_seen", history_from="s.history_from")} AS is_new,
    {HAS_RUNBOOK} AS has_runbook
FROM framed AS s
LEFT JOIN runbooks AS rb ON rb.signature = s.signature AND rb.bucket_start = s.bucket_start
"""  # noqa: S608 - constants of this module

FRAME_FACTS = """
SELECT b.* REPLACE (f.bucket_start AS bucket_start, f.is_new AS is_new, f.has_runbook AS has_runbook)
FROM base_alert_facts AS b JOIN frame_columns AS f USING (id)
"""

# An interruption is in its alert's bucket.
FRAME_INTERRUPTIONS = """
SELECT i.* REPLACE (f.bucket_start AS bucket_start)
FROM base_interruption_facts AS i JOIN frame_columns AS f USING (id)
"""

# The verdicts of the scope's signatures, for the statements that need more than each alert's
# verdict in force (the noisy ranking's verdict and note, the planner's decisions).
stages(
    Stages(
        "verdicts",
        SIGNATURE_REVIEWS.format(alerts="alert_facts")  # noqa: S608 - constants of this module
        + """,
alert_review AS (  -- the last verdict on each one alert
    SELECT alert_source AS source, alert_source_id AS source_id, verdict FROM reviews
    WHERE alert_source_id IS NOT NULL
    QUALIFY row_number() OVER (
        PARTITION BY alert_source, alert_source_id ORDER BY reviewed_at DESC, review_id DESC) = 1
),
signature_verdict AS (  -- each signature's verdict in force at the end of the period, with its note
    SELECT signature, verdict, note, reviewer, reviewed_at
    FROM signature_reviews
    WHERE in_force_from < $end
    QUALIFY row_number() OVER (
        PARTITION BY signature ORDER BY in_force_from DESC, reviewed_at DESC, review_id DESC) = 1
)
""",
    )
)

# METRICS.md, Person: one human across sources, by e-mail, else full name. Stages over `people`
# only (small), computed before the interruption facts; the on-call figures read them too.
PEOPLE = """
people_keyed AS (
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
persons AS (  -- each people row with its person key
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
)
"""

# interruption_facts: one row per interruption of the alerts in alert_facts, in its person's local
# time; `person_key` is the person whatever the source, `person_id` the id shown. The
# notifications are matched to their alert once; everything after joins on its id.
INTERRUPTION_FACTS = """
WITH notified AS (  -- each notification with what the facts need of its alert
    SELECT f.id, n.person_id, n.channel, n.notified_at
    FROM notifications AS n
    JOIN alert_facts AS f ON f.source = n.source AND f.source_id = n.alert_source_id
    -- no page precedes its alert (by a day at most: clock skew); the first bound lets the scan skip
    WHERE n.notified_at >= $start - INTERVAL 1 DAY
      AND epoch_us(n.notified_at) >= epoch_us(f.created_at) - 86400e6
),
paged AS (  -- the first page of each person notified by a paging channel; the alert's columns are
            -- joined after grouping on its id (carrying them through the group cost more)
    SELECT p.id, f.source AS person_source, p.person_id, p.paged_at, false AS fallback,
        f.source, f.source_id, f.team, f.signature, f.bucket_start
    FROM (SELECT id, person_id, min(notified_at) AS paged_at
          FROM notified
          WHERE list_contains($paging_channels::VARCHAR[], channel)
          GROUP BY id, person_id) AS p
    JOIN alert_facts AS f USING (id)
),
channels_read AS (  -- per alert with notifications: were they all of a channel that could not be read?
    SELECT id, bool_and(channel = 'other') AS all_unreadable FROM notified GROUP BY id
),
unnotified AS (  -- notifications unknown (METRICS.md, Interruption): the fallback applies
    SELECT s.id, s.source, s.source_id, s.team, s.signature, s.bucket_start, s.created_at, s.acknowledged_by
    FROM alert_facts AS s
    LEFT JOIN channels_read AS c USING (id)
    WHERE CASE WHEN c.id IS NULL THEN NOT coalesce(s.notifications_known, false) ELSE c.all_unreadable END
),
rota_paged AS (  -- no notifications and no acknowledger: whoever was on call (level 1) for the alert's team
    SELECT u.id, min_by(c.source, [epoch(c.starts_at)::VARCHAR, c.person_id]) AS person_source,
        min_by(c.person_id, [epoch(c.starts_at)::VARCHAR, c.person_id]) AS person_id
    FROM unnotified AS u
    JOIN on_call_shifts AS c ON c.team = u.team AND c.escalation_level = 1
     AND u.created_at >= c.starts_at AND u.created_at < c.ends_at
    WHERE u.acknowledged_by IS NULL
    GROUP BY u.id
),
fallback_paged AS (
    SELECT u.id, coalesce(r.person_source, u.source) AS person_source,
        coalesce(u.acknowledged_by, r.person_id, 'unknown') AS person_id, u.created_at AS paged_at,
        true AS fallback, u.source, u.source_id, u.team, u.signature, u.bucket_start
    FROM unnotified AS u
    LEFT JOIN rota_paged AS r USING (id)
),
interrupted AS (  -- who each interruption went to, as one person whatever the source
    SELECT r.*, coalesce(p.person_key, a.person_key,  -- a person's id, else an e-mail or name given for one
            CASE WHEN r.person_id = 'unknown' THEN 'unknown'
                 WHEN r.person_id LIKE '%@%' THEN 'email:' || lower(r.person_id)
                 ELSE 'id:' || r.person_source || ':' || r.person_id END) AS person_key
    FROM (SELECT * FROM paged UNION ALL BY NAME SELECT * FROM fallback_paged) AS r
    LEFT JOIN persons AS p ON p.source = r.person_source AND p.person_id = r.person_id
    LEFT JOIN person_aliases AS a  -- normalized (a regexp) only where the id named no person
      ON a.alias = CASE WHEN p.person_key IS NULL
                        THEN lower(regexp_replace(trim(r.person_id), '[[:space:]]+', ' ', 'g')) END
),
placed AS (
    SELECT i.* REPLACE (coalesce(g.person_source, i.person_source) AS person_source,
                        coalesce(g.person_id, i.person_id) AS person_id),
        coalesce(g.name, g.person_id, i.person_id) AS person_name,
        coalesce(tp.key, ta.key, $default_key) AS cfg_key, g.time_zone AS person_tz
    FROM interrupted AS i
    LEFT JOIN person_groups AS g USING (person_key)
    LEFT JOIN team_config AS tp ON tp.key = g.team
    LEFT JOIN team_config AS ta ON ta.key = i.team
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
    SELECT id, source, source_id, person_source, person_id, person_key, person_name, paged_at, fallback, team,
        signature, bucket_start, time_zone, local_at,
        CASE WHEN in_sleep THEN 'sleep'
             WHEN working_day AND local_at::TIME >= business_start AND local_at::TIME < business_end
             THEN 'business'
             ELSE 'off' END AS time_bucket,
        local_at::DATE AS local_day,
        (local_at - INTERVAL 12 HOUR)::DATE AS night
    FROM classified
)
SELECT *,
    CASE time_bucket WHEN 'sleep' THEN $cost_sleep_min
                     WHEN 'business' THEN $cost_business_min
                     ELSE $cost_off_min END / 60.0 AS cost_h
FROM bucketed
"""

_PARAM = re.compile(r"\$([A-Za-z_]\w*)")


def params(
    settings: Settings,
    period: Period,
    team: str | None = None,
    service: str | None = None,
    buckets: Sequence[dt.datetime] | None = None,
    signature: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Every named parameter a statement may use; `run` binds the ones it does."""
    t = settings.thresholds
    provided = {name: value for provider in PARAMETERS for name, value in provider(settings).items()}
    return {
        **provided,
        "start": period.start,
        "end": period.end,
        "buckets": list(buckets or [period.start]),
        "team": team,
        "service": service,
        "signature": signature,
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


def bound(sql: str, values: dict[str, Any]) -> dict[str, Any]:
    """The named parameters `sql` mentions, with their values."""
    return {name: values[name] for name in set(_PARAM.findall(sql))}


def run(con: duckdb.DuckDBPyConnection, sql: str, values: dict[str, Any]) -> pa.Table:
    """Execute `sql` binding only the named parameters it mentions; its result as an Arrow table."""
    return con.sql(sql, params=bound(sql, values)).to_arrow_table()


_NUMBERS = re.compile(r"DECIMAL\(.*\)|U?HUGEINT")


def rows(con: duckdb.DuckDBPyConnection, sql: str, values: dict[str, Any]) -> list[dict[str, Any]]:
    """Execute `sql` as `run` does; its result as plain rows, the values `metrics.read.records` gives
    for the Arrow table (128-bit integers and decimals as floats, moments with a zone in UTC), without
    loading Arrow: the command-line report never imports it (0.2-0.3 s of a run)."""
    cursor = con.execute(sql, bound(sql, values))
    names = [column[0] for column in cursor.description]
    kinds = [str(column[1]) for column in cursor.description]
    numbers = [name for name, kind in zip(names, kinds, strict=True) if _NUMBERS.fullmatch(kind)]
    zoned = [name for name, kind in zip(names, kinds, strict=True) if kind == "TIMESTAMP WITH TIME ZONE"]
    result = [dict(zip(names, record, strict=True)) for record in cursor.fetchall()]
    for row in result if numbers or zoned else ():
        for name in numbers:
            if row[name] is not None:
                row[name] = float(row[name])
        for name in zoned:
            if row[name] is not None:
                row[name] = row[name].astimezone(dt.UTC)
    return result


# METRICS.md, New signature: whether an alert's source has history reaching back the lookback before
# its bucket depends on the source's first alert. Asked per source as the first alert in time order,
# which DuckDB answers from the first row groups holding that source when the file is kept in time
# order; a min() per source over every alert read the whole history (0.1-0.2 s at 10M alerts).
_SCOPE_SOURCES = f"SELECT DISTINCT source FROM alerts WHERE {IN_SCOPE}"  # noqa: S608 - constants
_SOURCE_FIRST = """SELECT created_at FROM alerts WHERE source = $source AND created_at < $end
ORDER BY created_at LIMIT 1"""
_SOURCE_HISTORY = """CREATE OR REPLACE TEMP TABLE source_history AS
SELECT unnest($rows::STRUCT(source VARCHAR, history_from TIMESTAMPTZ)[], recursive := true)"""


def source_history(con: duckdb.DuckDBPyConnection, values: dict[str, Any]) -> None:
    """Table source_history: for each source of the scope's alerts, its first alert before $end."""
    rows = []
    for (source,) in con.execute(_SCOPE_SOURCES, bound(_SCOPE_SOURCES, values)).fetchall():
        first = con.execute(_SOURCE_FIRST, {"source": source, "end": values["end"]}).fetchone()
        rows.append({"source": source, "history_from": first[0]})
    con.execute(_SOURCE_HISTORY, {"rows": rows})


def materialize(con: duckdb.DuckDBPyConnection, values: dict[str, Any], interruptions: bool,
                into: str = "all", keep: bool = False) -> str:
    """Compute the alert facts (and, when asked, the interruption facts) once, into tables
    `{prefix}_alert_facts` and `{prefix}_interruption_facts`; the prefix returned is `into`, or,
    with `keep`, that of the facts kept for the run's later reads (see the note on kept facts below).

    Statements read them through the views `alert_facts` and `interruption_facts` (see focus).
    """
    session = store.keeps(con)
    key = _kept_key(con, values) if session and into == "all" and len(values["buckets"]) == 1 else ""
    if key and values["signature"] is not None and _kept_serve(con, key, values, interruptions):
        return into
    if session:  # what an earlier read kept is freed before these facts take their memory
        for table in ("key", "alert_facts", "interruption_facts"):
            con.execute(f"DROP TABLE IF EXISTS {_KEPT}_{table}")
    if key and keep and values["signature"] is None:
        into, table = _KEPT, "TABLE"
    else:
        table = "TEMP TABLE"
    source_history(con, values)
    sql = alert_facts_sql(values)
    con.execute(f"CREATE OR REPLACE {table} {into}_alert_facts AS {sql}", bound(sql, values))
    con.execute(f"CREATE OR REPLACE TEMP VIEW alert_facts AS SELECT * FROM {into}_alert_facts")  # noqa: S608 - ours
    materialize_stages(con, PEOPLE, values)
    sql = INTERRUPTION_FACTS if interruptions else f"{INTERRUPTION_FACTS} LIMIT 0"
    con.execute(f"CREATE OR REPLACE {table} {into}_interruption_facts AS {sql}", bound(sql, values))
    if into == _KEPT:
        con.execute(f"CREATE TABLE {_KEPT}_key AS SELECT $key AS key, $interruptions AS interruptions",
                    {"key": key, "interruptions": interruptions})
    return into


# A dashboard page's run reads a scope's facts (the Noisy ranking, say), then one of its signatures'
# (the drill-down's "signature up close"). Each alert's facts are its own, its signature's or its
# source's, whatever else is in scope, so the signature's facts are the scope's rows of that
# signature: a read that is drilled into keeps its scope's facts (without a signature, in one bucket;
# see read.DRILLED) in the read
# session's database (store.KEPT), and a read of one signature of the same scope, bounds, settings
# and calendars takes its rows from them. Outside a session (the command line) nothing is kept.
_KEPT = f"{store.KEPT}.scope"
_KEY_SQL = ALERT_FACTS + INTERRUPTION_FACTS + PEOPLE  # every parameter the facts depend on


def _kept_key(con: duckdb.DuckDBPyConnection, values: dict[str, Any]) -> str:
    """What the facts depend on besides the signature: their parameters and the teams' calendars."""
    parameters = sorted((name, value) for name, value in bound(_KEY_SQL, values).items() if name != "signature")
    calendars = [con.execute(f"SELECT * FROM {name} ORDER BY ALL").fetchall()  # noqa: S608 - constant names
                 for name in ("team_config", "team_holidays")]
    return repr((parameters, calendars))


def _kept_serve(con: duckdb.DuckDBPyConnection, key: str, values: dict[str, Any], interruptions: bool) -> bool:
    """One signature's facts from the run's kept facts of its scope, if they are those (tables
    all_alert_facts and all_interruption_facts, as `materialize` makes them); False if not."""
    kept = con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = $db AND table_name = 'scope_key'",
                       {"db": store.KEPT}).fetchone()[0]
    found = con.execute(f"SELECT key, interruptions FROM {_KEPT}_key").fetchone() if kept else None  # noqa: S608
    if found is None or found[0] != key or (interruptions and not found[1]):
        return False
    one = {"signature": values["signature"]}
    con.execute(f"CREATE OR REPLACE TEMP TABLE all_alert_facts AS SELECT * FROM {_KEPT}_alert_facts "  # noqa: S608
                "WHERE signature = $signature", one)
    con.execute("CREATE OR REPLACE TEMP VIEW alert_facts AS SELECT * FROM all_alert_facts")
    materialize_stages(con, PEOPLE, values)
    which = "WHERE signature = $signature" if interruptions else "LIMIT 0"
    con.execute(f"CREATE OR REPLACE TEMP TABLE all_interruption_facts AS SELECT * FROM {_KEPT}_interruption_facts "  # noqa: S608
                + which, one if interruptions else {})
    return True


def materialize_shared(con: duckdb.DuckDBPyConnection, values: dict[str, Any], interruptions: bool) -> None:
    """For a read whose frames have different buckets: the facts of their whole span computed once, in
    tables `base_...`, which `materialize_frame` puts in each other frame's buckets. `values` are those
    of the frame that spans them all, if one does (it reads these facts as they are), else of one
    bucket over the span."""
    materialize(con, values, interruptions, into="base")


def materialize_frame(con: duckdb.DuckDBPyConnection, values: dict[str, Any], interruptions: bool) -> None:
    """One frame's facts from `materialize_shared`'s: its alerts, in its buckets (figures as `materialize`'s),
    and its interruptions when asked."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE frame_columns AS {FRAME_COLUMNS}", bound(FRAME_COLUMNS, values))
    con.execute(f"CREATE OR REPLACE TEMP VIEW all_alert_facts AS {FRAME_FACTS}")
    con.execute("CREATE OR REPLACE TEMP VIEW alert_facts AS SELECT * FROM all_alert_facts")
    sql = FRAME_INTERRUPTIONS if interruptions else f"{FRAME_INTERRUPTIONS} LIMIT 0"
    con.execute(f"CREATE OR REPLACE TEMP VIEW all_interruption_facts AS {sql}")


def focus(con: duckdb.DuckDBPyConnection, values: dict[str, Any], facts_of: str = "all") -> None:
    """Point the views alert_facts and interruption_facts at the facts of [$start, $end) only, and
    `buckets` at its buckets (the facts in tables `{facts_of}_alert_facts` and so on).

    A view cannot hold bound parameters, so the bounds go into a one-row table it reads.
    """
    sql = "CREATE OR REPLACE TEMP TABLE focus AS SELECT $start::TIMESTAMPTZ AS starts, $end::TIMESTAMPTZ AS ends"
    con.execute(sql, bound(sql, values))
    sql = "CREATE OR REPLACE TEMP TABLE buckets AS SELECT unnest($buckets::TIMESTAMPTZ[]) AS bucket_start"
    con.execute(sql, bound(sql, values))
    for name in ("alert_facts", "interruption_facts"):
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM {facts_of}_{name} "  # noqa: S608 - constant names
            "WHERE bucket_start >= (SELECT starts FROM focus) AND bucket_start < (SELECT ends FROM focus)"
        )


_STAGE = re.compile(r"^([a-z_]+) AS \((.*?)^\),?\s*$", re.M | re.S)


def parse_stages(document: str) -> list[tuple[str, str]]:
    """A document of stages `name AS (SELECT ...)` as (name, SELECT) pairs, in order."""
    return [(m[1], m[2].strip()) for m in _STAGE.finditer(document)]


def materialize_stages(con: duckdb.DuckDBPyConnection, document: str, values: dict[str, Any]) -> None:
    """Compute each stage of `document` once, in order, into a temporary table of its name."""
    for name, select in parse_stages(document):
        sql = f"CREATE OR REPLACE TEMP TABLE {name} AS {select}"
        con.execute(sql, bound(sql, values))


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


# The calendars are bound as lists of structs, not registered as Arrow tables: building an Arrow
# table from Python values loads pandas, which a command-line report does without.
_CONFIG_TABLE = """CREATE OR REPLACE TEMP TABLE team_config AS
SELECT unnest($rows::STRUCT(key VARCHAR, time_zone VARCHAR, business_start TIME, business_end TIME,
                            sleep_start TIME, sleep_end TIME, working_days INTEGER[])[], recursive := true)"""
_HOLIDAY_TABLE = """CREATE OR REPLACE TEMP TABLE team_holidays AS
SELECT unnest($rows::STRUCT(key VARCHAR, day DATE, name VARCHAR)[], recursive := true)"""


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
    """Tables team_config and team_holidays (built in Python) for the interruption facts."""
    config = team_config(settings)
    con.execute(_CONFIG_TABLE, {"rows": [{key: row[key] for key in row if key != "holidays"} for row in config]})
    con.execute(_HOLIDAY_TABLE, {"rows": holiday_rows(config, years)})


def years_of(period: Period) -> range:
    """Calendar years a period's local dates can fall in (a day of margin each side)."""
    return range(period.start.year - 1, period.end.year + 2)
