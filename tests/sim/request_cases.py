"""One case per request family: what to make stock ibapi send, and the typed request it must read
as. Every value differs from ibapi's default where the server version lets ibapi send it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ibapi.client import EClient
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
from ibapi.server_versions import (
    MIN_SERVER_VER_BOND_ISSUERID,
    MIN_SERVER_VER_CME_TAGGING_FIELDS,
    MIN_SERVER_VER_CURRENT_TIME_IN_MILLIS,
    MIN_SERVER_VER_MANUAL_ORDER_TIME,
    MIN_SERVER_VER_PARAMETRIZED_DAYS_OF_EXECUTIONS,
)
from ibapi.tag_value import TagValue

from platform_adapter.sim import requests as rq
from platform_adapter.sim.contracts import ContractQuery

VERSIONS = (157, 176, 191, 192, 200, 201, 203, 205, 206, 207, 208, 210, 213, 222, 226)


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


def full_order() -> Order:
    """An order with every field the simulator carries set to a non-default value."""
    o = Order()
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


@dataclass(frozen=True)
class Case:
    """A request family: ibapi's call at a server version and the typed request expected."""

    name: str
    out_id: int
    send: Callable[[EClient, int], Any]
    expect: Callable[[int], rq.Request]
    since: int = 0  # the first server version at which ibapi sends it


CASES = (
    Case("startApi", OUT.START_API, start_api, lambda sv: rq.StartApi(7, "cap1")),
    Case("reqMktData", OUT.REQ_MKT_DATA,
         lambda ib, sv: ib.reqMktData(5, contract(), "233,236", True, True, []),
         lambda sv: rq.ReqMktData(5, QUERY, "233,236", True, True)),
    Case("reqMktData", OUT.REQ_MKT_DATA,  # a combo: legs and a delta-neutral contract
         lambda ib, sv: ib.reqMktData(6, bag_contract(), "", False, False, []),
         lambda sv: rq.ReqMktData(6, BAG_QUERY)),
    Case("cancelMktData", OUT.CANCEL_MKT_DATA, lambda ib, sv: ib.cancelMktData(5),
         lambda sv: rq.CancelMktData(5)),
    Case("placeOrder", OUT.PLACE_ORDER, lambda ib, sv: ib.placeOrder(42, contract(), full_order()),
         lambda sv: FULL_ORDER),
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
         lambda sv: rq.ReqCompletedOrders(True)),
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
                                         "MIDPOINT", True, 2, True, True)),
    Case("reqHistoricalData", OUT.REQ_HISTORICAL_DATA,  # a combo: legs between formatDate and keepUpToDate
         lambda ib, sv: ib.reqHistoricalData(10, bag_contract(), "", "1 D", "1 min", "TRADES", 0, 1,
                                             False, []),
         lambda sv: rq.ReqHistoricalData(10, BAG_QUERY, "", "1 D", "1 min", "TRADES", False, 1,
                                         False)),
    Case("cancelHistoricalData", OUT.CANCEL_HISTORICAL_DATA, lambda ib, sv: ib.cancelHistoricalData(9),
         lambda sv: rq.CancelHistoricalData(9)),
    Case("reqHeadTimeStamp", OUT.REQ_HEAD_TIMESTAMP,
         lambda ib, sv: ib.reqHeadTimeStamp(15, contract(includeExpired=True), "BID", 1, 2),
         lambda sv: rq.ReqHeadTimeStamp(15, QUERY, "BID", True, 2, True)),
    Case("reqRealTimeBars", OUT.REQ_REAL_TIME_BARS,
         lambda ib, sv: ib.reqRealTimeBars(10, contract(), 5, "BID", True, []),
         lambda sv: rq.ReqRealTimeBars(10, QUERY, 5, "BID", True)),
    Case("cancelRealTimeBars", OUT.CANCEL_REAL_TIME_BARS, lambda ib, sv: ib.cancelRealTimeBars(10),
         lambda sv: rq.CancelRealTimeBars(10)),
    Case("reqTickByTickData", OUT.REQ_TICK_BY_TICK_DATA,
         lambda ib, sv: ib.reqTickByTickData(18, contract(), "BidAsk", 10, True),
         lambda sv: rq.ReqTickByTickData(18, QUERY, "BidAsk", 10, True)),
    Case("cancelTickByTickData", OUT.CANCEL_TICK_BY_TICK_DATA,
         lambda ib, sv: ib.cancelTickByTickData(18), lambda sv: rq.CancelTickByTickData(18)),
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
         lambda sv: rq.ReqPositionsMulti(13, "DU1", "model")),
    Case("cancelPositionsMulti", OUT.CANCEL_POSITIONS_MULTI, lambda ib, sv: ib.cancelPositionsMulti(13),
         lambda sv: rq.CancelPositionsMulti(13)),
    Case("reqAccountUpdatesMulti", OUT.REQ_ACCOUNT_UPDATES_MULTI,
         lambda ib, sv: ib.reqAccountUpdatesMulti(14, "DU1", "model", True),
         lambda sv: rq.ReqAccountUpdatesMulti(14, "DU1", "model", True)),
    Case("cancelAccountUpdatesMulti", OUT.CANCEL_ACCOUNT_UPDATES_MULTI,
         lambda ib, sv: ib.cancelAccountUpdatesMulti(14), lambda sv: rq.CancelAccountUpdatesMulti(14)),
    Case("reqPnL", OUT.REQ_PNL, lambda ib, sv: ib.reqPnL(16, "DU1", "model"),
         lambda sv: rq.ReqPnL(16, "DU1", "model")),
    Case("cancelPnL", OUT.CANCEL_PNL, lambda ib, sv: ib.cancelPnL(16), lambda sv: rq.CancelPnL(16)),
    Case("reqPnLSingle", OUT.REQ_PNL_SINGLE, lambda ib, sv: ib.reqPnLSingle(17, "DU1", "model", 265598),
         lambda sv: rq.ReqPnLSingle(17, "DU1", "model", 265598)),
    Case("cancelPnLSingle", OUT.CANCEL_PNL_SINGLE, lambda ib, sv: ib.cancelPnLSingle(17),
         lambda sv: rq.CancelPnLSingle(17)),
)
