"""A fast encoder of the placeOrder message for the orders this library builds.

ibapi's ``EClient.placeOrder`` (the encoder of record) spends about 30 us per order checking and
formatting some 150 fields, nearly all of them defaults. For one shape of order (the server
version, the contract, the order type, which prices are set, outside-RTH) only ten fields vary, so
:class:`PlaceOrderEncoder` has ibapi encode that shape once with unique sentinel values, cuts the
text at the sentinels into a template, and from then on fills in the real values: the order id,
action, quantity, limit and stop prices, time in force, account and order reference.

Every template is checked before use: two probe orders are encoded both ways and must give the
same text, else the shape is left to ibapi for good. Values the template cannot render exactly as
ibapi would (a string that is not printable ASCII, a price ibapi treats as "unset" or infinite)
also go to ibapi, as does everything on the binary (protobuf) protocol. The tests compare the two
encoders byte for byte over generated orders and server versions.
"""

from __future__ import annotations

import re
import threading
from dataclasses import replace
from decimal import Decimal
from typing import Any

from ibapi.client import EClient
from ibapi.const import UNSET_DOUBLE, UNSET_INTEGER
from ibapi.message import OUT
from ibapi.server_versions import MIN_CLIENT_VER, MIN_SERVER_VER_PROTOBUF
from ibapi.utils import isAsciiPrintable
from ibapi.wrapper import EWrapper

from platform_adapter.adapters.order_models import build_ib_order
from platform_adapter.models.order import OrderRequest

# sentinels: values no real field of the message takes (checked: each must appear, as a whole field)
_ID = 918_273_645
_QTY = Decimal("765432.5")
_LIMIT = 987_654.125
_STOP = 876_543.375
_TEXT = {"action": "PAxACTIONx", "tif": "PAxTIFx", "account": "PAxACCOUNTx", "order_ref": "PAxREFx"}
_BAD_PRICES = (float(UNSET_INTEGER), UNSET_DOUBLE, float("inf"), float("-inf"))

ShapeKey = tuple[int, Any, str, bool, bool, bool]


class _Capture(EClient):  # type: ignore[misc]
    """An EClient that keeps the text of the message it would send instead of sending it."""

    def __init__(self, server_version: int) -> None:
        super().__init__(EWrapper())
        self.serverVersion_ = server_version
        self.errors = 0
        self.sent: list[tuple[int, str]] = []
        self.wrapper.error = self._error

    def _error(self, *_: Any) -> None:
        self.errors += 1

    def isConnected(self) -> bool:  # noqa: N802 - ibapi's name
        return True

    def sendMsg(self, msgId: int, msg: str) -> None:  # noqa: N802, N803 - ibapi's names
        self.sent.append((msgId, msg))


def _captured(server_version: int, order_id: int, contract: Any, order: Any) -> str | None:
    """The text ibapi's placeOrder sends for ``order`` (None when it sends none or another message)."""
    capture = _Capture(server_version)
    capture.placeOrder(order_id, contract, order)
    if capture.errors or len(capture.sent) != 1 or capture.sent[0][0] != OUT.PLACE_ORDER:
        return None
    return capture.sent[0][1]


def ibapi_text(server_version: int, order_id: int, contract: Any, request: OrderRequest) -> str | None:
    """The placeOrder text ibapi itself would send for ``request``."""
    return _captured(server_version, order_id, contract, build_ib_order(request))


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


def _probes(request: OrderRequest) -> list[OrderRequest]:
    """Two orders of the sentinel's shape with ordinary, different values."""
    limit = request.limit_price is not None
    stop = request.stop_price is not None
    return [replace(request, quantity=Decimal(q), limit_price=lp if limit else None, stop_price=sp if stop else None,
                    tif=request.tif, account=acct, order_ref=ref)
            for q, lp, sp, acct, ref in (("3", 12.5, 11.25, "DU111", "pa-probe-1"),
                                         ("1.5", 0.01, 100.0, "", "pa-probe-2"))]


class PlaceOrderEncoder:
    """Encodes placeOrder texts from cached, verified templates (thread-safe)."""

    def __init__(self) -> None:
        self._templates: dict[ShapeKey, _Template | None] = {}
        self._lock = threading.Lock()
        self.fast = 0  # orders encoded from a template
        self.fallbacks = 0  # orders left to ibapi

    def text(self, server_version: int, contract_key: Any, contract: Any, order_id: int,
             request: OrderRequest) -> str | None:
        """The placeOrder text for ``request``, or None: then send it with ibapi's ``placeOrder``.
        ``contract_key`` identifies ``contract`` (whose fields must not change afterwards)."""
        if not isinstance(server_version, int) or not MIN_CLIENT_VER <= server_version < MIN_SERVER_VER_PROTOBUF \
                or not renderable(request):
            self.fallbacks += 1
            return None
        key = (server_version, contract_key, request.order_type.value, request.limit_price is not None,
               request.stop_price is not None, request.outside_rth)
        if key in self._templates:
            template = self._templates[key]
        else:
            template = self._build(server_version, contract, request)
            with self._lock:
                self._templates[key] = template
        if template is None:
            self.fallbacks += 1
            return None
        self.fast += 1
        return template.render(order_id, request)

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


def _sentinel_text(server_version: int, contract: Any, sentinel: OrderRequest) -> str | None:
    """ibapi's text of the sentinel order, with the action and tif fields replaced by sentinels too
    (both are plain strings to ibapi; the real enum values are needed only to build the Order)."""
    order = build_ib_order(sentinel)
    order.action, order.tif = _TEXT["action"], _TEXT["tif"]
    return _captured(server_version, _ID, contract, order)
