"""Argument checks shared by the adapters; each failure is a ValidationError naming the field."""

from __future__ import annotations

import math
import re
import threading
from decimal import Decimal, InvalidOperation
from typing import Any

from platform_adapter.errors import ValidationError
from platform_adapter.models.contract import ContractSpec
from platform_adapter.models.market_data import MarketDataType, TickByTickKind

SYMBOL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 .\-/&]{0,19}$")
MAX_QUANTITY = Decimal(10) ** 15
"""Above it a size is no longer exact as a double (IB's and the price checks' arithmetic)."""
MARKET_DATA_TYPE_NAMES = {
    "live": MarketDataType.LIVE, "frozen": MarketDataType.FROZEN, "delayed": MarketDataType.DELAYED,
    "delayed_frozen": MarketDataType.DELAYED_FROZEN,
}


def check_symbol(value: Any, field: str = "symbol") -> str:
    """A non-empty IB symbol of at most 20 characters (letters, digits, space . - / &)."""
    if not isinstance(value, str):
        raise ValidationError(field, value, "must be a string")
    text = value.strip()
    if not text:
        raise ValidationError(field, value, "must not be empty")
    if len(text) > 20:
        raise ValidationError(field, value, "is longer than 20 characters")
    if not SYMBOL_RE.match(text):
        raise ValidationError(field, value, "has characters IB symbols do not use")
    return text.upper()


def check_price(value: Any, field: str) -> float:
    """A finite, positive price."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise ValidationError(field, value, "must be a number")
    try:
        price = float(value)
    except (OverflowError, ValueError):  # an int past float's range, a signalling NaN
        raise ValidationError(field, value, "must be finite") from None
    if not math.isfinite(price):
        raise ValidationError(field, value, "must be finite")
    if price <= 0:
        raise ValidationError(field, value, "must be positive")
    return price


def check_quantity(value: Any, field: str = "quantity", fractional: bool = False) -> Decimal:
    """A positive quantity of at most ``MAX_QUANTITY``; whole unless ``fractional``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str)):
        raise ValidationError(field, value, "must be a number")
    try:
        qty = Decimal(str(value))
    except (InvalidOperation, ValueError):  # ValueError: an int too long for str()
        raise ValidationError(field, value, "must be a number") from None
    if not qty.is_finite():
        raise ValidationError(field, value, "must be finite")
    if qty <= 0:
        raise ValidationError(field, value, "must be positive")
    if qty > MAX_QUANTITY:
        raise ValidationError(field, value, f"must be at most {MAX_QUANTITY:.0e}")
    if not fractional and qty != qty.to_integral_value():
        raise ValidationError(field, value, "must be a whole number for this contract")
    return qty


def check_code(value: Any, field: str) -> str:
    """A printable string of at most 64 characters, maybe empty (an exchange, currency, expiry...)."""
    if not isinstance(value, str) or len(value) > 64 or not value.isprintable():
        raise ValidationError(field, value, "must be a printable string of at most 64 characters")
    return value


def on_tick(price: float, min_tick: float) -> bool:
    """True when ``price`` is a whole multiple of ``min_tick`` (with float tolerance); a positive
    price below half a tick is none (it would round to zero ticks)."""
    if min_tick <= 0:
        return True
    steps = price / min_tick
    return abs(steps - round(steps)) < 1e-6 and (round(steps) != 0 or price == 0)


def check_wait(value: Any, field: str = "timeout") -> float:
    """Seconds to wait: a finite number, 0 or more; returned as a float (at most
    ``threading.TIMEOUT_MAX``, the longest wait a lock takes: a longer one would never end sooner)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
        raise ValidationError(field, value, "must be a finite number of seconds, 0 or more")
    return float(min(value, threading.TIMEOUT_MAX))


def check_callback(value: Any, field: str = "callback", optional: bool = False) -> Any:
    """A callable (``None`` too when ``optional``), returned as given."""
    if value is None and optional:
        return None
    if not callable(value):
        raise ValidationError(field, value, "must be callable")
    return value


def check_market_data_type(value: Any) -> MarketDataType:
    """``live``/``frozen``/``delayed``/``delayed_frozen``, a MarketDataType, or 1-4."""
    if isinstance(value, MarketDataType):
        return value
    if isinstance(value, str) and value.strip().lower().replace("-", "_") in MARKET_DATA_TYPE_NAMES:
        return MARKET_DATA_TYPE_NAMES[value.strip().lower().replace("-", "_")]
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 4:
        return MarketDataType(value)
    raise ValidationError("market_data_type", value, f"must be one of {list(MARKET_DATA_TYPE_NAMES)}")


def check_tbt_kind(value: Any) -> TickByTickKind:
    """``Last``, ``AllLast``, ``BidAsk`` or ``MidPoint`` (case and ``_`` ignored), or a TickByTickKind."""
    if isinstance(value, TickByTickKind):
        return value
    if isinstance(value, str):
        for kind in TickByTickKind:
            if value.replace("_", "").lower() == kind.value.lower():
                return kind
    raise ValidationError("kind", value, f"must be one of {[k.value for k in TickByTickKind]}")


def check_instruments(values: Any, field: str = "symbols") -> list[Any]:
    """One symbol or ContractSpec, or a non-empty list (tuple, set) of them -> a list (each item is
    checked by its user)."""
    if isinstance(values, (str, ContractSpec)):
        return [values]
    if not isinstance(values, (list, tuple, set, frozenset)):
        raise ValidationError(field, values, "must be a symbol, a ContractSpec or a list of them")
    if not values:
        raise ValidationError(field, values, "must not be empty")
    return list(values)
