"""A fast path for the hot market-data and order messages, at every server version.

``build_frame_fast_path(wrapper, server_version)`` returns a :class:`FastPath`: ``decode(frame)``,
which the transport's dispatcher tries on each frame before ``ConnectionManager._handle_frame``,
and ``flush()``. Both deliver into the handler interfaces bound to ``wrapper``
(``core/handlers.py``), exactly what ibapi's decoder delivers through the Wrapper; a handler that
raises is counted and logged by ``wrapper.handler_failed``, as on the Wrapper's route.

From server version 201 each frame starts with a 4-byte message id: a text message (id <= 200,
its fields without the id field; their layout is that of version 200) is decoded by the same text
decoders, a protobuf tickPrice, tickSize, orderStatus, openOrder or updateAccountValue (wire id
201, 202, 203, 205, 206) by ``core/fast_proto_decode.py``; any other frame is declined.

The text decoders take tickPrice (1), tickSize (2), tickGeneric (45), tickString (46),
realtimeBar (50) and tick-by-tick (99) straight from the frame (and, through
``fast_order_decode``, openOrder (5) and orderStatus (3)), with the values ibapi's ``Decoder``
gives (same types, ``TickAttribLast``/``TickAttribBidAsk`` fields, ``UNSET_DECIMAL`` for IB's
"unset" sizes). Every conversion is the expression ibapi itself uses (``int(s or 0)``,
``float(s or 0)``, ``Decimal(s.decode())``), so edge cases behave the same. All fields are parsed
before anything is delivered; anything unusual (another field count, an unknown tick-by-tick type,
a parse error) returns ``False`` with nothing delivered, and ibapi's ``Decoder`` (the decoder of
record) handles the frame.

Quote ticks (tickPrice and tickSize, text or protobuf) are gathered into a *run* and handed to the
market-data handler's ``quote_ticks`` in one call: when the run holds ``QUOTE_RUN_MAX`` ticks,
before any other message is delivered (by this path or, through the dispatcher's ``flush``, by
ibapi's decoder) and at the end of each batch of frames. So messages reach the handlers in the
order they arrived.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

from ibapi.common import TickAttribBidAsk, TickAttribLast
from ibapi.const import UNSET_DECIMAL
from ibapi.server_versions import (
    MIN_CLIENT_VER,
    MIN_SERVER_VER_ENCODE_MSG_ASCII7,
    MIN_SERVER_VER_PAST_LIMIT,
    MIN_SERVER_VER_PRE_OPEN_BID_ASK,
    MIN_SERVER_VER_PROTOBUF,
)

from platform_adapter.core.fast_order_decode import PARSE_ERRORS, UNSET_SIZE_TEXT, build_order_fast_path
from platform_adapter.core.fast_proto_decode import build_proto_fast_path
from platform_adapter.core.handlers import QuoteTick
from platform_adapter.core.tick_types import NOT_SET as _NOT_SET

if TYPE_CHECKING:
    from platform_adapter.core.wrapper import Wrapper

FrameFastPath = Callable[[bytes], bool]

TICK_PRICE, TICK_SIZE, TICK_GENERIC, TICK_STRING, REAL_TIME_BARS, TICK_BY_TICK = 1, 2, 45, 46, 50, 99
ORDER_STATUS, OPEN_ORDER = 3, 5
FAST_MESSAGES = frozenset({TICK_PRICE, TICK_SIZE, TICK_GENERIC, TICK_STRING, REAL_TIME_BARS, TICK_BY_TICK,
                           ORDER_STATUS, OPEN_ORDER})
QUOTE_RUN_MAX = 256  # quote ticks handed to the market-data handler at most per call

_UNSET_SIZES = tuple(text.encode() for text in UNSET_SIZE_TEXT)  # decode(Decimal, ...) -> UNSET_DECIMAL
_CACHE_MAX = 4096


class FastPath(NamedTuple):
    """``decode(frame) -> bool`` (False: declined, nothing delivered) and ``flush()`` (hand the
    pending quote run to the market-data handler; the dispatcher calls it before a declined frame
    goes to ibapi's decoder and after each batch)."""

    decode: FrameFastPath
    flush: Callable[[], None]


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


def _quote_run(wrapper: Wrapper) -> tuple[list[QuoteTick], Callable[[], None]]:
    """The pending run of quote ticks and its ``flush``."""
    run: list[QuoteTick] = []
    quote_ticks = wrapper.handlers.market_data.quote_ticks
    failed = wrapper.handler_failed

    def flush() -> None:
        if run:
            try:
                quote_ticks(run)
            except Exception:  # noqa: BLE001 - one bad handler must not stop the dispatcher
                failed("quote_ticks")
            finally:
                run.clear()

    return run, flush


def build_frame_fast_path(wrapper: Wrapper, server_version: int) -> FastPath | None:
    """The fast path for ``server_version``, or ``None`` below ibapi's minimum version (nothing
    to decode there)."""
    if server_version < MIN_CLIENT_VER:
        return None
    run, flush = _quote_run(wrapper)
    text_fast = _text_fast_path(wrapper, server_version, run, flush, QUOTE_RUN_MAX)
    if server_version < MIN_SERVER_VER_PROTOBUF:
        return FastPath(text_fast, flush)
    return FastPath(_binary_id_fast_path(wrapper, text_fast, run, flush, QUOTE_RUN_MAX), flush)


def _binary_id_fast_path(wrapper: Wrapper, text_fast: FrameFastPath, run: list[QuoteTick],
                         flush: Callable[[], None], run_max: int) -> FrameFastPath:
    """Frames with a 4-byte message id (server version 201 on): text messages go to the text
    decoders with their id field put back in front, protobuf ones to ``fast_proto_decode``."""
    text_ids = {msg_id.to_bytes(4, "big"): b"%d\0" % msg_id for msg_id in FAST_MESSAGES}
    proto = {wire.to_bytes(4, "big"): decode
             for wire, decode in build_proto_fast_path(wrapper, run, flush, run_max).items()}
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


def _mask_normaliser(server_version: int) -> Callable[[int], int] | None:
    """The text tickPrice's attribute mask in the protobuf layout (``handlers.QuoteTick``), as
    ibapi's text decoder reads it at ``server_version``; None where the two layouts agree."""
    if server_version >= MIN_SERVER_VER_PRE_OPEN_BID_ASK:
        return None
    if server_version >= MIN_SERVER_VER_PAST_LIMIT:
        return lambda mask: mask & 3  # no preOpen flag yet
    return lambda mask: 1 if mask == 1 else 0  # canAutoExecute only, when the mask is exactly 1


def _text_fast_path(wrapper: Wrapper, server_version: int, run: list[QuoteTick], flush: Callable[[], None],
                    run_max: int) -> FrameFastPath:
    """The text decoders: ``fast(frame)`` for a frame whose first field is the message id."""
    dec, dec_get = _decimal_decoder()
    new = object.__new__
    append = run.append
    md = wrapper.handlers.market_data
    failed = wrapper.handler_failed
    realtime_bar_cb = md.realtime_bar
    all_last_cb = md.tick_by_tick_all_last
    bid_ask_cb = md.tick_by_tick_bid_ask
    mid_point_cb = md.tick_by_tick_mid_point
    ascii7 = server_version >= MIN_SERVER_VER_ENCODE_MSG_ASCII7
    normalise = _mask_normaliser(server_version)

    def text(raw: bytes) -> str:
        # Decoder.interpretWithSignature's decoding of each field
        try:
            return raw.decode("unicode-escape" if ascii7 else "UTF-8")
        except UnicodeDecodeError:
            return raw.decode("latin-1")

    def typed_tick(callback: Callable[[int, int, Any], None], convert: Callable[[str], Any],
                   name: str) -> Callable[[bytes], bool]:
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
            try:
                callback(req_id, tick_type, value)
            except Exception:  # noqa: BLE001 - one bad handler must not stop the dispatcher
                failed(name)
            return True

        return decode

    tick_generic = typed_tick(md.tick_generic, float, "tick_generic")
    tick_string = typed_tick(md.tick_string, str, "tick_string")

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
        try:
            realtime_bar_cb(*args)
        except Exception:  # noqa: BLE001 - one bad handler must not stop the dispatcher
            failed("realtime_bar")
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
            try:
                bid_ask_cb(req_id, stamp, bid, ask, bid_size, ask_size, bid_ask)
            except Exception:  # noqa: BLE001 - one bad handler must not stop the dispatcher
                failed("tick_by_tick_bid_ask")
        elif kind == 4:
            try:
                mid_point_cb(req_id, stamp, mid)
            except Exception:  # noqa: BLE001 - one bad handler must not stop the dispatcher
                failed("tick_by_tick_mid_point")
        else:
            last = new(TickAttribLast)
            last.pastLimit = mask & 1 != 0
            last.unreported = mask & 2 != 0
            try:
                all_last_cb(req_id, kind, stamp, price, size, last, exchange, conditions)
            except Exception:  # noqa: BLE001 - one bad handler must not stop the dispatcher
                failed("tick_by_tick_all_last")
        return True

    handlers: dict[bytes, Callable[[bytes], bool]] = {
        b"45": tick_generic, b"46": tick_string, b"50": realtime_bar, b"99": tick_by_tick,
    }
    get = handlers.get
    orders = build_order_fast_path(wrapper, server_version)
    open_order, order_status = orders if orders is not None else (None, None)

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
                append((req_id, tick_type, price, size, mask if normalise is None else normalise(mask)))
                if len(run) >= run_max:
                    flush()
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
                if tick_type != _NOT_SET:  # ibapi calls nothing for it
                    append((req_id, tick_type, None, size, 0))
                    if len(run) >= run_max:
                        flush()
                return True
            decoder = open_order if first == 53 else order_status if first == 51 else None
            if decoder is None:
                return False
            if run:
                flush()
            return decoder(frame)
        if frame[2] == 0:
            handler = get(frame[:2])
            if handler is None:
                return False
            if run:
                flush()
            return handler(frame)
        return False

    return fast_frame
