"""Parsing shell arguments into adapter calls; every mistake becomes a one-line CommandError."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from platform_adapter.config.settings import TIFS
from platform_adapter.models.contract import ContractSpec, SecType
from platform_adapter.models.order import OrderAction

ORDER_TYPES = {"MKT": "MKT", "MARKET": "MKT", "LMT": "LMT", "LIMIT": "LMT", "STP": "STP", "STOP": "STP",
               "STP_LMT": "STP LMT", "STPLMT": "STP LMT", "STP-LMT": "STP LMT", "STP LMT": "STP LMT",
               "STOP_LIMIT": "STP LMT"}
ACTIONS = tuple(a.value for a in OrderAction)

DURATION_UNITS = {"S": "S", "SEC": "S", "SECS": "S", "D": "D", "DAY": "D", "DAYS": "D", "W": "W", "WEEK": "W",
                  "WEEKS": "W", "M": "M", "MONTH": "M", "MONTHS": "M", "Y": "Y", "YEAR": "Y", "YEARS": "Y"}
BAR_UNITS = {"s": "sec", "sec": "sec", "secs": "sec", "m": "min", "min": "min", "mins": "min", "h": "hour",
             "hr": "hour", "hour": "hour", "hours": "hour", "d": "day", "day": "day", "w": "week", "week": "week",
             "mo": "month", "month": "month"}

_DURATION_RE = re.compile(r"^(\d+)\s*([A-Za-z]+)$")
_BAR_RE = re.compile(r"^(\d+)\s*([A-Za-z]+)$")

# ``modify`` keys -> keyword names of OrderExecutionAdapter.modify_order
MODIFY_KEYS = {"qty": "quantity", "quantity": "quantity", "limit": "limit_price", "lmt": "limit_price",
               "limit_price": "limit_price", "stop": "stop_price", "stp": "stop_price", "stop_price": "stop_price",
               "aux": "stop_price", "tif": "tif"}
# extra ``place_order`` keys
ORDER_EXTRA_KEYS = {"tif": "tif", "outside_rth": "outside_rth", "account": "account"}


class CommandError(Exception):
    """A bad command line; the message is the one-line explanation shown to the user."""


def split(line: str) -> list[str]:
    """Split a command line like a shell would (quotes allowed)."""
    try:
        return shlex.split(line)
    except ValueError as exc:
        raise CommandError(f"cannot parse arguments: {exc}") from None


def number(text: str, name: str, *, positive: bool = True) -> float:
    try:
        value = float(text)
    except ValueError:
        raise CommandError(f"{name} must be a number, got {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise CommandError(f"{name} must be a finite number, got {text!r}")
    if positive and value <= 0:
        raise CommandError(f"{name} must be greater than 0, got {text}")
    return value


def integer(text: str, name: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise CommandError(f"{name} must be a whole number, got {text!r}") from None
    if value <= 0:
        raise CommandError(f"{name} must be greater than 0, got {text}")
    return value


def symbols(args: list[str], command: str) -> list[str]:
    if not args:
        raise CommandError(f"usage: {command} SYMBOL [SYMBOL...]")
    out: list[str] = []
    for a in args:
        for s in a.split(","):
            s = s.strip().upper()
            if s and s not in out:
                out.append(s)
    if not out:
        raise CommandError(f"usage: {command} SYMBOL [SYMBOL...]")
    return out


_FOREX_RE = re.compile(r"^([A-Z]{3})\.([A-Z]{3})$")


def instrument(symbol: str) -> str | ContractSpec:
    """A shell symbol for the adapter: ``EUR.USD`` is a forex pair on IDEALPRO, anything else a
    US stock (the library's plain-symbol rule)."""
    match = _FOREX_RE.match(symbol)
    if match:
        return ContractSpec(match.group(1), SecType.FOREX, "IDEALPRO", match.group(2))
    return symbol


def instruments(symbols: list[str]) -> list[str | ContractSpec]:
    return [instrument(s) for s in symbols]


def duration(text: str) -> str:
    """``5D``, ``5 d``, ``2weeks``, ``3600 S`` -> IB's ``"5 D"`` form."""
    match = _DURATION_RE.match(text.strip())
    unit = DURATION_UNITS.get(match.group(2).upper()) if match else None
    if match is None or unit is None or int(match.group(1)) <= 0:
        raise CommandError(f"bad DURATION {text!r}: use a number and S, D, W, M or Y (e.g. 5D, 1W, 3600S)")
    return f"{int(match.group(1))} {unit}"


def bar_size(text: str) -> str:
    """``1min``, ``5m``, ``1h``, ``1 day``, ``30s`` -> IB's ``"1 min"``, ``"5 mins"``, ``"1 hour"``..."""
    match = _BAR_RE.match(text.strip())
    unit = BAR_UNITS.get(match.group(2).lower()) if match else None
    if match is None or unit is None:
        raise CommandError(f"bad BAR_SIZE {text!r}: e.g. 5s, 1min, 5min, 1h, 1d")
    n = int(match.group(1))
    if n <= 0:
        raise CommandError(f"bad BAR_SIZE {text!r}: the number must be greater than 0")
    if unit == "sec":  # IB spells seconds "secs" even for one ("1 secs")
        return f"{n} secs"
    plural = n > 1 and unit in ("min", "hour")
    return f"{n} {unit}{'s' if plural else ''}"


def _bool(text: str, name: str) -> bool:
    low = text.lower()
    if low in ("1", "true", "yes", "y", "on"):
        return True
    if low in ("0", "false", "no", "n", "off"):
        return False
    raise CommandError(f"{name} must be true or false, got {text!r}")


def _key_values(args: list[str], allowed: dict[str, str], command: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for arg in args:
        key, sep, value = arg.partition("=")
        name = allowed.get(key.lower())
        if not sep or not value or name is None:
            raise CommandError(f"{command}: bad option {arg!r}; use key=value with key in "
                               f"{', '.join(sorted(set(allowed)))}")
        if name == "tif":
            if value.upper() not in TIFS:
                raise CommandError(f"tif must be one of {', '.join(TIFS)}, got {value!r}")
            out[name] = value.upper()
        elif name == "outside_rth":
            out[name] = _bool(value, name)
        elif name == "account":
            out[name] = value
        else:
            out[name] = number(value, name)
    return out


@dataclass
class OrderArgs:
    symbol: str
    action: str
    quantity: float
    order_type: str
    limit_price: float | None = None
    stop_price: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def kwargs(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.extra)
        if self.limit_price is not None:
            out["limit_price"] = self.limit_price
        if self.stop_price is not None:
            out["stop_price"] = self.stop_price
        return out


PLACE_USAGE = "usage: place_order SYMBOL BUY|SELL QTY MKT|LMT|STP|STP_LMT [LIMIT] [STOP] [tif=DAY|GTC|IOC]"


def order(args: list[str]) -> OrderArgs:
    """``SYMBOL BUY|SELL QTY TYPE [LIMIT] [STOP] [key=value...]``; STP takes one price (the stop)."""
    options = [a for a in args if "=" in a]
    positional = [a for a in args if "=" not in a]
    if len(positional) >= 5 and f"{positional[3]} {positional[4]}".upper() == "STP LMT":
        positional = [*positional[:3], "STP LMT", *positional[5:]]
    if len(positional) < 4:
        raise CommandError(PLACE_USAGE)
    symbol, action, qty_text, type_text, *prices = positional
    action = action.upper()
    if action not in ACTIONS:
        raise CommandError(f"action must be BUY or SELL, got {action!r}")
    quantity = number(qty_text, "quantity")
    order_type = ORDER_TYPES.get(type_text.upper())
    if order_type is None:
        raise CommandError(f"order type must be MKT, LMT, STP or STP_LMT, got {type_text!r}")
    needed = {"MKT": 0, "LMT": 1, "STP": 1, "STP LMT": 2}[order_type]
    if len(prices) != needed:
        what = {0: "no price", 1: "one price", 2: "a limit and a stop price"}[needed]
        raise CommandError(f"{order_type} takes {what}, got {len(prices)}; {PLACE_USAGE}")
    result = OrderArgs(symbols([symbol], "place_order")[0], action, quantity, order_type,
                       extra=_key_values(options, ORDER_EXTRA_KEYS, "place_order"))
    if order_type == "LMT":
        result.limit_price = number(prices[0], "limit price")
    elif order_type == "STP":
        result.stop_price = number(prices[0], "stop price")
    elif order_type == "STP LMT":
        result.limit_price = number(prices[0], "limit price")
        result.stop_price = number(prices[1], "stop price")
    return result


BRACKET_USAGE = "usage: bracket SYMBOL BUY|SELL QTY ENTRY TAKE_PROFIT STOP_LOSS [tif=DAY|GTC] [account=ID]"


@dataclass
class BracketArgs:
    symbol: str
    action: str
    quantity: float
    limit_price: float
    take_profit_price: float
    stop_loss_price: float
    extra: dict[str, Any] = field(default_factory=dict)


def bracket(args: list[str]) -> BracketArgs:
    """``SYMBOL BUY|SELL QTY ENTRY TAKE_PROFIT STOP_LOSS [key=value...]``."""
    options = [a for a in args if "=" in a]
    positional = [a for a in args if "=" not in a]
    if len(positional) != 6:
        raise CommandError(BRACKET_USAGE)
    symbol, action, qty_text, entry, take_profit, stop_loss = positional
    action = action.upper()
    if action not in ACTIONS:
        raise CommandError(f"action must be BUY or SELL, got {action!r}")
    return BracketArgs(symbols([symbol], "bracket")[0], action, number(qty_text, "quantity"),
                       number(entry, "entry price"), number(take_profit, "take profit price"),
                       number(stop_loss, "stop loss price"), _key_values(options, ORDER_EXTRA_KEYS, "bracket"))


def modify(args: list[str]) -> tuple[int, dict[str, Any]]:
    """``ID key=value...`` with keys qty, limit, stop, tif."""
    if len(args) < 2:
        raise CommandError("usage: modify ID key=value... (keys: qty, limit, stop, tif)")
    order_id = integer(args[0], "order id")
    return order_id, _key_values(args[1:], MODIFY_KEYS, "modify")


def history(args: list[str]) -> tuple[str, str, str, str | None]:
    """``SYMBOL DURATION BAR_SIZE [--csv FILE]``; DURATION and BAR_SIZE may be quoted IB strings."""
    csv_path: str | None = None
    rest: list[str] = []
    i = 0
    while i < len(args):
        if args[i] == "--csv":
            if i + 1 >= len(args):
                raise CommandError("--csv needs a file name")
            csv_path = args[i + 1]
            i += 2
            continue
        if args[i].startswith("--csv="):
            csv_path = args[i].split("=", 1)[1]
        else:
            rest.append(args[i])
        i += 1
    if len(rest) == 5:  # ``history AAPL 2 D 1 min``: IB strings typed without quotes
        rest = [rest[0], f"{rest[1]} {rest[2]}", f"{rest[3]} {rest[4]}"]
    if len(rest) != 3:
        raise CommandError("usage: history SYMBOL DURATION BAR_SIZE [--csv FILE]   e.g. history AAPL 2D 5min")
    return symbols([rest[0]], "history")[0], duration(rest[1]), bar_size(rest[2]), csv_path
