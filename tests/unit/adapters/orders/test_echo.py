"""IB's echo of our advanced orders: trail and good-till fields follow IB's openOrder, links and
plain or foreign orders stay as they are."""

from __future__ import annotations

from typing import Any

import pytest

from platform_adapter.adapters.orders.echo import echoed_extras
from platform_adapter.models.order import OcaType, OrderExtras, TimeInForce
from tests.unit.adapters.test_order_execution import Harness, contract, ib_order, ib_state


@pytest.fixture
def harness_settings() -> dict[str, Any]:
    return {"ib_connection.request_timeout": 0.5}


def test_the_echo_leaves_plain_and_foreign_orders_alone(harness: Harness) -> None:
    pa, _ = harness
    order_id = pa.orders.place_order("AAPL", "BUY", 10, "LMT", limit_price=100.0)
    ref = pa.orders.get_order(order_id).order_ref
    echoed = ib_order(order_id, ref, 77)
    echoed.ocaGroup, echoed.ocaType = "ignored", 1
    pa.wrapper.openOrder(order_id, contract(), echoed, ib_state("Submitted"))
    assert pa.orders.get_order(order_id).request.extras is None
    trail = pa.orders.place_order("AAPL", "SELL", 10, "TRAIL", trailing_amount=1.0)
    tref = pa.orders.get_order(trail).order_ref
    echoed = ib_order(trail, tref, 78, otype="TRAIL", action="SELL")
    echoed.auxPrice = 1.0
    pa.wrapper.openOrder(trail, contract(), echoed, ib_state("PreSubmitted"))
    assert pa.orders.get_order(trail).request.extras == OrderExtras(trailing_amount=1.0)
    echoed.auxPrice = 1.5
    echoed.whatIf = True
    pa.wrapper.openOrder(trail, contract(), echoed, ib_state("PreSubmitted"))
    assert pa.orders.get_order(trail).request.extras == OrderExtras(trailing_amount=1.0)
    theirs = ib_order(70, "theirs", 79, client=5, otype="TRAIL", action="SELL")
    pa.wrapper.openOrder(70, contract(), theirs, ib_state("PreSubmitted"))
    assert pa.orders.get_order(trail).request.extras == OrderExtras(trailing_amount=1.0)


def test_a_good_till_date_set_by_a_modification_is_followed(harness: Harness) -> None:
    pa, fake = harness
    order_id = pa.orders.place_order("AAPL", "BUY", 10, "LMT", limit_price=100.0, tif="DAY")
    ref = pa.orders.get_order(order_id).order_ref
    pa.orders.modify_order(order_id, good_till="20991231-00:00:00")
    (_, _, sent), = [args for name, args in fake.calls if name == "placeOrder"][1:]
    assert (sent.tif, sent.goodTillDate) == ("GTD", "20991231-00:00:00")
    echoed = ib_order(order_id, ref, 77)
    echoed.tif, echoed.goodTillDate = "GTD", "20991231-00:00:00"
    pa.wrapper.openOrder(order_id, contract(), echoed, ib_state("Submitted"))
    request = pa.orders.get_order(order_id).request
    assert (request.tif, request.extras) == (TimeInForce.GTD, OrderExtras(good_till="20991231-00:00:00"))


def test_echoed_extras_keep_the_links() -> None:
    links = OrderExtras(7, "grp", OcaType.REDUCE_WITH_BLOCK, trailing_amount=1.0, good_till="20991231-00:00:00")
    assert echoed_extras(links, OrderExtras(trailing_percent=2.0)) == OrderExtras(
        7, "grp", OcaType.REDUCE_WITH_BLOCK, trailing_percent=2.0, good_till="20991231-00:00:00")
    assert echoed_extras(OrderExtras(trailing_amount=1.0), None) is None
