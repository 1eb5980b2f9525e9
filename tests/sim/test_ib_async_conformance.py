"""Conformance with unmodified ib_async over real TCP."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest
from ib_async import IB, LimitOrder, MarketOrder, Stock

from platform_adapter.sim import SimulatedGateway


@pytest.fixture
def ib(gateway: SimulatedGateway, caplog: pytest.LogCaptureFixture) -> Iterator[IB]:
    asyncio.set_event_loop(asyncio.new_event_loop())
    ib = IB()
    with caplog.at_level(logging.INFO, logger="ib_async"):
        ib.connect("127.0.0.1", gateway.port, clientId=31, timeout=5)
    assert "timed out" not in caplog.text
    assert "Synchronization complete" in caplog.text
    yield ib
    ib.disconnect()
    asyncio.get_event_loop().close()


def wait_until(ib: IB, cond, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    loop_deadline = asyncio.get_event_loop().time() + timeout
    while not cond():
        assert asyncio.get_event_loop().time() < loop_deadline, "condition not met"
        ib.waitOnUpdate(timeout=0.5)


def test_qualify_and_quotes(ib: IB) -> None:
    c = Stock("MSFT", "SMART", "USD")
    (q,) = ib.qualifyContracts(c)
    assert q.conId == 272093 and q.primaryExchange == "NASDAQ"
    t = ib.reqMktData(c)
    wait_until(ib, lambda: t.bid > 0 and t.ask > 0 and t.last > 0 and t.volume > 0)
    assert t.bid < t.ask
    ib.cancelMktData(c)


def test_historical_and_realtime_bars(ib: IB) -> None:
    c = Stock("SPY", "SMART", "USD")
    ib.qualifyContracts(c)
    bars = ib.reqHistoricalData(c, "", "5 D", "1 day", "TRADES", True)
    assert 3 <= len(bars) <= 5 and all(b.high >= b.low for b in bars)
    rt = ib.reqRealTimeBars(c, 5, "TRADES", False)
    wait_until(ib, lambda: len(rt) >= 2)
    ib.cancelRealTimeBars(rt)


def test_market_order_fill_and_commission(ib: IB) -> None:
    c = Stock("AAPL", "SMART", "USD")
    ib.qualifyContracts(c)
    tr = ib.placeOrder(c, MarketOrder("BUY", 200))
    wait_until(ib, lambda: tr.orderStatus.status == "Filled" and tr.fills
               and tr.fills[-1].commissionReport.commission > 0)
    assert tr.orderStatus.filled == 200 and tr.fills[0].execution.shares == 200
    assert tr.fills[0].commissionReport.commission == 1.0
    wait_until(ib, lambda: any(p.contract.conId == 265598 and p.position == 200
                               for p in ib.positions()))


def test_limit_place_modify_cancel(ib: IB) -> None:
    c = Stock("TSLA", "SMART", "USD")
    ib.qualifyContracts(c)
    tr = ib.placeOrder(c, LimitOrder("BUY", 5, 50.0))
    wait_until(ib, lambda: tr.orderStatus.status == "Submitted")
    tr.order.lmtPrice = 51.0
    ib.placeOrder(c, tr.order)
    wait_until(ib, lambda: any(t.order.lmtPrice == 51.0 for t in ib.openTrades()))
    ib.cancelOrder(tr.order)
    wait_until(ib, lambda: tr.orderStatus.status == "Cancelled")


def test_account_summary_and_pnl(ib: IB) -> None:
    vals = {v.tag: v.value for v in ib.accountSummary()}
    for tag in ("NetLiquidation", "TotalCashValue", "BuyingPower", "AvailableFunds",
                "ExcessLiquidity", "InitMarginReq", "MaintMarginReq", "GrossPositionValue"):
        assert tag in vals
    assert len(ib.accountValues()) == 108
    pnl = ib.reqPnL("DU1234567")
    wait_until(ib, lambda: pnl.dailyPnL == pnl.dailyPnL and pnl.unrealizedPnL is not None
               and pnl.unrealizedPnL == pnl.unrealizedPnL)


def test_bracket_order_held_and_cancelled_with_its_parent(gateway: SimulatedGateway, ib: IB) -> None:
    """ib_async's bracketOrder: the children wait (PreSubmitted) while the parent works, and
    cancelling the parent cancels both children; nothing trades."""
    c = Stock("AAPL", "SMART", "USD")
    ib.qualifyContracts(c)
    last = gateway.market.quote(265598).last
    bracket = ib.bracketOrder("BUY", 100, round(last - 5, 2), round(last + 5, 2), round(last - 10, 2))
    trades = [ib.placeOrder(c, o) for o in bracket]
    parent, take_profit, stop_loss = trades
    wait_until(ib, lambda: parent.orderStatus.status == "Submitted"
               and take_profit.orderStatus.status == stop_loss.orderStatus.status == "PreSubmitted")
    assert take_profit.order.parentId == stop_loss.order.parentId == parent.order.orderId
    ib.cancelOrder(parent.order)
    wait_until(ib, lambda: all(t.orderStatus.status == "Cancelled" for t in trades))
    assert not any(t.fills for t in trades)
    assert all(o.status == "Cancelled" for o in gateway.engine.orders.values())


def test_what_if_order_is_answered_and_never_trades(gateway: SimulatedGateway, ib: IB) -> None:
    c = Stock("AAPL", "SMART", "USD")
    ib.qualifyContracts(c)
    state = ib.whatIfOrder(c, MarketOrder("BUY", 100))
    assert float(state.initMarginChange) > 0 and float(state.initMarginBefore) == 0.0
    assert float(state.equityWithLoanChange) < 0 and state.commission == 1.0
    assert state.commissionCurrency == "USD"
    ib.reqPositions()
    assert not [p for p in ib.positions() if p.contract.conId == 265598]
    assert not gateway.engine.orders and not ib.openTrades()


def test_two_managed_accounts() -> None:
    """ib_async against a simulator managing two accounts: it lists both, syncs each one's
    account values, and sees positions booked to each."""
    asyncio.set_event_loop(asyncio.new_event_loop())
    with SimulatedGateway(port=0, tick_interval=60, accounts=["DU111111", "DU222222"]) as gw:
        ib = IB()
        ib.connect("127.0.0.1", gw.port, clientId=32, timeout=5)
        try:
            assert ib.managedAccounts() == ["DU111111", "DU222222"]
            assert {v.account for v in ib.accountValues()} == {"DU111111", "DU222222"}
            for symbol, account in (("AAPL", "DU111111"), ("MSFT", "DU222222")):
                c = Stock(symbol, "SMART", "USD")
                ib.qualifyContracts(c)
                order = MarketOrder("BUY", 4)
                order.account = account
                tr = ib.placeOrder(c, order)
                wait_until(ib, lambda tr=tr: tr.orderStatus.status == "Filled")  # type: ignore[misc]
            wait_until(ib, lambda: len(ib.positions()) == 2)
            assert sorted((p.account, p.contract.symbol, p.position) for p in ib.positions()) == [
                ("DU111111", "AAPL", 4.0), ("DU222222", "MSFT", 4.0)]
            assert [p.contract.symbol for p in ib.positions("DU222222")] == ["MSFT"]
        finally:
            ib.disconnect()
            asyncio.get_event_loop().close()
