"""``ib_connection.decode_on_reader``: the reader decodes each batch itself (no dispatcher thread).
Quotes, orders, synchronous requests and reconnects behave exactly as with the dispatcher thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from platform_adapter import PlatformAdapter
from platform_adapter.models.order import OrderState
from tests.conftest import Recorder, wait_for

INLINE = {"ib_connection.decode_on_reader": True}


def _dispatcher_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "pa-dispatcher" and t.is_alive())


def test_off_by_default(make_adapter: Callable[..., PlatformAdapter]) -> None:
    pa = make_adapter()
    assert pa.settings.ib_connection.decode_on_reader is False
    dispatcher = pa.connection._dispatcher
    assert dispatcher is not None and dispatcher.is_alive()


def test_by_default_sparse_messages_on_the_reader_bursts_on_the_dispatcher(
        make_adapter: Callable[..., PlatformAdapter], gateway: Any) -> None:
    pa = make_adapter()
    dispatcher = pa.connection._dispatcher
    assert dispatcher is not None and dispatcher.is_alive() and dispatcher.inline_max == 64
    inline = dispatcher.inline_batches
    order_id = pa.orders.place_order("AAPL", "BUY", 1, "LMT", limit_price=1.0, tif="DAY")
    pa.orders.wait_for_status(order_id, OrderState.SUBMITTED, timeout=5)
    assert dispatcher.inline_batches > inline  # the acknowledgement: no hand-off
    got = Recorder()
    pa.market_data.subscribe_quotes("AAPL", got)
    wait_for(lambda: got.calls and got.calls[-1][1].bid is not None)
    req_id = pa.market_data.lines.all()[0].req_id
    base = pa.market_data.get_quote("AAPL").updates
    queued = dispatcher.queued_batches
    gateway.burst(req_id, 20000, pa.connection.client_id)
    wait_for(lambda: pa.market_data.get_quote("AAPL").updates >= base + 30000)
    assert dispatcher.queued_batches > queued  # the burst went to the dispatcher thread


def test_strict_hand_off_when_inline_decoding_is_off(make_adapter: Callable[..., PlatformAdapter]) -> None:
    pa = make_adapter(**{"ib_connection.inline_decode_max_frames": 0})
    dispatcher = pa.connection._dispatcher
    assert dispatcher is not None and dispatcher.is_alive()
    order_id = pa.orders.place_order("AAPL", "BUY", 1, "LMT", limit_price=1.0, tif="DAY")
    pa.orders.wait_for_status(order_id, OrderState.SUBMITTED, timeout=5)
    assert dispatcher.inline_batches == 0 and dispatcher.queued_batches > 0


def test_quotes_orders_and_requests_on_the_reader(make_adapter: Callable[..., PlatformAdapter], gateway: Any) -> None:
    before = _dispatcher_threads()
    pa = make_adapter(**INLINE)
    dispatcher = pa.connection._dispatcher
    assert dispatcher is not None and not dispatcher.is_alive()  # never started: the reader decodes
    assert _dispatcher_threads() == before
    got = Recorder()
    pa.market_data.subscribe_quotes("AAPL", got)
    wait_for(lambda: got.calls and got.calls[-1][1].bid is not None)
    req_id = pa.market_data.lines.all()[0].req_id
    base = pa.market_data.get_quote("AAPL").updates
    gateway.burst(req_id, 4000, pa.connection.client_id)
    wait_for(lambda: pa.market_data.get_quote("AAPL").updates >= base + 6000)
    assert dispatcher.messages > 4000 and dispatcher.fast_messages >= 4000
    statuses = Recorder()
    pa.orders.on_order_status(statuses)
    order_id = pa.orders.place_order("AAPL", "BUY", 100, "MKT")
    assert pa.orders.wait_for_status(order_id, OrderState.FILLED, timeout=5).filled == Decimal(100)
    assert pa.market_data.get_historical_data("AAPL", "1 D", "1 hour").shape[0] > 0
    assert pa.account.get_account_summary()


def test_reconnect_replays_lines_when_decoding_on_the_reader(make_adapter: Callable[..., PlatformAdapter],
                                                             gateway: Any) -> None:
    pa = make_adapter(**INLINE)
    got = Recorder()
    pa.market_data.subscribe_quotes("MSFT", got)
    wait_for(lambda: got.calls)
    events = Recorder()
    pa.on_connection_event(events)
    gateway.drop_all_connections()
    events.wait(2, timeout=10)  # disconnected, reconnected
    wait_for(pa.is_connected, 10)
    seen = len(got.calls)
    wait_for(lambda: len(got.calls) > seen)  # the line was replayed on the new connection
    assert pa.connection.get_connection_status().reconnect_count == 1
    dispatcher = pa.connection._dispatcher
    assert dispatcher is not None and not dispatcher.is_alive()
