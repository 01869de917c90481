"""PagerDuty's CSV exports (help centre, "Reports"): the basic and the advanced incident report,
imported beside the same account synced from the API (fixtures/pagerduty/built).

The account's time zone is America/Lima (UTC−5 all year): 10:00 there is 15:00 UTC.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
import reads

import metrics
from ingest import cli
from ingest.sources import csv_exports
from tests.provider_servers import FakePagerDuty, pagerduty_account, query, run_source, scalar, serve

BUILT = Path(__file__).parent / "fixtures" / "pagerduty" / "built"
TOKEN = "pd-csv-SECRET-6161"
UTC = dt.UTC


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


@pytest.fixture(scope="module")
def synced_once(tmp_path_factory) -> Path:
    """The API's account (7 incidents, its users with e-mails and time zones), synced once: the sync walks ten
    years of windows."""
    db = tmp_path_factory.mktemp("pd-api") / "synced.duckdb"
    with pytest.MonkeyPatch.context() as monkeypatch, serve(FakePagerDuty(TOKEN, pagerduty_account())) as url:
        result = run_source(monkeypatch, str(db), "pagerduty", url, TOKEN, now=utc(2026, 3, 3), since=utc(2015, 10, 1))
    assert result.status == "ok", result.error
    return db


@pytest.fixture
def synced(synced_once, db) -> str:
    """A copy of the synced account for one test to import into."""
    shutil.copyfile(synced_once, db)
    return db


def imported(db: str, name: str, *more: str) -> int:
    return cli.main(["import", str(BUILT / name), "--format", "pagerduty-csv", "--db", db, *more])


def test_the_basic_report_needs_the_account_time_zone(db, capsys):
    assert imported(db, "basic_report.csv") == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--time-zone" in err and "account" in err
    assert not Path(db).exists()  # refused before anything was written


def test_the_basic_report_beside_the_api(synced, capsys):
    columns = "title, created_at, acknowledged_at, acknowledged_by, resolved_at, resolved_by, auto_resolved, raw"
    from_api = query(synced, f"SELECT {columns} FROM alerts WHERE source_id = 'PCHAN01'")
    assert imported(synced, "basic_report.csv", "--time-zone", "America/Lima") == 0, capsys.readouterr().err
    rows = {r[0]: r[1:] for r in query(synced, "SELECT source_id, title, created_at, resolved_at, resolved_by, "
                                               "auto_resolved, escalations FROM alerts WHERE source = 'pagerduty'")}
    assert len(rows) == 7 + 2  # #101 is the API's PCHAN01: matched by its number, not added again
    # what the API gave stays: its title, its acknowledgement and resolver from the log entries
    assert query(synced, f"SELECT {columns} FROM alerts WHERE source_id = 'PCHAN01'") == from_api
    assert from_api[0][:2] == ("Disk 91% full on db-07", utc(2026, 3, 2, 15))  # 10:00 in Lima, as the export
    assert rows["107"] == ("Incident #107", utc(2026, 3, 2, 20), utc(2026, 3, 2, 20, 4), None, True, 0)
    assert rows["108"][1:] == (utc(2026, 3, 2, 21), None, None, None, 1)  # "Not Available": no user resolved #107
    assert imported(synced, "basic_report.csv", "--time-zone", "America/Lima") == 0  # again: nothing changes
    assert scalar(synced, "SELECT count(*) FROM alerts") == 9


def test_the_advanced_report_names_the_api_people(synced, capsys):
    assert imported(synced, "advanced_report.csv") == 0, capsys.readouterr().err  # its times carry offsets
    first = query(synced, "SELECT acknowledged_at, acknowledged_by, resolved_at, auto_resolved, labels->>'$.urgency' "
                          "FROM alerts WHERE source_id = 'PADV001'")
    assert first == [(utc(2026, 3, 3, 14, 2), "PXPGF42", utc(2026, 3, 3, 14, 20), False, "high")]
    # the people it names are the API's: same ids; their e-mail and time zone stay
    assert query(synced, "SELECT name, email, time_zone FROM people WHERE person_id = 'PXPGF42'") == [
        ("Earline Greenholt", "125.greenholt.earline@graham.name", "America/Lima")]
    period = metrics.between(dt.date(2026, 3, 3), dt.date(2026, 3, 5))
    pages = reads.interruption_list(synced, period).set_index("source_id")
    # no notifications in an export: the fallback, to the acknowledger, in her own time zone
    assert (pages.loc["PADV001", "person_id"], pages.loc["PADV001", "time_zone"]) == ("PXPGF42", "America/Lima")
    assert str(pages.loc["PADV001", "local_at"])[:16] == "2026-03-03 09:00"
    facts = reads.alert_list(synced, period).set_index("source_id")
    assert facts.loc["PADV002", "is_transient"] and facts.loc["PADV002", "auto_resolved"]


def test_an_export_of_exactly_the_limit_is_said_to_be_cut_off(monkeypatch, db, tmp_path, capsys):
    monkeypatch.setattr(csv_exports, "PAGERDUTY_EXPORT_LIMIT", 3)  # PagerDuty's is 20,000
    assert imported(db, "basic_report.csv", "--time-zone", "America/Lima") == 1
    err = capsys.readouterr().err
    assert "warning: 3 rows, the most a PagerDuty export holds: it was probably cut off" in err
    assert scalar(db, "SELECT status FROM ingest_runs") == "partial"
    assert csv_exports.PAGERDUTY_EXPORT_LIMIT == 3 and scalar(db, "SELECT count(*) FROM alerts") == 3
    two_rows = tmp_path / "short.csv"
    two_rows.write_text("".join((BUILT / "basic_report.csv").read_text().splitlines(keepends=True)[:3]))
    assert cli.main(["import", str(two_rows), "--format", "pagerduty-csv", "--db", db, "--time-zone",
                     "America/Lima"]) == 0


def test_a_time_zone_that_is_not_one_is_a_usage_error(db, capsys):
    assert cli.main(["import", str(BUILT / "basic_report.csv"), "--format", "pagerduty-csv", "--db", db,
                     "--time-zone", "Mars/Olympus"]) == 2
    assert "not a time zone" in capsys.readouterr().err
