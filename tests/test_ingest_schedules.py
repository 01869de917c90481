"""On-call schedules of PagerDuty, Opsgenie and Grafana OnCall, synced from local servers that behave as documented."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

import settings
from ingest.mapping import map_each
from ingest.sources import schedules
from ingest.sync import Context, ScheduleRef
from ingest.windows import Window
from tests import schedule_servers as ss
from tests.provider_servers import (
    FakeOnCall,
    FakeOpsgenie,
    FakePagerDuty,
    oncall_history,
    opsgenie_history,
    pagerduty_history,
    query,
    run_source,
    serve,
)

OFFICIAL = Path(__file__).parent / "fixtures"
START = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)  # a Monday; every turn is a week from here
NOW = dt.datetime(2026, 5, 4, 12, tzinfo=dt.UTC)
CTX = Context(settings.Settings())
WIDE = Window(dt.datetime(2000, 1, 1, tzinfo=dt.UTC), dt.datetime(2100, 1, 1, tzinfo=dt.UTC))


def _official(provider: str, name: str):
    return json.loads((OFFICIAL / provider / "official" / name).read_text())


def hours_by_person(db: str, source: str, level: int = 1) -> dict[str, float]:
    rows = query(db, "SELECT person_id, sum(epoch(ends_at - starts_at)) / 3600 FROM on_call_shifts "
                     "WHERE source = ? AND escalation_level = ? GROUP BY ALL", [source, level])
    return {person: round(hours, 3) for person, hours in rows}


def no_piece_crosses_midnight(db: str) -> bool:
    return query(db, "SELECT count(*) FROM on_call_shifts WHERE ends_at > date_trunc('day', starts_at AT TIME ZONE 'UTC')"
                     " AT TIME ZONE 'UTC' + INTERVAL 1 DAY")[0][0] == 0


# --- the vendors' own examples, mapped ----------------------------------------------------------------


def test_pagerduty_official_oncall_maps_to_a_level_2_shift_in_utc():
    page = _official("pagerduty", "listOnCalls.json")
    mapped = map_each("oncalls", page["oncalls"], lambda r: schedules.map_pagerduty_oncall(r, CTX, None, WIDE))
    [shift] = mapped.rows["on_call_shifts"]
    assert not mapped.rejected
    assert shift["person_id"] == "PT23IWX" and shift["schedule_id"] == "PI7DH85"
    assert shift["schedule"] == "Daily Engineering Rotation" and shift["escalation_level"] == 2
    # 2015-03-06T15:28:51-05:00 is 20:28:51 UTC
    assert shift["starts_at"] == dt.datetime(2015, 3, 6, 20, 28, 51, tzinfo=dt.UTC)
    assert shift["ends_at"] - shift["starts_at"] == dt.timedelta(days=1)


def test_pagerduty_permanent_oncall_lasts_the_window_and_belongs_to_its_policy():
    record = {"user": {"id": "PU1"}, "schedule": None, "escalation_policy": {"id": "PEP", "summary": "Ops"},
              "escalation_level": 1, "start": None, "end": None}
    window = Window(START, START + dt.timedelta(days=2))
    [shift] = schedules.map_pagerduty_oncall(record, CTX, None, window).rows["on_call_shifts"]
    assert (shift["schedule_id"], shift["schedule"]) == ("escalation_policy:PEP", "Ops")
    assert (shift["starts_at"], shift["ends_at"]) == (window.start, window.end)


def test_oncall_official_final_shifts_map_one_shift_each():
    page = _official("oncall", "final_shifts.json")
    ref = ScheduleRef("SBM7DV7BKFUYU", "Demo schedule iCal", "Checkout")
    mapped = map_each("final_shifts", page["results"], lambda r: schedules.map_oncall_final_shift(r, CTX, ref, WIDE))
    rows = mapped.rows["on_call_shifts"]
    assert len(rows) == page["count"] == 12 and not mapped.rejected
    assert {r["person_id"] for r in rows} == {"UC2CHRT5SD34X", "U7S8H84ARFTGN"}
    assert all(r["ends_at"] - r["starts_at"] == dt.timedelta(hours=8) and r["team"] == "Checkout" for r in rows)


def test_oncall_official_schedules_list_refs():
    page = _official("oncall", "schedules.json")
    refs = [schedules.oncall_schedule(r, CTX) for r in page["results"]]
    assert [(r.schedule_id, r.name) for r in refs] == [("SBM7DV7BKFUYU", "Demo schedule iCal"),
                                                      ("S3Z477AHDXTMF", "Demo schedule Calendar")]


def test_opsgenie_timeline_keeps_users_and_skips_no_one_and_teams():
    ref = ScheduleRef("d875alp4", "ScheduleName", "ops")
    mapped = schedules.map_opsgenie_timeline(_official("opsgenie", "schedule_timeline.json"), CTX, ref, WIDE)
    rows = mapped.rows["on_call_shifts"]
    assert [(r["person_id"][:8], (r["ends_at"] - r["starts_at"]).total_seconds() / 3600) for r in rows] == [
        ("b3578948", 24.0), ("8a3a8dbd", 57.0)]


def test_a_shift_that_ends_before_it_starts_is_quarantined():
    record = {"user_pk": "U1", "shift_start": "2026-03-02T10:00:00Z", "shift_end": "2026-03-02T09:00:00Z"}
    mapped = map_each("final_shifts", [record],
                      lambda r: schedules.map_oncall_final_shift(r, CTX, ScheduleRef("S", "S"), WIDE))
    assert not mapped.rows and "before it starts" in mapped.rejected[0].reason


# --- syncing from the test servers ------------------------------------------------------------------------

PEOPLE = [("PUSER01", "Ana Ruiz"), ("PUSER02", "Bo Chen"), ("PUSER03", "Cy Okafor")]


def _rotas() -> ss.Rotas:
    turns = ss.weekly("PSCHED1", "Primary", PEOPLE, START, 10) + ss.weekly("PSCHED1", "Primary", PEOPLE[1:], START, 10, 2)
    turns.append(ss.Turn("PEPOL02", "Ops", "PUSER03", "Cy Okafor", None, None, 3))  # a permanent on-call
    return ss.Rotas(turns, [{"id": "PSCHED1", "name": "Primary", "enabled": True,
                             "ownerTeam": {"id": "TEAM1", "name": "Checkout"}, "timezone": "Europe/Berlin"}])


def test_pagerduty_oncalls_windows_pages_levels_and_a_second_sync_changes_nothing(monkeypatch, db):
    history = pagerduty_history(5, START, 3600)
    history.rotas = _rotas()
    fake = FakePagerDuty("pd-token-123456", history)
    with serve(fake) as url:
        first = run_source(monkeypatch, db, "pagerduty", url, "pd-token-123456", {"page_size": 2},
                           since=START, now=NOW)
        assert first.status == "ok", first.error
        calls = fake.served("/oncalls")
        assert all(c.query["time_zone"] == ["UTC"] and c.query["limit"] == ["2"] for c in calls)
        windows = sorted({(c.query["since"][0], c.query["until"][0]) for c in calls})
        assert windows[0][0] == "2026-03-02T00:00:00Z"  # from the UTC midnight before --since
        assert all(ss.ts(u) - ss.ts(s) <= 30 * 86400 for s, u in windows)
        assert len(calls) > len(windows)  # pages of two
        stored = hours_by_person(db, "pagerduty")
        # Weekly turns from START to NOW (63 days and 3 hours): Ana has weeks 0, 3, 6 and 3 hours of
        # week 9; Bo 1, 4, 7; Cy 2, 5, 8.
        assert stored == {"PUSER01": 3 * 168.0 + 3, "PUSER02": 3 * 168.0, "PUSER03": 3 * 168.0}
        assert set(hours_by_person(db, "pagerduty", 2)) == {"PUSER02", "PUSER03"}
        permanent = query(db, "SELECT min(starts_at), max(ends_at), any_value(schedule) FROM on_call_shifts "
                              "WHERE escalation_level = 3")[0]
        assert permanent[1] == NOW and permanent[2] == "Engineering Escalation Policy"
        assert no_piece_crosses_midnight(db)
        before = query(db, "SELECT * FROM on_call_shifts ORDER BY ALL")
        again = run_source(monkeypatch, db, "pagerduty", url, "pd-token-123456", {"page_size": 2}, now=NOW)
        assert again.status == "ok" and query(db, "SELECT * FROM on_call_shifts ORDER BY ALL") == before


def test_pagerduty_an_override_made_later_replaces_those_days_only(monkeypatch, db):
    history = pagerduty_history(5, START, 3600)
    history.rotas = _rotas()
    with serve(FakePagerDuty("pd-token-123456", history)) as url:
        run_source(monkeypatch, db, "pagerduty", url, "pd-token-123456", since=START, now=NOW)
        # Bo covers Ana's second turn after all: the provider's answer for those days changes.
        turns = history.rotas.turns
        k = next(i for i, t in enumerate(turns) if t.user == "PUSER01" and t.start == START + dt.timedelta(weeks=3))
        turns[k] = ss.Turn("PSCHED1", "Primary", "PUSER02", "Bo Chen", turns[k].start, turns[k].end)
        run_source(monkeypatch, db, "pagerduty", url, "pd-token-123456", since=START + dt.timedelta(weeks=3),
                   until=START + dt.timedelta(weeks=4), now=NOW)
    stored = hours_by_person(db, "pagerduty")
    assert stored == {"PUSER01": 2 * 168.0 + 3, "PUSER02": 4 * 168.0, "PUSER03": 3 * 168.0}


def test_opsgenie_timeline_per_schedule_in_day_windows(monkeypatch, db):
    history = opsgenie_history(4, START, 3600)
    history.rotas = ss.Rotas(ss.weekly("S-PRIMARY", "Primary", PEOPLE, START, 10),
                             [{"id": "S-PRIMARY", "name": "Primary", "enabled": True,
                               "ownerTeam": {"id": "T1", "name": "Checkout"}},
                              {"id": "S-OFF", "name": "Disabled", "enabled": False}])
    fake = FakeOpsgenie("og-key-123456", history)
    with serve(fake) as url:
        result = run_source(monkeypatch, db, "opsgenie", url, "og-key-123456", since=START, now=NOW)
    assert result.status == "ok", result.error
    calls = fake.served("/v2/schedules/")
    assert {c.path for c in calls} == {"/v2/schedules/S-PRIMARY/timeline"}  # a disabled schedule is not read
    assert all(c.query["intervalUnit"] == ["days"] and int(c.query["interval"][0]) <= 30 for c in calls)
    assert hours_by_person(db, "opsgenie") == {"PUSER01": 3 * 168.0 + 3, "PUSER02": 3 * 168.0, "PUSER03": 3 * 168.0}
    assert query(db, "SELECT DISTINCT schedule, team FROM on_call_shifts") == [("Primary", "Checkout")]
    assert no_piece_crosses_midnight(db)


def test_oncall_final_shifts_per_schedule_within_a_year_each(monkeypatch, db):
    history = oncall_history(4, START, 3600)
    people = [("UCGEIXI1MR1N1", "ana"), ("UCGEIXI1MR1N2", "bo")]
    history.rotas = ss.Rotas(ss.weekly("SBM7DV7BKFUYU", "Primary", people, START - dt.timedelta(weeks=60), 70),
                             [{"id": "SBM7DV7BKFUYU", "name": "Primary", "team_id": "TE5EF3RQHJQP1"}])
    fake = FakeOnCall("oncall-token-1234", history)
    since = START - dt.timedelta(days=400)
    with serve(fake) as url:
        result = run_source(monkeypatch, db, "oncall", url, "oncall-token-1234", since=since, now=NOW)
    assert result.status == "ok", result.error
    calls = fake.served("/api/v1/schedules/SBM7DV7BKFUYU/final_shifts", 200)
    assert calls and not fake.served("/api/v1/schedules/SBM7DV7BKFUYU/final_shifts", 400)
    # The rota covers all of [since, NOW): 463.5 days from the midnight before since, in 16 windows of 30 days.
    assert len(calls) == 16 and {c.query["start_date"][0][-5:] for c in calls} == {"00:00"}
    total = sum(hours_by_person(db, "oncall").values())
    assert total == (NOW - dt.datetime(2025, 1, 26, tzinfo=dt.UTC)).total_seconds() / 3600
    assert query(db, "SELECT DISTINCT team FROM on_call_shifts") == [("Data Platform",)]


def test_oncall_server_refuses_what_the_vendor_refuses():
    rotas = ss.Rotas([], [{"id": "S1", "name": "S"}])
    for params in ({"start_date": ["2026-01-01"], "end_date": ["2027-01-05"]},
                   {"start_date": ["2026-02-01"], "end_date": ["2026-01-01"]},
                   {"start_date": ["2026-01-01T00:00:00Z"], "end_date": ["2026-01-02"]}):
        with pytest.raises(ss.BadRequest):
            ss.oncall_final_shifts(rotas, "S1", params, {})


@pytest.mark.parametrize("source", ["pagerduty", "opsgenie", "oncall"])
def test_the_turn_running_now_is_stored_up_to_now_not_quarantined_as_future(monkeypatch, db, source):
    now = dt.datetime.now(dt.UTC)
    first = (now - dt.timedelta(days=10)).replace(microsecond=0)
    people = {"pagerduty": PEOPLE[:2], "opsgenie": PEOPLE[:2], "oncall": [("UCGEIXI1MR1N1", "ana"),
                                                                         ("UCGEIXI1MR1N2", "bo")]}[source]
    rotas = ss.Rotas(ss.weekly("SCHED1", "Primary", people, first, 3),  # the second turn ends 4 days from now
                     [{"id": "SCHED1", "name": "Primary", "enabled": True, "team_id": None}])
    fake, secret = {
        "pagerduty": (FakePagerDuty, "pd-token-123456"), "opsgenie": (FakeOpsgenie, "og-key-123456"),
        "oncall": (FakeOnCall, "oncall-token-1234")}[source]
    history = {"pagerduty": pagerduty_history, "opsgenie": opsgenie_history, "oncall": oncall_history}[source](
        2, first, 3600)
    history.rotas = rotas
    with serve(fake(secret, history)) as url:
        result = run_source(monkeypatch, db, source, url, secret, since=first)
    assert result.status == "ok" and result.quarantined == 0, result.error
    latest = query(db, "SELECT max(ends_at) FROM on_call_shifts")[0][0]
    assert latest <= dt.datetime.now(dt.UTC) and latest > now - dt.timedelta(minutes=5)
    total = sum(hours_by_person(db, source).values())
    assert total == pytest.approx((latest - first).total_seconds() / 3600, abs=0.01)
