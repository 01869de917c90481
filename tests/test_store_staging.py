"""Rows staged beside the database: cut into write turns that cover every row once, in order, and upserted as
store.upsert would; the files go when the staging ends."""

from __future__ import annotations

import datetime as dt
import math

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

import store
from ingest.mapping import canonical_table
from store.staging import Staging

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


@given(sizes=st.lists(st.integers(0, 40), min_size=1, max_size=4), turn_rows=st.integers(1, 25))
@hsettings(max_examples=60, deadline=None)
def test_turns_cover_every_staged_row_once_in_order_and_hold_turn_rows_at_most(sizes, turn_rows):
    staging = Staging.__new__(Staging)  # the cutting alone: no files
    tables = [f"t{k}" for k in range(len(sizes))]
    staging.rows = dict(zip(tables, sizes, strict=True))
    turns = staging.turns(tables, turn_rows)
    covered = [(table, row) for turn in turns for table, (start, stop) in turn for row in range(start, stop)]
    assert covered == [(table, row) for table, size in zip(tables, sizes, strict=True) for row in range(size)]
    assert all(0 < sum(stop - start for _, (start, stop) in turn) <= turn_rows for turn in turns)
    assert len(turns) == math.ceil(sum(sizes) / turn_rows)


def _alert(source_id: str, title: str | None, resolved: dt.datetime | None = None) -> dict:
    return {"source": "s", "source_id": source_id, "title": title, "signature": "x|y", "created_at": T0,
            "resolved_at": resolved}


def test_staged_batches_upsert_as_one_batch_would_and_leave_no_file(db):
    batches = [[_alert("a", "first"), _alert("b", None)],  # a column all null in a later batch has no type:
               [_alert("a", "second", T0), _alert("c", None)],  # the first batch's types hold
               [_alert("b", "late")]]
    merge = {"title": "coalesce", "resolved_at": "coalesce"}
    with Staging(db, "0123abcd") as staging:
        for batch in batches:
            staging.add("alerts", canonical_table(batch))
        path = staging.path("alerts")
        assert path.exists()
        with store.writing(db) as con:
            written = sum(staging.upsert(con, table, rows, merge) for turn in staging.turns(["alerts"], 2)
                          for table, rows in turn)
    assert not path.exists() and written == 5
    with store.writing(db) as con:  # the same rows in one batch, under another source
        direct = [{**row, "source": "d"} for batch in batches for row in batch]
        store.upsert(con, "alerts", canonical_table(direct), merge=merge)
    with store.reading(db) as con:
        staged, upserted = ([tuple(row) for row in con.execute(
            "SELECT source_id, title, resolved_at FROM alerts WHERE source = ? ORDER BY 1", [source]).fetchall()]
            for source in ("s", "d"))
    assert staged == upserted == [("a", "second", T0), ("b", "late", None), ("c", None, None)]


def test_a_batch_with_other_columns_than_the_first_is_refused(db):
    with Staging(db, "0123abcd") as staging:
        staging.add("alerts", canonical_table([_alert("a", "t")]))
        with pytest.raises(ValueError, match="columns differ"):
            staging.add("alerts", pa.table({"source": ["s"], "source_id": ["b"]}))
