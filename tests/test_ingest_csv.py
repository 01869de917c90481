"""CSV exports: headers found by name, dates in the common formats, one error for missing columns."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

import settings
import store
import store.staging
from ingest import cli
from ingest.imports import FORMATS, ImportFailed
from ingest.mapping import MappingError, map_each
from ingest.sources import csv_exports
from ingest.sources.csv_exports import (
    PAGERDUTY_COLUMNS,
    PAGERDUTY_REQUIRED,
    TimeReading,
    decide_date_order,
    map_pagerduty_row,
    parse_export_time,
)
from tests.provider_servers import query, scalar

FIXTURES = Path(__file__).parent / "fixtures"
UTC = dt.UTC


def test_a_pagerduty_export_loads_by_header_name_with_every_date_format(db, capsys):
    code = cli.main(["import", str(FIXTURES / "pagerduty_incidents_export.csv"), "--format", "pagerduty-csv",
                     "--db", db])
    out, err = capsys.readouterr()
    assert code == 1 and "1 rows quarantined" in err  # the row whose date is not a date
    rows = {r[0]: r[1:] for r in query(db, "SELECT source_id, created_at, acknowledged_at, resolved_at, team, "
                                           "auto_resolved, escalations, signature, url FROM alerts")}
    assert set(rows) == {"Q1AAA", "Q1AAB", "Q1AAC", "Q1AAD"}
    assert rows["Q1AAA"][:3] == (dt.datetime(2026, 5, 22, 2, 13, 9, tzinfo=UTC),
                                 dt.datetime(2026, 5, 22, 2, 16, 40, tzinfo=UTC),
                                 dt.datetime(2026, 5, 22, 2, 41, 55, tzinfo=UTC))
    assert rows["Q1AAB"][0] == dt.datetime(2026, 5, 22, 2, 0, tzinfo=UTC) and rows["Q1AAB"][4] is True
    assert rows["Q1AAC"][0] == dt.datetime(2026, 5, 23, 23, 15, tzinfo=UTC) and rows["Q1AAC"][2] is None
    assert rows["Q1AAD"][0] == dt.datetime(2026, 5, 23, 23, 0, tzinfo=UTC)  # Berlin summer time
    assert rows["Q1AAD"][3] == "unassigned" and rows["Q1AAD"][5] == 2
    assert rows["Q1AAA"][6] == "Postgres Prod|cpu > #% on db-prod-#"
    assert "not a time" in scalar(db, "SELECT reason FROM quarantine")


def test_importing_twice_adds_nothing(db):
    path = str(FIXTURES / "pagerduty_incidents_export.csv")
    for _ in range(2):
        FORMATS["pagerduty-csv"].load(path, db, settings.Settings())
    assert scalar(db, "SELECT count(*) FROM alerts") == 4


def test_an_opsgenie_export_with_semicolons_and_epoch_milliseconds(db, capsys):
    code = cli.main(["import", str(FIXTURES / "opsgenie_alerts_export.csv"), "--format", "opsgenie-csv", "--db", db])
    assert code == 0, capsys.readouterr().err
    rows = query(db, "SELECT source, source_id, created_at, resolved_at, team, service FROM alerts ORDER BY 2")
    assert rows[0] == ("opsgenie", "70413a06-38d6-4c85-92b8-5ebc900d42e2",
                       dt.datetime(2026, 5, 22, 2, 13, 9, 353000, tzinfo=UTC),
                       dt.datetime(2026, 5, 22, 2, 41, 55, 353000, tzinfo=UTC), "Data Platform", "Prometheus")
    assert rows[1][3] is None and rows[1][4] == "Checkout"


def test_a_file_missing_required_columns_gets_one_error_naming_them(db, tmp_path, capsys):
    path = tmp_path / "export.csv"
    path.write_text("Incident Number,Urgency\n1,high\n")
    assert cli.main(["import", str(path), "--format", "pagerduty-csv", "--db", db]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "missing required columns: 'title' or 'service name', 'created on'" in err


def test_an_unreadable_file_is_a_usage_error(db, tmp_path, capsys):
    assert cli.main(["import", str(tmp_path / "nope.csv"), "--format", "opsgenie-csv", "--db", db]) == 2
    assert "cannot read" in capsys.readouterr().err


@pytest.mark.parametrize("text, expected", [
    ("2026-05-22T02:13:09Z", dt.datetime(2026, 5, 22, 2, 13, 9, tzinfo=UTC)),
    ("2026-05-22 02:13:09 UTC", dt.datetime(2026, 5, 22, 2, 13, 9, tzinfo=UTC)),
    ("2026-05-22T04:13:09+02:00", dt.datetime(2026, 5, 22, 2, 13, 9, tzinfo=UTC)),
    ("2026-05-22 02:13:09 GMT-05:00", dt.datetime(2026, 5, 22, 7, 13, 9, tzinfo=UTC)),
    ("05/22/2026 02:13:09 PM", dt.datetime(2026, 5, 22, 14, 13, 9, tzinfo=UTC)),
    ("22.05.2026 02:13", dt.datetime(2026, 5, 22, 2, 13, tzinfo=UTC)),
    ("May 22, 2026 2:13:09 AM", dt.datetime(2026, 5, 22, 2, 13, 9, tzinfo=UTC)),
    ("Fri, 22 May 2026 02:13:09 +0000", dt.datetime(2026, 5, 22, 2, 13, 9, tzinfo=UTC)),
    ("1779415989", dt.datetime(2026, 5, 22, 2, 13, 9, tzinfo=UTC)),
    ("2026-01-10 09:00:00 America/New_York", dt.datetime(2026, 1, 10, 14, 0, tzinfo=UTC)),
    ("", None),
])
def test_export_times_in_common_formats(text, expected):
    assert parse_export_time(text) == expected


def test_naive_export_times_are_read_in_the_configured_zone():
    assert parse_export_time("2026-05-22 10:00:00", ZoneInfo("Europe/Berlin")) == dt.datetime(2026, 5, 22, 8,
                                                                                             tzinfo=UTC)
    with pytest.raises(MappingError):
        parse_export_time("yesterday")


def test_map_pagerduty_row_rejects_a_resolve_before_creation():
    assert PAGERDUTY_REQUIRED and "created" in PAGERDUTY_COLUMNS
    fields = {"id": "Q", "title": "t", "created": "2026-05-22T10:00:00Z", "resolved": "2026-05-22T09:00:00Z"}
    mapped = map_each("csv", [fields], lambda f: map_pagerduty_row(f, f, TimeReading(), settings.Settings()))
    assert not mapped.rows and "resolved_at 2026-05-22T09:00:00+00:00 is before created_at" in mapped.rejected[0].reason


# --- the date order of a file: decided once, from all of its dates -------------------------------------------


def _export(path: Path, created: list[str]) -> str:
    path.write_text("ID,Title,Created On\n" + "".join(f"P{k},Disk full,{c}\n" for k, c in enumerate(created)))
    return str(path)


def test_the_reported_file_is_read_day_first_throughout_not_guessed_row_by_row(db, tmp_path):
    path = _export(tmp_path / "eu.csv", ["04/03/2026 10:00", "25/03/2026 10:00", "12/03/2026 10:00"])
    assert cli.main(["import", path, "--format", "pagerduty-csv", "--db", db]) == 0
    days = [r[0].date() for r in query(db, "SELECT created_at FROM alerts ORDER BY source_id")]
    assert days == [dt.date(2026, 3, 4), dt.date(2026, 3, 25), dt.date(2026, 3, 12)]


def test_an_ambiguous_file_needs_date_order_and_says_so_in_one_line(db, tmp_path, capsys):
    path = _export(tmp_path / "either.csv", ["04/03/2026 10:00", "05/03/2026 10:00"])
    assert cli.main(["import", path, "--format", "pagerduty-csv", "--db", db]) == 2
    err = capsys.readouterr().err.strip()
    assert "--date-order dmy or mdy" in err and "'04/03/2026 10:00' (line 2)" in err and "\n" not in err
    assert not Path(db).exists()  # nothing written, not even an empty database
    assert cli.main(["import", path, "--format", "pagerduty-csv", "--db", db, "--date-order", "dmy"]) == 0
    assert query(db, "SELECT min(created_at)::DATE FROM alerts") == [(dt.date(2026, 3, 4),)]


def test_a_file_in_both_orders_or_against_the_option_is_refused(db, tmp_path, capsys):
    mixed = _export(tmp_path / "mixed.csv", ["25/03/2026 10:00", "03/25/2026 10:00"])
    assert cli.main(["import", mixed, "--format", "pagerduty-csv", "--db", db]) == 2
    assert "dates in both orders" in capsys.readouterr().err
    eu = _export(tmp_path / "eu.csv", ["25/03/2026 10:00"])
    assert cli.main(["import", eu, "--format", "pagerduty-csv", "--db", db, "--date-order", "mdy"]) == 2
    assert "can only be day/month" in capsys.readouterr().err


@given(days=st.lists(st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2026, 11, 1)), min_size=1, max_size=30),
       order=st.sampled_from(["dmy", "mdy"]))
@hsettings(max_examples=60, deadline=None)
def test_every_date_of_a_file_is_read_in_one_order_or_the_file_is_refused(days, order):
    texts = [d.strftime("%d/%m/%Y" if order == "dmy" else "%m/%d/%Y") for d in days]
    try:
        decided = decide_date_order(enumerate(texts, 2), "f.csv", None)
    except ImportFailed as exc:
        assert all(d.day <= 12 for d in days) and "--date-order" in str(exc)
        decided = decide_date_order(enumerate(texts, 2), "f.csv", order)  # the option settles it
    read = [parse_export_time(t, order=decided).date() for t in texts]
    assert read == days or all(d.day == d.month for d in days)


def test_a_line_the_csv_reader_cannot_take_stops_the_file_before_anything_is_written(db, tmp_path, capsys,
                                                                                     monkeypatch):
    monkeypatch.setattr(csv_exports, "MAX_FIELD_CHARS", 1000)
    lines = [f"P{k},Disk full,2026-03-02T09:{k % 60:02d}:00Z\n" for k in range(35)]
    lines.insert(25, f"P99,{'x' * 2000},2026-03-02T09:00:00Z\n")  # longer than the csv module takes
    path = tmp_path / "broken.csv"
    path.write_text("ID,Title,Created On\n" + "".join(lines))
    limit = csv.field_size_limit(1000)
    try:
        assert cli.main(["import", str(path), "--format", "pagerduty-csv", "--db", db]) == 2
    finally:
        csv.field_size_limit(limit)
    err = capsys.readouterr().err
    assert "line 27: field larger than field limit" in err and err.count("\n") == 1
    assert not Path(db).exists()  # the first pass (the date order) reads every line before anything is written


# --- staged: mapped outside the lock, then written in few turns (store.staging) ----------------------------------


def _incidents(path: Path, ids: range, title: str = "Disk full", resolved: bool = True) -> str:
    path.write_text("ID,Title,Created On,Resolved On,Service Name\n" + "".join(
        f"P{k},{title},2026-03-02T09:{k % 60:02d}:00Z,{'2026-03-02T10:00:00Z' if resolved else ''},db\n"
        for k in ids))
    return str(path)


def _staged_files(db: str) -> list[Path]:
    staging = Path(db + ".staging")
    return sorted(staging.iterdir()) if staging.exists() else []


def test_a_failed_write_turn_leaves_no_staged_file_and_the_rerun_loads_the_rest_once(db, tmp_path, capsys,
                                                                                     monkeypatch):
    path = _incidents(tmp_path / "export.csv", range(50))
    monkeypatch.setattr(csv_exports, "BATCH_ROWS", 7)  # several staged batches
    monkeypatch.setattr(store.staging, "TURN_ROWS", 20)  # 50 rows: three turns
    upsert, turns = store.staging.Staging.upsert, []

    def second_turn_fails(self, con, table, rows, merge=None):
        turns.append(rows)
        if len(turns) == 2:  # the database goes away under the second turn
            raise store.DatabaseError(f"cannot open database {db}: disk I/O error")
        return upsert(self, con, table, rows, merge)

    monkeypatch.setattr(store.staging.Staging, "upsert", second_turn_fails)
    assert cli.main(["import", path, "--format", "pagerduty-csv", "--db", db]) == 1
    err = capsys.readouterr().err
    assert "disk I/O error" in err and "20 alerts from the file before that point were loaded" in err
    assert turns == [(0, 20), (20, 40)] and _staged_files(db) == []
    assert scalar(db, "SELECT count(*) FROM alerts") == 20
    assert query(db, "SELECT status, rows_loaded FROM ingest_runs") == [("failed", 20)]

    monkeypatch.setattr(store.staging.Staging, "upsert", upsert)
    assert cli.main(["import", path, "--format", "pagerduty-csv", "--db", db]) == 0
    assert query(db, "SELECT count(*), count(DISTINCT source_id) FROM alerts") == [(50, 50)]
    assert _staged_files(db) == []


def test_a_staged_import_keeps_what_the_store_knows_and_takes_the_first_value_of_a_repeated_row(db, tmp_path,
                                                                                               monkeypatch):
    monkeypatch.setattr(csv_exports, "BATCH_ROWS", 3)
    monkeypatch.setattr(store.staging, "TURN_ROWS", 4)  # repeats fall in other batches and other turns
    FORMATS["pagerduty-csv"].load(_incidents(tmp_path / "open.csv", range(3), resolved=False), db, settings.Settings())
    twice = tmp_path / "twice.csv"
    twice.write_text(_incidents_text(range(10), "First") + _incidents_text(range(10), "Second", header=False))
    run = FORMATS["pagerduty-csv"].load(str(twice), db, settings.Settings())
    rows = dict(query(db, "SELECT source_id, title || '/' || (resolved_at IS NOT NULL) FROM alerts"))
    # P0..P2 were stored open as "Disk full": their title stays, the resolve they lacked is filled in.
    assert [rows[f"P{k}"] for k in range(4)] == ["Disk full/true"] * 3 + ["First/true"]
    assert len(rows) == 10 and run.totals.by_table["alerts"] == 20 and _staged_files(db) == []


def _incidents_text(ids: range, title: str, header: bool = True) -> str:
    return ("ID,Title,Created On,Resolved On,Service Name\n" if header else "") + "".join(
        f"P{k},{title},2026-03-02T09:{k % 60:02d}:00Z,2026-03-02T10:00:00Z,db\n" for k in ids)


def test_files_staged_by_an_import_that_was_killed_are_removed_by_the_next_run(db, tmp_path):
    path = _incidents(tmp_path / "export.csv", range(5))
    FORMATS["pagerduty-csv"].load(path, db, settings.Settings())
    left = Path(db + ".staging")
    left.mkdir(exist_ok=True)  # the first import left it, empty
    (left / "0123abcd.alerts.parquet").write_bytes(b"PAR1 a killed import's half-written rows")
    FORMATS["pagerduty-csv"].load(path, db, settings.Settings())
    assert _staged_files(db) == [] and scalar(db, "SELECT count(*) FROM alerts") == 5
