"""A fast path for the hot market-data and order messages, at every server version.

``build_frame_fast_path(wrapper, server_version)`` returns ``fast(frame) -> bool``, which the
transport's dispatcher calls on each frame before ``ConnectionManager._handle_frame``;
``build_fast_path`` wraps it with an ``(msg_id, frame)`` signature (for the equivalence tests).
From server version 201 each frame starts with a 4-byte message id: a text message (id <= 200,
its fields without the id field; their layout is that of version 200) is decoded by the same text
decoders, a protobuf tickPrice, tickSize or orderStatus (wire id 201, 202, 203) by
``core/fast_proto_decode.py``; any other frame is declined.

The text decoders take tickPrice (1), tickSize (2), tickGeneric (45),
tickString (46), realtimeBar (50) and tick-by-tick (99) straight from the frame (and, through
``fast_order_decode``, openOrder (5) and orderStatus (3)) and calls the
same ``EWrapper`` methods with the same arguments as ibapi's ``Decoder`` (same types, values,
``TickAttrib``/``TickAttribLast``/``TickAttribBidAsk`` fields, the tickPrice -> tickSize
companion call, ``UNSET_DECIMAL`` for IB's "unset" sizes). Every conversion is the expression
ibapi itself uses (``int(s or 0)``, ``float(s or 0)``, ``Decimal(s.decode())``), so edge cases
behave the same. All fields are parsed before the first wrapper call; anything unusual (another
field count, an unknown tick-by-tick type, a parse error) returns ``False`` without calling the
wrapper, and ibapi's ``Decoder`` (the decoder of record) handles the frame.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ibapi.common import TickAttrib, TickAttribBidAsk, TickAttribLast
from ibapi.const import UNSET_DECIMAL
from ibapi.server_versions import (
    MIN_CLIENT_VER,
    MIN_SERVER_VER_ENCODE_MSG_ASCII7,
    MIN_SERVER_VER_PAST_LIMIT,
    MIN_SERVER_VER_PRE_OPEN_BID_ASK,
    MIN_SERVER_VER_PROTOBUF,
)
from ibapi.ticktype import TickTypeEnum

from platform_adapter.core.fast_order_decode import PARSE_ERRORS, UNSET_SIZE_TEXT, build_order_fast_path
from platform_adapter.core.fast_proto_decode import SIZE_TICK_FOR, build_proto_fast_path

FastPath = Callable[[int, bytes], bool]
FrameFastPath = Callable[[bytes], bool]

TICK_PRICE, TICK_SIZE, TICK_GENERIC, TICK_STRING, REAL_TIME_BARS, TICK_BY_TICK = 1, 2, 45, 46, 50, 99
ORDER_STATUS, OPEN_ORDER = 3, 5
FAST_MESSAGES = frozenset({TICK_PRICE, TICK_SIZE, TICK_GENERIC, TICK_STRING, REAL_TIME_BARS, TICK_BY_TICK,
                           ORDER_STATUS, OPEN_ORDER})

_UNSET_SIZES = tuple(text.encode() for text in UNSET_SIZE_TEXT)  # decode(Decimal, ...) -> UNSET_DECIMAL
_NOT_SET = TickTypeEnum.NOT_SET
_CACHE_MAX = 4096


def _decimal_decoder() -> tuple[Callable[[bytes], Decimal], Callable[[bytes], Decimal | None]]:
    """``bytes -> Decimal`` exactly as ibapi's ``decode(Decimal, ...)``, memoised (Decimals are
    immutable, and sizes repeat a lot in a quote stream; the memo is bounded)."""
    values: dict[bytes, Decimal] = dict.fromkeys(_UNSET_SIZES, UNSET_DECIMAL)
    get = values.get

    def dec(raw: bytes) -> Decimal:
        value = get(raw)
        if value is None:
            value = Decimal(raw.decode())
            if len(values) >= _CACHE_MAX:
                values.clear()
                values.update(dict.fromkeys(_UNSET_SIZES, UNSET_DECIMAL))
            values[raw] = value
        return value

    return dec, values.get


def build_frame_fast_path(wrapper: Any, server_version: int) -> FrameFastPath | None:
    """``fast(frame) -> bool`` for ``server_version`` (the dispatcher calls it before the
    decoder), or ``None`` below ibapi's minimum version (nothing to decode there)."""
    if server_version < MIN_CLIENT_VER:
        return None
    text_fast = _text_fast_path(wrapper, server_version)
    if server_version < MIN_SERVER_VER_PROTOBUF:
        return text_fast
    return _binary_id_fast_path(wrapper, text_fast)


def _binary_id_fast_path(wrapper: Any, text_fast: FrameFastPath) -> FrameFastPath:
    """Frames with a 4-byte message id (server version 201 on): text messages go to the text
    decoders with their id field put back in front, protobuf ones to ``fast_proto_decode``."""
    text_ids = {msg_id.to_bytes(4, "big"): b"%d\0" % msg_id for msg_id in FAST_MESSAGES}
    proto = {wire.to_bytes(4, "big"): decode for wire, decode in build_proto_fast_path(wrapper).items()}
    text_get = text_ids.get
    proto_get = proto.get

    def fast_binary(frame: bytes) -> bool:
        key = frame[:4]
        field = text_get(key)
        if field is not None:
            return text_fast(field + frame[4:])
        decode = proto_get(key)
        return decode is not None and decode(frame)

    return fast_binary


def _text_fast_path(wrapper: Any, server_version: int) -> FrameFastPath:
    """The text decoders: ``fast(frame)`` for a frame whose first field is the message id."""
    dec, dec_get = _decimal_decoder()
    new = object.__new__
    size_tick_for = SIZE_TICK_FOR.get  # the size tick type of a tickPrice
    tick_price_cb = wrapper.tickPrice
    tick_size_cb = wrapper.tickSize
    tick_string_cb = wrapper.tickString
    tick_generic_cb = wrapper.tickGeneric
    realtime_bar_cb = wrapper.realtimeBar
    all_last_cb = wrapper.tickByTickAllLast
    bid_ask_cb = wrapper.tickByTickBidAsk
    mid_point_cb = wrapper.tickByTickMidPoint
    ascii7 = server_version >= MIN_SERVER_VER_ENCODE_MSG_ASCII7

    def text(raw: bytes) -> str:
        # Decoder.interpretWithSignature's decoding of each field
        try:
            return raw.decode("unicode-escape" if ascii7 else "UTF-8")
        except UnicodeDecodeError:
            return raw.decode("latin-1")

    def typed_tick(callback: Callable[[int, int, Any], None], convert: Callable[[str], Any]) -> Callable[[bytes], bool]:
        """tickGeneric (``float`` value) and tickString (``str`` value): reqId, tick type, value."""
        def decode(frame: bytes) -> bool:
            f = frame.split(b"\0")
            if len(f) != 6:
                return False
            try:
                req_id = int(text(f[2]))
                tick_type = int(text(f[3]))
                value = convert(text(f[4]))
            except PARSE_ERRORS:
                return False
            callback(req_id, tick_type, value)
            return True

        return decode

    tick_generic = typed_tick(tick_generic_cb, float)
    tick_string = typed_tick(tick_string_cb, str)

    def realtime_bar(frame: bytes) -> bool:
        f = frame.split(b"\0")
        if len(f) != 12:
            return False
        try:
            int(f[1] or 0)
            args = (int(f[2] or 0), int(f[3] or 0), float(f[4] or 0), float(f[5] or 0), float(f[6] or 0),
                    float(f[7] or 0), dec(f[8]), dec(f[9]), int(f[10] or 0))
        except PARSE_ERRORS:
            return False
        realtime_bar_cb(*args)
        return True

    def tick_by_tick(frame: bytes) -> bool:
        f = frame.split(b"\0")
        n = len(f)
        try:
            kind = int(f[2] or 0) if n > 3 else 0
            if kind == 3 and n == 10:
                req_id, stamp = int(f[1] or 0), int(f[3] or 0)
                bid, ask = float(f[4] or 0), float(f[5] or 0)
                bid_size, ask_size = dec(f[6]), dec(f[7])
                mask = int(f[8] or 0)
            elif (kind == 1 or kind == 2) and n == 10:
                req_id, stamp = int(f[1] or 0), int(f[3] or 0)
                price, size, mask = float(f[4] or 0), dec(f[5]), int(f[6] or 0)
                exchange = f[7].decode("UTF-8", errors="backslashreplace")
                conditions = f[8].decode("UTF-8", errors="backslashreplace")
            elif kind == 4 and n == 6:
                req_id, stamp, mid = int(f[1] or 0), int(f[3] or 0), float(f[4] or 0)
            else:
                return False  # type 0 (none), an unknown type or another field count
        except PARSE_ERRORS:
            return False
        if kind == 3:
            bid_ask = new(TickAttribBidAsk)
            bid_ask.bidPastLow = mask & 1 != 0
            bid_ask.askPastHigh = mask & 2 != 0
            bid_ask_cb(req_id, stamp, bid, ask, bid_size, ask_size, bid_ask)
        elif kind == 4:
            mid_point_cb(req_id, stamp, mid)
        else:
            last = new(TickAttribLast)
            last.pastLimit = mask & 1 != 0
            last.unreported = mask & 2 != 0
            all_last_cb(req_id, kind, stamp, price, size, last, exchange, conditions)
        return True

    handlers: dict[bytes, Callable[[bytes], bool]] = {
        b"45": tick_generic, b"46": tick_string, b"50": realtime_bar, b"99": tick_by_tick,
    }
    get = handlers.get
    # the quote sink (adapters/quote_sink.py): offered each tickPrice/tickSize while the wrapper
    # reports it active; its open segment is committed before anything else reaches the wrapper
    installed = getattr(wrapper, "installed_quote_sink", None)
    orders = build_order_fast_path(wrapper, server_version)
    open_order, order_status = orders if orders is not None else (None, None)
    past_limit = server_version >= MIN_SERVER_VER_PAST_LIMIT
    pre_open = server_version >= MIN_SERVER_VER_PRE_OPEN_BID_ASK

    def fast_frame(frame: bytes) -> bool:
        # the message id is read from the frame's first bytes: "1\0", "2\0", "45\0", ...; any other
        # spelling ("01", " 1") is declined and left to ibapi's int() parsing
        if len(frame) < 3:
            return False
        if frame[1] == 0:
            first = frame[0]
            if first == 49:  # tickPrice, decoded inline (the hottest message, no extra call)
                f = frame.split(b"\0")
                if len(f) != 8:
                    return False
                try:
                    if f[1] != b"6":  # the usual version needs no check; any other must parse
                        int(f[1] or 0)
                    req_id = int(f[2] or 0)
                    tick_type = int(f[3] or 0)
                    price = float(f[4] or 0)
                    size = dec_get(f[5])
                    if size is None:
                        size = dec(f[5])
                    mask = int(f[6] or 0)
                except PARSE_ERRORS:
                    return False
                if installed is not None:
                    sink = wrapper.quote_sink
                    if sink is not None and sink.tick_price(req_id, tick_type, price, size):
                        return True
                    if installed.open:
                        installed.commit()
                attrib = new(TickAttrib)
                if past_limit:
                    attrib.canAutoExecute = mask & 1 != 0
                    attrib.pastLimit = mask & 2 != 0
                    attrib.preOpen = pre_open and mask & 4 != 0
                else:
                    attrib.canAutoExecute = mask == 1
                    attrib.pastLimit = attrib.preOpen = False
                tick_price_cb(req_id, tick_type, price, attrib)
                size_type = size_tick_for(tick_type)
                if size_type is not None:
                    tick_size_cb(req_id, size_type, size)
                return True
            if first == 50:  # tickSize
                f = frame.split(b"\0")
                if len(f) != 6:
                    return False
                try:
                    if f[1] != b"6":
                        int(f[1] or 0)
                    req_id = int(f[2] or 0)
                    tick_type = int(f[3] or 0)
                    size = dec_get(f[4])
                    if size is None:
                        size = dec(f[4])
                except PARSE_ERRORS:
                    return False
                if tick_type != _NOT_SET:
                    if installed is not None:
                        sink = wrapper.quote_sink
                        if sink is not None and sink.tick_size(req_id, tick_type, size):
                            return True
                        if installed.open:
                            installed.commit()
                    tick_size_cb(req_id, tick_type, size)
                return True
            decoder = open_order if first == 53 else order_status if first == 51 else None
            if decoder is None:
                return False
            if installed is not None and installed.open:
                installed.commit()
            return decoder(frame)
        if frame[2] == 0:
            handler = get(frame[:2])
            if handler is None:
                return False
            if installed is not None and installed.open:
                installed.commit()
            return handler(frame)
        return False

    return fast_frame


def build_fast_path(wrapper: Any, server_version: int) -> FastPath | None:
    """The same decoder with an ``(msg_id, frame)`` signature (used by the equivalence tests of
    the text protocol: ``frame`` starts with the id field)."""
    fast_frame = build_frame_fast_path(wrapper, server_version)
    if fast_frame is None:
        return None

    def fast(msg_id: int, frame: bytes) -> bool:
        return msg_id in FAST_MESSAGES and fast_frame(frame)

    return fast
