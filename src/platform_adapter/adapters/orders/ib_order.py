"""ibapi ``Order`` objects built fast: for every outgoing order and for the fast openOrder decoder."""

from __future__ import annotations

from ibapi.order import Order as IBOrder
from ibapi.softdollartier import SoftDollarTier

_IB_ORDER_DEFAULTS = dict(IBOrder().__dict__)  # ibapi's ~150 defaults, copied (not re-run) per order


def new_ib_order() -> IBOrder:
    """A default ibapi Order, like ``IBOrder()`` at a tenth of the cost (its mutable defaults are
    fresh objects, never shared between orders)."""
    o: IBOrder = IBOrder.__new__(IBOrder)
    o.__dict__.update(_IB_ORDER_DEFAULTS)
    o.softDollarTier = SoftDollarTier("", "", "")
    o.conditions = []
    return o
