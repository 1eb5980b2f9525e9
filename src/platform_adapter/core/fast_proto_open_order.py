"""A fast path for openOrder in protobuf (wire id 205, server version 203 on).

ibapi's ``Decoder.processProtoBuf`` parses an ``OpenOrder`` message with the generated classes
(C-fast) and then builds a ``Contract``, an ``Order`` (about 150 attributes, set by running its
``__init__``) and an ``OrderState``, asking ``HasField`` for each of the ~200 fields in turn:
about 33 us per message, on the critical path of every order acknowledgement. This path walks
only the fields the message holds (``ListFields``: a dozen to thirty in an ordinary order) and
copies them onto objects built from ibapi's defaults (``new_ib_order``), with ibapi's
conversions: ``Decimal(text)`` for quantities and the suggested size, ``floatMaxString`` for the
multiplier, ``decimalMaxString`` for the margin figures; ``primaryExch`` is the Contract's
``primaryExchange``; the fields ibapi's decoder does not read are left alone; the order's
``smartComboRoutingParams`` is an empty list and its ``softDollarTier`` a new one (with the
message's name, value and display name, empty when absent), as ibapi makes them. The objects it
hands the order handler's ``open_order`` are equal, attribute by attribute, to ibapi's
(hypothesis tests over generated messages, ibapi's own encoding of orders, the simulator's
frames).

Only the common shape is taken: a message with a contract, an order and an order state, and
none of combo legs, a delta-neutral contract, smart-combo routing parameters, algo fields, hedge
fields, conditions or order allocations. The cost grows with the fields a message holds: 15 us
for the simulator's (25 order fields), 26 us for ibapi's own encoding of the same order (every
field it knows set), against ibapi's 32-33 us for either. Anything else, or a quantity that is not a number,
returns ``False`` before anything is delivered, and ibapi's decoder (the decoder of record)
handles the frame.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ibapi.const import UNSET_INTEGER
from ibapi.contract import Contract
from ibapi.order_state import OrderState
from ibapi.protobuf.Contract_pb2 import Contract as ContractProto
from ibapi.protobuf.OpenOrder_pb2 import OpenOrder as OpenOrderProto
from ibapi.protobuf.Order_pb2 import Order as OrderProto
from ibapi.protobuf.OrderState_pb2 import OrderState as OrderStateProto
from ibapi.softdollartier import SoftDollarTier
from ibapi.utils import decimalMaxString, floatMaxString

from platform_adapter.adapters.orders.ib_order import new_ib_order

if TYPE_CHECKING:
    from google.protobuf.message import Message

    from platform_adapter.core.wrapper import Wrapper

WIRE_OPEN_ORDER = 205  # ibapi's message id 5 + 200
OPEN_ORDER_MESSAGE = OpenOrderProto

_DECLINE = object()  # a field this path leaves to ibapi's decoder
# per field: None (copied to the attribute of its name), a converter, a (name, converter) pair or
# _DECLINE; a field that is not listed is one ibapi's decoder does not read
Table = dict[str, Any]

_CONTRACT_IGNORED = frozenset({"secIdType", "secId", "includeExpired"})
_CONTRACT_SPECIAL: Table = {"multiplier": floatMaxString, "primaryExch": ("primaryExchange", None),
                            "comboLegs": _DECLINE, "deltaNeutralContract": _DECLINE}
_ORDER_IGNORED = frozenset({
    "scaleTable", "algoId", "transmit", "overridePercentageConstraints", "orderMiscOptions", "mifid2DecisionMaker",
    "mifid2DecisionAlgo", "mifid2ExecutionTrader", "mifid2ExecutionAlgo", "advancedErrorOverride",
    "manualOrderTime"})
_ORDER_SPECIAL: Table = {
    "totalQuantity": Decimal, "filledQuantity": Decimal,
    "softDollarTier": lambda tier: SoftDollarTier(tier.name, tier.value, tier.displayName),
    **dict.fromkeys(("hedgeType", "hedgeParam", "hedgeMaxSize", "algoStrategy", "algoParams",
                     "smartComboRoutingParams", "conditions"), _DECLINE)}
_MARGINS = ("initMarginBefore", "maintMarginBefore", "equityWithLoanBefore", "initMarginChange",
            "maintMarginChange", "equityWithLoanChange", "initMarginAfter", "maintMarginAfter",
            "equityWithLoanAfter")
_STATE_SPECIAL: Table = {**dict.fromkeys(_MARGINS, decimalMaxString), "suggestedSize": Decimal,
                         "orderAllocations": _DECLINE}

_CONTRACT_DEFAULTS = dict(Contract().__dict__)  # comboLegs (a list) is replaced per contract
_STATE_DEFAULTS = dict(OrderState().__dict__)


def _table(message: Any, special: Table, ignored: frozenset[str]) -> dict[Any, tuple[str, Any]]:
    """``{field descriptor: (attribute, converter or None or _DECLINE)}`` for one message type
    (keyed by the descriptor objects ``ListFields`` returns: reading a descriptor's name costs
    more than the lookup)."""
    out: dict[Any, tuple[str, Any]] = {}
    for field in message.DESCRIPTOR.fields:
        if field.name in ignored:
            continue
        how = special.get(field.name)
        out[field] = how if isinstance(how, tuple) else (field.name, how)
    return out


_CONTRACT_FIELDS = _table(ContractProto, _CONTRACT_SPECIAL, _CONTRACT_IGNORED)
_ORDER_FIELDS = _table(OrderProto, _ORDER_SPECIAL, _ORDER_IGNORED)
_STATE_FIELDS = _table(OrderStateProto, _STATE_SPECIAL, frozenset())


class _Declined(Exception):
    """The message holds a field this path leaves to ibapi's decoder."""


def _values(message: Message, table: dict[Any, tuple[str, Any]], out: dict[str, Any]) -> dict[str, Any]:
    """``out`` with the attributes of the fields ``message`` holds, converted as ibapi converts them."""
    get = table.get
    for field, value in message.ListFields():
        how = get(field)
        if how is None:
            continue
        name, convert = how
        if convert is None:
            out[name] = value
        elif convert is _DECLINE:
            raise _Declined(name)
        else:
            out[name] = convert(value)
    return out


def build_open_order_decoder(wrapper: Wrapper, parse: Callable[[bytes], Message],
                             before_delivery: Callable[[], None]) -> Callable[[bytes], bool]:
    """``decode(frame)`` for wire id 205 (``frame``: the 4-byte id, then the body); ``parse`` parses a
    body into an ``OpenOrder`` message (``OPEN_ORDER_MESSAGE``); ``before_delivery``
    runs before the handler is called (the quote run is handed over first)."""
    open_order_cb = wrapper.handlers.orders.open_order
    failed = wrapper.handler_failed

    def open_order(frame: bytes) -> bool:
        try:
            m = parse(frame[4:])
            has = m.HasField
            if not (has("contract") and has("order") and has("orderState")):
                return False  # ibapi delivers nothing then: its decoder's business
            order_id = m.orderId if has("orderId") else 0
            contract_values = _values(m.contract, _CONTRACT_FIELDS, {})
            order_values = _values(m.order, _ORDER_FIELDS, {
                "orderId": order_id if order_id != UNSET_INTEGER else 0, "smartComboRoutingParams": []})
            state_values = _values(m.orderState, _STATE_FIELDS, {})
        except Exception:  # noqa: BLE001 - a body that does not parse, a field left to ibapi, a bad number
            return False
        c = object.__new__(Contract)
        c.__dict__.update(_CONTRACT_DEFAULTS)
        c.comboLegs = []
        c.__dict__.update(contract_values)
        o = new_ib_order()
        o.__dict__.update(order_values)
        st = object.__new__(OrderState)
        st.__dict__.update(_STATE_DEFAULTS)
        st.__dict__.update(state_values)
        before_delivery()
        try:
            open_order_cb(order_id, c, o, st)
        except Exception:  # noqa: BLE001 - one bad handler must not stop the dispatcher
            failed("open_order")
        return True

    return open_order
