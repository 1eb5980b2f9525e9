"""Orders placed together: brackets (an entry with a take profit and a stop loss) and
one-cancels-all groups. Every member is validated before the first is sent; each is then placed,
journalled and reconciled like any order (its own order id and orderRef, never sent twice).

A bracket follows IB's recipe: the parent and the take profit go with ``transmit=False`` (held
at the gateway), the stop loss transmits the three at once; the exits carry the parent's id (IB
keeps them inactive until the parent fills and cancels them with it) and share one OCA group
that reduces the other exit as one fills (``ocaType`` 2)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from platform_adapter.adapters.orders import extras as x
from platform_adapter.adapters.orders import requests as order_requests
from platform_adapter.adapters.orders import validation as v
from platform_adapter.errors import NotConnected, OrderStateError, PlatformAdapterError, ValidationError
from platform_adapter.log import logger
from platform_adapter.models.contract import ContractInfo
from platform_adapter.models.order import (
    BracketOrder,
    OcaGroup,
    OcaType,
    OrderAction,
    OrderExtras,
    OrderRequest,
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
    the link fails part-way (members already sent are untransmitted: they are cancelled when the
    link allows, and never trade otherwise)."""
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
        sent.append(adapter._send_new(parent, info, transmit=False))
        for request, transmit in ((take_profit, False), (stop_loss, True)):
            sent.append(adapter._send_new(_child_of(request, sent[0]), info, transmit=transmit))
    except PlatformAdapterError:
        _withdraw(adapter, sent, "bracket")
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
        prepared.append(order_requests.prepare(adapter, item["symbol"], item["action"], item["quantity"],
                                               item["order_type"],
                                               {**options, "oca_group": name, "oca_type": kind}))
    sent: list[int] = []
    try:
        for request, info in prepared:
            sent.append(adapter._send_new(request, info))
    except PlatformAdapterError:
        _withdraw(adapter, sent, "OCA group")
        raise
    first = prepared[0][0].extras or OrderExtras(oca_group=name)
    group = OcaGroup(first.oca_group, kind, tuple(sent))
    logger.info("OCA group {} (type {}): orders {}", group.name, int(kind), group.order_ids)
    return group


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


def _withdraw(adapter: OrderExecutionAdapter, sent: list[int], what: str) -> None:
    """Cancel the members of a group already sent when a later one could not be (best effort)."""
    for order_id in sent:
        try:
            adapter.cancel_order(order_id)
        except (NotConnected, OrderStateError) as exc:
            logger.error("{}: order {} was sent but the group is incomplete; cancelling it failed ({}); "
                         "it stays untransmitted or working at the gateway", what, order_id, exc)
