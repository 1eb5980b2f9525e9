"""An option's market-data line carries its greeks (tickOptionComputation, tick types 10-13 and
the delayed 80-83), checked with the official ibapi EClient over real TCP at versions where the
message is text without and with the 4-byte id, and protobuf."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
from ibapi.client import EClient
from ibapi.contract import Contract
from ibapi.server_versions import MAX_CLIENT_VER

from platform_adapter.sim import SimulatedGateway
from platform_adapter.sim.contracts import ContractSpec
from platform_adapter.sim.market import years_to_expiry
from platform_adapter.sim.options import greeks
from tests.sim.ibapi_recorder import IbapiRecorder, stock_client

RECORDED = ("nextValidId", "managedAccounts", "tickOptionComputation", "tickPrice", "marketDataType")




@pytest.fixture(params=[176, 200, 210, 211, MAX_CLIENT_VER])
def gw(request: pytest.FixtureRequest) -> Iterator[SimulatedGateway]:
    with SimulatedGateway(port=0, tick_interval=60, server_version=request.param) as gateway:
        yield gateway


@pytest.fixture
def ib(gw: SimulatedGateway) -> Iterator[tuple[EClient, IbapiRecorder]]:
    with stock_client(gw.port, 51, RECORDED) as session:
        yield session


def aapl_call(gw: SimulatedGateway) -> ContractSpec:
    """The AAPL call nearest the money (its bid and ask each imply a volatility)."""
    spot = gw.market.quote(265598).mid
    calls = [c for c in gw.universe.contracts if c.under_con_id == 265598 and c.right == "C"]
    return min(calls, key=lambda c: (abs(c.strike - spot), c.last_trade_date))


def option_contract(spec: ContractSpec) -> Contract:
    k = Contract()
    k.conId, k.exchange = spec.con_id, "SMART"
    return k


def test_an_option_line_streams_bid_ask_last_and_model_greeks(gw: SimulatedGateway,
                                                             ib: tuple[EClient, IbapiRecorder]) -> None:
    c, w = ib
    spec = aapl_call(gw)
    c.reqMktData(1, option_contract(spec), "", False, False, [])
    w.wait(lambda k: {t[1] for t in k["tickOptionComputation"]} >= {10, 11, 12, 13})
    by_type = {t[1]: t for t in w.calls["tickOptionComputation"]}
    spot = gw.market.quote(265598).mid
    quote = gw.market.quote(spec.con_id)
    # (reqId, tickType, tickAttrib, impliedVol, delta, optPrice, pvDividend, gamma, vega, theta, undPrice)
    _, _, _, vol, delta, price, pv_div, gamma, vega, theta, und = by_type[13]
    model = greeks(True, spot, spec.strike, years_to_expiry(spec), spec.implied_vol)
    assert vol == pytest.approx(spec.implied_vol) and und == pytest.approx(spot)
    assert (delta, price, gamma, vega, theta) == pytest.approx(
        (model.delta, model.price, model.gamma, model.vega, model.theta), rel=1e-6)
    assert 0 < delta < 1 and gamma > 0 and vega > 0 and theta < 0 and pv_div == 0.0
    for tick_type, px in ((10, quote.bid), (11, quote.ask), (12, quote.last)):
        row = by_type[tick_type]
        assert row[0] == 1 and row[5] == pytest.approx(px) and row[10] == pytest.approx(spot)
        # the greeks at the volatility that price implies
        assert greeks(True, spot, spec.strike, years_to_expiry(spec), row[3]).price == pytest.approx(px, abs=1e-6)
        assert 0 < row[4] < 1
    assert by_type[10][3] <= by_type[11][3]  # a higher price implies a higher volatility


def test_a_stock_line_has_no_greeks_and_delayed_greeks_use_the_delayed_ids(
        gw: SimulatedGateway, ib: tuple[EClient, IbapiRecorder]) -> None:
    c, w = ib
    stock = Contract()
    stock.conId, stock.exchange = 265598, "SMART"
    c.reqMarketDataType(3)
    c.reqMktData(2, stock, "", False, False, [])
    c.reqMktData(3, option_contract(aapl_call(gw)), "", False, False, [])
    w.wait(lambda k: {t[1] for t in k["tickOptionComputation"] if t[0] == 3} >= {80, 81, 82, 83})
    w.wait(lambda k: any(t[0] == 2 for t in k["tickPrice"]))
    assert {t[0] for t in w.calls["tickOptionComputation"]} == {3}
    assert all(not math.isnan(t[10]) for t in w.calls["tickOptionComputation"])
