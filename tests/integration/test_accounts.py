"""Account arguments over TCP against the simulator (which manages one account, DU1234567):
summaries, positions, PnL and orders name it explicitly; an account the login does not manage is
refused before anything is sent."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from platform_adapter import OrderState, ValidationError
from tests.conftest import wait_for

ACCOUNT = "DU1234567"


def test_account_data_and_orders_for_a_named_account(pa: Any, gateway: Any) -> None:
    assert pa.connection.accounts == (ACCOUNT,)
    order_id = pa.orders.place_order("AAPL", "BUY", 10, "MKT", account=ACCOUNT)
    pa.orders.wait_for_status(order_id, OrderState.FILLED, timeout=5)
    summary = pa.account.get_account_summary(account=ACCOUNT)
    assert summary.account == ACCOUNT and summary.net_liquidation is not None
    positions = pa.account.get_positions(account=ACCOUNT)
    assert [(p.account, p.symbol, p.quantity) for p in positions] == [(ACCOUNT, "AAPL", Decimal(10))]
    assert pa.account.get_pnl(account=ACCOUNT).account == ACCOUNT


def test_an_account_the_login_does_not_manage_is_refused(pa: Any, gateway: Any) -> None:
    def sent() -> list[int]:
        received = gateway.stats().received
        return [received[name] for name in ("reqAccountSummary", "reqPositions", "reqPnL", "placeOrder")]

    # the start-up's PnL subscription is sent without waiting for an answer: count from after it
    # has reached the gateway (else it may be counted during the calls below)
    wait_for(lambda: sent()[2] >= 1)
    before = sent()
    for call in (lambda: pa.account.get_account_summary(account="DU7654321"),
                 lambda: pa.account.get_positions(account="DU7654321"),
                 lambda: pa.account.get_pnl(account="DU7654321"),
                 lambda: pa.orders.place_order("AAPL", "BUY", 1, "MKT", account="DU7654321"),
                 lambda: pa.orders.preview_order("AAPL", "BUY", 1, "MKT", account="DU7654321")):
        with pytest.raises(ValidationError) as info:
            call()
        assert info.value.field == "account"
    assert sent() == before
