"""The lean tick path: live per-line quote state, lazily built frozen snapshots, conflated
delivery tasks on the event thread, and the Wrapper's dispatch of callbacks to their handlers."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from loguru import logger

from platform_adapter.core.events import EventDispatcher
from tests.conftest import Recorder
from tests.handlers import Recording
from tests.unit.adapters.test_market_data import make_pa, req_ids


def test_snapshots_are_frozen_and_readers_see_every_tick(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pa, client = make_pa(tmp_path, monkeypatch)
    md = pa.market_data
    md.subscribe_quotes("AAPL", Recorder())
    rid = req_ids(client, "reqMktData")[0]
    assert pa.state.get_quote("AAPL") is None
    pa.wrapper.tickPrice(rid, 1, 10.0, None)
    first = md.get_quote("AAPL")
    assert first.bid == 10.0 and md.get_quote("AAPL") is first  # no change: the snapshot is shared
    before = datetime.now(timezone.utc)
    pa.wrapper.tickPrice(rid, 2, 10.5, None)
    pa.wrapper.tickSize(rid, 3, Decimal(7))
    second = pa.state.get_quote("AAPL")
    assert (first.bid, first.ask, first.ask_size) == (10.0, None, None)  # the earlier snapshot never changes
    assert (second.bid, second.ask, second.ask_size) == (10.0, 10.5, Decimal(7))
    assert second.time is not None and second.time.tzinfo is not None
    assert second.time.utcoffset() == timedelta(0) and abs(second.time - before) < timedelta(seconds=5)
    assert pa.state.get_quotes()["AAPL"] == second
    with pytest.raises(AttributeError):
        second.bid = 1.0  # type: ignore[misc]


def test_one_delivery_task_per_line_carries_the_latest_state(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    pa, client = make_pa(tmp_path, monkeypatch)
    a, b = Recorder(), Recorder()
    pa.market_data.subscribe_quotes("AAPL", a)
    pa.market_data.subscribe_quotes("AAPL", b)
    rid = req_ids(client, "reqMktData")[0]
    for i in range(50):
        pa.wrapper.tickPrice(rid, 1, 100.0 + i, None)
        pa.wrapper.tickSize(rid, 0, Decimal(i + 1))
    assert pa.events.queue_length == 1  # one task for the line, however many ticks
    pa.events.start()
    try:
        assert pa.events.wait_idle()
        for rec in (a, b):
            assert len(rec.calls) == 1
            assert rec.calls[0][1].bid == 149.0 and rec.calls[0][1].bid_size == Decimal(50)
        stats = pa.events.stats()
        assert stats["callbacks_delivered"] == 2 and stats["callbacks_conflated"] == 2 * 99
        pa.wrapper.tickPrice(rid, 1, 7.0, None)
        a.wait(2)
        assert a.calls[-1][1].bid == 7.0
    finally:
        pa.events.stop()


def test_full_queue_drops_plain_callbacks_never_tasks_or_conflated_calls() -> None:
    events = EventDispatcher(max_queue=3)
    ran: list[str] = []
    events.submit_task(ran.append, "task")
    events.submit_latest("k", ran.append, "latest")
    for i in range(5):
        events.submit(ran.append, f"plain{i}")
    assert events.dropped == 4 and events.queue_length == 3
    events.start()
    try:
        assert events.wait_idle()
    finally:
        events.stop()
    assert ran == ["task", "latest", "plain4"]


def test_a_raising_task_does_not_stop_the_event_thread() -> None:
    events = EventDispatcher()
    done = threading.Event()

    def bad() -> None:
        raise RuntimeError("library bug")

    events.submit_task(bad)
    events.submit(done.set)
    events.start()
    try:
        assert done.wait(5)
    finally:
        events.stop()
    assert events.errors == 0  # tasks are not user callbacks


@pytest.mark.parametrize("method, domain, handler, args", [
    ("tickPrice", "market_data", "tick_price", (1, 1, 10.5, None)),
    ("tickSize", "market_data", "tick_size", (1, 0, Decimal(3))),
    ("openOrder", "orders", "open_order", (5, "contract", "order", "state")),
    ("execDetails", "orders", "exec_details", (-1, "contract", "execution")),
    ("orderStatus", "orders", "order_status", (5, "Submitted", Decimal(0), Decimal(1), 0.0, 9, 0, 0.0, 1, "", 0.0)),
    ("currentTimeInMillis", "lifecycle", "current_time", (1700000000123,)),
])
def test_callbacks_reach_their_handler_log_and_isolate(method: str, domain: str, handler: str,
                                                       args: tuple[Any, ...]) -> None:
    rec = Recording(normalise=lambda a: a)
    w = rec.wrapper
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="DEBUG", format="{message}")
    try:
        getattr(w, method)(*args)
        w.debug = True
        getattr(w, method)(*args)
    finally:
        logger.remove(sink)
    delivered = (args[0] / 1000.0,) if method == "currentTimeInMillis" else args
    assert rec.calls == [(handler, delivered), (handler, delivered)]
    assert sum(line.startswith(f"TWS {handler}(") for line in lines) == 1

    def bad(*_: Any) -> None:
        raise RuntimeError("handler bug")

    setattr(getattr(rec, domain), handler, bad)
    getattr(w, method)(*args)
    assert w.callback_errors == 1 and len(rec.calls) == 2
