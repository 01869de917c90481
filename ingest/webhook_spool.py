"""Durable spool for webhook bodies: checksummed records in append-only segment files, group-fsynced."""

from __future__ import annotations

import fcntl
import logging
import os
import queue
import struct
import threading
import zlib
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from store.durable import fsync_dir

log = logging.getLogger(__name__)

MAGIC = b"AHS1"
# magic, kind (b"P" payload, b"R" rejected), received_at, reason length, body length, crc32
HEADER = struct.Struct("<4scdHII")
PAYLOAD = b"P"
REJECTED = b"R"
SUFFIX = ".seg"


class SpoolBusy(RuntimeError):
    """Another receiver holds this spool directory."""


@dataclass(frozen=True)
class Record:
    kind: bytes
    received_at: float
    reason: str
    body: bytes


def encode(record: Record) -> bytes:
    reason = record.reason.encode("utf-8")[:65535]
    crc = zlib.crc32(record.body, zlib.crc32(reason, zlib.crc32(record.kind)))
    header = HEADER.pack(MAGIC, record.kind, record.received_at, len(reason), len(record.body), crc)
    return header + reason + record.body


def read_segment(path: Path) -> Iterator[Record]:
    """The records of a segment, stopping at a torn or corrupt tail (never acknowledged)."""
    data = path.read_bytes()
    offset = 0
    while offset + HEADER.size <= len(data):
        magic, kind, received_at, reason_len, body_len, crc = HEADER.unpack_from(data, offset)
        start = offset + HEADER.size
        end = start + reason_len + body_len
        if magic != MAGIC or end > len(data):
            break
        reason, body = data[start : start + reason_len], data[start + reason_len : end]
        if zlib.crc32(body, zlib.crc32(reason, zlib.crc32(kind))) != crc:
            break
        yield Record(kind, received_at, reason.decode("utf-8", "replace"), body)
        offset = end
    if offset != len(data):
        log.warning("spool segment %s: ignoring %d bytes of torn tail", path.name, len(data) - offset)


class Spool:
    """Appends records durably (one fsync per group of concurrent appends) and hands sealed segments out."""

    def __init__(self, directory: str | os.PathLike, segment_bytes: int = 64 << 20):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.segment_bytes = segment_bytes
        self._lock_file = self._take_directory_lock()
        self._io = threading.Lock()
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._fd: int | None = None
        self._current: Path | None = None
        self._written = 0
        self._next = self._highest_sequence() + 1
        self._writer = threading.Thread(target=self._write_loop, name="spool-writer", daemon=True)
        self._writer.start()

    def _take_directory_lock(self):
        handle = open(self.dir / "LOCK", "a+b")  # noqa: SIM115 - held for the spool's lifetime
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise SpoolBusy(f"spool {self.dir} is in use by another receiver") from None
        return handle

    def _highest_sequence(self) -> int:
        return max((int(p.stem) for p in self.dir.glob("*" + SUFFIX) if p.stem.isdigit()), default=0)

    def append(self, record: Record) -> Future:
        """Queue a record; the future completes once it is on disk (fsynced), or fails."""
        done: Future = Future()
        self._queue.put((encode(record), done))
        return done

    def _write_loop(self) -> None:
        while True:
            batch = [self._queue.get()]
            while True:  # group commit: everything queued meanwhile shares one fsync
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._write(batch)

    def _write(self, batch: list[tuple[bytes, Future]]) -> None:
        try:
            with self._io:
                self._ensure_segment()
                os.write(self._fd, b"".join(data for data, _ in batch))
                os.fdatasync(self._fd)
                self._written += sum(len(data) for data, _ in batch)
                if self._written >= self.segment_bytes:
                    self._close_segment()
        except OSError as exc:
            log.error("spool write failed: %s", exc)
            self._abandon_segment()
            for _, done in batch:
                done.set_exception(exc)
            return
        for _, done in batch:
            done.set_result(None)

    def _ensure_segment(self) -> None:
        if self._fd is not None:
            return
        self._current = self.dir / f"{self._next:012d}{SUFFIX}"
        self._next += 1
        self._fd = os.open(self._current, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._written = 0
        fsync_dir(self.dir)  # the new file's name is durable before anything in it is acknowledged

    def _close_segment(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
        self._fd, self._current = None, None

    def _abandon_segment(self) -> None:
        """After a failed write the segment may hold a torn record: start a new one next time."""
        with self._io:
            try:
                self._close_segment()
            except OSError:
                self._fd, self._current = None, None

    def seal(self) -> list[Path]:
        """Close the segment being written and list every complete segment, oldest first."""
        with self._io:
            self._close_segment()
            return sorted(self.dir.glob("*" + SUFFIX))

    def remove(self, segment: Path) -> None:
        """Forget a segment whose records have all been committed to the database."""
        segment.unlink(missing_ok=True)
        fsync_dir(self.dir)

    def pending(self) -> int:
        return len(list(self.dir.glob("*" + SUFFIX)))

    def close(self) -> None:
        with self._io:
            self._close_segment()
        self._lock_file.close()

