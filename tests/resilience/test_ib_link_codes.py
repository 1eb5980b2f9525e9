"""IB 1100 (gateway lost IB) then 1101 (restored, data lost: everything resubscribed) or 1102
(restored, data kept: nothing resubscribed, orders and fills reconciled); orders are refused with
NotConnected during 1100 (never queued)."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from platform_adapter import NotConnected, OrderState
from tests.conftest import Recorder, wait_for
from tests.resilience.conftest import received

STREAMS = ("reqMktData", "reqTickByTickData", "reqRealTimeBars")
ACCOUNT = ("reqAccountUpdates", "reqPnL")
ORDER_MSGS = ("placeOrder", "cancelOrder")


def stream_everything(pa: Any) -> tuple[Recorder, Recorder, Recorder]:
    quotes, ticks, bars = Recorder(), Recorder(), Recorder()
    pa.market_data.subscribe_quotes(["AAPL", "MSFT"], quotes)
    pa.market_data.subscribe_tick_by_tick("SPY", "MidPoint", ticks)
    pa.market_data.subscribe_real_time_bars("TSLA", bars)
    wait_for(lambda: {s for s, q in quotes.calls if q.bid} == {"AAPL", "MSFT"}, timeout=5)
    ticks.wait(1, timeout=5)
    bars.wait(1, timeout=5)
    return quotes, ticks, bars


def lose_ib_link(gw: Any, pa: Any, quotes: Recorder) -> None:
    gw.send_system_code(1100)
    wait_for(lambda: not pa.connection.ib_link_ok, timeout=5)
    wait_for(lambda: pa.market_data.get_quote("AAPL").stale and pa.market_data.get_quote("MSFT").stale, timeout=5)
    wait_for(lambda: any(q.stale for _, q in quotes.calls), timeout=5)


def assert_orders_refused(gw: Any, pa: Any, working: int) -> None:
    before = received(gw, *ORDER_MSGS)
    with pytest.raises(NotConnected, match="1100"):
        pa.orders.place_order("AAPL", "BUY", 1, "LMT", limit_price=100.0)
    with pytest.raises(NotConnected):
        pa.orders.modify_order(working, limit_price=99.0)
    with pytest.raises(NotConnected):
        pa.orders.cancel_order(working)
    assert received(gw, *ORDER_MSGS) == before


def test_1100_then_1101_resubscribes_everything(sim_factory: Any, adapter_factory: Any) -> None:
    gw = sim_factory(rt_bar_interval=0.2)
    pa = adapter_factory(gw)
    quotes, ticks, bars = stream_everything(pa)
    working = pa.orders.place_order("AAPL", "BUY", 10, "LMT", limit_price=100.0, tif="DAY")
    pa.orders.wait_for_status(working, OrderState.SUBMITTED, timeout=5)
    cid = pa.connection.client_id
    old_ids = set(gw.sessions[cid].subs.mkt) | set(gw.sessions[cid].subs.tbt) | set(gw.sessions[cid].subs.rtb)
    before = received(gw, *STREAMS, *ACCOUNT, *ORDER_MSGS)
    runs = pa.orders.reconciler.runs

    lose_ib_link(gw, pa, quotes)
    assert_orders_refused(gw, pa, working)
    gw.send_system_code(1101)

    expected = {**before, "reqMktData": before["reqMktData"] + 2, "reqTickByTickData": before["reqTickByTickData"] + 1,
                "reqRealTimeBars": before["reqRealTimeBars"] + 1, "reqAccountUpdates": before["reqAccountUpdates"] + 1,
                "reqPnL": before["reqPnL"] + 1}
    wait_for(lambda: received(gw, *STREAMS, *ACCOUNT, *ORDER_MSGS) == expected, timeout=5)
    subs = gw.sessions[cid].subs
    new_ids = set(subs.mkt) | set(subs.tbt) | set(subs.rtb)
    assert len(new_ids) == 4 and not new_ids & old_ids, "old lines cancelled, new request ids streaming"
    marks = len(quotes.calls), len(ticks.calls), len(bars.calls)
    wait_for(lambda: {s for s, q in quotes.calls[marks[0]:] if not q.stale} == {"AAPL", "MSFT"}, timeout=5)
    ticks.wait(marks[1] + 1, timeout=5)
    bars.wait(marks[2] + 1, timeout=5)
    wait_for(lambda: pa.orders.reconciler.runs > runs, timeout=5)
    assert pa.connection.ib_link_ok
    pa.orders.modify_order(working, limit_price=101.0)
    wait_for(lambda: gw.stats().orders[0].lmt_price == 101.0, timeout=5)


def test_1100_then_1102_resubscribes_nothing_and_reconciles_orders(sim_factory: Any, adapter_factory: Any) -> None:
    gw = sim_factory(rt_bar_interval=0.2)
    pa = adapter_factory(gw)
    quotes, _, _ = stream_everything(pa)
    fills, statuses = Recorder(), Recorder()
    pa.orders.on_fill(fills)
    pa.orders.on_order_status(statuses)
    to_cancel = pa.orders.place_order("AAPL", "BUY", 10, "LMT", limit_price=100.0, tif="DAY")
    to_fill = pa.orders.place_order("MSFT", "BUY", 20, "LMT", limit_price=200.0, tif="DAY")
    for oid in (to_cancel, to_fill):
        pa.orders.wait_for_status(oid, OrderState.SUBMITTED, timeout=5)
    cid = pa.connection.client_id
    before = received(gw, *STREAMS, *ORDER_MSGS)
    account_before = received(gw, *ACCOUNT)
    runs = pa.orders.reconciler.runs

    lose_ib_link(gw, pa, quotes)
    assert_orders_refused(gw, pa, to_cancel)
    with gw.lock:  # while IB is unreachable the order is cancelled and the other filled, unseen by us
        gw.engine.cancel(cid, to_cancel)
        marketable = copy.copy(gw.engine.orders[(cid, to_fill)])
        marketable.lmt_price = 1000.0
        gw.engine.place(marketable)
    sim = {o.order_id: o for o in gw.stats().orders}
    assert (sim[to_cancel].status, sim[to_fill].status) == ("Cancelled", "Filled")
    assert pa.orders.get_order_status(to_fill).status is OrderState.SUBMITTED
    gw.send_system_code(1102)

    wait_for(lambda: pa.orders.reconciler.runs > runs, timeout=5)
    assert pa.orders.get_order_status(to_cancel).status is OrderState.CANCELLED
    filled = pa.orders.wait_for_status(to_fill, OrderState.FILLED, timeout=5)
    assert filled.filled == Decimal(20)
    fills.wait(1, timeout=5)
    assert sorted(f.exec_id for (f,) in fills.calls) == sorted(sim[to_fill].exec_ids), "each fill exactly once"
    assert received(gw, *STREAMS, *ORDER_MSGS) == before, "no stream resubscribed, no order re-sent"
    assert received(gw, *ACCOUNT) == account_before, "account streams kept on 1102"
    assert pa.connection.ib_link_ok
    mark = len(quotes.calls)
    wait_for(lambda: {s for s, q in quotes.calls[mark:] if not q.stale} == {"AAPL", "MSFT"}, timeout=5)
