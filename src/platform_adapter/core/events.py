"""The event thread: runs user callbacks off the socket reader and the dispatcher.

Each callback call is wrapped: an exception is logged with its traceback and the stream goes on.
Quote callbacks may be *conflated*: while a callback for a key is still queued, a newer value
replaces the queued one, so a slow consumer sees the latest state instead of a growing backlog.
Past ``max_queue`` waiting calls the oldest plain one is dropped (and counted); conflated calls,
library tasks (fills) and *kept* calls (order statuses, connection events) never are.

A callback that blocks does not stop the others: when one call has run longer than
``block_threshold`` seconds, a watchdog hands the queue to a fresh worker thread. Calls for the
blocked callback (same function, same quote line or same conflation key) are held, latest value
kept per key, until it returns; then they run again in order and the old worker ends.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from typing import Any

from platform_adapter.log import logger

Callback = Callable[..., Any]
_TASK = object()  # queue key of a library task: run as is (it times and isolates its callbacks via call())
_KEEP = object()  # queue key of a plain call that is never dropped (an order's statuses)


class EventDispatcher:
    """A worker thread that runs queued user callbacks in order (replaced if one blocks)."""

    def __init__(self, name: str = "pa-events", max_queue: int = 100_000, block_threshold: float = 2.0) -> None:
        self._name = name
        self.block_threshold = block_threshold
        self._gen = 0  # the current worker's generation; older workers are stuck in a blocked call
        self._running: dict[int, tuple[Callback, tuple[Any, ...], Hashable | None, float]] = {}
        self._blocked: set[Hashable] = set()
        # held calls of a blocked callback: (fn, args resolved, _TASK or None, conflation key or None)
        self._held: dict[Hashable, list[tuple[Callback, tuple[Any, ...], object, Hashable | None]]] = {}
        self._watchdog: threading.Thread | None = None
        self._watch_stop = threading.Event()
        self.blocked_callbacks = 0
        self._max_queue = max_queue
        self._queue: deque[tuple[Callback, tuple[Any, ...], Hashable | None]] = deque()
        self._conflated: dict[Hashable, tuple[Any, ...]] = {}
        self._cond = threading.Condition(threading.Lock())  # the queue's lock; wait_idle() waits on it
        # the worker parks on this lock and a submit releases it: a C-level wait and wake, no Python
        # (Condition.wait/notify_all) on either side of the hand-off
        self._wake = threading.Lock()
        self._wake.acquire()
        self._sleeping = False  # the current worker is parked on _wake (lock held to change)
        self._idle_waiters = 0
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.dropped = 0
        self.delivered = 0
        self.errors = 0
        self.conflated = 0
        self.max_queue_length = 0
        self.callback_seconds = 0.0
        self.max_callback_seconds = 0.0
        self._samples: deque[float] = deque(maxlen=1024)  # appended and copied whole under the GIL

    def start(self) -> None:
        with self._cond:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stopping = False
            self._watch_stop.clear()
            self._spawn_worker()
            if self._watchdog is None or not self._watchdog.is_alive():
                self._watchdog = threading.Thread(target=self._watch, name=f"{self._name}-watchdog", daemon=True)
                self._watchdog.start()

    def _spawn_worker(self) -> None:
        """Start the worker of the current generation (call with the lock held)."""
        self._thread = threading.Thread(target=self._run, args=(self._gen,), name=f"{self._name}-{self._gen}",
                                        daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        """Replace the worker when its current call has run past ``block_threshold``."""
        # Not a waiter on self._cond: submit() wakes one waiter, and that must be the worker.
        while not self._watch_stop.wait(self.block_threshold / 4):
            with self._cond:
                if self._stopping:
                    return
                running = self._running.get(self._gen)
                if running is None or time.monotonic() - running[3] < self.block_threshold:
                    continue
                fn, args, key, _ = running
                self._blocked.add(self._identity(fn, args, key))
                self.blocked_callbacks += 1
                self._busy -= 1  # the stuck worker no longer counts for wait_idle()
                self._gen += 1
                self._spawn_worker()
                logger.warning("user callback {} has blocked the event thread for over {:g}s; other callbacks "
                               "continue on a new thread, its own calls are held until it returns",
                               getattr(fn, "__qualname__", fn), self.block_threshold)

    @staticmethod
    def _identity(fn: Callback, args: tuple[Any, ...], key: Hashable | None) -> Hashable:
        """What a held call is matched on: a task with its first argument (e.g. one quote line),
        a conflation key, or the callback itself."""
        if key is _TASK:
            return ("task", _hashable(fn), id(args[0]) if args else None)
        if key is not None and key is not _KEEP:
            return ("key", key)
        return ("fn", _hashable(fn))

    def stop(self, timeout: float = 2.0) -> None:
        self._watch_stop.set()
        with self._cond:
            self._stopping = True
            self._signal()
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
            self._signal()

    def submit_kept(self, fn: Callback, *args: Any) -> None:
        """Queue ``fn(*args)`` as :meth:`submit` does, but never dropped, neither when the queue
        is full nor among the held calls of a blocked callback (an order's statuses: never lost)."""
        with self._cond:
            self._queue.append((fn, args, _KEEP))
            if len(self._queue) > self.max_queue_length:
                self.max_queue_length = len(self._queue)
            self._signal()

    def submit_task(self, fn: Callback, *args: Any) -> None:
        """Queue the library's own ``fn(*args)``, which runs user callbacks itself through
        :meth:`call` (so each of them is timed, counted and isolated); never dropped."""
        with self._cond:
            self._queue.append((fn, args, _TASK))
            if len(self._queue) > self.max_queue_length:
                self.max_queue_length = len(self._queue)
            self._signal()

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
            self._signal()

    @property
    def queue_length(self) -> int:
        """Callbacks waiting to run now."""
        return len(self._queue)

    def stats(self) -> dict[str, float | int | None]:
        """Queue and callback-time metrics (spec 9.3 "callback processing time", "queue length")."""
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
            self._idle_waiters += 1
            try:
                while self._queue or self._busy:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    self._cond.wait(min(remaining, 0.05))
            finally:
                self._idle_waiters -= 1
        return True

    _busy = 0

    def _signal(self) -> None:
        """Wake the worker if it is parked (lock held)."""
        if self._sleeping:
            self._sleeping = False
            self._wake.release()

    def _run(self, gen: int) -> None:
        cond, wake = self._cond, self._wake
        while True:
            with cond:
                while not self._queue and not self._stopping and gen == self._gen:
                    self._sleeping = True
                    cond.release()
                    try:
                        wake.acquire()  # a C-level wait: the GIL is released as the thread parks
                    finally:
                        cond.acquire()
                if gen != self._gen or not self._queue:
                    return
                fn, args, key = self._queue.popleft()
                if key is not None and key is not _TASK and key is not _KEEP:
                    args = self._conflated.pop(key)
                if self._blocked:
                    ident = self._identity(fn, args, key)
                    if ident in self._blocked:
                        self._hold(ident, fn, args, key)
                        continue
                self._running[gen] = (fn, args, key, time.monotonic())
                self._busy += 1
            if key is _TASK:
                self._task(fn, args)
            else:
                self.call(fn, *args)
            with self._cond:
                del self._running[gen]
                if gen != self._gen:  # declared blocked while in the call: release its held calls, end
                    self._release(self._identity(fn, args, key))
                    return
                self._busy -= 1
                if self._idle_waiters and not self._queue:
                    self._cond.notify_all()

    def _hold(self, ident: Hashable, fn: Callback, args: tuple[Any, ...], key: Hashable | None) -> None:
        """Park a call for a blocked callback (only the latest value is kept per conflation key)."""
        held = self._held.setdefault(ident, [])
        kind, conflation_key = (key, None) if key is _TASK or key is _KEEP else (None, key)
        if conflation_key is not None:
            held[:] = [h for h in held if h[3] != conflation_key]
        elif kind is None and len(held) >= self._max_queue:
            plain = next((i for i, h in enumerate(held) if h[2] is None and h[3] is None), None)
            if plain is not None:  # tasks and kept calls are never dropped
                del held[plain]
                self.dropped += 1
        held.append((fn, args, kind, conflation_key))

    def _release(self, ident: Hashable) -> None:
        """Queue the held calls of a callback that returned, ahead of newer ones (lock held)."""
        self._blocked.discard(ident)
        held = self._held.pop(ident, [])
        self._queue.extendleft(reversed([(fn, args, kind) for fn, args, kind, _ in held]))  # type: ignore[misc]
        self._signal()

    @staticmethod
    def _task(fn: Callback, args: tuple[Any, ...]) -> None:
        try:
            fn(*args)
        except BaseException:  # noqa: BLE001 - the event thread must survive a library bug (SystemExit too)
            logger.opt(exception=True).error("event task {} raised", getattr(fn, "__qualname__", fn))

    def call(self, fn: Callback, *args: Any) -> None:
        """Run one callback with timing and error isolation."""
        start = time.perf_counter()
        try:
            fn(*args)
        except BaseException:  # noqa: BLE001 - a user callback must never stop the stream: not even
            # sys.exit() in it (SystemExit would end this thread silently, and every callback after it)
            self.errors += 1
            logger.opt(exception=True).error("user callback {} raised", getattr(fn, "__qualname__", fn))
        finally:
            spent = time.perf_counter() - start
            self.delivered += 1
            self.callback_seconds += spent
            self._samples.append(spent)
            if spent > self.max_callback_seconds:
                self.max_callback_seconds = spent


class Guarded:
    """``fn`` for one line (quotes, bars, tick-by-tick), called only while the line's ``attr``
    list (``callbacks``, or ``on_error`` for its error handlers) still has it: checked as the call
    runs, so a callback taken off the line (unsubscribed) is not called again, however many of its
    calls were queued. It compares and hashes as ``fn``: the calls of a blocked callback are held
    together, as the calls of ``fn`` itself would be."""

    __slots__ = ("holder", "fn", "attr")

    def __init__(self, holder: Any, fn: Callback, attr: str = "callbacks") -> None:
        self.holder = holder
        self.fn = fn
        self.attr = attr

    def __call__(self, *args: Any) -> None:
        fn = self.fn
        if fn in getattr(self.holder, self.attr):
            fn(*args)

    def __eq__(self, other: object) -> bool:
        return bool(self.fn == (other.fn if isinstance(other, Guarded) else other))

    def __hash__(self) -> int:
        return hash(_hashable(self.fn))

    def __repr__(self) -> str:  # the name the error log gives the callback
        return str(getattr(self.fn, "__qualname__", self.fn))


def _hashable(fn: Callback) -> Hashable:
    try:
        hash(fn)
    except TypeError:
        return id(fn)
    return fn
