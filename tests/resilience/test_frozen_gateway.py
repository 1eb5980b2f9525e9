"""A frozen gateway (it stops answering and streaming, the socket stays open): with the spec's
health check (every 30 s, 10 s timeout) a silent stream makes the adapter probe at once; the
freeze is noticed within 5 s, the link reconnected, and every stream restored within 5 s of the
gateway answering again. Without streams the configured interval applies."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from platform_adapter.core.transport import SendStalled
from platform_adapter.errors import NotConnected
from platform_adapter.models.connection import ConnectionEventKind as Kind
from tests.conftest import Recorder, wait_for
from tests.resilience.conftest import wait_reconnected

SPEC_HEALTH = {"monitoring.health_check_interval_seconds": 30.0, "monitoring.health_check_timeout_seconds": 10.0}
TARGET = 5.0  # seconds: notice the freeze; restore the streams after the thaw


def test_a_frozen_gateway_is_noticed_within_5s_while_quotes_stream(sim_factory: Any, adapter_factory: Any) -> None:
    gw = sim_factory(tick_interval=0.25)
    pa = adapter_factory(gw, **SPEC_HEALTH)
    quotes, ticks, bars, events = Recorder(), Recorder(), Recorder(), Recorder()
    pa.market_data.subscribe_quotes("AAPL", quotes)
    pa.market_data.subscribe_tick_by_tick("MSFT", "BidAsk", ticks)
    pa.market_data.subscribe_real_time_bars("AAPL", bars)
    quotes.wait(1, timeout=5)
    ticks.wait(1, timeout=5)
    pa.on_connection_event(events)
    wait_for(lambda: pa.market_data.watchdog.limit(pa.market_data.lines.all()[0]) < TARGET, timeout=10)

    gw.freeze()
    frozen_at = time.monotonic()
    (event,) = events.wait(1, timeout=20)[0]
    noticed = time.monotonic() - frozen_at
    assert event.kind is Kind.DISCONNECTED and "health check" in event.detail and "went silent" in event.detail
    assert noticed < TARGET, f"a frozen gateway went unnoticed {noticed:.1f}s"
    assert gw.faults.stalled, "noticed while the gateway was still frozen (socket open)"

    gw.thaw()
    thawed_at = time.monotonic()
    wait_reconnected(pa, 1, timeout=20)
    marks = len(quotes.calls), len(ticks.calls), len(bars.calls)
    quotes.wait(marks[0] + 1, timeout=20)
    ticks.wait(marks[1] + 1, timeout=20)
    restored = time.monotonic() - thawed_at
    assert restored < TARGET, f"streams restored {restored:.1f}s after the thaw"
    wait_for(lambda: any(not q.stale for _, q in quotes.calls[marks[0]:]), timeout=5)
    bars.wait(marks[2] + 1, timeout=20)  # a bar every 5 s
    assert pa.connection.reconnect_count == 1
    assert sorted(gw.stats().clients) == [1]


def test_without_streams_the_configured_interval_applies(sim_factory: Any, adapter_factory: Any) -> None:
    gw = sim_factory()
    pa = adapter_factory(gw, **{"monitoring.health_check_interval_seconds": 1.0,
                                "monitoring.health_check_timeout_seconds": 0.5})
    events = Recorder()
    pa.on_connection_event(events)
    sent = gw.stats().received["reqCurrentTime"]
    gw.freeze()
    frozen_at = time.monotonic()
    (event,) = events.wait(1, timeout=10)[0]
    assert "went silent" not in event.detail and "health check" in event.detail
    assert time.monotonic() - frozen_at > 0.5, "no probe before the health check's time"
    gw.thaw()
    wait_reconnected(pa, 1, timeout=20)
    assert pa.market_data.watchdog.resubscribed == 0
    assert gw.stats().received["reqCurrentTime"] - sent <= 3


def test_a_long_freeze_is_met_soon_after_the_thaw_however_far_the_backoff_grew(sim_factory: Any,
                                                                               adapter_factory: Any) -> None:
    """Attempts that a frozen gateway takes and never answers wait ``timeout`` each; the next one
    starts after the base backoff (not 2**n of it), so the thaw is met within 5 s."""
    gw = sim_factory(tick_interval=0.25)
    pa = adapter_factory(gw, **SPEC_HEALTH, **{"ib_connection.timeout": 1.0, "ib_connection.reconnect_backoff": 2.0,
                                               "ib_connection.reconnect_jitter": 0.0,
                                               "ib_connection.reconnect_max_attempts": 8,
                                               "ib_connection.reconnect_max_delay": 60.0})
    quotes, events = Recorder(), Recorder()
    pa.market_data.subscribe_quotes("AAPL", quotes)
    quotes.wait(1, timeout=5)
    pa.on_connection_event(events)
    wait_for(lambda: pa.market_data.watchdog.limit(pa.market_data.lines.all()[0]) < TARGET, timeout=10)
    draws: list[float] = []
    draw = pa.connection.backoff_delay
    pa.connection.backoff_delay = lambda attempt: draws.append(draw(attempt)) or draws[-1]
    gw.freeze()
    events.wait(1, timeout=20)
    wait_for(lambda: len(draws) >= 3, timeout=30)  # two silent attempts; the third's nominal delay is 8 s
    assert draws[:3] == [2.0, 4.0, 8.0]
    gw.thaw()
    thawed_at = time.monotonic()
    wait_reconnected(pa, 1, timeout=20)
    mark = len(quotes.calls)
    quotes.wait(mark + 1, timeout=20)
    restored = time.monotonic() - thawed_at
    assert restored < TARGET, f"streams restored {restored:.1f}s after the thaw"


def test_a_gateway_that_stops_reading_fails_sends_after_the_send_timeout_and_the_link_is_dropped(
        sim_factory: Any, adapter_factory: Any) -> None:
    """A frozen gateway with our sends backed up (its buffers and ours full): the blocked send
    fails after ``ib_connection.send_timeout``, the link is dropped and reconnected at the thaw; an
    order placed behind the blocked send raises NotConnected instead of waiting for ever (the
    health check is far off: the stall alone is noticed)."""
    gw = sim_factory()
    pa = adapter_factory(gw, **SPEC_HEALTH, **{"ib_connection.send_timeout": 0.5})
    events = Recorder()
    pa.on_connection_event(events)
    conn = pa.connection.client.conn
    sent: list[bytes] = []
    conn.sendMsg = lambda msg: sent.append(msg) or len(msg)  # capture one real request's frame
    pa.connection.client.reqCurrentTime()
    del conn.sendMsg
    block = sent[0] * (65536 // len(sent[0]))  # valid reqCurrentTime frames, 64 KiB at a time
    pa.bucket.rate = pa.bucket.capacity = 1e9  # the order below is not held by pacing

    gw.freeze()
    stalled = threading.Event()
    errors: list[BaseException] = []

    def flood() -> None:
        try:
            for _ in range(100_000):
                if not conn.sendMsg(block):  # the link was closed between two sends
                    errors.append(ConnectionError("closed"))
                    break
        except OSError as exc:  # its own stall, or the link dropped for the place_order's stall first
            errors.append(exc)
        stalled.set()

    filler = threading.Thread(target=flood, daemon=True)
    frozen_at = time.monotonic()
    filler.start()
    with pytest.raises(NotConnected):
        pa.orders.place_order("AAPL", "BUY", 1, "LMT", limit_price=50.0)
    assert time.monotonic() - frozen_at < 15, "place_order waited behind the blocked send"
    assert stalled.wait(15) and errors, "the blocked send never failed"
    assert isinstance(errors[0], SendStalled) or not conn.isConnected()
    (event,) = events.wait(1, timeout=10)[0]
    assert event.kind is Kind.DISCONNECTED and "send stalled" in event.detail
    assert gw.faults.stalled, "noticed while the gateway was still frozen (socket open)"
    gw.thaw()
    wait_reconnected(pa, 1, timeout=20)
    assert pa.connection.reconnect_count == 1


def test_a_stall_reported_by_a_link_already_replaced_drops_nothing(sim_factory: Any, adapter_factory: Any) -> None:
    """The stall of an old link (its last sender gave up after the reconnect) leaves the new one be."""
    gw = sim_factory()
    pa = adapter_factory(gw)
    events = Recorder()
    pa.on_connection_event(events)
    old = pa.connection.client.conn
    gw.drop_all_connections()
    wait_reconnected(pa, 1, timeout=20)
    assert pa.connection.client.conn is not old
    mark = len(events.calls)
    pa.connection._send_stalled(old, "a send made no progress for 10s")
    assert pa.connection.round_trip(5.0), "the new link was dropped"
    assert len(events.calls) == mark and pa.connection.reconnect_count == 1
