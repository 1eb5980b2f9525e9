"""The protobuf openOrder fast path (``core/fast_proto_open_order.py``): for every message it takes,
the order handler's ``open_order`` gets a Contract, Order and OrderState equal attribute by attribute
(types and NaN included) to what ibapi's ``Decoder.processProtoBuf`` hands the Wrapper; anything it
declines delivers nothing and goes to ibapi. Messages are generated with every field of the three
parts present or absent, extreme values, and now and then a field the path leaves to ibapi."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from google.protobuf.descriptor import FieldDescriptor
from hypothesis import given, settings
from hypothesis import strategies as st
from ibapi.client_utils import createContractProto, createOrderProto
from ibapi.decoder import Decoder
from ibapi.protobuf.ComboLeg_pb2 import ComboLeg as ComboLegProto
from ibapi.protobuf.OpenOrder_pb2 import OpenOrder as OpenOrderProto
from ibapi.protobuf.OrderAllocation_pb2 import OrderAllocation as OrderAllocationProto
from ibapi.protobuf.OrderState_pb2 import OrderState as OrderStateProto
from ibapi.protobuf.TickPrice_pb2 import TickPrice as TickPriceProto
from ibapi.server_versions import MAX_CLIENT_VER
from ibapi.wrapper import EWrapper

from platform_adapter.core import fast_proto_decode
from platform_adapter.core.fast_decode import build_frame_fast_path
from platform_adapter.sim import messages
from platform_adapter.sim.protocol import payload
from tests.handlers import Recording, ibapi_calls
from tests.unit.core.test_fast_decode_binary import BINARY_VERSIONS, assert_equivalent, run_both
from tests.unit.core.test_fast_order_decode import _sim_orders
from tests.unit.core.test_fast_proto_decode import DOUBLES, INT32, INT64, SIZE_TEXT, TEXT
from tests.wire import proto_frame

FD = FieldDescriptor
NUMBER_TEXT = st.one_of(st.sampled_from(["0", "100", "1.5", "-3", "1e3", "0.00000001"]),
                        st.decimals(allow_nan=False, allow_infinity=False, places=4).map(str))
# the string fields ibapi converts with Decimal(...): mostly numbers, sometimes not
DECIMAL_FIELDS = frozenset({"totalQuantity", "filledQuantity", "suggestedSize"})
LEFT_TO_IBAPI = frozenset({"hedgeType", "hedgeParam", "hedgeMaxSize", "algoStrategy"})
PARTS = ("contract", "order", "orderState")


def _scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    if field.name in DECIMAL_FIELDS:
        return st.one_of(NUMBER_TEXT, NUMBER_TEXT, SIZE_TEXT)
    return {FD.TYPE_DOUBLE: DOUBLES, FD.TYPE_INT32: INT32, FD.TYPE_INT64: INT64, FD.TYPE_BOOL: st.booleans(),
            FD.TYPE_STRING: TEXT}[field.type]


def _fields(part: str, unusual: bool) -> list[FieldDescriptor]:
    fields = getattr(OpenOrderProto(), part).DESCRIPTOR.fields
    return [f for f in fields if f.type != FD.TYPE_MESSAGE and (unusual or f.name not in LEFT_TO_IBAPI)]


def _fill(draw: st.DrawFn, message: Any, fields: list[FieldDescriptor]) -> None:
    """Some of ``fields`` set on ``message`` (now and then every one), with drawn values."""
    chosen = fields if not draw(st.integers(0, 5)) else draw(
        st.lists(st.sampled_from(fields), max_size=30, unique_by=lambda f: f.name))
    for field in chosen:
        setattr(message, field.name, draw(_scalar(field)))


@st.composite
def open_orders(draw: st.DrawFn, unusual: bool = True) -> bytes:
    m = OpenOrderProto()
    if draw(st.integers(0, 9)):
        m.orderId = draw(INT32)
    missing = draw(st.sampled_from(PARTS)) if unusual and not draw(st.integers(0, 9)) else ""
    for part in PARTS:
        if part != missing:
            sub = getattr(m, part)
            sub.SetInParent()
            _fill(draw, sub, _fields(part, unusual))
    if unusual and not missing and not draw(st.integers(0, 4)):
        kind = draw(st.sampled_from(["combo", "delta_neutral", "routing", "algo_params", "conditions", "tier",
                                     "allocations", "misc_options"]))
        if kind == "combo":
            m.contract.comboLegs.append(ComboLegProto(conId=1, ratio=1, action="BUY", exchange="SMART"))
        elif kind == "delta_neutral":
            m.contract.deltaNeutralContract.conId = 5
        elif kind == "routing":
            m.order.smartComboRoutingParams["NonGuaranteed"] = "1"
        elif kind == "algo_params":
            m.order.algoParams["maxPctVol"] = "0.1"
        elif kind == "conditions":
            m.order.conditions.add().type = 1
        elif kind == "tier":  # taken: a new SoftDollarTier, as ibapi's
            m.order.softDollarTier.name = draw(TEXT)
            if draw(st.booleans()):
                m.order.softDollarTier.displayName = draw(TEXT)
        elif kind == "allocations":
            m.orderState.orderAllocations.append(OrderAllocationProto(account="DU1", position="1"))
        else:
            m.order.orderMiscOptions["x"] = "y"  # ibapi does not read it: ignored, not declined
    return proto_frame(5, m)


def _numbers_ok(frame: bytes) -> bool:
    m = OpenOrderProto.FromString(frame[4:])
    for part in (m.order, m.orderState):
        for field, value in part.ListFields():
            if field.name in DECIMAL_FIELDS:
                try:
                    Decimal(value)
                except ArithmeticError:
                    return False
    return True


@settings(max_examples=500, deadline=None)
@given(frame=open_orders(), server_version=st.sampled_from(BINARY_VERSIONS))
def test_open_orders_give_ibapis_call_or_are_declined(frame: bytes, server_version: int) -> None:
    assert_equivalent(frame, server_version)


@settings(max_examples=300, deadline=None)
@given(frame=open_orders(unusual=False))
def test_ordinary_open_orders_are_taken(frame: bytes) -> None:
    took = assert_equivalent(frame, MAX_CLIENT_VER)
    assert took == _numbers_ok(frame)  # declined only for a quantity or margin ibapi cannot read


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=60))
def test_any_body_is_identical_or_declined(body: bytes) -> None:
    assert_equivalent((205).to_bytes(4, "big") + body, MAX_CLIENT_VER)


@pytest.mark.parametrize("server_version", [v for v in BINARY_VERSIONS if v >= 203])
def test_the_simulators_open_orders_are_taken_and_identical(server_version: int) -> None:
    seen = 0
    for order, contract in _sim_orders():
        frame = messages.open_order(server_version, order, contract).encode(server_version)[4:]
        if int.from_bytes(frame[:4], "big") != 205:
            continue  # still text at this version: the text fast path's
        seen += 1
        took, fast, ref, raised = run_both(frame, server_version)
        assert took and not raised and fast == ref and [c[0] for c in ref] == ["open_order"]
    assert seen or server_version < 203


def test_declined_parts_deliver_nothing() -> None:
    rec = Recording()
    fast = build_frame_fast_path(rec.wrapper, MAX_CLIENT_VER)
    assert fast is not None
    m = OpenOrderProto(orderId=3)
    m.contract.symbol, m.order.action, m.orderState.status = "AAPL", "BUY", "Submitted"
    m.order.conditions.add().type = 1
    assert not fast.decode(proto_frame(5, m))
    m.order.ClearField("conditions")
    m.ClearField("orderState")
    assert not fast.decode(proto_frame(5, m))
    m.orderState.status = "Submitted"
    m.order.totalQuantity = "1.2.3"
    assert not fast.decode(proto_frame(5, m))
    fast.flush()
    assert rec.calls == []


def test_unset_order_id_and_a_handler_error() -> None:
    m = OpenOrderProto(orderId=2**31 - 1)
    m.contract.symbol, m.order.action, m.orderState.status = "AAPL", "BUY", "Submitted"
    took, fast, ref, raised = run_both(proto_frame(5, m), MAX_CLIENT_VER)
    assert took and fast == ref and not raised
    rec = Recording()

    def boom(*_: Any) -> None:
        raise ValueError("handler failed")

    rec.orders.open_order = boom  # type: ignore[method-assign]
    fast_path = build_frame_fast_path(rec.wrapper, MAX_CLIENT_VER)
    assert fast_path is not None and fast_path.decode(proto_frame(5, m))
    assert rec.wrapper.callback_errors == 1


def test_objects_are_never_shared_between_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each delivery has its own lists and soft-dollar tier, also across a renewed message."""
    monkeypatch.setattr(fast_proto_decode, "RENEW_EVERY", 2)
    got: list[tuple[Any, ...]] = []
    rec = Recording()
    rec.orders.open_order = lambda *args: got.append(args)  # type: ignore[method-assign]
    fast = build_frame_fast_path(rec.wrapper, MAX_CLIENT_VER)
    assert fast is not None
    frames = []
    for i in range(1, 5):
        m = OpenOrderProto(orderId=i)
        m.contract.symbol, m.order.action, m.order.totalQuantity, m.orderState.status = "ES", "SELL", str(i), "Filled"
        frames.append(proto_frame(5, m))
        assert fast.decode(frames[-1])
    first, second = got[0], got[1]
    assert first[1].comboLegs is not second[1].comboLegs
    assert first[2].conditions is not second[2].conditions
    assert first[2].softDollarTier is not second[2].softDollarTier
    assert first[2].smartComboRoutingParams is not second[2].smartComboRoutingParams
    assert [int(args[2].totalQuantity) for args in got] == [1, 2, 3, 4]
    rec = Recording()
    fast = build_frame_fast_path(rec.wrapper, MAX_CLIENT_VER)
    assert fast is not None
    for frame in frames:
        assert fast.decode(frame)
    assert rec.calls == [call for frame in frames for call in ibapi_calls(frame, MAX_CLIENT_VER)[0]]


def test_quote_ticks_before_an_open_order_are_delivered_first() -> None:
    rec = Recording()
    fast = build_frame_fast_path(rec.wrapper, MAX_CLIENT_VER)
    assert fast is not None
    m = OpenOrderProto(orderId=4)
    m.contract.symbol, m.order.action, m.orderState.status = "AAPL", "BUY", "Submitted"
    assert fast.decode(proto_frame(1, TickPriceProto(reqId=3, tickType=1, price=99.5, size="200", attrMask=1)))
    assert fast.decode(proto_frame(5, m))
    assert rec.names()[0] == "tick_price" and rec.names()[-1] == "open_order"


def test_an_open_order_as_ibapi_encodes_one_is_taken() -> None:
    """ibapi's own protobuf encoding of the simulator's order (``createOrderProto``: every field it
    knows, an empty soft-dollar tier included), as a gateway would send it."""
    got: dict[str, Any] = {}

    class Keep(EWrapper):  # type: ignore[misc]
        def openOrder(self, oid: int, c: Any, o: Any, s: Any) -> None:  # noqa: N802
            got.update(oid=oid, c=c, o=o, s=s)

    for order, contract in _sim_orders():
        fields = payload(messages.open_order(200, order, contract).text)
        cut = fields.index(b"\0")
        Decoder(Keep(), 200).interpret(tuple(fields[cut + 1:].split(b"\0")[:-1]), int(fields[:cut]))
        m = OpenOrderProto(orderId=got["oid"], contract=createContractProto(got["c"], got["o"]),
                           order=createOrderProto(got["o"]), orderState=OrderStateProto(status=got["s"].status))
        took, fast, ref, raised = run_both(proto_frame(5, m), MAX_CLIENT_VER)
        assert took and not raised and fast == ref and ref
