"""AccountManager with a fake EClient: subscriptions, position merging and timeouts."""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from ibapi.contract import Contract

from platform_adapter import PlatformAdapter, Position, RequestTimeout
from platform_adapter.adapters.account.updates import AccountValue
from platform_adapter.config.settings import AccountConfig, load_settings
from platform_adapter.errors import IBError
from tests.conftest import FailsOnce, wait_for
from tests.fakes import FakeClient


def aapl() -> Contract:
    c = Contract()
    c.conId, c.symbol, c.secType, c.exchange, c.currency = 265598, "AAPL", "STK", "NASDAQ", "USD"
    return c


@pytest.fixture
def account(tmp_path: Path) -> Iterator[tuple[PlatformAdapter, FakeClient]]:
    opts = {"logging.console": False, "logging.log_dir": str(tmp_path), "environment": "test",
            "ib_connection.request_timeout": 0.3, "orders.journal_path": str(tmp_path / "o.db")}
    pa = PlatformAdapter(settings=load_settings(None, env_file=os.devnull, overrides=opts, use_environ=False),
                         configure_logging=False)
    fake = FakeClient(pa.wrapper)
    pa.connection.require_connected = lambda: fake  # type: ignore[method-assign]
    pa.connection.accounts = ("DU5",)
    w = pa.wrapper

    def account_updates(subscribe: bool, acct: str) -> None:
        if subscribe:
            w.updateAccountValue("BuyingPower", "1000.00", "USD", acct)
            w.updateAccountValue("BuyingPower", "900.00", "BASE", acct)
            w.updatePortfolio(aapl(), Decimal(10), 101.0, 1010.0, 100.5, 5.0, 0.0, acct)
            w.accountDownloadEnd(acct)

    def positions() -> None:
        w.position("DU5", aapl(), Decimal(10), 100.5)
        w.positionEnd()

    fake.on_call["reqAccountUpdates"] = account_updates
    fake.on_call["reqPositions"] = positions
    pa.events.start()
    yield pa, fake
    pa.events.stop()


def test_start_subscribes_merges_and_stop_cancels(account: tuple[PlatformAdapter, FakeClient], recorder: Any) -> None:
    pa, fake = account
    pa.account.subscribe_account_updates(recorder)
    pa.account.start()
    assert pa.state.get_account_value("BuyingPower") == "1000.00"
    (pos,) = pa.state.get_cached_positions()
    assert (pos.symbol, pos.quantity, pos.market_value, pos.contract.exchange) == ("AAPL", Decimal(10), 1010.0,
                                                                                   "SMART")
    pa.wrapper.position("DU5", aapl(), Decimal(12), 100.7)  # a push after a fill: no stale market values
    (pos,) = pa.state.get_cached_positions()
    assert pos.quantity == Decimal(12) and pos.market_value is None
    assert pa.account._pnl_req_id is not None
    pa.wrapper.pnl(pa.account._pnl_req_id, 1.0, 2.0, 3.0)
    assert pa.state.get_pnl() is not None and pa.state.get_pnl().realized == 3.0  # type: ignore[union-attr]
    pa.events.wait_idle(2)
    kinds = {type(c[0]) for c in recorder.calls}
    assert {AccountValue, Position}.issubset(kinds)
    pa.account.stop()
    assert {"cancelPositions", "cancelPnL"}.issubset(fake.names())
    assert fake.calls[-3][0] == "reqAccountUpdates" and fake.calls[-3][1][0] is False


def test_requests_without_answers_time_out(account: tuple[PlatformAdapter, FakeClient]) -> None:
    pa, fake = account
    fake.on_call.clear()
    with pytest.raises(RequestTimeout, match="accountDownloadEnd"):
        pa.account.start()
    assert pa.account._thread is not None and pa.account._thread.is_alive()  # the refresh loop still runs
    with pytest.raises(RequestTimeout, match="positionEnd"):
        pa.account.get_positions()
    with pytest.raises(RequestTimeout):
        pa.account.get_pnl()
    assert "cancelPnL" in fake.names()


def test_a_refresh_that_raises_does_not_end_the_refreshes(account: tuple[PlatformAdapter, FakeClient],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug in one periodic refresh (not a PlatformAdapterError) is logged; the next one follows."""
    pa, _ = account
    manager = pa.account
    monkeypatch.setattr(manager, "settings", dataclasses.replace(
        manager.settings, account=AccountConfig(update_frequency_seconds=0.05)))
    monkeypatch.setattr(pa.connection, "is_connected", lambda: True)
    refresh = FailsOnce()
    monkeypatch.setattr(manager, "refresh", refresh)
    manager.start()
    try:
        wait_for(lambda: len(refresh.calls) >= 2)
    finally:
        manager.stop()


def test_a_position_streamed_twice_during_the_list_is_reported_once(
        account: tuple[PlatformAdapter, FakeClient]) -> None:
    pa, fake = account
    w = pa.wrapper

    def positions() -> None:
        w.position("DU5", aapl(), Decimal(10), 100.5)
        w.position("DU5", aapl(), Decimal(20), 100.25)  # an update streamed before positionEnd
        w.positionEnd()

    fake.on_call["reqPositions"] = positions
    (pos,) = pa.account.get_positions()
    assert pos.quantity == Decimal(20) and pos.avg_cost == 100.25


@pytest.mark.parametrize("close", [
    lambda w: w.position("DU5", aapl(), Decimal(0), 0.0),
    lambda w: w.updatePortfolio(aapl(), Decimal(0), 101.0, 0.0, 0.0, 0.0, 50.0, "DU5"),
], ids=["position", "portfolio"])
def test_a_position_closed_right_after_the_list_stays_closed(account: tuple[PlatformAdapter, FakeClient],
                                                             monkeypatch: pytest.MonkeyPatch, close: Any) -> None:
    """The decoder applies a fill's update (AAPL now 0) just after positionEnd, while the refresh is
    about to put the list in the cache: the older list must not bring the closed position back."""
    pa, _ = account
    pa.account.start()
    assert pa.state.get_position("AAPL") is not None
    replace = pa.state.replace_positions
    streamed = threading.Thread(target=close, args=(pa.wrapper,), name="decoder")

    def streamed_meanwhile(*args: Any) -> Any:
        streamed.start()
        streamed.join(0.5)  # it is applied now unless it waits for the list to be in the cache
        return replace(*args)

    monkeypatch.setattr(pa.state, "replace_positions", streamed_meanwhile)
    pa.account.refresh_positions()
    streamed.join(5)
    assert not streamed.is_alive()
    assert pa.state.get_position("AAPL") is None


def test_a_gateway_older_than_pnl_requests_gets_none(account: tuple[PlatformAdapter, FakeClient]) -> None:
    """Below server version 127 ibapi refuses reqPnL (UPDATE_TWS): the subscription is left out and
    get_pnl says why at once instead of waiting for an answer that cannot come."""
    pa, fake = account
    pa.connection.server_version = 126
    pa.account.start()
    assert pa.account._pnl_req_id is None and "reqPnL" not in fake.names()
    with pytest.raises(IBError, match="503.*server version 126 has no PnL requests"):
        pa.account.get_pnl()
    pa.account.stop()
    assert "cancelPnL" not in fake.names()
