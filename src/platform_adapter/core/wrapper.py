"""The one ``EWrapper`` of the project: each TWS callback is handed on, unchanged, as a
snake_case event to the handlers the adapters registered. No business logic runs here.

These are the only camelCase methods in the project.

The hottest callbacks (``HOT_EVENTS``) skip the generic :meth:`Wrapper.emit`: each reads its
handler tuple from one attribute (``_h_<event>``, replaced as a whole by ``on``/``off``), with
the same DEBUG line per callback and the same error isolation.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ibapi.wrapper import EWrapper
from loguru import logger

Handler = Callable[..., None]
HOT_EVENTS = ("tick_price", "tick_size", "order_status", "open_order", "exec_details")


class Wrapper(EWrapper):  # type: ignore[misc]
    """Routes every callback to ``handlers[event]`` (runs on the dispatcher thread)."""

    def __init__(self) -> None:
        super().__init__()
        self._handlers: dict[str, tuple[Handler, ...]] = {}
        self._handlers_lock = threading.Lock()
        self._debug = False
        self.callback_errors = 0
        self._sink: Any = None
        self._sink_owners: tuple[Handler | None, Handler | None] = (None, None)
        self.quote_sink: Any = None  # the installed quote sink while it may take ticks, else None
        self._h_tick_price: tuple[Handler, ...] = ()
        self._h_tick_size: tuple[Handler, ...] = ()
        self._h_order_status: tuple[Handler, ...] = ()
        self._h_open_order: tuple[Handler, ...] = ()
        self._h_exec_details: tuple[Handler, ...] = ()

    def on(self, event: str, handler: Handler) -> None:
        """Register ``handler`` for ``event`` (snake_case callback name)."""
        with self._handlers_lock:
            self._set(event, (*self._handlers.get(event, ()), handler))

    def off(self, event: str, handler: Handler) -> None:
        """Remove one registration of ``handler`` (no-op when it is not registered)."""
        with self._handlers_lock:
            handlers = list(self._handlers.get(event, ()))
            if handler in handlers:
                handlers.remove(handler)
                self._set(event, tuple(handlers))

    def _set(self, event: str, handlers: tuple[Handler, ...]) -> None:
        self._handlers[event] = handlers  # a new tuple: a running emit keeps iterating the old one
        if event in HOT_EVENTS:
            setattr(self, "_h_" + event, handlers)
        self._update_sink()

    @property
    def debug(self) -> bool:
        """Log every callback at DEBUG (the quote sink stands aside meanwhile)."""
        return self._debug

    @debug.setter
    def debug(self, value: bool) -> None:
        self._debug = bool(value)
        self._update_sink()

    @property
    def installed_quote_sink(self) -> Any:
        """The quote sink (``adapters/quote_sink.py``), active or not; None when none is installed."""
        return self._sink

    def install_quote_sink(self, sink: Any, price_handler: Handler, size_handler: Handler) -> None:
        """Let the dispatcher's fast path hand tickPrice/tickSize straight to ``sink`` while
        ``price_handler`` and ``size_handler`` are the only handlers of those events and DEBUG
        logging is off: then the sink's effect equals theirs and no other code would see the tick."""
        with self._handlers_lock:
            self._sink, self._sink_owners = sink, (price_handler, size_handler)
            self._update_sink()

    def _update_sink(self) -> None:
        price, size = self._sink_owners
        active = (self._sink is not None and not self._debug and self._h_tick_price == (price,)
                  and self._h_tick_size == (size,))
        self.quote_sink = self._sink if active else None

    def emit(self, event: str, *args: Any) -> None:
        if self.debug:
            logger.debug("TWS {}{}", event, args)
        for handler in self._handlers.get(event, ()):
            try:
                handler(*args)
            except Exception:  # noqa: BLE001 - one bad handler must not stop the dispatcher
                self._failed(event)

    def _failed(self, event: str) -> None:
        self.callback_errors += 1
        logger.opt(exception=True).error("handler for {} raised", event)

    # --- connection ---------------------------------------------------------------------------
    def error(self, reqId: int, errorTime: int, errorCode: int, errorString: str,
              advancedOrderRejectJson: str = "") -> None:
        self.emit("error", reqId, errorCode, errorString, advancedOrderRejectJson)

    def connectAck(self) -> None:
        self.emit("connect_ack")

    def connectionClosed(self) -> None:
        self.emit("connection_closed")

    def nextValidId(self, orderId: int) -> None:
        self.emit("next_valid_id", orderId)

    def managedAccounts(self, accountsList: str) -> None:
        self.emit("managed_accounts", accountsList)

    def currentTime(self, time: int) -> None:
        self.emit("current_time", time)

    def currentTimeInMillis(self, timeInMillis: int) -> None:
        self.emit("current_time", timeInMillis / 1000.0)

    # --- contracts ------------------------------------------------------------------------------
    def contractDetails(self, reqId: int, contractDetails: Any) -> None:
        self.emit("contract_details", reqId, contractDetails)

    def bondContractDetails(self, reqId: int, contractDetails: Any) -> None:
        self.emit("contract_details", reqId, contractDetails)

    def contractDetailsEnd(self, reqId: int) -> None:
        self.emit("contract_details_end", reqId)

    def securityDefinitionOptionParameter(self, reqId: int, exchange: str, underlyingConId: int, tradingClass: str,
                                          multiplier: str, expirations: Any, strikes: Any) -> None:
        self.emit("option_chain", reqId, exchange, underlyingConId, tradingClass, multiplier, expirations, strikes)

    def securityDefinitionOptionParameterEnd(self, reqId: int) -> None:
        self.emit("option_chain_end", reqId)

    # --- market data ------------------------------------------------------------------------------
    def marketDataType(self, reqId: int, marketDataType: int) -> None:
        self.emit("market_data_type", reqId, marketDataType)

    def tickPrice(self, reqId: int, tickType: int, price: float, attrib: Any) -> None:
        if self.debug:
            logger.debug("TWS {}{}", "tick_price", (reqId, tickType, price, attrib))
        for handler in self._h_tick_price:
            try:
                handler(reqId, tickType, price, attrib)
            except Exception:  # noqa: BLE001 - one bad handler must not stop the dispatcher
                self._failed("tick_price")

    def tickSize(self, reqId: int, tickType: int, size: Decimal) -> None:
        if self.debug:
            logger.debug("TWS {}{}", "tick_size", (reqId, tickType, size))
        for handler in self._h_tick_size:
            try:
                handler(reqId, tickType, size)
            except Exception:  # noqa: BLE001 - one bad handler must not stop the dispatcher
                self._failed("tick_size")

    def tickString(self, reqId: int, tickType: int, value: str) -> None:
        self.emit("tick_string", reqId, tickType, value)

    def tickGeneric(self, reqId: int, tickType: int, value: float) -> None:
        self.emit("tick_generic", reqId, tickType, value)

    def tickSnapshotEnd(self, reqId: int) -> None:
        self.emit("tick_snapshot_end", reqId)

    def tickReqParams(self, tickerId: int, minTick: float, bboExchange: str, snapshotPermissions: int) -> None:
        self.emit("tick_req_params", tickerId, minTick, bboExchange, snapshotPermissions)

    def tickByTickAllLast(self, reqId: int, tickType: int, time: int, price: float, size: Decimal,
                          tickAttribLast: Any, exchange: str, specialConditions: str) -> None:
        self.emit("tick_by_tick_all_last", reqId, tickType, time, price, size, tickAttribLast, exchange,
                  specialConditions)

    def tickByTickBidAsk(self, reqId: int, time: int, bidPrice: float, askPrice: float, bidSize: Decimal,
                         askSize: Decimal, tickAttribBidAsk: Any) -> None:
        self.emit("tick_by_tick_bid_ask", reqId, time, bidPrice, askPrice, bidSize, askSize, tickAttribBidAsk)

    def tickByTickMidPoint(self, reqId: int, time: int, midPoint: float) -> None:
        self.emit("tick_by_tick_mid_point", reqId, time, midPoint)

    def realtimeBar(self, reqId: int, time: int, open_: float, high: float, low: float, close: float,
                    volume: Decimal, wap: Decimal, count: int) -> None:
        self.emit("realtime_bar", reqId, time, open_, high, low, close, volume, wap, count)

    def historicalData(self, reqId: int, bar: Any) -> None:
        self.emit("historical_data", reqId, bar)

    def historicalDataEnd(self, reqId: int, start: str, end: str) -> None:
        self.emit("historical_data_end", reqId, start, end)

    def historicalDataUpdate(self, reqId: int, bar: Any) -> None:
        self.emit("historical_data_update", reqId, bar)

    def headTimestamp(self, reqId: int, headTimestamp: str) -> None:
        self.emit("head_timestamp", reqId, headTimestamp)

    # --- orders -----------------------------------------------------------------------------------
    def openOrder(self, orderId: int, contract: Any, order: Any, orderState: Any) -> None:
        if self.debug:
            logger.debug("TWS {}{}", "open_order", (orderId, contract, order, orderState))
        for handler in self._h_open_order:
            try:
                handler(orderId, contract, order, orderState)
            except Exception:  # noqa: BLE001 - one bad handler must not stop the dispatcher
                self._failed("open_order")

    def openOrderEnd(self) -> None:
        self.emit("open_order_end")

    def orderStatus(self, orderId: int, status: str, filled: Decimal, remaining: Decimal, avgFillPrice: float,
                    permId: int, parentId: int, lastFillPrice: float, clientId: int, whyHeld: str,
                    mktCapPrice: float) -> None:
        args = (orderId, status, filled, remaining, avgFillPrice, permId, parentId, lastFillPrice, clientId, whyHeld,
                mktCapPrice)
        if self.debug:
            logger.debug("TWS {}{}", "order_status", args)
        for handler in self._h_order_status:
            try:
                handler(*args)
            except Exception:  # noqa: BLE001 - one bad handler must not stop the dispatcher
                self._failed("order_status")

    def completedOrder(self, contract: Any, order: Any, orderState: Any) -> None:
        self.emit("completed_order", contract, order, orderState)

    def completedOrdersEnd(self) -> None:
        self.emit("completed_orders_end")

    def orderBound(self, permId: int, clientId: int, orderId: int) -> None:
        self.emit("order_bound", permId, clientId, orderId)

    def execDetails(self, reqId: int, contract: Any, execution: Any) -> None:
        if self.debug:
            logger.debug("TWS {}{}", "exec_details", (reqId, contract, execution))
        for handler in self._h_exec_details:
            try:
                handler(reqId, contract, execution)
            except Exception:  # noqa: BLE001 - one bad handler must not stop the dispatcher
                self._failed("exec_details")

    def execDetailsEnd(self, reqId: int) -> None:
        self.emit("exec_details_end", reqId)

    def commissionAndFeesReport(self, commissionAndFeesReport: Any) -> None:
        self.emit("commission_report", commissionAndFeesReport)

    # --- account --------------------------------------------------------------------------------
    def updateAccountValue(self, key: str, val: str, currency: str, accountName: str) -> None:
        self.emit("update_account_value", key, val, currency, accountName)

    def updatePortfolio(self, contract: Any, position: Decimal, marketPrice: float, marketValue: float,
                        averageCost: float, unrealizedPNL: float, realizedPNL: float, accountName: str) -> None:
        self.emit("update_portfolio", contract, position, marketPrice, marketValue, averageCost, unrealizedPNL,
                  realizedPNL, accountName)

    def updateAccountTime(self, timeStamp: str) -> None:
        self.emit("update_account_time", timeStamp)

    def accountDownloadEnd(self, accountName: str) -> None:
        self.emit("account_download_end", accountName)

    def position(self, account: str, contract: Any, position: Decimal, avgCost: float) -> None:
        self.emit("position", account, contract, position, avgCost)

    def positionEnd(self) -> None:
        self.emit("position_end")

    def accountSummary(self, reqId: int, account: str, tag: str, value: str, currency: str) -> None:
        self.emit("account_summary", reqId, account, tag, value, currency)

    def accountSummaryEnd(self, reqId: int) -> None:
        self.emit("account_summary_end", reqId)

    def pnl(self, reqId: int, dailyPnL: float, unrealizedPnL: float, realizedPnL: float) -> None:
        self.emit("pnl", reqId, dailyPnL, unrealizedPnL, realizedPnL)

    def pnlSingle(self, reqId: int, pos: Decimal, dailyPnL: float, unrealizedPnL: float, realizedPnL: float,
                  value: float) -> None:
        self.emit("pnl_single", reqId, pos, dailyPnL, unrealizedPnL, realizedPnL, value)

    def positionMulti(self, reqId: int, account: str, modelCode: str, contract: Any, pos: Decimal,
                      avgCost: float) -> None:
        self.emit("position_multi", reqId, account, modelCode, contract, pos, avgCost)

    def positionMultiEnd(self, reqId: int) -> None:
        self.emit("position_multi_end", reqId)

    def accountUpdateMulti(self, reqId: int, account: str, modelCode: str, key: str, value: str,
                           currency: str) -> None:
        self.emit("account_update_multi", reqId, account, modelCode, key, value, currency)

    def accountUpdateMultiEnd(self, reqId: int) -> None:
        self.emit("account_update_multi_end", reqId)
