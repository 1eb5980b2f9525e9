"""Account manager over TCP against the simulator: positions, PnL and summary match the
simulator's fills and commissions; updates reach subscribers; the cache is reconciled."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from platform_adapter import PnL, Position
from platform_adapter.adapters.account.updates import AccountValue
from platform_adapter.models.contract import ContractSpec
from tests.conftest import wait_for

AAPL, MSFT = 265598, 272093


def _trade(pa: Any, symbol: str, action: str, qty: int) -> Any:
    order_id = pa.orders.place_order(symbol, action, qty, "MKT")
    return pa.orders.wait_for_status(order_id, "Filled", timeout=5)


def test_positions_match_the_simulators_fills_and_commissions(pa: Any, gateway: Any) -> None:
    fills: list[Any] = []
    pa.orders.on_fill(fills.append)
    _trade(pa, "AAPL", "BUY", 100)
    _trade(pa, "AAPL", "SELL", 40)
    _trade(pa, "MSFT", "BUY", 10)
    wait_for(lambda: len(fills) == 3)

    positions = {p.symbol: p for p in pa.account.get_positions()}
    assert set(positions) == {"AAPL", "MSFT"}
    sim = gateway.account.positions
    assert positions["AAPL"].quantity == Decimal(60)
    assert positions["AAPL"].avg_cost == pytest.approx(sim[AAPL].avg_cost)
    assert positions["MSFT"].quantity == Decimal(10)
    buy = next(f for f in fills if f.symbol == "MSFT")
    assert positions["MSFT"].avg_cost == pytest.approx((buy.price * 10 + buy.commission) / 10)
    assert positions["AAPL"].con_id == AAPL and positions["AAPL"].account == gateway.account_id
    wait_for(lambda: all(p.market_value is not None for p in pa.account.get_positions()))
    assert sum(f.commission for f in fills) == pytest.approx(gateway.account.commissions)
    sell = next(f for f in fills if f.side == "SLD")
    assert sell.realized_pnl == pytest.approx(sim[AAPL].realized)


def test_pnl_and_summary_match_the_simulator(pa: Any, gateway: Any) -> None:
    _trade(pa, "AAPL", "BUY", 100)
    _trade(pa, "AAPL", "SELL", 100)
    pnl = pa.account.get_pnl()
    assert isinstance(pnl, PnL)
    assert pnl.realized == pytest.approx(round(gateway.account.realized, 2))
    assert pnl.unrealized == pytest.approx(0.0)
    # the summary's PnL is the reqPnL stream's (reqAccountSummary has none), which IB (and the
    # simulator, each market tick) refreshes on its own clock: wait until it has seen the fills
    wait_for(lambda: (stream := pa.state.get_pnl()) is not None and stream.realized == pytest.approx(pnl.realized))
    summary = pa.account.get_account_summary()
    assert summary.account == gateway.account_id
    assert summary.total_cash == pytest.approx(round(gateway.account.cash, 2))
    assert summary.net_liquidation == pytest.approx(round(gateway.account.cash, 2))
    for name in ("buying_power", "available_funds", "excess_liquidity", "initial_margin", "maintenance_margin",
                 "gross_position_value", "realized_pnl", "unrealized_pnl"):
        assert getattr(summary, name) is not None, name
    assert summary.realized_pnl == pytest.approx(pnl.realized)
    assert pa.state.get_account_value("TotalCashValue") == summary.values["TotalCashValue"]


def test_account_updates_reach_subscribers(pa: Any, recorder: Any) -> None:
    pa.account.subscribe_account_updates(recorder)
    _trade(pa, "AAPL", "BUY", 10)
    wait_for(lambda: any(isinstance(u, Position) and u.symbol == "AAPL" for (u,) in recorder.calls))
    wait_for(lambda: any(isinstance(u, AccountValue) and u.key == "NetLiquidation" for (u,) in recorder.calls))
    wait_for(lambda: any(isinstance(u, PnL) for (u,) in recorder.calls), timeout=5)
    with pytest.raises(ValueError):
        pa.account.subscribe_account_updates("not callable")


def test_refresh_reconciles_the_position_cache(pa: Any) -> None:
    _trade(pa, "AAPL", "BUY", 10)
    pa.account.get_positions()
    bogus = Position(pa.account.account, "TSLA", ContractSpec("TSLA"), Decimal(5), 1.0, 76792991)
    pa.state.update_position(bogus)
    pa.state.update_position(Position(pa.account.account, "AAPL", ContractSpec("AAPL"), Decimal(3), 1.0, AAPL))
    pa.account.refresh()
    cached = {p.symbol: p.quantity for p in pa.state.get_cached_positions()}
    assert cached == {"AAPL": Decimal(10)}
    assert pa.account.refreshes == 1


def test_cache_is_refreshed_periodically(make_adapter: Any) -> None:
    pa = make_adapter(**{"account.update_frequency_seconds": 0.2})
    wait_for(lambda: pa.account.refreshes >= 2, timeout=5)
    wait_for(lambda: pa.orders.reconciler.runs >= 2, timeout=5)
