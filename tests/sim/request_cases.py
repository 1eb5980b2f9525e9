"""One case per request family: what to make stock ibapi send, and the typed request it must read
as. Every value differs from ibapi's default where the server version lets ibapi send it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from ibapi.client import EClient
from ibapi.common import WshEventData
from ibapi.contract import ComboLeg, Contract, DeltaNeutralContract
from ibapi.execution import ExecutionFilter
from ibapi.message import OUT
from ibapi.order import Order
from ibapi.order_cancel import OrderCancel
from ibapi.order_condition import (
    ExecutionCondition,
    MarginCondition,
    PercentChangeCondition,
    PriceCondition,
    TimeCondition,
    VolumeCondition,
)
from ibapi.protobuf.ConfigRequest_pb2 import ConfigRequest
from ibapi.protobuf.UpdateConfigRequest_pb2 import UpdateConfigRequest
from ibapi.scanner import ScannerSubscription
from ibapi.server_versions import (
    MAX_CLIENT_VER,
    MIN_SERVER_VER_BOND_ISSUERID,
    MIN_SERVER_VER_CANCEL_CONTRACT_DATA,
    MIN_SERVER_VER_CANCEL_HEADTIMESTAMP,
    MIN_SERVER_VER_CASH_QTY,
    MIN_SERVER_VER_CME_TAGGING_FIELDS,
    MIN_SERVER_VER_COMPLETED_ORDERS,
    MIN_SERVER_VER_CONFIG,
    MIN_SERVER_VER_CURRENT_TIME_IN_MILLIS,
    MIN_SERVER_VER_CUSTOMER_ACCOUNT,
    MIN_SERVER_VER_FRACTIONAL_POSITIONS,
    MIN_SERVER_VER_HISTORICAL_TICKS,
    MIN_SERVER_VER_MANUAL_ORDER_TIME,
    MIN_SERVER_VER_MANUAL_ORDER_TIME_EXERCISE_OPTIONS,
    MIN_SERVER_VER_MARKET_RULES,
    MIN_SERVER_VER_MKT_DEPTH_PRIM_EXCHANGE,
    MIN_SERVER_VER_MODELS_SUPPORT,
    MIN_SERVER_VER_PARAMETRIZED_DAYS_OF_EXECUTIONS,
    MIN_SERVER_VER_PEGGED_TO_BENCHMARK,
    MIN_SERVER_VER_PNL,
    MIN_SERVER_VER_PROFESSIONAL_CUSTOMER,
    MIN_SERVER_VER_REPLACE_FA_END,
    MIN_SERVER_VER_REQ_FAMILY_CODES,
    MIN_SERVER_VER_REQ_HEAD_TIMESTAMP,
    MIN_SERVER_VER_REQ_HISTOGRAM,
    MIN_SERVER_VER_REQ_HISTORICAL_NEWS,
    MIN_SERVER_VER_REQ_MATCHING_SYMBOLS,
    MIN_SERVER_VER_REQ_MKT_DEPTH_EXCHANGES,
    MIN_SERVER_VER_REQ_NEWS_ARTICLE,
    MIN_SERVER_VER_REQ_NEWS_PROVIDERS,
    MIN_SERVER_VER_REQ_SMART_COMPONENTS,
    MIN_SERVER_VER_SCANNER_GENERIC_OPTS,
    MIN_SERVER_VER_SEC_DEF_OPT_PARAMS_REQ,
    MIN_SERVER_VER_SMART_DEPTH,
    MIN_SERVER_VER_SYNT_REALTIME_BARS,
    MIN_SERVER_VER_TICK_BY_TICK,
    MIN_SERVER_VER_TICK_BY_TICK_IGNORE_SIZE,
    MIN_SERVER_VER_UPDATE_CONFIG,
    MIN_SERVER_VER_USER_INFO,
    MIN_SERVER_VER_WSH_EVENT_DATA_FILTERS,
    MIN_SERVER_VER_WSH_EVENT_DATA_FILTERS_DATE,
    MIN_SERVER_VER_WSHE_CALENDAR,
)
from ibapi.tag_value import TagValue

from platform_adapter.sim import info_requests as iq
from platform_adapter.sim import requests as rq
from platform_adapter.sim.contracts import ContractQuery

VERSIONS = (100, 104, 110, 118, 124, 130, 136, 140, 145, 148, 150, 151, 152, 155, 156, 157, 176, 191, 192, 200,
            201, 203, 205, 206, 207, 208, 210, 213, 222, 226)


def contract(sv: int = 226, **extra: Any) -> Contract:
    """A contract with every field of the 12-field layout set."""
    k = Contract()
    k.conId, k.symbol, k.secType = 123456, "AAPL", "OPT"
    k.lastTradeDateOrContractMonth, k.strike, k.right, k.multiplier = "20261218", 200.5, "C", "100"
    k.exchange, k.primaryExchange, k.currency = "SMART", "NASDAQ", "USD"
    k.localSymbol, k.tradingClass = "AAPL  261218C00200500", "AAPL"
    for key, value in extra.items():
        setattr(k, key, value)
    return k


QUERY = ContractQuery(
    con_id=123456, symbol="AAPL", sec_type="OPT", last_trade_date="20261218", strike=200.5,
    right="C", multiplier="100", exchange="SMART", primary_exchange="NASDAQ", currency="USD",
    local_symbol="AAPL  261218C00200500", trading_class="AAPL")


def bag_contract() -> Contract:
    """A combo with two legs and a delta-neutral contract (variable-length parts)."""
    k = contract(secType="BAG", conId=0, lastTradeDateOrContractMonth="", strike=0.0, right="",
                 multiplier="", localSymbol="", tradingClass="")
    legs = []
    for con_id, action in ((265598, "BUY"), (272093, "SELL")):
        leg = ComboLeg()
        leg.conId, leg.ratio, leg.action, leg.exchange = con_id, 1, action, "SMART"
        legs.append(leg)
    k.comboLegs = legs
    dn = DeltaNeutralContract()
    dn.conId, dn.delta, dn.price = 265598, 0.5, 190.0
    k.deltaNeutralContract = dn
    return k


BAG_QUERY = ContractQuery(symbol="AAPL", sec_type="BAG", exchange="SMART", primary_exchange="NASDAQ",
                          currency="USD")


def conditions() -> list[Any]:
    """One order condition of every type ibapi knows."""
    time = TimeCondition(True, "20261231 10:00:00 US/Eastern")
    return [PriceCondition(2, 265598, "SMART", True, 150.0), time.Or(),
            MarginCondition(False, 30), ExecutionCondition("STK", "SMART", "AAPL"),
            VolumeCondition(265598, "SMART", True, 100000),
            PercentChangeCondition(265598, "SMART", False, 2.5)]


CONDITIONS = (
    rq.OrderCondition(1, ("a", "1", "150.0", "265598", "SMART", "2")),
    rq.OrderCondition(3, ("o", "1", "20261231 10:00:00 US/Eastern")),
    rq.OrderCondition(4, ("a", "0", "30")),
    rq.OrderCondition(5, ("a", "STK", "SMART", "AAPL")),
    rq.OrderCondition(6, ("a", "1", "100000", "265598", "SMART")),
    rq.OrderCondition(7, ("a", "0", "2.5", "265598", "SMART")),
)


def full_order(sv: int = MAX_CLIENT_VER) -> Order:
    """An order with every field the simulator carries set to a non-default value (and, below
    CASH_QTY (111), no cash quantity: ibapi refuses its own default, UNSET_DOUBLE, there)."""
    o = Order()
    if sv < MIN_SERVER_VER_CASH_QTY:
        o.cashQty = 0.0
    o.action, o.totalQuantity, o.orderType = "SELL", Decimal("123.5"), "LMT"
    o.lmtPrice, o.auxPrice, o.tif = 101.25, 99.5, "GTD"
    o.ocaGroup, o.ocaType, o.account, o.orderRef = "OCA1", 2, "DU999", "ref-1"
    o.parentId, o.transmit, o.outsideRth = 41, False, True
    o.goodTillDate = "20261231 23:59:59 US/Eastern"
    o.trailingPercent, o.trailStopPrice, o.lmtPriceOffset = 1.5, 98.75, 0.05
    o.whatIf = True
    o.conditions = conditions()
    o.conditionsIgnoreRth, o.conditionsCancelOrder = True, True
    return o


FULL_ORDER = rq.PlaceOrder(
    order_id=42, contract=QUERY, action="SELL", total_quantity=Decimal("123.5"), order_type="LMT",
    lmt_price=101.25, aux_price=99.5, tif="GTD", oca_group="OCA1", account="DU999",
    order_ref="ref-1", transmit=False, parent_id=41, outside_rth=True,
    good_till_date="20261231 23:59:59 US/Eastern", oca_type=2, trail_stop_price=98.75,
    trailing_percent=1.5, what_if=True, conditions=CONDITIONS, conditions_ignore_rth=True,
    conditions_cancel_order=True, lmt_price_offset=0.05)


def expected_order(sv: int) -> rq.PlaceOrder:
    """FULL_ORDER as read at ``sv``: below FRACTIONAL_POSITIONS (101) ibapi sends the quantity as an
    integer; below PEGGED_TO_BENCHMARK (102) it sends no conditions and no limit price offset."""
    out = FULL_ORDER
    if sv < MIN_SERVER_VER_FRACTIONAL_POSITIONS:
        out = replace(out, total_quantity=Decimal(int(out.total_quantity)))
    if sv < MIN_SERVER_VER_PEGGED_TO_BENCHMARK:
        out = replace(out, conditions=(), conditions_ignore_rth=False, conditions_cancel_order=False,
                      lmt_price_offset=None)
    return out


def depth_contract(sv: int) -> Contract:
    """The contract of reqMktDepth: ibapi refuses a primary exchange below MKT_DEPTH_PRIM_EXCHANGE (149)."""
    return contract() if sv >= MIN_SERVER_VER_MKT_DEPTH_PRIM_EXCHANGE else contract(primaryExchange="")


def order_cancel(sv: int) -> OrderCancel:
    c = OrderCancel()
    if sv >= MIN_SERVER_VER_MANUAL_ORDER_TIME:
        c.manualOrderCancelTime = "20261201 10:00:00"
    if sv >= MIN_SERVER_VER_CME_TAGGING_FIELDS:
        c.extOperator, c.manualOrderIndicator = "op-7", 1
    return c


def expected_cancel(sv: int) -> tuple[str, str, int | None]:
    return ("20261201 10:00:00" if sv >= MIN_SERVER_VER_MANUAL_ORDER_TIME else "",
            *(("op-7", 1) if sv >= MIN_SERVER_VER_CME_TAGGING_FIELDS else ("", None)))


def execution_filter(sv: int) -> ExecutionFilter:
    f = ExecutionFilter()
    f.clientId, f.acctCode, f.time = 7, "DU1", "20261201 09:30:00"
    f.symbol, f.secType, f.exchange, f.side = "AAPL", "STK", "SMART", "BUY"
    if sv >= MIN_SERVER_VER_PARAMETRIZED_DAYS_OF_EXECUTIONS:
        f.lastNDays, f.specificDates = 3, [20261130, 20261201]
    return f


def expected_executions(sv: int) -> rq.ReqExecutions:
    dated = sv >= MIN_SERVER_VER_PARAMETRIZED_DAYS_OF_EXECUTIONS
    return rq.ReqExecutions(12, 7, "DU1", "20261201 09:30:00", "AAPL", "STK", "SMART", "BUY",
                            3 if dated else None, (20261130, 20261201) if dated else ())


def start_api(ib: EClient, sv: int) -> None:
    ib.optCapab = "cap1"
    ib.startApi()


def contract_details(sv: int) -> Contract:
    extra = {"issuerId": "e123"} if sv >= MIN_SERVER_VER_BOND_ISSUERID else {}
    return contract(includeExpired=True, secIdType="ISIN", secId="US0378331005", **extra)


def scanner_subscription() -> ScannerSubscription:
    s = ScannerSubscription()
    s.numberOfRows, s.instrument, s.locationCode, s.scanCode = 10, "STK", "STK.US.MAJOR", "TOP_PERC_GAIN"
    s.abovePrice, s.belowPrice, s.aboveVolume = 5.0, 500.5, 100000
    s.marketCapAbove, s.marketCapBelow, s.stockTypeFilter = 1e8, 1e13, "CORP"
    s.moodyRatingAbove, s.couponRateAbove, s.averageOptionVolumeAbove = "A", 1.5, 10
    return s


SCANNER = iq.ReqScannerSubscription(20, 10, "STK", "STK.US.MAJOR", "TOP_PERC_GAIN", 5.0, 500.5, 100000, 1e8, 1e13,
                                    "CORP", (("avgVolumeAbove", "1000"), ("priceAbove", "5")))


def scanner_filters(sv: int) -> list[TagValue] | None:
    """Filter options; below SCANNER_GENERIC_OPTS (143) ibapi refuses any list, even an empty one."""
    if sv < MIN_SERVER_VER_SCANNER_GENERIC_OPTS:
        return None
    return [TagValue("priceAbove", "5"), TagValue("avgVolumeAbove", "1000")]


def wsh_event_data(sv: int) -> WshEventData:
    w = WshEventData()
    w.conId = 8314
    if sv >= MIN_SERVER_VER_WSH_EVENT_DATA_FILTERS:
        w.filter, w.fillWatchlist, w.fillPortfolio, w.fillCompetitors = '{"country": "All"}', True, True, True
    if sv >= MIN_SERVER_VER_WSH_EVENT_DATA_FILTERS_DATE:
        w.startDate, w.endDate, w.totalLimit = "20261201", "20261231", 5
    return w


def expected_wsh_event_data(sv: int) -> iq.ReqWshEventData:
    req = iq.ReqWshEventData(21, 8314)
    if sv >= MIN_SERVER_VER_WSH_EVENT_DATA_FILTERS:
        req = iq.ReqWshEventData(21, 8314, '{"country": "All"}', True, True, True)
    if sv >= MIN_SERVER_VER_WSH_EVENT_DATA_FILTERS_DATE:
        req = iq.ReqWshEventData(21, 8314, '{"country": "All"}', True, True, True, "20261201", "20261231", 5)
    return req


def exercise(ib: EClient, sv: int) -> None:
    manual = "20261201 10:00:00" if sv >= MIN_SERVER_VER_MANUAL_ORDER_TIME_EXERCISE_OPTIONS else ""
    customer = "CUST" if sv >= MIN_SERVER_VER_CUSTOMER_ACCOUNT else ""
    professional = sv >= MIN_SERVER_VER_PROFESSIONAL_CUSTOMER
    ib.exerciseOptions(22, contract(primaryExchange=""), 1, 3, "DU1", 1, manual, customer, professional)


def expected_exercise(sv: int) -> iq.ExerciseOptions:
    return iq.ExerciseOptions(
        22, replace(QUERY, primary_exchange=""), 1, 3, "DU1", True,
        "20261201 10:00:00" if sv >= MIN_SERVER_VER_MANUAL_ORDER_TIME_EXERCISE_OPTIONS else "",
        "CUST" if sv >= MIN_SERVER_VER_CUSTOMER_ACCOUNT else "", sv >= MIN_SERVER_VER_PROFESSIONAL_CUSTOMER)


def verified(call: Callable[[EClient], Any]) -> Callable[[EClient, int], Any]:
    """ibapi sends the verification requests in text only once the client says it will
    authenticate (``extraAuth``, which nothing in ibapi sets)."""
    def send(ib: EClient, sv: int) -> Any:
        ib.extraAuth = True
        return call(ib)
    return send


@dataclass(frozen=True)
class Case:
    """A request family: ibapi's call at a server version and the typed request expected."""

    name: str
    out_id: int
    send: Callable[[EClient, int], Any]
    expect: Callable[[int], rq.Request]
    since: int = 0  # the first server version at which ibapi sends it
    proto_only: bool = False  # ibapi has no text form for it


CASES = (
    Case("startApi", OUT.START_API, start_api, lambda sv: rq.StartApi(7, "cap1")),
    Case("reqMktData", OUT.REQ_MKT_DATA,  # the regulatory snapshot flag from REQ_SMART_COMPONENTS (114)
         lambda ib, sv: ib.reqMktData(5, contract(), "233,236", True, True, []),
         lambda sv: rq.ReqMktData(5, QUERY, "233,236", True, sv >= MIN_SERVER_VER_REQ_SMART_COMPONENTS)),
    Case("reqMktData", OUT.REQ_MKT_DATA,  # a combo: legs and a delta-neutral contract
         lambda ib, sv: ib.reqMktData(6, bag_contract(), "", False, False, []),
         lambda sv: rq.ReqMktData(6, BAG_QUERY)),
    Case("cancelMktData", OUT.CANCEL_MKT_DATA, lambda ib, sv: ib.cancelMktData(5),
         lambda sv: rq.CancelMktData(5)),
    Case("placeOrder", OUT.PLACE_ORDER, lambda ib, sv: ib.placeOrder(42, contract(), full_order(sv)),
         expected_order),
    Case("cancelOrder", OUT.CANCEL_ORDER, lambda ib, sv: ib.cancelOrder(42, order_cancel(sv)),
         lambda sv: rq.CancelOrder(42, *expected_cancel(sv))),
    Case("reqGlobalCancel", OUT.REQ_GLOBAL_CANCEL, lambda ib, sv: ib.reqGlobalCancel(order_cancel(sv)),
         lambda sv: rq.ReqGlobalCancel(*expected_cancel(sv)[1:])),
    Case("reqOpenOrders", OUT.REQ_OPEN_ORDERS, lambda ib, sv: ib.reqOpenOrders(),
         lambda sv: rq.ReqOpenOrders()),
    Case("reqAllOpenOrders", OUT.REQ_ALL_OPEN_ORDERS, lambda ib, sv: ib.reqAllOpenOrders(),
         lambda sv: rq.ReqAllOpenOrders()),
    Case("reqAutoOpenOrders", OUT.REQ_AUTO_OPEN_ORDERS, lambda ib, sv: ib.reqAutoOpenOrders(True),
         lambda sv: rq.ReqAutoOpenOrders(True)),
    Case("reqCompletedOrders", OUT.REQ_COMPLETED_ORDERS, lambda ib, sv: ib.reqCompletedOrders(True),
         lambda sv: rq.ReqCompletedOrders(True), since=MIN_SERVER_VER_COMPLETED_ORDERS),
    Case("reqIds", OUT.REQ_IDS, lambda ib, sv: ib.reqIds(3), lambda sv: rq.ReqIds(3)),
    Case("reqContractDetails", OUT.REQ_CONTRACT_DATA,
         lambda ib, sv: ib.reqContractDetails(8, contract_details(sv)),
         lambda sv: rq.ReqContractDetails(8, QUERY, True, "ISIN", "US0378331005",
                                          "e123" if sv >= MIN_SERVER_VER_BOND_ISSUERID else "")),
    Case("reqManagedAccts", OUT.REQ_MANAGED_ACCTS, lambda ib, sv: ib.reqManagedAccts(),
         lambda sv: rq.ReqManagedAccts()),
    Case("reqCurrentTime", OUT.REQ_CURRENT_TIME, lambda ib, sv: ib.reqCurrentTime(),
         lambda sv: rq.ReqCurrentTime()),
    Case("reqCurrentTimeInMillis", OUT.REQ_CURRENT_TIME_IN_MILLIS,
         lambda ib, sv: ib.reqCurrentTimeInMillis(), lambda sv: rq.ReqCurrentTimeInMillis(),
         since=MIN_SERVER_VER_CURRENT_TIME_IN_MILLIS),
    Case("reqHistoricalData", OUT.REQ_HISTORICAL_DATA,
         lambda ib, sv: ib.reqHistoricalData(9, contract(includeExpired=True),
                                             "20261201 16:00:00 US/Eastern", "2 D", "1 hour",
                                             "MIDPOINT", 1, 2, True, [TagValue("a", "b")]),
         lambda sv: rq.ReqHistoricalData(9, QUERY, "20261201 16:00:00 US/Eastern", "2 D", "1 hour",
                                         "MIDPOINT", True, 2, sv >= MIN_SERVER_VER_SYNT_REALTIME_BARS, True)),
    Case("reqHistoricalData", OUT.REQ_HISTORICAL_DATA,  # a combo: legs between formatDate and keepUpToDate
         lambda ib, sv: ib.reqHistoricalData(10, bag_contract(), "", "1 D", "1 min", "TRADES", 0, 1,
                                             False, []),
         lambda sv: rq.ReqHistoricalData(10, BAG_QUERY, "", "1 D", "1 min", "TRADES", False, 1,
                                         False)),
    Case("cancelHistoricalData", OUT.CANCEL_HISTORICAL_DATA, lambda ib, sv: ib.cancelHistoricalData(9),
         lambda sv: rq.CancelHistoricalData(9)),
    Case("reqHeadTimeStamp", OUT.REQ_HEAD_TIMESTAMP,
         lambda ib, sv: ib.reqHeadTimeStamp(15, contract(includeExpired=True), "BID", 1, 2),
         lambda sv: rq.ReqHeadTimeStamp(15, QUERY, "BID", True, 2, True), since=MIN_SERVER_VER_REQ_HEAD_TIMESTAMP),
    Case("reqRealTimeBars", OUT.REQ_REAL_TIME_BARS,
         lambda ib, sv: ib.reqRealTimeBars(10, contract(), 5, "BID", True, []),
         lambda sv: rq.ReqRealTimeBars(10, QUERY, 5, "BID", True)),
    Case("cancelRealTimeBars", OUT.CANCEL_REAL_TIME_BARS, lambda ib, sv: ib.cancelRealTimeBars(10),
         lambda sv: rq.CancelRealTimeBars(10)),
    Case("reqTickByTickData", OUT.REQ_TICK_BY_TICK_DATA,
         lambda ib, sv: ib.reqTickByTickData(18, contract(), "BidAsk", 10, True),
         lambda sv: rq.ReqTickByTickData(18, QUERY, "BidAsk", 10, True), since=MIN_SERVER_VER_TICK_BY_TICK_IGNORE_SIZE),
    Case("cancelTickByTickData", OUT.CANCEL_TICK_BY_TICK_DATA,
         lambda ib, sv: ib.cancelTickByTickData(18), lambda sv: rq.CancelTickByTickData(18),
         since=MIN_SERVER_VER_TICK_BY_TICK),
    Case("reqMarketDataType", OUT.REQ_MARKET_DATA_TYPE, lambda ib, sv: ib.reqMarketDataType(4),
         lambda sv: rq.ReqMarketDataType(4)),
    Case("reqPositions", OUT.REQ_POSITIONS, lambda ib, sv: ib.reqPositions(),
         lambda sv: rq.ReqPositions()),
    Case("cancelPositions", OUT.CANCEL_POSITIONS, lambda ib, sv: ib.cancelPositions(),
         lambda sv: rq.CancelPositions()),
    Case("reqAccountSummary", OUT.REQ_ACCOUNT_SUMMARY,
         lambda ib, sv: ib.reqAccountSummary(11, "All", "NetLiquidation,BuyingPower"),
         lambda sv: rq.ReqAccountSummary(11, "All", "NetLiquidation,BuyingPower")),
    Case("cancelAccountSummary", OUT.CANCEL_ACCOUNT_SUMMARY, lambda ib, sv: ib.cancelAccountSummary(11),
         lambda sv: rq.CancelAccountSummary(11)),
    Case("reqAccountUpdates", OUT.REQ_ACCT_DATA, lambda ib, sv: ib.reqAccountUpdates(True, "DU123"),
         lambda sv: rq.ReqAccountUpdates(True, "DU123")),
    Case("reqExecutions", OUT.REQ_EXECUTIONS,
         lambda ib, sv: ib.reqExecutions(12, execution_filter(sv)), expected_executions),
    Case("reqPositionsMulti", OUT.REQ_POSITIONS_MULTI,
         lambda ib, sv: ib.reqPositionsMulti(13, "DU1", "model"),
         lambda sv: rq.ReqPositionsMulti(13, "DU1", "model"), since=MIN_SERVER_VER_MODELS_SUPPORT),
    Case("cancelPositionsMulti", OUT.CANCEL_POSITIONS_MULTI, lambda ib, sv: ib.cancelPositionsMulti(13),
         lambda sv: rq.CancelPositionsMulti(13), since=MIN_SERVER_VER_MODELS_SUPPORT),
    Case("reqAccountUpdatesMulti", OUT.REQ_ACCOUNT_UPDATES_MULTI,
         lambda ib, sv: ib.reqAccountUpdatesMulti(14, "DU1", "model", True),
         lambda sv: rq.ReqAccountUpdatesMulti(14, "DU1", "model", True), since=MIN_SERVER_VER_MODELS_SUPPORT),
    Case("cancelAccountUpdatesMulti", OUT.CANCEL_ACCOUNT_UPDATES_MULTI,
         lambda ib, sv: ib.cancelAccountUpdatesMulti(14), lambda sv: rq.CancelAccountUpdatesMulti(14),
         since=MIN_SERVER_VER_MODELS_SUPPORT),
    Case("reqPnL", OUT.REQ_PNL, lambda ib, sv: ib.reqPnL(16, "DU1", "model"),
         lambda sv: rq.ReqPnL(16, "DU1", "model"), since=MIN_SERVER_VER_PNL),
    Case("cancelPnL", OUT.CANCEL_PNL, lambda ib, sv: ib.cancelPnL(16), lambda sv: rq.CancelPnL(16),
         since=MIN_SERVER_VER_PNL),
    Case("reqPnLSingle", OUT.REQ_PNL_SINGLE, lambda ib, sv: ib.reqPnLSingle(17, "DU1", "model", 265598),
         lambda sv: rq.ReqPnLSingle(17, "DU1", "model", 265598), since=MIN_SERVER_VER_PNL),
    Case("cancelPnLSingle", OUT.CANCEL_PNL_SINGLE, lambda ib, sv: ib.cancelPnLSingle(17),
         lambda sv: rq.CancelPnLSingle(17), since=MIN_SERVER_VER_PNL),
    # market depth and reference data
    # below SMART_DEPTH (146) ibapi refuses a SMART depth request (and sends no flag)
    Case("reqMktDepth", OUT.REQ_MKT_DEPTH,
         lambda ib, sv: ib.reqMktDepth(30, depth_contract(sv), 7, sv >= MIN_SERVER_VER_SMART_DEPTH, []),
         lambda sv: iq.ReqMktDepth(30, QUERY if sv >= MIN_SERVER_VER_MKT_DEPTH_PRIM_EXCHANGE
                                   else replace(QUERY, primary_exchange=""), 7, sv >= MIN_SERVER_VER_SMART_DEPTH)),
    Case("cancelMktDepth", OUT.CANCEL_MKT_DEPTH, lambda ib, sv: ib.cancelMktDepth(30, sv >= MIN_SERVER_VER_SMART_DEPTH),
         lambda sv: iq.CancelMktDepth(30, sv >= MIN_SERVER_VER_SMART_DEPTH)),
    Case("reqMktDepthExchanges", OUT.REQ_MKT_DEPTH_EXCHANGES, lambda ib, sv: ib.reqMktDepthExchanges(),
         lambda sv: iq.ReqMktDepthExchanges(), since=MIN_SERVER_VER_REQ_MKT_DEPTH_EXCHANGES),
    Case("reqSmartComponents", OUT.REQ_SMART_COMPONENTS, lambda ib, sv: ib.reqSmartComponents(31, "9c0001"),
         lambda sv: iq.ReqSmartComponents(31, "9c0001"), since=MIN_SERVER_VER_REQ_SMART_COMPONENTS),
    Case("reqMarketRule", OUT.REQ_MARKET_RULE, lambda ib, sv: ib.reqMarketRule(26),
         lambda sv: iq.ReqMarketRule(26), since=MIN_SERVER_VER_MARKET_RULES),
    Case("reqMatchingSymbols", OUT.REQ_MATCHING_SYMBOLS, lambda ib, sv: ib.reqMatchingSymbols(32, "IB"),
         lambda sv: iq.ReqMatchingSymbols(32, "IB"), since=MIN_SERVER_VER_REQ_MATCHING_SYMBOLS),
    Case("reqSecDefOptParams", OUT.REQ_SEC_DEF_OPT_PARAMS,
         lambda ib, sv: ib.reqSecDefOptParams(33, "IBM", "", "STK", 8314),
         lambda sv: iq.ReqSecDefOptParams(33, "IBM", "", "STK", 8314), since=MIN_SERVER_VER_SEC_DEF_OPT_PARAMS_REQ),
    Case("reqFamilyCodes", OUT.REQ_FAMILY_CODES, lambda ib, sv: ib.reqFamilyCodes(), lambda sv: iq.ReqFamilyCodes(),
         since=MIN_SERVER_VER_REQ_FAMILY_CODES),
    Case("reqSoftDollarTiers", OUT.REQ_SOFT_DOLLAR_TIERS, lambda ib, sv: ib.reqSoftDollarTiers(34),
         lambda sv: iq.ReqSoftDollarTiers(34)),
    Case("reqUserInfo", OUT.REQ_USER_INFO, lambda ib, sv: ib.reqUserInfo(35), lambda sv: iq.ReqUserInfo(35),
         since=MIN_SERVER_VER_USER_INFO),
    # historical: head timestamps, histograms, ticks
    Case("cancelHeadTimeStamp", OUT.CANCEL_HEAD_TIMESTAMP, lambda ib, sv: ib.cancelHeadTimeStamp(15),
         lambda sv: iq.CancelHeadTimeStamp(15), since=MIN_SERVER_VER_CANCEL_HEADTIMESTAMP),
    Case("reqHistogramData", OUT.REQ_HISTOGRAM_DATA,
         lambda ib, sv: ib.reqHistogramData(36, contract(includeExpired=True), True, "3 days"),
         lambda sv: iq.ReqHistogramData(36, QUERY, True, "3 days", True), since=MIN_SERVER_VER_REQ_HISTOGRAM),
    Case("cancelHistogramData", OUT.CANCEL_HISTOGRAM_DATA, lambda ib, sv: ib.cancelHistogramData(36),
         lambda sv: iq.CancelHistogramData(36), since=MIN_SERVER_VER_REQ_HISTOGRAM),
    Case("reqHistoricalTicks", OUT.REQ_HISTORICAL_TICKS,
         lambda ib, sv: ib.reqHistoricalTicks(37, contract(includeExpired=True), "20261201 09:30:00 US/Eastern", "",
                                              100, "BID_ASK", 1, True, [TagValue("x", "y")]),
         lambda sv: iq.ReqHistoricalTicks(37, QUERY, "20261201 09:30:00 US/Eastern", "", 100, "BID_ASK", True, True,
                                          True), since=MIN_SERVER_VER_HISTORICAL_TICKS),
    Case("cancelHistoricalTicks", OUT.CANCEL_HISTORICAL_TICKS, lambda ib, sv: ib.cancelHistoricalTicks(37),
         lambda sv: iq.CancelHistoricalTicks(37), since=MIN_SERVER_VER_CANCEL_CONTRACT_DATA, proto_only=True),
    Case("cancelContractData", OUT.CANCEL_CONTRACT_DATA, lambda ib, sv: ib.cancelContractData(8),
         lambda sv: iq.CancelContractData(8), since=MIN_SERVER_VER_CANCEL_CONTRACT_DATA, proto_only=True),
    # news and WSH
    Case("reqNewsBulletins", OUT.REQ_NEWS_BULLETINS, lambda ib, sv: ib.reqNewsBulletins(True),
         lambda sv: iq.ReqNewsBulletins(True)),
    Case("cancelNewsBulletins", OUT.CANCEL_NEWS_BULLETINS, lambda ib, sv: ib.cancelNewsBulletins(),
         lambda sv: iq.CancelNewsBulletins()),
    Case("reqNewsProviders", OUT.REQ_NEWS_PROVIDERS, lambda ib, sv: ib.reqNewsProviders(),
         lambda sv: iq.ReqNewsProviders(), since=MIN_SERVER_VER_REQ_NEWS_PROVIDERS),
    Case("reqNewsArticle", OUT.REQ_NEWS_ARTICLE,
         lambda ib, sv: ib.reqNewsArticle(38, "BRFG", "BRFG$04fb9da2", [TagValue("x", "y")]),
         lambda sv: iq.ReqNewsArticle(38, "BRFG", "BRFG$04fb9da2"), since=MIN_SERVER_VER_REQ_NEWS_ARTICLE),
    Case("reqHistoricalNews", OUT.REQ_HISTORICAL_NEWS,
         lambda ib, sv: ib.reqHistoricalNews(39, 8314, "BRFG+DJNL", "2026-11-01 00:00:00.0", "2026-12-01 00:00:00.0",
                                             10, []),
         lambda sv: iq.ReqHistoricalNews(39, 8314, "BRFG+DJNL", "2026-11-01 00:00:00.0", "2026-12-01 00:00:00.0", 10),
         since=MIN_SERVER_VER_REQ_HISTORICAL_NEWS),
    Case("reqWshMetaData", OUT.REQ_WSH_META_DATA, lambda ib, sv: ib.reqWshMetaData(40),
         lambda sv: iq.ReqWshMetaData(40), since=MIN_SERVER_VER_WSHE_CALENDAR),
    Case("cancelWshMetaData", OUT.CANCEL_WSH_META_DATA, lambda ib, sv: ib.cancelWshMetaData(40),
         lambda sv: iq.CancelWshMetaData(40), since=MIN_SERVER_VER_WSHE_CALENDAR),
    Case("reqWshEventData", OUT.REQ_WSH_EVENT_DATA, lambda ib, sv: ib.reqWshEventData(21, wsh_event_data(sv)),
         expected_wsh_event_data, since=MIN_SERVER_VER_WSHE_CALENDAR),
    Case("cancelWshEventData", OUT.CANCEL_WSH_EVENT_DATA, lambda ib, sv: ib.cancelWshEventData(21),
         lambda sv: iq.CancelWshEventData(21), since=MIN_SERVER_VER_WSHE_CALENDAR),
    # scanner
    Case("reqScannerParameters", OUT.REQ_SCANNER_PARAMETERS, lambda ib, sv: ib.reqScannerParameters(),
         lambda sv: iq.ReqScannerParameters()),
    Case("reqScannerSubscription", OUT.REQ_SCANNER_SUBSCRIPTION,
         lambda ib, sv: ib.reqScannerSubscription(20, scanner_subscription(), [TagValue("opt", "1")],
                                                  scanner_filters(sv)),
         lambda sv: SCANNER if sv >= MIN_SERVER_VER_SCANNER_GENERIC_OPTS else replace(SCANNER, filter_options=())),
    Case("cancelScannerSubscription", OUT.CANCEL_SCANNER_SUBSCRIPTION, lambda ib, sv: ib.cancelScannerSubscription(20),
         lambda sv: iq.CancelScannerSubscription(20)),
    # option calculations and exercise
    Case("calculateImpliedVolatility", OUT.REQ_CALC_IMPLIED_VOLAT,
         lambda ib, sv: ib.calculateImpliedVolatility(41, contract(), 5.25, 190.5, []),
         lambda sv: iq.ReqCalcImpliedVolat(41, QUERY, 5.25, 190.5)),
    Case("calculateOptionPrice", OUT.REQ_CALC_OPTION_PRICE,
         lambda ib, sv: ib.calculateOptionPrice(42, contract(), 0.35, 190.5, []),
         lambda sv: iq.ReqCalcOptionPrice(42, QUERY, 0.35, 190.5)),
    Case("cancelCalculateImpliedVolatility", OUT.CANCEL_CALC_IMPLIED_VOLAT,
         lambda ib, sv: ib.cancelCalculateImpliedVolatility(41), lambda sv: iq.CancelCalcImpliedVolat(41)),
    Case("cancelCalculateOptionPrice", OUT.CANCEL_CALC_OPTION_PRICE,
         lambda ib, sv: ib.cancelCalculateOptionPrice(42), lambda sv: iq.CancelCalcOptionPrice(42)),
    Case("exerciseOptions", OUT.EXERCISE_OPTIONS, exercise, expected_exercise),
    # financial advisors, display groups, verification, logging, configuration
    Case("requestFA", OUT.REQ_FA, lambda ib, sv: ib.requestFA(1), lambda sv: iq.RequestFA(1)),
    Case("replaceFA", OUT.REPLACE_FA, lambda ib, sv: ib.replaceFA(43, 1, "<ListOfGroups/>"),
         lambda sv: iq.ReplaceFA(43 if sv >= MIN_SERVER_VER_REPLACE_FA_END else -1, 1, "<ListOfGroups/>")),
    Case("queryDisplayGroups", OUT.QUERY_DISPLAY_GROUPS, lambda ib, sv: ib.queryDisplayGroups(44),
         lambda sv: iq.QueryDisplayGroups(44)),
    Case("subscribeToGroupEvents", OUT.SUBSCRIBE_TO_GROUP_EVENTS, lambda ib, sv: ib.subscribeToGroupEvents(45, 3),
         lambda sv: iq.SubscribeToGroupEvents(45, 3)),
    Case("updateDisplayGroup", OUT.UPDATE_DISPLAY_GROUP, lambda ib, sv: ib.updateDisplayGroup(45, "8314@SMART"),
         lambda sv: iq.UpdateDisplayGroup(45, "8314@SMART")),
    Case("unsubscribeFromGroupEvents", OUT.UNSUBSCRIBE_FROM_GROUP_EVENTS,
         lambda ib, sv: ib.unsubscribeFromGroupEvents(45), lambda sv: iq.UnsubscribeFromGroupEvents(45)),
    Case("verifyRequest", OUT.VERIFY_REQUEST, verified(lambda ib: ib.verifyRequest("app", "1.0")),
         lambda sv: iq.VerifyRequest("app", "1.0")),
    Case("verifyMessage", OUT.VERIFY_MESSAGE, verified(lambda ib: ib.verifyMessage("data")),
         lambda sv: iq.VerifyMessage("data")),
    Case("verifyAndAuthRequest", OUT.VERIFY_AND_AUTH_REQUEST,
         verified(lambda ib: ib.verifyAndAuthRequest("app", "1.0", "key")),
         lambda sv: iq.VerifyAndAuthRequest("app", "1.0", "key")),
    Case("verifyAndAuthMessage", OUT.VERIFY_AND_AUTH_MESSAGE,
         verified(lambda ib: ib.verifyAndAuthMessage("data", "response")),
         lambda sv: iq.VerifyAndAuthMessage("data", "response")),
    Case("setServerLogLevel", OUT.SET_SERVER_LOGLEVEL, lambda ib, sv: ib.setServerLogLevel(4),
         lambda sv: iq.SetServerLogLevel(4)),
    Case("reqConfig", OUT.REQ_CONFIG, lambda ib, sv: ib.reqConfigProtoBuf(ConfigRequest(reqId=46)),
         lambda sv: iq.ReqConfig(46), since=MIN_SERVER_VER_CONFIG, proto_only=True),
    Case("updateConfig", OUT.UPDATE_CONFIG, lambda ib, sv: ib.updateConfigProtoBuf(UpdateConfigRequest(reqId=47)),
         lambda sv: iq.UpdateConfig(47), since=MIN_SERVER_VER_UPDATE_CONFIG, proto_only=True),
)
