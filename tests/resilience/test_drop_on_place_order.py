"""Link dropped right after the gateway receives a placeOrder, before or after acknowledging it:
exactly one order exists at the simulator afterwards, it is never re-sent, and the adapter knows
its true state (status, fills exactly once)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from platform_adapter import OrderState
from tests.conftest import Recorder, wait_for
from tests.resilience.conftest import received, sim_orders, wait_reconnected


@pytest.mark.parametrize("after_ack", [False, True], ids=["before_ack", "after_ack"])
@pytest.mark.parametrize("order_type", ["LMT", "MKT"])
def test_drop_right_after_place_order(sim_factory: Any, adapter_factory: Any, after_ack: bool,
                                      order_type: str) -> None:
    gw = sim_factory()
    pa = adapter_factory(gw)
    fills = Recorder()
    pa.orders.on_fill(fills)
    cid = pa.connection.client_id
    prices = {"limit_price": 100.0} if order_type == "LMT" else {}
    gw.drop_on_next_place_order(after_ack=after_ack)

    order_id = pa.orders.place_order("AAPL", "BUY", 100, order_type, tif="DAY", **prices)
    wait_reconnected(pa, 1)
    want = OrderState.SUBMITTED if order_type == "LMT" else OrderState.FILLED
    status = pa.orders.wait_for_status(order_id, want, timeout=10)

    orders = sim_orders(gw, cid)
    assert list(orders) == [order_id], "exactly one order at the simulator"
    assert received(gw, "placeOrder")["placeOrder"] == 1, "never re-sent"
    sim = orders[order_id]
    assert sim.order_ref == pa.orders.get_order(order_id).order_ref
    assert status.filled == Decimal(str(sim.filled))
    assert pa.orders.get_order(order_id).perm_id == sim.perm_id
    if order_type == "MKT":
        fills.wait(1, timeout=5)
        wait_for(lambda: pa.orders.get_order_status(order_id).filled == Decimal(100), timeout=5)
        assert sorted(f.exec_id for (f,) in fills.calls) == sorted(sim.exec_ids), "each fill exactly once"
    else:
        assert [o.order_id for o in pa.orders.get_open_orders()] == [order_id]
