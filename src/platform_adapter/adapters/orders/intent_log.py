"""The order journal's intent log: a memory-mapped file that holds new order rows and fills until
they are committed to SQLite.

Writing a record is a copy into a shared mapping of the file: no system call, so the sending
thread keeps the GIL and the order goes out without a thread hand-off. The record is in the OS
page cache at once, so it survives the process being killed, like a SQLite commit with
``synchronous=NORMAL`` (an OS crash or power loss may lose either). The file's blocks are
allocated when it is created, so a full disk fails at open, never at a write.

Layout: a 16-byte header (``PAIL``, format version, current epoch, unused), then records of
``epoch, length, crc32`` (big-endian u32 each) and a JSON payload. A record is valid when its
epoch is the header's and its checksum matches; the first invalid record ends the log (a torn
write is detected, never replayed). :meth:`reset` (all records committed) bumps the epoch, so
older records left in the file are never read again. While a flow of orders goes on without a
pause, the journal's writer doubles the file (:meth:`grow`, new blocks allocated first) instead of
committing in the middle of it.

One process owns the file (an exclusive ``flock``); another adapter on the same journal gets
:class:`IntentLogBusy` and writes its rows to SQLite directly.
"""

from __future__ import annotations

import contextlib
import errno
import json
import mmap
import os
import struct
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from platform_adapter.log import logger

try:
    import fcntl
except ImportError:  # Windows: no intent log, the journal commits new order rows directly
    fcntl = None  # type: ignore[assignment]

MAGIC = b"PAIL"
VERSION = 2
CAPACITY = 1 << 20
MAX_CAPACITY = 64 << 20  # what a flow of orders that never pauses can grow it to before a commit
_HEADER = struct.Struct(">4sIII")
_RECORD = struct.Struct(">III")


class IntentLogBusy(OSError):
    """Another open journal (this process or another) owns the intent log."""


class IntentLog:
    """Append-only records in a memory-mapped file; :meth:`records` reads them back after a crash."""

    def __init__(self, path: str | Path, capacity: int = CAPACITY, max_capacity: int = MAX_CAPACITY) -> None:
        self.path = Path(path)
        self.max_capacity = max_capacity
        if fcntl is None:
            raise OSError("no fcntl.flock on this platform")
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise IntentLogBusy(f"{self.path} is owned by another open journal") from exc
            size = os.fstat(fd).st_size
            if size < capacity:
                _allocate(fd, size, capacity)  # blocks reserved now: a write never hits a full disk
                size = capacity
            self._map = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self.capacity = size
        magic, version, epoch, _ = _HEADER.unpack_from(self._map, 0)
        if magic != MAGIC or version != VERSION:  # new (or foreign) file: an epoch no old bytes carry
            epoch = int.from_bytes(os.urandom(4), "big")
            self._map[: _HEADER.size] = _HEADER.pack(MAGIC, VERSION, epoch, 0)
        self.epoch = epoch
        self.pos = _HEADER.size
        self.written = 0  # records appended since the last reset

    def records(self) -> list[Any]:
        """The payloads of the valid records of the current epoch, in order (after a crash: the
        rows that may not have reached SQLite)."""
        out = []
        pos, data, epoch = _HEADER.size, self._map, self.epoch
        while pos + _RECORD.size <= self.capacity:
            rec_epoch, length, crc = _RECORD.unpack_from(data, pos)
            start = pos + _RECORD.size
            if rec_epoch != epoch or length == 0 or start + length > self.capacity:
                break
            payload = data[start:start + length]
            if zlib.crc32(payload) != crc:
                break
            out.append(json.loads(payload))
            pos = start + length
        return out

    def append(self, payload: bytes) -> bool:
        """Write one record whose JSON text is ``payload``; False when the log is full (commit,
        :meth:`reset`, retry)."""
        start = self.pos + _RECORD.size
        end = start + len(payload)
        if end > self.capacity:
            return False
        data = self._map
        data[start:end] = payload
        data[self.pos:start] = _RECORD.pack(self.epoch, len(payload), zlib.crc32(payload))  # header last
        self.pos = end
        self.written += 1
        return True

    @property
    def half_full(self) -> bool:
        return self.pos > self.capacity // 2

    def reserve(self) -> int:
        """Allocate the file's blocks for twice its capacity (up to ``max_capacity``) and return that
        size, 0 at the limit. The mapping is untouched: safe while records are appended."""
        size = min(self.capacity * 2, self.max_capacity)
        if size <= self.capacity:
            return 0
        _allocate(self._fd, self.capacity, size)
        return size

    def resize(self, size: int) -> None:
        """Map ``size`` bytes of the file (blocks reserved by :meth:`reserve`; no append meanwhile)."""
        self._map.resize(size)
        self.capacity = size

    def grow(self) -> bool:
        """:meth:`reserve` then :meth:`resize` (no append meanwhile); False at the limit."""
        size = self.reserve()
        if size:
            self.resize(size)
        return bool(size)

    def reset(self) -> None:
        """Forget every record (all are committed): a new epoch, writing from the start again."""
        self.epoch = (self.epoch + 1) & 0xFFFFFFFF
        _HEADER.pack_into(self._map, 0, MAGIC, VERSION, self.epoch, 0)
        self.pos = _HEADER.size
        self.written = 0

    def close(self) -> None:
        self._map.close()
        os.close(self._fd)  # releases the flock


def wait_for_pause(count: Callable[[], int], wait: Callable[[float], bool], pause: float, max_delay: float,
                   log: IntentLog | None, lock: threading.Lock, owner: str) -> None:
    """A writer's wait before it commits what its owner queued: return once ``count()`` (the writes
    queued so far) has not moved during one ``wait(pause)`` (a pause in the flow), or ``max_delay``
    seconds after the start, or when ``log`` is half full and cannot grow (:func:`grow`), or at
    once when ``wait`` returns True (a write waits for its commit; close)."""
    start = time.monotonic()
    while True:
        seen = count()
        if wait(pause) or count() == seen:
            return
        if time.monotonic() - start >= max_delay:
            return
        if log is not None and log.half_full and not grow(log, lock, owner):
            return


def grow(log: IntentLog, lock: threading.Lock | None, owner: str) -> bool:
    """Double ``log`` while a flow goes on: its blocks allocated without ``lock`` (the one its
    appenders hold; ``None``: the caller holds it), only the remap under it; False (logged, for
    ``owner``) when it may not grow."""
    try:
        size = log.reserve()
        if size:
            with lock or contextlib.nullcontext():
                log.resize(size)
    except (OSError, ValueError) as exc:
        logger.warning("{}: intent log not grown ({}): committing", owner, exc)
        return False
    return bool(size)


def _allocate(fd: int, start: int, end: int) -> None:
    """Give the file real blocks up to ``end`` (``posix_fallocate``; zeros written where it is
    missing (macOS) or the file system does not support it)."""
    try:
        os.posix_fallocate(fd, start, end - start)
        return
    except AttributeError:
        pass
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
            raise
    chunk = bytes(64 * 1024)
    os.lseek(fd, start, os.SEEK_SET)
    while start < end:
        start += os.write(fd, chunk[: end - start])
    os.fsync(fd)
