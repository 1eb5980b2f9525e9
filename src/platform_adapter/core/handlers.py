"""The typed handler interfaces every decoder delivers into (DESIGN section 1).

ibapi's decoder (text and protobuf, through :class:`~platform_adapter.core.wrapper.Wrapper`) and the
fast paths (``core/fast_decode.py``, ``fast_order_decode.py``, ``fast_proto_decode.py``) call the
same methods with the same arguments, on one handler object per domain, bound once
(:class:`Handlers`). Each method is named for what happened; its arguments are what ibapi's
``EWrapper`` callback receives: ibapi's objects where ibapi builds them (``TickAttrib``,
``Contract``, ``Order``, ``Execution``...), ``Decimal`` sizes, ``int``/``float``/``str`` otherwise.

Each class is an interface and its null implementation (every method does nothing): a handler
overrides what it reacts to. The methods run on the decoding thread (the dispatcher, or the reader
with ``decode_on_reader``): a handler never waits for the gateway there. A handler that raises is
logged and counted by the caller; the next message is decoded.

IB's ``error`` callback goes through :func:`route_error` to the one domain that owns it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from ibapi.commission_and_fees_report import CommissionAndFeesReport
from ibapi.common import BarData, TickAttrib, TickAttribBidAsk, TickAttribLast
from ibapi.contract import Contract, ContractDetails
from ibapi.execution import Execution
from ibapi.order import Order
from ibapi.order_state import OrderState
from ibapi.ticktype import TickTypeEnum

from platform_adapter.core import ib_codes
from platform_adapter.core.request_registry import RequestRegistry
from platform_adapter.models.connection import ConnectionEventKind, ConnectionState

# One quote tick of a fast-path run: (request id, tick type, price or None for a tickSize, size,
# attribute mask in ibapi's protobuf layout: bit 0 canAutoExecute, 1 pastLimit, 2 preOpen).
QuoteTick = tuple[int, int, float | None, Decimal, int]

# The size tick type reported with a tickPrice of a bid, ask or last (ibapi's processTickPriceMsg).
SIZE_TICK_FOR = {
    TickTypeEnum.BID: TickTypeEnum.BID_SIZE,
    TickTypeEnum.ASK: TickTypeEnum.ASK_SIZE,
    TickTypeEnum.LAST: TickTypeEnum.LAST_SIZE,
    TickTypeEnum.DELAYED_BID: TickTypeEnum.DELAYED_BID_SIZE,
    TickTypeEnum.DELAYED_ASK: TickTypeEnum.DELAYED_ASK_SIZE,
    TickTypeEnum.DELAYED_LAST: TickTypeEnum.DELAYED_LAST_SIZE,
}


def tick_attrib(mask: int) -> TickAttrib:
    """The ``TickAttrib`` ibapi builds from an attribute mask (protobuf layout)."""
    attrib = TickAttrib()
    attrib.canAutoExecute = mask & 1 != 0
    attrib.pastLimit = mask & 2 != 0
    attrib.preOpen = mask & 4 != 0
    return attrib


class MarketDataHandler:
    """Quotes, tick-by-tick data, bars, history and contract details (request ids of the
    market-data adapter and of its pending requests)."""

    def owns_request(self, req_id: int) -> bool:
        """True when ``req_id`` is one of this handler's streaming lines (errors for it come here)."""
        return False

    def error(self, req_id: int, code: int, message: str, advanced: str) -> None:
        """IB's error (or notice) for one of this handler's lines."""

    def tick_price(self, req_id: int, tick_type: int, price: float, attrib: TickAttrib) -> None:
        """A price tick (ibapi reports the size of a bid/ask/last price as a ``tick_size`` after it)."""

    def tick_size(self, req_id: int, tick_type: int, size: Decimal) -> None:
        """A size tick."""

    def quote_ticks(self, ticks: Sequence[QuoteTick]) -> None:
        """A run of consecutive tickPrice/tickSize messages, in order (the fast paths' route; the list
        is valid during the call only). Equal to calling, for each tick, ``tick_size`` for a size
        (price None), else ``tick_price`` with ``tick_attrib(mask)`` and, for a bid/ask/last,
        ``tick_size`` with its size tick type, as :func:`expand_quote_ticks` does."""
        expand_quote_ticks(self, ticks)

    def tick_string(self, req_id: int, tick_type: int, value: str) -> None:
        """A string tick (e.g. the last trade's timestamp)."""

    def tick_generic(self, req_id: int, tick_type: int, value: float) -> None:
        """A generic tick."""

    def tick_option_computation(self, req_id: int, tick_type: int, tick_attrib: int | None,
                                implied_vol: float | None, delta: float | None, option_price: float | None,
                                pv_dividend: float | None, gamma: float | None, vega: float | None,
                                theta: float | None, underlying_price: float | None) -> None:
        """An option's greeks (tickOptionComputation); IB's "not computed" values arrive as
        ibapi leaves them (None for -1/-2 and for absent protobuf fields)."""

    def tick_snapshot_end(self, req_id: int) -> None:
        """A snapshot request is complete."""

    def tick_req_params(self, req_id: int, min_tick: float, bbo_exchange: str, snapshot_permissions: int) -> None:
        """The parameters of a market data line."""

    def market_data_type(self, req_id: int, market_data_type: int) -> None:
        """The data type (1 live, 2 frozen, 3 delayed, 4 delayed frozen) a line now delivers."""

    def tick_by_tick_all_last(self, req_id: int, tick_type: int, time: int, price: float, size: Decimal,
                              attrib: TickAttribLast, exchange: str, special_conditions: str) -> None:
        """A tick-by-tick trade (``tick_type`` 1 Last, 2 AllLast)."""

    def tick_by_tick_bid_ask(self, req_id: int, time: int, bid_price: float, ask_price: float, bid_size: Decimal,
                             ask_size: Decimal, attrib: TickAttribBidAsk) -> None:
        """A tick-by-tick bid/ask."""

    def tick_by_tick_mid_point(self, req_id: int, time: int, mid_point: float) -> None:
        """A tick-by-tick midpoint."""

    def realtime_bar(self, req_id: int, time: int, open_: float, high: float, low: float, close: float,
                     volume: Decimal, wap: Decimal, count: int) -> None:
        """A 5-second real-time bar."""

    def historical_data(self, req_id: int, bar: BarData) -> None:
        """One historical bar of a request."""

    def historical_data_end(self, req_id: int, start: str, end: str) -> None:
        """A historical data request is complete."""

    def historical_data_update(self, req_id: int, bar: BarData) -> None:
        """An update of a ``keepUpToDate`` historical request."""

    def head_timestamp(self, req_id: int, head_timestamp: str) -> None:
        """The earliest data point of a head-timestamp request."""

    def contract_details(self, req_id: int, details: ContractDetails) -> None:
        """One contract of a contract-details request (bond details too)."""

    def contract_details_end(self, req_id: int) -> None:
        """A contract-details request is complete."""

    def option_chain(self, req_id: int, exchange: str, underlying_con_id: int, trading_class: str, multiplier: str,
                     expirations: set[str], strikes: set[float]) -> None:
        """One option chain (an exchange and trading class) of a ``reqSecDefOptParams`` request."""

    def option_chain_end(self, req_id: int) -> None:
        """A ``reqSecDefOptParams`` request is complete."""


def expand_quote_ticks(handler: MarketDataHandler, ticks: Sequence[QuoteTick]) -> None:
    """Deliver a quote run as the single calls ibapi's decoder makes (see ``quote_ticks``)."""
    size_tick_for = SIZE_TICK_FOR.get
    for req_id, tick_type, price, size, mask in ticks:
        if price is None:
            handler.tick_size(req_id, tick_type, size)
            continue
        handler.tick_price(req_id, tick_type, price, tick_attrib(mask))
        size_type = size_tick_for(tick_type)
        if size_type is not None:
            handler.tick_size(req_id, size_type, size)


class OrderHandler:
    """Orders, executions and commissions (order ids of this client and orders IB reports)."""

    def owns_order(self, order_id: int) -> bool:
        """True when ``order_id`` is an order this handler knows (errors for it come here)."""
        return False

    def error(self, order_id: int, code: int, message: str, advanced: str) -> None:
        """IB's error (or warning) for one of this handler's orders; ``advanced`` is IB's JSON."""

    def open_order(self, order_id: int, contract: Contract, order: Order, order_state: OrderState) -> None:
        """An open order (placed, modified, or reported by ``reqOpenOrders``)."""

    def open_order_end(self) -> None:
        """The end of a ``reqOpenOrders`` answer."""

    def order_status(self, order_id: int, status: str, filled: Decimal, remaining: Decimal, avg_fill_price: float,
                     perm_id: int, parent_id: int, last_fill_price: float, client_id: int, why_held: str,
                     mkt_cap_price: float) -> None:
        """An order's status."""

    def completed_order(self, contract: Contract, order: Order, order_state: OrderState) -> None:
        """A completed order of a ``reqCompletedOrders`` answer."""

    def completed_orders_end(self) -> None:
        """The end of a ``reqCompletedOrders`` answer."""

    def exec_details(self, req_id: int, contract: Contract, execution: Execution) -> None:
        """An execution (``req_id`` -1 for a live fill, else the ``reqExecutions`` request)."""

    def exec_details_end(self, req_id: int) -> None:
        """The end of a ``reqExecutions`` answer."""

    def commission_report(self, report: CommissionAndFeesReport) -> None:
        """The commission and fees of an execution."""

    def order_bound(self, perm_id: int, client_id: int, order_id: int) -> None:
        """An order of another API client bound to an order id."""


class AccountHandler:
    """Account values, portfolio, positions, summaries and PnL."""

    def update_account_value(self, key: str, value: str, currency: str, account: str) -> None:
        """One account value of the ``reqAccountUpdates`` subscription."""

    def update_portfolio(self, contract: Contract, position: Decimal, market_price: float, market_value: float,
                         average_cost: float, unrealized_pnl: float, realized_pnl: float, account: str) -> None:
        """One portfolio position of the ``reqAccountUpdates`` subscription."""

    def update_account_time(self, timestamp: str) -> None:
        """The time of the last account update."""

    def account_download_end(self, account: str) -> None:
        """The first full set of account updates has been sent."""

    def position(self, account: str, contract: Contract, position: Decimal, avg_cost: float) -> None:
        """One position of ``reqPositions`` (a list, then pushed changes)."""

    def position_end(self) -> None:
        """The end of the position list."""

    def account_summary(self, req_id: int, account: str, tag: str, value: str, currency: str) -> None:
        """One tag of an account summary request."""

    def account_summary_end(self, req_id: int) -> None:
        """An account summary request is complete."""

    def pnl(self, req_id: int, daily_pnl: float, unrealized_pnl: float, realized_pnl: float) -> None:
        """The account's PnL (``reqPnL``)."""

    def pnl_single(self, req_id: int, position: Decimal, daily_pnl: float, unrealized_pnl: float,
                   realized_pnl: float, value: float) -> None:
        """One position's PnL (``reqPnLSingle``)."""

    def position_multi(self, req_id: int, account: str, model_code: str, contract: Contract, position: Decimal,
                       avg_cost: float) -> None:
        """One position of a ``reqPositionsMulti`` request."""

    def position_multi_end(self, req_id: int) -> None:
        """A ``reqPositionsMulti`` list is complete."""

    def account_update_multi(self, req_id: int, account: str, model_code: str, key: str, value: str,
                             currency: str) -> None:
        """One value of a ``reqAccountUpdatesMulti`` request."""

    def account_update_multi_end(self, req_id: int) -> None:
        """A ``reqAccountUpdatesMulti`` list is complete."""


class LifecycleHandler:
    """The connection: the gateway's session messages, the errors no other domain owns, and the
    connection's events (reported by the ConnectionManager and the facade, not read from the wire).
    The order in which the library reacts to the events is ``core/lifecycle.py``'s."""

    def next_valid_id(self, order_id: int) -> None:
        """The next order id the gateway accepts."""

    def managed_accounts(self, accounts: str) -> None:
        """The comma-separated accounts of this login."""

    def current_time(self, seconds: float) -> None:
        """The gateway's clock (``currentTime``, or ``currentTimeInMillis`` / 1000)."""

    def connect_ack(self) -> None:
        """ibapi's acknowledgement of an asynchronous connect."""

    def connection_closed(self) -> None:
        """ibapi's notice that its connection closed."""

    def error(self, req_id: int, code: int, message: str, advanced: str) -> None:
        """IB's connection and system codes, and any error no other domain owns."""

    def connected(self) -> None:
        """``PlatformAdapter.connect()`` opened the link (reported by the facade, which owns the
        start-up; the ConnectionManager reports the other events)."""

    def reconnected(self) -> None:
        """The link is ready again after a loss (runs on the reconnect thread)."""

    def disconnected(self, reason: str) -> None:
        """The link was closed (pending requests have already failed with ``NotConnected``)."""

    def state_changed(self, state: ConnectionState) -> None:
        """The connection state changed."""

    def ib_link(self, event: ConnectionEventKind, message: str) -> None:
        """The gateway lost (1100/2110) or restored (1101, 1102) its link to IB."""

    def data_farm(self, code: int, farm: str) -> None:
        """A data farm was reported broken or OK (``code`` in ``ib_codes.FARM_BROKEN``/``FARM_OK``)."""


@dataclass(frozen=True, slots=True)
class Handlers:
    """The handler of each domain, bound once to the Wrapper; ``requests`` holds the pending
    synchronous requests (an error for one of their ids completes it)."""

    market_data: MarketDataHandler = field(default_factory=MarketDataHandler)
    orders: OrderHandler = field(default_factory=OrderHandler)
    account: AccountHandler = field(default_factory=AccountHandler)
    lifecycle: LifecycleHandler = field(default_factory=LifecycleHandler)
    requests: RequestRegistry = field(default_factory=RequestRegistry)


def route_error(handlers: Handlers, req_id: int, code: int, message: str, advanced: str) -> None:
    """Hand IB's error to the one owner of its id or code: a pending synchronous request (failed
    with a typed exception; a notice fails nothing), else the order (order ids and request ids
    never overlap, see ``RequestRegistry``), else the market data line, else the lifecycle
    handler (connection and system codes, ids nobody owns)."""
    if req_id >= 0 and not ib_codes.is_notice(code) and handlers.requests.fail_from_ib(req_id, code, message):
        return
    if req_id > 0 and handlers.orders.owns_order(req_id):
        handlers.orders.error(req_id, code, message, advanced)
    elif req_id >= 0 and handlers.market_data.owns_request(req_id):
        handlers.market_data.error(req_id, code, message, advanced)
    else:
        handlers.lifecycle.error(req_id, code, message, advanced)
