"""The advanced fields of our orders as IB reports them: after IB confirms a modification of a
trailing amount or percent, a limit offset or a good-till date (its ``openOrder``), the cached
request carries the new values, as it does for quantities and prices; a trailing order carries the
stop price IB reported (its trailStopPrice). A member's links (parent, OCA group) are never changed
here: IB keeps them as placed."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from platform_adapter.adapters.orders.extras import TRAILING
from platform_adapter.adapters.orders.models import extras_from_ib
from platform_adapter.models.order import OrderExtras, Trade

_TRAILING_TEXT = frozenset(t.value for t in TRAILING)

if TYPE_CHECKING:
    from platform_adapter.adapters.order_execution import OrderExecutionAdapter


def echoed_extras(current: OrderExtras | None, reported: OrderExtras | None) -> OrderExtras | None:
    """``current`` with the trail and good-till fields IB reported (its links kept)."""
    base = current or OrderExtras()
    got = reported or OrderExtras()
    trail_stop = base.trail_stop_price if got.trail_stop_price is None else got.trail_stop_price
    merged = replace(base, trailing_amount=got.trailing_amount, trailing_percent=got.trailing_percent,
                     limit_offset=got.limit_offset, good_till=got.good_till or base.good_till,
                     trail_stop_price=trail_stop)
    return None if merged == OrderExtras() else merged


class ExtrasEcho:
    """Applies IB's ``openOrder`` reports to the advanced fields of our trailing and GTD orders."""

    def __init__(self, adapter: OrderExecutionAdapter) -> None:
        self.adapter = adapter

    def apply(self, order_id: int, ib_order: Any) -> None:
        """Update the cached request of our order ``order_id`` from IB's ibapi Order (called by the
        order handler for every ``openOrder``, before it applies the rest of the report)."""
        a = self.adapter
        if ib_order.whatIf or (ib_order.orderType not in _TRAILING_TEXT and ib_order.tif != "GTD"):
            return  # nothing to follow (most reports; decided before any lookup)
        oid = a.match(order_id, ib_order.clientId, ib_order.permId, ib_order.orderRef)
        if oid is None:
            return

        def fn(t: Trade) -> bool:
            req = t.request
            extras = echoed_extras(req.extras, extras_from_ib(req.order_type, ib_order))
            if extras == req.extras:
                return False
            t.request = replace(req, extras=extras)
            return True

        a._update(oid, fn, kind="open_order")
