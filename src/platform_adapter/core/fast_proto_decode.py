"""A fast path for the hot protobuf messages (server version 201 on): tickPrice (wire id 201),
tickSize (202) and orderStatus (203).

ibapi's ``Decoder.processProtoBuf`` parses these with the generated classes (``TickPrice_pb2`` etc.,
C-fast) and then converts field by field in Python: 2-3.5 us per message, about twice what this
path takes (``scripts/bench_protobuf_decode.py``). ``build_proto_fast_path(wrapper)`` returns
``{wire id: decode(frame)}``: each parses the frame's body into a reused message and calls the
same ``EWrapper`` methods with arguments equal to ibapi's: a field that is absent is ibapi's
"unset" value (``NO_VALID_ID`` for a request id, ``UNSET_INTEGER``/``UNSET_DOUBLE``/``UNSET_LONG``/
``UNSET_DECIMAL``, ``""``), a size is ``Decimal(text)``, the ``TickAttrib`` flags come from the
attribute mask (an absent mask is ``UNSET_INTEGER``, all flags set, as in ibapi), and a tickPrice
of a bid, ask or last is followed by its tickSize. Everything is read before the first wrapper
call; a body that does not parse or a size that is not a number returns ``False`` with the wrapper
untouched, and ibapi's decoder (the decoder of record) handles the frame.

ibapi also hands the parsed message to ``tickPriceProtoBuf``/``tickSizeProtoBuf``/
``orderStatusProtoBuf`` first; EWrapper's own versions only log (stdlib logging at INFO), so they
are called only when the wrapper's class overrides them (then with a message of its own).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ibapi.common import TickAttrib
from ibapi.const import NO_VALID_ID, UNSET_DECIMAL, UNSET_DOUBLE, UNSET_INTEGER, UNSET_LONG
from ibapi.protobuf.OrderStatus_pb2 import OrderStatus as OrderStatusProto
from ibapi.protobuf.TickPrice_pb2 import TickPrice as TickPriceProto
from ibapi.protobuf.TickSize_pb2 import TickSize as TickSizeProto
from ibapi.ticktype import TickTypeEnum
from ibapi.wrapper import EWrapper

ProtoDecoder = Callable[[bytes], bool]

WIRE_TICK_PRICE, WIRE_TICK_SIZE, WIRE_ORDER_STATUS = 201, 202, 203  # ibapi's message id + 200
# Decoder.processTickPriceMsgProtoBuf: the size in a tickPrice is reported as this size tick type
SIZE_TICK_FOR = {
    TickTypeEnum.BID: TickTypeEnum.BID_SIZE,
    TickTypeEnum.ASK: TickTypeEnum.ASK_SIZE,
    TickTypeEnum.LAST: TickTypeEnum.LAST_SIZE,
    TickTypeEnum.DELAYED_BID: TickTypeEnum.DELAYED_BID_SIZE,
    TickTypeEnum.DELAYED_ASK: TickTypeEnum.DELAYED_ASK_SIZE,
    TickTypeEnum.DELAYED_LAST: TickTypeEnum.DELAYED_LAST_SIZE,
}
_NOT_SET = TickTypeEnum.NOT_SET
_CACHE_MAX = 4096
# a body that does not parse (google.protobuf.message.DecodeError) or a size that is not a number
# (decimal.InvalidOperation): declined, for ibapi's decoder to report
_DECLINE = (Exception,)


def _decimal() -> Callable[[str], Decimal]:
    """``Decimal(text)`` as ibapi's protobuf decoder converts a size (no "unset" spellings: those
    apply to the text protocol only), memoised with a bound."""
    values: dict[str, Decimal] = {}
    get = values.get

    def dec(text: str) -> Decimal:
        value = get(text)
        if value is None:
            value = Decimal(text)
            if len(values) >= _CACHE_MAX:
                values.clear()
            values[text] = value
        return value

    return dec


def _raw_callback(wrapper: Any, name: str) -> Callable[[Any], None] | None:
    """``wrapper.<name>`` when its class overrides EWrapper's logging-only default, else None."""
    if getattr(type(wrapper), name, None) is getattr(EWrapper, name):
        return None
    return getattr(wrapper, name)  # type: ignore[no-any-return]


def build_proto_fast_path(wrapper: Any) -> dict[int, ProtoDecoder]:
    """``{wire id: decode(frame)}``; ``frame`` is the whole frame (4-byte id, then the body)."""
    dec = _decimal()
    new = object.__new__
    size_tick_for = SIZE_TICK_FOR.get
    tick_price_cb = wrapper.tickPrice
    tick_size_cb = wrapper.tickSize
    order_status_cb = wrapper.orderStatus
    raw_price = _raw_callback(wrapper, "tickPriceProtoBuf")
    raw_size = _raw_callback(wrapper, "tickSizeProtoBuf")
    raw_status = _raw_callback(wrapper, "orderStatusProtoBuf")
    # one message object per kind, parsed into again and again (ParseFromString clears it first);
    # a fresh one whenever a raw callback may keep it
    price_msg, size_msg, status_msg = TickPriceProto(), TickSizeProto(), OrderStatusProto()
    installed = getattr(wrapper, "installed_quote_sink", None)

    def tick_price(frame: bytes) -> bool:
        m = price_msg if raw_price is None else TickPriceProto()
        try:
            m.ParseFromString(frame[4:])
            has = m.HasField
            req_id = m.reqId if has("reqId") else NO_VALID_ID
            tick_type = m.tickType if has("tickType") else UNSET_INTEGER
            price = m.price if has("price") else UNSET_DOUBLE
            size = dec(m.size) if has("size") else UNSET_DECIMAL
            mask = m.attrMask if has("attrMask") else UNSET_INTEGER
        except _DECLINE:
            return False
        if raw_price is not None:
            raw_price(m)
        if installed is not None:
            sink = wrapper.quote_sink
            if sink is not None and sink.tick_price(req_id, tick_type, price, size):
                return True
            if installed.open:
                installed.commit()
        attrib = new(TickAttrib)
        attrib.canAutoExecute = mask & 1 != 0
        attrib.pastLimit = mask & 2 != 0
        attrib.preOpen = mask & 4 != 0
        tick_price_cb(req_id, tick_type, price, attrib)
        size_type = size_tick_for(tick_type)
        if size_type is not None:
            tick_size_cb(req_id, size_type, size)
        return True

    def tick_size(frame: bytes) -> bool:
        m = size_msg if raw_size is None else TickSizeProto()
        try:
            m.ParseFromString(frame[4:])
            has = m.HasField
            req_id = m.reqId if has("reqId") else NO_VALID_ID
            tick_type = m.tickType if has("tickType") else UNSET_INTEGER
            size = dec(m.size) if has("size") else UNSET_DECIMAL
        except _DECLINE:
            return False
        if raw_size is not None:
            raw_size(m)
        if tick_type != _NOT_SET:
            if installed is not None:
                sink = wrapper.quote_sink
                if sink is not None and sink.tick_size(req_id, tick_type, size):
                    return True
                if installed.open:
                    installed.commit()
            tick_size_cb(req_id, tick_type, size)
        return True

    def order_status(frame: bytes) -> bool:
        m = status_msg if raw_status is None else OrderStatusProto()
        try:
            m.ParseFromString(frame[4:])
            has = m.HasField
            args = (
                m.orderId if has("orderId") else UNSET_INTEGER,
                m.status if has("status") else "",
                dec(m.filled) if has("filled") else UNSET_DECIMAL,
                dec(m.remaining) if has("remaining") else UNSET_DECIMAL,
                m.avgFillPrice if has("avgFillPrice") else UNSET_DOUBLE,
                m.permId if has("permId") else UNSET_LONG,
                m.parentId if has("parentId") else UNSET_INTEGER,
                m.lastFillPrice if has("lastFillPrice") else UNSET_DOUBLE,
                m.clientId if has("clientId") else UNSET_INTEGER,
                m.whyHeld if has("whyHeld") else "",
                m.mktCapPrice if has("mktCapPrice") else UNSET_DOUBLE,
            )
        except _DECLINE:
            return False
        if installed is not None and installed.open:
            installed.commit()
        if raw_status is not None:
            raw_status(m)
        order_status_cb(*args)
        return True

    return {WIRE_TICK_PRICE: tick_price, WIRE_TICK_SIZE: tick_size, WIRE_ORDER_STATUS: order_status}
