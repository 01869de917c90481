"""Generated hostile input (records, webhook bodies, CSV files): no crash, bad ones quarantined, good ones loaded."""

from __future__ import annotations

import csv
import datetime as dt
import functools
import hashlib
import io
import json
import os
import tempfile
from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

import settings
import store
from ingest.imports import FORMATS, ImportOptions
from ingest.load import IngestRun
from ingest.mapping import Mapped, map_each, raw_text
from ingest.sources import alertmanager, csv_exports, oncall, opsgenie, pagerduty  # noqa: F401 - registers the CSV formats
from ingest.sync import Context
from tests.am_servers import TOKEN, start_receiver, wait_until

CONFIG = settings.Settings()
FUZZ = hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                       HealthCheck.data_too_large])
TRIED: dict[str, int] = {}  # generated records fed per path, and how many of them went to quarantine


@pytest.fixture(scope="module", autouse=True)
def report_fuzz_counts():
    """Prints, after this module's tests, how many generated records each fuzz test fed (run with -s)."""
    yield
    print("fuzz examples tried:", json.dumps(TRIED, sort_keys=True))


@functools.cache
def _migrated() -> bytes:
    """An empty database at the current schema, as bytes: each generated example starts from a copy
    rather than running every migration again."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "empty.duckdb"
        with store.writing(str(path)):
            pass
        return path.read_bytes()


def fresh_db(folder: str) -> str:
    path = Path(folder) / "fuzz.duckdb"
    path.write_bytes(_migrated())
    return str(path)


def tally(name: str, tried: int, quarantined: int) -> None:
    TRIED[name] = TRIED.get(name, 0) + tried
    TRIED[name + " quarantined"] = TRIED.get(name + " quarantined", 0) + quarantined

# --- values: good ones, and everything a broken or hostile producer might send instead ---------------------

any_char = st.one_of(st.characters(), st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
                     st.sampled_from("\x00\ufeff\u202e\n\r\"',;"))  # lone surrogates and NUL too
huge_text = st.builds(lambda c, n: c * n, any_char, st.integers(10_000, 200_000))
text = st.one_of(st.text(any_char, max_size=40), st.text(any_char, max_size=40), huge_text)
scalar = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                   st.floats(allow_nan=True, allow_infinity=True), text)
junk = st.recursive(scalar, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                    st.dictionaries(st.text(max_size=5), inner, max_size=3)),
                    max_leaves=6)
good_time = st.datetimes(min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(2199, 1, 1),
                         timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=5, minutes=30)),
                                                    dt.timezone(dt.timedelta(hours=-8))]))
good_iso = good_time.map(lambda t: t.isoformat())
# A good record's own times are in the past and in order: created first, acknowledged or resolved later.
zones = st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=5, minutes=30)), dt.timezone(dt.timedelta(hours=-8))])
created_iso = st.datetimes(dt.datetime(1971, 1, 1), dt.datetime(1998, 1, 1), timezones=zones).map(dt.datetime.isoformat)
later_iso = st.datetimes(dt.datetime(1999, 1, 1), dt.datetime(2026, 1, 1), timezones=zones).map(dt.datetime.isoformat)
edge_time = st.sampled_from(["0000-01-01T00:00:00Z", "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00",
                             "9999-12-31T23:59:59Z", "1969-12-31T23:59:59Z", "2026-02-30T10:00:00Z", "NaN",
                             "", "  ", "2026-13-01", "1e400", "-1", "99999999999999999999"])
bad_time = st.one_of(edge_time, junk)
good_text = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=60).filter(str.strip)
good_title = st.one_of(good_text, st.builds(lambda c, n: c * n, st.sampled_from("aé漢<"), st.integers(1, 100_000)))


def mutated(template: dict) -> st.SearchStrategy[dict]:
    """The template with each field kept, removed or replaced by junk or an out-of-range time."""

    def apply(choices: list) -> dict:
        record = {}
        for (key, value), (action, other) in zip(template.items(), choices, strict=True):
            if action == "keep":
                record[key] = value
            elif action == "junk":
                record[key] = other
        return record

    choice = st.tuples(st.sampled_from(["keep", "keep", "drop", "junk"]), st.one_of(junk, bad_time))
    return st.lists(choice, min_size=len(template), max_size=len(template)).map(apply)


def records(good: st.SearchStrategy[dict], count: int = 8) -> st.SearchStrategy[list[tuple[bool, dict]]]:
    """(is_good, record) pairs: good records and mutated ones, or junk where a record should be."""
    one = st.one_of(good.map(lambda r: (True, r)), good.flatmap(mutated).map(lambda r: (False, r)),
                    junk.map(lambda r: (False, r)))
    return st.lists(one, min_size=1, max_size=count)


# --- provider records ---------------------------------------------------------------------------------------

pd_incident = st.fixed_dictionaries({
    "id": st.uuids().map(lambda u: f"Q{u.hex[:12]}"), "title": good_title, "created_at": created_iso,
    "status": st.sampled_from(["triggered", "acknowledged", "resolved"]), "resolved_at": later_iso,
    "urgency": st.sampled_from(["high", "low"]), "html_url": good_text,
    "service": st.fixed_dictionaries({"id": good_text, "summary": good_text}),
    "teams": st.lists(st.fixed_dictionaries({"id": good_text, "summary": good_text}), max_size=2),
})
pd_log_entry = st.fixed_dictionaries({
    "id": st.uuids().map(lambda u: f"R{u.hex[:12]}"), "type": st.sampled_from(sorted(pagerduty.EVENT_TYPES)),
    "created_at": later_iso, "incident": st.fixed_dictionaries({"id": good_text}),
    "agent": st.fixed_dictionaries({"id": good_text, "type": st.just("user_reference")}),
    "user": st.fixed_dictionaries({"id": good_text}),
    "channel": st.fixed_dictionaries({"type": st.just("auto"), "notification": st.fixed_dictionaries(
        {"type": st.sampled_from(sorted(pagerduty.CHANNELS))})}),
})
og_alert = st.fixed_dictionaries({
    "id": st.uuids().map(str), "message": good_title, "createdAt": created_iso, "updatedAt": later_iso,
    "status": st.sampled_from(["open", "closed"]), "acknowledged": st.booleans(), "priority": st.just("P3"),
    "report": st.fixed_dictionaries({"ackTime": st.integers(0, 10**7), "closeTime": st.integers(0, 10**7),
                                     "acknowledgedBy": good_text, "closedBy": good_text}),
    "integration": st.fixed_dictionaries({"name": good_text, "type": st.just("API")}),
    "tags": st.lists(good_text, max_size=3),
})
oc_group = st.fixed_dictionaries({
    "id": st.uuids().map(lambda u: f"I{u.hex[:12]}"), "title": good_title, "created_at": created_iso,
    "acknowledged_at": st.one_of(st.none(), later_iso), "resolved_at": st.one_of(st.none(), later_iso),
    "acknowledged_by": st.one_of(st.none(), good_text), "resolved_by": st.one_of(st.none(), good_text),
    "labels": st.lists(st.fixed_dictionaries({"key": st.fixed_dictionaries({"name": good_text}),
                                              "value": st.fixed_dictionaries({"name": good_text})}), max_size=2),
    "permalinks": st.fixed_dictionaries({"web": good_text}),
})

PROVIDERS = {
    "pagerduty incidents": (pagerduty.SOURCE, pd_incident, pagerduty.map_incident, "alerts"),
    "pagerduty log entries": (pagerduty.SOURCE, pd_log_entry, pagerduty.map_log_entry, "events"),
    "opsgenie alerts": (opsgenie.SOURCE, og_alert, opsgenie.map_alert, "alerts"),
    "oncall alert groups": (oncall.SOURCE, oc_group, oncall.map_alert_group, "alerts"),
}


def load(db: str, source: str, stream: str, mapped: Mapped, merge=None) -> IngestRun:
    run = IngestRun(db, source)
    run.load(stream, mapped, merge=merge)
    run.finish()
    return run


def count(db: str, sql: str, params=None) -> int:
    with store.reading(db) as con:
        return con.execute(sql, params or []).fetchone()[0]


def record_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "backslashreplace")).hexdigest()


def assert_loaded(db: str, source: str, table: str, key: str, mapped: Mapped) -> None:
    """Every mapped row is in the table; every rejected record is in quarantine with a reason."""
    keys = {row[key] for row in mapped.rows.get(table, [])}
    assert count(db, f"SELECT count(*) FROM {table} WHERE source = ?", [source]) == len(keys)
    hashes = {record_hash(bad.raw) for bad in mapped.rejected}
    assert count(db, "SELECT count(*) FROM quarantine WHERE source = ? AND reason <> ''", [source]) == len(hashes)


@pytest.mark.parametrize("name", PROVIDERS)
def test_generated_provider_records_map_and_load_or_go_to_quarantine(name):
    source, good, map_one, table = PROVIDERS[name]
    key = "source_id" if table == "alerts" else "event_id"

    @FUZZ
    @given(batch=records(good))
    def check(batch):
        mapped = map_each(name, [r for _, r in batch], lambda r: map_one(r, Context(CONFIG)))
        tally(name, len(batch), len(mapped.rejected))
        assert len(mapped.rows.get(table, [])) + len(mapped.rejected) == len(batch)
        assert all(bad.reason for bad in mapped.rejected)
        good_ids = {r["id"] for ok, r in batch if ok}
        assert good_ids <= {row[key].split(":")[0] for row in mapped.rows.get(table, [])}
        with tempfile.TemporaryDirectory() as tmp:
            db = fresh_db(tmp)
            load(db, source, name, mapped)
            assert_loaded(db, source, table, key, mapped)

    check()


def test_opsgenie_log_lines_never_crash_the_mapping():
    @FUZZ
    @given(batch=st.lists(st.one_of(junk, st.fixed_dictionaries(
        {"log": st.one_of(text, st.just("Sent SMS to ana@acme.example")), "createdAt": st.one_of(good_iso, bad_time),
         "offset": st.one_of(good_text, junk), "owner": st.one_of(good_text, junk)})), max_size=8))
    def check(batch):
        mapped = map_each("alert_logs", batch, lambda r: opsgenie.map_alert_log(r, {"id": "a1"}, Context(CONFIG)))
        tally("opsgenie logs", len(batch), len(mapped.rejected))
        assert len(mapped.rows.get("events", [])) + len(mapped.rejected) <= len(batch)
        with tempfile.TemporaryDirectory() as tmp:
            load(fresh_db(tmp), opsgenie.SOURCE, "alert_logs", mapped)

    check()


# --- Alertmanager webhook bodies ----------------------------------------------------------------------------

# A good alert ends after it starts, and neither lies in the future (ingest.mapping.implausible).
past_time = st.datetimes(min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(2026, 1, 1),
                         timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=5, minutes=30))]))
am_alert = st.builds(
    lambda alert, starts, lasted: {**alert, "startsAt": starts.isoformat(), "endsAt": (starts + lasted).isoformat()},
    st.fixed_dictionaries({
        "status": st.sampled_from(["firing", "resolved"]),
        "labels": st.fixed_dictionaries({"alertname": good_text, "job": good_text},
                                        optional={"team": good_text, "severity": good_text}),
        "annotations": st.fixed_dictionaries({}, optional={"summary": good_title, "runbook_url": good_text}),
        "generatorURL": good_text, "fingerprint": st.uuids().map(lambda u: u.hex[:16]),
    }),
    past_time, st.timedeltas(dt.timedelta(0), dt.timedelta(days=7)),
)


def payload(alerts: list[dict]) -> dict:
    return {"version": "4", "status": "firing", "receiver": "hygiene", "groupKey": "{}", "alerts": alerts}


bodies = st.one_of(
    records(am_alert).map(lambda batch: payload([a for _, a in batch])),
    st.lists(am_alert.flatmap(mutated), max_size=4).map(payload),
    junk.map(lambda alerts: {"version": "4", "alerts": alerts}),
    junk,
)


def test_generated_webhook_payloads_map_and_load_or_go_to_quarantine():
    @FUZZ
    @given(body=bodies)
    def check(body):
        mapped = alertmanager.map_payload(body, CONFIG)
        tally("webhook payloads", 1, len(mapped.rejected))
        alerts = body.get("alerts") if isinstance(body, dict) else None
        if isinstance(alerts, list) and not alertmanager.payload_problem(body):
            assert mapped.count("alerts") + len(mapped.rejected) == len(alerts)
        else:
            assert mapped.count("alerts") == 0 and len(mapped.rejected) == 1
        with tempfile.TemporaryDirectory() as tmp:
            db = fresh_db(tmp)
            load(db, alertmanager.SOURCE, alertmanager.STREAM, mapped, alertmanager.WEBHOOK_MERGE)
            assert_loaded(db, alertmanager.SOURCE, "alerts", "source_id", mapped)

    check()


@pytest.fixture(scope="module")
def receiver(tmp_path_factory):
    work = tmp_path_factory.mktemp("hostile-receiver")
    server = start_receiver(work, str(work / "alerts.duckdb"), token=TOKEN)
    server.extra["db"] = str(work / "alerts.duckdb")
    yield server
    server.stop()


def wire(body) -> bytes:
    """A body as it travels: JSON text, sometimes broken (invalid UTF-8, truncated, not JSON at all)."""
    if isinstance(body, bytes):
        return body
    return json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")


def stored(db: str, source_ids: set[str], hashes: set[str]) -> bool:
    if not os.path.exists(db):
        return False  # the receiver creates it with its first load
    with store.reading(db) as con:
        have = {r[0] for r in con.execute("SELECT source_id FROM alerts").fetchall()}
        held = {r[0] for r in con.execute("SELECT record_hash FROM quarantine").fetchall()}
    return source_ids <= have and hashes <= held


@pytest.mark.slow
def test_hostile_bodies_over_http_are_answered_and_land_in_the_database(receiver):
    @hsettings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(body=st.one_of(bodies, st.binary(max_size=200), bodies.map(lambda b: wire(b)[:-3] + b"\xff")))
    def check(body):
        data = wire(body)
        answer = requests.post(receiver.url + "/alertmanager", data=data, timeout=30,
                               headers={"Authorization": f"Bearer {TOKEN}"})
        assert answer.status_code in (200, 400), answer.text
        if answer.status_code == 400:
            expected = Mapped()
            expected.reject(alertmanager.STREAM, data, "")
        else:
            expected = alertmanager.map_payload(json.loads(data), CONFIG)
        tally("webhook bodies over HTTP", 1, len(expected.rejected))
        ids = {row["source_id"] for row in expected.rows.get("alerts", [])}
        hashes = {record_hash(bad.raw) for bad in expected.rejected}
        wait_until(lambda: stored(receiver.extra["db"], ids, hashes), timeout=30, what="the body to be loaded",
                   every=0.1)

    check()
    health = requests.get(receiver.url + "/healthz", timeout=5).json()
    assert health["loader"]["last_error"] is None


def test_generated_good_webhook_alerts_all_load():
    @FUZZ
    @given(alerts=st.lists(am_alert, min_size=1, max_size=6))
    def check(alerts):
        mapped = alertmanager.map_payload(payload(alerts), CONFIG)
        tally("good webhook alerts", len(alerts), len(mapped.rejected))
        assert mapped.rejected == [] and mapped.count("alerts") == len(alerts)

    check()


def test_a_deeply_nested_body_is_refused_not_crashed_on(receiver):
    answer = requests.post(receiver.url + "/alertmanager", data=b"[" * 100_000, timeout=30,
                           headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 400
    assert alertmanager.map_payload({"version": "4", "alerts": [[[]]]}, CONFIG).rejected


# --- CSV exports --------------------------------------------------------------------------------------------

CSV_HEADER = ["Incident ID", "Title", "Created On", "Resolved On", "Seconds to First Ack", "Escalation Count",
              "Service Name", "Urgency", "Row"]
past = st.datetimes(dt.datetime(1971, 1, 1), dt.datetime(2026, 1, 1), timezones=zones)  # the future is implausible
good_csv_time = st.one_of(past.map(dt.datetime.isoformat), past.map(lambda t: t.strftime("%m/%d/%Y %H:%M:%S")),
                          st.integers(10**9, 17 * 10**8).map(str))
csv_junk = st.one_of(text, st.sampled_from(["NaN", "nan", "inf", "-inf", "1e400", "null", "NULL", "None", "",
                                            "9" * 40, "-1", "0000-00-00 00:00:00", "12/31/9999 23:59:59"]),
                     edge_time)
good_csv_row = st.fixed_dictionaries({
    "Incident ID": st.uuids().map(lambda u: f"P{u.hex[:10]}"), "Title": good_title, "Created On": good_csv_time,
    "Resolved On": st.just(""), "Seconds to First Ack": st.one_of(st.just(""), st.integers(0, 10**6).map(str)),
    "Escalation Count": st.one_of(st.just(""), st.integers(0, 50).map(str)), "Service Name": good_text,
    "Urgency": st.sampled_from(["high", "low"]),
})


def bad_csv_row(row: dict) -> st.SearchStrategy[dict]:
    return st.lists(st.tuples(st.sampled_from(["keep", "keep", "blank", "junk"]), csv_junk),
                    min_size=len(row), max_size=len(row)).map(
        lambda choices: {k: (v if a == "keep" else "" if a == "blank" else j)
                         for (k, v), (a, j) in zip(row.items(), choices, strict=True)})


csv_rows = st.lists(st.one_of(good_csv_row.map(lambda r: (True, r)),
                              good_csv_row.flatmap(bad_csv_row).map(lambda r: (False, r))), min_size=1, max_size=10)


def csv_bytes(rows: list[tuple[bool, dict]], broken: set[int], short: set[int]) -> bytes:
    """The file: UTF-8, except rows in `broken` (Latin-1 bytes, invalid as UTF-8), rows in `short`
    (fields missing) and a NUL byte or two in text."""
    lines = []
    for index, (_, row) in enumerate([(True, dict(zip(CSV_HEADER, CSV_HEADER, strict=True)))] + rows):
        out = io.StringIO()
        values = [row.get(h, "") for h in CSV_HEADER[:-1]] + ([str(index)] if index else ["Row"])
        csv.writer(out).writerow(values[:3] if index in short else values)
        line = out.getvalue()
        lines.append(line.rstrip("\r\n").encode("latin-1", "replace") + b"\xff\r\n" if index in broken
                     else line.encode("utf-8", "surrogatepass"))
    return b"".join(lines)


@pytest.mark.slow
def test_generated_csv_files_load_every_good_row_and_quarantine_every_bad_one():
    @FUZZ
    @given(rows=csv_rows, data=st.data())
    def check(rows, data):
        numbers = st.sets(st.integers(1, len(rows)), max_size=2)
        broken, short = data.draw(numbers), data.draw(numbers)
        with tempfile.TemporaryDirectory() as tmp:
            path, db = Path(tmp) / "export.csv", fresh_db(tmp)
            path.write_bytes(csv_bytes(rows, broken, short))
            run = FORMATS["pagerduty-csv"].load(str(path), db, CONFIG, ImportOptions(date_order="mdy"))
            loaded = count(db, "SELECT count(*) FROM alerts")
            quarantined = count(db, "SELECT count(*) FROM quarantine WHERE reason <> ''")
            tally("csv rows", len(rows), quarantined)
            assert loaded + quarantined == len(rows) == run.totals.by_table.get("alerts", 0) + run.totals.quarantined
            with store.reading(db) as con:
                have = {r[0] for r in con.execute("SELECT source_id FROM alerts").fetchall()}
            wanted = {r["Incident ID"] for i, (ok, r) in enumerate(rows, 1) if ok and i not in broken | short}
            assert wanted <= have

    check()


def test_raw_text_of_anything_is_valid_unicode():
    for thing in ("\ud800", {"a": "\udcff"}, b"\xff\xfe", float("nan"), [object()]):
        raw_text(thing).encode("utf-8")
