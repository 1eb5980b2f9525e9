"""Several threads placing, modifying, cancelling and reading orders at once: no exception, no
deadlock, unique ids, and the adapter's orders equal the simulator's at the end."""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from typing import Any

from platform_adapter import OrderState


def test_concurrent_place_modify_cancel_and_read(pa: Any, gateway: Any) -> None:
    errors: list[BaseException] = []
    placed: list[int] = []
    lock = threading.Lock()
    stop = threading.Event()

    def trader(n: int) -> None:
        try:
            for i in range(8):
                order_id = pa.orders.place_order("AAPL", "BUY", 1 + i, "LMT", limit_price=100.0 + n)
                with lock:
                    placed.append(order_id)
                pa.orders.wait_for_status(order_id, "Submitted", timeout=10)
                pa.orders.modify_order(order_id, limit_price=101.0 + n, quantity=2 + i)
                if i % 2:
                    pa.orders.cancel_order(order_id)
                    pa.orders.wait_for_status(order_id, "Cancelled", timeout=10)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    def reader() -> None:
        while not stop.is_set():
            try:
                pa.orders.get_open_orders()
                for order_id in list(placed):
                    pa.orders.get_order_status(order_id)
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)
                return

    threads = [threading.Thread(target=trader, args=(n,)) for n in range(4)] + [threading.Thread(target=reader)]
    for t in threads:
        t.start()
    for t in threads[:-1]:
        t.join(60)
    stop.set()
    threads[-1].join(10)
    assert not errors, errors
    assert not any(t.is_alive() for t in threads)
    assert len(set(placed)) == len(placed) == 32

    sim = {o.order_id: o for o in gateway.stats().orders if o.client_id == pa.connection.client_id}
    assert set(sim) == set(placed)
    pa.orders.reconcile()
    for order_id in placed:
        ours = pa.orders.get_order(order_id)
        theirs = sim[order_id]
        assert ours.status.status.value == theirs.status
        assert ours.request.limit_price == theirs.lmt_price
        assert ours.request.quantity == Decimal(str(theirs.total_qty))
    assert len(pa.orders.get_open_orders()) == 16
    assert all(o.status.status is OrderState.SUBMITTED for o in pa.orders.get_open_orders())


def test_ids_reach_ib_in_the_order_they_were_allocated(pa: Any, gateway: Any) -> None:
    """IB refuses (103 "Duplicate order id") a new order whose id is not above every id the client
    sent before. Two threads place at once, the first to get its id held up until the second has
    its id (at most 1 s): the service places for many clients on many threads like this. Both
    orders reach the gateway; before, the second id went out first and the first order was
    rejected with 103."""
    allocated: list[int] = []
    second = threading.Event()

    def listener(order_id: int) -> None:
        allocated.append(order_id)
        if len(allocated) == 1:
            second.wait(1.0)  # the placing thread, before the order is sent
        else:
            second.set()

    pa.orders.listen_new_orders(listener)
    ids: list[int] = []
    errors: list[BaseException] = []

    def place(price: float) -> None:
        try:
            ids.append(pa.orders.place_order("AAPL", "BUY", 1, "LMT", limit_price=price))
        except BaseException as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    first = threading.Thread(target=place, args=(100.0,))
    first.start()
    while not allocated:
        time.sleep(0.001)
    other = threading.Thread(target=place, args=(101.0,))
    other.start()
    first.join(10)
    other.join(10)
    assert not errors, errors
    statuses = {oid: pa.orders.wait_for_status(oid, "Submitted", timeout=10).status for oid in ids}
    assert statuses == dict.fromkeys(allocated, OrderState.SUBMITTED)
    sim = {o.order_id for o in gateway.stats().orders if o.client_id == pa.connection.client_id}
    assert sim == set(allocated)
