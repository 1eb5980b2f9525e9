"""Modify or cancel during an outage raises NotConnected and is never queued; after the reconnect
the order's true state at IB is adopted (reconciliation), and the order never gains a second
permId or a twin."""

from __future__ import annotations

import time
from typing import Any

import pytest

from platform_adapter import NotConnected, OrderState
from tests.conftest import Recorder, wait_for
from tests.resilience.conftest import received, sim_orders, wait_disconnected, wait_reconnected

CHANGES = ("placeOrder", "cancelOrder")


@pytest.mark.parametrize("filled_meanwhile", [True, False])
def test_modify_and_cancel_during_an_outage(sim_factory: Any, adapter_factory: Any, filled_meanwhile: bool) -> None:
    gw = sim_factory(tick_interval=60.0)  # the market moves only when the test moves it
    gw.set_price("AAPL", 150.0)
    pa = adapter_factory(gw)
    fills = Recorder()
    pa.orders.on_fill(fills)
    order_id = pa.orders.place_order("AAPL", "BUY", 10, "LMT", limit_price=140.0, tif="DAY")
    perm_id = pa.orders.wait_for_status(order_id, OrderState.SUBMITTED, timeout=5).perm_id
    assert perm_id

    gw.refuse_connections(60.0)
    gw.drop_all_connections()
    wait_disconnected(pa)
    before = received(gw, *CHANGES)
    if filled_meanwhile:
        gw.set_price("AAPL", 139.0)  # IB fills the order while we are away
    for change in (lambda: pa.orders.modify_order(order_id, limit_price=141.0),
                   lambda: pa.orders.cancel_order(order_id)):
        started = time.monotonic()
        with pytest.raises(NotConnected):
            change()
        assert time.monotonic() - started < 0.5, "fails fast"
    assert pa.orders.get_order_status(order_id).status is OrderState.SUBMITTED, "nothing changed locally"

    gw.refuse_connections(0.0)
    wait_reconnected(pa, 1, timeout=15)
    expected = OrderState.FILLED if filled_meanwhile else OrderState.SUBMITTED
    wait_for(lambda: pa.orders.get_order_status(order_id).status is expected, timeout=10)
    wait_for(lambda: pa.orders.reconciler.runs >= 2, timeout=10)
    assert received(gw, *CHANGES) == before, "the refused modify and cancel were never sent later"
    (sim_order,) = sim_orders(gw, 1).values()
    assert sim_order.order_id == order_id and sim_order.perm_id == perm_id
    status = pa.orders.get_order_status(order_id)
    assert status.perm_id == perm_id
    assert sim_order.lmt_price == 140.0, "the modify never reached IB"
    assert [o.order_id for o in pa.orders.get_open_orders()] == ([] if filled_meanwhile else [order_id])
    if filled_meanwhile:
        fills.wait(1, timeout=5)
        assert len({f.exec_id for (f,) in fills.calls}) == len(fills.calls) == 1
        assert status.filled == 10
    else:  # the order is still ours to change, once
        assert pa.orders.modify_order(order_id, limit_price=141.0)
        wait_for(lambda: sim_order.lmt_price == 141.0, timeout=5)
        assert len(sim_orders(gw)) == 1 and pa.orders.get_order_status(order_id).perm_id == perm_id
