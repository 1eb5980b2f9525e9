"""Order reconciliation (spec 2.2.5, DESIGN section 3): at start-up, after every reconnect or IB
link restore (steps of ``core/lifecycle.py``), and periodically, ask IB for open orders, completed
orders and executions (since the newest one seen at the last reconciliation), match them to our
orders by orderRef, permId and order id, correct the cache, and log every discrepancy. An order
whose placement was in flight is looked up, never sent again."""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ibapi.server_versions import MIN_SERVER_VER_COMPLETED_ORDERS

from platform_adapter.adapters.orders.models import parse_state, to_decimal
from platform_adapter.core.request_registry import EndWaiter
from platform_adapter.errors import PlatformAdapterError
from platform_adapter.log import logger
from platform_adapter.models.order import TERMINAL_STATES, OrderState

if TYPE_CHECKING:
    from platform_adapter.adapters.order_execution import OrderExecutionAdapter

NEVER_SENT = "placement never reached IB (not found by orderRef after reconnect); not re-sent"


class OrderReconciler:
    """Runs one reconciliation at a time; IB's open/completed order requests have no request id,
    so their answers are collected between the request and its ``...End`` message (the order
    handler hands them over: ``open_orders_end``, ``completed_order``, ``completed_orders_end``,
    ``exec_details_end``)."""

    def __init__(self, adapter: OrderExecutionAdapter) -> None:
        self.adapter = adapter
        self._lock = threading.Lock()
        self._open_done = EndWaiter(adapter.registry, "openOrderEnd")
        self._completed_done = EndWaiter(adapter.registry, "completedOrdersEnd")
        self._seen_open: set[int] | None = None
        self._seen_completed: set[int] | None = None
        self._completed: list[tuple[int, OrderState, str, Decimal]] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs = 0
        self.other_client_orders: set[int] = set()  # open in the cache, placed under another client id

    # --- periodic runs -------------------------------------------------------------------------
    def start_periodic(self, interval: float) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, args=(interval,), name="pa-order-reconcile", daemon=True)
        self._thread.start()

    def stop_periodic(self) -> None:
        self._stop.set()

    def _loop(self, interval: float) -> None:
        while not self._stop.wait(interval):
            if self.adapter.connection.is_connected() and self.adapter.connection.ib_link_ok:
                try:
                    self.run("periodic", resolve_in_flight=False)
                except PlatformAdapterError as exc:
                    logger.error("order reconciliation (periodic) failed: {}", exc)
                except Exception:  # noqa: BLE001 - a bug must not end the periodic runs
                    logger.opt(exception=True).error("order reconciliation (periodic) raised")

    # --- collecting ------------------------------------------------------------------------------
    def saw_open(self, key: int) -> None:
        seen = self._seen_open
        if seen is not None:
            seen.add(key)

    def open_orders_end(self) -> None:
        self._open_done.done()

    def completed_orders_end(self) -> None:
        self._completed_done.done()

    def completed_order(self, ib_order: Any, ib_state: Any) -> None:
        a = self.adapter
        oid = a.match(0, 0, int(ib_order.permId or 0), ib_order.orderRef)
        if oid is None:
            return
        a.remember_ids(oid, "", int(ib_order.permId or 0))
        state = parse_state(ib_state.status)
        if state not in TERMINAL_STATES:
            state = OrderState.CANCELLED if "cancel" in (ib_state.completedStatus or "").lower() else state
        entry = (oid, state, ib_state.completedStatus or "", to_decimal(ib_order.filledQuantity))
        seen, pending = self._seen_completed, self._completed
        if seen is not None and pending is not None:
            seen.add(oid)
            pending.append(entry)  # applied once the executions (and so the prices) are in
            return
        self._apply_completed(*entry)

    def _apply_completed(self, oid: int, state: OrderState, reason: str, filled: Decimal) -> None:
        """IB's final state and filled quantity, with the order's executions (their quantity and
        average price: ``Trade.apply_fills``)."""
        self.adapter.apply_fills(oid, state, reason, filled)

    def exec_details_end(self, req_id: int) -> None:
        self.adapter.registry.finish(req_id)

    # --- the run -----------------------------------------------------------------------------------
    def run(self, reason: str, resolve_in_flight: bool) -> None:
        """One reconciliation; raises NotConnected / RequestTimeout when IB does not answer."""
        a = self.adapter
        timeout = a.settings.ib_connection.request_timeout
        with self._lock:
            a.ids.sync(a.connection.next_valid_id)
            started = time.monotonic()
            before = {o.order_id: o for o in a.state.trades_snapshot()}
            completed: list[tuple[int, OrderState, str, Decimal]] = []
            self._seen_open, self._seen_completed = set(), set()
            self._completed = completed
            try:
                self._open_done.begin()
                a.request_open_orders()
                self._open_done.wait(timeout)
                version = a.connection.server_version
                if version is None or version >= MIN_SERVER_VER_COMPLETED_ORDERS:  # ibapi refuses it before
                    self._completed_done.begin()
                    a.request_completed_orders()
                    self._completed_done.wait(timeout)
                seen = set(self._seen_open) | set(self._seen_completed)
                mark = a.fills.last_ib_time  # every execution up to this one is known once IB answers
                since = a.fills.reconciled_ib_time
                a.request_executions(mark if since is None else since, timeout)
                a.fills.reconciled_ib_time = mark
            finally:
                self._seen_open = self._seen_completed = self._completed = None
            for entry in completed:
                self._apply_completed(*entry)
            self._settle(reason, before, seen, resolve_in_flight, started, a.connection.client_id)
            self.runs += 1

    def _other_client(self, reason: str, order: Any, client_id: int) -> None:
        """An open order of the journal placed under another client id (the adapter restarted with
        a new ``client_id``): IB reports an order only to the client that placed it, so it can be
        neither confirmed nor closed here. Left as it is, and said once."""
        if order.order_id in self.other_client_orders:
            return
        self.other_client_orders.add(order.order_id)
        logger.warning("reconcile ({}): order {} ({}) is {} in the journal but was placed by client id {}, not {}: "
                       "IB reports it only to that client id; left as it is (connect with client id {} once to "
                       "settle it)", reason, order.order_id, order.order_ref, order.status.status.value,
                       order.client_id, client_id, order.client_id)

    def _settle(self, reason: str, before: dict[int, Any], seen: set[int], resolve_in_flight: bool,
                started: float, client_id: int) -> None:
        a = self.adapter
        for order in a.state.trades_snapshot():
            st = order.status
            fills = st.fills
            if fills:  # executions prove IB has the order even when open/completed orders missed it
                st = a.apply_fills(order.order_id) or st
            if st.status not in TERMINAL_STATES and order.order_id not in seen and not fills \
                    and order.client_id != client_id:
                self._other_client(reason, order, client_id)
            if st.status not in TERMINAL_STATES and order.order_id not in seen and not fills \
                    and order.client_id == client_id and a.sent_before(order.order_id, started):
                if st.status in (OrderState.PENDING_SUBMIT, OrderState.API_PENDING) and not order.perm_id:
                    if resolve_in_flight:
                        logger.warning("reconcile ({}): order {} ({}) {}", reason, order.order_id,
                                       order.order_ref, NEVER_SENT)
                        a.set_state(order.order_id, OrderState.REJECTED, reason=NEVER_SENT)
                else:
                    logger.warning("reconcile ({}): order {} is {} in the cache but IB reports it neither open "
                                   "nor completed; marking it Inactive", reason, order.order_id, st.status.value)
                    a.set_state(order.order_id, OrderState.INACTIVE)
            old = before.get(order.order_id)
            new = a.state.get_order(order.order_id)
            if old is not None and new is not None and (old.status.status, old.status.filled) != (
                    new.status.status, new.status.filled):
                logger.warning("reconcile ({}): order {} was {} filled {} in the cache; IB says {} filled {}", reason,
                               order.order_id, old.status.status.value, old.status.filled, new.status.status.value,
                               new.status.filled)
