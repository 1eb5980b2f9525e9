"""The adapter over TCP against a simulator managing two accounts: orders booked to each,
positions, summaries and PnL per account while the single-account calls keep answering for the
adapter's (first) account, and a third account refused."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from platform_adapter import OrderState, ValidationError
from tests.conftest import LOOPBACK

A, B = "DU111111", "DU222222"


@pytest.fixture
def gateway() -> Iterator[Any]:
    """A simulated IB Gateway managing accounts A and B (A first: the adapter's default)."""
    from platform_adapter.sim import SimulatedGateway

    with SimulatedGateway(host=LOOPBACK, port=0, seed=7, tick_interval=60, accounts=[A, B]) as gw:
        yield gw


def test_orders_positions_summaries_and_pnl_per_account(pa: Any, gateway: Any) -> None:
    assert pa.connection.accounts == (A, B)
    bought_a = pa.orders.place_order("AAPL", "BUY", 10, "MKT", account=A)
    bought_b = pa.orders.place_order("MSFT", "BUY", 5, "MKT", account=B)
    default = pa.orders.place_order("AAPL", "BUY", 2, "MKT")  # no account: the adapter's (A)
    for order_id in (bought_a, bought_b, default):
        pa.orders.wait_for_status(order_id, OrderState.FILLED, timeout=5)
    assert [e.account for e in gateway.stats().executions] == [A, B, A]

    every = sorted((p.account, p.symbol, p.quantity) for p in pa.account.get_positions())
    assert every == [(A, "AAPL", Decimal(12)), (B, "MSFT", Decimal(5))]
    assert [(p.symbol, p.quantity) for p in pa.account.get_positions(account=B)] == [("MSFT", Decimal(5))]

    summary_b = pa.account.get_account_summary(account=B)
    assert summary_b.account == B
    assert summary_b.total_cash == pytest.approx(gateway.accounts[B].cash, abs=0.01)
    assert summary_b.realized_pnl is not None and summary_b.unrealized_pnl is not None
    own = pa.account.get_account_summary()  # the single-account call: the adapter's account
    assert own.account == A and own.total_cash == pytest.approx(gateway.accounts[A].cash, abs=0.01)
    summaries = pa.account.get_account_summaries()
    assert set(summaries) == {A, B}
    assert summaries[B].total_cash == pytest.approx(summary_b.total_cash, abs=0.01)

    pnl_b = pa.account.get_pnl(account=B)
    assert pnl_b.account == B and pnl_b.realized == pytest.approx(gateway.values(B)["RealizedPnL"], abs=0.01)
    assert pa.account.get_pnl().account == A


def test_a_third_account_is_refused(pa: Any, gateway: Any) -> None:
    for call in (lambda: pa.orders.place_order("AAPL", "BUY", 1, "MKT", account="DU333333"),
                 lambda: pa.account.get_positions(account="DU333333"),
                 lambda: pa.account.get_account_summary(account="DU333333"),
                 lambda: pa.account.get_pnl(account="DU333333")):
        with pytest.raises(ValidationError) as info:
            call()
        assert info.value.field == "account"
    assert not gateway.stats().orders
