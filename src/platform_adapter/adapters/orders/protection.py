"""A bracket whose entry ends partly filled keeps its position protected.

When a bracket's entry ends (``Cancelled``, ``ApiCancelled``, ``Inactive``, ...) after filling
part of its quantity, the position it opened must still have its take profit and stop loss, and
neither may be larger than the position (an exit larger than the position would open a reverse
one). IB's documentation does not say what it does with a parent's attached orders then (see
docs/simulator.md); the simulator cancels them with the entry. So, for each exit role (the take
profit, ``LMT``; the stop loss, ``STP``), the adapter looks at that role's latest order:

- still working: resized through ``modify_order`` to the position (its own fills plus what the
  entry filled less what every exit has filled);
- over without taking the position (cancelled by IB with the entry; not by its owner, not
  refused by IB, not itself a replacement, which is placed once): placed anew for the position, at
  the original price, time in force, account and ``outside_rth``, as an OCA pair
  (``ocaType`` 2, as the bracket's exits) with the other role's working order, or with its own
  new one. The new order keeps the entry as its ``parent_id`` (the bracket's own link, so
  ``StateManager.children`` finds it; IB is sent no parent) and names the exit it replaces in
  ``OrderExtras.replaces``; the replaced exit's ``Order.replaced_by`` names it. An exit good till
  a date (GTD) that has passed is not placed again (a critical log line): it would have expired
  there itself, IB refuses a past date, and the adapter never extends an order's life beyond
  what its owner set.

"Cancelled by its owner" outlives the process: ``cancel_order`` writes its history line to the
journal before the cancel is sent, and the adapter reads these lines back at open
(``cancelled_by_user``); so an exit cancelled before a crash is not placed again when the entry's
end is first seen after the restart. A cancel of the entry itself leaves the exits to this pass:
the position it filled stays protected.

Exits still working when the pass starts may be on their way out (IB cancelling them with the
entry): one round trip to the gateway (``reqCurrentTime``, answered in order) has the statuses IB
sent before it applied, then the pass looks again.

The work runs on a thread of its own, started by a status listener (which returns at once), one
pass at a time; an entry whose pass the link cut short is taken up again after the reconnect's
reconciliation."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING

from platform_adapter.adapters.orders.extras import check_good_till
from platform_adapter.adapters.orders.requests import new_ref
from platform_adapter.errors import NotConnected, OrderStateError, PlatformAdapterError, ValidationError
from platform_adapter.log import logger
from platform_adapter.models.order import (
    TERMINAL_STATES,
    OcaType,
    Order,
    OrderExtras,
    OrderRequest,
    OrderState,
    OrderStatus,
    OrderType,
    TimeInForce,
    Trade,
)

if TYPE_CHECKING:
    from platform_adapter.adapters.order_execution import OrderExecutionAdapter

ROLES = {OrderType.LIMIT: "take profit", OrderType.STOP: "stop loss"}
_PASS = threading.Lock()  # one protection pass at a time (the listener's threads, the reconnect's)


def protection_watcher(adapter: OrderExecutionAdapter) -> Callable[[OrderStatus], None]:
    """A status listener (on the thread that applies statuses: it returns at once) that starts a
    protection pass when a bracket's entry ends partly filled, or when an exit of such an entry
    ends without filling (IB cancelling it with the entry, a replacement rejected)."""
    def on_status(status: OrderStatus) -> None:
        if status.status not in TERMINAL_STATES:
            return  # nearly every status
        entry_id = 0
        if status.status is not OrderState.FILLED and status.filled > 0 and adapter.state.children(status.order_id):
            entry_id = status.order_id
        elif status.status is not OrderState.FILLED:
            parent_id = adapter.state.mutate_trade(status.order_id, _parent_of) or 0
            parent = adapter.state.get_order(parent_id) if parent_id else None
            if parent is not None and _ended_partly_filled(parent):
                entry_id = parent_id
        if entry_id:
            with adapter._lock:
                adapter.protecting.add(entry_id)
            threading.Thread(target=_run_logged, args=(adapter,), name="pa-bracket-protect", daemon=True).start()

    return on_status


def _parent_of(t: Trade) -> int:
    return t.request.extras.parent_id if t.request.extras is not None else 0


def _ended_partly_filled(entry: Order) -> bool:
    return entry.status.status in TERMINAL_STATES and entry.status.status is not OrderState.FILLED \
        and entry.status.filled > 0


def _run_logged(adapter: OrderExecutionAdapter) -> None:
    try:
        run(adapter)
    except Exception:  # noqa: BLE001 - a bug must be logged, not end the thread unseen
        logger.opt(exception=True).error("protecting a partly filled bracket raised")


def run(adapter: OrderExecutionAdapter) -> None:
    """Protect the positions of the entries waiting for it (the listener's, and those a dropped
    link left for after the reconnect's reconciliation)."""
    with _PASS:
        with adapter._lock:  # taken now: a status arriving during the pass asks for another one
            pending = sorted(adapter.protecting)
            adapter.protecting.clear()
        for entry_id in pending:
            try:
                protect(adapter, entry_id)
            except NotConnected as exc:
                with adapter._lock:
                    adapter.protecting.add(entry_id)
                logger.error("bracket {}: the partly filled position's exits could not be set ({}); tried again "
                             "after the reconnect", entry_id, exc)


def protect(adapter: OrderExecutionAdapter, entry_id: int) -> None:
    """Bring the exits of the ended, partly filled entry ``entry_id`` to its position (see the
    module's docstring). NotConnected when the link failed part-way (run again after the reconnect)."""
    found = _look(adapter, entry_id)
    if found is not None and found[2]:
        # exits still working: IB may be cancelling them with the entry, its statuses on their way;
        # one round trip (answered in order) has them applied before a resize is decided
        adapter.connection.round_trip(adapter.settings.ib_connection.request_timeout)
        found = _look(adapter, entry_id)
    if found is None:
        return
    entry, held, working, latest = found
    for order in working.values():
        _resize(adapter, entry_id, order, order.status.filled + held)
    group = next((o.request.extras.oca_group for o in working.values() if o.request.extras is not None), "")
    group = group or f"{entry.order_ref}.exits"
    for order_type, order in latest.items():
        if order_type in working:
            continue
        with adapter._lock:
            by_user = order.order_id in adapter.cancelled_by_user
        extras = order.request.extras or OrderExtras()
        if extras.replaces or by_user or order.status.status is OrderState.REJECTED:
            # a replacement is placed once; an exit its owner cancelled, or IB refused, stays over
            logger.error("bracket {}: {} {} is {}{}: {} held without it", entry_id, ROLES[order_type],
                         order.order_id, order.status.status.value, " (cancelled by its owner)" if by_user else "",
                         held)
            continue
        _replace(adapter, entry_id, order, held, group)


def _look(adapter: OrderExecutionAdapter,
          entry_id: int) -> tuple[Order, Decimal, dict[OrderType, Order], dict[OrderType, Order]] | None:
    """The ended, partly filled entry, the quantity it holds (its fills less the exits'), and per
    role the working exit and the latest exit; None when there is nothing to protect."""
    entry = adapter.state.get_order(entry_id)
    if entry is None or not _ended_partly_filled(entry):
        return None
    children = adapter.state.children(entry_id)
    held = entry.status.filled - sum((c.status.filled for c in children), Decimal(0))
    if held <= 0:
        return None  # the exits have taken the whole position
    latest: dict[OrderType, Order] = {}
    for child in children:  # by order id: a replacement after the exit it replaces
        if child.request.order_type in ROLES:
            latest[child.request.order_type] = child
    working = {t: o for t, o in latest.items() if o.status.status not in TERMINAL_STATES}
    return entry, held, working, latest


def _resize(adapter: OrderExecutionAdapter, entry_id: int, exit_order: Order, quantity: Decimal) -> None:
    with adapter._lock:
        current = adapter._modifying.get(exit_order.order_id, exit_order.request).quantity
    if current == quantity:
        return
    role = ROLES[exit_order.request.order_type]
    try:
        adapter.modify_order(exit_order.order_id, quantity=quantity)
    except OrderStateError as exc:  # over meanwhile (IB cancelling it with the entry): its status brings a pass
        logger.info("bracket {}: {} {} not resized ({})", entry_id, role, exit_order.order_id, exc)
        return
    logger.warning("bracket {}: the entry ended partly filled; {} {} resized from {} to {}", entry_id, role,
                   exit_order.order_id, current, quantity)


def _replace(adapter: OrderExecutionAdapter, entry_id: int, old: Order, quantity: Decimal, group: str) -> None:
    role = ROLES[old.request.order_type]
    request = old.request
    expired = _expired(request)
    if expired:
        logger.critical("bracket {}: the entry ended partly filled and its {} {} ended with it; not placed again: "
                        "{}: {} held without it", entry_id, role, old.order_id, expired, quantity)
        return
    links = replace(request.extras or OrderExtras(), parent_id=entry_id, oca_group=group,
                    oca_type=OcaType.REDUCE_WITH_BLOCK, replaces=old.order_id)
    prefix = adapter.settings.orders.order_ref_prefix
    new = replace(request, quantity=quantity, order_ref=new_ref(prefix, _user_ref(request.order_ref, prefix)),
                  extras=links)
    try:
        info = adapter.contracts.resolve(request.contract)
        order_id = adapter._send_new(new, info)
    except NotConnected:
        raise
    except PlatformAdapterError as exc:
        logger.critical("bracket {}: the entry ended partly filled and its {} could not be placed again "
                        "({}): {} held without it", entry_id, role, exc, quantity)
        return
    logger.warning("bracket {}: the entry ended partly filled and its {} {} ended with it; order {} placed "
                   "for the {} held, OCA group {}", entry_id, role, old.order_id, order_id, quantity, group)


def _expired(request: OrderRequest) -> str:
    """Why a GTD order may not be placed again (its date has passed: it would have expired, and IB
    refuses it), else empty."""
    if request.tif is not TimeInForce.GTD:
        return ""
    good_till = request.extras.good_till if request.extras is not None else ""
    try:
        check_good_till(good_till)
    except ValidationError as exc:
        return f"good till {good_till or '(none)'} {exc.reason}"
    return ""


def _user_ref(order_ref: str, prefix: str) -> str:
    """The caller's own part of an orderRef made by ``new_ref`` (prefix, 16 hex digits, ref)."""
    head = len(prefix) + 1 + 16
    return order_ref[head + 1:] if order_ref.startswith(prefix + "-") and len(order_ref) > head + 1 else ""
