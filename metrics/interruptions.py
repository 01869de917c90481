"""Interruptions, time-of-day buckets in local time, wake-ups, disturbed nights and paging load."""

from __future__ import annotations

from metrics.registry import Metric, metric, register

_PAGE = "distinct (alert, person) paged by phone/SMS/push (fallback: acknowledger, else unknown)"

register(Metric("interruptions", "Interruptions", _PAGE, "count", "count(*)", "interruption"))
register(
    Metric(
        "business_hours_interruptions",
        "Business-hours interruptions",
        "interruptions at local {business_hours} on a working day ({working_days}, holidays excluded), outside sleep hours",
        "count",
        "count(*) FILTER (WHERE time_bucket = 'business')",
        "interruption",
    )
)
register(
    Metric(
        "off_hours_interruptions",
        "Off-hours interruptions",
        "interruptions neither in sleep hours nor in business hours (local time)",
        "count",
        "count(*) FILTER (WHERE time_bucket = 'off')",
        "interruption",
    )
)
register(
    Metric(
        "sleep_interruptions",
        "Sleep-hours interruptions",
        "interruptions at local {sleep_hours}, any day",
        "count",
        "count(*) FILTER (WHERE time_bucket = 'sleep')",
        "interruption",
    )
)
register(
    Metric(
        "wake_ups",
        "Wake-ups",
        "interruptions in sleep hours (local {sleep_hours})",
        "count",
        "count(*) FILTER (WHERE time_bucket = 'sleep')",
        "interruption",
    )
)
register(
    Metric(
        "disturbed_nights",
        "Disturbed nights",
        "distinct (person, night) with ≥ 1 wake-up; a night is named by the local date it began",
        "count",
        "count(DISTINCT (person_key, night)) FILTER (WHERE time_bucket = 'sleep')",
        "interruption",
    )
)
register(
    Metric(
        "people_paged",
        "People paged",
        "distinct people with ≥ 1 interruption",
        "count",
        "count(DISTINCT person_key)",
        "interruption",
    )
)
register(
    Metric(
        "fallback_interruptions",
        "Interruptions by fallback",
        "interruptions of alerts without notification data: one to the acknowledger, else unknown",
        "count",
        "count(*) FILTER (WHERE fallback)",
        "interruption",
    )
)

# The registered definitions, grouped per person (so disturbed nights are that person's nights).
_PERSON = ", ".join(
    f"{metric(n).sql} AS {n}"
    for n in (
        "interruptions",
        "business_hours_interruptions",
        "off_hours_interruptions",
        "wake_ups",
        "disturbed_nights",
    )
)

INTERRUPTION_LIST = register(
    Metric(
        "interruption_list",
        "Interruptions",
        "one row per interruption with its local time, time-of-day bucket and night",
        "list",
        """
SELECT source, source_id, person_id, person_name, team, signature, paged_at, time_zone, local_at,
    local_day, time_bucket, night, fallback, cost_h
FROM interruption_facts ORDER BY paged_at, source, person_id, source_id
""",
        "query",
    )
)

register(
    Metric(
        "interruptions_by_hour",
        "Interruptions by local hour",
        "interruptions per weekday and hour of the day, in each person's own time zone",
        "list",
        """
SELECT isodow(local_at) - 1 AS weekday, hour(local_at) AS hour, count(*) AS interruptions
FROM interruption_facts GROUP BY ALL ORDER BY weekday, hour
""",
        "query",
    )
)

PEOPLE_LOAD = register(
    Metric(
        "people_load",
        "Wake-ups per person",
        "per person: interruptions by time-of-day bucket, wake-ups and disturbed nights",
        "list",
        f"""
SELECT min(source) AS source, any_value(person_id) AS person_id, any_value(person_name) AS person_name,
    {_PERSON}
FROM interruption_facts
GROUP BY person_key
ORDER BY wake_ups DESC, interruptions DESC, person_id
""",  # noqa: S608 - fragments come only from the registry
        "query",
    )
)

PAGING_LOAD = register(
    Metric(
        "paging_load",
        "Paging load",
        "interruptions per person per local day (ceiling {ceiling_shift} per 12 h shift, so {ceiling_day}) "
        "and per on-call week ({ceiling_week})",
        "list",
        """
WITH load AS (
    SELECT min(source) AS source, any_value(person_id) AS person_id, any_value(person_name) AS person_name, per,
        CASE WHEN per = 'week' THEN date_trunc('week', local_day)::DATE ELSE local_day END AS day,
        count(*) AS interruptions
    FROM interruption_facts, (VALUES ('day'), ('week')) AS grains(per)
    GROUP BY person_key, per, day
)
SELECT *, CASE per WHEN 'week' THEN $ceiling_week ELSE $ceiling_day END AS ceiling,
    interruptions > CASE per WHEN 'week' THEN $ceiling_week ELSE $ceiling_day END AS over_ceiling
FROM load ORDER BY per, day, person_id, source
""",
        "query",
    )
)
