"""Rotas written in the configuration: turns at a local hand-over time, synced incrementally like a schedule."""

from __future__ import annotations

import datetime as dt

import pytest

import settings
from ingest.sources import SOURCES
from ingest.sources.rota import turns
from ingest.sync import SyncRequest
from tests.provider_servers import query

UTC = dt.UTC
BERLIN = {"people": ["ana@example.com", "Bo", {"name": "Dev", "email": "dev@example.com", "time_zone": "Asia/Kolkata"}],
          "start": "2026-03-23", "handover": "09:00", "time_zone": "Europe/Berlin", "team": "payments"}


def config(**rota) -> settings.Settings:
    return settings.parse({"rotas": {"primary": {**BERLIN, **rota}}})


def test_hand_over_stays_at_09_00_local_across_the_change_to_summer_time():
    rota = config().rotas["primary"]
    got = list(turns(rota, dt.datetime(2026, 3, 23, tzinfo=UTC), dt.datetime(2026, 4, 14, tzinfo=UTC)))
    assert [(p.person_id, a, b) for p, a, b in got] == [
        ("ana@example.com", dt.datetime(2026, 3, 23, 8, tzinfo=UTC), dt.datetime(2026, 3, 30, 7, tzinfo=UTC)),
        ("Bo", dt.datetime(2026, 3, 30, 7, tzinfo=UTC), dt.datetime(2026, 4, 6, 7, tzinfo=UTC)),
        ("dev@example.com", dt.datetime(2026, 4, 6, 7, tzinfo=UTC), dt.datetime(2026, 4, 13, 7, tzinfo=UTC)),
        ("ana@example.com", dt.datetime(2026, 4, 13, 7, tzinfo=UTC), dt.datetime(2026, 4, 20, 7, tzinfo=UTC)),
    ]
    assert (got[0][2] - got[0][1]) == dt.timedelta(hours=167)  # the week that lost an hour


def test_twelve_hour_turns_and_nothing_before_the_start():
    rota = config(length_days=0.5, people=["a@x.io", "b@x.io"]).rotas["primary"]
    got = list(turns(rota, dt.datetime(2026, 3, 1, tzinfo=UTC), dt.datetime(2026, 3, 24, 12, tzinfo=UTC)))
    assert [(p.person_id, a.hour, b.hour) for p, a, b in got] == [
        ("a@x.io", 8, 20), ("b@x.io", 20, 8), ("a@x.io", 8, 20)]


@pytest.mark.parametrize(("rota", "message"), [
    ({"people": []}, "rotas.primary.people"),
    ({"start": "soon"}, "rotas.primary.start"),
    ({"time_zone": "Mars/Olympus"}, "rotas.primary.time_zone"),
    ({"length_days": 0.3}, "rotas.primary.length_days"),
    ({"handover": "9 o'clock"}, "rotas.primary.handover"),
    ({"people": [{"time_zone": "UTC"}]}, "rotas.primary.people[0]"),
    ({"shift": 3}, "rotas.primary.shift: unknown key"),
])
def test_a_bad_rota_is_one_line_naming_the_key(rota, message):
    with pytest.raises(settings.ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        config(**rota)


def test_sync_is_incremental_idempotent_and_editing_the_rota_changes_only_days_from_the_last_sync(db):
    rota = SOURCES["rota"]
    first = rota.sync(db, config(), SyncRequest(now=dt.datetime(2026, 4, 8, 12, tzinfo=UTC)))
    assert first.status == "ok" and first.by_table["people"] == 3
    hours = "SELECT person_id, sum(epoch(ends_at - starts_at)) / 3600 FROM on_call_shifts GROUP BY ALL ORDER BY 1"
    assert query(db, hours) == [("Bo", 168.0), ("ana@example.com", 167.0), ("dev@example.com", 53.0)]
    assert query(db, "SELECT DISTINCT team, schedule, source FROM on_call_shifts") == [("payments", "primary", "rota")]
    assert query(db, "SELECT time_zone FROM people WHERE person_id = 'dev@example.com'") == [("Asia/Kolkata",)]
    rota.sync(db, config(), SyncRequest(now=dt.datetime(2026, 4, 8, 12, tzinfo=UTC)))
    assert query(db, hours)[2] == ("dev@example.com", 53.0)
    # Dev leaves the rota: from the (UTC) day of the last sync on, Ana takes the turn; the past stays.
    # Dev keeps 04-06 07:00 to 04-08 00:00 (41 h); Ana has 04-08 00:00 to 04-10 12:00 (60 h).
    edited = config(people=["ana@example.com", "Bo"], start="2026-04-06")
    rota.sync(db, edited, SyncRequest(now=dt.datetime(2026, 4, 10, 12, tzinfo=UTC)))
    assert query(db, hours) == [("Bo", 168.0), ("ana@example.com", 167.0 + 60), ("dev@example.com", 41.0)]


def test_a_rota_from_csv_replaces_the_days_it_covers_and_quarantines_bad_rows(db, tmp_path):
    import subprocess
    import sys

    from tests.conftest import ROOT

    rota_file = tmp_path / "rota.csv"
    rota_file.write_text(
        "Person,Schedule,Start,End,Team,Time zone\n"
        "ana@example.com,primary,2026-03-28 09:00,2026-03-29 09:00,payments,Europe/Berlin\n"
        "Bo,primary,2026-03-29 09:00,2026-03-30 09:00,payments,Europe/Berlin\n"
        "Bo,primary,2026-03-30 09:00,2026-03-30 08:00,payments,Europe/Berlin\n"
        "Bo,primary,2126-03-30 09:00,2126-03-31 09:00,payments,Europe/Berlin\n", encoding="utf-8")  # not yet: skipped

    def run():
        return subprocess.run([sys.executable, "-m", "ingest", "import", str(rota_file), "--format", "shifts-csv",
                               "--db", db], cwd=ROOT, capture_output=True, text=True, timeout=120)

    first = run()
    assert first.returncode == 1 and "1 rows quarantined" in first.stderr  # the shift that ends before it starts
    hours = "SELECT person_id, sum(epoch(ends_at - starts_at)) / 3600 FROM on_call_shifts GROUP BY ALL ORDER BY 1"
    assert query(db, hours) == [("Bo", 24.0), ("ana@example.com", 23.0)]  # the clocks go forward on the 29th
    rota_file.write_text("Person,Schedule,Start,End\nana@example.com,primary,2026-03-29T07:00Z,2026-03-30T07:00Z\n",
                         encoding="utf-8")
    assert run().returncode == 0
    assert query(db, hours) == [("ana@example.com", 23.0 + 24.0)]  # Bo's day was replaced: Ana covered it
