"""The placeOrder template encoder: for every order it takes, the text is byte for byte the text
ibapi's own placeOrder would send; anything it cannot render exactly is left to ibapi."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ibapi.const import UNSET_DOUBLE
from ibapi.contract import Contract
from ibapi.server_versions import MIN_CLIENT_VER, MIN_SERVER_VER_FRACTIONAL_POSITIONS, MIN_SERVER_VER_PROTOBUF

from platform_adapter.adapters import order_encoding
from platform_adapter.adapters.order_encoding import PlaceOrderEncoder, ibapi_text
from platform_adapter.models.contract import ContractSpec
from platform_adapter.models.order import OrderAction, OrderRequest, OrderType, TimeInForce


def contract(kind: str) -> Contract:
    c = Contract()
    c.conId, c.currency = 265598, "USD"
    if kind == "stock":
        c.symbol, c.secType, c.exchange, c.primaryExchange, c.localSymbol, c.tradingClass = (
            "AAPL", "STK", "SMART", "NASDAQ", "AAPL", "NMS")
    elif kind == "forex":
        c.symbol, c.secType, c.exchange, c.localSymbol = "EUR", "CASH", "IDEALPRO", "EUR.USD"
    elif kind == "future":
        c.symbol, c.secType, c.exchange, c.lastTradeDateOrContractMonth, c.multiplier = (
            "ES", "FUT", "CME", "20261218", "50")
    else:
        c.symbol, c.secType, c.exchange, c.strike, c.right, c.multiplier = "SPY", "OPT", "SMART", 450.0, "C", "100"
    return c


TYPES = {OrderType.MARKET: (False, False), OrderType.LIMIT: (True, False), OrderType.STOP: (False, True),
         OrderType.STOP_LIMIT: (True, True)}
PRICES = st.one_of(st.floats(0.0001, 1e6, allow_nan=False), st.sampled_from([0.01, 1.0, 100.0, 2147483647.0, 1e-7]))
QUANTITIES = st.one_of(st.integers(1, 10**7).map(Decimal), st.sampled_from([Decimal("0.5"), Decimal("1.25"),
                                                                             Decimal("1E+2"), Decimal("100.00")]))
TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30)
ODD_TEXT = st.one_of(TEXT, st.sampled_from(["tab\there", "é", "line\nbreak", "{}", "\\0"]))
VERSIONS = st.one_of(st.sampled_from([MIN_CLIENT_VER, MIN_SERVER_VER_FRACTIONAL_POSITIONS - 1,
                                      MIN_SERVER_VER_FRACTIONAL_POSITIONS, 173, 176, 187, 200]),
                     st.integers(MIN_CLIENT_VER, MIN_SERVER_VER_PROTOBUF - 1))


@st.composite
def requests(draw: st.DrawFn, text: st.SearchStrategy[str] = TEXT) -> OrderRequest:
    order_type = draw(st.sampled_from(list(TYPES)))
    limit, stop = TYPES[order_type]
    return OrderRequest(ContractSpec("AAPL"), draw(st.sampled_from(list(OrderAction))), draw(QUANTITIES), order_type,
                        draw(PRICES) if limit else None, draw(PRICES) if stop else None,
                        draw(st.sampled_from(list(TimeInForce))), draw(st.booleans()), draw(text), draw(text))


@settings(max_examples=300, deadline=None)
@given(request=requests(ODD_TEXT), version=VERSIONS, kind=st.sampled_from(["stock", "forex", "future", "option"]),
       order_id=st.integers(1, 2**31 - 1))
def test_template_text_is_ibapis_text_or_none(request: OrderRequest, version: int, kind: str, order_id: int) -> None:
    encoder = PlaceOrderEncoder()
    c = contract(kind)
    text = encoder.text(version, kind, c, order_id, request)
    if text is not None:
        assert text == ibapi_text(version, order_id, c, request)
        assert encoder.fast == 1
    else:
        assert encoder.fallbacks == 1


@settings(max_examples=100, deadline=None)
@given(request=requests(), order_id=st.integers(1, 2**31 - 1))
def test_ordinary_orders_on_current_servers_take_the_template(request: OrderRequest, order_id: int) -> None:
    encoder = PlaceOrderEncoder()
    c = contract("stock")
    for version in (176, 187, 200):
        text = encoder.text(version, "AAPL", c, order_id, request)
        if request.limit_price == 2147483647.0 or request.stop_price == 2147483647.0:
            assert text is None  # ibapi sends that price as "unset": left to ibapi
        else:
            assert text is not None and text == ibapi_text(version, order_id, c, request)


def test_one_template_per_shape_serves_many_orders() -> None:
    encoder = PlaceOrderEncoder()
    c = contract("stock")
    base = OrderRequest(ContractSpec("AAPL"), OrderAction.BUY, Decimal(1), OrderType.LIMIT, 10.0, None,
                        TimeInForce.DAY, False, "DU1", "pa-1")
    for i in range(20):
        request = OrderRequest(ContractSpec("AAPL"), OrderAction.SELL if i % 2 else OrderAction.BUY,
                               Decimal(i + 1), OrderType.LIMIT, 10.0 + i / 8, None,
                               TimeInForce.GTC if i % 3 else TimeInForce.DAY, False, f"DU{i}", f"pa-{i}")
        assert encoder.text(176, "AAPL", c, 100 + i, request) == ibapi_text(176, 100 + i, c, request)
    assert len(encoder._templates) == 1 and encoder.fast == 20
    encoder.text(176, "AAPL", c, 1, replace(base, outside_rth=True))
    encoder.text(176, "AAPL", c, 1, replace(base, order_type=OrderType.MARKET, limit_price=None))
    assert len(encoder._templates) == 3


@pytest.mark.parametrize("field,value", [("order_ref", "caf\u00e9"), ("account", "DU\x011"),
                                         ("limit_price", 2147483647.0), ("limit_price", UNSET_DOUBLE)])
def test_values_ibapi_renders_specially_go_to_ibapi(field: str, value: Any) -> None:
    encoder = PlaceOrderEncoder()
    request = replace(OrderRequest(ContractSpec("AAPL"), OrderAction.BUY, Decimal(1), OrderType.LIMIT, 1.0, None,
                                   TimeInForce.DAY, False, "DU1", "pa-1"), **{field: value})
    assert encoder.text(176, "AAPL", contract("stock"), 5, request) is None
    assert encoder.fallbacks == 1 and not encoder._templates


def test_tabs_and_newlines_are_printable_to_ibapi_and_rendered_as_it_does() -> None:
    encoder = PlaceOrderEncoder()
    request = OrderRequest(ContractSpec("AAPL"), OrderAction.BUY, Decimal(1), OrderType.MARKET, None, None,
                           TimeInForce.DAY, False, "DU\t1", "pa\r\n1")
    assert encoder.text(176, "AAPL", contract("stock"), 5, request) == ibapi_text(176, 5, contract("stock"), request)


def test_protobuf_servers_and_unknown_versions_go_to_ibapi() -> None:
    encoder = PlaceOrderEncoder()
    request = OrderRequest(ContractSpec("AAPL"), OrderAction.BUY, Decimal(1), OrderType.MARKET, None, None,
                           TimeInForce.DAY, False, "", "pa-1")
    for version in (MIN_SERVER_VER_PROTOBUF, MIN_CLIENT_VER - 1, None):
        assert encoder.text(version, "AAPL", contract("stock"), 5, request) is None  # type: ignore[arg-type]
    assert encoder.fallbacks == 3


def test_a_template_that_fails_its_probes_is_never_used(monkeypatch: pytest.MonkeyPatch) -> None:
    real = order_encoding._template_from

    def broken(text: str, request: OrderRequest) -> Any:
        template = real(text, request)
        template.chunks[-1] += "X\0"  # one wrong field at the end
        return template

    monkeypatch.setattr(order_encoding, "_template_from", broken)
    encoder = PlaceOrderEncoder()
    request = OrderRequest(ContractSpec("AAPL"), OrderAction.BUY, Decimal(1), OrderType.MARKET, None, None,
                           TimeInForce.DAY, False, "", "pa-1")
    assert encoder.text(176, "AAPL", contract("stock"), 5, request) is None
    assert encoder.text(176, "AAPL", contract("stock"), 6, request) is None
    assert encoder._templates == {(176, "AAPL", "MKT", False, False, False): None} and encoder.fallbacks == 2


def test_a_shape_ibapi_refuses_is_left_to_ibapi(monkeypatch: pytest.MonkeyPatch) -> None:
    encoder = PlaceOrderEncoder()
    c = contract("stock")
    c.secIdType, c.secId = "ISIN", "US0378331005"  # some servers refuse secId fields: ibapi reports an error
    request = OrderRequest(ContractSpec("AAPL"), OrderAction.BUY, Decimal(1), OrderType.MARKET, None, None,
                           TimeInForce.DAY, False, "", "pa-1")
    assert encoder.text(MIN_CLIENT_VER, "ISIN", c, 5, request) is None
    assert ibapi_text(MIN_CLIENT_VER, 5, c, request) is None
