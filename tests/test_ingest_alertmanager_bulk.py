"""The bulk import's bounded-memory paths: the merge of contested keys in hash buckets, many
parts streamed from the mapping thread, and the DuckDB settings of the import's connection given
back afterwards."""

from __future__ import annotations

import datetime as dt
import functools
import json
import random
import sys

import duckdb
import pyarrow as pa
import pytest

import settings
import store
from ingest.sources import alertmanager_import

upsert_module = sys.modules["store.upsert"]
T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
CONFIG = settings.Settings()
COLUMNS = ("source", "source_id", "title", "signature", "created_at", "resolved_at", "severity")
MERGE = {"title": "coalesce", "resolved_at": "coalesce", "severity": "coalesce"}


def _batch(rnd: random.Random, count: int, keys: int) -> pa.Table:
    """Rows over few keys, so keys repeat within the batch; values often NULL."""
    rows = []
    for n in range(count):
        rows.append({
            "source": "s", "source_id": f"k{rnd.randrange(keys)}", "signature": "x|y", "created_at": T0,
            "title": rnd.choice([None, f"t{n}"]),
            "resolved_at": rnd.choice([None, T0 + dt.timedelta(minutes=n)]),
            "severity": rnd.choice([None, "page", "warning"]),
        })  # fmt: skip
    return pa.Table.from_pylist(rows)


def _table(db: str) -> list[tuple]:
    with store.reading(db) as con:
        return con.execute(f"SELECT {', '.join(COLUMNS)} FROM alerts ORDER BY source_id").fetchall()


def _load_staged(db: str, rows: pa.Table, bucket_rows: int | None) -> int:
    with store.writing(db) as con:
        con.register("_rows", rows)
        con.execute("CREATE TEMP TABLE _staged AS FROM _rows")
        return upsert_module.upsert_staged(
            con, "alerts", "_staged", COLUMNS, merge=MERGE, where="severity IS DISTINCT FROM 'skip'",
            bucket_rows=bucket_rows,
        )  # fmt: skip


@pytest.mark.parametrize("bucket_rows", [1, 3, 17])
def test_bucketed_merge_gives_what_one_statement_and_upsert_give(tmp_path, bucket_rows):
    rnd = random.Random(bucket_rows)
    batches = [_batch(rnd, 200, 40) for _ in range(3)]  # the 2nd and 3rd meet stored keys
    bucketed, single, plain = (str(tmp_path / f"{name}.duckdb") for name in ("b", "s", "p"))
    for rows in batches:
        written = _load_staged(bucketed, rows, bucket_rows)
        assert written == _load_staged(single, rows, None)
        with store.writing(plain) as con:
            store.upsert(con, "alerts", rows, merge=MERGE)
    assert _table(bucketed) == _table(single) == _table(plain)
    assert len(_table(bucketed)) == 40


def test_stored_keys_are_looked_for_within_a_second_of_the_batch_times(tmp_path):
    """With key_time the check reads only stored rows near the batch's times; a key holds its time
    to the second, so a stored row of the same key may lie up to a second away and must be found."""
    db = str(tmp_path / "k.duckdb")
    second = dt.timedelta(seconds=1)
    stored = [{"source": "s", "source_id": f"k{n}", "signature": "x|y", "created_at": T0 + n * 60 * second,
               "title": f"old{n}", "resolved_at": None, "severity": "page"} for n in range(3)]  # fmt: skip
    with store.writing(db) as con:
        store.upsert(con, "alerts", pa.Table.from_pylist(stored))
    # k1 again, 0.9 s earlier than stored (the same second of startsAt in its key), and a new key
    batch = pa.Table.from_pylist([
        {"source": "s", "source_id": "k1", "signature": "x|y", "created_at": T0 + 60 * second - 0.9 * second,
         "title": None, "resolved_at": T0 + 2 * 60 * second, "severity": None},
        {"source": "s", "source_id": "k9", "signature": "x|y", "created_at": T0 + 30 * second,
         "title": "new", "resolved_at": None, "severity": None},
    ])  # fmt: skip
    with store.writing(db) as con:
        con.register("_rows", batch)
        con.execute("CREATE TEMP TABLE _staged AS FROM _rows")
        written = upsert_module.upsert_staged(con, "alerts", "_staged", COLUMNS, merge=MERGE, key_time="created_at")
    assert written == 2
    by_key = {row[1]: row for row in _table(db)}
    assert len(by_key) == 4
    assert by_key["k1"][2:] == ("old1", "x|y", T0 + 60 * second - 0.9 * second, T0 + 2 * 60 * second, "page")
    assert by_key["k9"][2] == "new" and by_key["k0"][2] == "old0"


def _payloads(count: int, repeat_every: int) -> list[dict]:
    """Payloads of 3 alerts each; every `repeat_every`-th payload repeats an earlier alert resolved."""
    out = []
    for n in range(count):
        alerts = []
        for k in range(3 * n, 3 * n + 3):
            alerts.append({
                "status": "firing", "labels": {"alertname": f"A{k % 5}", "team": "t", "job": "j"},
                "annotations": {"summary": f"s{k}"}, "startsAt": f"2026-01-01T00:{k // 60 % 60:02d}:{k % 60:02d}Z",
                "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://p/g", "fingerprint": f"{k:016x}",
            })  # fmt: skip
        if n and n % repeat_every == 0:
            earlier = dict(out[n // 2]["alerts"][0], status="resolved", endsAt="2026-01-02T00:00:00Z")
            alerts.append(earlier)
        if n % 11 == 0:
            alerts.append(
                {
                    "status": "firing",
                    "labels": {"job": f"no-alertname-{n}"},
                    "startsAt": "2026-01-01T00:00:00Z",
                }
            )
        out.append({"receiver": "r", "groupKey": "g", "externalURL": "http://am", "alerts": alerts})
    return out


def _write(path, payloads: list[dict]) -> str:
    path.write_text("".join(json.dumps(p) + "\n" for p in payloads))
    return str(path)


def _alerts(db: str) -> list[tuple]:
    with store.reading(db) as con:
        return con.execute(
            "SELECT source_id, title, created_at, resolved_at, auto_resolved, labels::VARCHAR, raw::VARCHAR "
            "FROM alerts ORDER BY source_id"
        ).fetchall()


def _quarantine(db: str) -> list[tuple]:
    with store.reading(db) as con:
        return con.execute("SELECT reason, raw FROM quarantine ORDER BY raw").fetchall()


def test_many_parts_and_bucketed_merges_give_the_rows_of_one_part(tmp_path, monkeypatch):
    path = _write(tmp_path / "am.jsonl", _payloads(120, 4))
    whole = str(tmp_path / "whole.duckdb")
    run = alertmanager_import.load_file(path, whole, CONFIG)  # one part, merged in one statement
    expected, rejected = _alerts(whole), _quarantine(whole)
    assert run.totals.quarantined == len(rejected) == 11
    # Parts of 7 rows streamed in batches of 5 (so parts and rejects span batches), contested
    # keys merged in buckets of 2 rows.
    monkeypatch.setattr(alertmanager_import, "PART_ROWS", 7)
    monkeypatch.setattr(alertmanager_import, "BATCH_ROWS", 5)
    monkeypatch.setattr(
        alertmanager_import, "upsert_staged", functools.partial(upsert_module.upsert_staged, bucket_rows=2)
    )
    parts = list(alertmanager_import.mapped_parts(path, CONFIG, T0))
    assert len(parts) > 10
    assert sum(len(part.rejected) for part in parts) == 11
    parted = str(tmp_path / "parted.duckdb")
    run = alertmanager_import.load_file(path, parted, CONFIG)
    assert _alerts(parted) == expected
    assert run.totals.by_table["alerts"] >= len(expected)
    assert run.totals.quarantined == 11
    # Again: every key is stored, so every row takes the merge path; nothing changes.
    alertmanager_import.load_file(path, parted, CONFIG)
    assert _alerts(parted) == expected
    assert sorted(set(_quarantine(parted))) == sorted(rejected)


def test_a_run_of_unusable_alerts_is_quarantined_a_part_at_a_time(tmp_path, monkeypatch):
    """The reported case: past some line every alert of a 10M-alert file was in the future, no
    usable row came to close a part, and the rejected alerts were held until memory ran out."""
    future = [{"receiver": "r", "alerts": [{"status": "firing", "labels": {"alertname": "Later"},
                                            "startsAt": f"2100-01-01T00:00:{k:02d}Z"}]} for k in range(30)]  # fmt: skip
    path = _write(tmp_path / "am.jsonl", _payloads(4, 99) + future)  # 12 usable, 1 without alertname, 30 later
    monkeypatch.setattr(alertmanager_import, "BATCH_ROWS", 5)
    parts = list(alertmanager_import.mapped_parts(path, CONFIG, T0, part_rows=7))
    assert [part.rows.num_rows for part in parts][:2] == [7, 5] and sum(p.rows.num_rows for p in parts) == 12
    assert max(len(part.rejected) for part in parts) < 7 + 5  # a part's rejects, plus one batch's at most
    assert sum(len(part.rejected) for part in parts) == 31
    db = str(tmp_path / "am.duckdb")
    run = alertmanager_import.load_file(path, db, CONFIG)
    assert (run.totals.by_table["alerts"], run.totals.quarantined) == (12, 31)
    assert sum(reason.startswith("created_at is in the future") for reason, _ in _quarantine(db)) == 30


def test_the_import_gives_its_connection_settings_back():
    con = duckdb.connect()
    before = con.execute("SELECT current_setting('memory_limit'), current_setting('threads')").fetchone()
    with alertmanager_import._settings(con, {"memory_limit": "123MB", "threads": "1"}):
        assert con.execute("SELECT current_setting('threads')").fetchone()[0] == 1
    assert (
        con.execute("SELECT current_setting('memory_limit'), current_setting('threads')").fetchone() == before
    )
    with pytest.raises(RuntimeError), alertmanager_import._settings(con, {"threads": "1"}):
        raise RuntimeError("boom")
    assert (
        con.execute("SELECT current_setting('memory_limit'), current_setting('threads')").fetchone() == before
    )
