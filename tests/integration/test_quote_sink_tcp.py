"""The quote sink over real TCP: a simulator burst streamed into two adapters, one decoding with the
fast path (quote runs into the sink) and one with ibapi's decoder only (tick by tick through the
Wrapper), ends in the same quote, and the user callback's last (conflated) delivery carries it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from platform_adapter import PlatformAdapter
from tests.conftest import LOOPBACK, Recorder, adapter_settings, wait_for

BURST = 20_000


@pytest.fixture
def quiet_gateway() -> Iterator[Any]:
    """A simulator whose market never moves on its own: both adapters see the same ticks."""
    from platform_adapter.sim import SimulatedGateway

    with SimulatedGateway(host=LOOPBACK, port=0, seed=5, tick_interval=3600.0) as gw:
        yield gw


def _adapter(tmp_path: Path, port: int, client_id: int, fast: bool) -> PlatformAdapter:
    pa = PlatformAdapter(settings=adapter_settings(tmp_path / str(client_id), port, client_id),
                         configure_logging=False)
    pa.connection.use_fast_path = fast
    assert pa.connect(), pa.connection.last_error
    dispatcher = pa.connection._dispatcher
    assert dispatcher is not None and (dispatcher.fast is not None) == fast
    return pa


def _burst(gateway: Any, pa: PlatformAdapter, got: Recorder) -> Any:
    pa.market_data.subscribe_quotes("AAPL", got)
    first = wait_for(lambda: got.calls and got.calls[-1][1])  # the initial snapshot was delivered
    req_id = pa.market_data.lines.all()[0].req_id
    base = pa.market_data.get_quote("AAPL").updates
    assert first.updates <= base
    gateway.burst(req_id, BURST, pa.connection.client_id)
    target = base + BURST + (BURST + 1) // 2  # tickPrice (a price and its size) and tickSize alternate
    wait_for(lambda: pa.market_data.get_quote("AAPL").updates >= target, timeout=30)
    assert pa.events.wait_idle(10)
    quote = pa.market_data.get_quote("AAPL")
    assert quote.updates == target
    assert got.calls[-1][1] == quote  # the last delivery carries the final state
    return quote


def test_burst_through_the_sink_ends_in_the_wrapper_paths_quote(tmp_path: Path, quiet_gateway: Any) -> None:
    with_sink = _adapter(tmp_path, quiet_gateway.port, 31, fast=True)
    without = _adapter(tmp_path, quiet_gateway.port, 32, fast=False)
    try:
        fast_got, slow_got = Recorder(), Recorder()
        fast = _burst(quiet_gateway, with_sink, fast_got)
        slow = _burst(quiet_gateway, without, slow_got)
        keys = ("bid", "ask", "last", "bid_size", "ask_size", "last_size", "volume", "high", "low", "close")
        assert [getattr(fast, k) for k in keys] == [getattr(slow, k) for k in keys]
        assert fast.updates == slow.updates and not fast.stale
        sink, unused = with_sink.market_data.handler.sink, without.market_data.handler.sink
        assert sink is not None and sink.runs >= BURST // 256
        assert unused is not None and unused.runs == 0
        assert len(fast_got.calls) < BURST  # conflated: fewer deliveries than ticks
    finally:
        with_sink.disconnect()
        without.disconnect()
