"""Several managed accounts with a fake EClient: summaries, positions and PnL per account, orders
for any managed account, and every other account refused before anything is sent."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from platform_adapter import ValidationError
from platform_adapter.adapters.account.accounts import managed_account
from tests.unit.adapters.test_account_manager import aapl
from tests.unit.adapters.test_order_execution import Harness, make_harness

ACCOUNTS = ("DU111", "DU222")


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    pa, fake = make_harness(tmp_path)
    pa.connection.accounts = ACCOUNTS
    pa.account.account = "DU111"
    w = pa.wrapper

    def summary(req_id: int, group: str, _tags: str) -> None:
        assert group == "All"
        for acct, liq in (("DU111", "1000"), ("DU222", "2000")):
            w.accountSummary(req_id, acct, "NetLiquidation", liq, "USD")
        w.accountSummaryEnd(req_id)

    def positions() -> None:
        w.position("DU111", aapl(), Decimal(10), 100.0)
        w.position("DU222", aapl(), Decimal(-5), 101.0)
        w.positionEnd()

    fake.on_call["reqAccountSummary"] = summary
    fake.on_call["reqPositions"] = positions
    fake.on_call["reqPnL"] = lambda req_id, acct, _model: w.pnl(req_id, 1.0 if acct == "DU111" else 2.0, 0.0,
                                                            3.0 if acct == "DU222" else 0.0)
    yield pa, fake
    pa.orders.stop()
    pa.events.stop()


def test_summaries_positions_and_pnl_per_account(harness: Harness) -> None:
    pa, fake = harness
    own = pa.account.get_account_summary()
    other = pa.account.get_account_summary(account="DU222")
    assert (own.account, own.net_liquidation, other.account, other.net_liquidation) == ("DU111", 1000.0, "DU222",
                                                                                         2000.0)
    assert pa.state.get_account_value("NetLiquidation") == "1000"  # the cache holds the adapter's account
    assert other.realized_pnl == 3.0  # another account's PnL tags come from a reqPnL for it
    assert sorted((p.account, p.quantity) for p in pa.account.get_positions()) == [("DU111", Decimal(10)),
                                                                                  ("DU222", Decimal(-5))]
    assert [(p.account, p.quantity) for p in pa.account.get_positions("DU222")] == [("DU222", Decimal(-5))]
    pnl = pa.account.get_pnl(account="DU222")
    assert (pnl.account, pnl.daily) == ("DU222", 2.0)
    assert pa.account.get_pnl().account == "DU111"
    # one reqPnL for DU222's summary, one for its get_pnl, one for the adapter's account
    assert [args[1] for name, args in fake.calls if name == "reqPnL"] == ["DU222", "DU222", "DU111"]


def test_summaries_of_every_account_from_one_request(harness: Harness) -> None:
    pa, fake = harness
    summaries = pa.account.get_account_summaries()
    assert {a: s.net_liquidation for a, s in summaries.items()} == {"DU111": 1000.0, "DU222": 2000.0}
    assert summaries["DU222"].realized_pnl == 3.0
    assert [name for name, _ in fake.calls].count("reqAccountSummary") == 1
    assert pa.state.get_account_value("NetLiquidation") == "1000"


def test_other_accounts_are_refused_before_anything_is_sent(harness: Harness) -> None:
    pa, fake = harness
    before = len(fake.calls)
    for call in (lambda: pa.account.get_account_summary(account="DU999"),
                 lambda: pa.account.get_positions(account="DU999"),
                 lambda: pa.account.get_pnl(account=7),
                 lambda: pa.orders.place_order("AAPL", "BUY", 1, "MKT", account="DU999"),
                 lambda: pa.orders.place_bracket_order("AAPL", "BUY", 1, 100.0, 101.0, 99.0, account="DU999"),
                 lambda: pa.orders.preview_order("AAPL", "BUY", 1, "MKT", account="DU999")):
        with pytest.raises(ValidationError) as info:
            call()
        assert info.value.field == "account"
    assert len(fake.calls) == before


def test_orders_go_to_the_account_they_name(harness: Harness) -> None:
    pa, fake = harness
    first = pa.orders.place_order("AAPL", "BUY", 1, "MKT")
    second = pa.orders.place_order("AAPL", "BUY", 1, "MKT", account="DU222")
    sent = {args[0]: args[2].account for name, args in fake.calls if name == "placeOrder"}
    assert sent == {first: "DU111", second: "DU222"}
    assert pa.orders.get_order(second).request.account == "DU222"


def test_managed_account() -> None:
    assert managed_account(None, ACCOUNTS, "DU111") == "DU111"
    assert managed_account(" DU222 ", ACCOUNTS, "DU111") == "DU222"
    assert managed_account("U1", (), "") == "U1"  # no list yet: nothing to check against


def test_the_buying_power_check_uses_the_adapters_account_only(harness: Harness) -> None:
    """The cached buying power is the adapter's account's: it limits that account's orders; another
    account's order is left to IB's own margin check (its power is not streamed)."""
    pa, fake = harness
    pa.state.update_account_value("BuyingPower", "1000")
    for account in ("", "DU111"):
        with pytest.raises(ValidationError, match="buying power"):
            pa.orders.place_order("AAPL", "BUY", 100, "LMT", limit_price=100.0, account=account)
    order_id = pa.orders.place_order("AAPL", "BUY", 100, "LMT", limit_price=100.0, account="DU222")
    with pytest.raises(ValidationError, match="buying power"):  # a modification of the adapter's account's order
        pa.orders.modify_order(pa.orders.place_order("AAPL", "BUY", 1, "LMT", limit_price=100.0), quantity=100)
    assert [args[2].account for name, args in fake.calls if name == "placeOrder"] == ["DU222", "DU111"]
    assert pa.orders.modify_order(order_id, quantity=200)  # DU222's: IB checks it
