"""OrderReconciler with a fake EClient: timeouts, IB-link triggers, the periodic loop, completed
orders outside a run."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from platform_adapter import OrderState, RequestTimeout
from platform_adapter.log import logger
from platform_adapter.models.connection import ConnectionEventKind as Kind
from tests.conftest import FailsOnce, wait_for
from tests.unit.adapters.test_order_execution import contract, ib_order, ib_state, make_harness, placed


def answer_everything(pa: Any, fake: Any) -> None:
    w = pa.wrapper
    fake.on_call["reqOpenOrders"] = lambda: w.openOrderEnd()
    fake.on_call["reqCompletedOrders"] = lambda _api_only: w.completedOrdersEnd()
    fake.on_call["reqExecutions"] = lambda req_id, _filter: w.execDetailsEnd(req_id)


def test_timeouts_and_triggers(tmp_path: Path) -> None:
    pa, fake = make_harness(tmp_path, **{"ib_connection.request_timeout": 0.2})
    try:
        with pytest.raises(RequestTimeout, match="openOrderEnd"):
            pa.orders.reconcile()
        fake.on_call["reqOpenOrders"] = lambda: pa.wrapper.openOrderEnd()
        with pytest.raises(RequestTimeout, match="completedOrdersEnd"):
            pa.orders.reconcile()
        pa.lifecycle.run(Kind.IB_LINK_LOST)
        pa.lifecycle.reconnected()  # fails (no executions answer): logged, not raised
        assert pa.orders.reconciler.runs == 0
        answer_everything(pa, fake)
        pa.lifecycle.ib_link(Kind.IB_LINK_RESTORED_DATA_KEPT, "")  # on a thread of its own
        wait_for(lambda: pa.orders.reconciler.runs == 1)
    finally:
        pa.orders.stop()
        pa.events.stop()


def test_periodic_run_marks_orders_ib_does_not_know(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pa, fake = make_harness(tmp_path)
    try:
        answer_everything(pa, fake)
        order_id, ref = placed(pa)
        pa.wrapper.openOrder(order_id, contract(), ib_order(order_id, ref, 77), ib_state("Submitted"))
        monkeypatch.setattr(pa.connection, "is_connected", lambda: True)
        pa.orders.reconciler.start_periodic(0.05)
        pa.orders.reconciler.start_periodic(0.05)  # already running: no second loop
        wait_for(lambda: pa.orders.get_order_status(order_id).status is OrderState.INACTIVE)
        pa.orders.reconciler.stop_periodic()
        pa.wrapper.completedOrder(contract(), ib_order(0, ref, 77, filled=3), ib_state("Cancelled"))
        status = pa.orders.get_order_status(order_id)  # IB's later answer replaces our inference
        assert status.status is OrderState.CANCELLED and status.filled == Decimal(3)
        other, other_ref = placed(pa)
        state = ib_state("PendingCancel")
        state.completedStatus = "Cancelled by Trader"
        pa.wrapper.completedOrder(contract(), ib_order(0, other_ref, 78), state)
        assert pa.orders.get_order_status(other).status is OrderState.CANCELLED
        pa.wrapper.completedOrder(contract(), ib_order(0, "unknown", 79), ib_state("Filled"))
    finally:
        pa.orders.stop()
        pa.events.stop()


def test_a_periodic_run_that_raises_does_not_end_the_periodic_runs(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug in one periodic run (not a PlatformAdapterError) is logged; the next run follows."""
    pa, fake = make_harness(tmp_path)
    try:
        answer_everything(pa, fake)
        monkeypatch.setattr(pa.connection, "is_connected", lambda: True)
        reconciler = pa.orders.reconciler
        run = FailsOnce(reconciler.run)
        monkeypatch.setattr(reconciler, "run", run)
        reconciler.start_periodic(0.05)
        wait_for(lambda: reconciler.runs >= 1)
        reconciler.stop_periodic()
        assert [args[0] for args in run.calls[:2]] == ["periodic", "periodic"]
    finally:
        pa.orders.stop()
        pa.events.stop()


def test_a_gateway_older_than_completed_orders_is_not_asked_for_them(tmp_path: Path) -> None:
    """Below server version 150 ibapi refuses reqCompletedOrders (UPDATE_TWS): a run asks for open
    orders and executions only, instead of waiting for a completedOrdersEnd that cannot come."""
    pa, fake = make_harness(tmp_path, **{"ib_connection.request_timeout": 0.2})
    try:
        answer_everything(pa, fake)
        del fake.on_call["reqCompletedOrders"]
        pa.connection.server_version = 149
        pa.orders.reconcile()
        assert "reqCompletedOrders" not in fake.names() and {"reqOpenOrders", "reqExecutions"} <= set(fake.names())
    finally:
        pa.orders.stop()
        pa.events.stop()


def test_an_open_order_of_another_client_id_is_left_as_it_is_and_said_once(tmp_path: Path) -> None:
    """The adapter restarted under a new client id with an open order of the old one in its
    journal: IB reports that order only to its own client id, so reconciliation can neither
    confirm nor close it. It stays as it was (not marked Inactive) and a warning says so, once."""
    pa, fake = make_harness(tmp_path)
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="WARNING", format="{message}")
    try:
        answer_everything(pa, fake)
        order_id, ref = placed(pa)
        pa.wrapper.openOrder(order_id, contract(), ib_order(order_id, ref, 77), ib_state("Submitted"))
        pa.connection.client_id = 9
        pa.orders.reconcile()
        pa.orders.reconcile()
        assert pa.orders.get_order_status(order_id).status is OrderState.SUBMITTED
        assert pa.orders.reconciler.other_client_orders == {order_id}
        said = [line for line in lines if f"order {order_id}" in line and "client id" in line]
        assert len(said) == 1 and "connect with client id 1" in said[0]
    finally:
        logger.remove(sink)
        pa.orders.stop()
        pa.events.stop()
