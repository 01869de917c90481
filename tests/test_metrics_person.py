"""One person across sources (METRICS.md, Person): the same e-mail, else the same full name.

Ana is a PagerDuty user (Europe/Madrid), an Opsgenie user with her e-mail in capitals and no
time zone, an e-mail in JSM's log, and a name in a CSV export's "acknowledged by". Bo Chen is a
PagerDuty user and an Opsgenie user with another e-mail: two people. Worked out by hand, in
Madrid time (UTC+1 in March): Ana is paged at 03:00 and 04:00 on the 3rd (one night, the 2nd's),
at 11:00 on the 3rd and at 10:00 on the 4th (the CSV alert's fallback).
"""

from __future__ import annotations

import datetime as dt

import reads
from metrics_fixtures import T0, alert, build, page

import metrics
from settings import Settings

S = Settings()
P = metrics.sprint_period(S, T0.date())
UTC = dt.UTC


def who(source: str, person_id: str, name: str | None, email: str | None, time_zone: str | None = None) -> dict:
    return {"source": source, "person_id": person_id, "name": name, "email": email, "time_zone": time_zone,
            "team": None}


PEOPLE = [
    who("pagerduty", "PANA", "Ana Ruiz", "ana@acme.example", "Europe/Madrid"),
    who("opsgenie", "og-ana", "Ana Ruiz", "ANA@acme.example"),
    who("jsm", "ana@acme.example", None, "ana@acme.example"),
    who("pagerduty", "PBO", "Bo Chen", "bo@acme.example", "Asia/Singapore"),
    who("opsgenie", "og-bo", "Bo  Chen", "bo.chen@other.example", "Asia/Singapore"),
]


def test_per_person_figures_join_people_of_every_source(tmp_path):
    night_pd = alert(dt.datetime(2026, 3, 3, 2, 0, tzinfo=UTC), ack_s=60, resolve_s=600, source="pagerduty")
    night_og = alert(dt.datetime(2026, 3, 3, 3, 0, tzinfo=UTC), ack_s=60, resolve_s=600, source="opsgenie")
    day_jsm = alert(dt.datetime(2026, 3, 3, 10, 0, tzinfo=UTC), ack_s=60, resolve_s=600, source="jsm")
    csv = alert(dt.datetime(2026, 3, 4, 9, 0, tzinfo=UTC), ack_s=60, resolve_s=600, source="csv",
                acknowledged_by="Ana  Ruiz", notifications_known=False)
    bo_pd = alert(dt.datetime(2026, 3, 5, 9, 0, tzinfo=UTC), ack_s=60, resolve_s=600, source="pagerduty")
    bo_og = alert(dt.datetime(2026, 3, 5, 10, 0, tzinfo=UTC), ack_s=60, resolve_s=600, source="opsgenie")
    alerts = [night_pd, night_og, day_jsm, csv, bo_pd, bo_og]
    for a in alerts:
        a.setdefault("notifications_known", True)
    notes = [page(night_pd, "PANA", 0, "sms"), page(night_og, "og-ana", 0, "push"),
             page(day_jsm, "ana@acme.example", 0, "phone"), page(bo_pd, "PBO"), page(bo_og, "og-bo")]
    db = build(tmp_path / "p.duckdb", alerts=alerts, notifications=notes, people=PEOPLE)

    people = reads.people_load(db, P, settings=S).set_index("person_name")
    assert sorted(people.index) == ["Ana Ruiz", "Bo  Chen", "Bo Chen"]  # two Bo Chens: two e-mails
    ana = people.loc["Ana Ruiz"]
    assert (ana["interruptions"], ana["wake_ups"], ana["disturbed_nights"]) == (4, 2, 1)
    assert (ana["business_hours_interruptions"], ana["off_hours_interruptions"]) == (2, 0)
    rows = reads.interruption_list(db, P, settings=S)
    anas = rows[rows["person_name"] == "Ana Ruiz"]
    assert set(anas["person_id"]) == {"ana@acme.example"}  # shown by one id: its first row's (jsm)
    assert set(anas["time_zone"]) == {"Europe/Madrid"}  # the Opsgenie row had none: her PagerDuty one
    assert [str(at)[:16] for at in anas["local_at"]] == [
        "2026-03-03 03:00", "2026-03-03 04:00", "2026-03-03 11:00", "2026-03-04 10:00"]
    figures = reads.summary(db, P, settings=S)
    assert (figures["people_paged"], figures["disturbed_nights"]) == (3, 1)


def test_a_name_shared_by_two_e_mails_names_nobody(tmp_path):
    """A CSV's "Bo Chen" could be either Bo: it stays a person of its own."""
    csv = alert(dt.datetime(2026, 3, 4, 9, 0, tzinfo=UTC), ack_s=60, resolve_s=600, source="csv",
                acknowledged_by="Bo Chen", notifications_known=False)
    bo_pd = alert(dt.datetime(2026, 3, 5, 9, 0, tzinfo=UTC), ack_s=60, resolve_s=600, source="pagerduty",
                  notifications_known=True)
    db = build(tmp_path / "b.duckdb", alerts=[csv, bo_pd], notifications=[page(bo_pd, "PBO")], people=PEOPLE)
    assert reads.summary(db, P, settings=S)["people_paged"] == 2
