"""Order conditions (IB's conditional orders): whether an order's conditions hold now.

Each condition arrives raw (``requests.OrderCondition``: ibapi's type and its text fields, the
conjunction first). Conditions combine left to right: a condition's conjunction ("a" = and,
"o" = or) joins it to the next one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .market import Market, Quote
from .requests import OrderCondition
from .trading_hours import parse_ib_time

PRICE, TIME, MARGIN, EXECUTION, VOLUME, PERCENT_CHANGE = 1, 3, 4, 5, 6, 7
KINDS = (PRICE, TIME, MARGIN, EXECUTION, VOLUME, PERCENT_CHANGE)
# PriceCondition trigger methods (ibapi's TriggerMethodEnum)
DOUBLE_BID_ASK, BID_ASK, LAST_OR_BID_ASK, MID_POINT = 1, 4, 7, 8


@dataclass(frozen=True, slots=True)
class World:
    """What conditions are evaluated against."""

    market: Market
    now: float
    local_tz: str
    cushion: Callable[[], float]  # the account's cushion, a fraction
    executed: Callable[[str, str, str], bool]  # (secType, exchange, symbol) traded since placed


def _num(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _compare(is_more: bool, value: float, threshold: float) -> bool:
    return value >= threshold if is_more else value <= threshold


def _price_holds(q: Quote, is_more: bool, price: float, method: int) -> bool:
    last = _compare(is_more, q.last, price)
    bid_ask = _compare(is_more, q.ask if is_more else q.bid, price)
    if method in (DOUBLE_BID_ASK, BID_ASK):
        return bid_ask
    if method == LAST_OR_BID_ASK:
        return last or bid_ask
    if method == MID_POINT:
        return _compare(is_more, q.mid, price)
    return last


def holds(c: OrderCondition, w: World) -> bool:
    """Whether one condition holds (a condition that cannot be read never holds)."""
    f = c.fields
    if c.kind == EXECUTION:
        return w.executed(f[1], f[2], f[3])
    is_more = f[1] == "1"
    value = f[2]
    if c.kind == TIME:
        at = parse_ib_time(value, w.local_tz)
        return at is not None and _compare(is_more, w.now, at)
    threshold = _num(value)
    if threshold is None:
        return False
    if c.kind == MARGIN:
        return _compare(is_more, w.cushion() * 100.0, threshold)
    con_id = int(f[3]) if f[3].lstrip("-").isdigit() else 0
    if con_id not in w.market.quotes:
        return False
    q = w.market.quote(con_id)
    if c.kind == PRICE:
        return _price_holds(q, is_more, threshold, int(f[5] or 0))
    if c.kind == VOLUME:
        return _compare(is_more, q.volume, threshold)
    change = (q.last - q.close) / q.close * 100.0 if q.close else 0.0
    return _compare(is_more, change, threshold)


def all_hold(conditions: Sequence[OrderCondition], w: World) -> bool:
    """The conditions combined left to right by their conjunctions."""
    result = holds(conditions[0], w)
    for before, c in zip(conditions, conditions[1:], strict=False):
        result = (result and holds(c, w)) if before.fields[0] == "a" else (result or holds(c, w))
    return result
