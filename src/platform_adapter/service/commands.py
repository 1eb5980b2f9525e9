"""The commands a client may send, each with its arguments' wire types, run against the facade.

Every command maps onto one method of ``PlatformAdapter`` (``market_data.*``, ``orders.*``,
``account.*``) or of the service itself. An argument the facade validates reaches it as it came
(any wire value; a ContractSpec map rebuilt without judging its fields), so that the facade names
the first bad one in its own order; the service checks only what it uses itself (order ids, line
ids, ``kwargs`` being a map, ...: a wrong type is a ``ValidationError`` naming the argument, and
nothing reaches the facade). Order commands only see the caller's own orders.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from platform_adapter.adapters.market_data import QUOTE_NOT_SUBSCRIBED
from platform_adapter.adapters.order_execution import ACCEPTED
from platform_adapter.adapters.orders.models import parse_statuses
from platform_adapter.errors import OrderStateError, PlatformAdapterError, ValidationError
from platform_adapter.models.order import BracketOrder, OcaGroup
from platform_adapter.service.order_routing import OrderRouter, StatusWait
from platform_adapter.service.protocol import (
    ErrorCode,
    Event,
    ProtocolError,
    Request,
    error_map,
    instrument_key,
    quote_line,
)
from platform_adapter.service.publisher import Publisher
from platform_adapter.service.schema import frame_map, pack, spec_from_map
from platform_adapter.service.sessions import Session
from platform_adapter.service.subscriptions import SubscriptionBook
from platform_adapter.utils.validators import check_wait

MAX_WAIT_SECONDS = 60.0  # orders.wait_for_status blocks a worker thread: at most this long (and_wait: its limit)
Check = Callable[[str, Any], Any]
_REQUIRED = object()


# --- argument wire types ----------------------------------------------------------------------------
def _wrong(name: str, value: Any, what: str) -> ValidationError:
    return ValidationError(name, value, f"must be {what}")


def given(name: str, v: Any) -> Any:
    """An argument the facade validates itself: any wire value reaches it as it is."""
    return v


def symbol(name: str, v: Any) -> Any:
    """A symbol text, or a ContractSpec map rebuilt as it is (its fields are the facade's to
    judge, when it checks the instrument); any other value as it is (the facade refuses it)."""
    if not isinstance(v, dict):
        return v
    try:
        return spec_from_map(v)
    except KeyError:
        raise ValidationError(name, v, "is a ContractSpec map without its symbol") from None


def symbols(name: str, v: Any) -> Any:
    return [symbol(name, x) for x in v] if isinstance(v, list) else symbol(name, v)


def _of(*types: type, what: str) -> Check:
    def check(name: str, v: Any) -> Any:
        if isinstance(v, bool) and bool not in types or not isinstance(v, types):
            raise _wrong(name, v, what)
        return v
    return check


def always(args: dict[str, Any]) -> bool:
    """A command that only reads the adapter's state (never waits)."""
    return True


flag = _of(bool, what="true or false")
number = _of(int, float, what="a number")


def order_maps(name: str, v: Any) -> Any:
    """``place_oca_group``'s orders: an array of maps, each one's ``symbol`` a text or a
    ContractSpec map; anything else (and every other value) as it is, for the facade to judge."""
    if not isinstance(v, list):
        return v
    return [{k: symbol(f"{name}[{i}].{k}", x) if k == "symbol" else x for k, x in item.items()}
            if isinstance(item, dict) else item for i, item in enumerate(v)]


def line_ids(name: str, v: Any) -> list[str]:
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise _wrong(name, v, "a list of line ids")
    return v


def statuses(name: str, v: Any) -> Any:
    if v is None or isinstance(v, str) or isinstance(v, list) and all(isinstance(x, str) for x in v):
        return v
    raise _wrong(name, v, "an order status text or a list of them")


def options(name: str, v: Any) -> dict[str, Any]:
    """A method's keyword arguments: a map with text keys (its values are the facade's to judge)."""
    if not isinstance(v, dict) or not all(isinstance(k, str) for k in v):
        raise _wrong(name, v, "a map of keyword arguments")
    return v


@dataclass(frozen=True, slots=True)
class Command:
    """A command's handler and its arguments: name -> (check, default or _REQUIRED).

    ``quick(args)`` tells whether the handler cannot block now (e.g. an order whose contract is
    known while the outgoing bucket has a token): it then runs on the command thread itself,
    without the hand-off to a worker and back."""

    run: Callable[..., Any]
    args: dict[str, tuple[Check, Any]]
    quick: Callable[[dict[str, Any]], bool] | None = None
    paced: bool = False  # may wait minutes for IB's historical pacing: run apart from the workers

    def bind(self, cmd: str, given: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(given) - set(self.args))
        if unknown:
            raise ValidationError(unknown[0], given[unknown[0]], f"is not an argument of {cmd}")
        kwargs = given.get("kwargs")
        kwargs = kwargs if isinstance(kwargs, dict) else {}
        twice = sorted(set(self.args) & set(kwargs))
        if twice:  # the method would get it twice (Python's TypeError)
            raise ValidationError(twice[0], kwargs[twice[0]], f"is an argument of {cmd}, not one of its kwargs")
        out = {}
        for name, (check, default) in self.args.items():
            if name in given:
                out[name] = check(name, given[name])
            elif default is _REQUIRED:
                raise ValidationError(name, None, f"is required by {cmd}")
            else:
                out[name] = default
        return out


@dataclass(frozen=True, slots=True)
class Call:
    """A request bound to its handler: ``run()`` gives the result, or a :class:`StatusWait` whose
    answer comes later (armed by the service)."""

    command: Command
    session: Session
    request: Request
    args: dict[str, Any]

    @property
    def quick(self) -> bool:
        return self.command.quick is not None and self.command.quick(self.args)

    @property
    def paced(self) -> bool:
        return self.command.paced

    def run(self) -> Any:
        return self.command.run(self.session, self.request, **self.args)


def req(check: Check) -> tuple[Check, Any]:
    return check, _REQUIRED


def opt(check: Check, default: Any = None) -> tuple[Check, Any]:
    return check, default


class Commands:
    """The command table over a facade (``pa``), the line book and the order router."""

    def __init__(self, pa: Any, book: SubscriptionBook, router: OrderRouter, publisher: Publisher,
                 service_metrics: Callable[[Session], dict[str, Any]]) -> None:
        self.pa = pa
        self.book = book
        self.router = router
        self.publisher = publisher
        self.service_metrics = service_metrics
        md, orders, account = pa.market_data, pa.orders, pa.account
        place_args = {"symbol": req(symbol), "action": req(given), "quantity": req(given),
                      "order_type": req(given), "kwargs": opt(options, {})}
        self.table: dict[str, Command] = {
            "is_connected": Command(lambda s, r: pa.is_connected(), {}),
            "metrics": Command(lambda s, r: {**pa.metrics(), **service_metrics(s)}, {}),
            # market data
            "market_data.subscribe_quotes": Command(
                lambda s, r, symbols: {"lines": book.subscribe_quotes(s.token, symbols)},
                {"symbols": req(symbols)}),
            "market_data.subscribe_real_time_bars": Command(
                lambda s, r, symbol, what_to_show, use_rth: {
                    "line": book.subscribe_bars(s.token, symbol, what_to_show, use_rth)},
                {"symbol": req(symbol), "what_to_show": opt(given, "TRADES"), "use_rth": opt(given, False)}),
            "market_data.subscribe_tick_by_tick": Command(
                lambda s, r, symbol, kind: {"line": book.subscribe_ticks(s.token, symbol, kind)},
                {"symbol": req(symbol), "kind": req(given)}),
            "market_data.unsubscribe": Command(lambda s, r, lines: book.unsubscribe(s.token, lines),
                                               {"lines": req(line_ids)}),
            "market_data.get_quote": Command(self._quote, {"symbol": req(symbol)}),
            "market_data.get_historical_data": Command(self._historical, {
                "symbol": req(symbol), "duration": req(given), "bar_size": req(given),
                "what_to_show": opt(given, "TRADES"), "use_rth": opt(given, True), "end": opt(given),
                "max_chunk": opt(given), "timeout": opt(given), "progress": opt(flag, False)},
                paced=True),
            "market_data.get_market_data_type": Command(lambda s, r: int(md.market_data_type), {}),
            "market_data.set_market_data_type": Command(lambda s, r, value: md.set_market_data_type(value),
                                                        {"value": req(given)}),
            "market_data.stats": Command(lambda s, r: md.stats(), {}),
            "market_data.subscription_errors": Command(
                lambda s, r: {k: error_map(e) for k, e in md.subscription_errors().items()}, {}),
            # orders
            "orders.place_order": Command(self._place, place_args, self._quick_order),
            "orders.place_order_and_wait": Command(self._place_and_wait, {
                **place_args, "wait_for": opt(statuses), "timeout": opt(given, 10.0)}, self._quick_order),
            "orders.place_bracket_order": Command(self._bracket, {
                "symbol": req(symbol), "action": req(given), "quantity": req(given), "limit_price": req(given),
                "take_profit_price": req(given), "stop_loss_price": req(given), "kwargs": opt(options, {})}),
            "orders.place_oca_group": Command(self._oca, {
                "orders": req(order_maps), "oca_group": opt(given), "oca_type": opt(given, 1)}),
            "orders.preview_order": Command(
                lambda s, r, symbol, action, quantity, order_type, kwargs: orders.preview_order(
                    symbol, action, quantity, order_type, **kwargs), place_args),
            "orders.cancel_order": Command(lambda s, r, order_id: orders.cancel_order(self._own(s, order_id)),
                                           {"order_id": req(given)}),
            "orders.modify_order": Command(
                lambda s, r, order_id, kwargs: orders.modify_order(self._own(s, order_id), **kwargs),
                {"order_id": req(given), "kwargs": opt(options, {})}),
            "orders.get_order_status": Command(
                lambda s, r, order_id: orders.get_order_status(self._own(s, order_id)), {"order_id": req(given)},
                always),
            "orders.get_order": Command(lambda s, r, order_id: orders.get_order(self._own(s, order_id)),
                                        {"order_id": req(given)}, always),
            "orders.get_open_orders": Command(
                lambda s, r: [o for o in orders.get_open_orders() if router.owner(o.order_id) == s.name], {}),
            "orders.wait_for_status": Command(
                lambda s, r, order_id, statuses, timeout: orders.wait_for_status(
                    self._own(s, order_id), statuses, min(check_wait(timeout), MAX_WAIT_SECONDS)),
                {"order_id": req(given), "statuses": opt(statuses), "timeout": opt(number, 10.0)}),
            "orders.reconcile": Command(lambda s, r: orders.reconcile(), {}),
            # contracts (futures and options)
            "contracts.resolve": Command(lambda s, r, symbol, timeout: pa.contracts.resolve(symbol, timeout),
                                         {"symbol": req(symbol), "timeout": opt(given)}),
            "contracts.cached": Command(lambda s, r, symbol: pa.contracts.cached(symbol), {"symbol": req(symbol)},
                                        always),
            "contracts.front_month": Command(
                lambda s, r, symbol, exchange, currency, timeout: pa.contracts.front_month(
                    symbol, exchange, currency, timeout),
                {"symbol": req(symbol), "exchange": opt(given, "CME"), "currency": opt(given, "USD"),
                 "timeout": opt(given)}),
            "contracts.option_chains": Command(
                lambda s, r, underlying, fut_fop_exchange, timeout: pa.contracts.option_chains(
                    underlying, fut_fop_exchange, timeout),
                {"underlying": req(symbol), "fut_fop_exchange": opt(given, ""), "timeout": opt(given)}),
            "contracts.option_chain": Command(
                lambda s, r, underlying, exchange, timeout: pa.contracts.option_chain(underlying, exchange, timeout),
                {"underlying": req(symbol), "exchange": opt(given, "SMART"), "timeout": opt(given)}),
            # account
            "account.get_account_summary": Command(lambda s, r, account: pa.account.get_account_summary(account),
                                                   {"account": opt(given)}),
            "account.get_account_summaries": Command(lambda s, r: pa.account.get_account_summaries(), {}),
            "account.get_positions": Command(lambda s, r, account: pa.account.get_positions(account),
                                             {"account": opt(given)}),
            "account.get_pnl": Command(lambda s, r, account: pa.account.get_pnl(account),
                                       {"account": opt(given)}),
            "account.refresh": Command(lambda s, r: account.refresh(), {}),
            "account.refresh_positions": Command(lambda s, r: account.refresh_positions(), {}),
            "account.subscribe_account_updates": Command(self._account_updates, {}),
        }

    def bind(self, session: Session, request: Request) -> Call:
        """``request`` for ``session`` with its arguments checked (ValidationError, ProtocolError)."""
        command = self.table.get(request.cmd)
        if command is None:
            raise ProtocolError(ErrorCode.UNKNOWN_COMMAND, f"no command {request.cmd!r}")
        return Call(command, session, request, command.bind(request.cmd, request.args))

    # --- which commands may run on the command thread --------------------------------------------------
    def _quick_order(self, args: dict[str, Any]) -> bool:
        """A new order whose contract is known (no contract details request) and that can go out
        now (the outgoing bucket has a token; a cancel, journalled with a commit, is not quick)."""
        try:
            known = self.pa.contracts.cached(args["symbol"]) is not None
        except PlatformAdapterError:  # an invalid symbol fails just as fast
            known = True
        return known and bool(self.pa.bucket.can_proceed())

    # --- handlers ----------------------------------------------------------------------------------------
    def _own(self, session: Session, order_id: Any) -> Any:
        """``order_id`` when ``session``'s client placed it; another client's order is unknown to it
        (a value that is no order id goes on to the facade, which refuses it)."""
        if isinstance(order_id, int) and not isinstance(order_id, bool) and order_id > 0 \
                and self.router.owner(order_id) != session.name:
            raise OrderStateError(order_id, "unknown order")
        return order_id

    def _quote(self, session: Session, request: Request, symbol: Any) -> Any:
        """The facade's quote of a line ``session`` holds; as the facade, a symbol the client did
        not subscribe is a ValidationError (another client's line is not its own)."""
        if not self.book.holds(session.token, quote_line(instrument_key(symbol))):
            raise ValidationError("symbol", symbol, QUOTE_NOT_SUBSCRIBED)
        return self.pa.market_data.get_quote(symbol)

    def _place(self, session: Session, request: Request, symbol: Any, action: str, quantity: Any,
               order_type: str, kwargs: dict[str, Any]) -> int:
        with self.router.placing(session.name):
            order_id: int = self.pa.orders.place_order(symbol, action, quantity, order_type, **kwargs)
        self.router.claim(order_id, session.name)
        return order_id

    def _bracket(self, session: Session, request: Request, symbol: Any, action: str, quantity: Any,
                 limit_price: Any, take_profit_price: Any, stop_loss_price: Any,
                 kwargs: dict[str, Any]) -> BracketOrder:
        with self.router.placing(session.name):
            bracket: BracketOrder = self.pa.orders.place_bracket_order(symbol, action, quantity, limit_price,
                                                                       take_profit_price, stop_loss_price, **kwargs)
        for order_id in bracket.order_ids:
            self.router.claim(order_id, session.name)
        return bracket

    def _oca(self, session: Session, request: Request, orders: list[dict[str, Any]], oca_group: str | None,
             oca_type: Any) -> OcaGroup:
        with self.router.placing(session.name):
            group: OcaGroup = self.pa.orders.place_oca_group(orders, oca_group, oca_type)
        for order_id in group.order_ids:
            self.router.claim(order_id, session.name)
        return group

    def _place_and_wait(self, session: Session, request: Request, symbol: Any, action: str, quantity: Any,
                        order_type: str, kwargs: dict[str, Any], wait_for: Any, timeout: float) -> StatusWait:
        """Place now; the answer is the status that ends the wait (what the facade's
        ``wait_for_status`` would return or raise), sent by the order router where that status
        is applied (the adapter's decoding thread), before its event (no thread woken for the
        wait alone, no detour through the event stream), or at the deadline by the command loop.
        The order is claimed with the answer: its events, held back meanwhile, are numbered and
        sent after it."""
        wanted = ACCEPTED if wait_for is None else parse_statuses(wait_for)  # bad ones: nothing is placed
        limit = min(check_wait(timeout), MAX_WAIT_SECONDS)
        with self.router.placing(session.name):
            order_id: int = self.pa.orders.place_order(symbol, action, quantity, order_type, **kwargs)
        return StatusWait(order_id, session.name, wanted, limit, self.pa.orders)

    def _historical(self, session: Session, request: Request, symbol: Any, duration: str, bar_size: str,
                    what_to_show: str, use_rth: bool, end: datetime | None, max_chunk: str | None,
                    timeout: float | None, progress: bool) -> dict[str, Any]:
        def report(done: int, total: int) -> None:
            self.publisher.event((session.token,), pack({"ev": Event.PROGRESS.value, "call": request.id,
                                                         "done": done, "total": total}))

        frame = self.pa.market_data.get_historical_data(symbol, duration, bar_size, what_to_show, use_rth, end,
                                                        progress=report if progress else None,
                                                        max_chunk=max_chunk, timeout=timeout)
        return frame_map(frame)

    def _account_updates(self, session: Session, request: Request) -> None:
        session.account_updates = True
