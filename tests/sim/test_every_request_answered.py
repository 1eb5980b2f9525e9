"""No silence: stock ibapi EClient sends every request family it has (every OUT id EClient sends) to
the simulator at each supported server version (below a family's MIN_SERVER_VER ibapi refuses it
client-side, so it is not sent there), and each request gets what IB answers with, for
its request id where it has one: its data, its end message, or IB's error. Requests IB never
answers (cancels, setServerLogLevel, reqMarketDataType without lines, ...) must be read and
served (the gateway counts none as unserved) without an error. One run reports every silent
family at once."""

from __future__ import annotations

import datetime as dt
import inspect
import re
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from ibapi.client import EClient
from ibapi.common import WshEventData
from ibapi.contract import Contract
from ibapi.execution import ExecutionFilter
from ibapi.message import OUT
from ibapi.order import Order
from ibapi.order_cancel import OrderCancel
from ibapi.protobuf.ConfigRequest_pb2 import ConfigRequest
from ibapi.protobuf.UpdateConfigRequest_pb2 import UpdateConfigRequest
from ibapi.scanner import ScannerSubscription
from ibapi.server_versions import (
    MAX_CLIENT_VER,
    MIN_SERVER_VER_CANCEL_CONTRACT_DATA,
    MIN_SERVER_VER_CANCEL_HEADTIMESTAMP,
    MIN_SERVER_VER_CASH_QTY,
    MIN_SERVER_VER_COMPLETED_ORDERS,
    MIN_SERVER_VER_CONFIG,
    MIN_SERVER_VER_CURRENT_TIME_IN_MILLIS,
    MIN_SERVER_VER_HISTORICAL_SCHEDULE,
    MIN_SERVER_VER_HISTORICAL_TICKS,
    MIN_SERVER_VER_MARKET_RULES,
    MIN_SERVER_VER_MODELS_SUPPORT,
    MIN_SERVER_VER_PNL,
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
    MIN_SERVER_VER_TICK_BY_TICK,
    MIN_SERVER_VER_TICK_BY_TICK_IGNORE_SIZE,
    MIN_SERVER_VER_UPDATE_CONFIG,
    MIN_SERVER_VER_USER_INFO,
    MIN_SERVER_VER_WSHE_CALENDAR,
)
from ibapi.wrapper import EWrapper

from platform_adapter.sim import SimulatedGateway
from platform_adapter.sim.inbound import MSG_NAMES
from tests.sim.ibapi_recorder import run_loop

SCANNER_FILTERS = MIN_SERVER_VER_SCANNER_GENERIC_OPTS
VERSIONS = (100, 124, 145, 151, 156, 157, 164, 176, 200, 201, 203, 207, 208, 209, 210, 211, 212, 213, 222, 226)
TIMEOUT = 5.0
ACCOUNT = "DU1234567"
NOTICES = {2104, 2107, 2158}
FA_ID = 2147483647  # the id a real gateway gives requestFA's error


class Recorder(EWrapper):  # type: ignore[misc]
    """Every callback with its raw arguments; waiters block on a condition."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        self.cond = threading.Condition()

    def wait(self, pred: Callable[[Recorder], bool], timeout: float = TIMEOUT) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: pred(self), timeout)

    def has(self, callback: str, req_id: int | None = None) -> bool:
        """Whether the callback came (for ``req_id`` as its first argument, if given)."""
        return any(req_id is None or args[0] == req_id for args in self.calls[callback])

    def errors(self, req_id: int, code: int | None = None) -> list[tuple[Any, ...]]:
        return [e for e in self.calls["error"] if e[0] == req_id and (code is None or e[2] == code)]


def _record(name: str) -> Callable[..., None]:
    def record(self: Recorder, *args: Any) -> None:
        with self.cond:
            self.calls[name].append(args)
            self.cond.notify_all()
    return record


for _name, _ in inspect.getmembers(EWrapper, inspect.isfunction):
    if not _name.startswith("_"):
        setattr(Recorder, _name, _record(_name))


def stock(symbol: str = "AAPL") -> Contract:
    k = Contract()
    k.symbol, k.secType, k.exchange, k.currency = symbol, "STK", "SMART", "USD"
    return k


def eur_gbp() -> Contract:
    k = Contract()
    k.symbol, k.secType, k.exchange, k.currency = "EUR", "CASH", "IDEALPRO", "GBP"
    return k


def aapl_call(gw: SimulatedGateway) -> Contract:
    spec = next(c for c in gw.universe.contracts if c.under_con_id == 265598 and c.right == "C")
    k = Contract()
    k.symbol, k.secType, k.exchange, k.currency = "AAPL", "OPT", "SMART", "USD"
    k.lastTradeDateOrContractMonth, k.strike, k.right, k.multiplier = spec.last_trade_date, spec.strike, "C", "100"
    return k


def limit_order(price: float, sv: int) -> Order:
    o = Order()
    if sv < MIN_SERVER_VER_CASH_QTY:
        o.cashQty = 0.0  # ibapi refuses its own default (UNSET_DOUBLE, truthy) below CASH_QTY
    o.action, o.totalQuantity, o.orderType, o.lmtPrice = "BUY", Decimal(1), "LMT", price
    return o


def scanner() -> ScannerSubscription:
    s = ScannerSubscription()
    s.instrument, s.locationCode, s.scanCode, s.numberOfRows = "STK", "STK.US.MAJOR", "MOST_ACTIVE", 5
    return s


def wsh() -> WshEventData:
    w = WshEventData()
    w.conId = 8314
    return w


def week_ago() -> str:
    return (dt.date.today() - dt.timedelta(days=7)).strftime("%Y%m%d") + " 12:00:00 US/Eastern"


@dataclass(frozen=True)
class Step:
    """One request: how stock EClient sends it, and the answer that must arrive (None: IB gives
    none, the request must only be served)."""

    name: str
    send: Callable[[EClient, SimulatedGateway, int], Any]
    answered: Callable[[Recorder, int], bool] | None
    since: int = 0  # the first server version at which ibapi sends it
    until: int = MAX_CLIENT_VER + 1  # the first at which this step no longer applies


def reply(callback: str, keyed: bool = True) -> Callable[[Recorder, int], bool]:
    """The answer is ``callback`` (for the request id when ``keyed``)."""
    return lambda w, i: w.has(callback, i if keyed else None)


def refused(code: int, req_id: int | None = None) -> Callable[[Recorder, int], bool]:
    """The answer is IB's error ``code`` for the request id (or the given id)."""
    return lambda w, i: bool(w.errors(i if req_id is None else req_id, code))


def counted(callback: str, n: int) -> Callable[[Recorder, int], bool]:
    return lambda w, i: len(w.calls[callback]) >= n


def verify_refusals(n: int) -> Callable[[Recorder, int], bool]:
    return lambda w, i: len(w.errors(-1, 321)) >= n


STEPS: tuple[Step, ...] = (
    Step("reqCurrentTime", lambda c, g, i: c.reqCurrentTime(), counted("currentTime", 1)),
    Step("reqCurrentTimeInMillis", lambda c, g, i: c.reqCurrentTimeInMillis(), counted("currentTimeInMillis", 1),
         MIN_SERVER_VER_CURRENT_TIME_IN_MILLIS),
    Step("reqIds", lambda c, g, i: c.reqIds(1), counted("nextValidId", 2)),
    Step("reqManagedAccts", lambda c, g, i: c.reqManagedAccts(), counted("managedAccounts", 2)),
    Step("setServerLogLevel", lambda c, g, i: c.setServerLogLevel(3), None),
    # contracts and reference data
    Step("reqContractDetails", lambda c, g, i: c.reqContractDetails(i, stock("IBM")), reply("contractDetailsEnd")),
    Step("cancelContractData", lambda c, g, i: c.cancelContractData(i), None, MIN_SERVER_VER_CANCEL_CONTRACT_DATA),
    Step("reqMarketRule", lambda c, g, i: c.reqMarketRule(26), reply("marketRule", keyed=False),
         MIN_SERVER_VER_MARKET_RULES),
    Step("reqMatchingSymbols", lambda c, g, i: c.reqMatchingSymbols(i, "AA"), reply("symbolSamples"),
         MIN_SERVER_VER_REQ_MATCHING_SYMBOLS),
    Step("reqSecDefOptParams", lambda c, g, i: c.reqSecDefOptParams(i, "AAPL", "", "STK", 265598),
         reply("securityDefinitionOptionParameterEnd"), MIN_SERVER_VER_SEC_DEF_OPT_PARAMS_REQ),
    Step("reqFamilyCodes", lambda c, g, i: c.reqFamilyCodes(), reply("familyCodes", keyed=False),
         MIN_SERVER_VER_REQ_FAMILY_CODES),
    Step("reqSoftDollarTiers", lambda c, g, i: c.reqSoftDollarTiers(i), reply("softDollarTiers")),
    Step("reqUserInfo", lambda c, g, i: c.reqUserInfo(i), reply("userInfo"), MIN_SERVER_VER_USER_INFO),
    # market data and depth
    Step("reqMarketDataType", lambda c, g, i: c.reqMarketDataType(1), None),
    Step("reqMktData", lambda c, g, i: c.reqMktData(i, stock(), "", False, False, []),
         lambda w, i: w.has("tickPrice", i) and w.has("tickReqParams", i), MIN_SERVER_VER_REQ_SMART_COMPONENTS),
    Step("reqMktData", lambda c, g, i: c.reqMktData(i, stock(), "", False, False, []),  # no tickReqParams yet
         lambda w, i: w.has("tickPrice", i) and not w.has("tickReqParams", i),
         until=MIN_SERVER_VER_REQ_SMART_COMPONENTS),
    Step("cancelMktData", lambda c, g, i: c.cancelMktData(i - 1), None),
    Step("reqMktDepth", lambda c, g, i: c.reqMktDepth(i, stock(), 5, True, []), reply("updateMktDepthL2"),
         MIN_SERVER_VER_SMART_DEPTH),
    Step("cancelMktDepth", lambda c, g, i: c.cancelMktDepth(i - 1, True), None, MIN_SERVER_VER_SMART_DEPTH),
    Step("reqMktDepth", lambda c, g, i: c.reqMktDepth(i, eur_gbp(), 5, False, []), reply("updateMktDepth")),
    Step("cancelMktDepth", lambda c, g, i: c.cancelMktDepth(i - 1, False), None),
    Step("reqMktDepthExchanges", lambda c, g, i: c.reqMktDepthExchanges(), reply("mktDepthExchanges", keyed=False),
         MIN_SERVER_VER_REQ_MKT_DEPTH_EXCHANGES),
    Step("reqSmartComponents", lambda c, g, i: c.reqSmartComponents(i, "9c0001"), reply("smartComponents"),
         MIN_SERVER_VER_REQ_SMART_COMPONENTS),
    Step("reqTickByTickData", lambda c, g, i: c.reqTickByTickData(i, stock(), "BidAsk", 0, False),
         reply("tickByTickBidAsk"), MIN_SERVER_VER_TICK_BY_TICK_IGNORE_SIZE),
    Step("cancelTickByTickData", lambda c, g, i: c.cancelTickByTickData(i - 1), None, MIN_SERVER_VER_TICK_BY_TICK),
    Step("reqRealTimeBars", lambda c, g, i: c.reqRealTimeBars(i, stock(), 5, "TRADES", False, []),
         reply("realtimeBar")),
    Step("cancelRealTimeBars", lambda c, g, i: c.cancelRealTimeBars(i - 1), None),
    # historical
    Step("reqHistoricalData", lambda c, g, i: c.reqHistoricalData(i, stock(), "", "5 D", "1 hour", "TRADES", 1, 1,
                                                                  False, []),
         lambda w, i: w.has("historicalDataEnd", i)),
    Step("cancelHistoricalData", lambda c, g, i: c.cancelHistoricalData(i - 1), None),
    Step("reqHistoricalData", lambda c, g, i: c.reqHistoricalData(i, stock("MSFT"), "", "1 M", "1 day", "SCHEDULE",
                                                                  1, 1, False, []),
         reply("historicalSchedule"), MIN_SERVER_VER_HISTORICAL_SCHEDULE),
    Step("reqHeadTimeStamp", lambda c, g, i: c.reqHeadTimeStamp(i, stock(), "TRADES", 1, 1), reply("headTimestamp"),
         MIN_SERVER_VER_REQ_HEAD_TIMESTAMP),
    Step("cancelHeadTimeStamp", lambda c, g, i: c.cancelHeadTimeStamp(i - 1), None,
         MIN_SERVER_VER_CANCEL_HEADTIMESTAMP),
    Step("reqHistogramData", lambda c, g, i: c.reqHistogramData(i, stock(), True, "3 days"), reply("histogramData"),
         MIN_SERVER_VER_REQ_HISTOGRAM),
    Step("cancelHistogramData", lambda c, g, i: c.cancelHistogramData(i - 1), None, MIN_SERVER_VER_REQ_HISTOGRAM),
    Step("reqHistoricalTicks", lambda c, g, i: c.reqHistoricalTicks(i, stock(), week_ago(), "", 10, "TRADES", 1,
                                                                    True, []),
         reply("historicalTicksLast"), MIN_SERVER_VER_HISTORICAL_TICKS),
    Step("reqHistoricalTicks", lambda c, g, i: c.reqHistoricalTicks(i, stock(), week_ago(), "", 10, "BID_ASK", 1,
                                                                    True, []),
         reply("historicalTicksBidAsk"), MIN_SERVER_VER_HISTORICAL_TICKS),
    Step("reqHistoricalTicks", lambda c, g, i: c.reqHistoricalTicks(i, eur_gbp(), "", week_ago(), 10, "MIDPOINT", 0,
                                                                    True, []),
         reply("historicalTicks"), MIN_SERVER_VER_HISTORICAL_TICKS),
    Step("cancelHistoricalTicks", lambda c, g, i: c.cancelHistoricalTicks(i - 1), None,
         MIN_SERVER_VER_CANCEL_CONTRACT_DATA),
    # news, WSH, scanner
    Step("reqNewsBulletins", lambda c, g, i: c.reqNewsBulletins(True), reply("updateNewsBulletin", keyed=False)),
    Step("cancelNewsBulletins", lambda c, g, i: c.cancelNewsBulletins(), None),
    Step("reqNewsProviders", lambda c, g, i: c.reqNewsProviders(), reply("newsProviders", keyed=False),
         MIN_SERVER_VER_REQ_NEWS_PROVIDERS),
    Step("reqHistoricalNews", lambda c, g, i: c.reqHistoricalNews(i, 265598, "BRFG+DJNL", "", "", 5, []),
         reply("historicalNewsEnd"), MIN_SERVER_VER_REQ_HISTORICAL_NEWS),
    Step("reqNewsArticle", lambda c, g, i: c.reqNewsArticle(i, "BRFG", "BRFG$00000001", []), reply("newsArticle"),
         MIN_SERVER_VER_REQ_NEWS_ARTICLE),
    Step("reqWshMetaData", lambda c, g, i: c.reqWshMetaData(i), refused(10276), MIN_SERVER_VER_WSHE_CALENDAR),
    Step("cancelWshMetaData", lambda c, g, i: c.cancelWshMetaData(i - 1), None, MIN_SERVER_VER_WSHE_CALENDAR),
    Step("reqWshEventData", lambda c, g, i: c.reqWshEventData(i, wsh()), refused(10276),
         MIN_SERVER_VER_WSHE_CALENDAR),
    Step("cancelWshEventData", lambda c, g, i: c.cancelWshEventData(i - 1), None, MIN_SERVER_VER_WSHE_CALENDAR),
    Step("reqScannerParameters", lambda c, g, i: c.reqScannerParameters(), reply("scannerParameters", keyed=False)),
    Step("reqScannerSubscription",  # below SCANNER_GENERIC_OPTS ibapi refuses any filter list, even []
         lambda c, g, i: c.reqScannerSubscription(i, scanner(), [],
                                                  [] if c.serverVersion() >= SCANNER_FILTERS else None),
         reply("scannerDataEnd")),
    Step("cancelScannerSubscription", lambda c, g, i: c.cancelScannerSubscription(i - 1), None),
    # options
    Step("calculateImpliedVolatility", lambda c, g, i: c.calculateImpliedVolatility(i, aapl_call(g), 5.0, 190.0, []),
         reply("tickOptionComputation")),
    Step("cancelCalculateImpliedVolatility", lambda c, g, i: c.cancelCalculateImpliedVolatility(i - 1), None),
    Step("calculateOptionPrice", lambda c, g, i: c.calculateOptionPrice(i, aapl_call(g), 0.3, 190.0, []),
         reply("tickOptionComputation")),
    Step("cancelCalculateOptionPrice", lambda c, g, i: c.cancelCalculateOptionPrice(i - 1), None),
    Step("exerciseOptions", lambda c, g, i: c.exerciseOptions(i, aapl_call(g), 1, 1, "", 0, "", "", False),
         refused(321)),
    # orders
    Step("placeOrder", lambda c, g, i: c.placeOrder(i, stock(), limit_order(1.0, c.serverVersion())),
         reply("openOrder")),
    Step("cancelOrder", lambda c, g, i: c.cancelOrder(i - 1, OrderCancel()),
         lambda w, i: any(s[0] == i - 1 and s[1] == "Cancelled" for s in w.calls["orderStatus"])),
    Step("reqOpenOrders", lambda c, g, i: c.reqOpenOrders(), counted("openOrderEnd", 1)),
    Step("reqAllOpenOrders", lambda c, g, i: c.reqAllOpenOrders(), counted("openOrderEnd", 2)),
    Step("reqAutoOpenOrders", lambda c, g, i: c.reqAutoOpenOrders(False), None),
    Step("reqGlobalCancel", lambda c, g, i: c.reqGlobalCancel(OrderCancel()), None),
    Step("reqCompletedOrders", lambda c, g, i: c.reqCompletedOrders(False), counted("completedOrdersEnd", 1),
         MIN_SERVER_VER_COMPLETED_ORDERS),
    Step("reqExecutions", lambda c, g, i: c.reqExecutions(i, ExecutionFilter()), reply("execDetailsEnd")),
    # account
    Step("reqPositions", lambda c, g, i: c.reqPositions(), counted("positionEnd", 1)),
    Step("cancelPositions", lambda c, g, i: c.cancelPositions(), None),
    Step("reqAccountSummary", lambda c, g, i: c.reqAccountSummary(i, "All", "NetLiquidation,$LEDGER"),
         reply("accountSummaryEnd")),
    Step("cancelAccountSummary", lambda c, g, i: c.cancelAccountSummary(i - 1), None),
    Step("reqAccountUpdates", lambda c, g, i: c.reqAccountUpdates(True, ACCOUNT), counted("accountDownloadEnd", 1)),
    Step("reqAccountUpdates", lambda c, g, i: c.reqAccountUpdates(False, ACCOUNT), None),
    Step("reqPositionsMulti", lambda c, g, i: c.reqPositionsMulti(i, ACCOUNT, ""), reply("positionMultiEnd"),
         MIN_SERVER_VER_MODELS_SUPPORT),
    Step("cancelPositionsMulti", lambda c, g, i: c.cancelPositionsMulti(i - 1), None, MIN_SERVER_VER_MODELS_SUPPORT),
    Step("reqAccountUpdatesMulti", lambda c, g, i: c.reqAccountUpdatesMulti(i, ACCOUNT, "", True),
         reply("accountUpdateMultiEnd"), MIN_SERVER_VER_MODELS_SUPPORT),
    Step("cancelAccountUpdatesMulti", lambda c, g, i: c.cancelAccountUpdatesMulti(i - 1), None,
         MIN_SERVER_VER_MODELS_SUPPORT),
    Step("reqPnL", lambda c, g, i: c.reqPnL(i, ACCOUNT, ""), reply("pnl"), MIN_SERVER_VER_PNL),
    Step("cancelPnL", lambda c, g, i: c.cancelPnL(i - 1), None, MIN_SERVER_VER_PNL),
    Step("reqPnLSingle", lambda c, g, i: c.reqPnLSingle(i, ACCOUNT, "", 265598), reply("pnlSingle"),
         MIN_SERVER_VER_PNL),
    Step("cancelPnLSingle", lambda c, g, i: c.cancelPnLSingle(i - 1), None, MIN_SERVER_VER_PNL),
    # financial advisors, display groups, verification, configuration
    Step("requestFA", lambda c, g, i: c.requestFA(1), refused(321, FA_ID)),
    Step("replaceFA", lambda c, g, i: c.replaceFA(i, 1, "<ListOfGroups/>"), refused(321),
         MIN_SERVER_VER_REPLACE_FA_END),
    # below REPLACE_FA_END (157) replaceFA carries no request id: the refusal has none either
    Step("replaceFA", lambda c, g, i: c.replaceFA(i, 1, "<ListOfGroups/>"), refused(321, -1),
         until=MIN_SERVER_VER_REPLACE_FA_END),
    Step("queryDisplayGroups", lambda c, g, i: c.queryDisplayGroups(i), reply("displayGroupList")),
    Step("subscribeToGroupEvents", lambda c, g, i: c.subscribeToGroupEvents(i, 1), reply("displayGroupUpdated")),
    Step("updateDisplayGroup", lambda c, g, i: c.updateDisplayGroup(i - 1, "265598@SMART"),
         lambda w, i: (i - 1, "265598@SMART") in w.calls["displayGroupUpdated"]),
    Step("unsubscribeFromGroupEvents", lambda c, g, i: c.unsubscribeFromGroupEvents(i - 2), None),
    Step("verifyRequest", lambda c, g, i: c.verifyRequest("app", "1.0"), verify_refusals(1)),
    Step("verifyMessage", lambda c, g, i: c.verifyMessage("data"), verify_refusals(2)),
    Step("verifyAndAuthRequest", lambda c, g, i: c.verifyAndAuthRequest("app", "1.0", "key"), verify_refusals(3)),
    Step("verifyAndAuthMessage", lambda c, g, i: c.verifyAndAuthMessage("data", "xyz"), verify_refusals(4)),
    Step("reqConfig", lambda c, g, i: c.reqConfigProtoBuf(ConfigRequest(reqId=i)),
         reply("configResponseProtoBuf", keyed=False), MIN_SERVER_VER_CONFIG),
    Step("updateConfig", lambda c, g, i: c.updateConfigProtoBuf(UpdateConfigRequest(reqId=i)),
         reply("updateConfigResponseProtoBuf", keyed=False), MIN_SERVER_VER_UPDATE_CONFIG),
)
EXPECTED_ERRORS = {10276, 321, 202}  # WSH, FA / verification / exercise, the cancelled order


@pytest.fixture(params=VERSIONS, ids=lambda v: f"v{v}")
def connected(request: pytest.FixtureRequest) -> Iterator[tuple[SimulatedGateway, EClient, Recorder]]:
    with SimulatedGateway(server_version=request.param, tick_interval=0.05, rt_bar_interval=0.2,
                          pacing=False) as gw:
        w = Recorder()
        c = EClient(w)
        c.extraAuth = True  # ibapi sends the verification requests in text only when set
        c.connect("127.0.0.1", gw.port, 5)
        t = threading.Thread(target=run_loop, args=(c,), daemon=True)
        t.start()
        try:
            assert w.wait(lambda r: r.has("nextValidId") and r.has("managedAccounts"))
            yield gw, c, w
        finally:
            c.disconnect()
            t.join(timeout=5)


def test_every_request_family_is_answered(connected: tuple[SimulatedGateway, EClient, Recorder]) -> None:
    gw, c, w = connected
    sv = c.serverVersion()
    silent = []
    for n, step in enumerate(s for s in STEPS if s.since <= sv < s.until):
        req_id = 1000 + n
        step.send(c, gw, req_id)
        if step.answered is not None and not w.wait(lambda r, s=step, i=req_id: s.answered(r, i)):  # type: ignore[misc]
            silent.append(step.name)
    c.reqCurrentTime()  # the link is still up and everything before has been read
    assert w.wait(lambda r: len(r.calls["currentTime"]) == 2)
    assert not silent, f"no answer at server version {sv}: {silent}"
    stats = gw.stats()
    assert not stats.unserved
    sent = {MSG_NAMES[getattr(OUT, name)] for name in re.findall(r"OUT\.([A-Z_0-9]+)", inspect.getsource(EClient))}
    since = {name: min(s.since for s in STEPS if s.name == name) for name in {s.name for s in STEPS}}
    assert {name for name in sent if sv >= since.get(name, 0)} <= set(stats.received)  # every family was sent
    errors = {e[2] for e in w.calls["error"]} - NOTICES
    assert errors <= EXPECTED_ERRORS, [e for e in w.calls["error"] if e[2] not in NOTICES | EXPECTED_ERRORS]
