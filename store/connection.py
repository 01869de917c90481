"""Open DuckDB for one unit of work: migrate on open, retry lock conflicts, close after."""

from __future__ import annotations

import logging
import os
import random
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import duckdb

from store import lock
from store.migrations import LATEST_VERSION, MIGRATIONS

log = logging.getLogger(__name__)

DEFAULT_DB = "data/alerts.duckdb"
DEFAULT_LOCK_TIMEOUT_S = 30.0
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


def lock_timeout_s() -> float:
    raw = os.environ.get("ALERTHYGIENE_LOCK_TIMEOUT")
    try:
        return float(raw) if raw else DEFAULT_LOCK_TIMEOUT_S
    except ValueError:
        return DEFAULT_LOCK_TIMEOUT_S


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
    timeout_s = lock_timeout_s() if timeout_s is None else timeout_s
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

    ALERTHYGIENE_LOCKING=retry opens without it, as earlier versions did (for comparisons).
    """
    if not is_local_file(db) or os.environ.get("ALERTHYGIENE_LOCKING") == "retry":
        return nullcontext()
    return _QueuedOpen(db, write, lock_timeout_s() if timeout_s is None else timeout_s)


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
        if waited >= 0.1:  # with -v: where a slow command's time went
            log.info("waited %.2fs to %s the database", waited, "write" if self.write else "read")

    def __exit__(self, *exc_info) -> None:
        self._hold.__exit__(*exc_info)


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


_migrated: set[str] = set()


def _ensure_ready(db: str, timeout_s: float | None, create: bool) -> None:
    """Check (and for an older schema, migrate) the database once per process before first use.

    A reader never creates anything: a local file that does not exist is an error, not a new
    empty database. A database of a newer schema is refused by readers and writers alike.
    """
    if db in _migrated:
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
        with _queued(db, True, timeout_s):
            con = _connect(db, read_only=False, timeout_s=timeout_s)
            try:
                migrate(con)
            finally:
                _close(con)
    _migrated.add(db)


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
    _ensure_ready(db, timeout_s, create=True)
    with _queued(db, True, timeout_s):
        con = _connect(db, read_only=False, timeout_s=timeout_s)
        try:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
        finally:
            _close(con)


@contextmanager
def reading(db: str | None = None, timeout_s: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived read-only connection (read-write for non-file databases); never creates one."""
    db = db or default_db()
    _ensure_ready(db, timeout_s, create=False)
    with _queued(db, False, timeout_s):
        con = _connect(db, read_only=is_local_file(db), timeout_s=timeout_s)
        try:
            yield con
        finally:
            _close(con)


def last_change(db: str | None = None) -> float:
    """A number that changes whenever the database file does (for cache keys)."""
    db = db or default_db()
    if not is_local_file(db):
        return time.time() // 60  # remote stores: refresh at most once a minute
    stamps = [p.stat().st_mtime_ns for p in (Path(db), Path(db + ".wal")) if p.exists()]
    return float(max(stamps, default=0))
