"""A person's save while a long read holds the database: kept aside durably, seen by every reader at once,
applied by the next writer in the order saves were made, and never lost when the saving process dies."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap
import time

import duckdb
import pyarrow as pa

import store
from store import pending
from tests.conftest import ROOT


def _created(db: str) -> str:
    with store.writing(db):
        pass
    return db


def _hold_read(db: str) -> subprocess.Popen:
    """A second process reading the database until killed (a report over a large history)."""
    code = textwrap.dedent(f"""
        import time, store
        with store.reading({db!r}):
            print("reading", flush=True)
            time.sleep(60)
    """)
    process = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert process.stdout.readline().strip() == "reading"
    return process


def _stored(db: str, sql: str) -> list[tuple]:
    """What the file itself holds, read past the store (no view of kept rows)."""
    con = duckdb.connect(db, read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _review(review_id: str, note: str) -> dict:
    return store.retro.review_row("Disk|db", "noise", note=note, review_id=review_id)


def test_a_save_during_a_long_read_returns_at_once_is_read_back_at_once_and_lands_when_the_read_ends(db):
    _created(db)
    store.retro.save_reviews(db, [_review("r1", "first")])
    reader = _hold_read(db)
    try:
        began = time.monotonic()
        store.retro.save_reviews(db, [_review("r1", "changed"), _review("r2", "new")])
        took = time.monotonic() - began
        assert took < pending.WAIT_S + 0.5, took
        assert pending.kept(db) and _stored(db, "SELECT note FROM reviews") == [("first",)]
        with store.reading(db) as con:  # any reader, in any process, sees the save already
            assert con.execute("SELECT review_id, note FROM reviews ORDER BY 1").fetchall() == [
                ("r1", "changed"), ("r2", "new")]
    finally:
        reader.kill()
        reader.wait()
    store.connection._appliers[db].join(30)  # this process applies it once the file is free
    assert pending.kept(db) == []
    assert _stored(db, "SELECT review_id, note FROM reviews ORDER BY 1") == [("r1", "changed"), ("r2", "new")]


def test_saves_a_dead_process_kept_are_applied_by_the_next_writer_the_later_one_winning(db):
    _created(db)
    at = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    schema = pa.schema([("team", pa.string()), ("figure", pa.string()), ("value", pa.float64()),
                        ("set_by", pa.string()), ("set_at", pa.timestamp("us", tz="UTC"))])
    for value in (3.0, 5.0):  # kept by a process that died before it could apply them
        pending.keep(db, "targets", pa.Table.from_pylist(
            [{"team": "core", "figure": "wake_ups", "value": value, "set_by": "ana", "set_at": at}], schema=schema))
    with store.reading(db) as con:
        assert con.execute("SELECT team, value FROM targets").fetchall() == [("core", 5.0)]
    with store.writing(db) as con:  # any writer (a sync, the receiver's load) applies them first
        store.upsert(con, "runbook_links", pa.Table.from_pylist(
            [{"signature": "Disk|db", "url": "https://runbooks.example/disk", "added_by": None, "added_at": at}]))
    assert pending.kept(db) == []
    assert _stored(db, "SELECT team, value FROM targets") == [("core", 5.0)]
    assert _stored(db, "SELECT url FROM runbook_links") == [("https://runbooks.example/disk",)]


def test_a_save_while_saves_are_kept_aside_joins_them_at_once_and_this_process_applies_them_in_order(db):
    _created(db)
    pending.keep(db, "reviews", pa.Table.from_pylist([_review("r1", "kept first")]))
    began = time.monotonic()
    store.retro.save_reviews(db, [_review("r1", "saved after")])
    assert time.monotonic() - began < pending.WAIT_S  # no wait for a turn the earlier saves are waiting for
    store.connection._appliers[db].join(30)
    assert pending.kept(db) == []
    assert _stored(db, "SELECT note FROM reviews") == [("saved after",)]


def test_a_kept_save_that_no_longer_fits_its_table_is_set_aside_and_writes_go_on(db):
    _created(db)
    pending.keep(db, "reviews", pa.table({"review_id": ["x"], "no_such_column": ["?"]}))
    store.retro.save_review(db, "Disk|db", "noise", review_id="r1")
    store.connection._appliers[db].join(30)
    assert pending.kept(db) == []
    assert [p.name for p in (pending.pending_dir(db) / "failed").iterdir()][0].endswith(".reviews.arrow")
    assert _stored(db, "SELECT review_id FROM reviews") == [("r1",)]


def test_the_dashboard_sees_a_change_when_a_save_is_kept_aside(db):
    _created(db)
    before = store.last_change(db)
    time.sleep(0.01)
    pending.keep(db, "reviews", pa.Table.from_pylist([_review("r1", "kept")]))
    assert store.last_change(db) != before
