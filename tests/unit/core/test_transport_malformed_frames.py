"""Malformed frames at server version 226 (truncated or unparseable protobuf bodies, unknown message
ids, frames too short for an id) are logged with the frame's id and skipped: the dispatcher thread
lives on, decodes the next frame, and an order's state is never half-applied."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from ibapi.decoder import Decoder
from ibapi.protobuf.Contract_pb2 import Contract as ContractProto
from ibapi.protobuf.OpenOrder_pb2 import OpenOrder as OpenOrderProto
from ibapi.protobuf.Order_pb2 import Order as OrderProto
from ibapi.protobuf.OrderStatus_pb2 import OrderStatus as OrderStatusProto
from ibapi.server_versions import MAX_CLIENT_VER
from loguru import logger

from platform_adapter.core.fast_decode import build_frame_fast_path
from platform_adapter.core.transport import Dispatcher, frame_label
from platform_adapter.models.order import OrderState
from tests.conftest import wait_for
from tests.unit.adapters.test_order_execution import Harness, ack, placed
from tests.wire import proto_frame


@pytest.fixture
def logged() -> Iterator[list[str]]:
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="WARNING", format="{level} {message}")
    yield lines
    logger.remove(sink)


def _dispatcher_at(pa: Any, version: int) -> Dispatcher:
    """The dispatcher as ConnectionManager builds it for a connection at ``version``."""
    cm = pa.connection
    cm.server_version = version
    cm._decoder = Decoder(pa.wrapper, version)
    fast = build_frame_fast_path(pa.wrapper, version)
    assert fast is not None
    return Dispatcher(cm._handle_frame, fast.decode, fast.flush, 0, lambda frame: frame_label(frame, version))


def _status(order_id: int, status: str, filled: str, remaining: str) -> OrderStatusProto:
    return OrderStatusProto(orderId=order_id, status=status, filled=filled, remaining=remaining, avgFillPrice=100.0,
                            permId=77, parentId=0, lastFillPrice=100.0, clientId=1, whyHeld="", mktCapPrice=0.0)


def test_malformed_frames_are_logged_with_their_id_and_skipped(harness: Harness, logged: list[str]) -> None:
    pa, _ = harness
    order_id, ref = placed(pa)
    ack(pa, order_id, ref)
    before = pa.orders.get_order(order_id)
    assert before.status.status is OrderState.SUBMITTED
    filled = proto_frame(3, _status(order_id, "Filled", "10", "0"))
    open_order = OpenOrderProto(orderId=order_id, contract=ContractProto(conId=265598, symbol="AAPL", secType="STK"),
                                order=OrderProto(orderRef=ref, action="BUY", totalQuantity="10", orderType="LMT"))
    bad = [
        filled[:-3],  # truncated inside a field: does not parse
        (203).to_bytes(4, "big") + b"\xff\xff\xff\xff",  # not protobuf at all
        (205).to_bytes(4, "big") + b"\x12\x40\x08",  # an openOrder cut inside its contract
        proto_frame(5, open_order),  # parses, but without its order state: ibapi applies nothing
        (999).to_bytes(4, "big") + b"\x08\x01",  # a wire id ibapi does not know
        (150).to_bytes(4, "big") + b"1\x002\x00",  # a text message id ibapi does not know
        (77).to_bytes(4, "big") + b"1\x002\x00",  # a text message ibapi fails to decode
        b"\x00\x00",  # shorter than a message id
    ]
    dispatcher = _dispatcher_at(pa, MAX_CLIENT_VER)
    dispatcher.start()
    try:
        dispatcher.deliver(bad)
        dispatcher.deliver([proto_frame(3, _status(order_id, "Submitted", "4", "6"))])  # a good frame after them
        wait_for(lambda: pa.orders.get_order(order_id).status.filled == Decimal(4), 5)
        assert dispatcher.is_alive()
    finally:
        dispatcher.stop()
        dispatcher.join(5)
    assert dispatcher.messages == len(bad) + 1
    order = pa.orders.get_order(order_id)
    assert order.status.status is OrderState.SUBMITTED and order.status.remaining == Decimal(6)
    text = "\n".join(logged)
    for label in (f"failed to decode protobuf message 3 (wire id 203), {len(filled) - 3} bytes",
                  "failed to decode protobuf message 3 (wire id 203), 8 bytes",
                  "failed to decode protobuf message 5 (wire id 205), 7 bytes",
                  "skipped protobuf message 799 (wire id 999), 6 bytes",
                  "skipped text message 150, 8 bytes",
                  "failed to decode text message 77, 8 bytes",
                  "skipped a frame of 2 bytes (shorter than its 4-byte message id)"):
        assert label in text, (label, text)


def test_text_frames_with_an_unknown_id_or_no_id_are_logged(harness: Harness, logged: list[str]) -> None:
    pa, _ = harness
    dispatcher = _dispatcher_at(pa, 176)
    dispatcher.process([b"150\x001\x00", b"x\x001\x00", b"no separator", b"9\x001\x0011\x00"])
    assert dispatcher.messages == 4
    assert pa.connection.next_valid_id == 11  # decoded after the bad ones
    text = "\n".join(logged)
    assert "skipped text message '150', 6 bytes" in text
    assert "failed to decode text message 'x', 4 bytes" in text
    assert "failed to decode text message 'no separator', 12 bytes" in text


def test_frame_labels() -> None:
    assert frame_label(b"\x00\x00\x00\xcb\x08\x01", 226) == "protobuf message 3 (wire id 203), 6 bytes"
    assert frame_label(b"\x00\x00\x00\x01abc\x00", 201) == "text message 1, 8 bytes"
    assert frame_label(b"\x00", 201) == "a frame of 1 bytes (shorter than its 4-byte message id)"
    assert frame_label(b"5\x00190\x00", 176) == "text message '5', 6 bytes"
