"""The process's start-up heap out of the cyclic garbage collector's way.

A full collection (generation 2) walks every object the collector tracks and holds the GIL while
it does: every thread of the process stops, the socket reader included. Right after connecting,
an adapter's process tracks about 70,000 objects (modules, classes and functions of ibapi,
protobuf, pandas, numpy, ...), and on this project's test machine a full collection of them takes
30-45 ms; CPython runs one whenever the objects that survived into the old generation have grown
by a quarter since the last one, so a process that keeps placing orders meets one every few
thousand orders. ``gc.freeze()`` moves every tracked object into a permanent generation that
collections skip: afterwards a full collection walks only what was made since (measured in
``docs/performance.md``, "Long runs and the garbage collector").

Frozen objects are still freed by reference counting; only a reference cycle among them that
becomes garbage later is never collected. A collection runs just before the freeze, so nothing
already garbage is frozen. This is process-wide, hence done at most once per process and
switchable (``ib_connection.gc_freeze_after_connect``).

Also here: :func:`freeze_survivors`, a stronger freeze for a process whose objects are all its own
(the simulator's), and :class:`GcWatch`, the passes and pauses that ``PlatformAdapter.metrics()``
reports.
"""

from __future__ import annotations

import gc
import threading
import time

from platform_adapter.log import logger

_lock = threading.Lock()
_frozen = False


def freeze_start_up_heap() -> int | None:
    """Collect, then freeze every object the collector tracks, the first time in this process;
    returns how many objects were frozen (``None`` when an earlier call already did it)."""
    global _frozen
    with _lock:
        if _frozen:
            return None
        _frozen = True
        started = time.perf_counter()
        gc.collect()
        before = gc.get_freeze_count()
        gc.freeze()
        count = gc.get_freeze_count() - before
    logger.info("froze the start-up heap: {} objects out of the garbage collector's passes ({:.0f} ms; "
                "ib_connection.gc_freeze_after_connect)", count, (time.perf_counter() - started) * 1000)
    return count


def freeze_survivors() -> None:
    """For a process whose objects are its own (the simulator's): freeze the start-up heap now and,
    after every later collection of the middle or old generation, what survived it (objects that
    lived through two collections: the simulator's resting orders, three tracked objects each).
    Full passes then walk almost nothing however many orders rest (without this, a pass over
    ~90,000 resting orders took ~100 ms, and even with the start-up heap frozen the first pass
    after 20,000 orders took 20 ms). A reference cycle made of such survivors that becomes garbage
    later is never collected: not for a library's users, whose objects these would be."""
    gc.collect()
    gc.freeze()
    if _freeze_after_pass not in gc.callbacks:
        gc.callbacks.append(_freeze_after_pass)


def _freeze_after_pass(phase: str, info: dict[str, int]) -> None:
    if phase == "stop" and info["generation"] >= 1:
        gc.freeze()


class GcWatch:
    """How many passes the cyclic garbage collector ran in this process and how long they held
    the GIL (one ``gc.callbacks`` hook for the process; collections never overlap, so no lock)."""

    def __init__(self) -> None:
        self.passes = [0, 0, 0]  # per generation
        self.total_ms = 0.0
        self.max_ms = [0.0, 0.0, 0.0]
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        took = (time.perf_counter() - self._started) * 1000
        generation = info["generation"]
        self.passes[generation] += 1
        self.total_ms += took
        if took > self.max_ms[generation]:
            self.max_ms[generation] = took

    def metrics(self) -> dict[str, float | int]:
        """``gc_passes`` (every generation), ``gc_full_passes``, ``gc_pause_total_ms``,
        ``gc_pause_max_ms`` (the longest pass of any generation) and ``gc_full_pass_max_ms``,
        since the watch was installed."""
        return {"gc_passes": sum(self.passes), "gc_full_passes": self.passes[2],
                "gc_pause_total_ms": round(self.total_ms, 3), "gc_pause_max_ms": round(max(self.max_ms), 3),
                "gc_full_pass_max_ms": round(self.max_ms[2], 3)}


_watch: GcWatch | None = None


def gc_watch() -> GcWatch:
    """The process's :class:`GcWatch`, installed by the first call."""
    global _watch
    with _lock:
        if _watch is None:
            _watch = GcWatch()
            gc.callbacks.append(_watch)
        return _watch


def reset_for_tests() -> None:
    """Forget the earlier freeze (the objects stay frozen until ``gc.unfreeze()``)."""
    global _frozen
    with _lock:
        _frozen = False
