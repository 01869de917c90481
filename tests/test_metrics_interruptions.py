"""Interruptions: paging channels, fallback, local time zones, buckets, nights and paging load."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
import reads
from metrics_fixtures import T0, alert, at, build, page, person

import metrics
from settings import Hours, Settings, TeamSettings

UTC = dt.UTC
S = Settings()
P = metrics.sprint_period(S, T0.date())


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def paged(when: dt.datetime, who: str, team: str = "core", **extra):
    """An alert created at `when` with a phone page to `who` at once: (alert, notification)."""
    a = alert(when, ack_s=60, resolve_s=120, team=team, **extra)
    return a, page(a, who)


def history(tmp_path, pages, people=()):
    alerts = [a for a, _ in pages]
    notifications = [n for _, n in pages]
    return build(tmp_path / "i.duckdb", alerts=alerts, notifications=notifications, people=list(people))


def test_distinct_alert_person_pairs_by_paging_channels_only(tmp_path):
    a = alert(at(60), ack_s=30, resolve_s=600, acknowledged_by="ann")
    notes = [
        page(a, "ann", 60, "phone"),
        page(a, "ann", 30, "sms"),
        page(a, "ann", 0, "email"),
        page(a, "bob", 0, "email"),
        page(a, "cat", 120, "push"),
        page(a, "dan", 0, "chat"),
        page(a, "eve", 0, "other"),
    ]
    db = build(tmp_path / "c.duckdb", alerts=[a], notifications=notes)
    rows = reads.interruption_list(db, P, settings=S)
    assert list(rows["person_id"]) == ["ann", "cat"]
    assert list(rows["paged_at"]) == [a["created_at"] + dt.timedelta(seconds=30),
                                      a["created_at"] + dt.timedelta(seconds=120)]
    assert not rows["fallback"].any()


def test_fallback_when_an_alert_has_no_notifications(tmp_path):
    acked = alert(at(60), ack_s=30, resolve_s=600, acknowledged_by="dan")
    nobody = alert(at(120), resolve_s=600)
    email_only = alert(at(180), ack_s=30, resolve_s=600, acknowledged_by="eve")
    db = build(tmp_path / "f.duckdb", alerts=[acked, nobody, email_only],
               notifications=[page(email_only, "eve", 0, "email")])
    rows = reads.interruption_list(db, P, settings=S)
    assert list(rows["person_id"]) == ["dan", "unknown"]
    assert list(rows["paged_at"]) == [acked["created_at"], nobody["created_at"]]
    figures = reads.summary(db, P, settings=S)
    assert figures["interruptions"] == 2 and figures["fallback_interruptions"] == 2


def test_buckets_in_asia_kolkata(tmp_path):
    times = [utc(2026, 3, 3, 2, 45), utc(2026, 3, 3, 2, 15), utc(2026, 3, 3, 12, 45), utc(2026, 3, 3, 16, 35)]
    db = history(tmp_path, [paged(t, "ira") for t in times], [person("ira", "Asia/Kolkata")])
    rows = reads.interruption_list(db, P, settings=S)
    # local 08:15 business, 07:45 sleep, 18:15 off, 22:05 sleep (Tuesday, +05:30)
    assert list(rows["time_bucket"]) == ["sleep", "business", "off", "sleep"]  # ordered by UTC time
    figures = reads.summary(db, P, settings=S)
    assert (figures["business_hours_interruptions"], figures["off_hours_interruptions"],
            figures["sleep_interruptions"]) == (1, 1, 2)


def test_buckets_in_australia_sydney_daylight_time(tmp_path):
    # March 2026 is AEDT (+11): Tue 08:30 business, Tue 21:00 off, Tue 22:30 sleep.
    times = [utc(2026, 3, 2, 21, 30), utc(2026, 3, 3, 10, 0), utc(2026, 3, 3, 11, 30)]
    db = history(tmp_path, [paged(t, "syd") for t in times], [person("syd", "Australia/Sydney")])
    rows = reads.interruption_list(db, P, settings=S)
    assert list(rows["time_bucket"]) == ["business", "off", "sleep"]
    assert rows["night"].iloc[2].date() == dt.date(2026, 3, 3)


def test_wake_ups_on_the_new_york_dst_night(tmp_path):
    times = [
        utc(2026, 11, 1, 2, 30),  # 22:30 EDT Sat 31 Oct
        utc(2026, 11, 1, 5, 30),  # 01:30 EDT (first 01:30)
        utc(2026, 11, 1, 6, 30),  # 01:30 EST (second 01:30)
        utc(2026, 11, 1, 12, 30),  # 07:30 EST: still sleep hours (would be 08:30 in EDT)
        utc(2026, 11, 1, 13, 30),  # 08:30 EST Sunday: off hours
    ]
    db = history(tmp_path, [paged(t, "nyc") for t in times], [person("nyc", "America/New_York")])
    period = metrics.between(dt.date(2026, 10, 26), dt.date(2026, 11, 9))
    figures = reads.summary(db, period, settings=S)
    assert figures["wake_ups"] == 4 and figures["off_hours_interruptions"] == 1
    assert figures["disturbed_nights"] == 1
    nights = reads.interruption_list(db, period, settings=S)["night"]
    assert {n.date() for n in nights[:4]} == {dt.date(2026, 10, 31)}


def test_weekend_nights_are_sleep_and_weekend_days_off(tmp_path):
    times = [
        utc(2026, 3, 6, 18, 0),  # Fri 18:00: business ends at 18:00 -> off
        utc(2026, 3, 7, 12, 0),  # Sat noon -> off
        utc(2026, 3, 7, 23, 0),  # Sat night -> sleep
        utc(2026, 3, 8, 7, 59),  # Sun 07:59 -> sleep
        utc(2026, 3, 9, 12, 0),  # Mon noon -> business
    ]
    db = history(tmp_path, [paged(t, "uma") for t in times])  # no person row: default UTC
    rows = reads.interruption_list(db, P, settings=S)
    assert list(rows["time_bucket"]) == ["off", "off", "sleep", "sleep", "business"]
    assert reads.summary(db, P, settings=S)["disturbed_nights"] == 1  # both belong to Sat 7th


def test_a_holiday_is_not_a_working_day(tmp_path):
    config = replace(S, teams={"de": TeamSettings(time_zone="Europe/Berlin", hours=Hours(holidays="DE"))})
    times = [utc(2026, 4, 30, 8, 0), utc(2026, 5, 1, 8, 0)]  # 10:00 CEST Thu; Fri 1 May, Labour Day
    db = history(tmp_path, [paged(t, "dev", team="de") for t in times])
    period = metrics.between(dt.date(2026, 4, 27), dt.date(2026, 5, 11))
    rows = reads.interruption_list(db, period, settings=config)
    assert list(rows["time_zone"]) == ["Europe/Berlin"] * 2
    assert list(rows["time_bucket"]) == ["business", "off"]
    # Without the calendar, 1 May is an ordinary Friday.
    plain = replace(S, teams={"de": TeamSettings(time_zone="Europe/Berlin")})
    assert list(reads.interruption_list(db, period, settings=plain)["time_bucket"]) == ["business"] * 2


def test_time_zone_falls_back_to_person_then_team_then_default(tmp_path):
    config = replace(S, default_time_zone="Asia/Kolkata",
                     teams={"ops": TeamSettings(time_zone="America/New_York")})
    when = utc(2026, 3, 3, 14, 0)
    pages = [
        paged(when, "p1", team="ops"),  # no zone, no team -> the alert's team: New York 09:00
        paged(when, "p2", team="web"),  # web has no settings -> default Kolkata 19:30
        paged(when, "p3", team="ops"),  # own zone Sydney: 01:00 Wed
        paged(when, "p4", team="web"),  # no zone, but the person's team is ops -> New York
        paged(when, "p5", team="web"),  # not in people at all -> default
    ]
    people = [person("p1"), person("p2"), person("p3", "Australia/Sydney"), person("p4", team="ops"),
              person("bad", "Not/AZone")]
    db = history(tmp_path, pages, people)
    period = metrics.between(dt.date(2026, 3, 2), dt.date(2026, 3, 16))
    rows = reads.interruption_list(db, period, settings=config).set_index("person_id")
    assert rows.loc["p1", "time_zone"] == "America/New_York" and rows.loc["p1", "time_bucket"] == "business"
    assert rows.loc["p2", "time_zone"] == "Asia/Kolkata" and rows.loc["p2", "time_bucket"] == "off"
    assert rows.loc["p3", "time_zone"] == "Australia/Sydney" and rows.loc["p3", "time_bucket"] == "sleep"
    assert rows.loc["p4", "time_zone"] == "America/New_York"
    assert rows.loc["p5", "time_zone"] == "Asia/Kolkata"


def test_invalid_person_time_zone_falls_back(tmp_path):
    db = history(tmp_path, [paged(utc(2026, 3, 3, 14, 0), "bad")], [person("bad", "Not/AZone")])
    assert list(reads.interruption_list(db, P, settings=S)["time_zone"]) == ["UTC"]


def test_disturbed_nights_are_named_by_the_local_date_they_began(tmp_path):
    times = [utc(2026, 3, 4, 23, 0), utc(2026, 3, 5, 3, 0), utc(2026, 3, 5, 23, 30)]
    db = history(tmp_path, [paged(t, "nat") for t in times])
    rows = reads.interruption_list(db, P, settings=S)
    assert [n.date() for n in rows["night"]] == [dt.date(2026, 3, 4), dt.date(2026, 3, 4), dt.date(2026, 3, 5)]
    figures = reads.summary(db, P, settings=S)
    assert figures["wake_ups"] == 3 and figures["disturbed_nights"] == 2
    load = reads.people_load(db, P, settings=S).iloc[0]
    assert (load["person_id"], load["wake_ups"], load["disturbed_nights"]) == ("nat", 3, 2)


def test_paging_load_per_day_and_week_against_the_ceiling(tmp_path):
    tuesday = [utc(2026, 3, 3, 10, m) for m in range(0, 50, 10)]  # 5 pages
    wednesday = [utc(2026, 3, 4, 10, m) for m in range(0, 40, 10)]  # 4 pages
    db = history(tmp_path, [paged(t, "pat") for t in tuesday + wednesday])
    days = reads.paging_load(db, P, settings=S)
    assert list(days["interruptions"]) == [5, 4] and set(days["ceiling"]) == {4}
    over = reads.over_ceiling(db, P, settings=S)
    assert list(over["person_id"]) == ["pat"] and over["day"].iloc[0].date() == dt.date(2026, 3, 3)
    weeks = reads.paging_load(db, P, per="week", settings=S)
    assert list(weeks["interruptions"]) == [9] and weeks["ceiling"].iloc[0] == 28
    assert reads.over_ceiling(db, P, per="week", settings=S).empty
    strict = replace(S, thresholds=replace(S.thresholds, paging_ceiling_per_shift=1))
    assert len(reads.over_ceiling(db, P, settings=strict)) == 2


def test_paging_load_rejects_unknown_grain(tmp_path):
    with pytest.raises(ValueError):
        reads.paging_load(str(tmp_path / "x.duckdb"), P, per="month", settings=S)


def test_people_paged_counts_distinct_people(tmp_path):
    pages = [paged(utc(2026, 3, 3, 10, 0), "ann"), paged(utc(2026, 3, 3, 11, 0), "ann"),
             paged(utc(2026, 3, 3, 12, 0), "bob")]
    db = history(tmp_path, pages)
    figures = reads.summary(db, P, settings=S)
    assert figures["people_paged"] == 2 and figures["interruptions"] == 3
