"""EventDispatcher: conflation under a slow (blocked) callback, ordering, metrics, error isolation."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from platform_adapter.core.events import EventDispatcher, Guarded
from tests.conftest import wait_for


@pytest.fixture
def events() -> Iterator[EventDispatcher]:
    dispatcher = EventDispatcher(name="test-events", max_queue=50)
    dispatcher.start()
    yield dispatcher
    dispatcher.stop()


def test_blocked_callback_gets_latest_state_per_symbol_not_a_backlog(events: EventDispatcher) -> None:
    release = threading.Event()
    entered = threading.Event()
    seen: list[tuple[str, int]] = []

    def on_quote(symbol: str, value: int) -> None:
        seen.append((symbol, value))
        if len(seen) == 1:
            entered.set()
            assert release.wait(10.0)

    events.submit_latest("AAPL", on_quote, "AAPL", 0)
    assert entered.wait(5.0)  # the callback is now blocked inside its first call
    for i in range(1, 5001):
        events.submit_latest("AAPL", on_quote, "AAPL", i)
        events.submit_latest("MSFT", on_quote, "MSFT", -i)
    assert events.queue_length == 2  # one pending call per symbol, however many ticks came
    stats = events.stats()
    assert stats["event_queue_length"] == 2
    assert stats["callbacks_conflated"] == 2 * 5000 - 2
    release.set()
    assert events.wait_idle(5.0)
    assert seen == [("AAPL", 0), ("AAPL", 5000), ("MSFT", -5000)]
    stats = events.stats()
    assert stats["callbacks_delivered"] == 3 and stats["event_queue_length"] == 0
    assert stats["event_queue_max_length"] == 2
    assert stats["callback_time_max_ms"] is not None and stats["callback_time_max_ms"] > 0
    assert stats["callback_time_p99_ms"] is not None and stats["callback_time_mean_ms"] is not None


def test_submit_delivers_every_call_in_order(events: EventDispatcher) -> None:
    seen: list[int] = []
    for i in range(40):
        events.submit(seen.append, i)
    assert events.wait_idle(5.0)
    assert seen == list(range(40))
    assert events.stats()["callbacks_dropped"] == 0


def test_full_queue_drops_oldest_and_counts(events: EventDispatcher) -> None:
    release = threading.Event()
    entered = threading.Event()
    seen: list[int] = []

    def block(_: int) -> None:
        entered.set()
        assert release.wait(10.0)

    events.submit(block, -1)
    assert entered.wait(5.0)
    for i in range(60):
        events.submit(seen.append, i)
    assert events.queue_length == 50 and events.dropped == 10
    release.set()
    assert events.wait_idle(5.0)
    assert seen == list(range(10, 60))


def test_raising_callback_is_logged_and_the_stream_goes_on(events: EventDispatcher) -> None:
    seen: list[Any] = []

    def boom() -> None:
        raise RuntimeError("user bug")

    events.submit(boom)
    events.submit(seen.append, "after")
    wait_for(lambda: seen == ["after"], timeout=5.0)
    assert events.errors == 1 and events.stats()["callback_errors"] == 1


def test_a_callback_calling_sys_exit_does_not_end_the_event_thread(events: EventDispatcher) -> None:
    """SystemExit raised on the event thread would end it silently (it is not an Exception):
    logged as any callback error, and the callbacks after it still run."""
    seen: list[Any] = []
    events.submit(sys.exit, 3)
    events.submit(seen.append, "after")
    wait_for(lambda: seen == ["after"], timeout=5.0)
    assert events.errors == 1


def test_kept_calls_are_never_dropped_by_a_full_queue(events: EventDispatcher) -> None:
    """An order's statuses (submit_kept) survive a full queue: plain calls are dropped instead."""
    release = threading.Event()
    entered = threading.Event()
    kept: list[int] = []
    plain: list[int] = []

    def block(_: int) -> None:
        entered.set()
        assert release.wait(10.0)

    events.submit(block, -1)
    assert entered.wait(5.0)
    for i in range(40):
        events.submit_kept(kept.append, i)
    for i in range(30):
        events.submit(plain.append, i)
    assert events.queue_length == 50 and events.dropped == 20
    release.set()
    assert events.wait_idle(5.0)
    assert kept == list(range(40)) and plain == list(range(20, 30))


def test_a_guarded_call_runs_only_while_its_callback_is_on_the_line() -> None:
    """Guarded(line, fn) calls fn only while line.callbacks has it (checked as the call runs), and
    compares and hashes as fn: a blocked callback's calls are held together however they came."""

    class Line:
        callbacks: list[Any] = []

    seen: list[Any] = []

    def fn(*args: Any) -> None:
        seen.append(args)

    line = Line()
    line.callbacks = [fn]
    guarded = Guarded(line, fn)
    guarded(1)
    line.callbacks = []
    guarded(2)
    assert seen == [(1,)]
    assert guarded == fn and guarded == Guarded(Line(), fn) and hash(guarded) == hash(fn)
    assert repr(guarded).endswith("fn")
