"""Open DuckDB for one unit of work: migrate on open, retry lock conflicts, close after."""

from __future__ import annotations

import atexit
import logging
import os
import random
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from store import layout, lock, pending
from store.migrations import LATEST_VERSION, MIGRATIONS
from store.paths import beside
from store.upsert import upsert

log = logging.getLogger(__name__)

DEFAULT_DB = "data/alerts.duckdb"
DEFAULT_LOCK_TIMEOUT_S = 30.0
DEFAULT_WRITE_LOCK_TIMEOUT_S = 120.0
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<cmd>.+?) \(PID (?P<pid>\d+)\)")


class DatabaseBusy(RuntimeError):
    """Another process held the database's write lock for longer than we wait."""


class DatabaseError(RuntimeError):
    """The database could not be opened or is not one of ours."""


def default_db() -> str:
    """The database named by $ALERTHYGIENE_DB, else the default file."""
    return os.environ.get("ALERTHYGIENE_DB") or DEFAULT_DB


def is_local_file(db: str) -> bool:
    """True for a plain file path; False for ':memory:' and connection strings like 'md:'."""
    return db != ":memory:" and not re.match(r"^[a-z][a-z0-9_]*:(?!\\)", db, re.I)


def exists(db: str) -> bool:
    """False only for a local file that is not there (nothing has been written to it yet)."""
    return not is_local_file(db) or Path(db).exists()


_CREDENTIAL = re.compile(r"(?i)((?:password|passwd|token|secret|key)[^=\s&;]*=)[^\s&;]+")


def display_name(db: str) -> str:
    """The database as it may be shown or logged: credentials in a connection string masked."""
    return _CREDENTIAL.sub(r"\1***", db)


def lock_timeout_s(write: bool = False) -> float:
    """How long to wait for the database: ALERTHYGIENE_LOCK_TIMEOUT, else 30 s to read and 120 s to write.

    A writer waits longer: it is a sync, an import or a load, which must not fail because the
    machine is busy (a sync timed out after 30 s behind reads slowed by a load average of 10);
    a person's save never waits that long (see upsert_soon).
    """
    default = DEFAULT_WRITE_LOCK_TIMEOUT_S if write else DEFAULT_LOCK_TIMEOUT_S
    raw = os.environ.get("ALERTHYGIENE_LOCK_TIMEOUT")
    try:
        return float(raw) if raw else default
    except ValueError:
        return default


def _is_lock_conflict(exc: Exception) -> bool:
    text = str(exc)
    return "Could not set lock" in text or "Conflicting lock" in text


_WHAT_TO_DO = ("Wait for it to finish (or stop it), then try again; "
               "ALERTHYGIENE_LOCK_TIMEOUT sets how long to wait.")


def describe_process(pid: int, command: str) -> str:
    """A process as a person can find it: pid and command line (credentials masked, shortened)."""
    if pid == os.getpid():
        return f"this process ({pid})"
    command = display_name(" ".join(command.split()))
    return f"process {pid} ({command[:117] + '...' if len(command) > 120 else command})"


def _busy_message(db: str, exc: Exception, waited: float) -> str:
    """DuckDB's own lock, held by a process that does not queue for the file (a DuckDB shell, say)."""
    match = _LOCK_HOLDER.search(str(exc))
    holder = describe_process(int(match["pid"]), match["cmd"]) if match else "another process"
    return f"database {display_name(db)} is open in {holder}; waited {waited:.0f}s. {_WHAT_TO_DO}"


def _queue_message(db: str, timeout: lock.LockTimeout, waited: float) -> str:
    """Our own lock: who is writing (or, for a waiting writer, reading) and for how long we waited."""
    writers = [h for h in timeout.holders if h[2] == "WRITE"]
    shown = writers or timeout.holders
    if not shown:
        who = "another process"
    else:
        who = ", ".join(describe_process(pid, command) for pid, command, _ in shown[:3])
    doing = "writing to" if writers or timeout.stage == "queue" else "reading"
    return f"database {display_name(db)} is busy: {who} is {doing} it; waited {waited:.0f}s. {_WHAT_TO_DO}"


# DuckDB keeps one database instance per file and process, shared by its connections; opening
# and closing them from several threads at once can tear down the instance's Python functions
# under another thread (CatalogException: python_arrow_scan does not exist). One at a time.
_OPEN_CLOSE = threading.Lock()


def _no_progress_bar(con: duckdb.DuckDBPyConnection) -> None:
    """DuckDB draws a progress bar on stdout after two seconds: it would corrupt a command's output."""
    try:
        con.execute("SET enable_progress_bar = false")
    except duckdb.InvalidInputException:
        pass  # in Jupyter without ipywidgets DuckDB refuses the setting; there the bar is no stdout text


def _connect(db: str, read_only: bool, timeout_s: float | None) -> duckdb.DuckDBPyConnection:
    """Connect, retrying DuckDB's own lock conflicts with capped exponential backoff and jitter."""
    timeout_s = lock_timeout_s(not read_only) if timeout_s is None else timeout_s
    started = time.monotonic()
    delay = 0.05
    while True:
        try:
            with _OPEN_CLOSE:
                con = duckdb.connect(db, read_only=read_only)
            _no_progress_bar(con)
            return con
        except duckdb.IOException as exc:
            waited = time.monotonic() - started
            if not _is_lock_conflict(exc):
                raise DatabaseError(f"cannot open database {display_name(db)}: {_first_line(exc)}") from None
            if waited >= timeout_s:
                raise DatabaseBusy(_busy_message(db, exc, waited)) from None
            log.debug("database %s is locked; retrying in %.2fs", db, delay)
            time.sleep(min(delay * (0.5 + random.random()), max(timeout_s - waited, 0.01)))
            delay = min(delay * 2, 0.25)


def _close(con: duckdb.DuckDBPyConnection) -> None:
    with _OPEN_CLOSE:
        con.close()


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _queued(db: str, write: bool, timeout_s: float | None):
    """The cross-process lock a local file is opened under (nothing for other databases).

    ALERTHYGIENE_LOCKING=retry opens without it, as earlier versions did (for comparisons;
    `queue-wait` keeps the lock but makes a person's saves wait for it, see upsert_soon).
    """
    if not is_local_file(db) or os.environ.get("ALERTHYGIENE_LOCKING") == "retry":
        return nullcontext()
    return _QueuedOpen(db, write, lock_timeout_s(write) if timeout_s is None else timeout_s)


class _QueuedOpen:
    """`store.lock` as a context manager whose timeout becomes DatabaseBusy with the holder named."""

    def __init__(self, db: str, write: bool, timeout_s: float):
        self.db, self.write, self.timeout_s = db, write, timeout_s
        self._hold = None

    def __enter__(self) -> None:
        started = time.monotonic()
        self._hold = (lock.exclusive if self.write else lock.shared)(self.db, self.timeout_s)
        try:
            self._hold.__enter__()
        except lock.LockTimeout as exc:
            raise DatabaseBusy(_queue_message(self.db, exc, time.monotonic() - started)) from None
        waited = time.monotonic() - started
        turn = lock.last_turn()
        _units.last = Unit(self.write, turn.queue_s, turn.gate_s, behind=turn.behind)
        if waited >= 0.1:  # with -v: where a slow command's time went
            log.info("waited %.2fs to %s the database (%.2fs behind writers, %.2fs behind readers%s)",
                     waited, "write" if self.write else "read", turn.queue_s, turn.gate_s,
                     f": {'; '.join(sorted({c for _, c in turn.behind}))[:200]}" if turn.behind else "")

    def __exit__(self, *exc_info) -> None:
        self._hold.__exit__(*exc_info)


@dataclass
class Unit:
    """Where one unit of work's time went: waiting behind writers (queue_s) and readers (gate_s),
    opening the file (open_s) and the work itself with the file open (work_s)."""

    write: bool = False
    queue_s: float = 0.0
    gate_s: float = 0.0
    open_s: float = 0.0
    work_s: float = 0.0
    behind: list[tuple[int, str]] = field(default_factory=list)  # (pid, command) it found holding the lock
    kept_aside: bool = False  # a save that did not get the file in time (upsert_soon)


_units = threading.local()


def last_unit() -> Unit:
    """This thread's last unit of work (for timings; zeros before the first)."""
    return getattr(_units, "last", None) or Unit()


@contextmanager
def _timed_open(db: str, write: bool, timeout_s: float | None) -> Iterator[duckdb.DuckDBPyConnection]:
    """Queue for the file, open it, and record in `last_unit` where the time went."""
    timeout_s = lock_timeout_s(write) if timeout_s is None else timeout_s
    _units.last = Unit(write)
    with _queued(db, write, timeout_s):
        unit, began = _units.last, time.monotonic()
        con = _connect(db, read_only=not write and is_local_file(db), timeout_s=timeout_s)
        unit.open_s, began = time.monotonic() - began, time.monotonic()
        try:
            yield con
        finally:
            _close(con)
            unit.work_s = time.monotonic() - began
            log.debug("%s: waited %.2fs behind writers, %.2fs behind readers; opened in %.2fs; held %.2fs",
                      "write" if write else "read", unit.queue_s, unit.gate_s, unit.open_s, unit.work_s)


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The schema version a database is at (0 when empty)."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchone()[0]
    if not exists:
        return 0
    return con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]


def migrate(con: duckdb.DuckDBPyConnection, target: int = LATEST_VERSION) -> int:
    """Apply every migration above the database's version, each in its own transaction."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_version "
        "(version INTEGER PRIMARY KEY, description VARCHAR, applied_at TIMESTAMPTZ)"
    )
    current = schema_version(con)
    _refuse_newer(current)
    for version, description, statements in MIGRATIONS:
        if current < version <= target:
            con.execute("BEGIN TRANSACTION")
            try:
                for statement in statements:
                    con.execute(statement)
                con.execute(
                    "INSERT INTO schema_version VALUES (?, ?, current_timestamp)",
                    [version, description],
                )
                con.execute("COMMIT")
            except Exception:
                con.execute("ROLLBACK")
                raise
            log.info("database migrated to schema version %d (%s)", version, description)
    return schema_version(con)


def _refuse_newer(version: int, db: str | None = None) -> None:
    if version > LATEST_VERSION:
        where = f"database {display_name(db)}" if db else "the database"
        raise DatabaseError(
            f"{where} has schema version {version}, newer than this program's {LATEST_VERSION}: "
            "it was written by a newer version; upgrade this program to use it"
        )


# Databases whose schema this process has checked (and migrated), by `file_key`.
_migrated: set[str] = set()


def file_key(db: str) -> str:
    """One name per database for what a process remembers of it: a local file by its resolved absolute
    path (`x.duckdb`, `./x.duckdb` and a symlink to it are one file; `data/alerts.duckdb` is another file
    after a chdir), anything else as given."""
    return os.path.realpath(db) if is_local_file(db) else db


def _ensure_ready(db: str, timeout_s: float | None, create: bool) -> None:
    """Check (and for an older schema, migrate) the database once per process before first use.

    A reader never creates anything: a local file that does not exist is an error, not a new
    empty database. A database of a newer schema is refused by readers and writers alike.
    """
    if file_key(db) in _migrated:
        return
    present = exists(db)
    if not present and not create:
        raise DatabaseError(f"database {display_name(db)} does not exist")
    if not present:
        _make_parent(db)
    version = 0
    if present:
        with _queued(db, False, timeout_s):
            con = _connect(db, read_only=is_local_file(db), timeout_s=timeout_s)
            try:
                version = schema_version(con)
            finally:
                _close(con)
        _refuse_newer(version, db)
    if version < LATEST_VERSION:
        _release_session(db)
        with _queued(db, True, timeout_s):
            con = _connect(db, read_only=False, timeout_s=timeout_s)
            try:
                migrate(con)
            finally:
                _close(con)
    _migrated.add(file_key(db))


def _release_session(db: str) -> None:
    """Before this thread writes: its read session's database closed (it would shut the writer out)."""
    session = _sessions.get(db)
    if session is not None:
        session.release()


def _make_parent(db: str) -> None:
    parent = Path(db).parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise DatabaseError(f"cannot create the database's directory {parent}: a file is in the way") from None
    except OSError as exc:
        raise DatabaseError(f"cannot create the database's directory {parent}: {exc.strerror}") from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise DatabaseError(f"cannot create database {display_name(db)}: directory {parent} is not writable")


def check_writable(db: str, timeout_s: float | None = None) -> None:
    """For a long-running writer at start: the database opens for writing (created if new) and is
    not of a newer schema; DatabaseError (one line) if not."""
    _ensure_ready(db, timeout_s, create=True)
    if is_local_file(db) and not os.access(db, os.W_OK):
        raise DatabaseError(f"database {display_name(db)} is not writable")


@contextmanager
def writing(db: str | None = None, timeout_s: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """One unit of write work in one transaction; the file is closed afterwards (created if new)."""
    db = db or default_db()
    _release_session(db)
    _ensure_ready(db, timeout_s, create=True)
    with _timed_open(db, True, timeout_s) as con:
        if is_local_file(db):
            layout.remove_leftover_spill(db)  # nobody else has the file open now: see there
        con.execute("BEGIN TRANSACTION")
        try:
            applied = pending.apply(con, db) if is_local_file(db) else []  # saves kept aside come first
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
        pending.remove(applied)  # still holding the file: no reader sees them twice


@contextmanager
def reading(db: str | None = None, timeout_s: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived read-only connection (read-write for non-file databases); never creates one.

    Within this thread's `read_session` on the same file it is a cursor of the session's open
    database. A process's first read checks the schema on its own connection; only an older
    schema costs another open, to migrate it.
    """
    db = db or default_db()
    if not is_local_file(db):
        _ensure_ready(db, timeout_s, create=False)
        with _timed_open(db, False, timeout_s) as con:
            yield con
        return
    key = file_key(db)
    checked = key in _migrated
    if not checked and not exists(db):
        raise DatabaseError(f"database {display_name(db)} does not exist")
    session = _sessions.by_db.get(key)
    with session.cursor() if session else _timed_open(db, False, timeout_s) as con:
        if checked or _schema_is_latest(con, db):
            if pending.overlay(con, db) and session:  # saves kept aside while the file was busy
                _forget_kept(con)  # what earlier reads kept may predate them
            yield con
            return
    _ensure_ready(db, timeout_s, create=False)  # an older schema: migrated first, for this and later reads
    with reading(db, timeout_s) as con:
        yield con


def _schema_is_latest(con: duckdb.DuckDBPyConnection, db: str) -> bool:
    """On a read connection: True if the schema is this program's (remembered for the process); a
    newer one is refused."""
    version = schema_version(con)
    _refuse_newer(version, db)
    if version == LATEST_VERSION:
        _migrated.add(file_key(db))
    return version == LATEST_VERSION


# A read session's reads may keep tables for the run's later reads in this in-memory database (a
# page's ranking keeps its facts for the drill-down into one of its signatures). It lives as long
# as the session's open file: a writer's turn, or the end of the session, takes it away.
KEPT = "run_kept"


def keeps(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether `con` is a read of a session, whose database KEPT holds what the run's reads keep."""
    found = con.execute("SELECT count(*) FROM duckdb_databases() WHERE database_name = $name", {"name": KEPT})
    return found.fetchone()[0] > 0


def _forget_kept(con: duckdb.DuckDBPyConnection) -> None:
    tables = con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = $name", {"name": KEPT})
    for (table,) in tables.fetchall():
        con.execute(f'DROP TABLE {KEPT}."{table}"')  # a name DuckDB listed: no quote inside


class _ThreadSessions(threading.local):
    def __init__(self) -> None:
        self.by_db: dict[str, _ReadSession] = {}  # by `file_key`: a read of the file however written joins it

    def get(self, db: str) -> _ReadSession | None:
        return self.by_db.get(file_key(db))


_sessions = _ThreadSessions()


@contextmanager
def read_session(db: str | None = None, timeout_s: float | None = None) -> Iterator[None]:
    """Reads of this thread within the block share one open database (each read a cursor of its own).

    For a unit of work that reads several times (a dashboard page's run): it pays the file's open
    and close once, not once per read. It is opened at the first read, and closed at the end of the
    block, before this thread writes, and as soon as a writer waits while no read is running, so
    that a writer never waits longer than for the read in progress (DESIGN.md, Storage discipline).
    Only local files; elsewhere, and nested, it changes nothing.
    """
    db = db or default_db()
    if not is_local_file(db) or os.environ.get("ALERTHYGIENE_LOCKING") == "retry" or _sessions.get(db):
        yield
        return
    key = file_key(db)
    session = _sessions.by_db[key] = _ReadSession(db, lock_timeout_s(False) if timeout_s is None else timeout_s)
    try:
        yield
    finally:
        del _sessions.by_db[key]
        session.end()


class _ReadSession:
    """One thread's open read-only database, held under the shared lock; see `read_session`."""

    def __init__(self, db: str, timeout_s: float):
        self.db, self.timeout_s = db, timeout_s
        self._in_use = threading.Lock()  # held while a read runs; the watcher closes only an idle database
        self._con: duckdb.DuckDBPyConnection | None = None
        self._fds: tuple[int, ...] = ()
        self._ended = threading.Event()
        self._watcher: threading.Thread | None = None

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._in_use:
            if self._con is not None and lock.writer_waits(self.db):
                self._close()  # its turn first: this read queues behind it
            if self._con is None:
                self._open()
            cursor = self._con.cursor()  # temporary tables and settings of its own, dropped on close
            try:
                _no_progress_bar(cursor)
                yield cursor
            finally:
                cursor.close()

    def _open(self) -> None:
        unit, began = Unit(False), time.monotonic()
        _units.last = unit
        try:
            self._fds = lock.take_shared(self.db, self.timeout_s)
        except lock.LockTimeout as exc:
            raise DatabaseBusy(_queue_message(self.db, exc, time.monotonic() - began)) from None
        turn = lock.last_turn()
        unit.queue_s, unit.gate_s, unit.behind = turn.queue_s, turn.gate_s, turn.behind
        began = time.monotonic()
        try:
            self._con = _connect(self.db, read_only=True, timeout_s=self.timeout_s)
            self._con.execute(f"ATTACH ':memory:' AS {KEPT} (READ_WRITE)")
        except BaseException:
            self._close()
            raise
        unit.open_s = time.monotonic() - began
        if self._watcher is None:
            self._watcher = threading.Thread(target=self._watch, name="read-session", daemon=True)
            self._watcher.start()

    def _close(self) -> None:
        """Close the database and let go of the lock (with `_in_use` held)."""
        if self._con is not None:
            _close(self._con)
            self._con = None
        lock.release(self._fds)
        self._fds = ()

    def _watch(self) -> None:
        while not self._ended.wait(lock.POLL_S):
            if self._con is not None and lock.writer_waits(self.db) and self._in_use.acquire(blocking=False):
                try:
                    self._close()
                finally:
                    self._in_use.release()

    def release(self) -> None:
        """Close now (this thread is about to write); a later read opens again."""
        with self._in_use:
            self._close()

    def end(self) -> None:
        self._ended.set()
        self.release()
        if self._watcher is not None:
            self._watcher.join()


def upsert_soon(db: str | None, table: str, rows) -> None:
    """Upsert a person's save: at once if the database is free within `pending.WAIT_S`, else kept
    aside durably (seen by every reader at once) and applied by the next writer or this process."""
    db = db or default_db()
    if not is_local_file(db) or os.environ.get("ALERTHYGIENE_LOCKING") in ("retry", "queue-wait"):
        with writing(db) as con:  # no file to keep rows beside, or (for comparisons) the earlier designs
            upsert(con, table, rows)
        return
    # While earlier saves are still kept aside the file has been busy: this one joins them at once
    # (they are applied in order) rather than hold new readers back while it waits for its turn.
    if not pending.kept(db):
        try:
            with writing(db, timeout_s=pending.WAIT_S) as con:
                upsert(con, table, rows)
            return
        except DatabaseBusy:
            pass
    pending.keep(db, table, rows)
    _units.last = Unit(True, kept_aside=True)
    _apply_soon(db)


_appliers: dict[str, threading.Thread] = {}
APPLY_AT_EXIT_S = 5.0  # a command that kept saves aside tries this long to apply them before it exits


@atexit.register
def _apply_before_exit() -> None:
    """Give this process's appliers a moment to finish; what they cannot apply stays kept for the next writer."""
    deadline = time.monotonic() + APPLY_AT_EXIT_S
    for thread in list(_appliers.values()):
        thread.join(max(0.0, deadline - time.monotonic()))


def _apply_soon(db: str) -> None:
    """In the background, take the database as soon as it is free and apply what is kept aside."""
    with _OPEN_CLOSE:
        running = _appliers.get(db)
        if running is not None and running.is_alive():
            return
        thread = _appliers[db] = threading.Thread(target=_apply_kept, args=(db,), name="apply-kept", daemon=True)
    thread.start()


def _apply_kept(db: str) -> None:
    """Apply kept saves when the file is free: tried briefly now and then, not waited for, since a
    waiting writer would hold back every new reader while readers already see the kept rows."""
    pause = 0.1
    while pending.kept(db):
        try:
            with writing(db, timeout_s=0.05):
                pass  # a writer applies what is kept first
        except DatabaseBusy:
            time.sleep(pause)  # the next writer (a load, an import) may apply them meanwhile
            pause = min(pause * 2, 2.0)
        except Exception as exc:  # noqa: BLE001 - the next writer applies them; say why this one could not
            log.warning("saves kept aside for %s are not applied yet: %s", display_name(db), _first_line(exc))
            return


def last_change(db: str | None = None) -> float:
    """A number that changes whenever the database file does (for cache keys)."""
    db = db or default_db()
    if not is_local_file(db):
        return time.time() // 60  # remote stores: refresh at most once a minute
    stamps = [p.stat().st_mtime_ns for p in (Path(db), beside(db, ".wal"), pending.pending_dir(db)) if p.exists()]
    return float(max(stamps, default=0))
