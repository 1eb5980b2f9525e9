"""The one ``EWrapper`` of the project: a thin adapter from ibapi's callbacks to the typed handler
interfaces (``core/handlers.py``). No business logic runs here.

These are the only camelCase methods in the project. Each callback becomes one call of the bound
handler of its domain, with the same arguments (``currentTimeInMillis`` as seconds, ``error``
through :func:`~platform_adapter.core.handlers.route_error`). A handler that raises is logged with
its traceback and counted (``callback_errors``); the dispatcher goes on. With ``debug`` every
callback is logged at DEBUG as ``TWS <method>(<args>)`` (and the connection decodes every message
with ibapi's decoder, so that each passes here).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ibapi.wrapper import EWrapper
from loguru import logger

from platform_adapter.core.handlers import Handlers, route_error


class Wrapper(EWrapper):  # type: ignore[misc]
    """Routes every callback to the handler of its domain (runs on the decoding thread)."""

    def __init__(self, handlers: Handlers | None = None) -> None:
        super().__init__()
        self.debug = False
        self.callback_errors = 0
        self._bound = False
        self._use(Handlers())
        if handlers is not None:
            self.bind(handlers)

    def bind(self, handlers: Handlers) -> None:
        """Set the handlers, once (until then every callback goes to a null handler)."""
        if self._bound:
            raise RuntimeError("the Wrapper's handlers are bound once")
        self._bound = True
        self._use(handlers)

    def _use(self, handlers: Handlers) -> None:
        self.handlers = handlers
        self._md = handlers.market_data
        self._orders = handlers.orders
        self._account = handlers.account
        self._lifecycle = handlers.lifecycle

    def handler_failed(self, method: str) -> None:
        """Count and log (with the traceback) a handler that raised; call it in the ``except``."""
        self.callback_errors += 1
        logger.opt(exception=True).error("handler for {} raised", method)

    def _call(self, method: str, fn: Callable[..., None], *args: Any) -> None:
        if self.debug:
            logger.debug("TWS {}{}", method, args)
        try:
            fn(*args)
        except Exception:  # noqa: BLE001 - one bad handler must not stop the dispatcher
            self.handler_failed(method)

    # --- lifecycle ------------------------------------------------------------------------------
    def error(self, reqId: int, errorTime: int, errorCode: int, errorString: str,
              advancedOrderRejectJson: str = "") -> None:
        self._call("error", self._route_error, reqId, errorCode, errorString, advancedOrderRejectJson)

    def _route_error(self, req_id: int, code: int, message: str, advanced: str) -> None:
        route_error(self.handlers, req_id, code, message, advanced)

    def connectAck(self) -> None:
        self._call("connect_ack", self._lifecycle.connect_ack)

    def connectionClosed(self) -> None:
        self._call("connection_closed", self._lifecycle.connection_closed)

    def nextValidId(self, orderId: int) -> None:
        self._call("next_valid_id", self._lifecycle.next_valid_id, orderId)

    def managedAccounts(self, accountsList: str) -> None:
        self._call("managed_accounts", self._lifecycle.managed_accounts, accountsList)

    def currentTime(self, time: int) -> None:
        self._call("current_time", self._lifecycle.current_time, time)

    def currentTimeInMillis(self, timeInMillis: int) -> None:
        self._call("current_time", self._lifecycle.current_time, timeInMillis / 1000.0)

    # --- market data ------------------------------------------------------------------------------
    def contractDetails(self, reqId: int, contractDetails: Any) -> None:
        self._call("contract_details", self._md.contract_details, reqId, contractDetails)

    def bondContractDetails(self, reqId: int, contractDetails: Any) -> None:
        self._call("contract_details", self._md.contract_details, reqId, contractDetails)

    def contractDetailsEnd(self, reqId: int) -> None:
        self._call("contract_details_end", self._md.contract_details_end, reqId)

    def securityDefinitionOptionParameter(self, reqId: int, exchange: str, underlyingConId: int, tradingClass: str,
                                          multiplier: str, expirations: Any, strikes: Any) -> None:
        self._call("option_chain", self._md.option_chain, reqId, exchange, underlyingConId, tradingClass, multiplier,
                   expirations, strikes)

    def securityDefinitionOptionParameterEnd(self, reqId: int) -> None:
        self._call("option_chain_end", self._md.option_chain_end, reqId)

    def marketDataType(self, reqId: int, marketDataType: int) -> None:
        self._call("market_data_type", self._md.market_data_type, reqId, marketDataType)

    def tickPrice(self, reqId: int, tickType: int, price: float, attrib: Any) -> None:
        if self.debug:
            logger.debug("TWS {}{}", "tick_price", (reqId, tickType, price, attrib))
        try:
            self._md.tick_price(reqId, tickType, price, attrib)
        except Exception:  # noqa: BLE001 - one bad handler must not stop the dispatcher
            self.handler_failed("tick_price")

    def tickSize(self, reqId: int, tickType: int, size: Decimal) -> None:
        if self.debug:
            logger.debug("TWS {}{}", "tick_size", (reqId, tickType, size))
        try:
            self._md.tick_size(reqId, tickType, size)
        except Exception:  # noqa: BLE001 - one bad handler must not stop the dispatcher
            self.handler_failed("tick_size")

    def tickString(self, reqId: int, tickType: int, value: str) -> None:
        self._call("tick_string", self._md.tick_string, reqId, tickType, value)

    def tickGeneric(self, reqId: int, tickType: int, value: float) -> None:
        self._call("tick_generic", self._md.tick_generic, reqId, tickType, value)

    def tickOptionComputation(self, reqId: int, tickType: int, tickAttrib: int | None, impliedVol: float | None,
                              delta: float | None, optPrice: float | None, pvDividend: float | None,
                              gamma: float | None, vega: float | None, theta: float | None,
                              undPrice: float | None) -> None:
        self._call("tick_option_computation", self._md.tick_option_computation, reqId, tickType, tickAttrib,
                   impliedVol, delta, optPrice, pvDividend, gamma, vega, theta, undPrice)

    def tickSnapshotEnd(self, reqId: int) -> None:
        self._call("tick_snapshot_end", self._md.tick_snapshot_end, reqId)

    def tickReqParams(self, tickerId: int, minTick: float, bboExchange: str, snapshotPermissions: int) -> None:
        self._call("tick_req_params", self._md.tick_req_params, tickerId, minTick, bboExchange, snapshotPermissions)

    def tickByTickAllLast(self, reqId: int, tickType: int, time: int, price: float, size: Decimal,
                          tickAttribLast: Any, exchange: str, specialConditions: str) -> None:
        self._call("tick_by_tick_all_last", self._md.tick_by_tick_all_last, reqId, tickType, time, price, size,
                   tickAttribLast, exchange, specialConditions)

    def tickByTickBidAsk(self, reqId: int, time: int, bidPrice: float, askPrice: float, bidSize: Decimal,
                         askSize: Decimal, tickAttribBidAsk: Any) -> None:
        self._call("tick_by_tick_bid_ask", self._md.tick_by_tick_bid_ask, reqId, time, bidPrice, askPrice, bidSize,
                   askSize, tickAttribBidAsk)

    def tickByTickMidPoint(self, reqId: int, time: int, midPoint: float) -> None:
        self._call("tick_by_tick_mid_point", self._md.tick_by_tick_mid_point, reqId, time, midPoint)

    def realtimeBar(self, reqId: int, time: int, open_: float, high: float, low: float, close: float,
                    volume: Decimal, wap: Decimal, count: int) -> None:
        self._call("realtime_bar", self._md.realtime_bar, reqId, time, open_, high, low, close, volume, wap, count)

    def historicalData(self, reqId: int, bar: Any) -> None:
        self._call("historical_data", self._md.historical_data, reqId, bar)

    def historicalDataEnd(self, reqId: int, start: str, end: str) -> None:
        self._call("historical_data_end", self._md.historical_data_end, reqId, start, end)

    def historicalDataUpdate(self, reqId: int, bar: Any) -> None:
        self._call("historical_data_update", self._md.historical_data_update, reqId, bar)

    def headTimestamp(self, reqId: int, headTimestamp: str) -> None:
        self._call("head_timestamp", self._md.head_timestamp, reqId, headTimestamp)

    # --- orders -----------------------------------------------------------------------------------
    def openOrder(self, orderId: int, contract: Any, order: Any, orderState: Any) -> None:
        if self.debug:
            logger.debug("TWS {}{}", "open_order", (orderId, contract, order, orderState))
        try:
            self._orders.open_order(orderId, contract, order, orderState)
        except Exception:  # noqa: BLE001 - one bad handler must not stop the dispatcher
            self.handler_failed("open_order")

    def openOrderEnd(self) -> None:
        self._call("open_order_end", self._orders.open_order_end)

    def orderStatus(self, orderId: int, status: str, filled: Decimal, remaining: Decimal, avgFillPrice: float,
                    permId: int, parentId: int, lastFillPrice: float, clientId: int, whyHeld: str,
                    mktCapPrice: float) -> None:
        if self.debug:
            logger.debug("TWS {}{}", "order_status", (orderId, status, filled, remaining, avgFillPrice, permId,
                                                      parentId, lastFillPrice, clientId, whyHeld, mktCapPrice))
        try:
            self._orders.order_status(orderId, status, filled, remaining, avgFillPrice, permId, parentId,
                                      lastFillPrice, clientId, whyHeld, mktCapPrice)
        except Exception:  # noqa: BLE001 - one bad handler must not stop the dispatcher
            self.handler_failed("order_status")

    def completedOrder(self, contract: Any, order: Any, orderState: Any) -> None:
        self._call("completed_order", self._orders.completed_order, contract, order, orderState)

    def completedOrdersEnd(self) -> None:
        self._call("completed_orders_end", self._orders.completed_orders_end)

    def orderBound(self, permId: int, clientId: int, orderId: int) -> None:
        self._call("order_bound", self._orders.order_bound, permId, clientId, orderId)

    def execDetails(self, reqId: int, contract: Any, execution: Any) -> None:
        self._call("exec_details", self._orders.exec_details, reqId, contract, execution)

    def execDetailsEnd(self, reqId: int) -> None:
        self._call("exec_details_end", self._orders.exec_details_end, reqId)

    def commissionAndFeesReport(self, commissionAndFeesReport: Any) -> None:
        self._call("commission_report", self._orders.commission_report, commissionAndFeesReport)

    # --- account --------------------------------------------------------------------------------
    def updateAccountValue(self, key: str, val: str, currency: str, accountName: str) -> None:
        self._call("update_account_value", self._account.update_account_value, key, val, currency, accountName)

    def updatePortfolio(self, contract: Any, position: Decimal, marketPrice: float, marketValue: float,
                        averageCost: float, unrealizedPNL: float, realizedPNL: float, accountName: str) -> None:
        self._call("update_portfolio", self._account.update_portfolio, contract, position, marketPrice, marketValue,
                   averageCost, unrealizedPNL, realizedPNL, accountName)

    def updateAccountTime(self, timeStamp: str) -> None:
        self._call("update_account_time", self._account.update_account_time, timeStamp)

    def accountDownloadEnd(self, accountName: str) -> None:
        self._call("account_download_end", self._account.account_download_end, accountName)

    def position(self, account: str, contract: Any, position: Decimal, avgCost: float) -> None:
        self._call("position", self._account.position, account, contract, position, avgCost)

    def positionEnd(self) -> None:
        self._call("position_end", self._account.position_end)

    def accountSummary(self, reqId: int, account: str, tag: str, value: str, currency: str) -> None:
        self._call("account_summary", self._account.account_summary, reqId, account, tag, value, currency)

    def accountSummaryEnd(self, reqId: int) -> None:
        self._call("account_summary_end", self._account.account_summary_end, reqId)

    def pnl(self, reqId: int, dailyPnL: float, unrealizedPnL: float, realizedPnL: float) -> None:
        self._call("pnl", self._account.pnl, reqId, dailyPnL, unrealizedPnL, realizedPnL)

    def pnlSingle(self, reqId: int, pos: Decimal, dailyPnL: float, unrealizedPnL: float, realizedPnL: float,
                  value: float) -> None:
        self._call("pnl_single", self._account.pnl_single, reqId, pos, dailyPnL, unrealizedPnL, realizedPnL, value)

    def positionMulti(self, reqId: int, account: str, modelCode: str, contract: Any, pos: Decimal,
                      avgCost: float) -> None:
        self._call("position_multi", self._account.position_multi, reqId, account, modelCode, contract, pos, avgCost)

    def positionMultiEnd(self, reqId: int) -> None:
        self._call("position_multi_end", self._account.position_multi_end, reqId)

    def accountUpdateMulti(self, reqId: int, account: str, modelCode: str, key: str, value: str,
                           currency: str) -> None:
        self._call("account_update_multi", self._account.account_update_multi, reqId, account, modelCode, key, value,
                   currency)

    def accountUpdateMultiEnd(self, reqId: int) -> None:
        self._call("account_update_multi_end", self._account.account_update_multi_end, reqId)
