"""A pipe that wakes a thread blocked in ``zmq.Poller.poll`` (which polls plain file descriptors too)."""

from __future__ import annotations

import os


class WakePipe:
    """``set()`` from any thread makes ``fd`` readable until the woken thread calls ``drain()``;
    a ``set()`` after ``close()`` does nothing (a producer that outlives the thread it woke)."""

    def __init__(self) -> None:
        self.fd, self._write = os.pipe()
        os.set_blocking(self.fd, False)

    def set(self) -> None:
        write = self._write
        if write >= 0:
            try:
                os.write(write, b"x")
            except OSError:  # closed meanwhile, or full (the reader has a wake-up waiting anyway)
                pass

    def drain(self) -> None:
        try:
            while os.read(self.fd, 4096):
                pass
        except BlockingIOError:
            pass

    def close(self) -> None:
        write, self._write = self._write, -1
        if write >= 0:
            os.close(self.fd)
            os.close(write)
