"""The reader + fast path over real TCP: a burst decoded by the fast path gives exactly the events
that ibapi's Decoder gives for the same bytes (two connections to one quiet simulator)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
from ibapi.contract import Contract

from platform_adapter.config.settings import load_settings
from platform_adapter.core.connection_manager import ConnectionManager
from platform_adapter.core.request_registry import RequestRegistry
from platform_adapter.core.wrapper import Wrapper
from platform_adapter.utils.rate_limiter import TokenBucket
from tests.conftest import LOOPBACK, wait_for

EVENTS = ("tick_price", "tick_size", "tick_string", "tick_generic", "tick_by_tick_bid_ask",
          "tick_by_tick_all_last", "tick_by_tick_mid_point", "market_data_type")
BURST = 6000


@pytest.fixture
def quiet_gateway() -> Iterator[Any]:
    """A simulator whose market never moves on its own: both clients see the same bytes."""
    from platform_adapter.sim import SimulatedGateway

    with SimulatedGateway(host=LOOPBACK, port=0, seed=11, tick_interval=3600.0) as gw:
        yield gw


def _norm(value: Any) -> Any:
    if isinstance(value, (float, Decimal)):
        return repr(value)
    if hasattr(value, "__dict__"):
        return type(value).__name__, sorted(vars(value).items())
    return value


def _stock(symbol: str) -> Contract:
    contract = Contract()
    contract.symbol, contract.secType, contract.exchange, contract.currency = symbol, "STK", "SMART", "USD"
    return contract


class Session:
    """One connection (ConnectionManager + Wrapper) that records every market-data event in order."""

    def __init__(self, port: int, client_id: int, fast: bool) -> None:
        settings = load_settings(None, env_file=os.devnull, use_environ=False,
                                 overrides={"ib_connection.host": LOOPBACK, "ib_connection.port": port,
                                            "ib_connection.client_id": client_id})
        self.wrapper = Wrapper()
        self.conn = ConnectionManager(settings.ib_connection, settings.monitoring, self.wrapper,
                                      RequestRegistry(), TokenBucket(1000.0, 1000.0))
        self.conn.use_fast_path = fast
        self.events: list[tuple[Any, ...]] = []
        self.sync = threading.Event()
        for name in EVENTS:
            self.wrapper.on(name, self._recorder(name))
        self.wrapper.on("current_time", lambda *_: self.sync.set())
        assert self.conn.connect(), self.conn.last_error
        dispatcher = self.conn._dispatcher
        assert dispatcher is not None and (dispatcher.fast is not None) == fast

    @property
    def taken(self) -> int:
        """Frames the fast path decoded."""
        dispatcher = self.conn._dispatcher
        return dispatcher.fast_messages if dispatcher is not None else 0

    def _recorder(self, name: str) -> Callable[..., None]:
        return lambda *args: self.events.append((name, *(_norm(a) for a in args)))

    def drain(self) -> None:
        """Everything sent before now has been dispatched once ``currentTime`` comes back."""
        self.sync.clear()
        self.conn.client.reqCurrentTime()
        assert self.sync.wait(10.0)


def test_fast_path_burst_matches_ibapi_decoder(quiet_gateway: Any) -> None:
    sessions: list[Session] = []
    try:
        sessions.append(Session(quiet_gateway.port, 21, fast=True))
        sessions.append(Session(quiet_gateway.port, 22, fast=False))
        for s in sessions:  # one request at a time, so that both streams have one order
            client = s.conn.client
            client.reqMktData(7001, _stock("AAPL"), "", False, False, [])
            wait_for(partial(_try_burst, quiet_gateway, 7001, s.conn.client_id))
            s.drain()
            for req_id, kind in ((7002, "BidAsk"), (7003, "AllLast"), (7004, "Last"), (7005, "MidPoint")):
                client.reqTickByTickData(req_id, _stock("MSFT"), kind, 0, False)
                s.drain()
        fast, slow = sessions
        assert len(fast.events) > 1.5 * BURST
        assert _timeless(fast.events) == _timeless(slow.events)
        assert fast.taken >= BURST + 4  # the burst and the tick-by-tick messages went the fast way
        assert slow.taken == 0
        assert {e[0] for e in fast.events} >= {"tick_price", "tick_size", "tick_string",
                                                "tick_by_tick_bid_ask", "tick_by_tick_all_last",
                                                "tick_by_tick_mid_point"}
    finally:
        for s in sessions:
            s.conn.disconnect()


def _timeless(events: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Tick-by-tick events carry the simulator's wall-clock second, which may differ between the
    two connections; everything else must be identical."""
    out = []
    for event in events:
        if event[0] == "tick_by_tick_all_last":
            assert isinstance(event[3], int)
            event = (*event[:3], "<time>", *event[4:])
        elif event[0] in ("tick_by_tick_bid_ask", "tick_by_tick_mid_point"):
            assert isinstance(event[2], int)
            event = (*event[:2], "<time>", *event[3:])
        out.append(event)
    return out


def _try_burst(gateway: Any, req_id: int, client_id: int) -> bool:
    try:
        gateway.burst(req_id, BURST, client_id)
    except KeyError:  # the subscription is not registered yet
        return False
    return True
