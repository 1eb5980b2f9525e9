"""The protobuf fast path (tickPrice, tickSize, orderStatus, updateAccountValue from server version 201): exactly the
handler calls of ibapi's own decoding of the frame, or declined with nothing delivered; messages
generated with every optional field present or absent and extreme values; no memory kept per frame."""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ibapi.protobuf.AccountValue_pb2 import AccountValue as AccountValueProto
from ibapi.protobuf.OpenOrder_pb2 import OpenOrder as OpenOrderProto
from ibapi.protobuf.OrderStatus_pb2 import OrderStatus as OrderStatusProto
from ibapi.protobuf.TickGeneric_pb2 import TickGeneric as TickGenericProto
from ibapi.protobuf.TickPrice_pb2 import TickPrice as TickPriceProto
from ibapi.protobuf.TickSize_pb2 import TickSize as TickSizeProto
from ibapi.server_versions import MAX_CLIENT_VER

from platform_adapter.core import fast_proto_decode
from platform_adapter.core.fast_decode import build_frame_fast_path
from platform_adapter.core.wrapper import Wrapper
from platform_adapter.sim import messages
from platform_adapter.sim.protocol import payload
from tests.handlers import Recording, ibapi_calls
from tests.unit.core.test_fast_decode_binary import BINARY_VERSIONS, assert_equivalent, run_both
from tests.unit.core.test_fast_order_decode import _sim_orders
from tests.wire import binary_id, proto_frame

INT32 = st.one_of(st.sampled_from([0, 1, -1, 2**31 - 1, -(2**31), 87]), st.integers(-(2**31), 2**31 - 1))


INT64 = st.one_of(st.sampled_from([0, -1, 2**63 - 1, -(2**63), 2**31]), st.integers(-(2**63), 2**63 - 1))


DOUBLES = st.one_of(st.sampled_from([0.0, -0.0, -1.0, 1.7976931348623157e308, float("inf"), float("-inf"),
                                     float("nan"), 5e-324]), st.floats())


TICK_TYPES = st.one_of(st.sampled_from([0, 1, 2, 3, 4, 5, 8, 9, 66, 67, 68, 69, 70, 71, 72, 87, 2**31 - 1]), INT32)


SIZE_TEXT = st.one_of(
    st.sampled_from(["0", "100", "1.5", "2147483647", "9223372036854775807", "1.7976931348623157E308",
                     "-9223372036854775808", "", "abc", "NaN", "-Infinity", "1e400", " 7 ", "1_000", "-0",
                     "\u0661\u0662", "0.00000001", "1.2.3"]),
    st.decimals(allow_nan=True, allow_infinity=True).map(str), st.text(max_size=6))


TEXT = st.one_of(st.sampled_from(["", "Submitted", "Filled", "PreSubmitted", "locate", "caf\u00e9"]),
                 st.text(max_size=8))


def _message(cls: Any, draw: st.DrawFn, fields: dict[str, st.SearchStrategy[Any]]) -> Any:
    """A message whose every optional field is present or absent (drawn), with drawn values."""
    message = cls()
    for name, values in fields.items():
        if draw(st.booleans()):
            setattr(message, name, draw(values))
    return message


@st.composite
def proto_frames(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["price", "price", "size", "status", "account"]))
    if kind == "account":
        return proto_frame(6, _message(AccountValueProto, draw, {"key": TEXT, "value": TEXT, "currency": TEXT,
                                                                 "accountName": TEXT}))
    if kind == "price":
        return proto_frame(1, _message(TickPriceProto, draw, {
            "reqId": INT32, "tickType": TICK_TYPES, "price": DOUBLES, "size": SIZE_TEXT, "attrMask": INT32}))
    if kind == "size":
        return proto_frame(2, _message(TickSizeProto, draw, {"reqId": INT32, "tickType": TICK_TYPES,
                                                             "size": SIZE_TEXT}))
    return proto_frame(3, _message(OrderStatusProto, draw, {
        "orderId": INT32, "status": TEXT, "filled": SIZE_TEXT, "remaining": SIZE_TEXT, "avgFillPrice": DOUBLES,
        "permId": INT64, "parentId": INT32, "lastFillPrice": DOUBLES, "clientId": INT32, "whyHeld": TEXT,
        "mktCapPrice": DOUBLES}))


def _size_ok(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@settings(max_examples=1500, deadline=None)
@given(frame=proto_frames(), server_version=st.sampled_from(BINARY_VERSIONS))
def test_protobuf_messages_give_ibapis_calls(frame: bytes, server_version: int) -> None:
    took = assert_equivalent(frame, server_version)
    wire = int.from_bytes(frame[:4], "big")
    message = {201: TickPriceProto, 202: TickSizeProto, 203: OrderStatusProto,
               206: AccountValueProto}[wire].FromString(frame[4:])
    sizes = [value for field, value in message.ListFields()
             if field.name in ("size", "filled", "remaining")]
    assert took == all(_size_ok(s) for s in sizes), (message, took)  # declined only for a size ibapi rejects


@settings(max_examples=600, deadline=None)
@given(wire=st.sampled_from([201, 202, 203, 206]), body=st.binary(max_size=40))
def test_any_protobuf_body_is_identical_or_declined(wire: int, body: bytes) -> None:
    assert_equivalent(wire.to_bytes(4, "big") + body, MAX_CLIENT_VER)


def test_truncated_protobuf_bodies_are_declined_or_identical() -> None:
    full = proto_frame(3, OrderStatusProto(orderId=7, status="Submitted", filled="0", remaining="100",
                                           avgFillPrice=0.0, permId=2**40, parentId=0, lastFillPrice=0.0,
                                           clientId=3, whyHeld="", mktCapPrice=0.0))
    declined = 0
    for cut in range(4, len(full)):
        declined += not assert_equivalent(full[:cut], MAX_CLIENT_VER)
    assert declined > 0


@pytest.mark.parametrize("tick_type", [1, 2, 4, 66, 67, 68, 9, 14, 87])
@pytest.mark.parametrize("mask", [None, 0, 1, 2, 3, 4, 7])
def test_tick_price_companion_size_and_attrib(tick_type: int, mask: int | None) -> None:
    message = TickPriceProto(reqId=17, tickType=tick_type, price=101.25, size="300")
    if mask is not None:
        message.attrMask = mask
    took, fast_calls, ref_calls, raised = run_both(proto_frame(1, message), MAX_CLIENT_VER)
    assert took and not raised and fast_calls == ref_calls
    expect_size = tick_type in (1, 2, 4, 66, 67, 68)
    assert [c[0] for c in fast_calls] == ["tick_price"] + (["tick_size"] if expect_size else [])


def test_absent_fields_are_ibapis_unset_values() -> None:
    for frame in (proto_frame(1, TickPriceProto()), proto_frame(2, TickSizeProto()),
                  proto_frame(3, OrderStatusProto())):
        took, fast_calls, ref_calls, raised = run_both(frame, MAX_CLIENT_VER)
        assert took and not raised and fast_calls == ref_calls and fast_calls


@pytest.mark.parametrize("server_version", BINARY_VERSIONS)
def test_every_version_takes_protobuf_ticks_and_order_status(server_version: int) -> None:
    frames = [proto_frame(1, TickPriceProto(reqId=3, tickType=1, price=99.5, size="200", attrMask=1)),
              proto_frame(2, TickSizeProto(reqId=3, tickType=0, size="200")),
              proto_frame(3, OrderStatusProto(orderId=8, status="Filled", filled="1.5", remaining="0",
                                              avgFillPrice=190.25, permId=1351823001, parentId=0,
                                              lastFillPrice=190.25, clientId=3, whyHeld="", mktCapPrice=0.0))]
    for frame in frames:
        took, fast_calls, ref_calls, raised = run_both(frame, server_version)
        assert took and not raised and fast_calls == ref_calls and ref_calls


def test_other_frames_are_declined_untouched() -> None:
    rec = Recording()
    fast = build_frame_fast_path(rec.wrapper, MAX_CLIENT_VER)
    assert fast is not None
    order, contract = _sim_orders()[0]
    for frame in (proto_frame(5, OpenOrderProto(orderId=1)),  # openOrder without its parts: ibapi decodes it
                  proto_frame(45, TickGenericProto(reqId=1, tickType=49, value=1.5)),
                  (999).to_bytes(4, "big") + b"\x08\x01",  # an unknown wire id
                  (58).to_bytes(4, "big") + b"1\x001\x001\x00",  # a text message with no fast path
                  b"", b"\x00\x00", b"\x00\x00\x00\x01",  # shorter than an id; an id and no body
                  binary_id(payload(messages.open_order(MAX_CLIENT_VER, order, contract).text))[:-40]):  # short
        assert not fast.decode(frame), frame
    fast.flush()
    assert rec.calls == []


@pytest.mark.parametrize("method, frame", [
    ("order_status", proto_frame(3, OrderStatusProto(orderId=1, status="Submitted"))),
    ("quote_ticks", proto_frame(1, TickPriceProto(reqId=1, tickType=1, price=1.5))),
    ("quote_ticks", proto_frame(2, TickSizeProto(reqId=1, tickType=0, size="3"))),
    ("update_account_value", proto_frame(6, AccountValueProto(key="NetLiquidation", value="1", currency="USD",
                                                              accountName="DU1"))),
])
def test_handler_errors_are_counted_not_taken_as_declines(method: str, frame: bytes) -> None:
    rec = Recording()

    def boom(*_: Any) -> None:
        raise ValueError("handler failed")

    owner = {"order_status": rec.orders, "update_account_value": rec.account}.get(method, rec.market_data)
    setattr(owner, method, boom)
    fast = build_frame_fast_path(rec.wrapper, MAX_CLIENT_VER)
    assert fast is not None
    assert fast.decode(frame)
    fast.flush()
    assert rec.wrapper.callback_errors == 1


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="reads the resident set from /proc")
def test_decoding_keeps_no_memory_per_frame() -> None:
    """A protobuf message parsed into again and again keeps every parse's strings in its arena
    until the message itself is freed (upb: 8 to 30 bytes per frame here); the fast path
    replaces its messages, so 600,000 frames leave the resident set as it was."""
    fast = build_frame_fast_path(Wrapper(), MAX_CLIENT_VER)  # the interfaces' null handlers
    assert fast is not None
    frames = [proto_frame(1, TickPriceProto(reqId=3, tickType=1, price=99.5, size="200", attrMask=1)),
              proto_frame(2, TickSizeProto(reqId=3, tickType=0, size="200")),
              proto_frame(3, OrderStatusProto(orderId=8, status="Submitted", filled="0", remaining="100",
                                              permId=1351823001, clientId=3, whyHeld="locate"))]
    decode, flush = fast.decode, fast.flush

    def decode_all(rounds: int) -> None:
        for _ in range(rounds):
            for frame in frames:
                assert decode(frame)
        flush()

    decode_all(20_000)  # caches and the allocator's pools warmed up
    before = _rss_bytes()
    decode_all(200_000)
    assert _rss_bytes() - before < 2 * 2**20


def test_frames_after_a_renewed_message_give_ibapis_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reused message is replaced every ``RENEW_EVERY`` parses; the frames parsed into the
    new one decode exactly as before (here every second frame of a kind meets a new message)."""
    monkeypatch.setattr(fast_proto_decode, "RENEW_EVERY", 2)
    frames = []
    for i in range(1, 6):
        frames += [proto_frame(1, TickPriceProto(reqId=i, tickType=1, price=1.5 * i, size=str(i), attrMask=i % 8)),
                   proto_frame(2, TickSizeProto(reqId=i, tickType=0, size=str(10 * i))),
                   proto_frame(3, OrderStatusProto(orderId=i, status="Submitted", filled="0", remaining=str(i),
                                                   whyHeld="" if i % 2 else "locate"))]
    rec = Recording()
    fast = build_frame_fast_path(rec.wrapper, MAX_CLIENT_VER)
    assert fast is not None
    for frame in frames:
        assert fast.decode(frame)
    fast.flush()
    expected = [call for frame in frames for call in ibapi_calls(frame, MAX_CLIENT_VER)[0]]
    assert rec.calls == expected and len(expected) == 20
