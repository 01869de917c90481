"""Who may open a database file next: a fair, writer-preferring lock across processes, taken before DuckDB.

DuckDB lets one process write a file and then nobody else open it, while read-only openers shut
a writer out; retrying on its lock errors starves writers behind frequent readers, and readers
behind a long import. So every opener first takes this lock, in `<db>.locks/` beside the file:

- `queue`: a writer holds it exclusively for its whole unit of work; a reader holds it shared
  only for a moment, so a waiting writer stops new readers from starting.
- `gate`: held shared by readers while they read, exclusively by the writer while it writes.
- `waiting`: held shared by whoever had to wait for the queue. A writer that is done hands over
  to them before it may take the lock again, so a writer that writes part after part lets the
  readers and other writers in between its parts instead of starving them.

Waits block in the kernel (flock), so a waiter wakes the moment it may go. Locks are held per
open file description, so threads of one process exclude each other like processes do.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from store.paths import beside

HANDOVER_MAX_S = 0.5  # the longest a finished writer waits for its waiters to get in
_held = threading.local()  # per thread: databases whose lock this thread holds (the lock is reentrant)
POLL_S = 0.02  # how often a background writer or a read session looks whether anyone waits


@dataclass
class Turn:
    """How this thread's last turn at the lock went: seconds waited behind writers (the queue) and
    behind readers (the gate), and the commands it found holding what it waited for."""

    write: bool = False
    queue_s: float = 0.0
    gate_s: float = 0.0
    behind: list[tuple[int, str]] = field(default_factory=list)  # (pid, command)
    yielded_s: float = 0.0  # a background writer's time letting others go first (see `background`)


def last_turn() -> Turn:
    """This thread's last turn (for timings: where a slow unit of work waited)."""
    return getattr(_held, "turn", None) or Turn()


class LockTimeout(Exception):
    """The lock was not free within the timeout; `holders` names who held it (pid, command, mode)."""

    def __init__(self, stage: str, holders: list[tuple[int, str, str]]):
        super().__init__(stage)
        self.stage = stage
        self.holders = holders


def lock_dir(db: str) -> Path:
    return beside(db, ".locks")


@contextmanager
def shared(db: str, timeout_s: float) -> Iterator[None]:
    """Hold the database for reading: waits while a writer writes or waits to write."""
    with _locked(db, timeout_s, write=False):
        yield


@contextmanager
def exclusive(db: str, timeout_s: float) -> Iterator[None]:
    """Hold the database for writing: new readers wait; current readers finish first."""
    with _locked(db, timeout_s, write=True):
        yield


@contextmanager
def background(yield_s: float) -> Iterator[None]:
    """Writes of this thread within the block are background work whose data is safe elsewhere (the
    webhook receiver's spool): each first lets anyone waiting for the database go ahead, for up to
    `yield_s`, so that an import or a sync that has waited is not queued behind a load every second."""
    before = getattr(_held, "yield_s", 0.0)
    _held.yield_s = yield_s
    try:
        yield
    finally:
        _held.yield_s = before


@contextmanager
def _locked(db: str, timeout_s: float, write: bool) -> Iterator[None]:
    held = getattr(_held, "dbs", None)
    if held is None:
        held = _held.dbs = set()
    directory = lock_dir(db)
    key = os.path.realpath(db)  # the file, however its path is written: `./x.duckdb` nests in `x.duckdb`
    if key in held or not _ready(directory):
        yield  # nested in this thread's own hold, or nowhere to put a lock (a read-only directory)
        return
    deadline = time.monotonic() + timeout_s
    _held.turn = Turn(write)
    yield_s = getattr(_held, "yield_s", 0.0) if write else 0.0
    if yield_s:
        _let_others_first(directory, min(deadline, time.monotonic() + yield_s))
    fds = _take(directory, write, deadline)
    held.add(key)
    try:
        yield
    finally:
        held.discard(key)
        _release(*fds)
        if write:  # a reader never shuts anyone out by coming back: no hand-over needed
            _hand_over(directory)


def _take(directory: Path, write: bool, deadline: float) -> tuple[int, ...]:
    """The descriptors to close when done: the gate, and for a writer the queue as well."""
    mode = fcntl.LOCK_EX if write else fcntl.LOCK_SH
    turn, began = _held.turn, time.monotonic()
    queue, waiting = _try(directory / "queue", mode), None
    try:
        if queue is None:  # someone is ahead: say so, so that they hand over to us when done
            turn.behind += [(pid, command) for pid, command, _ in holders(directory / "queue")]
            waiting = _wait_for(directory / "waiting", fcntl.LOCK_SH, deadline)
            queue = _wait_for(directory / "queue", mode, deadline)
            _release(waiting)
            waiting = None
        turn.queue_s, began = time.monotonic() - began, time.monotonic()
        # A reader gets the gate at once (no writer holds the queue); a writer waits here for
        # the readers already reading, while its hold on the queue keeps new ones out.
        gate = _try(directory / "gate", mode)
        if gate is None:
            turn.behind += [(pid, command) for pid, command, _ in holders(directory / "gate")]
            gate = _wait_for(directory / "gate", mode, deadline)
        turn.gate_s = time.monotonic() - began
    except BaseException:
        _release(queue, waiting)
        raise
    if write:
        return gate, queue
    _release(queue)
    return (gate,)


def take_shared(db: str, timeout_s: float) -> tuple[int, ...]:
    """Hold the database for reading until `release`, which any thread may call: a read session's
    hold (store.connection.read_session), which ends as soon as `writer_waits`."""
    directory = lock_dir(db)
    if not _ready(directory):
        return ()
    _held.turn = Turn(False)
    return _take(directory, False, time.monotonic() + timeout_s)


def release(fds: tuple[int, ...]) -> None:
    _release(*fds)


def writer_waits(db: str) -> bool:
    """Whether a writer holds the queue: it waits for the readers to leave (it cannot be writing while
    the caller holds the database for reading)."""
    directory = lock_dir(db)
    if not directory.is_dir():
        return False
    probe = _try(directory / "queue", fcntl.LOCK_SH)
    if probe is None:
        return True
    _release(probe)
    return False


def _let_others_first(directory: Path, until: float) -> None:
    """Until `until` at most, stay out of the queue while anyone waits for it or writes: a background
    writer polls rather than waits, so it neither joins a finished writer's hand-over nor wins it."""
    began = time.monotonic()
    while time.monotonic() < until:
        waiting = _try(directory / "waiting", fcntl.LOCK_EX)
        if waiting is not None:
            _release(waiting)
            queue = _try(directory / "queue", fcntl.LOCK_SH)
            if queue is not None:  # nobody waits and nobody writes: our turn
                _release(queue)
                break
        time.sleep(POLL_S)
    _held.turn.yielded_s = time.monotonic() - began


def _release(*fds: int | None) -> None:
    for fd in fds:
        if fd is not None:
            os.close(fd)  # closing a file's only descriptor releases its flock


def _hand_over(directory: Path) -> None:
    """If anyone waited for us, let them in before this thread may take the lock again.

    Done once every waiter is past the queue, or once a waiting writer holds it (its turn has
    come; we queue behind it); at most HANDOVER_MAX_S.
    """
    fd = _try(directory / "waiting", fcntl.LOCK_EX)
    if fd is not None:
        _release(fd)  # nobody waiting
        return
    deadline = time.monotonic() + HANDOVER_MAX_S
    while time.monotonic() < deadline:
        time.sleep(0.002)
        fd = _try(directory / "waiting", fcntl.LOCK_EX)
        if fd is not None:
            _release(fd)  # every waiter is past the queue
            return
        probe = _try(directory / "queue", fcntl.LOCK_SH)
        if probe is None:
            return  # a waiting writer holds the queue
        _release(probe)


# --- runs: whether the process of an unfinished run is still there -----------------------------------


def hold_run(db: str, run_id: str) -> int | None:
    """A descriptor holding the run's own lock for as long as its process runs (None: no lock dir)."""
    directory = lock_dir(db)
    if not _ready(directory):
        return None
    return _try(directory / f"run-{run_id}", fcntl.LOCK_EX)


def release_run(db: str, run_id: str, fd: int | None) -> None:
    if fd is None:
        return
    (lock_dir(db) / f"run-{run_id}").unlink(missing_ok=True)
    os.close(fd)


def run_alive(db: str, run_id: str) -> bool:
    """Whether the process of a run recorded as running still holds its lock (a killed one cannot)."""
    path = lock_dir(db) / f"run-{run_id}"
    if not path.exists():
        return False
    fd = _try(path, fcntl.LOCK_EX)
    if fd is None:
        return True
    os.close(fd)
    path.unlink(missing_ok=True)
    return False


def _ready(directory: Path) -> bool:
    """The lock directory exists (made if need be); False where it cannot be (a read-only place)."""
    if directory.is_dir():
        return True
    try:
        directory.mkdir(exist_ok=True)
    except OSError:
        return False
    return True


def _open(path: Path) -> int:
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except PermissionError:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)  # flock needs no write access


def _try(path: Path, mode: int) -> int | None:
    """A descriptor holding `mode` on `path`, or None if someone else holds a conflicting lock."""
    fd = _open(path)
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return fd


def _wait_for(path: Path, mode: int, deadline: float) -> int:
    """A descriptor holding `mode` on `path`, waiting in the kernel until `deadline` at most."""
    fd = _try(path, mode)
    if fd is not None:
        return fd
    waiter = _Waiter(path, mode)
    fd = waiter.take(max(0.0, deadline - time.monotonic()))
    if fd is None:
        raise LockTimeout(path.name, holders(path))
    return fd


class _Waiter:
    """A blocking flock in a helper thread, so that the wait can end at a deadline.

    The thread opens its own descriptor; if the caller gave up before the lock came, the thread
    closes it again at once, which releases the lock.
    """

    def __init__(self, path: Path, mode: int):
        self._path, self._mode = path, mode
        self._done = threading.Event()
        self._mutex = threading.Lock()
        self._fd: int | None = None
        self._error: BaseException | None = None
        self._abandoned = False
        threading.Thread(target=self._run, name="db-lock-wait", daemon=True).start()

    def _run(self) -> None:
        try:
            fd = _open(self._path)
            fcntl.flock(fd, self._mode)
        except OSError as exc:
            self._error = exc
            self._done.set()
            return
        with self._mutex:
            if self._abandoned:
                os.close(fd)
                return
            self._fd = fd
        self._done.set()

    def take(self, timeout: float) -> int | None:
        self._done.wait(timeout)
        with self._mutex:
            if self._error is not None:
                raise self._error
            if self._fd is None:
                self._abandoned = True
            return self._fd


def holders(path: Path) -> list[tuple[int, str, str]]:
    """(pid, command line, READ or WRITE) of the processes holding a flock on `path` (Linux; else [])."""
    try:
        inode = os.stat(path).st_ino
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        parts = line.split()
        if "->" in parts or len(parts) < 6 or parts[1] != "FLOCK":
            continue  # waiting entries are marked "->"
        pid, where = parts[4], parts[5]
        if where.rsplit(":", 1)[-1] == str(inode) and pid.isdigit() and int(pid) != os.getpid():
            found.append((int(pid), _command(int(pid)), parts[3]))
    return sorted(set(found))


def _command(pid: int) -> str:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    words = [a.decode("utf-8", "replace") for a in argv if a]
    if not words:
        return "?"
    words[0] = os.path.basename(words[0])  # "python3 -m ingest import …", not the interpreter's path
    if len(words) > 2 and words[1] == "-c":
        words[2] = "…"  # inline code says nothing to a person
    return " ".join(words)
