"""An execution the gateway made as the link dropped (its reports lost with the link) is found by
the reconciliation after the reconnect even when a later fill reaches the adapter live on the new
link before the reconciliation asks IB for executions: the request asks from the newest execution
seen at the last reconciliation, not from the newest seen (whose time is past the lost one's).
Found by the service's chaos soak: strategies placing through the service while it reconnects."""

from __future__ import annotations

import time
from typing import Any

from platform_adapter import NotConnected
from tests.conftest import wait_for
from tests.resilience.conftest import AdapterFactory, GatewayFactory, wait_reconnected


def test_a_lost_execution_is_found_after_a_later_live_fill(sim_factory: GatewayFactory,
                                                           adapter_factory: AdapterFactory) -> None:
    gw = sim_factory()
    pa = adapter_factory(gw)
    fills: list[Any] = []
    pa.orders.on_fill(fills.append)
    first = pa.orders.place_order("MSFT", "BUY", 1, "MKT")
    wait_for(lambda: [f for f in fills if f.order_id == first])  # a fill seen: executions known up to it

    armed: list[bool] = []
    later: list[int] = []
    ask = pa.orders.request_completed_orders

    def request_completed_orders() -> None:
        """The reconciliation after the reconnect, before it asks IB for executions: a new order
        fills live, in a later second than the lost execution."""
        if armed and not later:
            newest = max(e.epoch for e in gw.stats().executions)  # the lost one (the gateway made it last)
            while time.time() < int(newest) + 1:  # execution times are whole seconds
                time.sleep(0.01)
            later.append(pa.orders.place_order("MSFT", "BUY", 1, "MKT"))
            wait_for(lambda: [f for f in fills if f.order_id == later[0]])
        ask()

    pa.orders.request_completed_orders = request_completed_orders  # type: ignore[method-assign]
    gw.drop_on_next_place_order()  # the gateway takes and fills the order, sends nothing, drops the link
    armed.append(True)
    try:
        lost = pa.orders.place_order("MSFT", "BUY", 1, "MKT")
    except NotConnected:  # the drop seen as it was sent
        lost = max(o.order_id for o in gw.stats().orders)
    wait_for(lambda: [e for e in gw.stats().executions if e.order_id == lost])
    wait_reconnected(pa, 1)
    wait_for(lambda: later)
    wait_for(lambda: [f for f in fills if f.order_id == lost], timeout=10)
    assert sorted(f.exec_id for f in fills) == sorted(e.exec_id for e in gw.stats().executions)
