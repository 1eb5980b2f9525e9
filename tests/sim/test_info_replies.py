"""What the simulator answers to the reference-data, depth, historical, news, scanner, option and
administration requests, as stock ibapi receives it, in text (176) and protobuf (226)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from ibapi.client import EClient
from ibapi.common import WshEventData
from ibapi.contract import Contract
from ibapi.scanner import ScannerSubscription
from ibapi.tag_value import TagValue

from platform_adapter.sim import SimulatedGateway
from platform_adapter.sim.account_summary import LEDGER_TAGS
from platform_adapter.sim.contracts import ContractQuery
from tests.sim.ibapi_recorder import run_loop

from .test_every_request_answered import Recorder, aapl_call, eur_gbp, stock, week_ago

TIMEOUT = 5.0


def connect(gw: SimulatedGateway, client_id: int) -> tuple[EClient, Recorder, threading.Thread]:
    w = Recorder()
    c = EClient(w)
    c.connect("127.0.0.1", gw.port, client_id)
    t = threading.Thread(target=run_loop, args=(c,), daemon=True)
    t.start()
    assert w.wait(lambda r: r.has("nextValidId"))
    return c, w, t


@pytest.fixture(params=[176, 226], ids=lambda v: f"v{v}")
def ib(request: pytest.FixtureRequest) -> Iterator[tuple[SimulatedGateway, EClient, Recorder]]:
    with SimulatedGateway(server_version=request.param, tick_interval=0.05, pacing=False) as gw:
        c, w, t = connect(gw, 3)
        try:
            yield gw, c, w
        finally:
            c.disconnect()
            t.join(timeout=5)


def answer(w: Recorder, callback: str, req_id: int | None = None) -> list[tuple[object, ...]]:
    assert w.wait(lambda r: r.has(callback, req_id)), callback
    return [a for a in w.calls[callback] if req_id is None or a[0] == req_id]


def error(w: Recorder, req_id: int) -> tuple[object, ...]:
    assert w.wait(lambda r: bool(r.errors(req_id)))
    return w.errors(req_id)[0]


def test_ledger_rows_per_currency(ib: tuple[SimulatedGateway, EClient, Recorder]) -> None:
    _, c, w = ib
    for req_id, tags in ((1, "$LEDGER"), (2, "$LEDGER:ALL"), (3, "$LEDGER:USD"), (4, "NetLiquidation,$LEDGER")):
        c.reqAccountSummary(req_id, "All", tags)
        answer(w, "accountSummaryEnd", req_id)
        c.cancelAccountSummary(req_id)  # IB holds two at a time
    rows = {i: [(a[2], a[4]) for a in w.calls["accountSummary"] if a[0] == i] for i in (1, 2, 3, 4)}
    assert rows[1] and {ccy for _, ccy in rows[1]} == {"BASE"} and {t for t, _ in rows[1]} <= LEDGER_TAGS
    assert {"CashBalance", "NetLiquidationByCurrency"} <= {t for t, _ in rows[1]}
    assert {ccy for _, ccy in rows[2]} == {"BASE", "USD", "EUR", "AUD"}
    assert rows[3] and {ccy for _, ccy in rows[3]} == {"USD"}
    assert rows[4] == [("NetLiquidation", "USD"), *rows[1]]


def test_a_third_account_summary_subscription_is_refused_until_one_is_cancelled(
        ib: tuple[SimulatedGateway, EClient, Recorder]) -> None:
    """IB: "only two active summary subscriptions are allowed at a time"; the third is 322."""
    _, c, w = ib
    for req_id in (1, 2):
        c.reqAccountSummary(req_id, "All", "NetLiquidation")
        answer(w, "accountSummaryEnd", req_id)
    c.reqAccountSummary(3, "All", "NetLiquidation")
    e = error(w, 3)
    assert e[2] == 322 and "Maximum number of account summary requests exceeded" in str(e[3])
    assert not [a for a in w.calls["accountSummary"] if a[0] == 3]
    c.reqAccountSummary(2, "All", "NetLiquidation,BuyingPower")  # its own id again: a replacement
    answer(w, "accountSummaryEnd", 2)
    c.cancelAccountSummary(1)
    c.reqAccountSummary(4, "All", "NetLiquidation")
    answer(w, "accountSummaryEnd", 4)
    assert not w.errors(4) and not w.errors(2)


def test_pnl_for_another_account_is_refused(ib: tuple[SimulatedGateway, EClient, Recorder]) -> None:
    gw, c, w = ib
    c.reqPnL(5, "DU7654321", "")
    c.reqPnLSingle(6, "DU7654321", "", 265598)
    c.reqPnL(7, gw.account_id, "")
    answer(w, "pnl", 7)
    for req_id in (5, 6):
        assert error(w, req_id)[2:4] == (321, "Error validating request.-'cq' : cause - Invalid account code")
    assert not w.has("pnl", 5) and not w.has("pnlSingle", 6)


def test_tick_req_params_follow_market_data(ib: tuple[SimulatedGateway, EClient, Recorder]) -> None:
    _, c, w = ib
    c.reqMktData(8, stock(), "", False, False, [])
    c.reqMktData(9, eur_gbp(), "", True, False, [])
    assert answer(w, "tickReqParams", 8) == [(8, 0.01, "9c0001", 3)]
    assert answer(w, "tickReqParams", 9) == [(9, 0.00005, "", 3)]
    answer(w, "tickSnapshotEnd", 9)


def test_schedule_is_the_trading_sessions(ib: tuple[SimulatedGateway, EClient, Recorder]) -> None:
    _, c, w = ib
    c.reqHistoricalData(10, stock("MSFT"), "20261204 18:00:00 UTC", "1 W", "1 day", "SCHEDULE", 1, 1, False, [])
    c.reqHistoricalData(11, stock(), "", "1 D", "1 hour", "SCHEDULE", 1, 1, False, [])
    ((_, start, end, zone, sessions),) = answer(w, "historicalSchedule", 10)
    # a week back from Friday 13:00 New York: from the Friday before (its session overlaps) to today
    assert zone == "US/Eastern"
    assert [s.refDate for s in sessions] == ["20261127", "20261130", "20261201", "20261202", "20261203", "20261204"]
    assert all(s.startDateTime.endswith("-09:30:00") and s.endDateTime.endswith("-16:00:00") for s in sessions)
    assert (start, end) == ("20261127-09:30:00", "20261204-16:00:00")
    assert error(w, 11)[2:4] == (10295, "Only daily resolution supported for Schedule requests")
    assert not w.has("historicalData", 10)


def test_option_chain_and_calculations(ib: tuple[SimulatedGateway, EClient, Recorder]) -> None:
    gw, c, w = ib
    c.reqSecDefOptParams(12, "AAPL", "", "STK", 265598)
    answer(w, "securityDefinitionOptionParameterEnd", 12)
    chain = gw.universe.chains[265598]
    params = [a for a in w.calls["securityDefinitionOptionParameter"] if a[0] == 12]
    assert [p[1] for p in params] == list(chain.exchanges)
    assert all(p[2:5] == (265598, "AAPL", "100") and p[5] == set(chain.expirations) and p[6] == set(chain.strikes)
               for p in params)
    c.reqSecDefOptParams(13, "EUR", "", "CASH", 12087792)  # no options: only the end
    c.reqSecDefOptParams(14, "ZZZ", "", "STK", 1)
    answer(w, "securityDefinitionOptionParameterEnd", 13)
    assert not [a for a in w.calls["securityDefinitionOptionParameter"] if a[0] == 13]
    assert error(w, 14)[2] == 200
    call = aapl_call(gw)
    c.calculateOptionPrice(15, call, 0.3, 190.0, [])
    ((_, tick_type, _, vol, delta, price, _, gamma, vega, theta, und),) = answer(w, "tickOptionComputation", 15)
    assert tick_type == 53 and vol == pytest.approx(0.3) and und == 190.0
    assert 0 < delta < 1 and price > 0 and gamma > 0 and vega > 0 and theta < 0
    c.calculateImpliedVolatility(16, call, price, 190.0, [])
    assert answer(w, "tickOptionComputation", 16)[0][3] == pytest.approx(0.3, abs=1e-4)
    c.calculateImpliedVolatility(17, stock(), 5.0, 190.0, [])
    assert error(w, 17)[2] == 321


def test_depth_book(ib: tuple[SimulatedGateway, EClient, Recorder]) -> None:
    gw, c, w = ib
    c.reqMktDepth(18, stock(), 5, True, [])
    c.reqMktDepth(19, eur_gbp(), 3, False, [])
    assert w.wait(lambda r: len([a for a in r.calls["updateMktDepthL2"] if a[0] == 18]) >= 10)
    first = [a for a in w.calls["updateMktDepthL2"] if a[0] == 18][:10]
    assert {a[3] for a in first} == {0} and all(a[7] for a in first)  # inserts, smart depth
    bids = sorted((a[1], a[5]) for a in first if a[4] == 1)
    asks = sorted((a[1], a[5]) for a in first if a[4] == 0)
    assert [p for _, p in bids] == sorted((p for _, p in bids), reverse=True) and bids[0][1] < asks[0][1]
    assert [p for _, p in asks] == sorted(p for _, p in asks) and len(bids) == len(asks) == 5
    assert w.wait(lambda r: any(a[0] == 18 and a[3] == 1 for a in r.calls["updateMktDepthL2"]))  # then updates
    fx = answer(w, "updateMktDepth", 19)
    assert {a[1] for a in fx} >= {0, 1, 2}
    c.reqMktDepth(20, stock("MSFT"), 5, False, [])
    c.reqMktDepth(21, stock("IBM"), 5, False, [])
    assert error(w, 21)[2] == 309  # a fourth contract
    c.reqMktDepth(22, aapl_call(gw), 5, False, [])
    assert error(w, 22)[2] == 10092


def test_historical_ticks_and_histogram(ib: tuple[SimulatedGateway, EClient, Recorder]) -> None:
    _, c, w = ib
    c.reqHistoricalTicks(23, stock(), week_ago(), "", 10, "TRADES", 1, True, [])
    ((_, ticks, done),) = answer(w, "historicalTicksLast", 23)
    assert done and len(ticks) == 10 and [t.time for t in ticks] == sorted(t.time for t in ticks)
    eastern = [dt.datetime.fromtimestamp(t.time, ZoneInfo("US/Eastern")) for t in ticks]
    assert all(e.weekday() < 5 and dt.time(9, 30) <= e.time() < dt.time(16) for e in eastern)
    assert all(t.price > 0 and t.exchange == "NASDAQ" for t in ticks)
    c.reqHistoricalTicks(24, stock(), week_ago(), week_ago(), 10, "TRADES", 1, True, [])
    c.reqHistoricalTicks(25, stock(), week_ago(), "", 5000, "MIDPOINT", 1, True, [])
    assert error(w, 24)[2] == 321 and error(w, 25)[2] == 321
    c.reqHistogramData(26, stock(), True, "1 week")
    ((_, points),) = answer(w, "histogramData", 26)
    assert len(points) > 3 and [p.price for p in points] == sorted(p.price for p in points)
    c.reqHistogramData(27, stock(), True, "soon")
    assert error(w, 27)[2] == 321


def test_reference_data(ib: tuple[SimulatedGateway, EClient, Recorder]) -> None:
    gw, c, w = ib
    c.reqMarketRule(26)
    c.reqMarketRule(999)
    rule_id, increments = answer(w, "marketRule")[0]
    assert rule_id == 26 and [(p.lowEdge, p.increment) for p in increments] == [(0.0, 0.01)]
    assert w.wait(lambda r: bool(r.errors(-1, 321)))  # no rule 999
    c.reqMatchingSymbols(28, "AAP")
    ((_, found),) = answer(w, "symbolSamples", 28)
    assert [(d.contract.symbol, d.contract.conId, d.derivativeSecTypes) for d in found] == [("AAPL", 265598, ["OPT"])]
    c.reqFamilyCodes()
    c.reqSoftDollarTiers(29)
    c.reqUserInfo(30)
    assert [(f.accountID, f.familyCodeStr) for f in answer(w, "familyCodes")[0][0]] == [(gw.account_id, "")]
    assert answer(w, "softDollarTiers", 29) == [(29, [])]
    assert answer(w, "userInfo", 30) == [(30, "")]
    c.reqMktDepthExchanges()
    c.reqSmartComponents(31, "9c0001")
    assert ("IDEALPRO", "CASH") in {(d.exchange, d.secType) for d in answer(w, "mktDepthExchanges")[0][0]}
    assert answer(w, "smartComponents", 31)[0][1]


def test_news_and_wsh(ib: tuple[SimulatedGateway, EClient, Recorder]) -> None:
    _, c, w = ib
    c.reqNewsProviders()
    providers = {p.code for p in answer(w, "newsProviders")[0][0]}
    assert providers == {"BRFG", "BRFUPDN", "DJNL"}
    c.reqHistoricalNews(32, 8314, "BRFG+DJNL", "", "", 4, [])
    answer(w, "historicalNewsEnd", 32)
    news = [a for a in w.calls["historicalNews"] if a[0] == 32]
    assert len(news) == 4 and {n[2] for n in news} == {"BRFG", "DJNL"}
    assert w.calls["historicalNewsEnd"] == [(32, True)]
    c.reqNewsArticle(33, news[0][2], news[0][3], [])
    ((_, kind, text),) = answer(w, "newsArticle", 33)
    assert kind == 0 and news[0][3] in text
    c.reqHistoricalNews(34, 8314, "BZ", "", "", 4, [])
    c.reqWshMetaData(35)
    event = WshEventData()
    event.conId = 8314
    c.reqWshEventData(36, event)
    for req_id in (34, 35, 36):
        assert error(w, req_id)[2:4] == (10276, "News feed is not allowed.")
    c.reqNewsBulletins(True)
    assert answer(w, "updateNewsBulletin")[0][1] == 1


def test_scanner(ib: tuple[SimulatedGateway, EClient, Recorder]) -> None:
    gw, c, w = ib
    c.reqScannerParameters()
    xml = answer(w, "scannerParameters")[0][0]
    assert "<scanCode>TOP_PERC_GAIN</scanCode>" in xml and "<locationCode>STK.NASDAQ</locationCode>" in xml
    sub = ScannerSubscription()
    sub.instrument, sub.locationCode, sub.scanCode, sub.numberOfRows = "STK", "STK.NYSE", "TOP_PERC_GAIN", 3
    c.reqScannerSubscription(37, sub, [], [])
    answer(w, "scannerDataEnd", 37)
    rows = [a for a in w.calls["scannerData"] if a[0] == 37]
    assert [r[1] for r in rows] == [0, 1, 2]
    specs = [gw.universe.by_con_id[r[2].contract.conId] for r in rows]
    assert all(s.primary_exchange == "NYSE" for s in specs)
    sub.scanCode = "NO_SUCH_SCAN"
    c.reqScannerSubscription(38, sub, [], [])
    assert error(w, 38)[2] == 162


def test_fa_display_groups_and_verification(ib: tuple[SimulatedGateway, EClient, Recorder]) -> None:
    gw, c, w = ib
    c.requestFA(1)
    c.replaceFA(39, 1, "<ListOfGroups/>")
    assert error(w, 2147483647)[2:4] == (321, "Error validating request.-'b9' : cause - FA data operations "
                                              "ignored for non FA customers.")
    assert error(w, 39)[2] == 321
    other, w2, t2 = connect(gw, 4)
    try:
        c.queryDisplayGroups(40)
        assert answer(w, "displayGroupList", 40) == [(40, "1|2|3|4|5|6|7")]
        c.subscribeToGroupEvents(41, 2)
        other.subscribeToGroupEvents(50, 2)
        assert answer(w, "displayGroupUpdated", 41) == [(41, "")]
        answer(w2, "displayGroupUpdated", 50)
        c.updateDisplayGroup(41, "8314@SMART")
        assert w2.wait(lambda r: (50, "8314@SMART") in r.calls["displayGroupUpdated"])
        other.subscribeToGroupEvents(51, 2)  # a new subscriber sees the group's contract
        assert w2.wait(lambda r: (51, "8314@SMART") in r.calls["displayGroupUpdated"])
    finally:
        other.disconnect()
        t2.join(timeout=5)
    c.setServerLogLevel(9)
    assert w.wait(lambda r: bool(r.errors(-1, 319)))


def test_universe_contracts_resolve_for_ibs_samples(ib: tuple[SimulatedGateway, EClient, Recorder]) -> None:
    _, c, w = ib
    queries = []
    for symbol in ("IBM", "SPY", "QQQ", "NVDA"):
        queries.append(stock(symbol))
    queries.append(eur_gbp())
    fut = Contract()
    fut.symbol, fut.secType, fut.exchange = "ES", "CONTFUT", "CME"
    queries.append(fut)
    for n, k in enumerate(queries):
        c.reqContractDetails(60 + n, k)
    for n in range(len(queries)):
        ((_, details),) = answer(w, "contractDetails", 60 + n)
        assert details.contract.conId > 0
    assert not [e for e in w.calls["error"] if 60 <= e[0] < 70]


def test_refusals_of_the_less_common_cases(ib: tuple[SimulatedGateway, EClient, Recorder]) -> None:
    gw, c, w = ib
    call = aapl_call(gw)
    spec = gw.universe.resolve_one(ContractQuery(symbol="AAPL", sec_type="OPT", strike=call.strike, right="C",
                                                 last_trade_date=call.lastTradeDateOrContractMonth))
    assert spec is not None
    c.exerciseOptions(70, call, 1, 1, "DU7654321", 0, "", "", False)
    c.exerciseOptions(71, call, 1, 1, "", 0, "", "", False)  # nothing held
    texts = {req_id: error(w, req_id)[3] for req_id in (70, 71)}
    with gw.lock:
        gw.account.seed_position(spec.con_id, 2, 5.0)
    c.exerciseOptions(72, call, 1, 2, gw.account_id, 0, "", "", False)
    texts[72] = error(w, 72)[3]
    assert texts[70].endswith("Invalid account code") and texts[71].endswith("No position to exercise in this option")
    assert texts[72].endswith("Option exercise is not simulated")
    c.reqHistoricalNews(73, 1, "BRFG", "", "", 4, [])
    c.reqNewsArticle(74, "BRFG", "DJNL$0001", [])
    c.subscribeToGroupEvents(75, 8)
    c.updateDisplayGroup(76, "8314@SMART")
    assert [error(w, i)[2] for i in (73, 74, 75, 76)] == [200, 10276, 321, 321]
    sub = ScannerSubscription()
    sub.instrument, sub.locationCode, sub.scanCode = "STK", "STK.US", "MOST_ACTIVE"
    c.reqScannerSubscription(77, sub, [], [TagValue("priceAbove", "300"), TagValue("priceBelow", "600")])
    answer(w, "scannerDataEnd", 77)
    prices = [gw.market.quote(a[2].contract.conId).last for a in w.calls["scannerData"] if a[0] == 77]
    assert prices and all(250 < p < 650 for p in prices)  # the filters applied (prices have moved a little since)
    sub.locationCode = "STK.EU"
    c.reqScannerSubscription(78, sub, [], [])
    assert error(w, 78)[2] == 162
