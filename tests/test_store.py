"""The store: migrations, bulk upserts, lock retry against a real second process."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
import threading
import time

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

import store
from store.migrations import MIGRATIONS

CANONICAL = {
    "alerts", "notifications", "events", "people", "teams", "services", "reviews",
    "fix_estimates", "sync_state", "ingest_runs", "quarantine",
}


def _tables(db: str) -> set[str]:
    with store.reading(db) as con:
        return {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}


def _alert(source_id: str, title: str = "Disk full", **extra) -> dict:
    row = {
        "source": "test", "source_id": source_id, "title": title, "signature": f"svc|{title.lower()}",
        "team": "payments", "created_at": dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC),
    }
    return row | extra


def test_migrations_create_every_canonical_table_from_empty(db):
    with store.writing(db):
        pass  # a writer creates the database; a reader never does (tests/test_store_locking.py)
    assert CANONICAL <= _tables(db)
    with store.reading(db) as con:
        assert store.schema_version(con) == store.LATEST_VERSION


def test_migration_from_previous_version_keeps_rows(db):
    con = duckdb.connect(db)
    store.migrate(con, target=2)  # before the alerts table was rebuilt (v3)
    assert store.schema_version(con) == 2
    labels = '{"alertname":"DiskFull","team":"payments"}'
    store.upsert(con, "alerts", pa.Table.from_pylist([_alert("a1", labels=labels, raw='{"id":1}'), _alert("a2")]))
    con.close()

    with store.writing(db) as con:  # opening applies the newer migrations
        assert store.schema_version(con) == store.LATEST_VERSION
        rows = con.execute("SELECT source_id, title, team, labels, raw FROM alerts ORDER BY 1").fetchall()
        assert rows == [("a1", "Disk full", "payments", labels, '{"id":1}'), ("a2", "Disk full", "payments", None, None)]
        # the rebuilt table keeps its key: an upsert of a1 replaces it
        store.upsert(con, "alerts", pa.Table.from_pylist([_alert("a1", title="Disk nearly full")]))
        titles = con.execute("SELECT source_id, title FROM alerts ORDER BY 1").fetchall()
        assert titles == [("a1", "Disk nearly full"), ("a2", "Disk full")]
    with store.reading(db) as con:
        table_sql = con.execute("SELECT sql FROM duckdb_tables() WHERE table_name = 'alerts'").fetchone()[0]
    assert "labels JSON USING COMPRESSION ZSTD" in table_sql
    assert "raw JSON USING COMPRESSION ZSTD" in table_sql
    assert "runbook_links" in _tables(db)


def test_reviews_and_estimates_saved_before_v4_keep_their_rows(db):
    con = duckdb.connect(db)
    store.migrate(con, target=3)
    con.execute("INSERT INTO reviews VALUES ('r1', 'api|disk', NULL, NULL, 'noise', 'old', 'sam', '2026-03-01 10:00+00')")
    con.execute("INSERT INTO fix_estimates VALUES ('api|disk', 6, 'tune it', 'po', '2026-03-01 10:00+00')")
    con.close()
    store.retro.save_fix_estimate(db, "api|disk", 20, fix_kind="cause")  # v6: one estimate per kind of fix
    with store.reading(db) as con:
        estimates = con.execute("SELECT fix_kind, hours, note FROM fix_estimates ORDER BY fix_kind").fetchall()
    assert estimates == [("alert", 6.0, "tune it"), ("cause", 20.0, None)]
    store.retro.save_review(db, "api|disk", "actionable", reviewer="kim",
                            period=(dt.datetime(2026, 3, 2, tzinfo=dt.UTC), dt.datetime(2026, 3, 16, tzinfo=dt.UTC)))
    with store.reading(db) as con:
        rows = con.execute("SELECT verdict, note, period_start FROM reviews ORDER BY reviewed_at").fetchall()
    assert rows[0] == ("noise", "old", None)
    assert rows[1][0] == "actionable" and rows[1][2] == dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    with pytest.raises(ValueError, match="must end after it starts"):
        store.retro.save_review(db, "api|disk", "noise", period=(rows[1][2], rows[1][2]))


def test_targets_are_set_replaced_and_cleared(db):
    store.retro.save_target(db, "payments", "wake_ups", 4, set_by="kim")
    store.retro.save_target(db, "payments", "wake_ups", 3, set_by="sam")
    store.retro.save_target(db, "payments", "noise_ratio", 0.25)
    with store.reading(db) as con:
        rows = con.execute("SELECT figure, value, set_by FROM targets ORDER BY figure").fetchall()
    assert rows == [("noise_ratio", 0.25, None), ("wake_ups", 3.0, "sam")]
    store.retro.clear_target(db, "payments", "wake_ups")
    with store.reading(db) as con:
        assert con.execute("SELECT figure FROM targets").fetchall() == [("noise_ratio",)]
    for figure, value in (("noise_ratio", 1.5), ("wake_ups", -1), ("pages", 2)):
        with pytest.raises(ValueError):
            store.retro.save_target(db, "payments", figure, value)


def test_migrations_are_numbered_in_order():
    versions = [version for version, _, _ in MIGRATIONS]
    assert versions == list(range(1, len(versions) + 1))


def test_upsert_twice_gives_the_same_rows(db):
    batch = pa.Table.from_pylist([_alert("a1"), _alert("a2", "CPU high")])
    for _ in range(2):
        with store.writing(db) as con:
            store.upsert(con, "alerts", batch)
    with store.reading(db) as con:
        rows = con.execute("SELECT source_id, title FROM alerts ORDER BY 1").fetchall()
    assert rows == [("a1", "Disk full"), ("a2", "CPU high")]


def test_upsert_updates_only_the_columns_it_carries_and_last_duplicate_wins(db):
    with store.writing(db) as con:
        store.upsert(con, "alerts", pa.Table.from_pylist([_alert("a1", runbook_url="https://runbooks/x")]))
    resolved = dt.datetime(2026, 3, 1, 13, tzinfo=dt.UTC)
    update = pd.DataFrame(
        {"source": ["test", "test"], "source_id": ["a1", "a1"],
         "resolved_at": [resolved - dt.timedelta(minutes=5), resolved]}
    )
    with store.writing(db) as con:
        store.upsert(con, "alerts", update)
    with store.reading(db) as con:
        row = con.execute("SELECT title, runbook_url, resolved_at, count(*) OVER () FROM alerts").fetchone()
    assert row == ("Disk full", "https://runbooks/x", resolved, 1)


def test_upsert_rejects_unknown_columns_and_missing_keys(db):
    with store.writing(db) as con:
        with pytest.raises(ValueError, match="unknown columns"):
            store.upsert(con, "teams", pa.table({"source": ["s"], "team_id": ["t"], "name": ["n"], "x; DROP": [1]}))
        with pytest.raises(ValueError, match="lacks key columns"):
            store.upsert(con, "teams", pa.table({"source": ["s"], "name": ["n"]}))
        with pytest.raises(KeyError):
            store.upsert(con, "not_a_table", pa.table({"a": [1]}))


def test_failed_unit_of_work_rolls_back(db):
    with pytest.raises(RuntimeError):
        with store.writing(db) as con:
            store.upsert(con, "alerts", pa.Table.from_pylist([_alert("a1")]))
            raise RuntimeError("boom")
    with store.reading(db) as con:
        assert con.execute("SELECT count(*) FROM alerts").fetchone()[0] == 0


def _hold_write_lock(db: str, seconds: float) -> subprocess.Popen:
    """A real second process that opens the database for writing and keeps it open."""
    code = textwrap.dedent(
        f"""
        import sys, time, duckdb
        con = duckdb.connect({db!r})
        print("locked", flush=True)
        time.sleep({seconds})
        con.close()
        """
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_reader_retries_until_the_writer_lets_go(db):
    with store.writing(db):
        pass
    holder = _hold_write_lock(db, 1.5)
    try:
        started = time.monotonic()
        with store.reading(db, timeout_s=20) as con:
            assert con.execute("SELECT count(*) FROM alerts").fetchone()[0] == 0
        waited = time.monotonic() - started
    finally:
        holder.wait(timeout=20)
    assert waited >= 0.5  # it really had to wait for the other process


def test_clear_error_after_the_bound_names_the_process(db):
    with store.writing(db):
        pass
    holder = _hold_write_lock(db, 30)
    try:
        started = time.monotonic()
        with pytest.raises(store.DatabaseBusy) as caught:
            with store.writing(db, timeout_s=1.0):
                pass
        assert 1.0 <= time.monotonic() - started < 10
    finally:
        holder.kill()
        holder.wait()
    message = str(caught.value)
    assert f"process {holder.pid}" in message and "is open in" in message
    assert "try again" in message and db in message


def test_connection_strings_are_not_treated_as_files():
    assert store.is_local_file("data/alerts.duckdb")
    assert store.is_local_file("C:\\data\\alerts.duckdb")
    assert not store.is_local_file("md:alerts")
    assert not store.is_local_file(":memory:")


@pytest.mark.parametrize(
    ("db", "shown"),
    [
        ("data/alerts.duckdb", "data/alerts.duckdb"),
        ("md:alerts?motherduck_token=eyJhbGciOi.secret", "md:alerts?motherduck_token=***"),
        ("ducklake:postgres:dbname=alerts host=db password=hunter2 user=x",
         "ducklake:postgres:dbname=alerts host=db password=*** user=x"),
    ],
)
def test_connection_strings_are_shown_without_credentials(db, shown):
    assert store.display_name(db) == shown


def test_a_writer_waits_for_a_reader_of_the_same_process(db):
    """The dashboard reads on one thread while a save writes on another: the save waits, then lands."""
    import threading

    store.retro.save_target(db, "core", "wake_ups", 1)
    release = threading.Event()

    def read_a_while():
        with store.reading(db) as con:
            con.execute("SELECT count(*) FROM targets").fetchone()
            release.wait(5)

    reader = threading.Thread(target=read_a_while)
    reader.start()
    time.sleep(0.2)
    threading.Timer(0.5, release.set).start()
    started = time.monotonic()
    store.retro.save_target(db, "core", "wake_ups", 2)  # would fail at once without the wait
    reader.join()
    assert time.monotonic() - started >= 0.2
    with store.reading(db) as con:
        assert con.execute("SELECT value FROM targets").fetchone() == (2.0,)


def test_a_database_is_checked_once_per_file_however_its_path_is_written(tmp_path, monkeypatch):
    """The process's memo of checked schemas is per file: the same file by a relative path, `./`, a symlink or
    its absolute path is checked once, and the same relative path after a chdir is another file, checked anew."""
    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir(), there.mkdir()
    with store.writing(str(here / "alerts.duckdb")):
        pass
    (tmp_path / "link.duckdb").symlink_to(here / "alerts.duckdb")
    old = duckdb.connect(str(there / "alerts.duckdb"))
    store.migrate(old, target=2)  # an older schema, written by an earlier version
    old.close()
    store.connection._migrated.clear()  # a fresh process
    checks = []
    checked = store.connection.schema_version
    monkeypatch.setattr(store.connection, "schema_version", lambda con: checks.append(1) or checked(con))

    monkeypatch.chdir(here)
    for spelling in ("alerts.duckdb", "./alerts.duckdb", str(tmp_path / "link.duckdb"), str(here / "alerts.duckdb"),
                     "../here/alerts.duckdb"):
        with store.reading(spelling) as con:
            assert con.execute("SELECT count(*) FROM alerts").fetchone() == (0,)
    assert len(checks) == 1

    monkeypatch.chdir(there)  # the same words, another file: its older schema is found and migrated
    with store.reading("alerts.duckdb") as con:
        assert checked(con) == store.LATEST_VERSION
        assert "runbook_links" in {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}


def test_one_thread_holds_one_file_however_its_path_is_written(tmp_path, monkeypatch):
    """A write lock taken again by `./x.duckdb` inside one taken by `x.duckdb` nests (it waited for itself), and a
    read by another spelling within a read session is one of the session's reads."""
    monkeypatch.chdir(tmp_path)
    with store.writing("x.duckdb"):
        pass
    with store.lock.exclusive("x.duckdb", 1.0), store.lock.exclusive("./x.duckdb", 1.0):
        pass
    with store.read_session("x.duckdb"), store.reading(str(tmp_path / "x.duckdb")) as con:
        assert store.keeps(con)  # only a session's reads keep tables for the run's later reads


def test_a_database_reached_through_a_symlink_shares_the_files_beside_it(tmp_path):
    """Its lock and the saves kept aside lie beside the file the symlink leads to, where DuckDB keeps its
    write-ahead log: a process given the link and one given the file meet there."""
    real, link = tmp_path / "real.duckdb", tmp_path / "link.duckdb"
    with store.writing(str(real)):
        pass
    link.symlink_to(real)
    waited = []

    def write_by_the_file() -> None:
        try:
            with store.lock.exclusive(str(real), 0.3):
                waited.append(False)
        except store.lock.LockTimeout:
            waited.append(True)

    with store.lock.exclusive(str(link), 1.0):  # a writer by the link: a writer by the file waits
        other = threading.Thread(target=write_by_the_file)
        other.start()
        other.join()
    assert waited == [True]

    row = store.retro.review_row("Disk|db", "noise", note="kept by the link", review_id="r1")
    store.pending.keep(str(link), "reviews", pa.Table.from_pylist([row]))  # the file was busy: kept aside
    with store.reading(str(real)) as con:  # a reader given the file sees it at once
        assert con.execute("SELECT note FROM reviews").fetchall() == [("kept by the link",)]
