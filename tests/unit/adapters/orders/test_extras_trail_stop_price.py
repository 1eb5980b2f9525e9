"""A trailing order's initial stop price (``trail_stop_price``, IB's trailStopPrice): checked before
anything is sent, put into the ibapi Order (and so into ibapi's text and protobuf placeOrder), read
back from IB's openOrder, sent with a modification only when the modification names it."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import pytest
from ibapi.const import UNSET_DOUBLE
from ibapi.message import OUT
from ibapi.protobuf.PlaceOrderRequest_pb2 import PlaceOrderRequest as PlaceOrderRequestProto
from ibapi.server_versions import MAX_CLIENT_VER, MIN_SERVER_VER_PROTOBUF_PLACE_ORDER

from platform_adapter import ValidationError
from platform_adapter.adapters.orders import extras as x
from platform_adapter.adapters.orders.encoding import PlaceOrderEncoder, ibapi_body, ibapi_text
from platform_adapter.adapters.orders.journal import extras_from_json, extras_json
from platform_adapter.adapters.orders.models import build_ib_order, extras_from_ib, foreign_order
from platform_adapter.adapters.orders.requests import confirms
from platform_adapter.models.contract import ContractInfo, ContractSpec, SecType
from platform_adapter.models.order import OrderAction, OrderExtras, OrderRequest, OrderType, TimeInForce
from platform_adapter.sim.request_text import parse_text
from tests.unit.adapters.orders.test_encoding import contract as ib_contract
from tests.unit.adapters.test_order_execution import Harness, contract, ib_order, ib_state


def sent_orders(fake: Any) -> list[Any]:
    return [args[2] for name, args in fake.calls if name == "placeOrder"]


def trailing(order_type: OrderType = OrderType.TRAIL, **extras: Any) -> OrderRequest:
    return OrderRequest(ContractSpec("AAPL"), OrderAction.SELL, Decimal(100), order_type, tif=TimeInForce.DAY,
                        order_ref="pa-1", extras=OrderExtras(**extras))


# --- validation -----------------------------------------------------------------------------------
@pytest.mark.parametrize("otype, kwargs", [
    (OrderType.TRAIL, {"trailing_amount": 1.0, "trail_stop_price": 189.5}),
    (OrderType.TRAIL, {"trailing_percent": 1.0, "trail_stop_price": 189}),
    (OrderType.TRAIL_LIMIT, {"trailing_amount": 1.0, "limit_offset": 0.1, "trail_stop_price": Decimal("189.25")}),
])
def test_a_trailing_order_takes_an_initial_stop_price(otype: OrderType, kwargs: dict[str, Any]) -> None:
    got = x.check_extras(otype, TimeInForce.DAY, kwargs)
    assert got is not None and got.trail_stop_price == float(kwargs["trail_stop_price"])
    assert isinstance(got.trail_stop_price, float)


@pytest.mark.parametrize("value", [0, 0.0, -1.0, math.nan, math.inf, -math.inf, "189.5", True, [189.5], 10**400])
def test_a_bad_trail_stop_price_is_refused(value: Any) -> None:
    with pytest.raises(ValidationError) as info:
        x.check_extras(OrderType.TRAIL, TimeInForce.DAY, {"trailing_amount": 1.0, "trail_stop_price": value})
    assert info.value.field == "trail_stop_price"


@pytest.mark.parametrize("otype", [OrderType.MARKET, OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT])
def test_only_trailing_orders_take_a_trail_stop_price(otype: OrderType) -> None:
    with pytest.raises(ValidationError, match="TRAIL and TRAIL LIMIT") as info:
        x.check_extras(otype, TimeInForce.DAY, {"trail_stop_price": 189.5})
    assert info.value.field == "trail_stop_price"
    with pytest.raises(ValidationError) as info:
        x.modified_extras(otype, TimeInForce.DAY, None, {"trail_stop_price": 189.5})
    assert info.value.field == "trail_stop_price"


def test_a_trail_stop_price_goes_with_the_modification_that_names_it_only() -> None:
    base = OrderExtras(trailing_amount=1.0, trail_stop_price=189.0)  # as IB last reported it
    got = x.modified_extras(OrderType.TRAIL, TimeInForce.DAY, base, {"trailing_amount": 2.0})
    assert got == OrderExtras(trailing_amount=2.0)  # the stop IB holds is not sent back
    got = x.modified_extras(OrderType.TRAIL, TimeInForce.DAY, base, {"trail_stop_price": 189.5})
    assert got == OrderExtras(trailing_amount=1.0, trail_stop_price=189.5)
    with pytest.raises(ValidationError) as info:
        x.modified_extras(OrderType.TRAIL, TimeInForce.DAY, base, {"trail_stop_price": -1})
    assert info.value.field == "trail_stop_price"


def test_a_trail_stop_price_is_on_the_tick() -> None:
    es = ContractInfo(ContractSpec("ES"), 1, "ES", SecType.FUTURE, "CME", "", "USD", "ESZ6", "ES", 0.25, "50", "ES")
    x.check_extras_ticks(es, OrderExtras(trailing_amount=1.0, trail_stop_price=5000.25))
    with pytest.raises(ValidationError, match="tick size 0.25") as info:
        x.check_extras_ticks(es, OrderExtras(trailing_amount=1.0, trail_stop_price=5000.1))
    assert info.value.field == "trail_stop_price"


# --- encoding ---------------------------------------------------------------------------------------
def test_the_ib_order_carries_the_trail_stop_price() -> None:
    o = build_ib_order(trailing(trailing_amount=1.0, trail_stop_price=189.5))
    assert (o.orderType, o.auxPrice, o.trailStopPrice) == ("TRAIL", 1.0, 189.5)
    assert build_ib_order(trailing(trailing_amount=1.0)).trailStopPrice == UNSET_DOUBLE  # none: IB computes it


@pytest.mark.parametrize("version", [100, 176, 200, 201, MIN_SERVER_VER_PROTOBUF_PLACE_ORDER - 1])
def test_ibapis_text_place_order_carries_it(version: int) -> None:
    request = trailing(OrderType.TRAIL_LIMIT, trailing_amount=1.0, limit_offset=0.1, trail_stop_price=189.5)
    assert PlaceOrderEncoder().encode(version, "k", ib_contract("stock"), 7, request) is None  # advanced: to ibapi
    text = ibapi_text(version, 7, ib_contract("stock"), request)
    assert text is not None
    parsed = parse_text(OUT.PLACE_ORDER, text.split("\0")[:-1], version)  # the simulator's reading of it
    assert (parsed.order_type, parsed.aux_price, parsed.trail_stop_price) == ("TRAIL LIMIT", 1.0, 189.5)
    plain = ibapi_text(version, 7, ib_contract("stock"), trailing(trailing_amount=1.0))
    assert parse_text(OUT.PLACE_ORDER, plain.split("\0")[:-1], version).trail_stop_price is None


@pytest.mark.parametrize("version", [MIN_SERVER_VER_PROTOBUF_PLACE_ORDER, MAX_CLIENT_VER])
def test_ibapis_protobuf_place_order_carries_it(version: int) -> None:
    request = trailing(trailing_percent=1.0, trail_stop_price=189.5)
    assert PlaceOrderEncoder().encode(version, "k", ib_contract("stock"), 7, request) is None  # advanced: to ibapi
    body = ibapi_body(version, 7, ib_contract("stock"), request)
    assert body is not None
    order = PlaceOrderRequestProto.FromString(body).order
    assert (order.orderType, order.trailingPercent, order.trailStopPrice) == ("TRAIL", 1.0, 189.5)
    plain = ibapi_body(version, 7, ib_contract("stock"), trailing(trailing_percent=1.0))
    assert not PlaceOrderRequestProto.FromString(plain).order.HasField("trailStopPrice")


def test_the_journal_keeps_it() -> None:
    extras = OrderExtras(trailing_amount=1.0, trail_stop_price=189.5)
    assert extras_from_json(extras_json(extras)) == extras


# --- reading IB's reports ---------------------------------------------------------------------------------
@pytest.mark.parametrize("reported, read", [(189.5, 189.5), (0.0, None), (UNSET_DOUBLE, None), (math.nan, None)])
def test_open_order_reports_are_read(reported: float, read: float | None) -> None:
    order = ib_order(5, "theirs", perm=3, otype="TRAIL", action="SELL")
    order.auxPrice, order.trailStopPrice = 1.0, reported
    got = foreign_order(5, contract(), order, "PreSubmitted")
    assert got is not None and got.request.extras.trail_stop_price == read
    order.orderType = "LMT"  # a stop price means nothing to other order types
    assert extras_from_ib(OrderType.LIMIT, order) is None


def test_the_cached_order_follows_the_stop_ib_reports(harness: Harness) -> None:
    pa, fake = harness
    order_id = pa.orders.place_order("AAPL", "SELL", 10, "TRAIL", trailing_amount=1.0, trail_stop_price=189.5)
    (placed,) = sent_orders(fake)
    assert (placed.orderType, placed.auxPrice, placed.trailStopPrice) == ("TRAIL", 1.0, 189.5)
    assert pa.orders.get_order(order_id).request.extras == OrderExtras(trailing_amount=1.0, trail_stop_price=189.5)
    ref = pa.orders.get_order(order_id).order_ref
    echoed = ib_order(order_id, ref, 78, otype="TRAIL", action="SELL")
    echoed.auxPrice, echoed.trailStopPrice = 1.0, 190.25  # the stop IB holds after the market rose
    pa.wrapper.openOrder(order_id, contract(), echoed, ib_state("PreSubmitted"))
    assert pa.orders.get_order(order_id).request.extras.trail_stop_price == 190.25
    echoed.trailStopPrice = UNSET_DOUBLE  # a report without one keeps the last known stop
    pa.wrapper.openOrder(order_id, contract(), echoed, ib_state("PreSubmitted"))
    assert pa.orders.get_order(order_id).request.extras.trail_stop_price == 190.25


def test_modifications_send_the_stop_only_when_asked(harness: Harness) -> None:
    pa, fake = harness
    order_id = pa.orders.place_order("AAPL", "SELL", 10, "TRAIL", trailing_amount=1.0, trail_stop_price=189.5)
    ref = pa.orders.get_order(order_id).order_ref
    echoed = ib_order(order_id, ref, 78, otype="TRAIL", action="SELL")
    echoed.auxPrice, echoed.trailStopPrice = 1.0, 190.25
    pa.wrapper.openOrder(order_id, contract(), echoed, ib_state("PreSubmitted"))
    pa.orders.modify_order(order_id, trailing_amount=2.0)
    assert sent_orders(fake)[-1].auxPrice == 2.0 and sent_orders(fake)[-1].trailStopPrice == UNSET_DOUBLE
    echoed.auxPrice = 2.0  # IB's confirmation: the stop it holds (190.25) is reported again
    pa.wrapper.openOrder(order_id, contract(), echoed, ib_state("PreSubmitted"))
    assert pa.orders.get_order(order_id).request.extras == OrderExtras(trailing_amount=2.0, trail_stop_price=190.25)
    pa.orders.modify_order(order_id, trail_stop_price=191.0)
    assert (sent_orders(fake)[-1].auxPrice, sent_orders(fake)[-1].trailStopPrice) == (2.0, 191.0)
    count = len(sent_orders(fake))
    for bad in ({"trail_stop_price": 191.005}, {"trail_stop_price": 0}, {"trailing_amount": 1.005}):
        with pytest.raises(ValidationError) as info:
            pa.orders.modify_order(order_id, **bad)
        assert info.value.field == next(iter(bad)), bad
    assert len(sent_orders(fake)) == count  # nothing sent


def test_a_bad_trail_stop_price_never_reaches_ib(harness: Harness) -> None:
    pa, fake = harness
    for order_type, kwargs in (("TRAIL", {"trailing_amount": 1.0, "trail_stop_price": -5.0}),
                               ("TRAIL", {"trailing_amount": 1.0, "trail_stop_price": 189.555}),  # off the tick
                               ("LMT", {"limit_price": 189.0, "trail_stop_price": 189.5}),
                               ("STP", {"stop_price": 189.0, "trail_stop_price": 189.5})):
        with pytest.raises(ValidationError) as info:
            pa.orders.place_order("AAPL", "SELL", 10, order_type, **kwargs)
        assert info.value.field == "trail_stop_price", (order_type, kwargs)
    assert not sent_orders(fake)


def test_a_modification_confirms_whatever_stop_ib_reports() -> None:
    """IB uses the market's stop when the one sent was looser: its report still confirms the
    modification (else the modification would stay pending)."""
    sent = trailing(trailing_amount=1.0, trail_stop_price=185.0)
    assert confirms(trailing(trailing_amount=1.0, trail_stop_price=189.0), sent)
    assert not confirms(trailing(trailing_amount=2.0, trail_stop_price=185.0), sent)
