"""Checks of the advanced-order arguments (spec 6.3): trailing stops (``TRAIL``, ``TRAIL LIMIT``),
one-cancels-all groups, good-till dates and the order types a time in force allows. Every failure
is a ValidationError naming the field, raised before anything is sent."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from platform_adapter.adapters.orders.validation import EXTRA_KWARGS, check_text, parse_tif
from platform_adapter.errors import ValidationError
from platform_adapter.models.contract import ContractInfo
from platform_adapter.models.order import OcaType, OrderExtras, OrderType, TimeInForce
from platform_adapter.utils.validators import check_price, on_tick

TRAILING = frozenset({OrderType.TRAIL, OrderType.TRAIL_LIMIT})
AT_THE_OPEN = frozenset({OrderType.MARKET, OrderType.LIMIT})  # OPG: market or limit on open
MAX_OCA_GROUP = 60
_TRAIL_FIELDS = ("trailing_amount", "trailing_percent", "limit_offset")
_NEEDS_CHECK = frozenset({TimeInForce.GTD, TimeInForce.OPG})
_IB_TIME = re.compile(r"^(\d{8})([ -])(\d{2}:\d{2}:\d{2})(?: (\S+))?$")


def order_tif(kwargs: Mapping[str, Any], default: Any) -> TimeInForce:
    """The ``tif`` argument, else GTD when a ``good_till`` is given, else ``default``."""
    if "tif" not in kwargs and kwargs.get("good_till") is not None:
        return TimeInForce.GTD
    return parse_tif(kwargs.get("tif", default))


def parse_oca_type(value: Any) -> OcaType:
    """An :class:`OcaType`, or IB's number 1, 2 or 3."""
    if isinstance(value, OcaType):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value in OcaType._value2member_map_:
        return OcaType(value)
    raise ValidationError("oca_type", value, "must be 1 (cancel with block), 2 (reduce with block) or "
                          "3 (reduce without block)")


def check_good_till(value: Any, now: datetime | None = None) -> str:
    """IB's goodTillDate text for a time zone aware datetime (sent in UTC) or a text in IB's forms
    ``YYYYMMDD-HH:MM:SS`` (UTC) or ``YYYYMMDD HH:MM:SS <zone>``; it must lie in the future."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValidationError("good_till", value, "must be time zone aware")
        when = value.astimezone(timezone.utc)
        text = when.strftime("%Y%m%d-%H:%M:%S")
    elif isinstance(value, str):
        text = value.strip()
        when = _parse_ib_time(text)
    else:
        raise ValidationError("good_till", value, "must be a datetime or IB's text (YYYYMMDD-HH:MM:SS in UTC)")
    if when <= (now or datetime.now(timezone.utc)):
        raise ValidationError("good_till", value, "must be in the future")
    return text


def _parse_ib_time(text: str) -> datetime:
    m = _IB_TIME.match(text)
    if m is None or (m.group(2) == "-") == bool(m.group(4)):
        raise ValidationError("good_till", text, "must be YYYYMMDD-HH:MM:SS (UTC) or YYYYMMDD HH:MM:SS <zone>")
    day, _, clock, zone = m.groups()
    try:
        naive = datetime.strptime(f"{day} {clock}", "%Y%m%d %H:%M:%S")
        tz = ZoneInfo(zone) if zone else timezone.utc
    except (ValueError, ZoneInfoNotFoundError):
        raise ValidationError("good_till", text, "is not a valid date, time and time zone") from None
    return naive.replace(tzinfo=tz)


def _non_negative(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise ValidationError(field, value, "must be a finite number")
    try:
        number = float(value)
    except (OverflowError, ValueError):  # an int past float's range, a signalling NaN
        number = math.nan
    if not math.isfinite(number):
        raise ValidationError(field, value, "must be a finite number")
    if number < 0:
        raise ValidationError(field, value, "must not be negative")
    return number


def check_trail(order_type: OrderType, kwargs: Mapping[str, Any]) -> tuple[float | None, float | None, float | None]:
    """(trailing amount, trailing percent, limit offset): one of the first two for a trailing order,
    the offset for a ``TRAIL LIMIT`` only; none of them for other order types."""
    given = {f: kwargs[f] for f in _TRAIL_FIELDS if kwargs.get(f) is not None}
    if order_type not in TRAILING:
        for field, value in given.items():
            raise ValidationError(field, value, f"is used by TRAIL and TRAIL LIMIT orders, not {order_type.value}")
        return None, None, None
    amount, percent = given.get("trailing_amount"), given.get("trailing_percent")
    if (amount is None) == (percent is None):
        raise ValidationError("trailing_amount", amount, f"{order_type.value} orders need trailing_amount or "
                              "trailing_percent (one of them)")
    if amount is not None:
        amount = check_price(amount, "trailing_amount")
    if percent is not None:
        percent = check_price(percent, "trailing_percent")
        if percent >= 100:
            raise ValidationError("trailing_percent", percent, "must be below 100")
    offset = given.get("limit_offset")
    if order_type is OrderType.TRAIL_LIMIT:
        if offset is None:
            raise ValidationError("limit_offset", None, "is required for TRAIL LIMIT orders")
        offset = _non_negative(offset, "limit_offset")
    elif offset is not None:
        raise ValidationError("limit_offset", offset, "is used by TRAIL LIMIT orders, not TRAIL")
    return amount, percent, offset


def check_trail_stop(order_type: OrderType, value: Any) -> float | None:
    """A trailing order's initial stop price (IB's trailStopPrice): positive and finite, for
    ``TRAIL`` and ``TRAIL LIMIT`` only. Its side of the market is not checked: IB discards a stop
    looser than the market less (a sell) or plus (a buy) the trail, and uses the computed one."""
    if value is None:
        return None
    if order_type not in TRAILING:
        raise ValidationError("trail_stop_price", value,
                              f"is used by TRAIL and TRAIL LIMIT orders, not {order_type.value}")
    return check_price(value, "trail_stop_price")


def check_extras(order_type: OrderType, tif: TimeInForce, kwargs: Mapping[str, Any], parent_id: int = 0,
                 now: datetime | None = None) -> OrderExtras | None:
    """The advanced fields of a new order from ``kwargs`` (None when it has none)."""
    if not parent_id and order_type not in TRAILING and tif not in _NEEDS_CHECK \
            and kwargs.keys().isdisjoint(EXTRA_KWARGS):
        return None  # a plain order (the usual one): nothing below could raise or find a field
    amount, percent, offset = check_trail(order_type, kwargs)
    trail_stop = check_trail_stop(order_type, kwargs.get("trail_stop_price"))
    good_till = _check_tif(order_type, tif, kwargs.get("good_till"), now)
    group = kwargs.get("oca_group")
    oca_type = kwargs.get("oca_type")
    if group is not None:
        group = check_text(group, "oca_group", MAX_OCA_GROUP)
        if not group:
            raise ValidationError("oca_group", kwargs["oca_group"], "must not be empty")
        oca_type = parse_oca_type(OcaType.CANCEL_WITH_BLOCK if oca_type is None else oca_type)
    elif oca_type is not None:
        raise ValidationError("oca_type", oca_type, "needs an oca_group")
    extras = OrderExtras(parent_id, group or "", oca_type, amount, percent, offset, good_till, trail_stop)
    return None if extras == OrderExtras() else extras


def _check_tif(order_type: OrderType, tif: TimeInForce, good_till: Any, now: datetime | None) -> str:
    if tif is TimeInForce.OPG and order_type not in AT_THE_OPEN:
        raise ValidationError("tif", tif.value, f"OPG is for MKT or LMT orders (on the open), not {order_type.value}")
    if tif is TimeInForce.GTD:
        if good_till is None:
            raise ValidationError("good_till", None, "is required when tif is GTD")
        return check_good_till(good_till, now)
    if good_till is not None:
        raise ValidationError("good_till", good_till, f"needs tif GTD, not {tif.value}")
    return ""


def modified_extras(order_type: OrderType, tif: TimeInForce, current: OrderExtras | None,
                    kwargs: Mapping[str, Any], now: datetime | None = None) -> OrderExtras | None:
    """The extras after a modification: the trail and good-till fields from ``kwargs`` where given
    (a trailing amount replaces a percent and the other way round), the links (parent, OCA group,
    the exit a replacement replaces) kept.
    A trail stop price goes only with the modification that names it: IB moves the stop, and one
    sent again (last reported) could be older than IB's."""
    base = current or OrderExtras()
    merged: dict[str, Any] = {"trailing_amount": base.trailing_amount, "trailing_percent": base.trailing_percent,
                              "limit_offset": base.limit_offset}
    if kwargs.get("trailing_amount") is not None:
        merged["trailing_percent"] = None
    if kwargs.get("trailing_percent") is not None:
        merged["trailing_amount"] = None
    merged.update({f: kwargs[f] for f in _TRAIL_FIELDS if f in kwargs})
    amount, percent, offset = check_trail(order_type, merged)
    trail_stop = check_trail_stop(order_type, kwargs.get("trail_stop_price"))
    good_till = kwargs.get("good_till", base.good_till or None)
    good_till_text = _check_tif(order_type, tif, good_till, now)
    extras = OrderExtras(base.parent_id, base.oca_group, base.oca_type, amount, percent, offset, good_till_text,
                         trail_stop, base.replaces)
    return None if extras == OrderExtras() else extras


def check_extras_ticks(info: ContractInfo, extras: OrderExtras | None) -> None:
    """A trailing amount, a limit offset and a trail stop price on the contract's tick."""
    if extras is None:
        return
    for field, value in (("trailing_amount", extras.trailing_amount), ("limit_offset", extras.limit_offset),
                         ("trail_stop_price", extras.trail_stop_price)):
        if value and not on_tick(value, info.min_tick):
            raise ValidationError(field, value, f"is not a multiple of {info.symbol}'s tick size {info.min_tick:g}")
