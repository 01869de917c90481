"""Alertmanager payload mapping on recorded payloads, the bulk JSON import, and their agreement."""

from __future__ import annotations

import copy
import datetime as dt
import json
import threading
from pathlib import Path

import duckdb
import pytest
import reads

import settings
import store
from ingest.imports import ImportFailed
from ingest.sources import alertmanager, alertmanager_import

FIXTURES = Path(__file__).parent / "fixtures" / "alertmanager"
CONFIG = settings.Settings(service_teams={"indexer": "search-infra", "checkout": "not-used"})


def payload(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def rows(name: str, config: settings.Settings = CONFIG) -> list[dict]:
    mapped = alertmanager.map_payload(payload(name), config)
    assert not mapped.rejected
    return mapped.rows["alerts"]


def test_fingerprint_is_the_one_alertmanager_reports():
    for name in ("always_firing", "blinking_firing", "blinking_resolved"):
        for alert in payload(name)["alerts"]:
            assert alertmanager.fingerprint(alert["labels"]) == alert["fingerprint"]
    assert alertmanager.fingerprint({}) == "cbf29ce484222325"  # FNV-1a offset: the empty label set


def test_firing_alert_maps_to_an_open_interval_with_labels_team_and_runbook():
    [row] = rows("always_firing")
    assert row["source"] == "alertmanager"
    assert row["source_id"] == "36e1b9937f92dc55@2026-11-26T14:55:41Z"
    assert row["signature"] == "AlwaysFiring|checkout"
    assert row["team"] == "payments"  # the team label wins over the service map
    assert row["runbook_url"] == "https://runbooks.example/always"
    assert row["url"].startswith("http://prometheus.example:9090/graph?")
    assert row["resolved_at"] is None and row["auto_resolved"] is None
    assert json.loads(row["labels"])["cluster"] == "test"
    assert json.loads(row["raw"])["receiver"] == "hygiene"


def test_resolved_notification_closes_the_same_interval():
    [firing], [resolved] = rows("blinking_firing"), rows("blinking_resolved")
    assert firing["source_id"] == resolved["source_id"]
    assert resolved["resolved_at"] == dt.datetime(2026, 11, 26, 14, 55, 54, 93000, tzinfo=dt.UTC)
    assert resolved["auto_resolved"] is True
    assert resolved["signature"] == "Blinking|indexer"


def test_team_falls_back_to_the_service_map_then_unassigned():
    body = payload("blinking_firing")
    del body["alerts"][0]["labels"]["team"]
    [row] = alertmanager.map_payload(body, CONFIG).rows["alerts"]
    assert row["team"] == "search-infra"
    [row] = alertmanager.map_payload(body, settings.Settings()).rows["alerts"]
    assert row["team"] == "unassigned"


def test_nanosecond_times_share_the_second_of_the_millisecond_sample():
    when = alertmanager.source_id("ab", dt.datetime(2026, 1, 1, 0, 0, 12, 999999, tzinfo=dt.UTC))
    assert when == "ab@2026-01-01T00:00:12Z"


def test_bad_alerts_are_rejected_one_by_one_with_a_reason():
    body = payload("blinking_firing")
    good = body["alerts"][0]
    body["alerts"] = [
        good,
        {**good, "labels": {"job": "x"}},
        {**good, "startsAt": "yesterday"},
        {**good, "status": "resolved", "endsAt": "0001-01-01T00:00:00Z"},
    ]
    mapped = alertmanager.map_payload(body, CONFIG)
    assert mapped.count("alerts") == 1
    reasons = [bad.reason for bad in mapped.rejected]
    assert reasons == ["labels lack 'alertname'", "startsAt is not an ISO 8601 time: 'yesterday'",
                       "resolved alert without endsAt"]  # fmt: skip


@pytest.mark.parametrize("body", [[], {"alerts": {}}, {"version": "3", "alerts": []}, {"alerts": [{"labels": 1}]}])
def test_payload_problems_are_named(body):
    assert alertmanager.payload_problem(body)


# --- the bulk import -------------------------------------------------------------------------------


def write_jsonl(path: Path, payloads: list[dict]) -> str:
    path.write_text("".join(json.dumps(p) + "\n" for p in payloads))
    return str(path)


def sql_rows(path: str, config: settings.Settings = CONFIG) -> list[dict]:
    con = duckdb.connect()
    relation = alertmanager_import.mapped_relation(con, path, config, dt.datetime.now(dt.UTC))
    return [dict(zip(relation.columns, values, strict=True)) for values in relation.fetchall()]


def test_bulk_mapping_agrees_with_the_python_mapping(tmp_path):
    names = ["always_firing", "blinking_firing", "blinking_resolved"]
    path = write_jsonl(tmp_path / "am.jsonl", [payload(n) for n in names])
    bulk = sql_rows(path)
    python = [row for name in names for row in rows(name)]
    assert len(bulk) == len(python)
    for got, want in zip(bulk, python, strict=True):
        assert got["problem"] is None
        for column, value in want.items():
            if column in ("labels", "raw"):
                assert json.loads(got[column]) == json.loads(value), column
            else:
                assert got[column] == value, column


def test_the_raw_record_of_a_payload_without_its_optional_keys_is_the_receivers(db, tmp_path):
    """A payload without groupKey or externalURL keeps its raw record (they read null in it, as
    the receiver writes them), and what the import stores as JSON is valid JSON."""
    body = copy.deepcopy(payload("blinking_firing"))
    del body["groupKey"], body["externalURL"]
    path = write_jsonl(tmp_path / "bare.jsonl", [body])
    want = alertmanager.map_payload(body, CONFIG).rows["alerts"]
    bulk = sql_rows(path)
    assert [json.loads(row["raw"]) for row in bulk] == [json.loads(row["raw"]) for row in want]
    assert json.loads(bulk[0]["raw"])["externalURL"] is None
    alertmanager_import.load_file(path, db, CONFIG)
    with store.reading(db) as con:
        assert con.execute(
            "SELECT count(*), count(raw), bool_and(json_valid(raw) AND json_valid(labels)) FROM alerts"
        ).fetchone() == (len(want), len(want), True)


def test_bulk_mapping_names_the_problem_of_bad_alerts(tmp_path):
    body = payload("blinking_firing")
    good = body["alerts"][0]
    body["alerts"] = [{**good, "labels": {"job": "x"}}, {**good, "startsAt": "yesterday"},
                      {**good, "status": "resolved", "endsAt": "0001-01-01T00:00:00Z"}]  # fmt: skip
    problems = [row["problem"] for row in sql_rows(write_jsonl(tmp_path / "bad.jsonl", [body]))]
    assert problems[0] == "labels lack 'alertname'"
    assert problems[1].startswith("startsAt is missing or not a time")
    assert problems[2] == "resolved alert without endsAt"


def alert_rows(db: str) -> list[tuple]:
    with store.reading(db) as con:
        return con.execute(
            "SELECT source_id, created_at, resolved_at, title, runbook_url FROM alerts ORDER BY source_id"
        ).fetchall()


def test_import_of_json_lines_and_of_a_json_array_gives_the_same_rows(tmp_path):
    payloads = [payload(n) for n in ("always_firing", "blinking_firing", "blinking_resolved")]
    lines = write_jsonl(tmp_path / "am.jsonl", payloads)
    array = tmp_path / "am.json"
    array.write_text(json.dumps(payloads, indent=1))
    alertmanager_import.load_file(lines, str(tmp_path / "a.duckdb"), CONFIG)
    alertmanager_import.load_file(str(array), str(tmp_path / "b.duckdb"), CONFIG)
    got = alert_rows(str(tmp_path / "a.duckdb"))
    assert got == alert_rows(str(tmp_path / "b.duckdb"))
    assert len(got) == 2  # firing + resolved of Blinking merge into one interval
    assert [r[2] is None for r in got] == [True, False]


def test_import_twice_and_resolved_before_firing_give_one_correct_row(db, tmp_path):
    resolved_first = write_jsonl(tmp_path / "r.jsonl", [payload("blinking_resolved"), payload("blinking_firing")])
    alertmanager_import.load_file(resolved_first, db, CONFIG)
    first = alert_rows(db)
    alertmanager_import.load_file(resolved_first, db, CONFIG)
    firing_again = write_jsonl(tmp_path / "f.jsonl", [payload("blinking_firing")])
    alertmanager_import.load_file(firing_again, db, CONFIG)
    assert alert_rows(db) == first
    [(_, created, resolved, _, _)] = first
    assert resolved - created == dt.timedelta(seconds=4)


def test_import_quarantines_bad_alerts_and_reports_unreadable_files(db, tmp_path):
    body = copy.deepcopy(payload("blinking_firing"))
    body["alerts"].append({**body["alerts"][0], "labels": {"job": "x"}})
    run = alertmanager_import.load_file(write_jsonl(tmp_path / "mixed.jsonl", [body]), db, CONFIG)
    assert (run.totals.by_table["alerts"], run.totals.quarantined) == (1, 1)
    with store.reading(db) as con:
        assert con.execute("SELECT reason FROM quarantine").fetchall() == [("labels lack 'alertname'",)]
    (tmp_path / "junk.jsonl").write_text("not json\n")
    with pytest.raises(ImportFailed, match="not Alertmanager webhook payloads"):
        alertmanager_import.load_file(str(tmp_path / "junk.jsonl"), db, CONFIG)


def test_an_alert_sent_without_a_fingerprint_is_keyed_as_the_receiver_keys_it(db, tmp_path, monkeypatch):
    """The fingerprint is worked out from the labels, as the webhook path does; labels that are
    not all strings have none, and the alert is quarantined with the receiver's reason."""
    body = copy.deepcopy(payload("blinking_firing"))
    good = body["alerts"][0]
    del good["fingerprint"]
    body["alerts"].append({key: value for key, value in good.items()} | {"labels": {**good["labels"], "n": 5}})
    [want] = alertmanager.map_payload({**body, "alerts": [good]}, CONFIG).rows["alerts"]
    monkeypatch.setattr(alertmanager_import, "dropped_alerts", lambda path: pytest.fail("no payload dropped alerts"))
    run = alertmanager_import.load_file(write_jsonl(tmp_path / "unprinted.jsonl", [body]), db, CONFIG)
    assert (run.totals.by_table["alerts"], run.totals.quarantined) == (1, 1)
    assert want["source_id"].startswith(alertmanager.fingerprint(good["labels"]) + "@")
    with store.reading(db) as con:
        assert con.execute("SELECT source_id FROM alerts").fetchall() == [(want["source_id"],)]
        [(reason, raw)] = con.execute("SELECT reason, raw FROM quarantine").fetchall()
    assert reason == "labels must be an object of strings" and json.loads(raw)["labels"]["n"] == 5


def _numbered_payloads(count: int) -> list[dict]:
    base = payload("blinking_firing")
    payloads = []
    for i in range(count):
        body = copy.deepcopy(base)
        body["alerts"][0]["startsAt"] = f"2026-11-26T15:{i:02d}:00Z"
        payloads.append(body)
    return payloads


@pytest.mark.parametrize("layout", ["lines", "array"])
def test_import_writes_one_transaction_per_part_of_the_file(db, tmp_path, monkeypatch, layout):
    payloads = _numbered_payloads(50)
    if layout == "lines":
        path = write_jsonl(tmp_path / "many.jsonl", payloads)
    else:
        path = str(tmp_path / "many.json")
        Path(path).write_text(json.dumps(payloads))
    monkeypatch.setattr(alertmanager_import, "PART_ROWS", 7)
    monkeypatch.setattr(alertmanager_import, "BATCH_ROWS", 3)  # parts span several batches
    written = []
    write_part = alertmanager_import.write_part
    monkeypatch.setattr(
        alertmanager_import, "write_part", lambda run, part, now: (written.append(part.rows.num_rows), write_part(run, part, now))
    )
    progress = []

    class Bar:  # records what the progress bar is told
        def __init__(self, **options):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def update(self, count):
            progress.append(count)

    monkeypatch.setattr(alertmanager_import, "tqdm", Bar)
    run = alertmanager_import.load_file(path, db, CONFIG)
    assert written == [7] * 7 + [1] == progress
    assert len(alert_rows(db)) == run.totals.by_table["alerts"] == 50


def test_an_unreadable_line_fails_the_import_and_stops_the_mapping(db, tmp_path, monkeypatch):
    path = tmp_path / "broken.jsonl"
    path.write_text(Path(write_jsonl(tmp_path / "good.jsonl", _numbered_payloads(50))).read_text() + "{oops\n")
    monkeypatch.setattr(alertmanager_import, "PART_ROWS", 7)
    threads = threading.active_count()
    with pytest.raises(ImportFailed, match="broken.jsonl: not Alertmanager webhook payloads: .*Malformed JSON"):
        alertmanager_import.load_file(str(path), db, CONFIG)
    assert threading.active_count() == threads  # the mapping thread has ended
    with store.reading(db) as con:
        stored = con.execute("SELECT count(*) FROM alerts").fetchone()[0]
        status, loaded, error = con.execute("SELECT status, rows_loaded, error FROM ingest_runs").fetchone()
    assert stored % 7 == 0 and stored == loaded  # whole parts only (if any), each counted with its rows
    assert status == "failed" and "Malformed JSON" in error


def test_a_database_fault_mid_import_fails_the_run_in_one_line_and_keeps_the_parts_written(
    tmp_path, db, capsys, monkeypatch
):
    """The reported case: the writer ran out of memory part-way and left a traceback and a run
    marked 'running'. Here DuckDB really fails: from the third part on, its memory is capped at
    1 MB."""
    from ingest import cli

    monkeypatch.setattr(alertmanager_import, "PART_ROWS", 7)
    path = write_jsonl(tmp_path / "am.jsonl", _numbered_payloads(50))
    write_part, parts = alertmanager_import.write_part, []

    def starved(run, part, now):
        parts.append(part)
        if len(parts) == 3:
            monkeypatch.setattr(alertmanager_import, "WRITER_SETTINGS", {"memory_limit": "1MB", "threads": "1"})
        write_part(run, part, now)

    monkeypatch.setattr(alertmanager_import, "write_part", starved)
    assert cli.main(["import", path, "--format", "alertmanager-json", "--db", db]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"error: {path}: the import stopped: " in err and "14 alerts from the file before that point" in err
    with store.reading(db) as con:
        assert con.execute("SELECT count(*) FROM alerts").fetchone()[0] == 14  # the two parts written
        status, loaded, error = con.execute("SELECT status, rows_loaded, error FROM ingest_runs").fetchone()
    assert (status, loaded) == ("failed", 14)
    assert error.startswith(f"{path}: the import stopped: ") and "Out of Memory" in error and "\n" not in error


def test_alerts_dropped_past_max_alerts_are_recorded_and_shown(tmp_path, capsys):
    from reads import data_gaps

    from ingest.cli import main
    from ingest.load import IngestRun

    db = str(tmp_path / "am.duckdb")
    run = IngestRun(db, alertmanager.SOURCE)
    for _ in range(2):  # the same body twice (a retry) counts once
        run.load(alertmanager.STREAM, alertmanager.map_payload(payload("built_truncated"), CONFIG))
    run.load(alertmanager.STREAM, alertmanager.map_payload(payload("blinking_firing"), CONFIG))  # none dropped
    run.finish()
    line = "alertmanager: 3 alerts dropped by Alertmanager from 1 notification: raise max_alerts in its webhook_config"
    assert data_gaps(db) == [line]
    assert main(["status", "--db", db]) == 0
    assert f"read in part: {line}" in capsys.readouterr().out


LINES, BROKEN = 40_000, 36_000


def test_a_broken_line_after_parts_were_written_says_what_was_loaded_and_exits_1(tmp_path, db, capsys, monkeypatch):
    """The reported case: a broken line near the end of a file whose first parts were committed."""
    from ingest import cli

    monkeypatch.setattr(alertmanager_import, "PART_ROWS", 1000)
    alert = payload("always_firing")["alerts"][0]
    good = [json.dumps(payload("always_firing") | {"alerts": [alert | {"fingerprint": f"{k:016x}"}]})
            for k in range(LINES)]
    path = tmp_path / "am.jsonl"  # DuckDB reads a file in buffers of MiBs: the fault must lie past the first
    path.write_text("\n".join(good[:BROKEN]) + "\n{\"version\": \"4\", \"alerts\": [\n" + "\n".join(good[BROKEN:]) + "\n")
    assert cli.main(["import", str(path), "--format", "alertmanager-json", "--db", db]) == 1
    err = capsys.readouterr().err
    loaded = int(err.split(" alerts from the file before that point were loaded")[0].rsplit(". ", 1)[1])
    assert 0 < loaded <= BROKEN and loaded % 1000 == 0
    assert "not Alertmanager webhook payloads" in err and "the rest of the file was not" in err
    assert "import the file again" in err and err.count("\n") == 1
    with store.reading(db) as con:
        assert con.execute("SELECT count(*) FROM alerts").fetchone()[0] == loaded
        assert con.execute("SELECT status FROM ingest_runs").fetchone()[0] == "failed"


def test_a_file_of_payloads_records_the_alerts_dropped_as_the_receiver_does(tmp_path, capsys):
    """The bulk import (alertmanager-json) counts truncatedAlerts too, and a payload that came
    through the receiver as well counts once."""
    from reads import data_gaps

    from ingest.cli import main
    from ingest.load import IngestRun

    db = str(tmp_path / "am.duckdb")
    run = IngestRun(db, alertmanager.SOURCE)  # the receiver got the truncated notification
    run.load(alertmanager.STREAM, alertmanager.map_payload(payload("built_truncated"), CONFIG))
    run.finish()
    lines = tmp_path / "payloads.jsonl"
    lines.write_text("".join(json.dumps(payload(name)) + "\n"
                             for name in ("built_truncated", "blinking_firing", "built_truncated")))
    assert main(["import", str(lines), "--format", "alertmanager-json", "--db", db]) == 0, capsys.readouterr().err
    assert data_gaps(db) == [
        "alertmanager: 3 alerts dropped by Alertmanager from 1 notification: raise max_alerts in its webhook_config"]
    as_array = tmp_path / "payloads.json"
    other = {**payload("built_truncated"), "truncatedAlerts": 5, "groupKey": "{}:{alertname=\"Other\"}"}
    as_array.write_text(json.dumps([other]))
    assert main(["import", str(as_array), "--format", "alertmanager-json", "--db", db]) == 0
    assert data_gaps(db) == [
        "alertmanager: 8 alerts dropped by Alertmanager from 2 notifications: raise max_alerts in its webhook_config"]


def test_figures_worked_out_by_hand_on_the_recorded_bodies(tmp_path):
    """METRICS.md on what a real Alertmanager sent: AlwaysFiring (open); Blinking firing then
    resolved 4 s later; and, built from those two bodies, Blinking again 60 s after its first start."""
    import metrics
    from ingest.load import IngestRun

    def later(body: dict, seconds: int) -> dict:
        body = copy.deepcopy(body)
        for alert in body["alerts"]:
            for key in ("startsAt", "endsAt"):
                if not alert[key].startswith("0001"):
                    at = dt.datetime.fromisoformat(alert[key].replace("Z", "+00:00")) + dt.timedelta(seconds=seconds)
                    alert[key] = at.isoformat().replace("+00:00", "Z")
        return body

    db = str(tmp_path / "am.duckdb")
    run = IngestRun(db, alertmanager.SOURCE)
    bodies = [payload("always_firing"), payload("blinking_firing"), payload("blinking_resolved"),
              later(payload("blinking_firing"), 60), later(payload("blinking_resolved"), 60)]
    for body in bodies:
        run.load(alertmanager.STREAM, alertmanager.map_payload(body, CONFIG))
    run.finish()
    period = metrics.between(dt.date(2026, 11, 26), dt.date(2026, 11, 27))
    figures = reads.summary(db, period)
    assert figures["alerts"] == 3  # one firing interval each: AlwaysFiring, Blinking at :50 and at 14:56:50
    assert figures["ttr_median_s"] == pytest.approx(4)  # both Blinking intervals: 4 s
    assert (figures["auto_resolved"], figures["unacknowledged"], figures["transient"]) == (2, 2, 2)
    assert figures["flaps"] == 1  # the second Blinking began 56 s after the first resolved (< 1800 s)
    # Alertmanager records no notifications: one interruption per alert, to "unknown", one person
    assert (figures["interruptions"], figures["people_paged"]) == (3, 1)
    noisy = reads.noisy(db, period).set_index("signature")
    assert noisy.loc["Blinking|indexer", ["alerts", "transient", "flaps", "noise_ratio"]].tolist() == [2, 2, 1, 1.0]
