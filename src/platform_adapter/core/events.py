"""The event thread: runs user callbacks off the socket reader and the dispatcher.

Each callback call is wrapped: an exception is logged with its traceback and the stream goes on.
Quote callbacks may be *conflated*: while a callback for a key is still queued, a newer value
replaces the queued one, so a slow consumer sees the latest state instead of a growing backlog.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from typing import Any

from loguru import logger

Callback = Callable[..., Any]
_TASK = object()  # queue key of a library task: run as is (it times and isolates its callbacks via call())


class EventDispatcher:
    """A single worker thread that runs queued user callbacks in order."""

    def __init__(self, name: str = "pa-events", max_queue: int = 100_000) -> None:
        self._name = name
        self._max_queue = max_queue
        self._queue: deque[tuple[Callback, tuple[Any, ...], Hashable | None]] = deque()
        self._conflated: dict[Hashable, tuple[Any, ...]] = {}
        self._cond = threading.Condition(threading.Lock())
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.dropped = 0
        self.delivered = 0
        self.errors = 0
        self.conflated = 0
        self.max_queue_length = 0
        self.callback_seconds = 0.0
        self.max_callback_seconds = 0.0
        self._samples: deque[float] = deque(maxlen=1024)
        self._samples_lock = threading.Lock()

    def start(self) -> None:
        with self._cond:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def submit(self, fn: Callback, *args: Any) -> None:
        """Queue ``fn(*args)``; when the queue is full the oldest plain entry is dropped (and
        counted); conflated calls and tasks (at most one per key) are never dropped."""
        with self._cond:
            if len(self._queue) >= self._max_queue:
                queue = self._queue
                for i, entry in enumerate(queue):
                    if entry[2] is None:
                        del queue[i]
                        self.dropped += 1
                        break
            self._queue.append((fn, args, None))
            if len(self._queue) > self.max_queue_length:
                self.max_queue_length = len(self._queue)
            self._cond.notify()

    def submit_task(self, fn: Callback, *args: Any) -> None:
        """Queue the library's own ``fn(*args)``, which runs user callbacks itself through
        :meth:`call` (so each of them is timed, counted and isolated); never dropped."""
        with self._cond:
            self._queue.append((fn, args, _TASK))
            if len(self._queue) > self.max_queue_length:
                self.max_queue_length = len(self._queue)
            self._cond.notify()

    def submit_latest(self, key: Hashable, fn: Callback, *args: Any) -> None:
        """Queue ``fn(*args)`` unless a call for ``key`` is already queued; then replace its args
        (the queued call runs once, with the latest args: a slow consumer gets the latest state per
        key, never a backlog)."""
        with self._cond:
            if key in self._conflated:
                self._conflated[key] = args
                self.conflated += 1
                return
            self._conflated[key] = args
            self._queue.append((fn, (), key))
            if len(self._queue) > self.max_queue_length:
                self.max_queue_length = len(self._queue)
            self._cond.notify()

    @property
    def queue_length(self) -> int:
        """Callbacks waiting to run now."""
        return len(self._queue)

    def stats(self) -> dict[str, float | int | None]:
        """Queue and callback-time metrics (spec 9.3 "callback processing time", "queue length")."""
        with self._samples_lock:
            samples = sorted(self._samples)
        p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))] if samples else None
        delivered = self.delivered
        return {
            "event_queue_length": len(self._queue),
            "event_queue_max_length": self.max_queue_length,
            "callbacks_delivered": delivered,
            "callbacks_conflated": self.conflated,
            "callbacks_dropped": self.dropped,
            "callback_errors": self.errors,
            "callback_time_mean_ms": self.callback_seconds / delivered * 1000 if delivered else None,
            "callback_time_p99_ms": p99 * 1000 if p99 is not None else None,
            "callback_time_max_ms": self.max_callback_seconds * 1000,
        }

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Block until the queue is empty (tests and shutdown)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.05))
        return True

    _busy = False

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stopping:
                    self._cond.wait()
                if not self._queue:
                    return
                fn, args, key = self._queue.popleft()
                if key is not None and key is not _TASK:
                    args = self._conflated.pop(key)
                self._busy = True
            if key is _TASK:
                self._task(fn, args)
            else:
                self.call(fn, *args)
            with self._cond:
                self._busy = False
                if not self._queue:
                    self._cond.notify_all()

    @staticmethod
    def _task(fn: Callback, args: tuple[Any, ...]) -> None:
        try:
            fn(*args)
        except Exception:  # noqa: BLE001 - the event thread must survive a library bug
            logger.opt(exception=True).error("event task {} raised", getattr(fn, "__qualname__", fn))

    def call(self, fn: Callback, *args: Any) -> None:
        """Run one callback with timing and error isolation."""
        start = time.perf_counter()
        try:
            fn(*args)
        except Exception:  # noqa: BLE001 - a user callback must never stop the stream
            self.errors += 1
            logger.opt(exception=True).error("user callback {} raised", getattr(fn, "__qualname__", fn))
        finally:
            spent = time.perf_counter() - start
            self.delivered += 1
            self.callback_seconds += spent
            with self._samples_lock:
                self._samples.append(spent)
            if spent > self.max_callback_seconds:
                self.max_callback_seconds = spent
