"""WakePipe: readable after set() until drained, from any thread; set() after close() is harmless."""

from __future__ import annotations

import select
import threading

from platform_adapter.utils.wake_pipe import WakePipe


def readable(fd: int) -> bool:
    return bool(select.select([fd], [], [], 0)[0])


def test_set_wakes_until_drained_and_close_makes_set_harmless() -> None:
    pipe = WakePipe()
    assert not readable(pipe.fd)
    threads = [threading.Thread(target=pipe.set) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert readable(pipe.fd)
    pipe.drain()
    assert not readable(pipe.fd)
    pipe.drain()  # nothing to read: returns at once
    pipe.close()
    pipe.set()  # a producer that outlived the woken thread
    pipe.close()
