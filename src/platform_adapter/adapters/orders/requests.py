"""From the arguments of ``place_order`` (and of brackets, OCA groups and previews) to a validated
:class:`OrderRequest` and its resolved contract; and the request a modification makes. Every
check runs before anything is sent (spec 6.3)."""

from __future__ import annotations

import math
import os
import random
from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from platform_adapter.adapters.contracts import to_spec
from platform_adapter.adapters.orders import extras as x
from platform_adapter.adapters.orders import validation as v
from platform_adapter.errors import ValidationError
from platform_adapter.models.contract import ContractInfo, SecType
from platform_adapter.models.order import OrderExtras, OrderRequest

if TYPE_CHECKING:
    from platform_adapter.adapters.order_execution import OrderExecutionAdapter


_TOKENS = random.Random()  # seeded from os.urandom; our own, so a user's random.seed() never repeats refs
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_TOKENS.seed)  # a forked child never repeats its parent's refs


def new_ref(prefix: str, user_ref: str) -> str:
    """A fresh orderRef: the configured prefix, a random 64-bit token (no system call on the order
    path), the caller's own reference."""
    return f"{prefix}-{_TOKENS.getrandbits(64):016x}" + (f"-{user_ref}" if user_ref else "")


def prepare(adapter: OrderExecutionAdapter, symbol: Any, action: Any, quantity: Any, order_type: Any,
            kwargs: Mapping[str, Any], *, adds_exposure: bool = True, live_guard: bool = True,
            links: OrderExtras | None = None) -> tuple[OrderRequest, ContractInfo]:
    """Validate a new order (``kwargs``: ``place_order``'s keyword arguments) and resolve its
    contract. ``adds_exposure=False`` (a bracket's exits, a preview) skips the buying-power
    check; ``live_guard=False`` (a preview, which never trades) skips the paper-account guard;
    ``links`` are the parent and OCA group of a bracket's exits."""
    v.check_kwargs(kwargs, v.PLACE_KWARGS)
    spec = to_spec(symbol)
    if spec.sec_type is SecType.CONTINUOUS_FUTURE:
        raise ValidationError("symbol", spec.key, "a continuous future is for historical data only; trade a "
                              "dated future (pa.contracts.front_month gives the next one)")
    act = v.parse_action(action)
    otype = v.parse_order_type(order_type)
    qty = v.check_order_quantity(quantity)
    limit, stop = v.check_prices(otype, kwargs.get("limit_price"), kwargs.get("stop_price"))
    tif = x.order_tif(kwargs, adapter.settings.orders.default_time_in_force)
    extras = x.check_extras(otype, tif, kwargs)
    if links is not None:
        extras = replace(extras or OrderExtras(), parent_id=links.parent_id, oca_group=links.oca_group,
                         oca_type=links.oca_type)
    # an argument not given takes its default, which needs no check (fewer calls per order)
    outside_rth = v.check_flag(kwargs["outside_rth"], "outside_rth") if "outside_rth" in kwargs else False
    account = v.check_text(kwargs["account"], "account") if "account" in kwargs else ""
    user_ref = v.check_text(kwargs["order_ref"], "order_ref") if "order_ref" in kwargs else ""
    adapter._require_link()
    account = adapter._account(account)
    if live_guard:
        v.check_live(adapter.settings.orders, account, adapter.connection.port)
    info = adapter.contracts.resolve(spec)
    request = OrderRequest(spec, act, qty, otype, limit, stop, tif, outside_rth, account,
                           new_ref(adapter.settings.orders.order_ref_prefix, user_ref), extras)
    adapter._check_trade(info, request, qty, qty if adds_exposure else Decimal(0))
    if extras is not None and adapter.settings.orders.validate_before_submit:
        x.check_extras_ticks(info, extras)
    return request, info


def check_modify_kwargs(kwargs: Mapping[str, Any]) -> None:
    """``modify_order``'s keyword arguments: known names, at least one."""
    v.check_kwargs(kwargs, v.MODIFY_KWARGS)
    if not kwargs:
        raise ValidationError("kwargs", kwargs, "nothing to modify (quantity, limit_price, stop_price, tif, "
                              "trailing_amount, trailing_percent, limit_offset, good_till, trail_stop_price)")


def modified(request: OrderRequest, filled: Decimal, kwargs: Mapping[str, Any]) -> OrderRequest:
    """The request after ``modify_order(**kwargs)`` (checked by :func:`check_modify_kwargs`,
    validated like a new order); the links of a bracket's or OCA group's member are kept."""
    qty = v.check_order_quantity(kwargs["quantity"]) if "quantity" in kwargs else request.quantity
    if qty <= filled:
        raise ValidationError("quantity", qty, f"must exceed the {filled} already filled")
    limit, stop = v.check_prices(request.order_type, kwargs.get("limit_price", request.limit_price),
                                 kwargs.get("stop_price", request.stop_price))
    tif = x.order_tif(kwargs, request.tif)
    extras = x.modified_extras(request.order_type, tif, request.extras, kwargs)
    return replace(request, quantity=qty, limit_price=limit, stop_price=stop, tif=tif, extras=extras)


def check_modified_ticks(adapter: OrderExecutionAdapter, info: ContractInfo, request: OrderRequest) -> None:
    """A modification's trailing amount, limit offset and trail stop price on the contract's tick,
    as at placement (``orders.validate_before_submit``)."""
    if adapter.settings.orders.validate_before_submit:
        x.check_extras_ticks(info, request.extras)


def confirms(reported: OrderRequest, sent: OrderRequest) -> bool:
    """IB's report of an order (``reported``, the cached request after its ``openOrder``) carries
    the modification ``sent``: the same quantity, prices, time in force and trail (prices compared
    as IB echoes doubles; a good-till date not compared, IB may write it otherwise; nor a trail stop
    price: IB reports the stop it uses, the market's less the trail when the one sent was looser)."""
    if (reported.quantity, reported.tif) != (sent.quantity, sent.tif):
        return False
    a, b = reported.extras or OrderExtras(), sent.extras or OrderExtras()
    pairs = ((reported.limit_price, sent.limit_price), (reported.stop_price, sent.stop_price),
             (a.trailing_amount, b.trailing_amount), (a.trailing_percent, b.trailing_percent),
             (a.limit_offset, b.limit_offset))
    return all(p == q or p is not None and q is not None and math.isclose(p, q, rel_tol=1e-9, abs_tol=1e-9)
               for p, q in pairs)
