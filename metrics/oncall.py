"""On call, from the schedules: on-call hours by bucket, pages per shift, off-rota pages, nights, fairness."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import duckdb

import settings as settings_module
from metrics.period import Period, between, sprints_back
from metrics.read import Figures, Scope, plain, read
from metrics.registry import Metric, Stages, parameters, register, stages, term
from settings import Settings

if TYPE_CHECKING:
    import pandas as pd

# The on-call stages, computed after the facts (metrics/facts.py) on the same connection, each
# reading those above it. A person is a person key (the facts' `persons`: the same e-mail, else
# the same full name, else source and id), so rows of different sources for one human are one person.
#   on_call: each person's on-call time in the period, the union of their level-1 shifts;
#   on_call_time: that time cut by local day, time-of-day bucket and sprint (or week) bucket;
#   pages: every interruption, with its person key and whether it came on call, as backup
#     (a level-2+ shift) or off rota; only pages that can be judged (the person is on a rota in
#     the period, or the alert's team has one) are kept.
STAGES = """
person_keys AS (  -- people rows with their person key (METRICS.md, Person; the facts' `persons`)
    SELECT source, person_id, person_key FROM persons
),
person_info AS (
    SELECT person_key, coalesce(name, person_id) AS person_name, team AS person_team, time_zone AS person_tz
    FROM person_groups
),
shifts_in AS (
    SELECT coalesce(k.person_key, 'id:' || s.source || ':' || s.person_id) AS person_key,
        s.source || '/' || s.schedule_id AS schedule_key, s.schedule, s.escalation_level AS level,
        coalesce(s.team, i.person_team) AS team,
        greatest(s.starts_at, $start) AS starts_at, least(s.ends_at, $end) AS ends_at
    FROM on_call_shifts AS s
    LEFT JOIN person_keys AS k ON k.source = s.source AND k.person_id = s.person_id
    LEFT JOIN person_info AS i ON i.person_key = coalesce(k.person_key, 'id:' || s.source || ':' || s.person_id)
    WHERE s.starts_at < $end AND s.ends_at > $start
      AND ($team::VARCHAR IS NULL OR coalesce(s.team, i.person_team) = $team::VARCHAR)
),
rostered AS (  -- everyone on a rota in the period: name, team, time zone and hours settings
    SELECT r.person_key, coalesce(i.person_name, r.person_key) AS person_name,
        coalesce(i.person_team, r.team) AS team, list_sort(r.schedules) AS schedules,
        coalesce(i.person_tz, c.time_zone) AS tz, c.key AS cfg_key
    FROM (SELECT person_key, min(team) AS team, list_distinct(list(schedule)) AS schedules
          FROM shifts_in GROUP BY person_key) AS r
    LEFT JOIN person_info AS i USING (person_key)
    LEFT JOIN team_config AS t ON t.key = coalesce(i.person_team, r.team)
    JOIN team_config AS c ON c.key = coalesce(t.key, $default_key)
),
first_line AS (
    SELECT person_key, starts_at, ends_at,
        max(ends_at) OVER (PARTITION BY person_key ORDER BY starts_at, ends_at
                           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS reach
    FROM shifts_in WHERE level = 1
),
on_call AS (
    SELECT person_key, min(starts_at) AS starts_at, max(ends_at) AS ends_at
    FROM (SELECT *, sum(CASE WHEN reach >= starts_at THEN 0 ELSE 1 END)
                    OVER (PARTITION BY person_key ORDER BY starts_at, ends_at) AS island FROM first_line)
    GROUP BY person_key, island
),
schedule_line AS (
    SELECT person_key, schedule_key, schedule, starts_at, ends_at,
        max(ends_at) OVER (PARTITION BY person_key, schedule_key ORDER BY starts_at, ends_at
                           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS reach
    FROM shifts_in WHERE level = 1
),
schedule_on_call AS (
    SELECT person_key, schedule_key, any_value(schedule) AS schedule, min(starts_at) AS starts_at,
        max(ends_at) AS ends_at
    FROM (SELECT *, sum(CASE WHEN reach >= starts_at THEN 0 ELSE 1 END)
                    OVER (PARTITION BY person_key, schedule_key ORDER BY starts_at, ends_at) AS island
          FROM schedule_line)
    GROUP BY person_key, schedule_key, island
),
local_days AS (
    SELECT o.person_key, o.schedule_key, o.starts_at, o.ends_at, r.tz, r.cfg_key,
        unnest(generate_series(timezone(r.tz, o.starts_at)::DATE,
                               timezone(r.tz, o.ends_at - INTERVAL 1 MICROSECOND)::DATE, INTERVAL 1 DAY))::DATE AS day
    FROM (SELECT person_key, NULL::VARCHAR AS schedule_key, starts_at, ends_at FROM on_call
          UNION ALL SELECT person_key, schedule_key, starts_at, ends_at FROM schedule_on_call WHERE $with_schedules)
        AS o
    JOIN rostered AS r USING (person_key)
),
day_cuts AS (  -- each local day cut where the time-of-day bucket can change
    SELECT d.*, c.sleep_start, c.sleep_end, c.business_start, c.business_end,
        list_contains(c.working_days, isodow(d.day) - 1) AND h.day IS NULL AS working_day,
        isodow(d.day) >= 6 AS weekend, h.day IS NOT NULL AS holiday,
        list_sort(list_distinct([TIME '00:00', c.sleep_end, c.sleep_start, c.business_start, c.business_end])) AS cuts
    FROM local_days AS d
    JOIN team_config AS c ON c.key = d.cfg_key
    LEFT JOIN team_holidays AS h ON h.key = d.cfg_key AND h.day = d.day
),
segments AS (
    SELECT *,
        timezone(tz, day + cuts[i]) AS seg_start,
        CASE WHEN i < len(cuts) THEN timezone(tz, day + cuts[i + 1]) ELSE timezone(tz, (day + 1)::TIMESTAMP) END AS seg_end,
        CASE WHEN sleep_start > sleep_end THEN cuts[i] >= sleep_start OR cuts[i] < sleep_end
             ELSE cuts[i] >= sleep_start AND cuts[i] < sleep_end END AS in_sleep,
        ((day + cuts[i]) - INTERVAL 12 HOUR)::DATE AS night
    FROM (SELECT *, unnest(range(1, len(cuts) + 1)) AS i FROM day_cuts)
),
bucket_spans AS (
    SELECT bucket_start, lead(bucket_start, 1, $end) OVER (ORDER BY bucket_start) AS bucket_end FROM buckets
),
on_call_time AS (
    SELECT s.person_key, s.schedule_key, b.bucket_start, s.day, s.night, s.weekend, s.holiday,
        CASE WHEN s.in_sleep THEN 'sleep'
             WHEN s.working_day AND s.cuts[s.i] >= s.business_start AND s.cuts[s.i] < s.business_end THEN 'business'
             ELSE 'off' END AS time_bucket,
        -- whole microseconds: their sums are exact, so hours (divided once, at the end) are the
        -- same in any row or thread order
        epoch_us(least(s.ends_at, s.seg_end, b.bucket_end)) - epoch_us(greatest(s.starts_at, s.seg_start, b.bucket_start))
            AS us
    FROM segments AS s
    JOIN bucket_spans AS b ON b.bucket_start < least(s.ends_at, s.seg_end) AND b.bucket_end > greatest(s.starts_at, s.seg_start)
    WHERE least(s.ends_at, s.seg_end) > greatest(s.starts_at, s.seg_start)
),
covered_teams AS (
    SELECT DISTINCT team FROM shifts_in WHERE level = 1 AND team IS NOT NULL
),
keyed_pages AS (  -- interruption facts carry their person key (none without shifts: none is judged then)
    SELECT * FROM interruption_facts WHERE EXISTS (SELECT 1 FROM shifts_in)
),
backup_hits AS (
    SELECT DISTINCT p.source, p.source_id, p.person_id
    FROM keyed_pages AS p
    JOIN shifts_in AS s ON s.person_key = p.person_key AND s.level > 1
      AND p.paged_at >= s.starts_at AND p.paged_at < s.ends_at
),
pages AS (
    SELECT p.*, o.starts_at AS shift_start,
        CASE WHEN o.ends_at > p.paged_at THEN 'on call'
             WHEN b.source IS NOT NULL THEN 'backup'
             ELSE 'off rota' END AS rota_state
    FROM keyed_pages AS p
    ASOF LEFT JOIN on_call AS o ON o.person_key = p.person_key AND p.paged_at >= o.starts_at
    LEFT JOIN backup_hits AS b ON b.source = p.source AND b.source_id = p.source_id AND b.person_id = p.person_id
    WHERE p.person_key IN (SELECT person_key FROM rostered) OR p.team IN (SELECT team FROM covered_teams)
),
schedule_pages AS (
    SELECT s.schedule_key, s.schedule, p.person_key, p.source, p.source_id, p.time_bucket
    FROM pages AS p
    JOIN schedule_on_call AS s ON s.person_key = p.person_key AND p.paged_at >= s.starts_at AND p.paged_at < s.ends_at
    WHERE p.rota_state = 'on call'
)
"""

# Time per schedule (for fairness) doubles the cutting work: only when a read asks for fairness.
stages(Stages("on_call", STAGES, lambda metrics: {"with_schedules": any(m.name == "fairness" for m in metrics)}))


@parameters
def _on_call_values(settings: Settings) -> dict[str, Any]:
    return {"night_min_h": float(settings.thresholds.on_call_night_min_hours),
            "ceiling": settings.thresholds.paging_ceiling_per_shift}


term("night_min", lambda s, h: f"{s.thresholds.on_call_night_min_hours:g} h")

# Per person and bucket: the figures every on-call view is made of.
_PER_PERSON = """
, hours AS (
    SELECT person_key, bucket_start,
        sum(us) AS on_call_us,
        sum(us) FILTER (WHERE time_bucket = 'business') AS business_us,
        sum(us) FILTER (WHERE time_bucket = 'off') AS off_us,
        sum(us) FILTER (WHERE time_bucket = 'sleep') AS sleep_us
    FROM on_call_time WHERE schedule_key IS NULL GROUP BY ALL
),
nights AS (  -- on-call nights, each in the bucket where it began
    SELECT person_key, night, min(bucket_start) AS bucket_start FROM on_call_time
    WHERE schedule_key IS NULL AND time_bucket = 'sleep'
    GROUP BY ALL HAVING sum(us) >= $night_min_h * 3.6e9
),
night_counts AS (
    SELECT n.person_key, n.bucket_start, count(*) AS on_call_nights, count(w.night) AS disturbed_on_call_nights
    FROM nights AS n
    LEFT JOIN (SELECT DISTINCT person_key, night FROM pages WHERE rota_state = 'on call' AND time_bucket = 'sleep')
        AS w USING (person_key, night)
    GROUP BY ALL
),
paged AS (
    SELECT person_key, bucket_start,
        count(*) FILTER (WHERE rota_state = 'on call') AS on_call_pages,
        count(*) FILTER (WHERE rota_state = 'backup') AS backup_pages,
        count(*) FILTER (WHERE rota_state = 'off rota') AS off_rota_pages,
        count(DISTINCT night) FILTER (WHERE time_bucket = 'sleep') AS disturbed_nights
    FROM pages GROUP BY ALL
),
person_bucket AS (
    SELECT r.person_key, r.person_name, r.team, r.schedules, b.bucket_start,
        coalesce(h.on_call_us, 0) AS on_call_us, coalesce(h.business_us, 0) AS business_us,
        coalesce(h.off_us, 0) AS off_us, coalesce(h.sleep_us, 0) AS sleep_us,
        coalesce(h.on_call_us, 0) / 3.6e9 AS on_call_hours,
        coalesce(p.on_call_pages, 0) AS on_call_pages, coalesce(p.backup_pages, 0) AS backup_pages,
        coalesce(p.off_rota_pages, 0) AS off_rota_pages, coalesce(p.disturbed_nights, 0) AS disturbed_nights,
        coalesce(n.on_call_nights, 0) AS on_call_nights,
        coalesce(n.disturbed_on_call_nights, 0) AS disturbed_on_call_nights
    FROM (SELECT * FROM rostered UNION ALL BY NAME
          SELECT DISTINCT person_key, coalesce(person_name, person_key) AS person_name, team, [] AS schedules
          FROM pages ANTI JOIN rostered USING (person_key)) AS r
    CROSS JOIN buckets AS b
    LEFT JOIN hours AS h ON h.person_key = r.person_key AND h.bucket_start = b.bucket_start
    LEFT JOIN paged AS p ON p.person_key = r.person_key AND p.bucket_start = b.bucket_start
    LEFT JOIN night_counts AS n ON n.person_key = r.person_key AND n.bucket_start = b.bucket_start
)
"""

_RATE = "CASE WHEN {h} > 0 THEN {n} / {h} * 12 END"
# Gini of {x} over a group's rows, {rank} being each row's rank by {x} from 1: the sorted form of
# Σ|xi − xj| / (2 n² mean); 0 when nothing is shared out.
_GINI = ("CASE WHEN sum({x}) > 0 THEN greatest(0, 2 * sum({rank} * {x}) / (count(*) * sum({x})) "
         "- (count(*) + 1) / count(*)) ELSE 0 END")
_SHARE = "CASE WHEN {d} > 0 THEN {n}::DOUBLE / {d} END"


# The figures of a group of person_bucket rows (a person, or everyone in scope).
_SUMS = f"""sum(on_call_us) / 3.6e9 AS on_call_hours, sum(business_us) / 3.6e9 AS business_hours,
    sum(off_us) / 3.6e9 AS off_hours, sum(sleep_us) / 3.6e9 AS sleep_hours,
    sum(on_call_pages) AS on_call_pages, sum(backup_pages) AS backup_pages, sum(off_rota_pages) AS off_rota_pages,
    {_RATE.format(n="sum(on_call_pages)", h="(sum(on_call_us) / 3.6e9)")} AS interruptions_per_shift,
    sum(on_call_nights) AS on_call_nights, sum(disturbed_on_call_nights) AS disturbed_on_call_nights,
    {_SHARE.format(n="sum(disturbed_on_call_nights)", d="sum(on_call_nights)")} AS disturbed_on_call_nights_share"""


def _sql(body: str, per_person: bool = True) -> str:
    """A statement over the facts and the on-call stages (and the per-person-and-bucket figures)."""
    text = ((_PER_PERSON if per_person else "") + body).strip()
    return "WITH " + text[1:].lstrip() if text.startswith(",") else text


def on_call(*args, **kwargs) -> Metric:
    """A metric over the on-call stages."""
    return register(Metric(*args, **kwargs, stages=("on_call",)))


PEOPLE = on_call(
    "on_call_people", "On call, per person",
    "per person on a rota: on-call hours by bucket, pages on call / as backup / off rota, pages per 12 h on call, "
    "on-call nights and those disturbed",
    "list",
    _sql(f"""
SELECT person_key, any_value(person_name) AS person_name, any_value(team) AS team,
    any_value(array_to_string(schedules, ', ')) AS schedules,
    {_SUMS}
FROM person_bucket GROUP BY person_key
ORDER BY interruptions_per_shift DESC NULLS LAST, off_rota_pages DESC, person_name
"""), "query")  # noqa: S608 - fixed fragments of this module

TREND = on_call(
    "on_call_trend", "On call per person per sprint",
    "per person and sprint: pages per 12 h on call, disturbed nights, on-call hours",
    "list",
    _sql(f"""
SELECT person_key, person_name, team, bucket_start, on_call_hours, on_call_pages, off_rota_pages, disturbed_nights,
    {_RATE.format(n="on_call_pages", h="on_call_hours")} AS interruptions_per_shift
FROM person_bucket ORDER BY person_name, bucket_start
"""), "query", "sprints", ("count",))  # noqa: S608 - fixed fragments of this module

SCOPE = on_call(
    "on_call_figures", "On call",
    "the on-call figures of the period and team, each unknown without schedule data",
    "list",
    _sql(f"""
SELECT
    (SELECT count(*) FROM shifts_in WHERE level = 1) > 0 AS has_schedules,
    {_SUMS}
FROM person_bucket
"""), "query")  # noqa: S608 - fixed fragments of this module

register(Metric("on_call_hours", "On-call hours",
                "union of a person's level-1 shifts (overlaps once), split into business, off and sleep hours "
                "by their local time", "hours", grain="column", of="on_call_figures"))
register(Metric("interruptions_per_shift", "Pages per 12 h on call",
                "interruptions during on-call hours / on-call hours × 12; the SRE ceiling is {ceiling_shift}",
                "ratio", grain="column", of="on_call_figures"))
register(Metric("off_rota_pages", "Off-rota pages",
                "interruptions of people outside any shift of theirs (a backup shift, level two or more, "
                "counts as backup, not off rota)", "count", grain="column", of="on_call_figures"))
register(Metric("disturbed_on_call_nights_share", "Disturbed on-call nights",
                "on-call nights with a wake-up on call / on-call nights (at least {night_min} of sleep time on call)",
                "share", grain="column", of="on_call_figures"))

BREAKS = on_call(
    "who_needs_a_break", "Who needs a break",
    "per person on a rota in the last sprints: over the last two of them, the longest run of consecutive "
    "disturbed nights, broken nights before a working day, 12-hour on-call blocks over the ceiling",
    "list",
    _sql("""
, disturbed AS (
    SELECT DISTINCT p.person_key, p.night FROM pages AS p WHERE p.time_bucket = 'sleep' AND p.paged_at >= $recent_from
),
runs AS (
    SELECT person_key, count(*) AS run
    FROM (SELECT *, night - (row_number() OVER (PARTITION BY person_key ORDER BY night))::INTEGER AS grp FROM disturbed)
    GROUP BY person_key, grp
),
before_work AS (
    SELECT d.person_key, count(*) AS broken
    FROM disturbed AS d
    JOIN rostered AS r USING (person_key)
    JOIN team_config AS c ON c.key = r.cfg_key
    LEFT JOIN team_holidays AS h ON h.key = r.cfg_key AND h.day = d.night + 1
    WHERE list_contains(c.working_days, isodow(d.night + 1) - 1) AND h.day IS NULL
    GROUP BY d.person_key
),
blocks AS (
    SELECT * FROM (
        SELECT person_key, starts_at + k * INTERVAL 12 HOUR AS block_start,
            least(ends_at, starts_at + (k + 1) * INTERVAL 12 HOUR) AS block_end
        FROM (SELECT *, unnest(range(ceil(epoch(ends_at - starts_at) / 43200)::BIGINT)) AS k FROM on_call))
    WHERE block_start >= $recent_from
),
over AS (
    SELECT b.person_key, count(*) AS blocks_over
    FROM (SELECT b.person_key, b.block_start, count(*) AS n FROM blocks AS b
          JOIN pages AS p ON p.person_key = b.person_key AND p.rota_state = 'on call'
           AND p.paged_at >= b.block_start AND p.paged_at < b.block_end
          GROUP BY ALL) AS b
    WHERE b.n > $ceiling GROUP BY b.person_key
)
SELECT r.person_key, any_value(r.person_name) AS person_name, any_value(r.team) AS team,
    coalesce(max(u.run), 0) AS longest_run, coalesce(any_value(w.broken), 0) AS broken_nights_before_working_day,
    coalesce(any_value(o.blocks_over), 0) AS shifts_over_ceiling
FROM rostered AS r
LEFT JOIN runs AS u USING (person_key)
LEFT JOIN before_work AS w USING (person_key)
LEFT JOIN over AS o USING (person_key)
GROUP BY r.person_key
ORDER BY longest_run DESC, broken_nights_before_working_day DESC, shifts_over_ceiling DESC, person_name
""", per_person=False), "query", "sprints", ("count",))

register(Metric("longest_disturbed_run", "Longest run of disturbed nights",
                "the most consecutive disturbed nights of a person in the period", "count",
                grain="column", of="who_needs_a_break"))
register(Metric("broken_nights_before_working_day", "Broken nights before a working day",
                "disturbed nights followed by a local working day", "count", grain="column", of="who_needs_a_break"))

CEILING = on_call(
    "shifts_over_ceiling", "Shifts over the ceiling",
    "12-hour blocks of on-call time (from the start of each stretch on call) with more pages than the ceiling",
    "list",
    _sql("""
, blocks AS (
    SELECT person_key, starts_at + k * INTERVAL 12 HOUR AS block_start,
        least(ends_at, starts_at + (k + 1) * INTERVAL 12 HOUR) AS block_end
    FROM (SELECT *, unnest(range(ceil(epoch(ends_at - starts_at) / 43200)::BIGINT)) AS k FROM on_call)
)
SELECT b.person_key, any_value(r.person_name) AS person_name, any_value(r.team) AS team, b.block_start, b.block_end,
    count(*) AS interruptions, $ceiling AS ceiling
FROM blocks AS b
JOIN pages AS p ON p.person_key = b.person_key AND p.rota_state = 'on call'
 AND p.paged_at >= b.block_start AND p.paged_at < b.block_end
JOIN rostered AS r ON r.person_key = b.person_key
GROUP BY b.person_key, b.block_start, b.block_end
HAVING count(*) > $ceiling
ORDER BY b.block_start, person_name
""", per_person=False), "query")

FAIRNESS = on_call(
    "fairness", "Fairness per schedule",
    "Gini coefficient across a schedule's people of their pages on call, and of their off- and sleep-hour "
    "on-call hours: 0 evenly shared, towards 1 when one person carries it",
    "ratio",
    _sql(f"""
, shares AS (
    SELECT s.schedule_key, any_value(s.schedule) AS schedule, s.person_key,
        coalesce(sum(t.us) FILTER (WHERE t.time_bucket IN ('off', 'sleep')), 0) AS unsocial_us,
        coalesce(sum(t.us), 0) / 3.6e9 AS on_call_hours
    FROM schedule_on_call AS s
    LEFT JOIN on_call_time AS t ON t.schedule_key = s.schedule_key AND t.person_key = s.person_key
    GROUP BY s.schedule_key, s.person_key
),
counted AS (
    SELECT h.*, h.unsocial_us / 3.6e9 AS unsocial_hours, coalesce(p.pages, 0) AS pages
    FROM shares AS h
    LEFT JOIN (SELECT schedule_key, person_key, count(*) AS pages FROM schedule_pages GROUP BY ALL) AS p
      USING (schedule_key, person_key)
),
ranked AS (
    SELECT *, row_number() OVER (PARTITION BY schedule_key ORDER BY pages) AS page_rank,
        row_number() OVER (PARTITION BY schedule_key ORDER BY unsocial_us) AS hour_rank
    FROM counted
)
SELECT schedule_key, any_value(schedule) AS schedule, count(*) AS people,
    sum(pages) AS pages, sum(unsocial_us) / 3.6e9 AS unsocial_hours,
    {_GINI.format(x="pages", rank="page_rank")} AS pages_gini,
    {_GINI.format(x="unsocial_us", rank="hour_rank")} AS hours_gini,
    list(struct_pack(person := person_key, pages := pages, unsocial_hours := unsocial_hours,
                     on_call_hours := on_call_hours) ORDER BY pages DESC, person_key) AS distribution
FROM ranked GROUP BY schedule_key ORDER BY schedule
""", per_person=False), "query")  # noqa: S608 - fixed fragments of this module

EXPORT = on_call(
    "on_call_export", "On-call export",
    "per person and month: on-call hours by bucket, weekend and holiday on-call hours, pages by bucket, "
    "disturbed nights",
    "list",
    _sql("""
, hours AS (
    SELECT person_key, date_trunc('month', day)::DATE AS month, sum(us) / 3.6e9 AS on_call_hours,
        sum(us) FILTER (WHERE time_bucket = 'business') / 3.6e9 AS business_hours,
        sum(us) FILTER (WHERE time_bucket = 'off') / 3.6e9 AS off_hours,
        sum(us) FILTER (WHERE time_bucket = 'sleep') / 3.6e9 AS sleep_hours,
        sum(us) FILTER (WHERE weekend) / 3.6e9 AS weekend_hours,
        sum(us) FILTER (WHERE holiday) / 3.6e9 AS holiday_hours
    FROM on_call_time WHERE schedule_key IS NULL GROUP BY ALL
),
paged AS (
    SELECT person_key, date_trunc('month', local_day)::DATE AS month, count(*) AS interruptions,
        count(*) FILTER (WHERE time_bucket = 'business') AS business_interruptions,
        count(*) FILTER (WHERE time_bucket = 'off') AS off_hours_interruptions,
        count(*) FILTER (WHERE time_bucket = 'sleep') AS sleep_interruptions,
        count(DISTINCT night) FILTER (WHERE time_bucket = 'sleep') AS disturbed_nights
    FROM pages GROUP BY ALL
)
SELECT r.person_name AS person, r.team, strftime(m.month, '%Y-%m') AS month,
    round(coalesce(h.on_call_hours, 0), 2) AS on_call_hours, round(coalesce(h.business_hours, 0), 2) AS business_hours,
    round(coalesce(h.off_hours, 0), 2) AS off_hours, round(coalesce(h.sleep_hours, 0), 2) AS sleep_hours,
    round(coalesce(h.weekend_hours, 0), 2) AS weekend_hours, round(coalesce(h.holiday_hours, 0), 2) AS holiday_hours,
    coalesce(p.interruptions, 0) AS interruptions, coalesce(p.business_interruptions, 0) AS business_interruptions,
    coalesce(p.off_hours_interruptions, 0) AS off_hours_interruptions,
    coalesce(p.sleep_interruptions, 0) AS sleep_interruptions, coalesce(p.disturbed_nights, 0) AS disturbed_nights
FROM (SELECT person_key, month FROM hours UNION SELECT person_key, month FROM paged) AS m
JOIN rostered AS r USING (person_key)
LEFT JOIN hours AS h USING (person_key, month)
LEFT JOIN paged AS p USING (person_key, month)
ORDER BY month, person
""", per_person=False), "query")


def gini(values: list[float]) -> float:
    """The fairness statement's Gini of `values`, run by DuckDB (for tests and notebooks)."""
    sql = (f"SELECT {_GINI.format(x='x', rank='r')} FROM "  # noqa: S608 - a fixed fragment
           "(SELECT x, row_number() OVER (ORDER BY x) AS r FROM (SELECT unnest($v::DOUBLE[]) AS x))")
    with duckdb.connect() as con:
        return con.execute(sql, {"v": list(values)}).fetchone()[0]


def figures_of(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The on_call_figures row (of Figures.rows) as plain values with `known`; every one None without
    schedule data."""
    row = {k: plain(v) for k, v in rows[0].items()}
    if not row.pop("has_schedules"):
        return {name: None for name in row} | {"known": False}
    return row | {"known": True}


# What the manager's view reads, in one call (the trend and the breaks over the last sprints).
VIEW_NAMES = ("on_call_figures", "on_call_people", "fairness", "shifts_over_ceiling", "on_call_trend",
              "who_needs_a_break")


def view_of(figures: Figures, sprints: int = 12) -> dict[str, Any]:
    """The manager's view from a read of VIEW_NAMES (with count=`sprints`): the figures, people, fairness
    and shifts over the ceiling of the period; the trend per person over the `sprints` sprints ending
    with the one containing the period's start; who needs a break over the last two of them."""
    periods = sprints_back(figures.settings, sprints, figures.scope.day)
    return {"trend": figures["on_call_trend"], "people": figures["on_call_people"], "fairness": figures["fairness"],
            "over": figures["shifts_over_ceiling"], "breaks": figures["who_needs_a_break"],
            "figures": figures_of(figures.rows("on_call_figures")), "sprints": periods}


def manager_view(db: str | None, period: Period, team: str | None = None, sprints: int = 12,
                 settings: Settings | None = None) -> dict[str, Any]:
    """view_of() for a period and team, read in one call."""
    return view_of(read(db, VIEW_NAMES, Scope(period, team), settings, count=sprints), sprints)


def month_scope(month: dt.date, team: str | None, settings: Settings) -> Scope:
    """What to read for one calendar month's export: a day either side, so that each person's month in
    their own time zone is inside it (filter the rows by `month`, as 'YYYY-MM')."""
    first = month.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return Scope(between(first - dt.timedelta(days=1), following + dt.timedelta(days=1), settings.default_time_zone),
                 team)


def on_call_export_month(db: str | None, month: dt.date, team: str | None = None,
                         settings: Settings | None = None) -> pd.DataFrame:
    """The on-call export of one calendar month, each person's month in their own time zone."""
    settings = settings if settings is not None else settings_module.load()
    frame = read(db, ["on_call_export"], month_scope(month, team, settings), settings)["on_call_export"]
    return frame[frame["month"] == f"{month:%Y-%m}"].reset_index(drop=True)


# What the report reads for its on-call part (METRICS.md, The machine-readable report).
REPORT_NAMES = ("on_call_figures", "on_call_people", "fairness")


def report(figures: Figures) -> dict[str, Any] | None:
    """The report's on-call part from a read of REPORT_NAMES; None without schedule data."""
    scope = figures_of(figures.rows("on_call_figures"))
    if not scope["known"]:
        return None
    return {"figures": scope, "people": figures.rows("on_call_people"), "fairness": figures.rows("fairness")}


def report_json(part: dict[str, Any]) -> dict[str, Any]:
    """The report's JSON keys for on call (METRICS.md, The machine-readable report)."""
    figures = part["figures"]
    return {
        "on_call_hours": {"total": figures["on_call_hours"], "business": figures["business_hours"],
                          "off": figures["off_hours"], "sleep": figures["sleep_hours"]},
        "interruptions_per_shift": figures["interruptions_per_shift"],
        "off_rota_pages": figures["off_rota_pages"],
        "fairness": [{"schedule": row["schedule"], "people": int(row["people"]), "pages": plain(row["pages"]),
                      "pages_gini": plain(row["pages_gini"]), "off_and_sleep_hours_gini": plain(row["hours_gini"])}
                     for row in part["fairness"]],
    }
