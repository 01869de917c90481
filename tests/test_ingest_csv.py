"""CSV exports: headers found by name, dates in the common formats, one error for missing columns."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import settings
from ingest import cli
from ingest.imports import FORMATS
from ingest.mapping import MappingError
from ingest.sources.csv_exports import (
    PAGERDUTY_COLUMNS,
    PAGERDUTY_REQUIRED,
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
    path.write_text("Incident Number,Service Name\n1,Postgres Prod\n")
    assert cli.main(["import", str(path), "--format", "pagerduty-csv", "--db", db]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "missing required columns: 'title', 'created on'" in err


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
    with pytest.raises(MappingError, match="resolved before"):
        map_pagerduty_row(fields, fields, UTC, settings.Settings())
