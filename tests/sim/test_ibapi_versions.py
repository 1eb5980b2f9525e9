"""Stock ibapi ``EClient`` (unmodified) runs a whole lifecycle against the simulator at every
protocol generation: old text layouts (100, 124, 145, 151, 156: ibapi's minimum and versions where
replies changed), text (176, 200), binary message ids with text bodies (201), and each step of the
move to protobuf (203 orders, 207 accounts, 213 everything, 222, 226 = ibapi 10.50's maximum).
Requests ibapi refuses below their version (tick-by-tick, completed orders, P&L) are left out there.

What ibapi decodes (text or protobuf, chosen per message by the wire id) must give the same
callbacks at every version; each step below asserts values, not only that something arrived.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from ibapi.client import EClient
from ibapi.execution import ExecutionFilter
from ibapi.order import Order
from ibapi.order_cancel import OrderCancel
from ibapi.server_versions import (
    MAX_CLIENT_VER,
    MIN_SERVER_VER_CASH_QTY,
    MIN_SERVER_VER_COMPLETED_ORDERS,
    MIN_SERVER_VER_CURRENT_TIME_IN_MILLIS,
    MIN_SERVER_VER_PNL,
    MIN_SERVER_VER_TICK_BY_TICK_IGNORE_SIZE,
)

from platform_adapter.sim import SimulatedGateway
from platform_adapter.sim.info_messages import SV_TICK_REQ_PARAMS
from tests.sim.ibapi_recorder import IbapiRecorder, stock_client

from .test_ibapi_conformance import RECORDED, aapl

VERSIONS = (100, 124, 145, 151, 156, 176, 200, 201, 203, 207, 213, 222, MAX_CLIENT_VER)
NOTICES = {2104, 2107, 2158}


LIFECYCLE = (*RECORDED, "realtimeBar", "tickByTickBidAsk", "tickByTickAllLast", "tickByTickMidPoint",
             "execDetailsEnd", "updateAccountValue", "updatePortfolio", "accountDownloadEnd", "updateAccountTime",
             "pnlSingle", "headTimestamp", "tickReqParams", "currentTimeInMillis")
"""The conformance recorder's callbacks plus those a full lifecycle touches."""


@pytest.fixture(params=VERSIONS, ids=lambda v: f"v{v}")
def session(request: pytest.FixtureRequest) -> Iterator[tuple[SimulatedGateway, EClient, IbapiRecorder]]:
    with SimulatedGateway(server_version=request.param, tick_interval=0.05, rt_bar_interval=0.2) as gw:
        with stock_client(gw.port, 31, LIFECYCLE) as (c, w):
            assert c.serverVersion() == request.param
            yield gw, c, w


def new_order(sv: int) -> Order:
    """An ibapi Order that ibapi will send at ``sv``: below CASH_QTY (111) it refuses its own default
    cash quantity (UNSET_DOUBLE, which is truthy), so the order carries 0 there."""
    o = Order()
    if sv < MIN_SERVER_VER_CASH_QTY:
        o.cashQty = 0.0
    return o


def _errors(w: IbapiRecorder) -> list[tuple[int, int, str]]:
    return [(e[0], e[2], e[3]) for e in w.calls["error"] if e[2] not in NOTICES]


def test_full_lifecycle(session: tuple[SimulatedGateway, EClient, IbapiRecorder]) -> None:
    gw, c, w = session
    sv = c.serverVersion()
    assert w.calls["managedAccounts"][0] == ("DU1234567",)
    w.wait(lambda k: {e[2] for e in k["error"]} >= NOTICES)
    c.reqCurrentTime()
    w.wait(lambda k: k["currentTime"])
    if c.serverVersion() >= MIN_SERVER_VER_CURRENT_TIME_IN_MILLIS:
        c.reqCurrentTimeInMillis()
        w.wait(lambda k: k["currentTimeInMillis"])
        assert abs(w.calls["currentTimeInMillis"][0][0] / 1000 - w.calls["currentTime"][0][0]) < 5

    # contract details
    c.reqContractDetails(1, aapl())
    w.wait(lambda k: k["contractDetailsEnd"])
    (req, d), = w.calls["contractDetails"]
    assert req == 1 and d.contract.conId == 265598 and d.minTick == 0.01 and d.longName == "APPLE INC"
    assert d.contract.primaryExchange == "NASDAQ"

    # quotes, bars, tick-by-tick
    c.reqMktData(2, aapl(), "", False, False, [])
    w.wait(lambda k: len([t for t in k["tickPrice"] if t[0] == 2 and t[1] == 1]) >= 3)
    bids = [t[2] for t in w.calls["tickPrice"] if t[0] == 2 and t[1] == 1]
    asks = [t[2] for t in w.calls["tickPrice"] if t[0] == 2 and t[1] == 2]
    assert all(b < a for b, a in zip(bids, asks, strict=False))
    assert any(s[0] == 2 and s[1] == 0 and s[2] > 0 for s in w.calls["tickSize"])  # bid size
    assert w.calls["marketDataType"][0] == (2, 1)
    # tickReqParams (sent before the first tick) only from the version where a gateway has it
    assert bool(w.calls["tickReqParams"]) == (sv >= SV_TICK_REQ_PARAMS)
    c.cancelMktData(2)
    c.reqHistoricalData(3, aapl(), "20261125 16:00:00 US/Eastern", "1 D", "5 mins", "TRADES", 1, 1, False, [])
    w.wait(lambda k: k["historicalDataEnd"])
    bars = [b for _, b in w.calls["historicalData"]]
    assert len(bars) == 78 and bars[0].date == "20261125 09:30:00 US/Eastern"
    assert all(b.low <= min(b.open, b.close) and b.high >= max(b.open, b.close) for b in bars)
    c.reqRealTimeBars(4, aapl(), 5, "TRADES", False, [])
    w.wait(lambda k: len(k["realtimeBar"]) >= 2)
    t0, t1 = w.calls["realtimeBar"][0][1], w.calls["realtimeBar"][1][1]
    assert t1 - t0 == 5 and t0 % 5 == 0
    c.cancelRealTimeBars(4)
    if sv >= MIN_SERVER_VER_TICK_BY_TICK_IGNORE_SIZE:
        c.reqTickByTickData(5, aapl(), "BidAsk", 0, False)
        w.wait(lambda k: k["tickByTickBidAsk"])
        tick = w.calls["tickByTickBidAsk"][0]
        assert tick[0] == 5 and tick[2] < tick[3] and isinstance(tick[4], Decimal)
        c.cancelTickByTickData(5)

    # orders: a limit order placed, modified and cancelled
    oid = w.calls["nextValidId"][0][0]
    lmt = new_order(sv)
    lmt.action, lmt.totalQuantity, lmt.orderType, lmt.lmtPrice, lmt.orderRef = "BUY", Decimal(10), "LMT", 100.0, "lmt"
    c.placeOrder(oid, aapl(), lmt)
    w.wait(lambda k: any(s[0] == oid and s[1] == "Submitted" for s in k["orderStatus"]))
    lmt.lmtPrice = 101.0
    c.placeOrder(oid, aapl(), lmt)
    w.wait(lambda k: any(x[0] == oid and x[2].lmtPrice == 101.0 for x in k["openOrder"]))
    c.reqOpenOrders()
    w.wait(lambda k: k["openOrderEnd"])
    c.cancelOrder(oid, OrderCancel())
    w.wait(lambda k: any(s[0] == oid and s[1] == "Cancelled" for s in k["orderStatus"]))
    w.wait(lambda k: any(e[0] == oid and e[2] == 202 for e in k["error"]))

    # a market order filled, with its execution and commission
    mkt = new_order(sv)
    mkt.action, mkt.totalQuantity, mkt.orderType, mkt.orderRef = "BUY", Decimal(100), "MKT", "mkt"
    c.placeOrder(oid + 1, aapl(), mkt)
    w.wait(lambda k: any(s[0] == oid + 1 and s[1] == "Filled" for s in k["orderStatus"])
           and k["commissionAndFeesReport"])
    filled = [s for s in w.calls["orderStatus"] if s[0] == oid + 1 and s[1] == "Filled"][-1]
    assert filled[2] == Decimal(100) and filled[3] == Decimal(0) and filled[4] > 0 and filled[8] == 31
    (_, contract, ex), = w.calls["execDetails"]
    assert contract.conId == 265598 and ex.shares == Decimal(100) and ex.side == "BOT" and ex.orderId == oid + 1
    (cr,), = w.calls["commissionAndFeesReport"]
    assert cr.execId == ex.execId and cr.commissionAndFees == 1.0 and cr.currency == "USD"
    c.reqExecutions(7, ExecutionFilter())
    w.wait(lambda k: k["execDetailsEnd"])
    assert [e[2].execId for e in w.calls["execDetails"] if e[0] == 7] == [ex.execId]
    if sv >= MIN_SERVER_VER_COMPLETED_ORDERS:
        c.reqCompletedOrders(False)
        w.wait(lambda k: k["completedOrdersEnd"])
        done = {od.orderRef: st.status for _, od, st in w.calls["completedOrder"]}
        assert done == {"lmt": "Cancelled", "mkt": "Filled"}

    # positions and account
    c.reqPositions()
    w.wait(lambda k: k["positionEnd"])
    assert [(p[1].conId, p[2]) for p in w.calls["position"]] == [(265598, Decimal(100))]
    c.reqAccountUpdates(True, "DU1234567")
    w.wait(lambda k: k["accountDownloadEnd"])
    values = {v[0]: v[1] for v in w.calls["updateAccountValue"]}
    assert float(values["NetLiquidation"]) > 0
    (portfolio,) = [p for p in w.calls["updatePortfolio"] if p[0].conId == 265598]
    assert portfolio[1] == Decimal(100)
    c.reqAccountSummary(9, "All", "NetLiquidation,TotalCashValue,BuyingPower")
    w.wait(lambda k: k["accountSummaryEnd"])
    tags = {a[2]: a[3] for a in w.calls["accountSummary"] if a[0] == 9}
    assert set(tags) == {"NetLiquidation", "TotalCashValue", "BuyingPower"} and float(tags["TotalCashValue"]) < 1e6
    if sv >= MIN_SERVER_VER_PNL:
        c.reqPnL(10, "DU1234567", "")
        w.wait(lambda k: k["pnl"])
        assert w.calls["pnl"][0][0] == 10
        c.reqPnLSingle(11, "DU1234567", "", 265598)
        w.wait(lambda k: k["pnlSingle"])
        assert w.calls["pnlSingle"][0][0] == 11 and w.calls["pnlSingle"][0][1] == Decimal(100)

    # error replies: only the cancel's 202 so far, then 200 for an unknown symbol
    assert _errors(w) == [(oid, 202, "Order Canceled - reason:")]
    bad = aapl()
    bad.symbol = "NOSUCHSYMBOL"
    c.reqContractDetails(12, bad)
    w.wait(lambda k: any(e[0] == 12 for e in k["error"]))
    assert [e[1] for e in _errors(w)] == [202, 200]
    assert gw.stats().received["cancelOrder"] == 1
