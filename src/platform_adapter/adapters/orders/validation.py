"""Pre-trade checks (spec 6.3): every failure is a typed error raised before anything is sent."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from platform_adapter.config.settings import OrdersConfig
from platform_adapter.errors import LiveTradingRefused, ValidationError
from platform_adapter.models.contract import ContractInfo, SecType
from platform_adapter.models.market_data import Quote
from platform_adapter.models.order import OrderAction, OrderType, TimeInForce
from platform_adapter.utils.validators import check_price, check_quantity, on_tick

EXTRA_KWARGS = frozenset({"oca_group", "oca_type", "trailing_amount", "trailing_percent", "limit_offset", "good_till",
                          "trail_stop_price"})
"""The advanced-order arguments (checked in ``order_extras``)."""
PLACE_KWARGS = frozenset({"limit_price", "stop_price", "tif", "outside_rth", "account", "order_ref"}) | EXTRA_KWARGS
MODIFY_KWARGS = frozenset({"quantity", "limit_price", "stop_price", "tif", "trailing_amount", "trailing_percent",
                           "limit_offset", "good_till", "trail_stop_price"})
MAX_ORDER_REF = 40
PAPER_PREFIX = "DU"

_TYPE_ALIASES = {"MKT": OrderType.MARKET, "MARKET": OrderType.MARKET, "LMT": OrderType.LIMIT,
                 "LIMIT": OrderType.LIMIT, "STP": OrderType.STOP, "STOP": OrderType.STOP,
                 "STP LMT": OrderType.STOP_LIMIT, "STOP_LIMIT": OrderType.STOP_LIMIT,
                 "STOP LIMIT": OrderType.STOP_LIMIT, "TRAIL": OrderType.TRAIL, "TRAIL LIMIT": OrderType.TRAIL_LIMIT,
                 "TRAIL LMT": OrderType.TRAIL_LIMIT, "TRAIL_LIMIT": OrderType.TRAIL_LIMIT}


def check_kwargs(kwargs: Mapping[str, Any], allowed: Iterable[str]) -> None:
    """Unknown keyword arguments are errors (a typo must never be silently ignored)."""
    known = frozenset(allowed)
    for name in kwargs:
        if name not in known:
            raise ValidationError(name, kwargs[name], f"unknown argument (allowed: {', '.join(sorted(known))})")


_ACTIONS = {a.value: a for a in OrderAction}
_TIFS = {t.value: t for t in TimeInForce}


def parse_action(value: Any) -> OrderAction:
    if isinstance(value, OrderAction):
        return value
    if isinstance(value, str) and value in _ACTIONS:
        return _ACTIONS[value]
    if isinstance(value, str) and value.strip().upper() in OrderAction.__members__:
        return OrderAction(value.strip().upper())
    raise ValidationError("action", value, "must be BUY or SELL")


def parse_order_type(value: Any) -> OrderType:
    if isinstance(value, OrderType):
        return value
    if isinstance(value, str):
        if value in _TYPE_ALIASES:
            return _TYPE_ALIASES[value]
        found = _TYPE_ALIASES.get(" ".join(value.strip().upper().split()))
        if found is not None:
            return found
    raise ValidationError("order_type", value, "must be one of MKT, LMT, STP, STP LMT, TRAIL, TRAIL LIMIT")


def parse_tif(value: Any) -> TimeInForce:
    if isinstance(value, TimeInForce):
        return value
    if isinstance(value, str) and value in _TIFS:
        return _TIFS[value]
    if isinstance(value, str) and value.strip().upper() in TimeInForce.__members__:
        return TimeInForce(value.strip().upper())
    raise ValidationError("tif", value, "must be one of DAY, GTC, IOC, GTD, OPG")


def check_prices(order_type: OrderType, limit_price: Any, stop_price: Any) -> tuple[float | None, float | None]:
    """Prices required by the order type are present, finite and positive; others are absent."""
    needs_limit = order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
    needs_stop = order_type in (OrderType.STOP, OrderType.STOP_LIMIT)
    limit = stop = None
    if needs_limit:
        if limit_price is None:
            raise ValidationError("limit_price", None, f"is required for {order_type.value} orders")
        limit = check_price(limit_price, "limit_price")
    elif limit_price is not None:
        raise ValidationError("limit_price", limit_price, f"is not used by {order_type.value} orders")
    if needs_stop:
        if stop_price is None:
            raise ValidationError("stop_price", None, f"is required for {order_type.value} orders")
        stop = check_price(stop_price, "stop_price")
    elif stop_price is not None:
        raise ValidationError("stop_price", stop_price, f"is not used by {order_type.value} orders")
    return limit, stop


def check_flag(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(field, value, "must be True or False")
    return value


def check_text(value: Any, field: str, max_len: int = MAX_ORDER_REF) -> str:
    if not isinstance(value, str):
        raise ValidationError(field, value, "must be a string")
    if len(value) > max_len:
        raise ValidationError(field, value, f"is longer than {max_len} characters")
    if not value.isprintable():
        raise ValidationError(field, value, "must hold printable characters only")
    return value.strip()


def check_order_quantity(value: Any) -> Decimal:
    """A positive finite number (whether fractions are allowed is checked against the contract)."""
    return check_quantity(value, "quantity", fractional=True)


def check_contract_rules(info: ContractInfo, quantity: Decimal, limit: float | None, stop: float | None) -> None:
    """Whole quantities unless the contract allows fractions; prices on the contract's tick."""
    if quantity != quantity.to_integral_value() and not info.allows_fractional:
        raise ValidationError("quantity", quantity, f"must be a whole number for {info.symbol}")
    for field, price in (("limit_price", limit), ("stop_price", stop)):
        if price is not None and not on_tick(price, info.min_tick):
            raise ValidationError(field, price, f"is not a multiple of {info.symbol}'s tick size {info.min_tick:g}")


def multiplier(info: ContractInfo) -> float:
    """The contract's multiplier as a number (1 when absent or not a positive finite number)."""
    text = info.multiplier
    try:
        return _MULTIPLIERS[text]  # by its text: no hash of the whole ContractInfo per order
    except KeyError:
        pass
    try:
        value = float(text) if text else 1.0
    except ValueError:
        value = 1.0
    value = value if math.isfinite(value) and value > 0 else 1.0
    if len(_MULTIPLIERS) < 4096:
        _MULTIPLIERS[text] = value
    return value


_MULTIPLIERS: dict[str, float] = {}


def check_risk(cfg: OrdersConfig, quantity: Decimal, price: float | None, mult: float,
               order_type: OrderType = OrderType.MARKET) -> None:
    """The optional per-order limits ``orders.max_order_quantity`` and ``orders.max_order_notional``
    (``price`` None: an order nothing prices, of ``order_type``)."""
    if cfg.max_order_quantity is not None and quantity > Decimal(str(cfg.max_order_quantity)):
        raise ValidationError("quantity", quantity, f"exceeds orders.max_order_quantity {cfg.max_order_quantity:g}")
    if cfg.max_order_notional is None:
        return
    if price is None:
        hint = "give trail_stop_price, " if order_type in (OrderType.TRAIL, OrderType.TRAIL_LIMIT) else ""
        raise ValidationError("order_type", order_type.value, "orders.max_order_notional is set but no price is "
                              f"known for this order; {hint}subscribe to quotes or use a limit order")
    notional = float(quantity) * price * mult
    if notional > cfg.max_order_notional:
        raise ValidationError("quantity", quantity, f"notional {notional:,.2f} exceeds orders.max_order_notional "
                              f"{cfg.max_order_notional:,.2f}")


# Margined at a fraction of their value (futures 5-15%, IB's futures margin lesson; forex a few
# percent): BuyingPower, a securities figure, says nothing about them, and IB's own initial-margin
# check at submission answers (201, OrderRejected)
MARGINED = frozenset({SecType.FUTURE, SecType.FOREX})


def check_buying_power(action: OrderAction, quantity: Decimal, price: float | None, mult: float,
                       buying_power: float | None) -> None:
    """A buy must fit the account's buying power, when both the power and a price are known."""
    if action is not OrderAction.BUY or buying_power is None or price is None:
        return
    cost = float(quantity) * price * mult
    if cost > buying_power:
        raise ValidationError("quantity", quantity, f"insufficient buying power: order value {cost:,.2f} > "
                              f"buying power {buying_power:,.2f}")


def check_live(cfg: OrdersConfig, account: str, port: int) -> None:
    """Refuse orders on a live account or the live port unless ``orders.allow_live_trading``."""
    if cfg.allow_live_trading:
        return
    if port == cfg.live_port:
        raise LiveTradingRefused(f"port {port} is the live-trading port (orders.live_port); "
                                 "set orders.allow_live_trading: true to trade live")
    if not account.upper().startswith(PAPER_PREFIX):
        raise LiveTradingRefused(f"account {account!r} is not a paper account (DU...); "
                                 "set orders.allow_live_trading: true to trade live")


def tif_or(text: str, default: TimeInForce) -> TimeInForce:
    """IB's TIF text, or ``default`` for blanks and TIFs this adapter does not place (FOK, DTC...)."""
    try:
        return parse_tif(text) if text else default
    except ValidationError:
        return default


def check_trade(cfg: OrdersConfig, info: ContractInfo, action: OrderAction, quantity: Decimal, limit: float | None,
                stop: float | None, added_quantity: Decimal, quote: Quote | None, buying_power: float | None,
                order_type: OrderType = OrderType.MARKET, trail_stop: float | None = None) -> None:
    """The contract-dependent checks: ticks and fractions, buying power (``validate_before_submit``;
    not for futures and forex, see ``MARGINED``) and the risk limits (always). An order without a
    limit or stop price is priced at its ``trail_stop`` (a trailing order's given stop), else from
    the cached quote when there is one."""
    mult = multiplier(info)
    price = limit or stop or trail_stop
    if price is None and quote is not None:
        price = (quote.ask if action is OrderAction.BUY else quote.bid) or quote.last
    if cfg.validate_before_submit:
        check_contract_rules(info, quantity, limit, stop)
        if info.sec_type not in MARGINED:
            check_buying_power(action, added_quantity, price, mult, buying_power)
    check_risk(cfg, quantity, price, mult, order_type)
