"""A fast path for the hot protobuf messages (server version 201 on): tickPrice (wire id 201),
tickSize (202), orderStatus (203) and updateAccountValue (206: the gateway sends an account's
hundred-odd values after each fill to a client subscribed to its updates, as the facade always
is); openOrder (205) in ``fast_proto_open_order``.

ibapi's ``Decoder.processProtoBuf`` parses these with the generated classes (``TickPrice_pb2`` etc.,
C-fast) and then converts field by field in Python: 2-3.5 us per message, about twice what this
path takes (``scripts/bench_protobuf_decode.py``). ``build_proto_fast_path(wrapper, run, flush)``
returns ``{wire id: decode(frame)}``: each parses the frame's body into a reused message (replaced
every ``RENEW_EVERY`` parses: a message keeps every parse's strings in its arena until it is
freed) and delivers into the handler interfaces the values ibapi's decoder delivers: a field that is absent is
ibapi's "unset" value (``NO_VALID_ID`` for a request id, ``UNSET_INTEGER``/``UNSET_DOUBLE``/
``UNSET_LONG``/``UNSET_DECIMAL``, ``""``), a size is ``Decimal(text)``, and an absent attribute
mask is ``UNSET_INTEGER`` (all flags set, as in ibapi). A tickPrice or tickSize joins the quote
run (``core/fast_decode.py``); an orderStatus ends the run and goes to the order handler.
Everything is read before anything is delivered; a body that does not parse or a size that is not
a number returns ``False`` with nothing delivered, and ibapi's decoder (the decoder of record)
handles the frame. (ibapi's ``...ProtoBuf`` callbacks, which carry the raw message, are not part
of the interfaces.)
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING

from google.protobuf.message import Message
from ibapi.const import NO_VALID_ID, UNSET_DECIMAL, UNSET_DOUBLE, UNSET_INTEGER, UNSET_LONG
from ibapi.protobuf.AccountValue_pb2 import AccountValue as AccountValueProto
from ibapi.protobuf.OrderStatus_pb2 import OrderStatus as OrderStatusProto
from ibapi.protobuf.TickPrice_pb2 import TickPrice as TickPriceProto
from ibapi.protobuf.TickSize_pb2 import TickSize as TickSizeProto

from platform_adapter.core.fast_proto_open_order import OPEN_ORDER_MESSAGE, WIRE_OPEN_ORDER, build_open_order_decoder
from platform_adapter.core.handlers import QuoteTick
from platform_adapter.core.tick_types import NOT_SET as _NOT_SET

if TYPE_CHECKING:
    from platform_adapter.core.wrapper import Wrapper

ProtoDecoder = Callable[[bytes], bool]

WIRE_TICK_PRICE, WIRE_TICK_SIZE, WIRE_ORDER_STATUS = 201, 202, 203  # ibapi's message id + 200
WIRE_ACCOUNT_VALUE = 206
_CACHE_MAX = 4096
RENEW_EVERY = 4096  # parses into one message before a new one (its arena: a few bytes per parse)
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


def _parser(message_type: Callable[[], Message]) -> Callable[[bytes], Message]:
    """``parse(body)``: the body parsed into a reused message of ``message_type``, a new one every
    ``RENEW_EVERY`` parses. Parsing into a message clears its fields but not its arena (upb), which
    holds the strings of every earlier parse until the message is freed: reusing one message for
    ever would keep a few bytes per frame for the life of the connection; a new message per frame
    costs 0.1 us more than a reused one."""
    message = message_type()
    left = RENEW_EVERY

    def parse(body: bytes) -> Message:
        nonlocal message, left
        left -= 1
        if not left:
            message, left = message_type(), RENEW_EVERY
        message.ParseFromString(body)
        return message

    return parse


def build_proto_fast_path(wrapper: Wrapper, run: list[QuoteTick], flush: Callable[[], None],
                          run_max: int) -> dict[int, ProtoDecoder]:
    """``{wire id: decode(frame)}``; ``frame`` is the whole frame (4-byte id, then the body). Quote
    ticks are appended to ``run`` (``flush`` hands it over once it holds ``run_max``)."""
    dec = _decimal()
    append = run.append
    order_status_cb = wrapper.handlers.orders.order_status
    failed = wrapper.handler_failed
    parse_price, parse_size, parse_status = _parser(TickPriceProto), _parser(TickSizeProto), _parser(OrderStatusProto)

    def deliver(callback: Callable[..., None], method: str, args: tuple[object, ...]) -> bool:
        """A decoded message to its handler, after the quote run before it (a handler that raises
        is counted, not taken as a decline)."""
        if run:
            flush()
        try:
            callback(*args)
        except Exception:  # noqa: BLE001 - one bad handler must not stop the dispatcher
            failed(method)
        return True

    def tick_price(frame: bytes) -> bool:
        try:
            m = parse_price(frame[4:])
            has = m.HasField
            req_id = m.reqId if has("reqId") else NO_VALID_ID
            tick_type = m.tickType if has("tickType") else UNSET_INTEGER
            price = m.price if has("price") else UNSET_DOUBLE
            size = dec(m.size) if has("size") else UNSET_DECIMAL
            mask = m.attrMask if has("attrMask") else UNSET_INTEGER
        except _DECLINE:
            return False
        append((req_id, tick_type, price, size, mask))
        if len(run) >= run_max:
            flush()
        return True

    def tick_size(frame: bytes) -> bool:
        try:
            m = parse_size(frame[4:])
            has = m.HasField
            req_id = m.reqId if has("reqId") else NO_VALID_ID
            tick_type = m.tickType if has("tickType") else UNSET_INTEGER
            size = dec(m.size) if has("size") else UNSET_DECIMAL
        except _DECLINE:
            return False
        if tick_type != _NOT_SET:
            append((req_id, tick_type, None, size, 0))
            if len(run) >= run_max:
                flush()
        return True

    def order_status(frame: bytes) -> bool:
        try:
            m = parse_status(frame[4:])
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
        return deliver(order_status_cb, "order_status", args)

    account_value_cb = wrapper.handlers.account.update_account_value
    parse_account_value = _parser(AccountValueProto)

    def account_value(frame: bytes) -> bool:
        try:
            m = parse_account_value(frame[4:])
            args = (m.key, m.value, m.currency, m.accountName)  # an absent text field reads "", ibapi's unset
        except _DECLINE:
            return False
        return deliver(account_value_cb, "update_account_value", args)

    def flush_run() -> None:
        if run:
            flush()

    open_order = build_open_order_decoder(wrapper, _parser(OPEN_ORDER_MESSAGE), flush_run)
    return {WIRE_TICK_PRICE: tick_price, WIRE_TICK_SIZE: tick_size, WIRE_ORDER_STATUS: order_status,
            WIRE_OPEN_ORDER: open_order, WIRE_ACCOUNT_VALUE: account_value}
