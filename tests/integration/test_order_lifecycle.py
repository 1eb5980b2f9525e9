"""Order lifecycles over TCP against the simulator: every order type placed, partially filled and
filled; placed, modified and cancelled; rejected."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from platform_adapter import OrderRejected, OrderState, OrderStateError
from platform_adapter.errors import RequestTimeout
from tests.conftest import wait_for

AAPL = 265598


def sim_order(gateway: Any, order_id: int, client_id: int) -> Any:
    return next(o for o in gateway.stats().orders if o.order_id == order_id and o.client_id == client_id)


def statuses_of(recorder: Any, order_id: int) -> list[tuple[str, Decimal]]:
    return [(s.status.value, s.filled) for (s,) in recorder.calls if s.order_id == order_id]


@pytest.mark.parametrize("order_type, prices", [
    ("MKT", lambda q: {}),
    ("LMT", lambda q: {"limit_price": round(q.ask + 1.0, 2)}),
    ("STP", lambda q: {"stop_price": round(q.last - 1.0, 2)}),
    ("STP LMT", lambda q: {"stop_price": round(q.last - 1.0, 2), "limit_price": round(q.ask + 1.0, 2)}),
])
def test_each_order_type_is_placed_partially_filled_and_filled(pa: Any, gateway: Any, recorder: Any,
                                                               order_type: str, prices: Any) -> None:
    fills: list[Any] = []
    pa.orders.on_order_status(recorder)
    pa.orders.on_fill(fills.append)
    quote = gateway.market.quote(AAPL)
    order_id = pa.orders.place_order("AAPL", "BUY", 2500, order_type, **prices(quote))

    status = pa.orders.wait_for_status(order_id, OrderState.FILLED, timeout=5)
    assert status.filled == Decimal(2500) and status.remaining == 0
    wait_for(lambda: len(fills) == 3)
    sim = sim_order(gateway, order_id, pa.connection.client_id)
    assert sim.status == "Filled" and sim.order_ref == pa.orders.get_order(order_id).order_ref
    assert (pa.orders.encoder.fast, pa.orders.encoder.fallbacks) == (1, 0)  # sent from the placeOrder template
    assert sorted(f.exec_id for f in fills) == sorted(sim.exec_ids)
    assert sum(f.quantity for f in fills) == Decimal(2500)
    assert status.avg_fill_price == pytest.approx(sim.avg_fill_price)
    assert sum(f.commission for f in fills) == pytest.approx(sim.commission)
    wait_for(lambda: ("Filled", Decimal(2500)) in statuses_of(recorder, order_id))
    partial = [filled for st, filled in statuses_of(recorder, order_id) if st != "Filled" and 0 < filled < 2500]
    assert partial, "partial fills were reported before the final fill"
    assert [s.status for s in [pa.orders.get_order_status(order_id)]] == [OrderState.FILLED]


def test_limit_order_modified_then_cancelled(pa: Any, gateway: Any) -> None:
    order_id = pa.orders.place_order("AAPL", "BUY", 10, "LMT", limit_price=100.0, tif="DAY")
    pa.orders.wait_for_status(order_id, "Submitted", timeout=5)
    assert [o.order_id for o in pa.orders.get_open_orders()] == [order_id]

    assert pa.orders.modify_order(order_id, limit_price=101.5, quantity=20)
    wait_for(lambda: pa.orders.get_order(order_id).request.limit_price == 101.5)
    assert pa.orders.get_order(order_id).request.quantity == Decimal(20)
    sim = sim_order(gateway, order_id, pa.connection.client_id)
    assert (sim.lmt_price, sim.total_qty) == (101.5, 20)
    assert gateway.stats().received["placeOrder"] == 2
    assert len([o for o in gateway.stats().orders if o.client_id == pa.connection.client_id]) == 1

    assert pa.orders.cancel_order(order_id)
    status = pa.orders.wait_for_status(order_id, "Cancelled", timeout=5)
    assert status.filled == 0
    assert pa.orders.get_open_orders() == []
    with pytest.raises(OrderStateError):
        pa.orders.cancel_order(order_id)
    with pytest.raises(OrderStateError):
        pa.orders.modify_order(order_id, limit_price=102.0)
    assert pa.orders.get_order(order_id).request.limit_price == 101.5
    assert gateway.stats().received["cancelOrder"] == 1


def statuses_once_a_later_order_reported(pa: Any, recorder: Any, order_id: int) -> list[str]:
    """``order_id``'s status callbacks once a later order's first status has reached the same
    callback: IB's messages and the callbacks keep their order, so nothing of ``order_id`` is
    still on its way then."""
    later = pa.orders.place_order("MSFT", "BUY", 1, "MKT")
    wait_for(lambda: any(s.order_id == later for (s,) in recorder.calls))
    return [s.status.value for (s,) in recorder.calls if s.order_id == order_id]


def test_a_cancelled_resting_order_is_reported_cancelled_once(pa: Any, gateway: Any, recorder: Any) -> None:
    """IB answers a cancel with orderStatus Cancelled (its unfilled quantity as remaining), then
    openOrder Cancelled and error 202: one status change, one callback (before: a second
    Cancelled as remaining went from 10 to 0)."""
    pa.orders.on_order_status(recorder)
    order_id = pa.orders.place_order("AAPL", "BUY", 10, "LMT", limit_price=100.0, tif="DAY")
    pa.orders.wait_for_status(order_id, "Submitted", timeout=5)
    pa.orders.cancel_order(order_id)
    pa.orders.wait_for_status(order_id, "Cancelled", timeout=5)
    pa.orders.reconcile()  # and IB's completed order, reconciled once more, is no news either
    assert statuses_once_a_later_order_reported(pa, recorder, order_id) == ["Submitted", "Cancelled"]
    status = pa.orders.get_order_status(order_id)
    assert (status.status, status.filled, status.remaining) == (OrderState.CANCELLED, 0, 0)


def test_rejection_is_reported_with_ib_text(pa: Any, gateway: Any, recorder: Any) -> None:
    pa.orders.on_order_status(recorder)
    gateway.reject_next_order("no trading permissions")
    with pytest.raises(OrderRejected) as info:
        pa.orders.place_order_and_wait("AAPL", "BUY", 10, "LMT", limit_price=100.0, timeout=5)
    assert info.value.code == 201 and "no trading permissions" in info.value.message
    order_id = info.value.req_id
    status = pa.orders.get_order_status(order_id)
    assert status.status is OrderState.REJECTED and "no trading permissions" in status.reject_reason
    wait_for(lambda: ("Rejected", Decimal(0)) in statuses_of(recorder, order_id))
    with pytest.raises(OrderRejected):
        pa.orders.wait_for_status(order_id, "Filled", timeout=1)


def test_ib_error_on_modify_leaves_the_order_as_it_was(make_adapter: Any, gateway: Any) -> None:
    pa = make_adapter(**{"orders.validate_before_submit": False})
    order_id = pa.orders.place_order("AAPL", "BUY", 10, "LMT", limit_price=100.0)
    pa.orders.wait_for_status(order_id, "Submitted", timeout=5)
    pa.orders.modify_order(order_id, limit_price=100.005)  # off tick: IB answers 110
    wait_for(lambda: "110" in pa.orders.get_order_status(order_id).last_error)
    order = pa.orders.get_order(order_id)
    assert order.status.status is OrderState.SUBMITTED and order.request.limit_price == 100.0
    assert sim_order(gateway, order_id, pa.connection.client_id).lmt_price == 100.0


def test_wait_for_status_times_out_and_reports_other_final_states(pa: Any) -> None:
    order_id = pa.orders.place_order("AAPL", "SELL", 5, "LMT", limit_price=999.0)
    with pytest.raises(RequestTimeout):
        pa.orders.wait_for_status(order_id, "Filled", timeout=0.2)
    pa.orders.cancel_order(order_id)
    with pytest.raises(OrderStateError):
        pa.orders.wait_for_status(order_id, "Filled", timeout=5)


def test_a_modification_sent_before_the_previous_one_is_confirmed_keeps_it(pa: Any, gateway: Any) -> None:
    """Two modifications in a row, the gateway answering neither before both are sent: the second
    builds on the first (IB replaces the whole order), so the first's price is not undone."""
    order_id = pa.orders.place_order("AAPL", "BUY", 10, "LMT", limit_price=100.0, tif="DAY")
    pa.orders.wait_for_status(order_id, "Submitted", timeout=5)
    gateway.freeze()
    try:
        pa.orders.modify_order(order_id, limit_price=101.5)
        pa.orders.modify_order(order_id, quantity=20)
    finally:
        gateway.thaw()
    wait_for(lambda: pa.orders.get_order(order_id).request.quantity == Decimal(20))
    sim = sim_order(gateway, order_id, pa.connection.client_id)
    assert (sim.lmt_price, sim.total_qty) == (101.5, 20)
    assert pa.orders.get_order(order_id).request.limit_price == 101.5
