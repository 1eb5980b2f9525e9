"""IB's order types as the simulator models them: what each needs, when it triggers, at what
price it may trade, and the codes IB answers an order with that it refuses."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from .contracts import ContractSpec
from .market import Quote, on_tick, round_tick
from .orders import SimOrder

# order type -> its code in the contract details' orderTypes list (None: not listed there)
ORDER_TYPES: dict[str, str | None] = {
    "MKT": "MKT", "LMT": "LMT", "STP": "STP", "STP LMT": "STPLMT", "TRAIL": "TRAIL",
    "TRAIL LIMIT": "TRAILLMT", "MIT": "MIT", "LIT": "LIT", "MOC": "MOC", "LOC": "LOC",
    "MTL": "MTL", "REL": "REL", "MIDPRICE": None,
}
TIFS = {"DAY", "GTC", "IOC", "GTD", "OPG"}
NEEDS_LIMIT = {"LMT", "STP LMT", "LIT", "LOC"}
NEEDS_TRIGGER = {"STP", "STP LMT", "MIT", "LIT"}
TRAILING = {"TRAIL", "TRAIL LIMIT"}
TRIGGERED = NEEDS_TRIGGER | TRAILING
AT_CLOSE = {"MOC", "LOC"}
AT_OPEN = {"MKT", "LMT"}  # with tif OPG: market / limit on open
PEGGED = {"REL", "MIDPRICE"}
# order types IB lets trigger or trade outside regular hours (outsideRth); others draw warning 2109
OUTSIDE_RTH = {"LMT", "STP", "STP LMT", "TRAIL", "TRAIL LIMIT", "LIT"}

TEXT_110 = "The price does not conform to the minimum price variation for this contract."
TEXT_111 = "The time in force (tif type) and the order type are incompatible."
TEXT_113 = "The Tif option should be set to DAY for MOC and LOC orders."
TEXT_387 = "Unsupported order type for this exchange and security type."
TEXT_2109 = ("Order Event Warning:Attribute 'Outside Regular Trading Hours' is ignored based on the "
             "order type and destination. PlaceOrder is now being processed.")
MISSING = "Error validating request.-'bO' : cause - Missing {}"
# the simulator's own text (IB's form), for a field no gateway can read: an action other than
# BUY / SELL, a quantity or price that is not a finite number ("Infinity", "NaN", past a double)
INVALID = "Error validating request.-'bO' : cause - Invalid {}"
ACTIONS = ("BUY", "SELL")


@dataclass(frozen=True, slots=True)
class Refusal:
    """An IB error code and text for an order that is not accepted."""

    code: int
    text: str


def auction(o: SimOrder) -> str | None:
    """The auction an order waits for: "open" (tif OPG), "close" (MOC, LOC) or None."""
    if o.order_type in AT_CLOSE:
        return "close"
    if o.tif == "OPG":
        return "open"
    return None


def check(o: SimOrder, c: ContractSpec) -> Refusal | None:
    """Why IB would refuse the order, or None."""
    if o.action not in ACTIONS:
        return Refusal(321, INVALID.format(f"action: {o.action!r}"))
    if not math.isfinite(o.total_qty):
        return Refusal(321, INVALID.format("order size"))
    prices = (o.lmt_price, o.aux_price, o.trail_stop_price, o.trailing_percent, o.lmt_price_offset)
    if any(p is not None and not math.isfinite(p) for p in prices):
        return Refusal(321, INVALID.format("price"))
    if o.trailing_percent is not None and o.trailing_percent > 100:  # a stop past zero or infinity
        return Refusal(321, INVALID.format("trailing percent"))
    t = o.order_type
    if t not in ORDER_TYPES or not _offered(t, o.tif, c):
        return Refusal(387, TEXT_387)
    if o.total_qty <= 0:
        return Refusal(434, "The order size cannot be zero.")
    if o.tif == "OPG" and t not in AT_OPEN or o.tif == "IOC" and t in AT_CLOSE:
        return Refusal(111, TEXT_111)
    if t in AT_CLOSE and o.tif not in ("DAY", ""):
        return Refusal(113, TEXT_113)
    if t in NEEDS_LIMIT and not _positive(o.lmt_price):
        return Refusal(321, MISSING.format("order price"))
    if t in NEEDS_TRIGGER and not _positive(o.aux_price):
        return Refusal(321, MISSING.format("stop price"))
    if t in TRAILING and not (_positive(o.aux_price) or _positive(o.trailing_percent)):
        return Refusal(321, MISSING.format("trailing amount or trailing percent"))
    if t == "TRAIL LIMIT" and o.lmt_price_offset is None and not _positive(o.lmt_price):
        return Refusal(321, MISSING.format("limit price offset"))
    for p in (o.lmt_price, o.aux_price, o.trail_stop_price, o.lmt_price_offset):
        if p is not None and p > 0 and not on_tick(p, c.min_tick):
            return Refusal(110, TEXT_110)
    return None


def _offered(order_type: str, tif: str, c: ContractSpec) -> bool:
    """Whether the contract offers the order type and time in force (its orderTypes list; a
    contract that lists none is taken to offer every one)."""
    if not c.order_types:
        return True
    offered = _codes(c.order_types)
    code = ORDER_TYPES[order_type]
    if code is None:  # MIDPRICE: IB's midprice order is for US stocks
        return c.sec_type == "STK"
    return code in offered and (tif in ("DAY", "GTC", "") or tif in offered)


@lru_cache(maxsize=32)
def _codes(order_types: str) -> frozenset[str]:
    return frozenset(order_types.split(","))


def _positive(x: float | None) -> bool:
    return x is not None and x > 0 and math.isfinite(x)


def trail(o: SimOrder, q: Quote, c: ContractSpec) -> None:
    """Move a trailing stop with the market: up only for a sell, down only for a buy."""
    if o.trailing_percent is None:
        amount = o.aux_price or 0.0
    else:
        amount = q.last * o.trailing_percent / 100.0
    if o.action == "BUY":
        stop = round_tick(q.last + amount, c.min_tick)
        o.trail_stop_price = stop if o.trail_stop_price is None else min(o.trail_stop_price, stop)
    else:
        stop = round_tick(q.last - amount, c.min_tick)
        o.trail_stop_price = stop if o.trail_stop_price is None else max(o.trail_stop_price, stop)


def trigger_hit(o: SimOrder, q: Quote) -> bool:
    """Whether the last trade reached the order's trigger (stop, trailing stop, touch price)."""
    buy = o.action == "BUY"
    if o.order_type in TRAILING:
        stop = o.trail_stop_price or 0.0
        return q.last >= stop if buy else q.last <= stop
    trigger = o.aux_price or 0.0
    if o.order_type in ("MIT", "LIT"):  # touched: a buy below, a sell above
        return q.last <= trigger if buy else q.last >= trigger
    return q.last >= trigger if buy else q.last <= trigger


def on_trigger(o: SimOrder) -> None:
    """A TRAIL LIMIT takes its limit when it triggers: the stop less (a sell) or plus (a buy)
    the limit offset."""
    if o.order_type == "TRAIL LIMIT" and o.lmt_price_offset is not None and o.trail_stop_price is not None:
        offset = o.lmt_price_offset if o.action == "BUY" else -o.lmt_price_offset
        o.lmt_price = round(o.trail_stop_price + offset, 10)


def limit(o: SimOrder, q: Quote, c: ContractSpec) -> float | None:
    """The price an active order may trade at or better (None: at the market)."""
    t = o.order_type
    buy = o.action == "BUY"
    if t in PEGGED:
        if t == "REL":  # pegged to the primary (own side) quote, made more aggressive by the offset
            offset = o.aux_price or 0.0
            peg = q.bid + offset if buy else q.ask - offset
        else:  # MIDPRICE: the midpoint, on the tick grid on the passive side
            steps = q.mid / c.min_tick
            peg = (math.floor(steps + 1e-9) if buy else math.ceil(steps - 1e-9)) * c.min_tick
        peg = round_tick(peg, c.min_tick)
        if o.lmt_price:  # the cap (a buy) or floor (a sell)
            peg = min(peg, o.lmt_price) if buy else max(peg, o.lmt_price)
        return peg
    if t in NEEDS_LIMIT or t in ("TRAIL LIMIT", "MTL"):
        return o.lmt_price
    return None
