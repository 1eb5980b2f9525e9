"""Conformance with the official, unmodified ibapi EClient over real TCP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from ibapi.client import EClient
from ibapi.contract import Contract
from ibapi.order import Order
from ibapi.order_cancel import OrderCancel
from ibapi.server_versions import MAX_CLIENT_VER

from platform_adapter.sim import SimulatedGateway
from tests.sim.ibapi_recorder import IbapiRecorder, run_loop, stock_client

RECORDED = ("nextValidId", "managedAccounts", "error", "contractDetails",
                    "contractDetailsEnd", "tickPrice", "tickSize", "historicalData",
                    "historicalDataEnd", "realtimeBar", "openOrder", "orderStatus", "execDetails",
                    "commissionAndFeesReport", "position", "positionEnd", "accountSummary",
                    "accountSummaryEnd", "pnl", "marketDataType", "tickString", "openOrderEnd",
                    "currentTime", "completedOrder", "completedOrdersEnd")


@pytest.fixture
def ib(gateway: SimulatedGateway) -> Iterator[tuple[EClient, IbapiRecorder]]:
    with stock_client(gateway.port, 21, RECORDED) as session:
        yield session


def aapl() -> Contract:
    k = Contract()
    k.symbol, k.secType, k.exchange, k.currency = "AAPL", "STK", "SMART", "USD"
    return k


def test_connect(ib: tuple[EClient, IbapiRecorder]) -> None:
    c, w = ib
    assert c.serverVersion() == MAX_CLIENT_VER
    assert w.calls["managedAccounts"][0] == ("DU1234567",)
    w.wait(lambda k: {e[2] for e in k["error"]} >= {2104, 2107, 2158})
    c.reqCurrentTime()
    w.wait(lambda k: k["currentTime"])


def test_contract_details(ib: tuple[EClient, IbapiRecorder]) -> None:
    c, w = ib
    c.reqContractDetails(1, aapl())
    w.wait(lambda k: k["contractDetailsEnd"])
    (req, d), = w.calls["contractDetails"]
    assert req == 1 and d.contract.conId == 265598 and d.minTick == 0.01
    assert d.contract.primaryExchange == "NASDAQ" and d.longName == "APPLE INC"


def test_streaming_quotes(ib: tuple[EClient, IbapiRecorder]) -> None:
    c, w = ib
    c.reqMktData(2, aapl(), "", False, False, [])
    w.wait(lambda k: len([t for t in k["tickPrice"] if t[1] == 1]) >= 3)
    bids = [t[2] for t in w.calls["tickPrice"] if t[1] == 1]
    asks = [t[2] for t in w.calls["tickPrice"] if t[1] == 2]
    assert all(b < a for b, a in zip(bids, asks, strict=False))
    assert w.calls["marketDataType"][0] == (2, 1)
    c.cancelMktData(2)


def test_historical_bars(ib: tuple[EClient, IbapiRecorder]) -> None:
    c, w = ib
    c.reqHistoricalData(3, aapl(), "20261125 16:00:00 US/Eastern", "1 D", "5 mins", "TRADES",
                        1, 1, False, [])
    w.wait(lambda k: k["historicalDataEnd"])
    bars = [b for _, b in w.calls["historicalData"]]
    assert len(bars) == 78 and bars[0].date == "20261125 09:30:00 US/Eastern"
    assert all(b.low <= min(b.open, b.close) and b.high >= max(b.open, b.close) for b in bars)


def test_a_window_without_bars_is_error_162_no_data(ib: tuple[EClient, IbapiRecorder]) -> None:
    """IB answers a query whose window holds no session with error 162 "HMDS query returned no
    data", not with an empty historicalData; so does the simulator (a Sunday's day of bars)."""
    c, w = ib
    c.reqHistoricalData(5, aapl(), "20261122 12:00:00 US/Eastern", "1 D", "5 mins", "TRADES", 1, 1, False, [])
    c.reqHistoricalData(6, aapl(), "20261122 12:00:00 US/Eastern", "1 D", "5 mins", "BID_ASK", 1, 1, False, [])
    w.wait(lambda k: {e[0] for e in k["error"]} >= {5, 6})
    errors = {e[0]: (e[2], e[3]) for e in w.calls["error"] if e[0] in (5, 6)}
    assert errors == {5: (162, "Historical Market Data Service error message:HMDS query returned no data: "
                              "AAPL@SMART Trades"),
                      6: (162, "Historical Market Data Service error message:HMDS query returned no data: "
                              "AAPL@SMART Bid_Ask")}
    assert not [b for r, b in w.calls["historicalData"] if r in (5, 6)] and not w.calls["historicalDataEnd"]


def test_realtime_bars(ib: tuple[EClient, IbapiRecorder]) -> None:
    c, w = ib
    c.reqRealTimeBars(4, aapl(), 5, "TRADES", False, [])
    w.wait(lambda k: len(k["realtimeBar"]) >= 2)
    t0, t1 = w.calls["realtimeBar"][0][1], w.calls["realtimeBar"][1][1]
    assert t1 - t0 == 5 and t0 % 5 == 0


def test_market_order_filled(ib: tuple[EClient, IbapiRecorder]) -> None:
    c, w = ib
    oid = w.calls["nextValidId"][0][0]
    o = Order()
    o.action, o.totalQuantity, o.orderType = "BUY", Decimal(100), "MKT"
    c.placeOrder(oid, aapl(), o)
    w.wait(lambda k: any(s[1] == "Filled" for s in k["orderStatus"]) and k["commissionAndFeesReport"])
    st = [s for s in w.calls["orderStatus"] if s[1] == "Filled"][0]
    assert st[0] == oid and st[2] == Decimal(100) and st[8] == 21  # clientId echoed
    (_, contract, ex), = w.calls["execDetails"]
    assert contract.conId == 265598 and ex.shares == Decimal(100) and ex.side == "BOT"
    (cr,), = w.calls["commissionAndFeesReport"]
    assert cr.execId == ex.execId and cr.commissionAndFees == 1.0 and cr.currency == "USD"
    c.reqPositions()
    w.wait(lambda k: k["positionEnd"])
    assert any(p[1].conId == 265598 and p[2] == Decimal(100) for p in w.calls["position"])


def test_completed_orders_decode(ib: tuple[EClient, IbapiRecorder]) -> None:
    """ibapi decodes the sim's completedOrder frames (delta-neutral fields included)."""
    c, w = ib
    oid = w.calls["nextValidId"][0][0]
    o = Order()
    o.action, o.totalQuantity, o.orderType, o.orderRef = "SELL", Decimal(5), "MKT", "ref-done"
    c.placeOrder(oid, aapl(), o)
    w.wait(lambda k: any(s[1] == "Filled" for s in k["orderStatus"]))
    c.reqCompletedOrders(False)
    w.wait(lambda k: k["completedOrdersEnd"])
    assert not [e for e in w.calls["error"] if e[2] not in (2104, 2107, 2158)]
    done = [(k, od, st) for k, od, st in w.calls["completedOrder"] if od.orderRef == "ref-done"]
    assert len(done) == 1
    contract, order, state = done[0]
    assert contract.conId == 265598 and order.action == "SELL" and order.totalQuantity == Decimal(5)
    assert state.status == "Filled" and order.filledQuantity == Decimal(5)


def test_limit_place_modify_cancel(ib: tuple[EClient, IbapiRecorder]) -> None:
    c, w = ib
    oid = w.calls["nextValidId"][0][0]
    o = Order()
    o.action, o.totalQuantity, o.orderType, o.lmtPrice = "BUY", Decimal(10), "LMT", 100.0
    c.placeOrder(oid, aapl(), o)
    w.wait(lambda k: any(s[1] == "Submitted" for s in k["orderStatus"]))
    o.lmtPrice = 101.0
    c.placeOrder(oid, aapl(), o)
    w.wait(lambda k: any(x[2].lmtPrice == 101.0 for x in k["openOrder"]))
    c.cancelOrder(oid, OrderCancel())
    w.wait(lambda k: any(s[1] == "Cancelled" for s in k["orderStatus"]))
    w.wait(lambda k: any(e[2] == 202 for e in k["error"]))


def test_account_summary_and_pnl(ib: tuple[EClient, IbapiRecorder]) -> None:
    c, w = ib
    c.reqAccountSummary(9, "All", "NetLiquidation,TotalCashValue,BuyingPower,AvailableFunds")
    w.wait(lambda k: k["accountSummaryEnd"])
    tags = {a[2]: a[3] for a in w.calls["accountSummary"]}
    assert tags["NetLiquidation"] == "1000000.00" and float(tags["BuyingPower"]) == 4_000_000.0
    c.reqPnL(10, "DU1234567", "")
    w.wait(lambda k: len(k["pnl"]) >= 2)
    assert w.calls["pnl"][0] == (10, 0.0, 0.0, 0.0)


def test_account_summary_and_updates_are_refreshed_periodically() -> None:
    """IB re-sends account updates, and the summary values that changed, every 3 minutes (here
    0.3 s): each refresh ends with accountSummaryEnd; an unchanged value is not re-sent."""
    with SimulatedGateway(port=0, seed=3, tick_interval=0.02, account_refresh_interval=0.3,
                          positions={"AAPL": (100, 150.0)}) as gw:
        w = IbapiRecorder(RECORDED)
        w.updateAccountValue = lambda key, *_: w._rec("updateAccountValue", key)  # type: ignore[method-assign]
        c = EClient(w)
        c.connect("127.0.0.1", gw.port, 22)
        t = threading.Thread(target=run_loop, args=(c,), daemon=True)
        t.start()

        def net_liq_updates(calls: dict[str, list[tuple[Any, ...]]]) -> int:
            return calls["updateAccountValue"].count(("NetLiquidation",))

        try:
            w.wait(lambda k: k["nextValidId"])
            c.reqAccountSummary(9, "All", "NetLiquidation,TotalCashValue")
            c.reqAccountUpdates(True, "DU1234567")
            w.wait(lambda k: len(k["accountSummaryEnd"]) >= 3, 10)  # the first answer and two refreshes
            tags = [a[2] for a in w.calls["accountSummary"]]
            assert tags.count("TotalCashValue") == 1  # no trade: cash never changes
            assert tags.count("NetLiquidation") >= 2  # the AAPL mark moves
            assert net_liq_updates(w.calls) >= 2  # account updates re-sent as well
            c.cancelAccountSummary(9)
            c.reqCurrentTime()  # answered after the cancel was handled (one session, in order)
            w.wait(lambda k: k["currentTime"])
            ends, seen = len(w.calls["accountSummaryEnd"]), net_liq_updates(w.calls)
            w.wait(lambda k: net_liq_updates(k) >= seen + 2, 10)  # two more refreshes
            assert len(w.calls["accountSummaryEnd"]) == ends  # none for a cancelled summary
        finally:
            c.disconnect()
            t.join(timeout=5)
