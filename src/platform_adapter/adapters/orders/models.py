"""Conversions between ibapi's order objects and the library's order models (one parsing module)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ibapi.order import Order as IBOrder
from ibapi.server_versions import MIN_SERVER_VER_CASH_QTY

from platform_adapter.adapters.orders.ib_order import new_ib_order
from platform_adapter.adapters.orders.validation import parse_action, parse_order_type, tif_or
from platform_adapter.errors import ValidationError
from platform_adapter.models.contract import ContractSpec, SecType
from platform_adapter.models.order import (
    TERMINAL_STATES,
    Fill,
    OcaType,
    Order,
    OrderExtras,
    OrderRequest,
    OrderState,
    OrderStatus,
    OrderType,
    TimeInForce,
)

UNSET_DOUBLE_LIMIT = 1e300
"""ibapi's UNSET_DOUBLE is sys.float_info.max; anything this large means "not set"."""

_STATES = {s.value.lower(): s for s in OrderState}


def parse_state(text: str) -> OrderState:
    """IB's order status text -> :class:`OrderState` (``Unknown`` for anything new)."""
    return _STATES.get((text or "").strip().lower(), OrderState.UNKNOWN)


def opt_float(value: Any) -> float | None:
    """A float, or ``None`` for IB's UNSET sentinels, NaN and blanks."""
    if value is None or value == "":
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(f) or abs(f) >= UNSET_DOUBLE_LIMIT:
        return None
    return f


def to_decimal(value: Any) -> Decimal:
    """IB's Decimal sizes (``UNSET_DECIMAL`` and blanks become 0)."""
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal(0)
    if not d.is_finite() or d >= Decimal(2) ** 100:
        return Decimal(0)
    return d


def build_ib_order(request: OrderRequest, transmit: bool = True, what_if: bool = False,
                   server_version: int | None = None) -> IBOrder:
    """The ibapi Order for a validated request; ``transmit=False`` holds it at the gateway until
    an order of its group transmits (a bracket's first two orders); ``what_if`` asks IB for its
    margin and commission instead of placing it. ``server_version`` is the gateway's (None: not
    known, taken as new): below CASH_QTY (111) ibapi refuses its own default cash quantity
    (UNSET_DOUBLE, which is truthy) and sends none, so the order carries 0 there."""
    o = new_ib_order()
    if server_version is not None and server_version < MIN_SERVER_VER_CASH_QTY:
        o.cashQty = 0.0
    o.action = request.action.value
    o.totalQuantity = request.quantity
    o.orderType = request.order_type.value
    if request.limit_price is not None:
        o.lmtPrice = request.limit_price
    if request.stop_price is not None:
        o.auxPrice = request.stop_price
    o.tif = request.tif.value
    o.outsideRth = request.outside_rth
    o.account = request.account
    o.orderRef = request.order_ref
    o.transmit = transmit
    o.whatIf = what_if
    x = request.extras
    if x is not None:
        # an exit placed anew after its entry ended (``replaces``) keeps the entry as its parent
        # here only: IB no longer finds that entry and would refuse the order (135)
        o.parentId = 0 if x.replaces else x.parent_id
        o.ocaGroup = x.oca_group
        if x.oca_type is not None:
            o.ocaType = int(x.oca_type)
        if x.trailing_amount is not None:
            o.auxPrice = x.trailing_amount  # a trailing order's auxPrice is its trailing amount
        if x.trailing_percent is not None:
            o.trailingPercent = x.trailing_percent
        if x.limit_offset is not None:
            o.lmtPriceOffset = x.limit_offset
        if x.trail_stop_price is not None:
            o.trailStopPrice = x.trail_stop_price
        o.goodTillDate = x.good_till
    return o


def spec_from_contract(contract: Any) -> ContractSpec:
    """A ContractSpec naming an ibapi Contract as IB reported it (positions, foreign orders)."""
    try:
        sec_type = SecType(contract.secType)
    except ValueError:
        sec_type = SecType.STOCK
    exchange, primary = contract.exchange or "", contract.primaryExchange or ""
    if sec_type is SecType.STOCK and exchange != "SMART":
        # positions and executions name the listing exchange; the adapter routes stocks via SMART
        exchange, primary = "SMART", primary or exchange
    strike, right = 0.0, ""
    if sec_type is SecType.OPTION:  # an option's strike and right, as IB reports them (C/P or CALL/PUT)
        strike = opt_float(contract.strike) or 0.0
        right = {"CALL": "C", "PUT": "P"}.get((contract.right or "").upper(), (contract.right or "").upper())
    return ContractSpec(symbol=contract.symbol, sec_type=sec_type, exchange=exchange,
                        currency=contract.currency or "USD", primary_exchange=primary,
                        last_trade_date=contract.lastTradeDateOrContractMonth or "",
                        local_symbol=contract.localSymbol or "", multiplier=contract.multiplier or "",
                        con_id=int(contract.conId or 0), strike=strike, right=right)


_TIME_RE = re.compile(r"^(\d{8})[ -]+(\d{1,2}:\d{2}(?::\d{2})?)\s*(\S*)$")


def parse_ib_time(text: str) -> datetime:
    """IB execution/completion times (``20240102 10:00:00 US/Eastern``, ``20240102-15:00:00`` UTC,
    ``20240102  10:00:00`` local) -> tz-aware UTC; unparseable text gives the current time."""
    m = _TIME_RE.match((text or "").strip())
    if not m:
        return datetime.now(timezone.utc)
    day, clock, tz = m.groups()
    fmt = "%Y%m%d %H:%M:%S" if clock.count(":") == 2 else "%Y%m%d %H:%M"
    naive = datetime.strptime(f"{day} {clock}", fmt)
    if tz:
        try:
            return naive.replace(tzinfo=ZoneInfo(tz)).astimezone(timezone.utc)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    if "-" in text and not tz:
        return naive.replace(tzinfo=timezone.utc)
    return naive.astimezone(timezone.utc)


def fill_from_execution(order_id: int, contract: Any, execution: Any) -> Fill:
    """A Fill (without commission yet) from an ibapi Execution."""
    return Fill(exec_id=execution.execId, order_id=order_id, symbol=contract.symbol, side=execution.side,
                quantity=to_decimal(execution.shares), price=float(execution.price),
                time=parse_ib_time(execution.time), perm_id=int(execution.permId or 0),
                exchange=execution.exchange or "")


def parse_statuses(statuses: Any) -> frozenset[OrderState]:
    """``None`` (every final state), one status or an iterable of them (enum or IB text)."""
    if statuses is None:
        return TERMINAL_STATES
    if isinstance(statuses, (str, OrderState)):
        items = [statuses]
    elif isinstance(statuses, Iterable) and not isinstance(statuses, (bytes, Mapping)):
        items = list(statuses)
    else:
        raise ValidationError("statuses", statuses, "must be an IB order status or a list of them")
    out = set()
    for s in items:
        state = parse_state(s.value if isinstance(s, OrderState) else str(s))
        if state is OrderState.UNKNOWN and str(s).lower() != "unknown":
            raise ValidationError("statuses", s, "is not an IB order status")
        out.add(state)
    if not out:
        raise ValidationError("statuses", statuses, "must not be empty")
    return frozenset(out)


def foreign_order(order_id: int, contract: Any, ib_order: Any, status: str) -> Order | None:
    """An order placed elsewhere (TWS, another client), as reported by ``openOrder``; ``None`` for
    order types this adapter does not model and for what-if answers."""
    if ib_order.whatIf:  # a what-if answer (an order preview) is never an order
        return None
    try:
        action, otype = parse_action(ib_order.action), parse_order_type(ib_order.orderType)
    except ValidationError:
        return None
    qty = to_decimal(ib_order.totalQuantity)
    extras = extras_from_ib(otype, ib_order)
    stop = None if otype in (OrderType.TRAIL, OrderType.TRAIL_LIMIT) else opt_float(ib_order.auxPrice) or None
    limit = None if otype is OrderType.TRAIL else opt_float(ib_order.lmtPrice) or None
    req = OrderRequest(spec_from_contract(contract), action, qty, otype, limit, stop,
                       tif_or(ib_order.tif, TimeInForce.GTC), account=ib_order.account, order_ref=ib_order.orderRef,
                       extras=extras)
    st = OrderStatus(order_id, parse_state(status), to_decimal(ib_order.filledQuantity), qty, 0.0, 0.0,
                     int(ib_order.permId))
    return Order(order_id, req, st, int(ib_order.permId), int(ib_order.clientId))


def extras_from_ib(order_type: OrderType, ib_order: Any) -> OrderExtras | None:
    """The advanced fields of an ibapi Order as IB reports it (None for a plain order)."""
    trailing = order_type in (OrderType.TRAIL, OrderType.TRAIL_LIMIT)
    oca_group = ib_order.ocaGroup or ""
    extras = OrderExtras(
        parent_id=int(ib_order.parentId or 0), oca_group=oca_group,
        oca_type=_oca_type(ib_order.ocaType) if oca_group else None,
        trailing_amount=opt_float(ib_order.auxPrice) or None if trailing else None,
        trailing_percent=opt_float(ib_order.trailingPercent) if trailing else None,
        limit_offset=opt_float(ib_order.lmtPriceOffset) if order_type is OrderType.TRAIL_LIMIT else None,
        good_till=ib_order.goodTillDate or "" if ib_order.tif == "GTD" else "",
        trail_stop_price=opt_float(ib_order.trailStopPrice) or None if trailing else None)  # 0: none
    if extras.trailing_percent is not None:
        extras = replace(extras, trailing_amount=None)
    return None if extras == OrderExtras() else extras


def _oca_type(value: Any) -> OcaType:
    try:
        return OcaType(int(value))
    except ValueError:
        return OcaType.CANCEL_WITH_BLOCK
