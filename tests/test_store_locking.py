"""The store's lock across processes: writers are not starved by readers nor readers by a long import; a
reader never creates a database; a newer schema is refused; the busy message names who holds the file."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time

import duckdb
import pyarrow as pa
import pytest

import store
from tests.conftest import ROOT


def _created(db: str) -> str:
    with store.writing(db):
        pass
    return db


def _loop(db: str, kind: str, seconds: float, pause: float = 0.0) -> subprocess.Popen:
    """A real second process that reads (a dashboard, a report) or writes (an import) back to back."""
    code = textwrap.dedent(f"""
        import sys, time, store
        deadline = time.monotonic() + {seconds}
        print("started", flush=True)
        n = 0
        while time.monotonic() < deadline:
            if {kind!r} == "read":
                with store.reading({db!r}) as con:
                    con.execute("SELECT count(*) FROM range(3000000)").fetchall()
            else:
                with store.writing({db!r}) as con:
                    con.execute("INSERT INTO runbook_links SELECT 'loop' || ?, 'https://x', NULL, now() "
                                "FROM range(1) ON CONFLICT DO NOTHING", [n])
                    con.execute("SELECT count(*) FROM range(3000000)").fetchall()
                n += 1
            time.sleep({pause})
    """)
    process = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert process.stdout.readline().strip() == "started"
    return process


def _timed(action, times: int) -> list[float]:
    took = []
    for _ in range(times):
        began = time.monotonic()
        action()
        took.append(time.monotonic() - began)
        time.sleep(0.05)
    return took


def test_a_writer_gets_in_between_readers_that_read_back_to_back(db):
    _created(db)
    readers = [_loop(db, "read", 12) for _ in range(2)]
    try:
        def save():
            with store.writing(db, timeout_s=30) as con:
                con.execute("INSERT OR REPLACE INTO fix_estimates (signature, fix_kind, hours, estimated_at) VALUES ('sig', 'alert', 2, now())")
        took = _timed(save, 8)
    finally:
        for reader in readers:
            reader.kill()
            reader.wait()
    assert max(took) < 2.0, took  # a read is ~0.1 s: the writer waits for the current ones only


def test_a_reader_gets_in_between_the_parts_of_a_writer_that_writes_back_to_back(db):
    _created(db)
    writer = _loop(db, "write", 12)
    try:
        def read():
            with store.reading(db, timeout_s=30) as con:
                con.execute("SELECT count(*) FROM runbook_links").fetchone()
        took = _timed(read, 8)
    finally:
        writer.kill()
        writer.wait()
    assert max(took) < 2.0, took


def test_a_reader_never_creates_a_database_or_its_directory(tmp_path):
    missing = tmp_path / "typo" / "alerts.duckdb"
    with pytest.raises(store.DatabaseError, match="does not exist"):
        with store.reading(str(missing)):
            pass
    assert not (tmp_path / "typo").exists()


def test_a_database_of_a_newer_schema_is_refused_by_readers_and_writers(db):
    _created(db)
    con = duckdb.connect(db)
    con.execute("INSERT INTO schema_version VALUES (?, 'from the future', now())", [store.LATEST_VERSION + 1])
    con.close()
    for open_ in (store.reading, store.writing):
        store.connection._migrated.clear()  # a fresh process
        with pytest.raises(store.DatabaseError) as caught:
            with open_(db):
                pass
        message = str(caught.value)
        assert f"schema version {store.LATEST_VERSION + 1}" in message and "upgrade" in message
        assert "\n" not in message


def _hold(db: str, kind: str) -> subprocess.Popen:
    code = textwrap.dedent(f"""
        import time, store
        with store.{'reading' if kind == 'read' else 'writing'}({db!r}):
            print("holding", flush=True)
            time.sleep(60)
    """)
    process = subprocess.Popen([sys.executable, "-c", code, "hold-for-test"], cwd=ROOT, stdout=subprocess.PIPE,
                               text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert process.stdout.readline().strip() == "holding"
    return process


@pytest.mark.parametrize(("held_by", "wanted", "said"), [
    ("read", store.writing, "is reading it"),
    ("write", store.reading, "is writing to it"),
    ("write", store.writing, "is writing to it"),
])
def test_the_busy_message_names_the_process_that_holds_the_database_and_what_it_does(db, held_by, wanted, said):
    _created(db)
    holder = _hold(db, held_by)
    try:
        with pytest.raises(store.DatabaseBusy) as caught:
            with wanted(db, timeout_s=1.0):
                pass
    finally:
        holder.kill()
        holder.wait()
    message = str(caught.value)
    assert f"process {holder.pid}" in message and "hold-for-test" in message and said in message
    assert "Wait for it to finish" in message and "\n" not in message


def test_threads_reading_arrow_tables_at_once_see_no_catalog_error(db):
    """DuckDB's per-file instance is shared by a process's connections; opened and closed by many
    threads at once it lost its Python table functions (python_arrow_scan) under another thread."""
    _created(db)
    errors = []

    def pages():
        for _ in range(60):
            try:
                with store.reading(db) as con:
                    con.register("calendar", pa.table({"day": [1, 2, 3]}))
                    con.execute("SELECT sum(day) FROM calendar").fetchone()
            except Exception as exc:  # noqa: BLE001 - every failure is one a person would see
                errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=pages) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_a_thread_that_writes_and_threads_that_read_in_one_process_do_not_collide(db):
    """DuckDB refuses a read-only and a read-write connection to one file in one process; the lock
    makes the dashboard's readers wait for its own review save instead of failing."""
    _created(db)
    errors = []

    def reads():
        for _ in range(40):
            try:
                with store.reading(db) as con:
                    con.execute("SELECT count(*) FROM reviews").fetchone()
            except Exception as exc:  # noqa: BLE001
                errors.append(f"{type(exc).__name__}: {exc}")

    def saves():
        for n in range(40):
            try:
                store.retro.save_review(db, f"sig{n}", "noise")
            except Exception as exc:  # noqa: BLE001
                errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=reads), threading.Thread(target=reads), threading.Thread(target=saves)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_a_writer_that_waited_says_how_long_behind_whom_and_how_long_it_opened_and_worked(db):
    _created(db)
    holder = _hold(db, "read")
    threading.Timer(1.0, holder.kill).start()  # the report ends after a second
    try:
        with store.writing(db, timeout_s=30) as con:
            con.execute("SELECT 1").fetchall()
    finally:
        holder.wait()
    unit = store.connection.last_unit()
    assert unit.write and unit.gate_s >= 0.5 and unit.queue_s < 0.5
    assert [command for pid, command in unit.behind if pid == holder.pid][0].endswith("hold-for-test")
    assert unit.open_s > 0 and unit.work_s > 0


def test_a_background_writer_lets_a_writer_that_waits_go_first_and_for_a_bounded_time_only(db):
    order, holding, lock_s = [], threading.Event(), 30.0

    def hold(name: str, seconds: float, background_s: float = 0.0, after: threading.Event | None = None) -> None:
        if after is not None:
            after.wait(5)
        with store.lock.background(background_s), store.lock.exclusive(db, lock_s):
            order.append(name)
            holding.set()
            time.sleep(seconds)

    sync = threading.Thread(target=hold, args=("sync", 0.6))
    sync.start()
    holding.wait(5)
    # The receiver's periodic load asks first, then an import: the import goes ahead of the load.
    load = threading.Thread(target=hold, args=("load", 0.0, 10.0))
    load.start()
    time.sleep(0.2)
    imported = threading.Thread(target=hold, args=("import", 0.3))
    imported.start()
    for thread in (sync, load, imported):
        thread.join(10)
    assert order == ["sync", "import", "load"]

    # Someone waiting all the time delays a background write by its bound, not for ever.
    order.clear()
    holding.clear()
    long_sync = threading.Thread(target=hold, args=("sync", 2.0))
    long_sync.start()
    holding.wait(5)
    waiter = threading.Thread(target=hold, args=("import", 0.0))
    waiter.start()
    time.sleep(0.1)
    began = time.monotonic()
    with store.lock.background(0.3), store.lock.exclusive(db, lock_s):
        took = time.monotonic() - began
        yielded = store.lock.last_turn().yielded_s
    for thread in (long_sync, waiter):
        thread.join(10)
    assert 0.3 <= yielded < 1.0 and took >= 1.5  # it stopped yielding, then queued behind the sync


# --- a read session: a page's reads share one open database -----------------------------------------


def _write_in_another_process(db: str) -> subprocess.Popen:
    """A sync that writes one row and prints how long it waited for the database."""
    code = textwrap.dedent(f"""
        import time, store
        began = time.monotonic()
        with store.writing({db!r}, timeout_s=30) as con:
            waited = time.monotonic() - began
            con.execute("INSERT INTO runbook_links VALUES ('from-sync', 'https://x', NULL, now())")
        print(f"{{waited:.3f}}", flush=True)
    """)
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_reads_in_a_session_share_one_open_database_and_nothing_else(db):
    _created(db)
    with store.read_session(db):
        with store.reading(db) as con:
            con.execute("CREATE TEMP TABLE facts AS SELECT 1 AS x")
            con.execute("SET TimeZone = 'Asia/Tokyo'")
        # Between reads the file stays open: DuckDB itself refuses another process's writer.
        other = subprocess.run([sys.executable, "-c", f"import duckdb; duckdb.connect({db!r})"],
                               capture_output=True, text=True, cwd=ROOT)
        assert other.returncode != 0 and "lock" in other.stderr
        with store.reading(db) as con:  # a read of its own: no temporary table or setting of the last one
            assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'facts'").fetchone()[0] == 0
            assert con.execute("SELECT current_setting('TimeZone')").fetchone()[0] != "Asia/Tokyo"
    subprocess.run([sys.executable, "-c", f"import duckdb; duckdb.connect({db!r}).close()"], check=True, cwd=ROOT)


def test_a_writer_waits_for_a_sessions_read_in_progress_only_not_for_the_rest_of_the_run(db):
    _created(db)
    with store.read_session(db):
        with store.reading(db) as con:
            con.execute("SELECT count(*) FROM runbook_links").fetchone()
        sync = _write_in_another_process(db)  # arrives while the page draws what it read
        time.sleep(2.0)
        assert sync.wait(10) == 0
        waited = float(sync.stdout.read())
        with store.reading(db) as con:  # the next read opens again, and sees what was written
            assert con.execute("SELECT count(*) FROM runbook_links WHERE signature = 'from-sync'").fetchone()[0] == 1
    assert waited < 1.0


def test_a_session_that_writes_in_its_own_thread_neither_waits_for_itself_nor_reads_stale_rows(db):
    _created(db)
    with store.read_session(db):
        with store.reading(db) as con:
            assert con.execute("SELECT count(*) FROM reviews").fetchone()[0] == 0
        began = time.monotonic()
        store.retro.save_review(db, "sig", "noise")
        assert time.monotonic() - began < 2.0  # not the lock's timeout, waiting on its own read
        with store.reading(db) as con:
            assert con.execute("SELECT count(*) FROM reviews").fetchone()[0] == 1
