"""Orders placed together: brackets (an entry with a take profit and a stop loss) and
one-cancels-all groups. Every member is validated before the first is sent; each is then placed,
journalled and reconciled like any order (its own order id and orderRef, never sent twice).

A bracket follows IB's recipe: the parent and the take profit go with ``transmit=False`` (held
at the gateway), the stop loss transmits the three at once; the exits carry the parent's id (IB
keeps them inactive until the parent fills and cancels them with it) and share one OCA group
that reduces the other exit as one fills (``ocaType`` 2). An entry that ends partly filled keeps
its position protected by exits of the size held (``protection``).

A group is placed whole or withdrawn. Its first member's journal row is followed, before that
member is sent, by a durable ``group`` history line (:func:`group_mark`: its kind and size); a
restart on the same journal that finds fewer members than the mark says (the process died
part-way: a bracket's entry held at IB without its exits, an OCA group's first orders working
alone) withdraws those sent (:func:`withdraw_incomplete`)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ibapi.order_cancel import OrderCancel

from platform_adapter.adapters.orders import extras as x
from platform_adapter.adapters.orders import requests as order_requests
from platform_adapter.adapters.orders import validation as v
from platform_adapter.adapters.orders.models import build_ib_order
from platform_adapter.adapters.orders.reconciliation import NEVER_SENT
from platform_adapter.errors import NotConnected, OrderStateError, PlatformAdapterError, ValidationError
from platform_adapter.log import logger
from platform_adapter.models.contract import ContractInfo
from platform_adapter.models.order import (
    TERMINAL_STATES,
    BracketOrder,
    OcaGroup,
    OcaType,
    OrderAction,
    OrderExtras,
    OrderRequest,
    OrderState,
    OrderStatus,
    OrderType,
)
from platform_adapter.utils.validators import check_price

if TYPE_CHECKING:
    from platform_adapter.adapters.order_execution import OrderExecutionAdapter

BRACKET_KWARGS = frozenset({"tif", "outside_rth", "account", "order_ref"})
ORDER_KEYS = ("symbol", "action", "quantity", "order_type")


def check_bracket_prices(action: OrderAction, entry: Any, take_profit: Any, stop_loss: Any) -> tuple[float, float,
                                                                                                       float]:
    """A BUY's take profit above its entry and stop loss below it (a SELL's the other way round)."""
    entry_px = check_price(entry, "limit_price")
    tp, sl = check_price(take_profit, "take_profit_price"), check_price(stop_loss, "stop_loss_price")
    above, below = ("above", "below") if action is OrderAction.BUY else ("below", "above")
    if (tp <= entry_px) if action is OrderAction.BUY else (tp >= entry_px):
        raise ValidationError("take_profit_price", take_profit,
                              f"must be {above} the entry limit {entry_px:g} for a {action.value} bracket")
    if (sl >= entry_px) if action is OrderAction.BUY else (sl <= entry_px):
        raise ValidationError("stop_loss_price", stop_loss,
                              f"must be {below} the entry limit {entry_px:g} for a {action.value} bracket")
    return entry_px, tp, sl


def place_bracket(adapter: OrderExecutionAdapter, symbol: Any, action: Any, quantity: Any, limit_price: Any,
                  take_profit_price: Any, stop_loss_price: Any, kwargs: Mapping[str, Any]) -> BracketOrder:
    """Validate the three orders, then send them; their ids as a :class:`BracketOrder`.

    ``kwargs`` (``tif``, ``outside_rth``, ``account``, ``order_ref``) apply to all three. Raises
    ValidationError (inconsistent prices among others) before anything is sent; NotConnected when
    the link fails part-way (members already sent, or in flight, are cancelled: at once, or after
    the reconnect when the link is down, and cannot be modified meanwhile)."""
    v.check_kwargs(kwargs, BRACKET_KWARGS)
    act = v.parse_action(action)
    entry, tp, sl = check_bracket_prices(act, limit_price, take_profit_price, stop_loss_price)
    exit_action = OrderAction.SELL if act is OrderAction.BUY else OrderAction.BUY
    parent, info = order_requests.prepare(adapter, symbol, act, quantity, OrderType.LIMIT,
                                          {**kwargs, "limit_price": entry})
    links = OrderExtras(oca_group=parent.order_ref, oca_type=OcaType.REDUCE_WITH_BLOCK)
    take_profit, _ = order_requests.prepare(adapter, parent.contract, exit_action, parent.quantity, OrderType.LIMIT,
                                            {**kwargs, "limit_price": tp}, adds_exposure=False, links=links)
    stop_loss, _ = order_requests.prepare(adapter, parent.contract, exit_action, parent.quantity, OrderType.STOP,
                                          {**kwargs, "stop_price": sl}, adds_exposure=False, links=links)
    sent: list[int] = []
    try:
        sent.append(adapter._send_new(parent, info, transmit=False, group=group_mark(BRACKET, 3)))
        for request, transmit in ((take_profit, False), (stop_loss, True)):
            sent.append(adapter._send_new(_child_of(request, sent[0]), info, transmit=transmit))
    except PlatformAdapterError:
        _withdraw(adapter, _attempted(adapter, (parent, take_profit, stop_loss)), "bracket")
        raise
    bracket = BracketOrder(*sent)
    logger.info("bracket {}: {} {} {} entry {} take profit {} stop loss {}", bracket.order_ids, act.value,
                parent.quantity, parent.contract.key, entry, tp, sl)
    return bracket


def _child_of(request: OrderRequest, parent_id: int) -> OrderRequest:
    return replace(request, extras=replace(request.extras or OrderExtras(), parent_id=parent_id))


def place_oca(adapter: OrderExecutionAdapter, orders: Iterable[Mapping[str, Any]], oca_group: str | None,
              oca_type: Any) -> OcaGroup:
    """Place ``orders`` (each a mapping of ``symbol``, ``action``, ``quantity``, ``order_type`` and
    ``place_order``'s keyword arguments) as one one-cancels-all group named ``oca_group`` (a
    fresh name when None). All are validated before the first is sent; when the link fails
    part-way, those already placed are cancelled (when the link allows) and NotConnected is raised."""
    kind = x.parse_oca_type(oca_type)
    items = _order_list(orders)
    name = order_requests.new_ref(adapter.settings.orders.order_ref_prefix, "oca") if oca_group is None \
        else oca_group
    prepared: list[tuple[OrderRequest, ContractInfo]] = []
    for i, item in enumerate(items):
        options = {k: val for k, val in item.items() if k not in ORDER_KEYS}
        for key in ("oca_group", "oca_type"):
            if key in options:
                raise ValidationError(f"orders[{i}].{key}", options[key], "is set for the whole group")
        missing = [k for k in ORDER_KEYS if k not in item]
        if missing:
            raise ValidationError(f"orders[{i}]", dict(item), f"needs {', '.join(missing)}")
        try:
            prepared.append(order_requests.prepare(adapter, item["symbol"], item["action"], item["quantity"],
                                                   item["order_type"],
                                                   {**options, "oca_group": name, "oca_type": kind}))
        except ValidationError as exc:  # named as the order's: orders[1].limit_price, not limit_price
            if exc.field in ("oca_group", "oca_type"):  # the group's own arguments
                raise
            raise ValidationError(f"orders[{i}].{exc.field}", exc.value, exc.reason) from None
    sent: list[int] = []
    try:
        mark = group_mark(OCA, len(prepared))
        for request, info in prepared:
            sent.append(adapter._send_new(request, info, group="" if sent else mark))
    except PlatformAdapterError:
        _withdraw(adapter, _attempted(adapter, [request for request, _ in prepared]), "OCA group")
        raise
    first = prepared[0][0].extras or OrderExtras(oca_group=name)
    group = OcaGroup(first.oca_group, kind, tuple(sent))
    logger.info("OCA group {} (type {}): orders {}", group.name, int(kind), group.order_ids)
    return group


BRACKET, OCA = "bracket", "oca"


def group_mark(kind: str, size: int) -> str:
    """The ``group`` history line of a group's first member: ``bracket 3``, ``oca 4``."""
    return f"{kind} {size}"


def _members(adapter: OrderExecutionAdapter, first_id: int, mark: str,
             oca: dict[str, list[int]]) -> tuple[list[int], int] | None:
    """The order ids of the group whose first member is ``first_id`` found in the cache (the
    journal's orders; ``oca``: the ids of each OCA group name, by id) and the size its mark says;
    None for an unknown mark or member."""
    kind, _, size = mark.partition(" ")
    first = adapter.state.get_order(first_id)
    if first is None or not size.isdigit():
        return None
    if kind == BRACKET:
        return [first_id] + [o.order_id for o in adapter.state.children(first_id)], int(size)
    name = first.request.extras.oca_group if first.request.extras is not None else ""
    if kind != OCA or not name:
        return None
    if not oca:  # built once, at the first OCA mark
        for o in adapter.state.trades_snapshot():
            if o.request.extras is not None and o.request.extras.oca_group:
                oca.setdefault(o.request.extras.oca_group, []).append(o.order_id)
        for ids in oca.values():
            ids.sort()
    return [i for i in oca.get(name, []) if i >= first_id][:int(size)], int(size)


def withdraw_incomplete(adapter: OrderExecutionAdapter, marks: Iterable[tuple[int, str]]) -> list[int]:
    """At the journal's first open: the groups (``marks``: first member, mark) with fewer members
    in the journal than their mark says were being placed when the process died (a bracket's
    entry held at IB, ``transmit=False``, without its exits; an OCA group's first orders working
    alone). Their members not over are withdrawn as after a failed placement: refused
    modifications at once and cancelled after the start's reconciliation (:func:`finish_withdrawals`;
    one IB never received is settled by that reconciliation instead). The ids withdrawn."""
    withdrawn: list[int] = []
    oca: dict[str, list[int]] = {}
    for first_id, mark in marks:
        found = _members(adapter, first_id, mark, oca)
        if found is None or len(found[0]) >= found[1]:
            continue
        ids, size = found
        live = [i for i in ids if (o := adapter.state.get_order(i)) is not None
                and o.status.status not in TERMINAL_STATES]
        if not live:
            continue
        what = "bracket" if mark.startswith(BRACKET) else "OCA group"
        with adapter._lock:
            adapter.withdrawing.update(live)
            if what == "bracket":  # sent with transmit=False: IB may not report them after a restart
                adapter.held_at_restart.update(live)
        for order_id in live:
            adapter._journal_event(order_id, "withdraw", f"{what} incomplete at restart; cancel after reconciliation")
            logger.error("{} {}: order {} was sent, but only {} of the group's {} members were journalled when "
                         "the process ended: it is cancelled once the gateway is reconciled (until then it "
                         "cannot be modified)", what, first_id, order_id, len(ids), size)
        withdrawn += live
    return withdrawn


def _order_list(orders: Any) -> list[Mapping[str, Any]]:
    if isinstance(orders, (str, bytes, Mapping)) or not isinstance(orders, Iterable):
        raise ValidationError("orders", orders, "must be a list of orders (mappings)")
    items = list(orders)
    if len(items) < 2:
        raise ValidationError("orders", items, "an OCA group needs at least two orders")
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise ValidationError(f"orders[{i}]", item, "must be a mapping of symbol, action, quantity, "
                                  "order_type and place_order's keyword arguments")
    return items


def _attempted(adapter: OrderExecutionAdapter, requests: Iterable[OrderRequest]) -> list[int]:
    """The order ids of the group's members whose placement began (sent, or in flight when the
    link failed: it may have reached IB), found by their orderRefs."""
    with adapter._lock:
        found = [adapter._by_ref.get(request.order_ref) for request in requests]
    return [order_id for order_id in found if order_id is not None]


def _withdraw(adapter: OrderExecutionAdapter, attempted: list[int], what: str) -> None:
    """Cancel the members of a group already sent (or in flight) when a later one could not be.
    A member the link does not let us cancel now is withdrawn after the reconnect
    (:func:`finish_withdrawals`); until then it cannot be modified: a modification would transmit
    an entry held at the gateway without its exits."""
    for order_id in attempted:
        try:
            adapter.cancel_order(order_id)
        except NotConnected as exc:
            with adapter._lock:
                adapter.withdrawing.add(order_id)
            adapter._journal_event(order_id, "withdraw", f"{what} incomplete; cancel after the reconnect")
            logger.error("{}: order {} was sent but the group is incomplete; cancelling it failed ({}); it is "
                         "cancelled after the reconnect (until then it stays untransmitted or working at the "
                         "gateway, and cannot be modified)", what, order_id, exc)
        except OrderStateError as exc:
            logger.warning("{}: order {} of the incomplete group is already over ({})", what, order_id, exc)


def bracket_watcher(adapter: OrderExecutionAdapter) -> Callable[[OrderStatus], None]:
    """A status listener (on the thread that applies statuses: it returns at once) that withdraws a
    bracket's entry when one of its exits is rejected while the entry has filled nothing: by IB,
    or as never sent, found by a reconnect's reconciliation when the link dropped under the
    placement unnoticed. The entry is refused modifications at once (one would transmit it
    without that exit) and cancelled on a thread of its own, which takes its other exit with it
    at IB. An entry already partly filled is left to the caller (cancelling it would take its
    remaining exit with it), with an error logged. The reverse, an entry found never sent by a
    reconciliation (a reconnect's, a restart's) while its exits work at IB, withdraws the exits."""
    def on_status(status: OrderStatus) -> None:
        if status.status is not OrderState.REJECTED:
            return  # nearly every status: nothing to look up
        if status.reject_reason == NEVER_SENT and _withdraw_exits(adapter, status.order_id):
            return
        order = adapter.state.get_order(status.order_id)
        parent_id = order.request.extras.parent_id if order is not None and order.request.extras else 0
        parent = adapter.state.get_order(parent_id) if parent_id else None
        if parent is None or parent.status.status in TERMINAL_STATES:
            return
        if parent.status.filled:
            logger.error("bracket {}: exit {} rejected ({}) after the entry filled {}: the position lacks that exit",
                         parent_id, status.order_id, status.reject_reason, parent.status.filled)
            return
        with adapter._lock:
            adapter.withdrawing.add(parent_id)
        logger.error("bracket {}: exit {} rejected ({}); the entry is withdrawn (cancelled with its other exit)",
                     parent_id, status.order_id, status.reject_reason)
        threading.Thread(target=_withdraw_entry, args=(adapter,), name="pa-bracket-withdraw", daemon=True).start()

    return on_status


def _withdraw_exits(adapter: OrderExecutionAdapter, entry_id: int) -> bool:
    """Withdraw (on a thread of its own) the working exits of a bracket whose entry never reached
    IB: nothing holds them back but IB's check of their parent. True when there were some."""
    exits = [o.order_id for o in adapter.state.children(entry_id) if o.status.status not in TERMINAL_STATES]
    if not exits:
        return False
    with adapter._lock:
        adapter.withdrawing.update(exits)
    logger.error("bracket {}: the entry never reached IB; its exits {} are withdrawn (cancelled)", entry_id, exits)
    threading.Thread(target=_withdraw_entry, args=(adapter,), name="pa-bracket-withdraw", daemon=True).start()
    return True


def _withdraw_entry(adapter: OrderExecutionAdapter) -> None:
    try:
        finish_withdrawals(adapter)
    except Exception:  # noqa: BLE001 - a bug must be logged, not end the thread unseen
        logger.opt(exception=True).error("withdrawing a bracket's entry raised")


_FINISHING = threading.Lock()  # one run of finish_withdrawals at a time (the reconnect's, a watcher's)


def finish_withdrawals(adapter: OrderExecutionAdapter) -> None:
    """Cancel the members of incomplete groups waiting for it: those the link did not let
    :func:`_withdraw` cancel (run after a reconnect's reconciliation, which settles those IB never
    received), and entries whose exit was rejected (:func:`bracket_watcher`)."""
    with _FINISHING:
        _finish_withdrawals(adapter)


def _finish_withdrawals(adapter: OrderExecutionAdapter) -> None:
    with adapter._lock:
        pending = sorted(adapter.withdrawing)
    for order_id in pending:
        order = adapter.state.get_order(order_id)
        try:
            if order is not None and order.status.status not in TERMINAL_STATES:
                adapter.cancel_order(order_id)
                logger.warning("order {} of an incomplete group: cancel sent after the reconnect", order_id)
            elif order is not None and _unreported_held(adapter, order):
                _cancel_unreported(adapter, order_id)
        except NotConnected:
            continue  # the link dropped again: the next reconnect tries again
        except OrderStateError:
            pass
        with adapter._lock:
            adapter.withdrawing.discard(order_id)
            adapter.held_at_restart.discard(order_id)


def _unreported_held(adapter: OrderExecutionAdapter, order: Any) -> bool:
    """A held member (``transmit=False``) of a bracket a restart found incomplete that the start's
    reconciliation settled as unknown to IB (never sent, or Inactive), nothing filled. IB's open
    orders may leave out an untransmitted order placed in an earlier session (a user's report:
    ib_insync issue 416; the simulator reports it), so it may still be held at the gateway."""
    with adapter._lock:
        held = order.order_id in adapter.held_at_restart
    return held and not order.status.filled and order.status.status in (OrderState.REJECTED, OrderState.INACTIVE)


def _cancel_unreported(adapter: OrderExecutionAdapter, order_id: int) -> None:
    """Cancel at IB an order the cache has as over (:func:`_unreported_held`); IB's "not found"
    (10147) answers it when the order never reached IB, and is logged."""
    client = adapter._require_link()
    adapter._journal_event(order_id, "cancel", "held member of an incomplete bracket, unreported by IB: cancel sent",
                           durable=True)
    adapter._send_change(order_id, "cancel", client, lambda: client.cancelOrder(order_id, OrderCancel()))
    logger.warning("order {} of an incomplete bracket (held at the gateway, not reported by IB after the restart): "
                   "cancel sent", order_id)


def modification(adapter: OrderExecutionAdapter, request: OrderRequest) -> Any:
    """The ibapi Order that modifies an order to ``request``. A bracket's exit whose parent has
    filled (or is otherwise over) goes without the parent's id: IB no longer finds that parent and
    refuses a modification naming it (135 "Can't find order with id", the exit left unchanged);
    while the parent works, the id is sent, so that the exit stays held until the parent fills."""
    ib_order = build_ib_order(request, server_version=adapter.connection.server_version)
    parent_id = request.extras.parent_id if request.extras is not None else 0
    if parent_id:
        parent = adapter.state.get_order(parent_id)
        if parent is not None and parent.status.status in TERMINAL_STATES:
            ib_order.parentId = 0
    return ib_order


def check_bracket_modification(adapter: OrderExecutionAdapter, order_id: int, before: OrderRequest,
                               after: OrderRequest) -> None:
    """A modification of a bracket's entry or exit price keeps the bracket's order while the entry
    works (a BUY's take profit above its entry, its stop loss below; a SELL's the other way
    round), as :func:`check_bracket_prices` does at placement; else ValidationError before
    anything is sent. Once the entry is over (filled) the exits move freely (a stop to break-even)."""
    if (after.limit_price, after.stop_price) == (before.limit_price, before.stop_price):
        return
    parent_id = after.extras.parent_id if after.extras is not None else 0
    entry_id = parent_id or order_id
    entry = adapter.state.get_order(entry_id)
    if entry is None or entry.status.status in TERMINAL_STATES:
        return
    requests = {o.order_id: o.request for o in adapter.state.children(entry_id)
                if o.status.status not in TERMINAL_STATES}
    if not requests:
        return  # not a bracket's entry
    with adapter._lock:
        requests = {i: adapter._modifying.get(i, r) for i, r in requests.items()}
        requests[entry_id] = adapter._modifying.get(entry_id, entry.request)
    requests[order_id] = after
    entry_px = requests.pop(entry_id).limit_price
    buy = entry.request.action is OrderAction.BUY
    field = "limit_price" if after.order_type is OrderType.LIMIT else "stop_price"
    value = after.limit_price if field == "limit_price" else after.stop_price
    for exit_req in requests.values():
        price = exit_req.limit_price if exit_req.order_type is OrderType.LIMIT else exit_req.stop_price
        if entry_px is None or price is None:
            continue
        profit = exit_req.order_type is OrderType.LIMIT
        wrong = (price <= entry_px) if profit == buy else (price >= entry_px)
        if wrong:
            side = "above" if profit == buy else "below"
            what = "take profit" if profit else "stop loss"
            raise ValidationError(field, value, f"the bracket's {what} ({price:g}) must stay {side} its entry "
                                  f"({entry_px:g}) while the entry works")


def exits_to_resize(adapter: OrderExecutionAdapter, order_id: int, before: OrderRequest,
                    after: OrderRequest) -> list[int]:
    """The working exits of a bracket whose entry ``order_id`` is resized from ``before`` to
    ``after``: those of the entry's former size (an exit resized on its own is left alone), each
    checked as its own modification would be, so that a refusal comes before anything is sent.
    A modification changes the one order it names (IB: placeOrder again with that order's id):
    without this, an entry raised from 100 to 150 would fill 150 with exits for 100, 50 shares
    unprotected."""
    if after.quantity == before.quantity:
        return []
    exits: list[int] = []
    for child in adapter.state.children(order_id):
        if child.status.status in TERMINAL_STATES:
            continue
        with adapter._lock:
            current = adapter._modifying.get(child.order_id, child.request)
        if current.quantity != before.quantity:
            continue
        resized = order_requests.modified(current, child.status.filled, {"quantity": after.quantity})
        info = adapter.contracts.resolve(current.contract)
        adapter._check_trade(info, resized, resized.quantity, max(resized.quantity - current.quantity,
                                                                   0 * resized.quantity))
        exits.append(child.order_id)
    return sorted(exits)


def check_not_withdrawn(adapter: OrderExecutionAdapter, order_id: int) -> None:
    """OrderStateError for a member of an incomplete group waiting to be cancelled."""
    with adapter._lock:
        withdrawn = order_id in adapter.withdrawing
    if withdrawn:
        raise OrderStateError(order_id, "belongs to a group whose placement failed part-way; it is cancelled "
                              "after the reconnect and cannot be modified")
