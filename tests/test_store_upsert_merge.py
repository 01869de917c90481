"""Upsert merge rules: NULL never overwrites a known value ("coalesce"), or stored values win ("keep")."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

import store

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def _alert(source_id: str, **values) -> dict:
    row = {"source": "s", "source_id": source_id, "signature": "x|y", "created_at": T0}
    row.update(values)
    return row


def _load(db: str, rows: list[dict], merge: dict[str, str] | None) -> None:
    with store.writing(db) as con:
        store.upsert(con, "alerts", pa.Table.from_pylist(rows), merge=merge)


def _row(db: str, source_id: str) -> tuple:
    with store.reading(db) as con:
        return con.execute(
            "SELECT title, resolved_at, created_at FROM alerts WHERE source_id = ?", [source_id]
        ).fetchone()


def test_coalesce_keeps_known_values_against_later_nulls(db):
    merge = {"title": "coalesce", "resolved_at": "coalesce"}
    _load(db, [_alert("a", title="t1", resolved_at=T0 + dt.timedelta(minutes=5))], merge)
    _load(db, [_alert("a", title="t2", resolved_at=None)], merge)
    assert _row(db, "a") == ("t2", T0 + dt.timedelta(minutes=5), T0)


def test_coalesce_within_one_batch_takes_the_last_known_value(db):
    merge = {"resolved_at": "coalesce"}
    later = T0 + dt.timedelta(minutes=5)
    _load(db, [_alert("a", resolved_at=later, title="first"), _alert("a", resolved_at=None, title="second")], merge)
    assert _row(db, "a") == ("second", later, T0)


def test_keep_only_fills_gaps(db):
    _load(db, [_alert("a", title="webhook", resolved_at=None)], None)
    later = T0 + dt.timedelta(minutes=5)
    keep = {"title": "keep", "resolved_at": "keep", "created_at": "keep"}
    _load(db, [_alert("a", title="backfill", resolved_at=later, created_at=T0 + dt.timedelta(seconds=1))], keep)
    assert _row(db, "a") == ("webhook", later, T0)


def test_merge_twice_changes_nothing(db):
    merge = {"title": "coalesce", "resolved_at": "coalesce"}
    rows = [_alert("a", title="t"), _alert("b", resolved_at=T0)]
    _load(db, rows, merge)
    _load(db, rows, merge)
    with store.reading(db) as con:
        assert con.execute("SELECT count(*) FROM alerts").fetchone()[0] == 2


def test_merge_rejects_unknown_modes_and_columns(db):
    with pytest.raises(ValueError, match="merge modes"):
        _load(db, [_alert("a")], {"title": "sum"})
    with pytest.raises(ValueError, match="unknown columns"):
        _load(db, [_alert("a")], {"nope": "keep"})
