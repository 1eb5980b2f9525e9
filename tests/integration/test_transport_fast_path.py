"""The reader + fast path over real TCP: a burst, and an order's life, decoded by the fast path give
exactly the handler calls that ibapi's Decoder gives through the Wrapper for the same bytes (two
connections to one quiet simulator)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
from ibapi.contract import Contract
from ibapi.server_versions import MAX_CLIENT_VER, MIN_SERVER_VER_PROTOBUF

from platform_adapter.config.settings import load_settings
from platform_adapter.core.connection_manager import ConnectionManager
from platform_adapter.core.handlers import Handlers, MarketDataHandler, OrderHandler
from platform_adapter.core.lifecycle import Lifecycle
from platform_adapter.core.request_registry import RequestRegistry
from platform_adapter.core.wrapper import Wrapper
from platform_adapter.utils.rate_limiter import TokenBucket
from tests.conftest import LOOPBACK, wait_for

EVENTS = ("tick_price", "tick_size", "tick_string", "tick_generic", "tick_by_tick_bid_ask",
          "tick_by_tick_all_last", "tick_by_tick_mid_point", "market_data_type")
BURST = 6000


@pytest.fixture(params=[200, MAX_CLIENT_VER], ids=lambda v: f"v{v}")
def quiet_gateway(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A simulator whose market never moves on its own: both clients see the same bytes (text
    protocol at 200; protobuf at today's default, where openOrder is left to ibapi's decoder)."""
    from platform_adapter.sim import SimulatedGateway

    with SimulatedGateway(host=LOOPBACK, port=0, seed=11, tick_interval=3600.0,
                          server_version=request.param) as gw:
        yield gw


def _norm(value: Any) -> Any:
    if isinstance(value, (float, Decimal)):
        return repr(value)
    if isinstance(value, list):
        return [_norm(v) for v in value]
    if hasattr(value, "__dict__"):
        return type(value).__name__, sorted((k, _norm(v)) for k, v in vars(value).items())
    return value


def _stock(symbol: str) -> Contract:
    contract = Contract()
    contract.symbol, contract.secType, contract.exchange, contract.currency = symbol, "STK", "SMART", "USD"
    return contract


class MarketData(MarketDataHandler):
    """Records every market-data call in order (quote runs arrive as their single calls)."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []


def _recorder(name: str) -> Callable[..., None]:
    def record(self: MarketData, *args: Any) -> None:
        self.events.append((name, *(_norm(a) for a in args)))
    return record


for _name in EVENTS:
    setattr(MarketData, _name, _recorder(_name))


class Orders(OrderHandler):
    """Records openOrder and orderStatus, the per-connection ids left out."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def open_order(self, order_id: int, contract: Any, order: Any, order_state: Any) -> None:
        self.events.append(("open_order", _norm(contract), _norm(_without_ids(order)), _norm(order_state)))

    def order_status(self, order_id: int, status: str, filled: Decimal, remaining: Decimal, avg_fill_price: float,
                     perm_id: int, parent_id: int, last_fill_price: float, client_id: int, why_held: str,
                     mkt_cap_price: float) -> None:
        self.events.append(("order_status", status, repr(filled), repr(remaining), avg_fill_price, parent_id,
                            last_fill_price, why_held, mkt_cap_price))


class Clock(Lifecycle):
    """The connection's lifecycle handler; also signals each currentTime."""

    def __init__(self, connection: ConnectionManager) -> None:
        super().__init__(connection)
        self.sync = threading.Event()

    def current_time(self, seconds: float) -> None:
        super().current_time(seconds)
        self.sync.set()


class Session:
    """One connection (ConnectionManager + Wrapper) that records every market-data call in order."""

    def __init__(self, port: int, client_id: int, fast: bool) -> None:
        settings = load_settings(None, env_file=os.devnull, use_environ=False,
                                 overrides={"ib_connection.host": LOOPBACK, "ib_connection.port": port,
                                            "ib_connection.client_id": client_id})
        self.wrapper = Wrapper()
        self.conn = ConnectionManager(settings.ib_connection, settings.monitoring, self.wrapper,
                                      RequestRegistry(), TokenBucket(1000.0, 1000.0))
        self.conn.use_fast_path = fast
        self.market_data, self.orders, self.clock = MarketData(), Orders(), Clock(self.conn)
        self.events = self.market_data.events
        self.sync = self.clock.sync
        self.wrapper.bind(Handlers(market_data=self.market_data, orders=self.orders, lifecycle=self.clock))
        assert self.conn.connect(), self.conn.last_error
        dispatcher = self.conn._dispatcher
        assert dispatcher is not None and (dispatcher.fast is not None) == fast

    @property
    def taken(self) -> int:
        """Frames the fast path decoded."""
        dispatcher = self.conn._dispatcher
        return dispatcher.fast_messages if dispatcher is not None else 0

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


def test_fast_order_messages_match_ibapi_decoder(quiet_gateway: Any) -> None:
    """An order's life (placed, modified, cancelled; a market order filled) over TCP: the fast
    path's openOrder/orderStatus events equal ibapi's, ids aside (each connection has its own)."""
    from ibapi.order import Order
    from ibapi.order_cancel import OrderCancel

    sessions: list[Session] = []
    try:
        sessions.append(Session(quiet_gateway.port, 31, fast=True))
        sessions.append(Session(quiet_gateway.port, 32, fast=False))
        streams = []
        for s in sessions:
            orders = s.orders.events
            before = s.taken
            client, base = s.conn.client, 100 + s.conn.client_id * 10
            limit = Order()
            limit.action, limit.orderType, limit.totalQuantity, limit.lmtPrice, limit.tif = (
                "BUY", "LMT", Decimal(5), 1.25, "GTC")
            client.placeOrder(base, _stock("AAPL"), limit)
            s.drain()
            limit.lmtPrice = 1.5
            client.placeOrder(base, _stock("AAPL"), limit)
            s.drain()
            client.cancelOrder(base, OrderCancel())
            s.drain()
            market = Order()
            market.action, market.orderType, market.totalQuantity = "SELL", "MKT", Decimal(3)
            client.placeOrder(base + 1, _stock("MSFT"), market)
            wait_for(lambda out=orders: ("Filled" in {e[1] for e in out if e[0] == "order_status"}), 10)
            s.drain()
            streams.append((orders, s.taken - before))
        (fast_orders, fast_taken), (slow_orders, slow_taken) = streams
        assert {e[0] for e in fast_orders} == {"open_order", "order_status"}
        assert fast_orders == slow_orders
        assert slow_taken == 0
        if quiet_gateway.server_version < MIN_SERVER_VER_PROTOBUF:  # every order message went the fast way
            assert fast_taken >= len(fast_orders)
        else:  # every orderStatus did (openOrder in protobuf is ibapi's: docs/performance.md)
            assert fast_taken >= sum(e[0] == "order_status" for e in fast_orders)
    finally:
        for s in sessions:
            s.conn.disconnect()


def _without_ids(order: Any) -> Any:
    """An ibapi Order with the per-connection ids blanked (order id, client id, perm id)."""
    copy = type(order).__new__(type(order))
    copy.__dict__.update(vars(order), orderId=0, clientId=0, permId=0)
    return copy
