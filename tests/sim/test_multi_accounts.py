"""A simulator managing two accounts, driven by the official ibapi EClient over real TCP: orders
are booked to the account they name; positions, account summaries (group "All"), account
updates, PnL and executions answer per account; a third account is refused with 321."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from ibapi.client import EClient
from ibapi.contract import Contract
from ibapi.execution import ExecutionFilter
from ibapi.order import Order
from ibapi.server_versions import MAX_CLIENT_VER

from platform_adapter.sim import SimulatedGateway
from tests.sim.ibapi_recorder import IbapiRecorder, stock_client

A, B, OTHER = "DU111111", "DU222222", "DU333333"
RECORDED = ("nextValidId", "managedAccounts", "error", "orderStatus", "execDetails", "execDetailsEnd",
            "position", "positionEnd", "accountSummary", "accountSummaryEnd", "pnl", "updatePortfolio",
            "updateAccountValue", "accountDownloadEnd", "positionMulti", "positionMultiEnd")




def stock(symbol: str) -> Contract:
    k = Contract()
    k.symbol, k.secType, k.exchange, k.currency = symbol, "STK", "SMART", "USD"
    return k


def market(action: str, qty: int, account: str) -> Order:
    o = Order()
    o.action, o.totalQuantity, o.orderType, o.account = action, Decimal(qty), "MKT", account
    return o


@pytest.fixture(params=[176, MAX_CLIENT_VER], ids=["v176", "latest"])
def two_accounts(request: pytest.FixtureRequest) -> Iterator[SimulatedGateway]:
    with SimulatedGateway(port=0, tick_interval=60, accounts=[A, B], server_version=request.param) as gw:
        yield gw


@pytest.fixture
def ib(two_accounts: SimulatedGateway) -> Iterator[tuple[EClient, IbapiRecorder]]:
    with stock_client(two_accounts.port, 41, RECORDED) as session:
        yield session


def place(c: EClient, w: IbapiRecorder, order_id: int, symbol: str, qty: int, account: str) -> None:
    c.placeOrder(order_id, stock(symbol), market("BUY", qty, account))
    w.wait(lambda k: any(s[0] == order_id and s[1] == "Filled" for s in k["orderStatus"]))


def test_orders_positions_summaries_pnl_and_executions_per_account(
        two_accounts: SimulatedGateway, ib: tuple[EClient, IbapiRecorder]) -> None:
    c, w = ib
    gw = two_accounts
    assert w.calls["managedAccounts"] == [(f"{A},{B}",)]
    oid = w.calls["nextValidId"][0][0]
    place(c, w, oid, "AAPL", 10, A)
    place(c, w, oid + 1, "MSFT", 5, B)
    place(c, w, oid + 2, "AAPL", 3, "")  # no account: the first one
    assert {e[2].orderId: e[2].acctNumber for e in w.calls["execDetails"]} == {oid: A, oid + 1: B, oid + 2: A}

    c.reqPositions()
    w.wait(lambda k: k["positionEnd"])
    assert sorted((p[0], p[1].symbol, p[2]) for p in w.calls["position"]) == [
        (A, "AAPL", Decimal(13)), (B, "MSFT", Decimal(5))]

    c.reqAccountSummary(9, "All", "TotalCashValue,NetLiquidation")
    w.wait(lambda k: k["accountSummaryEnd"])
    cash = {row[1]: float(row[3]) for row in w.calls["accountSummary"] if row[2] == "TotalCashValue"}
    assert cash == {A: pytest.approx(gw.accounts[A].cash, abs=0.01), B: pytest.approx(gw.accounts[B].cash, abs=0.01)}
    assert cash[A] != cash[B] and cash[B] < 1_000_000.0

    c.reqPnL(10, A, "")
    c.reqPnL(11, B, "")
    w.wait(lambda k: {p[0] for p in k["pnl"]} >= {10, 11})
    realized_b = round(gw.values(B)["RealizedPnL"], 2)
    assert next(p for p in w.calls["pnl"] if p[0] == 11)[3] == realized_b

    c.reqAccountUpdates(True, B)
    w.wait(lambda k: k["accountDownloadEnd"])
    assert w.calls["accountDownloadEnd"] == [(B,)]
    assert {(p[0].symbol, p[7]) for p in w.calls["updatePortfolio"]} == {("MSFT", B)}
    assert {v[3] for v in w.calls["updateAccountValue"]} == {B}

    c.reqPositionsMulti(12, B, "")
    w.wait(lambda k: k["positionMultiEnd"])
    assert [(p[1], p[3].symbol) for p in w.calls["positionMulti"]] == [(B, "MSFT")]

    f = ExecutionFilter()
    f.acctCode = B
    c.reqExecutions(13, f)
    w.wait(lambda k: k["execDetailsEnd"])
    assert [e[2].acctNumber for e in w.calls["execDetails"] if e[0] == 13] == [B]


def test_an_unmanaged_account_is_refused_with_321(two_accounts: SimulatedGateway,
                                                 ib: tuple[EClient, IbapiRecorder]) -> None:
    c, w = ib
    oid = w.calls["nextValidId"][0][0]
    c.placeOrder(oid, stock("AAPL"), market("BUY", 1, OTHER))
    c.reqPnL(20, OTHER, "")
    c.reqPositionsMulti(21, OTHER, "")
    c.reqAccountUpdates(True, OTHER)  # no request id: IB's -1
    w.wait(lambda k: {e[0] for e in k["error"] if e[2] == 321} >= {oid, 20, 21, -1})
    assert not two_accounts.engine.orders and not w.calls["pnl"] and not w.calls["accountDownloadEnd"]
    assert all(not a.positions for a in two_accounts.accounts.values())


def test_accounts_survive_a_restart_through_the_state_file(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with SimulatedGateway(port=0, tick_interval=60, accounts=[A, B], state_file=state) as gw:
        with stock_client(gw.port, 42, RECORDED) as (c, w):
            place(c, w, w.calls["nextValidId"][0][0], "MSFT", 7, B)
    with SimulatedGateway(port=0, tick_interval=60, accounts=[A, B], state_file=state) as again:
        assert again.accounts[B].positions[272093].qty == 7 and not again.accounts[A].positions
