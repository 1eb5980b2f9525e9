"""The placeOrder template encoder: for every order it takes, the text (below server version 203)
or the protobuf body (203 on) is byte for byte what ibapi's own placeOrder would send, and so is the
whole frame; anything it cannot render exactly is left to ibapi."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ibapi.client import EClient
from ibapi.const import UNSET_DOUBLE
from ibapi.contract import Contract
from ibapi.server_versions import (
    MAX_CLIENT_VER,
    MIN_CLIENT_VER,
    MIN_SERVER_VER_FRACTIONAL_POSITIONS,
    MIN_SERVER_VER_PROTOBUF,
    MIN_SERVER_VER_PROTOBUF_PLACE_ORDER,
)
from ibapi.wrapper import EWrapper

from platform_adapter.adapters.orders import encoding as order_encoding
from platform_adapter.adapters.orders.encoding import PlaceOrderEncoder, ibapi_body, ibapi_text
from platform_adapter.adapters.orders.models import build_ib_order
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
                                      MIN_SERVER_VER_FRACTIONAL_POSITIONS, 173, 176, 187, 200, 201, 202]),
                     st.integers(MIN_CLIENT_VER, MIN_SERVER_VER_PROTOBUF_PLACE_ORDER - 1))
PROTO_VERSIONS = st.integers(MIN_SERVER_VER_PROTOBUF_PLACE_ORDER, MAX_CLIENT_VER)
ODD_PRICES = st.one_of(PRICES, st.sampled_from([UNSET_DOUBLE, float("inf"), float("-inf"), 0.0, -1.5, 2147483647.0]))


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
    for version in (176, 187, 200, 201, 202):
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


def test_the_text_and_protobuf_encoders_keep_to_their_versions() -> None:
    encoder = PlaceOrderEncoder()
    request = OrderRequest(ContractSpec("AAPL"), OrderAction.BUY, Decimal(1), OrderType.MARKET, None, None,
                           TimeInForce.DAY, False, "", "pa-1")
    for version in (MIN_SERVER_VER_PROTOBUF_PLACE_ORDER, MIN_CLIENT_VER - 1, None):
        assert encoder.text(version, "AAPL", contract("stock"), 5, request) is None  # type: ignore[arg-type]
    for version in (MIN_SERVER_VER_PROTOBUF_PLACE_ORDER - 1, None):
        assert encoder.body(version, "AAPL", contract("stock"), 5, request) is None  # type: ignore[arg-type]
    assert encoder.encode(None, "AAPL", contract("stock"), 5, request) is None  # type: ignore[arg-type]
    assert encoder.fallbacks == 6
    assert encoder.text(MIN_SERVER_VER_PROTOBUF, "AAPL", contract("stock"), 5, request) is not None
    for version, kind in ((MIN_SERVER_VER_PROTOBUF_PLACE_ORDER - 1, str), (MIN_SERVER_VER_PROTOBUF_PLACE_ORDER, bytes)):
        message = encoder.encode(version, "AAPL", contract("stock"), 5, request)
        assert message is not None and isinstance(message.body, kind)


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
    def with_model_code(*args: Any, **kwargs: Any) -> Any:
        order = build_ib_order(*args, **kwargs)
        order.modelCode = "M1"  # ibapi refuses a model code below MODELS_SUPPORT (103): it reports an error
        return order

    monkeypatch.setattr(order_encoding, "build_ib_order", with_model_code)
    encoder = PlaceOrderEncoder()
    request = OrderRequest(ContractSpec("AAPL"), OrderAction.BUY, Decimal(1), OrderType.MARKET, None, None,
                           TimeInForce.DAY, False, "", "pa-1")
    assert encoder.text(MIN_CLIENT_VER, "AAPL", contract("stock"), 5, request) is None
    assert ibapi_text(MIN_CLIENT_VER, 5, contract("stock"), request) is None


# --- protobuf (server version 203 on) -------------------------------------------------------------------
@st.composite
def odd_requests(draw: st.DrawFn) -> OrderRequest:
    order_type = draw(st.sampled_from(list(TYPES)))
    limit, stop = TYPES[order_type]
    text = st.one_of(ODD_TEXT, st.text(max_size=8))
    return OrderRequest(ContractSpec("AAPL"), draw(st.sampled_from(list(OrderAction))), draw(QUANTITIES), order_type,
                        draw(ODD_PRICES) if limit else None, draw(ODD_PRICES) if stop else None,
                        draw(st.sampled_from(list(TimeInForce))), draw(st.booleans()), draw(text), draw(text))


@settings(max_examples=300, deadline=None)
@given(request=odd_requests(), version=PROTO_VERSIONS, kind=st.sampled_from(["stock", "forex", "future", "option"]),
       order_id=st.one_of(st.integers(1, 2**31 - 1), st.sampled_from([0, 2**31 - 1])))
def test_protobuf_body_is_ibapis_bytes(request: OrderRequest, version: int, kind: str, order_id: int) -> None:
    encoder = PlaceOrderEncoder()
    c = contract(kind)
    body = encoder.body(version, kind, c, order_id, request)
    assert body is not None and encoder.fast == 1  # every value renders exactly: nothing is left to ibapi
    assert body == ibapi_body(version, order_id, c, request)


@settings(max_examples=100, deadline=None)
@given(requests_=st.lists(odd_requests(), min_size=2, max_size=8), version=PROTO_VERSIONS)
def test_one_protobuf_template_per_shape_serves_many_orders(requests_: list[OrderRequest], version: int) -> None:
    encoder = PlaceOrderEncoder()
    c = contract("stock")
    for order_id, request in enumerate(requests_, 1):
        assert encoder.body(version, "AAPL", c, order_id, request) == ibapi_body(version, order_id, c, request)
    shapes = {(r.order_type, r.limit_price is not None, r.stop_price is not None, r.outside_rth) for r in requests_}
    assert len(encoder._proto_templates) == len(shapes)


class _Conn:
    """Keeps the bytes an EClient would write to its socket."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def sendMsg(self, msg: bytes) -> int:  # noqa: N802 - ibapi's name
        self.sent.append(msg)
        return len(msg)

    def isConnected(self) -> bool:  # noqa: N802 - ibapi's name
        return True


def _client(server_version: int) -> tuple[EClient, _Conn]:
    client = EClient(EWrapper())
    client.conn = _Conn()
    client.serverVersion_ = server_version
    client.setConnState(EClient.CONNECTED)
    return client, client.conn


@pytest.mark.parametrize("version", [101, 110, 111, 145, 156, 176, 200, 201, 202, 203, 204, 213, MAX_CLIENT_VER])
@pytest.mark.parametrize("order_type", list(TYPES))
def test_the_frame_sent_is_the_frame_stock_ibapi_sends(version: int, order_type: OrderType) -> None:
    limit, stop = TYPES[order_type]
    request = OrderRequest(ContractSpec("AAPL"), OrderAction.SELL, Decimal("12.5"), order_type,
                           101.25 if limit else None, 99.5 if stop else None, TimeInForce.GTC, True, "DU123", "pa-7")
    stock, stock_conn = _client(version)
    stock.placeOrder(42, contract("stock"), build_ib_order(request, server_version=version))
    ours, our_conn = _client(version)
    message = PlaceOrderEncoder().encode(version, "AAPL", contract("stock"), 42, request)
    assert message is not None
    message.send(ours)
    assert our_conn.sent == stock_conn.sent and len(stock_conn.sent) == 1
    binary_id = version >= MIN_SERVER_VER_PROTOBUF
    wire_id = int.from_bytes(stock_conn.sent[0][4:8], "big") if binary_id else None
    assert wire_id == (203 if version >= MIN_SERVER_VER_PROTOBUF_PLACE_ORDER else 3 if binary_id else None)


def test_a_protobuf_template_that_fails_its_probes_is_never_used(monkeypatch: pytest.MonkeyPatch) -> None:
    real = order_encoding.createPlaceOrderRequestProto

    def broken(*args: Any) -> Any:
        message = real(*args)
        message.order.hidden = True  # one wrong field
        return message

    monkeypatch.setattr(order_encoding, "createPlaceOrderRequestProto", broken)
    encoder = PlaceOrderEncoder()
    request = OrderRequest(ContractSpec("AAPL"), OrderAction.BUY, Decimal(1), OrderType.MARKET, None, None,
                           TimeInForce.DAY, False, "", "pa-1")
    assert encoder.encode(MAX_CLIENT_VER, "AAPL", contract("stock"), 5, request) is None
    assert encoder.body(MAX_CLIENT_VER, "AAPL", contract("stock"), 6, request) is None
    assert encoder._proto_templates == {(MAX_CLIENT_VER, "AAPL", "MKT", False, False, False): None}
    assert encoder.fallbacks == 2


def test_a_value_protobuf_refuses_is_left_to_ibapi() -> None:
    encoder = PlaceOrderEncoder()
    request = OrderRequest(ContractSpec("AAPL"), OrderAction.BUY, Decimal(1), OrderType.MARKET, None, None,
                           TimeInForce.DAY, False, "DU\ud8001", "pa-1")
    assert encoder.body(MAX_CLIENT_VER, "AAPL", contract("stock"), 5, request) is None
    assert encoder.fallbacks == 1
    stock, _ = _client(MAX_CLIENT_VER)
    with pytest.raises(UnicodeEncodeError):  # what ibapi does with it
        stock.placeOrder(5, contract("stock"), build_ib_order(request))


def test_at_ibapis_minimum_version_the_frame_is_stock_ibapis() -> None:
    """At 100 (below FRACTIONAL_POSITIONS, 101, ibapi sends whole quantities; below CASH_QTY, 111, the
    order must carry no cash quantity for ibapi to send it at all)."""
    request = OrderRequest(ContractSpec("AAPL"), OrderAction.BUY, Decimal(12), OrderType.LIMIT, 101.25, None,
                           TimeInForce.DAY, False, "DU123", "pa-8")
    stock, stock_conn = _client(MIN_CLIENT_VER)
    stock.placeOrder(42, contract("stock"), build_ib_order(request, server_version=MIN_CLIENT_VER))
    ours, our_conn = _client(MIN_CLIENT_VER)
    message = PlaceOrderEncoder().encode(MIN_CLIENT_VER, "AAPL", contract("stock"), 42, request)
    assert message is not None
    message.send(ours)
    assert our_conn.sent == stock_conn.sent and len(stock_conn.sent) == 1


def test_values_remembered_between_orders_keep_their_own_text() -> None:
    """The protobuf template remembers the encoded quantity by its text and the account by name:
    equal quantities written differently (1E+2, 100, 100.00) each go out as ibapi writes them."""
    encoder = PlaceOrderEncoder()
    c = contract("stock")
    base = OrderRequest(ContractSpec("AAPL"), OrderAction.BUY, Decimal(1), OrderType.LIMIT, 10.5, None,
                        TimeInForce.DAY, False, "", "pa-1")
    variants = [replace(base, quantity=Decimal(q), account=a, order_ref=r)
                for q, a, r in (("100", "DU1", "a"), ("100.00", "DU1", ""), ("1E+2", "", "b"), ("100", "", "c"),
                                ("0.5", "DU2", "d"), ("100.00", "DU2", "e"))]
    bodies = [encoder.body(MAX_CLIENT_VER, "AAPL", c, 7 + i, v) for i, v in enumerate(variants)]
    assert bodies == [ibapi_body(MAX_CLIENT_VER, 7 + i, c, v) for i, v in enumerate(variants)]
    assert encoder.fast == len(variants) and len(set(bodies)) == len(variants)


def test_the_template_caches_start_over_past_their_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(order_encoding, "MAX_TEMPLATES", 2)
    encoder = PlaceOrderEncoder()
    request = OrderRequest(ContractSpec("AAPL"), OrderAction.BUY, Decimal(3), OrderType.MARKET, None, None,
                           TimeInForce.DAY, False, "", "pa-1")
    contracts = [contract(kind) for kind in ("stock", "forex", "future")]
    for version in (176, MAX_CLIENT_VER):
        for c in contracts:  # the contract object itself is the key: it hashes by identity
            message = encoder.encode(version, c, c, 5, request)
            assert message is not None and message.body == (ibapi_text if version == 176 else ibapi_body)(
                version, 5, c, request)
    assert len(encoder._templates) == 1 and len(encoder._proto_templates) == 1  # the third started over


def test_bytes_that_cannot_be_cut_into_fields_leave_the_shape_to_ibapi(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="wire type"):
        order_encoding._runs(b"\x0b\x00", [5])  # wire type 3 (a group): never in ibapi's messages
    with pytest.raises(IndexError):
        order_encoding._runs(b"\x08", [5])  # a varint cut short
    assert order_encoding._runs(b"", [5, 6]) == [b"", b"", b""]
    # the cut fails (a varint running off the end): the shape goes to ibapi, the order is not lost
    monkeypatch.setattr(order_encoding, "_runs", lambda data, numbers: order_encoding._read_varint(b"\x80", 0))
    encoder = PlaceOrderEncoder()
    request = OrderRequest(ContractSpec("AAPL"), OrderAction.BUY, Decimal(1), OrderType.MARKET, None, None,
                           TimeInForce.DAY, False, "", "pa-1")
    assert encoder.body(MAX_CLIENT_VER, "AAPL", contract("stock"), 5, request) is None
    assert encoder.fallbacks == 1
