"""Through the service: the exits the adapter places anew for a bracket whose entry was cancelled
partly filled belong to the bracket's client (its statuses and fills reach it, and it may
modify them), not to nobody; and its ``get_order`` of a replaced exit names the new one."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from platform_adapter.sim import SimulatedGateway
from tests.conftest import Recorder, wait_for


@pytest.fixture
def still_gateway() -> Iterator[SimulatedGateway]:
    """A simulator whose market does not move; fills come in lots of 40."""
    with SimulatedGateway(host="127.0.0.1", port=0, seed=7, tick_interval=3600.0) as gw:
        gw.set_price("AAPL", 190.0)
        gw.engine.partial_fill_size = 40
        yield gw


def test_the_replaced_exits_belong_to_the_brackets_client(still_gateway: SimulatedGateway, service_factory: Any,
                                                          remote_factory: Any) -> None:
    gateway = still_gateway
    served = service_factory(gateway)
    a, b = remote_factory(served, "a"), remote_factory(served, "b")
    seen, fills = Recorder(), Recorder()
    a.orders.on_order_status(seen)
    a.orders.on_fill(fills)
    bracket = a.orders.place_bracket_order("AAPL", "BUY", 100, 189.0, 195.0, 185.0, tif="GTC")
    a.orders.wait_for_status(bracket.stop_loss, "PreSubmitted", timeout=5)
    gateway.set_price("AAPL", 189.0, bid=188.99, ask=189.0)
    wait_for(lambda: a.orders.get_order_status(bracket.parent).filled == 40, timeout=5)
    a.orders.cancel_order(bracket.parent)

    new_tp = wait_for(lambda: a.orders.get_order(bracket.take_profit).replaced_by, timeout=5)
    new_sl = wait_for(lambda: a.orders.get_order(bracket.stop_loss).replaced_by, timeout=5)
    a.orders.wait_for_status(new_sl, "PreSubmitted", timeout=5)
    assert {served.service.router.owner(i) for i in (new_tp, new_sl)} == {"a"}
    assert a.orders.get_order(new_sl).request.quantity == Decimal(40)
    assert {o.order_id for o in a.orders.get_open_orders()} == {new_tp, new_sl}
    assert b.orders.get_open_orders() == []
    wait_for(lambda: {new_tp, new_sl} <= {s.order_id for (s,) in seen.calls}, timeout=5)

    assert a.orders.modify_order(new_sl, stop_price=186.0)  # its client may move it
    wait_for(lambda: a.orders.get_order(new_sl).request.stop_price == 186.0, timeout=5)
    gateway.set_price("AAPL", 196.0)
    assert a.orders.wait_for_status(new_tp, "Filled", timeout=5).filled == 40
    a.orders.wait_for_status(new_sl, "Cancelled", timeout=5)
    wait_for(lambda: any(f.order_id == new_tp for (f,) in fills.calls), timeout=5)
    assert sum(p.qty for p in gateway.account.positions.values()) == 0
