"""The advanced fields in ibapi Orders: every extra built into the order sent, a foreign trailing
order's trail read back."""

from __future__ import annotations

from decimal import Decimal

from platform_adapter.adapters.orders.models import build_ib_order, foreign_order
from platform_adapter.models.order import OcaType, OrderExtras, OrderType, TimeInForce
from tests.unit.adapters.test_order_execution import contract, ib_order


def test_foreign_trailing_orders_carry_their_trail() -> None:
    order = ib_order(5, "theirs", perm=3, otype="TRAIL LIMIT", action="SELL")
    order.auxPrice, order.lmtPriceOffset, order.ocaGroup, order.ocaType = 1.5, 0.25, "g", 9
    order.tif, order.goodTillDate, order.parentId = "GTD", "20991231-00:00:00", 4
    got = foreign_order(5, contract(), order, "Submitted")
    assert got is not None
    req = got.request
    assert (req.order_type, req.limit_price, req.stop_price, req.tif) == (OrderType.TRAIL_LIMIT, 100.0, None,
                                                                          TimeInForce.GTD)
    assert req.extras == OrderExtras(4, "g", OcaType.CANCEL_WITH_BLOCK, 1.5, None, 0.25, "20991231-00:00:00")
    order.orderType, order.trailingPercent = "TRAIL", 2.0
    got = foreign_order(5, contract(), order, "Submitted")
    assert got is not None and got.request.limit_price is None
    assert (got.request.extras.trailing_amount, got.request.extras.trailing_percent) == (None, 2.0)


def test_build_ib_order_maps_every_extra() -> None:
    from platform_adapter.models.contract import ContractSpec
    from platform_adapter.models.order import OrderAction, OrderRequest

    req = OrderRequest(ContractSpec("AAPL"), OrderAction.SELL, Decimal(5), OrderType.TRAIL_LIMIT,
                       tif=TimeInForce.GTD, extras=OrderExtras(3, "g", OcaType.REDUCE_NO_BLOCK, None, 1.5, 0.1,
                                                               "20991231-00:00:00"))
    o = build_ib_order(req, transmit=False, what_if=True)
    assert (o.parentId, o.ocaGroup, o.ocaType, o.trailingPercent, o.lmtPriceOffset, o.goodTillDate, o.transmit,
            o.whatIf, o.tif) == (3, "g", 3, 1.5, 0.1, "20991231-00:00:00", False, True, "GTD")
