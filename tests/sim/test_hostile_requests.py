"""Requests stock ibapi can encode but a gateway must refuse, and cancels of ids it does not know:
each gets IB's error for its id and the session lives on (a round trip answers after it).

Orders: a quantity or price that is not a finite number (ibapi sends ``Decimal("Infinity")`` as
"Infinity", ``float("inf")`` as "Infinity"), a trailing percent above 100 or an action other than
BUY / SELL is refused with 321 for the order id, never placed (before, an infinite quantity or
price raised in the session thread and the connection dropped; an empty action was booked as a
sell); a price too large to count in ticks is 110; a short sale beyond the account's margin is 201.
Market data: cancelMktData and cancelTickByTickData for an id without a subscription (never
requested, a finished snapshot, a second cancel) get 300 "Can't find EId with tickerId:N", as a
real gateway answers. A scanner subscription whose filter option is not a number ("" or "abc") gets
162 (before, the scanner's float() raised in the session thread). Historical news for a period
before 1970 (an end of "0001-01-01 00:00:00") has no headlines: its end comes at once (before, the
default start, 30 days before that end, left the calendar and the session died). Any handler that
still fails answers 322 for the request's id and the session goes on (before, the session thread
died and the connection dropped). Historical requests reaching past either end of the calendar
("00010101 00:00:00", "99991231 23:59:59", "99999 Y", "999999999 years") are answered: the
simulated history starts in 1970 (an end before it has no bars: 162), no session is after
9999-12-01 (before, the date arithmetic left Python's calendar and the session died); a histogram
over decades samples more sparsely instead of holding the gateway for minutes.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from ibapi.client import EClient
from ibapi.contract import Contract
from ibapi.order import Order
from ibapi.scanner import ScannerSubscription
from ibapi.server_versions import MIN_SERVER_VER_PROTOBUF_PLACE_ORDER
from ibapi.tag_value import TagValue

from platform_adapter.sim import SimulatedGateway
from platform_adapter.sim.scanner import Scanner
from tests.sim.ibapi_recorder import IbapiRecorder, stock_client

VERSIONS = [176, 226]  # text and protobuf placeOrder
NAMES = ("nextValidId", "managedAccounts", "error", "openOrder", "orderStatus", "currentTime", "tickPrice",
         "tickSnapshotEnd", "tickByTickBidAsk", "scannerData", "scannerDataEnd",
         "historicalNews", "historicalNewsEnd",
         "historicalDataEnd", "historicalSchedule", "historicalTicksLast", "histogramData")
INF = float("inf")


def aapl() -> Contract:
    k = Contract()
    k.symbol, k.secType, k.exchange, k.currency = "AAPL", "STK", "SMART", "USD"
    return k


def order(action: str, order_type: str, qty: Decimal, **attrs: Any) -> Order:
    o = Order()
    o.action, o.orderType, o.totalQuantity = action, order_type, qty
    for name, value in attrs.items():
        setattr(o, name, value)
    return o


HOSTILE_ORDERS = {  # the order and IB's code for it
    "infinite quantity": (order("SELL", "MKT", Decimal("Infinity")), 321),
    "quantity past a double": (order("SELL", "MKT", Decimal("1e400")), 321),
    "NaN quantity": (order("SELL", "MKT", Decimal("NaN")), 321),
    "signalling NaN quantity": (order("SELL", "MKT", Decimal("sNaN")), 321),
    "infinite limit price on a market order": (order("SELL", "MKT", Decimal(1), lmtPrice=INF), 321),
    "infinite stop price on a limit order": (order("SELL", "LMT", Decimal(1), lmtPrice=190.0, auxPrice=INF), 321),
    "infinite trail stop price": (order("SELL", "TRAIL", Decimal(1), auxPrice=1.0, trailStopPrice=INF), 321),
    "NaN limit price": (order("SELL", "LMT", Decimal(1), lmtPrice=float("nan")), 321),
    "empty action": (order("", "MKT", Decimal(1)), 321),
    "unknown action": (order("HOLD", "MKT", Decimal(1)), 321),
    # a trail of 1e308 % made the stop infinite: the market loop raised on every step
    "trailing percent past 100": (order("SELL", "TRAIL", Decimal(1), trailingPercent=1e308), 321),
    # too many ticks to count: the tick check raised
    "limit price of 1e308": (order("SELL", "LMT", Decimal(1), lmtPrice=1e308), 110),
    "trailing amount of 1e308": (order("SELL", "TRAIL", Decimal(1), auxPrice=1e308), 110),
    # a short sale needs margin: 1e308 shares sold short filled, and the account's figures became NaN
    "short sale of 1e308 shares": (order("SELL", "MKT", Decimal("1e308")), 201),
}


@pytest.fixture(params=VERSIONS, ids=[f"v{v}" for v in VERSIONS])
def client(request: pytest.FixtureRequest) -> Iterator[tuple[SimulatedGateway, EClient, IbapiRecorder]]:
    with SimulatedGateway(server_version=request.param, tick_interval=3600, positions={"AAPL": (10.0, 150.0)}) as gw:
        gw.set_price("AAPL", 190.0)
        with stock_client(gw.port, 7, NAMES) as (c, w):
            assert c.serverVersion() == request.param
            yield gw, c, w


def round_trip(c: EClient, w: IbapiRecorder) -> None:
    """Everything sent before has been answered, and the link is up."""
    n = len(w.calls["currentTime"])
    c.reqCurrentTime()
    w.wait(lambda k: len(k["currentTime"]) > n)


def errors(w: IbapiRecorder, req_id: int) -> list[int]:
    return [e[2] for e in w.calls["error"] if e[0] == req_id]


@pytest.mark.parametrize("case", HOSTILE_ORDERS)
def test_a_hostile_order_is_refused_and_the_session_lives(
        client: tuple[SimulatedGateway, EClient, IbapiRecorder], case: str) -> None:
    gw, c, w = client
    if case == "signalling NaN quantity" and c.serverVersion() >= MIN_SERVER_VER_PROTOBUF_PLACE_ORDER:
        pytest.skip("ibapi's protobuf encoder compares the quantity with UNSET_DECIMAL and raises itself")
    order_id = w.calls["nextValidId"][0][0]
    hostile, code = HOSTILE_ORDERS[case]
    c.placeOrder(order_id, aapl(), hostile)
    w.wait(lambda k: any(e[0] == order_id for e in k["error"]))
    assert errors(w, order_id) == [code], w.calls["error"]
    round_trip(c, w)
    assert not any(o[0] == order_id for o in w.calls["openOrder"])
    assert not gw.stats().orders and [p.qty for p in gw.account.positions.values()] == [10.0]
    # the session still trades
    c.placeOrder(order_id + 1, aapl(), order("BUY", "MKT", Decimal(5)))
    w.wait(lambda k: any(s[0] == order_id + 1 and s[1] == "Filled" for s in k["orderStatus"]))


def test_a_price_far_from_the_market_is_taken_and_rests(
        client: tuple[SimulatedGateway, EClient, IbapiRecorder]) -> None:
    gw, c, w = client
    order_id = w.calls["nextValidId"][0][0]
    c.placeOrder(order_id, aapl(), order("SELL", "LMT", Decimal(10), lmtPrice=1e300))  # the shares held
    w.wait(lambda k: any(s[0] == order_id and s[1] == "Submitted" for s in k["orderStatus"]))
    round_trip(c, w)
    assert not errors(w, order_id)


def test_cancelling_market_data_it_does_not_have_is_error_300(
        client: tuple[SimulatedGateway, EClient, IbapiRecorder]) -> None:
    gw, c, w = client
    c.cancelMktData(4001)  # never requested
    c.reqMktData(4002, aapl(), "", True, False, [])  # a snapshot: its line ends with tickSnapshotEnd
    w.wait(lambda k: (4002,) in k["tickSnapshotEnd"])
    c.cancelMktData(4002)
    c.reqMktData(4003, aapl(), "", False, False, [])  # a stream: the first cancel is taken silently
    w.wait(lambda k: any(t[0] == 4003 for t in k["tickPrice"]))
    c.cancelMktData(4003)
    round_trip(c, w)
    assert not errors(w, 4003)
    c.cancelMktData(4003)  # the second one finds nothing
    c.cancelTickByTickData(4004)
    round_trip(c, w)
    refused = [(e[0], e[2], e[3]) for e in w.calls["error"] if e[2] == 300]
    assert refused == [(i, 300, f"Can't find EId with tickerId:{i}") for i in (4001, 4002, 4003, 4004)]


def test_cancelling_tick_by_tick_once_is_silent(client: tuple[SimulatedGateway, EClient, IbapiRecorder]) -> None:
    gw, c, w = client
    c.reqTickByTickData(4010, aapl(), "BidAsk", 0, False)
    w.wait(lambda k: any(t[0] == 4010 for t in k["tickByTickBidAsk"]))
    c.cancelTickByTickData(4010)
    round_trip(c, w)
    assert not errors(w, 4010)
    c.cancelTickByTickData(4010)
    round_trip(c, w)
    assert errors(w, 4010) == [300]


@pytest.mark.parametrize("value", ["", "abc", "nan"])
def test_a_scanner_filter_that_is_not_a_number_is_error_162(
        client: tuple[SimulatedGateway, EClient, IbapiRecorder], value: str) -> None:
    gw, c, w = client
    s = ScannerSubscription()
    s.instrument, s.locationCode, s.scanCode, s.numberOfRows = "STK", "STK.US.MAJOR", "MOST_ACTIVE", 5
    c.reqScannerSubscription(4020, s, [], [TagValue("priceAbove", value)])
    w.wait(lambda k: any(e[0] == 4020 for e in k["error"]))
    assert errors(w, 4020) == [162]
    round_trip(c, w)
    c.reqScannerSubscription(4021, s, [], [TagValue("priceAbove", "10")])
    w.wait(lambda k: (4021,) in k["scannerDataEnd"])


@pytest.mark.parametrize(("start", "end"), [("", "0001-01-01 00:00:00"),
                                            ("0001-01-01 00:00:00", "0001-01-01 02:00:00")])
def test_historical_news_before_1970_is_none(
        client: tuple[SimulatedGateway, EClient, IbapiRecorder], start: str, end: str) -> None:
    gw, c, w = client
    c.reqHistoricalNews(4030, 265598, "BRFG", start, end, 5, [])
    w.wait(lambda k: any(e[0] == 4030 for e in k["historicalNewsEnd"]))
    assert w.calls["historicalNewsEnd"] == [(4030, False)]
    assert not w.calls["historicalNews"] and not errors(w, 4030)
    round_trip(c, w)


def test_a_handler_that_fails_is_error_322_and_the_session_lives(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: Scanner, q: object) -> None:
        raise RuntimeError("a simulator bug")

    monkeypatch.setattr(Scanner, "h_reqScannerSubscription", broken)
    with SimulatedGateway(tick_interval=3600) as gw, stock_client(gw.port, 7, NAMES) as (c, w):
        s = ScannerSubscription()
        s.instrument, s.locationCode, s.scanCode = "STK", "STK.US.MAJOR", "MOST_ACTIVE"
        c.reqScannerSubscription(4040, s, [], [])
        w.wait(lambda k: any(e[0] == 4040 for e in k["error"]))
        assert errors(w, 4040) == [322]
        round_trip(c, w)
        assert c.isConnected()


AT_THE_ENDS = {
    "bars ending in year 1": (lambda c, i: c.reqHistoricalData(i, aapl(), "00010101 00:00:00", "1 D", "1 day",
                                                               "TRADES", 1, 1, False, []), "error 162"),
    "bars over 99999 years": (lambda c, i: c.reqHistoricalData(i, aapl(), "", "99999 Y", "1 day", "TRADES", 1, 1,
                                                               False, []), "historicalDataEnd"),
    "schedule over 99999 years": (lambda c, i: c.reqHistoricalData(i, aapl(), "", "99999 Y", "1 day", "SCHEDULE",
                                                                   1, 1, False, []), "historicalSchedule"),
    "schedule ending in year 1": (lambda c, i: c.reqHistoricalData(i, aapl(), "00010101 00:00:00", "1 M", "1 day",
                                                                   "SCHEDULE", 1, 1, False, []), "historicalSchedule"),
    "schedule ending in 9999": (lambda c, i: c.reqHistoricalData(i, aapl(), "99991231 23:59:59", "1 M", "1 day",
                                                                 "SCHEDULE", 1, 1, False, []), "historicalSchedule"),
    "ticks from year 1": (lambda c, i: c.reqHistoricalTicks(i, aapl(), "00010101 00:00:00", "", 10, "TRADES", 1,
                                                            True, []), "historicalTicksLast"),
    "ticks back from year 1": (lambda c, i: c.reqHistoricalTicks(i, aapl(), "", "00010101 00:00:00", 10, "TRADES",
                                                                 1, True, []), "historicalTicksLast"),
    "ticks from 9999": (lambda c, i: c.reqHistoricalTicks(i, aapl(), "99991231 23:00:00", "", 10, "TRADES", 1,
                                                          True, []), "historicalTicksLast"),
    "histogram over 999999999 years": (lambda c, i: c.reqHistogramData(i, aapl(), True, "999999999 years"),
                                       "histogramData"),
}


@pytest.mark.parametrize("case", AT_THE_ENDS)
def test_historical_requests_at_the_ends_of_the_calendar_are_answered(
        client: tuple[SimulatedGateway, EClient, IbapiRecorder], case: str) -> None:
    gw, c, w = client
    send, answer = AT_THE_ENDS[case]
    send(c, 4050)
    if answer == "error 162":
        w.wait(lambda k: any(e[0] == 4050 for e in k["error"]))
        assert errors(w, 4050) == [162]
    else:
        w.wait(lambda k: any(a[0] == 4050 for a in k[answer]))
        assert not errors(w, 4050)
    round_trip(c, w)
