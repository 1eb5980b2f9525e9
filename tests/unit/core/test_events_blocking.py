"""A blocking user callback does not stop the other callbacks (event-thread watchdog)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from platform_adapter.core.events import EventDispatcher
from tests.conftest import Recorder, wait_for


@pytest.fixture
def events() -> Iterator[EventDispatcher]:
    ev = EventDispatcher(block_threshold=0.2)
    ev.start()
    yield ev
    ev.stop()


def test_other_callbacks_continue_while_one_blocks(events: EventDispatcher) -> None:
    release = threading.Event()
    entered = Recorder()

    def blocker(n: int) -> None:
        entered(n)
        release.wait(10)

    other = Recorder()
    events.submit(blocker, 1)
    entered.wait(1)
    for i in range(5):
        events.submit(other, i)
    events.submit(blocker, 2)  # held until the first call returns
    events.submit(other, 5)
    assert [c[0] for c in other.wait(6, timeout=5)] == [0, 1, 2, 3, 4, 5]
    assert [c[0] for c in entered.calls] == [1]
    assert events.blocked_callbacks == 1
    release.set()
    assert [c[0] for c in entered.wait(2, timeout=5)] == [1, 2]
    assert events.wait_idle(5)


def test_held_conflated_calls_keep_only_the_latest(events: EventDispatcher) -> None:
    release = threading.Event()
    seen = Recorder()

    def slow(value: int) -> None:
        seen(value)
        if value == 0:
            release.wait(10)

    events.submit_latest("AAPL", slow, 0)
    seen.wait(1)
    wait_for(lambda: events.blocked_callbacks == 1, 5)
    for value in range(1, 50):
        events.submit_latest("AAPL", slow, value)
        if value % 10 == 0:
            assert events.wait_idle(5)  # held calls are not pending work for the new worker
    release.set()
    wait_for(lambda: seen.calls[-1] == (49,), 5)
    assert len(seen.calls) < 10  # the latest value, not a backlog of 49


def test_tasks_are_held_per_line(events: EventDispatcher) -> None:
    release = threading.Event()
    done = Recorder()

    class Line:
        def __init__(self, name: str) -> None:
            self.name = name

    aapl, msft = Line("AAPL"), Line("MSFT")

    def flush(line: Line) -> None:
        done(line.name)
        if line is aapl and len([c for c in done.calls if c == ("AAPL",)]) == 1:
            release.wait(10)

    events.submit_task(flush, aapl)
    done.wait(1)
    events.submit_task(flush, aapl)
    events.submit_task(flush, msft)
    wait_for(lambda: ("MSFT",) in done.calls, 5)
    assert done.calls.count(("AAPL",)) == 1
    release.set()
    wait_for(lambda: done.calls.count(("AAPL",)) == 2, 5)


def test_unhashable_callbacks_are_matched_by_identity(events: EventDispatcher) -> None:
    release = threading.Event()

    class Cb:
        __hash__ = None  # type: ignore[assignment]

        def __init__(self) -> None:
            self.calls = 0

        def __call__(self) -> None:
            self.calls += 1
            release.wait(10)

    cb, other = Cb(), Recorder()
    events.submit(cb)
    wait_for(lambda: cb.calls == 1, 5)
    events.submit(cb)
    events.submit(other, "x")
    other.wait(1, timeout=5)
    release.set()
    wait_for(lambda: cb.calls == 2, 5)


def test_kept_calls_of_a_blocked_callback_are_held_in_order_and_never_dropped() -> None:
    """A status callback that blocks: its later statuses wait for it (in order, one call at a
    time), however many come, and none is dropped (plain calls past the cap would be)."""
    events = EventDispatcher(block_threshold=0.2, max_queue=5)
    events.start()
    try:
        release = threading.Event()
        seen = Recorder()

        def on_status(n: int) -> None:
            seen(n)
            if n == 0:
                release.wait(10)

        events.submit_kept(on_status, 0)
        seen.wait(1)
        wait_for(lambda: events.blocked_callbacks == 1, 5)
        for n in range(1, 21):
            events.submit_kept(on_status, n)
        assert events.wait_idle(5)  # held, not run: the callback is still in its first call
        assert [c[0] for c in seen.calls] == [0]
        release.set()
        assert [c[0] for c in seen.wait(21, timeout=5)] == list(range(21))
        assert events.dropped == 0
    finally:
        events.stop()
