"""Open DuckDB for one unit of work: migrate on open, retry lock conflicts, close after."""

from __future__ import annotations

import logging
import os
import random
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

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


def _busy_message(db: str, exc: Exception, waited: float) -> str:
    match = _LOCK_HOLDER.search(str(exc))
    holder = f"process {match['pid']} ({match['cmd']})" if match else "another process"
    return (
        f"database {db} is locked for writing by {holder}; waited {waited:.0f}s. "
        "Wait for that sync or webhook loader to finish (or stop it), then try again; "
        "ALERTHYGIENE_LOCK_TIMEOUT sets how long to wait."
    )


def _connect(db: str, read_only: bool, timeout_s: float | None) -> duckdb.DuckDBPyConnection:
    """Connect, retrying lock conflicts with capped exponential backoff and jitter."""
    timeout_s = lock_timeout_s() if timeout_s is None else timeout_s
    started = time.monotonic()
    delay = 0.05
    while True:
        try:
            return duckdb.connect(db, read_only=read_only)
        except duckdb.IOException as exc:
            waited = time.monotonic() - started
            if not _is_lock_conflict(exc):
                raise DatabaseError(f"cannot open database {db}: {exc}") from None
            if waited >= timeout_s:
                raise DatabaseBusy(_busy_message(db, exc, waited)) from None
            log.debug("database %s is locked; retrying in %.2fs", db, delay)
            time.sleep(min(delay * (0.5 + random.random()), max(timeout_s - waited, 0.01)))
            delay = min(delay * 2, 0.25)


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
    if current > LATEST_VERSION:
        raise DatabaseError(
            f"database schema version {current} is newer than this program's "
            f"({LATEST_VERSION}); upgrade the program"
        )
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


_migrated: set[str] = set()


def _ensure_ready(db: str, timeout_s: float | None) -> None:
    """Create and migrate the database once per process before the first read."""
    if db in _migrated:
        return
    if is_local_file(db):
        Path(db).parent.mkdir(parents=True, exist_ok=True)
    needs_migration = True
    if is_local_file(db) and Path(db).exists():
        con = _connect(db, read_only=True, timeout_s=timeout_s)
        try:
            needs_migration = schema_version(con) < LATEST_VERSION
        finally:
            con.close()
    if needs_migration:
        con = _connect(db, read_only=False, timeout_s=timeout_s)
        try:
            migrate(con)
        finally:
            con.close()
    _migrated.add(db)


@contextmanager
def writing(db: str | None = None, timeout_s: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """One unit of write work in one transaction; the file is closed afterwards."""
    db = db or default_db()
    _ensure_ready(db, timeout_s)
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
        con.close()


@contextmanager
def reading(db: str | None = None, timeout_s: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived read-only connection (read-write for non-file databases)."""
    db = db or default_db()
    _ensure_ready(db, timeout_s)
    con = _connect(db, read_only=is_local_file(db), timeout_s=timeout_s)
    try:
        yield con
    finally:
        con.close()


def last_change(db: str | None = None) -> float:
    """A number that changes whenever the database file does (for cache keys)."""
    db = db or default_db()
    if not is_local_file(db):
        return time.time() // 60  # remote stores: refresh at most once a minute
    stamps = [p.stat().st_mtime_ns for p in (Path(db), Path(db + ".wal")) if p.exists()]
    return float(max(stamps, default=0))
