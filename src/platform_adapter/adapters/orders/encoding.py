"""A fast encoder of the placeOrder message for the orders this library builds.

ibapi's ``EClient.placeOrder`` (the encoder of record) spends about 30 us per order checking and
formatting some 150 text fields (server versions below 203), or about 13 us building a
``PlaceOrderRequest`` protobuf message field by field (203 on), nearly all of them defaults. For
one shape of order (the server version, the contract, the order type, which prices are set,
outside-RTH) only eight values vary: the order id, action, quantity, limit and stop prices, time in
force, account and order reference. So :class:`PlaceOrderEncoder` has ibapi encode each shape once
and from then on fills in the real values:

- text (below 203; from 201 the message id goes out as 4 bytes, as ibapi's ``sendMsg`` does): ibapi
  encodes the shape with unique sentinel values and the text is cut at the sentinels into a template;
- protobuf (203 on): ibapi's own ``createPlaceOrderRequestProto`` builds the shape's message once;
  protobuf serializes fields in field-number order, so its bytes are cut around the eight values
  into constant runs, and each order encodes the eight itself between them by the rules ibapi
  applies (a text field present when not empty, a price or id when not ibapi's "unset" value, the
  quantity as ``decimalMaxString``): no message object per order (about 2.7 us instead of 13, and
  of 3.7 copying the shape's message and serializing it).

Every shape is checked before use: two probe orders are encoded both ways and must give the same
text or bytes, else the shape is left to ibapi for good. Values the text template cannot render
exactly as ibapi would (a string that is not printable ASCII, a price ibapi treats as "unset" or
infinite) also go to ibapi. The tests compare both encoders with ibapi byte for byte over
generated orders and server versions.
"""

from __future__ import annotations

import re
import struct
import threading
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from ibapi.client import EClient
from ibapi.client_utils import createPlaceOrderRequestProto
from ibapi.common import PROTOBUF_MSG_ID
from ibapi.const import UNSET_DOUBLE, UNSET_INTEGER
from ibapi.message import OUT
from ibapi.protobuf.PlaceOrderRequest_pb2 import PlaceOrderRequest as PlaceOrderRequestProto
from ibapi.server_versions import MIN_CLIENT_VER, MIN_SERVER_VER_PROTOBUF_PLACE_ORDER
from ibapi.utils import decimalMaxString, isAsciiPrintable, isValidDecimalValue
from ibapi.wrapper import EWrapper

from platform_adapter.adapters.orders.models import build_ib_order
from platform_adapter.models.order import OrderAction, OrderRequest, TimeInForce

# sentinels: values no real field of the message takes (checked: each must appear, as a whole field)
_ID = 918_273_645
_QTY = Decimal("765432.5")
_LIMIT = 987_654.125
_STOP = 876_543.375
_TEXT = {"action": "PAxACTIONx", "tif": "PAxTIFx", "account": "PAxACCOUNTx", "order_ref": "PAxREFx"}
_BAD_PRICES = (float(UNSET_INTEGER), UNSET_DOUBLE, float("inf"), float("-inf"))

ShapeKey = tuple[int, Any, str, bool, bool, bool]
MAX_TEMPLATES = 4096  # shapes kept per form; past it the cache starts over (a few per instrument traded)
WIRE_PLACE_ORDER = OUT.PLACE_ORDER + PROTOBUF_MSG_ID  # the protobuf placeOrder's message id


@dataclass(frozen=True, slots=True)
class PlaceOrderMessage:
    """An encoded placeOrder: the text fields (below server version 203) or the protobuf body."""

    body: str | bytes

    def send(self, client: Any) -> None:
        """Send it through ``client`` (an EClient) as ibapi's placeOrder would."""
        if isinstance(self.body, bytes):
            client.sendMsgProtoBuf(WIRE_PLACE_ORDER, self.body)
        else:
            client.sendMsg(OUT.PLACE_ORDER, self.body)


class _Capture(EClient):  # type: ignore[misc]
    """An EClient that keeps the message it would send (text or protobuf) instead of sending it."""

    def __init__(self, server_version: int) -> None:
        super().__init__(EWrapper())
        self.serverVersion_ = server_version
        self.errors = 0
        self.sent: list[tuple[int, str | bytes]] = []
        self.wrapper.error = self._error

    def _error(self, *_: Any) -> None:
        self.errors += 1

    def isConnected(self) -> bool:  # noqa: N802 - ibapi's name
        return True

    def sendMsg(self, msgId: int, msg: str) -> None:  # noqa: N802, N803 - ibapi's names
        self.sent.append((msgId, msg))

    def sendMsgProtoBuf(self, msgId: int, msg: bytes) -> None:  # noqa: N802, N803 - ibapi's names
        self.sent.append((msgId, msg))


def _captured(server_version: int, order_id: int, contract: Any, order: Any) -> str | bytes | None:
    """The text or protobuf body ibapi's placeOrder sends for ``order`` (None when it sends none
    or another message)."""
    capture = _Capture(server_version)
    capture.placeOrder(order_id, contract, order)
    if capture.errors or len(capture.sent) != 1 or capture.sent[0][0] not in (OUT.PLACE_ORDER, WIRE_PLACE_ORDER):
        return None
    return capture.sent[0][1]


def ibapi_text(server_version: int, order_id: int, contract: Any, request: OrderRequest) -> str | None:
    """The placeOrder text ibapi itself would send for ``request`` (below server version 203)."""
    text = _captured(server_version, order_id, contract, build_ib_order(request, server_version=server_version))
    return text if isinstance(text, str) else None


def ibapi_body(server_version: int, order_id: int, contract: Any, request: OrderRequest) -> bytes | None:
    """The placeOrder protobuf body ibapi itself would send for ``request`` (203 on)."""
    body = _captured(server_version, order_id, contract, build_ib_order(request, server_version=server_version))
    return body if isinstance(body, bytes) else None


class _Template:
    """The constant text between the variable fields, and which value goes into each gap."""

    def __init__(self, chunks: list[str], slots: list[str], int_quantity: bool) -> None:
        self.chunks = chunks  # len(slots) + 1 constant texts
        self.slots = slots
        self.int_quantity = int_quantity

    def render(self, order_id: int, request: OrderRequest) -> str:
        qty = request.quantity
        values = {
            "order_id": str(order_id), "action": request.action.value,
            "quantity": str(int(qty)) if self.int_quantity else str(qty),
            "limit": str(request.limit_price), "stop": str(request.stop_price), "tif": request.tif.value,
            "account": request.account, "order_ref": request.order_ref,
        }
        chunks = self.chunks
        parts = [chunks[0]]
        for i, slot in enumerate(self.slots, 1):
            parts.append(values[slot])
            parts.append(chunks[i])
        return "".join(parts)


def _template_from(text: str, request: OrderRequest) -> _Template | None:
    """Cut ibapi's text of the sentinel order at the sentinel fields (None if one is missing)."""
    slot_of = {str(_ID): "order_id", _TEXT["action"]: "action", _TEXT["tif"]: "tif",
               _TEXT["account"]: "account", _TEXT["order_ref"]: "order_ref",
               str(_QTY): "quantity", str(int(_QTY)): "quantity"}
    if request.limit_price is not None:
        slot_of[str(_LIMIT)] = "limit"
    if request.stop_price is not None:
        slot_of[str(_STOP)] = "stop"
    # a sentinel counts only as a whole field: preceded by the start or a NUL, followed by a NUL
    pattern = "(?:^|(?<=\0))(" + "|".join(re.escape(k) for k in sorted(slot_of, key=len, reverse=True)) + ")(?=\0)"
    pieces = re.split(pattern, text)
    chunks, sentinels = pieces[0::2], pieces[1::2]
    slots = [slot_of[p] for p in sentinels]
    quantity_forms = {p for p in sentinels if slot_of[p] == "quantity"}
    if set(slots) != set(slot_of.values()) or len(quantity_forms) != 1:
        return None
    return _Template(chunks, slots, quantity_forms == {str(int(_QTY))})


def renderable(request: OrderRequest) -> bool:
    """True when the template renders ``request`` exactly as ibapi would."""
    for text in (request.action.value, request.tif.value, request.account, request.order_ref):
        if text and not (text.isascii() and text.isprintable()) and not isAsciiPrintable(text):
            return False
    for price in (request.limit_price, request.stop_price):
        if price is not None and price in _BAD_PRICES:
            return False
    return True


class _ProtoTemplate:
    """A shape's PlaceOrderRequest bytes cut around its eight varying values.

    ibapi's own ``createPlaceOrderRequestProto`` builds the shape's message once; its serialized
    fields (protobuf writes them in field-number order) are kept as constant byte runs between the
    varying ones, which each order encodes itself by the rules ibapi applies to them: a text field
    present when not empty, a price or id when not ibapi's "unset" value, the quantity as
    ``decimalMaxString``. No message object is built per order."""

    def __init__(self, base: PlaceOrderRequestProto) -> None:
        order = PlaceOrderRequestProto()
        order.CopyFrom(base)
        message = order.order
        for name in _ORDER_VARYING:
            message.ClearField(name)
        cuts = _runs(message.SerializeToString(), [_ORDER_FIELDS[name] for name in _ORDER_VARYING])
        self.runs = cuts  # len(_ORDER_VARYING) + 1 constant byte runs of the order message
        outer = PlaceOrderRequestProto()
        outer.CopyFrom(base)
        outer.ClearField("orderId")
        outer.ClearField("order")
        self.head, self.tail = _runs(outer.SerializeToString(), [_REQUEST_ORDER])
        # the encoded fields of the values that repeat from order to order
        self.actions = {a: _text(_TAG_ACTION, a.value) for a in OrderAction}
        self.tifs = {t: _text(_TAG_TIF, t.value) for t in TimeInForce}
        self.accounts: dict[str, bytes] = {}
        self.quantities: dict[str, bytes] = {}  # by the Decimal's text: 1 and 1.0 are two texts

    def render(self, order_id: int, request: OrderRequest) -> bytes:
        runs = self.runs
        qty, account = str(request.quantity), request.account
        limit, stop, ref = request.limit_price, request.stop_price, request.order_ref
        order = b"".join((
            runs[0], self.actions[request.action], runs[1],
            self.quantities.get(qty) or _remember(self.quantities, qty, _TAG_QUANTITY, _quantity_text(qty)), runs[2],
            b"" if limit is None or limit == UNSET_DOUBLE else _TAG_LIMIT + _DOUBLE(limit), runs[3],
            b"" if stop is None or stop == UNSET_DOUBLE else _TAG_AUX + _DOUBLE(stop), runs[4],
            self.tifs[request.tif], runs[5],
            self.accounts.get(account) or _remember(self.accounts, account, _TAG_ACCOUNT, account), runs[6],
            _text(_TAG_REF, ref), runs[7]))
        oid = _TAG_ORDER_ID + _varint(order_id) if order_id != UNSET_INTEGER else b""
        return b"".join((oid, self.head, _TAG_ORDER, _varint(len(order)), order, self.tail))


def _quantity_text(qty: str) -> str:
    """The quantity as ibapi sends it (``decimalMaxString``; its "unset" value: no field)."""
    value = Decimal(qty)
    return decimalMaxString(value) if isValidDecimalValue(value) else ""


def _remember(fields: dict[str, bytes], key: str, tag: bytes, text: str) -> bytes:
    """A value's encoded field, remembered (up to a few hundred values)."""
    data = _text(tag, text)
    if len(fields) < _MAX_REMEMBERED:
        fields[key] = data
    return data


_MAX_REMEMBERED = 512


# the Order message's varying fields in field-number order, as render writes them (were ibapi's
# numbering to change, the probes would find the bytes different and leave the shapes to ibapi)
_ORDER_VARYING = ("action", "totalQuantity", "lmtPrice", "auxPrice", "tif", "account", "orderRef")
_ORDER_FIELDS = {f.name: f.number for f in PlaceOrderRequestProto.DESCRIPTOR.fields_by_name["order"]
                 .message_type.fields}
_REQUEST_ORDER = PlaceOrderRequestProto.DESCRIPTOR.fields_by_name["order"].number


def _varint(value: int) -> bytes:
    """Protobuf's base-128 varint (a negative int32 as its 64-bit two's complement, as protobuf)."""
    if 0 <= value < 0x80:
        return _SMALL[value]
    if 0 < value < 0x4000:  # a message's length, most order ids
        return bytes((value & 0x7F | 0x80, value >> 7))
    value &= 0xFFFF_FFFF_FFFF_FFFF
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


_SMALL = [bytes((i,)) for i in range(0x80)]


def _tag(number: int, wire_type: int) -> bytes:
    return _varint(number << 3 | wire_type)


_TAG_ORDER_ID = _tag(PlaceOrderRequestProto.DESCRIPTOR.fields_by_name["orderId"].number, 0)
_TAG_ORDER = _tag(_REQUEST_ORDER, 2)
_TAG_ACTION, _TAG_QUANTITY, _TAG_TIF, _TAG_ACCOUNT, _TAG_REF = (
    _tag(_ORDER_FIELDS[n], 2) for n in ("action", "totalQuantity", "tif", "account", "orderRef"))
_TAG_LIMIT, _TAG_AUX = (_tag(_ORDER_FIELDS[n], 1) for n in ("lmtPrice", "auxPrice"))
_DOUBLE = struct.Struct("<d").pack


def _text(tag: bytes, text: str) -> bytes:
    """A string field as ibapi sets it: present only when not empty (UnicodeEncodeError for text
    protobuf refuses too, e.g. a lone surrogate)."""
    if not text:
        return b""
    data = text.encode()
    return tag + _varint(len(data)) + data


def _runs(data: bytes, numbers: list[int]) -> list[bytes]:
    """``data`` (a serialized message) cut before the first field numbered above each of
    ``numbers`` (ascending): ``len(numbers) + 1`` runs of whole fields."""
    runs, start, pos, i = [], 0, 0, 0
    while pos < len(data):
        field_start = pos
        key, pos = _read_varint(data, pos)
        number, wire_type = key >> 3, key & 7
        while i < len(numbers) and number > numbers[i]:
            runs.append(data[start:field_start])
            start, i = field_start, i + 1
        if wire_type == 0:
            _, pos = _read_varint(data, pos)
        elif wire_type == 1:
            pos += 8
        elif wire_type == 2:
            size, pos = _read_varint(data, pos)
            pos += size
        elif wire_type == 5:
            pos += 4
        else:
            raise ValueError(f"unexpected protobuf wire type {wire_type}")
    runs.append(data[start:])
    runs.extend(b"" for _ in range(len(numbers) + 1 - len(runs)))
    return runs


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def _probes(request: OrderRequest) -> list[OrderRequest]:
    """Two orders of the sentinel's shape with ordinary, different values."""
    limit = request.limit_price is not None
    stop = request.stop_price is not None
    return [replace(request, quantity=Decimal(q), limit_price=lp if limit else None, stop_price=sp if stop else None,
                    tif=request.tif, account=acct, order_ref=ref)
            for q, lp, sp, acct, ref in (("3", 12.5, 11.25, "DU111", "pa-probe-1"),
                                         ("1.5", 0.01, 100.0, "", "pa-probe-2"))]


class PlaceOrderEncoder:
    """Encodes placeOrder messages from cached, verified templates (thread-safe)."""

    def __init__(self) -> None:
        self._templates: dict[ShapeKey, _Template | None] = {}
        self._proto_templates: dict[ShapeKey, _ProtoTemplate | None] = {}
        self._lock = threading.Lock()
        self.fast = 0  # orders encoded from a template
        self.fallbacks = 0  # orders left to ibapi

    def encode(self, server_version: int, contract_key: Any, contract: Any, order_id: int,
               request: OrderRequest) -> PlaceOrderMessage | None:
        """The placeOrder message for ``request`` at ``server_version`` (text or protobuf), or None:
        then send it with ibapi's ``placeOrder``. ``contract_key`` identifies ``contract``, whose
        fields must not change afterwards (the contract itself will do: it hashes by identity, and
        the cache keeps it alive). Advanced orders (``request.extras``) go to ibapi."""
        if request.extras is not None:
            self.fallbacks += 1
            return None
        if isinstance(server_version, int) and server_version >= MIN_SERVER_VER_PROTOBUF_PLACE_ORDER:
            body = self.body(server_version, contract_key, contract, order_id, request)
            return None if body is None else PlaceOrderMessage(body)
        text = self.text(server_version, contract_key, contract, order_id, request)
        return None if text is None else PlaceOrderMessage(text)

    def text(self, server_version: int, contract_key: Any, contract: Any, order_id: int,
             request: OrderRequest) -> str | None:
        """The placeOrder text for ``request`` (server versions 100..202), or None."""
        if not isinstance(server_version, int) \
                or not MIN_CLIENT_VER <= server_version < MIN_SERVER_VER_PROTOBUF_PLACE_ORDER \
                or not renderable(request):
            self.fallbacks += 1
            return None
        key = _shape(server_version, contract_key, request)
        try:
            template = self._templates[key]  # one hash of the key (the contract's fields)
        except KeyError:
            template = self._build(server_version, contract, request)
            with self._lock:
                if len(self._templates) >= MAX_TEMPLATES:
                    self._templates.clear()
                self._templates[key] = template
        if template is None:
            self.fallbacks += 1
            return None
        self.fast += 1
        return template.render(order_id, request)

    def body(self, server_version: int, contract_key: Any, contract: Any, order_id: int,
             request: OrderRequest) -> bytes | None:
        """The placeOrder protobuf body for ``request`` (server version 203 on), or None."""
        if not isinstance(server_version, int) or server_version < MIN_SERVER_VER_PROTOBUF_PLACE_ORDER:
            self.fallbacks += 1
            return None
        key = _shape(server_version, contract_key, request)
        try:
            template = self._proto_templates[key]  # one hash of the key (the contract's fields)
        except KeyError:
            template = _build_proto(server_version, contract, request)
            with self._lock:
                if len(self._proto_templates) >= MAX_TEMPLATES:
                    self._proto_templates.clear()
                self._proto_templates[key] = template
        if template is None:
            self.fallbacks += 1
            return None
        try:
            body = template.render(order_id, request)
        except (TypeError, ValueError):  # a value protobuf refuses (e.g. a lone surrogate): ibapi reports it
            self.fallbacks += 1
            return None
        self.fast += 1
        return body

    @staticmethod
    def _build(server_version: int, contract: Any, request: OrderRequest) -> _Template | None:
        sentinel = replace(request, quantity=_QTY,
                           limit_price=_LIMIT if request.limit_price is not None else None,
                           stop_price=_STOP if request.stop_price is not None else None,
                           account=_TEXT["account"], order_ref=_TEXT["order_ref"])
        text = _sentinel_text(server_version, contract, sentinel)
        template = _template_from(text, sentinel) if text is not None else None
        if template is None:
            return None
        for probe in _probes(request):
            for order_id in (1, 123_456):
                if template.render(order_id, probe) != ibapi_text(server_version, order_id, contract, probe):
                    return None
        return template


def _shape(server_version: int, contract_key: Any, request: OrderRequest) -> ShapeKey:
    return (server_version, contract_key, request.order_type, request.limit_price is not None,
            request.stop_price is not None, request.outside_rth)


def _build_proto(server_version: int, contract: Any, request: OrderRequest) -> _ProtoTemplate | None:
    """The shape's message as ibapi builds it, checked against ibapi's bytes for the probes (a
    shape ibapi refuses at this version, reporting an error instead, fails the check; so do bytes
    that cannot be cut into fields)."""
    probes = _probes(request)  # ordinary values: the base is built from one of them
    try:
        template = _ProtoTemplate(createPlaceOrderRequestProto(_ID, contract, build_ib_order(probes[0])))
    except (ValueError, IndexError):
        return None
    for probe in probes:
        for order_id in (1, 123_456):
            if template.render(order_id, probe) != ibapi_body(server_version, order_id, contract, probe):
                return None
    return template


def _sentinel_text(server_version: int, contract: Any, sentinel: OrderRequest) -> str | None:
    """ibapi's text of the sentinel order, with the action and tif fields replaced by sentinels too
    (both are plain strings to ibapi; the real enum values are needed only to build the Order)."""
    order = build_ib_order(sentinel, server_version=server_version)
    order.action, order.tif = _TEXT["action"], _TEXT["tif"]
    text = _captured(server_version, _ID, contract, order)
    return text if isinstance(text, str) else None
