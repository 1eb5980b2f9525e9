"""``RemoteAdapter.orders``: the facade's order interface, served by the service.

The service routes this client's order statuses and fills to it only, numbered; each is applied
to a local status cache at once (so ``wait_for_status`` wakes without a round trip) and then
handed to the callbacks on the event thread; its number is acknowledged after they returned
(a fill reaches the callbacks at least once, as with the facade).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from platform_adapter.adapters.order_execution import ACCEPTED
from platform_adapter.adapters.orders.models import parse_statuses
from platform_adapter.core.events import EventDispatcher
from platform_adapter.errors import RequestTimeout, ValidationError
from platform_adapter.models.order import (
    TERMINAL_STATES,
    BracketOrder,
    Fill,
    OcaGroup,
    OcaType,
    Order,
    OrderState,
    OrderStatus,
)
from platform_adapter.models.preview import OrderPreview
from platform_adapter.remote.transport import Transport
from platform_adapter.service.commands import MAX_WAIT_SECONDS
from platform_adapter.service.protocol import Event, sendable_spec
from platform_adapter.service.schema import decode
from platform_adapter.utils.validators import check_callback, check_wait


def _sendable_order(order: Mapping[str, Any]) -> dict[str, Any]:
    """One of ``place_oca_group``'s orders as a map (the facade judges it; see ``sendable_spec``)."""
    item = dict(order)
    if "symbol" in item:
        sendable_spec(item["symbol"])
    return item


def _order_id(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValidationError("order_id", value, "must be a positive integer")
    return value


class RemoteOrders:
    """Place, modify, cancel and track this client's orders through the service."""

    def __init__(self, transport: Transport, events: EventDispatcher) -> None:
        self._t = transport
        self._events = events
        self._changed = threading.Condition()
        self._statuses: dict[int, OrderStatus] = {}
        self._placed: set[int] = set()  # placed by this process: its first status event is on its way
        self._status_callbacks: list[Callable[[OrderStatus], Any]] = []
        self._fill_callbacks: list[Callable[[Fill], Any]] = []

    def place_order(self, symbol: Any, action: Any, quantity: Any, order_type: Any, **kwargs: Any) -> int:
        """As ``PlatformAdapter.orders.place_order``: validated by the service's adapter, sent to
        IB, owned by this client's name; returns the order id."""
        order_id: int = self._t.call("orders.place_order", {"symbol": sendable_spec(symbol), "action": action,
                                                            "quantity": quantity, "order_type": order_type,
                                                            "kwargs": kwargs})
        self._mark_placed((order_id,))
        return order_id

    def place_bracket_order(self, symbol: Any, action: Any, quantity: Any, limit_price: Any, take_profit_price: Any,
                            stop_loss_price: Any, **kwargs: Any) -> BracketOrder:
        """A limit entry with a take-profit limit and a stop-loss stop, owned by this client (so are
        the exits the service's adapter places anew if the entry ends partly filled)."""
        bracket = decode(BracketOrder, self._t.call("orders.place_bracket_order", {
            "symbol": sendable_spec(symbol), "action": action, "quantity": quantity, "limit_price": limit_price,
            "take_profit_price": take_profit_price, "stop_loss_price": stop_loss_price, "kwargs": kwargs}))
        self._mark_placed(bracket.order_ids)
        return bracket

    def place_oca_group(self, orders: Iterable[Mapping[str, Any]], oca_group: str | None = None,
                        oca_type: Any = OcaType.CANCEL_WITH_BLOCK) -> OcaGroup:
        """Orders placed as one one-cancels-all group (each a mapping of ``symbol``, ``action``,
        ``quantity``, ``order_type`` and ``place_order``'s keyword arguments)."""
        items = orders if isinstance(orders, str | bytes | Mapping) or not isinstance(orders, Iterable) \
            else [_sendable_order(o) if isinstance(o, Mapping) else o for o in orders]
        kind = int(oca_type) if isinstance(oca_type, OcaType) else oca_type
        group = decode(OcaGroup, self._t.call("orders.place_oca_group", {
            "orders": items, "oca_group": oca_group, "oca_type": kind}))
        self._mark_placed(group.order_ids)
        return group

    def preview_order(self, symbol: Any, action: Any, quantity: Any, order_type: Any, **kwargs: Any) -> OrderPreview:
        """IB's margin, equity and commission for an order, without placing it."""
        return decode(OrderPreview, self._t.call("orders.preview_order", {
            "symbol": sendable_spec(symbol), "action": action, "quantity": quantity, "order_type": order_type,
            "kwargs": kwargs}))

    def _mark_placed(self, order_ids: Iterable[int]) -> None:
        """Orders placed by this process: their first status event is on its way."""
        with self._changed:
            self._placed.update(o for o in order_ids if o not in self._statuses)

    def place_order_and_wait(self, symbol: Any, action: Any, quantity: Any, order_type: Any,
                             wait_for: Iterable[OrderState | str] = ACCEPTED, timeout: float = 10.0,
                             **kwargs: Any) -> OrderStatus:
        """``place_order`` then ``wait_for_status``, in one command: the service answers with
        the status that ended the wait (one round trip; the status event still follows on the
        event stream for the callbacks). Raises what the facade raises."""
        wanted = sorted(s.value for s in parse_statuses(wait_for))
        limit = check_wait(timeout)  # as the facade: bad ones refused before anything is placed
        if limit > MAX_WAIT_SECONDS:
            order_id = self.place_order(symbol, action, quantity, order_type, **kwargs)  # waits here
            return self.wait_for_status(order_id, wait_for, limit)
        status = decode(OrderStatus, self._t.call("orders.place_order_and_wait", {
            "symbol": sendable_spec(symbol), "action": action, "quantity": quantity, "order_type": order_type,
            "kwargs": kwargs, "wait_for": wanted, "timeout": timeout}))
        self._mark_placed((status.order_id,))
        return status

    def cancel_order(self, order_id: int) -> bool:
        return bool(self._t.call("orders.cancel_order", {"order_id": order_id}))

    def modify_order(self, order_id: int, **kwargs: Any) -> bool:
        return bool(self._t.call("orders.modify_order", {"order_id": order_id, "kwargs": kwargs}))

    def get_order_status(self, order_id: int) -> OrderStatus:
        return decode(OrderStatus, self._t.call("orders.get_order_status", {"order_id": order_id}))

    def get_order(self, order_id: int) -> Order:
        return decode(Order, self._t.call("orders.get_order", {"order_id": order_id}))

    def get_open_orders(self) -> list[Order]:
        """This client's orders that may still fill."""
        return [decode(Order, o) for o in self._t.call("orders.get_open_orders")]

    def wait_for_status(self, order_id: int, statuses: Iterable[OrderState | str] | OrderState | str | None = None,
                        timeout: float = 10.0) -> OrderStatus:
        """Block until the order reaches one of ``statuses`` (default: any final state); raises
        as the facade does (OrderRejected, OrderStateError, RequestTimeout)."""
        wanted = parse_statuses(statuses)
        check_wait(timeout)
        _order_id(order_id)
        deadline = time.monotonic() + timeout
        with self._changed:  # an order placed here: its first event comes without asking
            self._changed.wait_for(lambda: order_id in self._statuses or order_id not in self._placed, timeout)
        if order_id not in self._statuses:
            known = self.get_order_status(order_id)  # OrderStateError for an order that is not ours
            with self._changed:
                self._statuses.setdefault(order_id, known)
        with self._changed:
            while True:
                status = self._statuses[order_id]
                if status.status in wanted:
                    return status
                if status.status in TERMINAL_STATES:
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise RequestTimeout(f"order {order_id} still {status.status.value} after {timeout:g}s")
                self._changed.wait(remaining)
        # a final state that was not wanted: the service raises exactly what the facade raises
        return decode(OrderStatus, self._t.call("orders.wait_for_status", {
            "order_id": order_id, "statuses": sorted(s.value for s in wanted), "timeout": 0.0}))

    def on_order_status(self, callback: Callable[[OrderStatus], Any]) -> None:
        """Call ``callback(OrderStatus)`` on every status change of this client's orders (a final
        state once, as the facade reports it)."""
        self._status_callbacks.append(check_callback(callback))

    def on_fill(self, callback: Callable[[Fill], Any]) -> None:
        """Call ``callback(Fill)`` once per execution of this client's orders (at least once)."""
        self._fill_callbacks.append(check_callback(callback))

    def reconcile(self) -> None:
        self._t.call("orders.reconcile")

    # --- events (the transport's thread) -------------------------------------------------------------
    def on_event(self, ev: dict[str, Any]) -> None:
        seq = int(ev["seq"])
        if ev["ev"] == Event.ORDER_STATUS:
            status = decode(OrderStatus, ev["status"])
            with self._changed:
                self._statuses[status.order_id] = status
                self._placed.discard(status.order_id)
                self._changed.notify_all()
            self._events.submit_task(self._deliver, self._status_callbacks, status, seq)
        else:
            self._events.submit_task(self._deliver, self._fill_callbacks, decode(Fill, ev["fill"]), seq)

    def _deliver(self, callbacks: list[Callable[[Any], Any]], item: Any, seq: int) -> None:
        for cb in tuple(callbacks):
            self._events.call(cb, item)
        self._t.ack(seq)
