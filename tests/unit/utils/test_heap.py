"""utils/heap.py: the start-up heap frozen once per process, garbage collected first."""

from __future__ import annotations

import gc
import weakref

import pytest

from platform_adapter.utils import heap


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


pytestmark = pytest.mark.usefixtures("unfrozen_heap")


def test_freezes_what_is_tracked_once_per_process() -> None:
    kept = Node()
    count = heap.freeze_start_up_heap()
    assert count is not None and 0 < gc.get_freeze_count() <= count  # frozen objects still die
    assert gc.is_tracked(kept)
    assert not any(o is kept for o in gc.get_objects())  # out of every generation the passes walk
    later = Node()
    assert any(o is later for o in gc.get_objects())  # what is made afterwards is collected as before
    assert heap.freeze_start_up_heap() is None  # a second connect does not freeze again
    assert gc.get_freeze_count() <= count and any(o is later for o in gc.get_objects())


def test_garbage_is_collected_before_the_freeze() -> None:
    a, b = Node(), Node()
    a.other, b.other = b, a  # a cycle: only the collector frees it
    gone = weakref.ref(a)
    del a, b
    heap.freeze_start_up_heap()
    assert gone() is None


def test_frozen_objects_are_still_freed_by_reference_counting() -> None:
    obj = Node()
    ref = weakref.ref(obj)
    heap.freeze_start_up_heap()
    del obj
    assert ref() is None


def test_the_survivors_of_older_passes_are_frozen() -> None:
    early = Node()
    try:
        heap.freeze_survivors()
        heap.freeze_survivors()  # installed once
        assert gc.callbacks.count(heap._freeze_after_pass) == 1
        start_up = gc.get_freeze_count()
        assert start_up > 0 and not any(o is early for o in gc.get_objects())  # the start-up heap is frozen
        resting = [Node() for _ in range(100)]  # long-lived, like a simulator's resting orders
        a, b = Node(), Node()
        a.other, b.other = b, a
        gone = weakref.ref(a)
        del a, b
        gc.collect(0)  # the youngest pass leaves them to the collector
        assert any(o is resting[0] for o in gc.get_objects())
        gc.collect(1)  # a pass of the middle generation: the cycle is collected, the survivors frozen
        assert gone() is None
        assert not any(o is resting[0] for o in gc.get_objects())
        assert gc.get_freeze_count() >= start_up + 100
    finally:
        gc.callbacks.remove(heap._freeze_after_pass)


def test_the_watch_counts_passes_and_their_pauses() -> None:
    watch = heap.GcWatch()
    gc.disable()  # only the passes asked for here
    gc.callbacks.append(watch)
    try:
        gc.collect(0)
        gc.collect(2)
        gc.collect(2)
    finally:
        gc.callbacks.remove(watch)
        gc.enable()
    assert watch.passes == [1, 0, 2]
    m = watch.metrics()
    assert m["gc_passes"] == 3 and m["gc_full_passes"] == 2
    assert 0 < m["gc_full_pass_max_ms"] <= m["gc_pause_max_ms"] <= m["gc_pause_total_ms"]
    gc.collect(2)
    assert watch.passes == [1, 0, 2]  # taken out of the hooks: no longer counts


def test_one_watch_per_process() -> None:
    watch = heap.gc_watch()
    assert heap.gc_watch() is watch and gc.callbacks.count(watch) == 1
    before = watch.passes[2]
    gc.collect()
    assert watch.passes[2] >= before + 1
