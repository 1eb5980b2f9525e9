"""A frozen gateway (it stops answering and streaming, the socket stays open): with the spec's
health check (every 30 s, 10 s timeout) a silent stream makes the adapter probe at once; the
freeze is noticed within 5 s, the link reconnected, and every stream restored within 5 s of the
gateway answering again. Without streams the configured interval applies."""

from __future__ import annotations

import time
from typing import Any

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
