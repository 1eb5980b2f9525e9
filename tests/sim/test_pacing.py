"""One test per IB pacing rule."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from ibapi.client import EClient

from platform_adapter.sim import PacingConfig, SimulatedGateway
from platform_adapter.sim.pacing import ClientPacer
from platform_adapter.sim.protocol import frame
from tests.sim.ibapi_recorder import IbapiRecorder, run_loop

from .conftest import AAPL, RawClient
from .test_ibapi_conformance import RECORDED

MSFT = [0, "MSFT", "STK", "", "", "", "", "SMART", "", "USD", "", ""]
PACING_TEXT = "Historical Market Data Service error message:Historical data request pacing violation"


def hist(c: RawClient, req_id: int, end: str = "", duration: str = "60 S", contract=AAPL) -> None:  # type: ignore[no-untyped-def]
    c.send(20, req_id, *contract, 0, end, "1 secs", duration, 0, "TRADES", 2, 0, "")


def make(cfg: PacingConfig) -> SimulatedGateway:
    return SimulatedGateway(tick_interval=0.05, pacing=cfg).start()


@pytest.fixture
def gw_factory() -> Iterator:  # type: ignore[type-arg]
    made: list[SimulatedGateway] = []

    def f(**kw: object) -> SimulatedGateway:
        gw = make(PacingConfig(**kw))  # type: ignore[arg-type]
        made.append(gw)
        return gw

    yield f
    for g in made:
        g.stop()


def connect(gw: SimulatedGateway, cid: int = 1) -> RawClient:
    c = RawClient(gw.port, cid)
    c.wait_for(lambda m: m[0] == "9")
    return c


def test_message_rate_100_then_disconnect(gw_factory) -> None:  # type: ignore[no-untyped-def]
    gw = gw_factory()
    c = connect(gw)
    # one write: the sim may close the socket after the 55th message, before we could send more
    c.sock.sendall(b"".join(frame((49, 1)) for _ in range(60)))
    e = c.wait_error(100)
    assert e[4].startswith("Max rate of messages per second has been exceeded:max=50 rec=51")
    assert c.wait_closed()
    assert gw.stats().pacing.count(1, "msg_rate") >= 5


def test_rate_disabled(gw_factory) -> None:  # type: ignore[no-untyped-def]
    gw = gw_factory(enabled=False)
    c = connect(gw)
    for _ in range(200):
        c.send(49, 1)
    for _ in range(200):
        c.wait_for(lambda m: m[0] == "49")
    assert gw.stats().pacing.count() == 0


def test_hist_identical_within_15s(gw_factory) -> None:  # type: ignore[no-untyped-def]
    gw = gw_factory()
    c = connect(gw)
    hist(c, 1, "20261125 15:00:00 US/Eastern")
    c.wait_for(lambda m: m[0] == "17" and m[1] == "1")
    hist(c, 2, "20261125 15:00:00 US/Eastern")
    e = c.wait_error(162)
    assert e[2] == "2" and e[4] == PACING_TEXT
    assert gw.stats().pacing.count(rule="hist_identical_15s") == 1


def test_hist_six_same_contract_in_2s(gw_factory) -> None:  # type: ignore[no-untyped-def]
    """IB: "Making six or more historical data requests for the same Contract, Exchange and Tick
    Type within two seconds" is a violation: five pass, the sixth is refused."""
    gw = gw_factory()
    c = connect(gw)
    for i in range(6):
        hist(c, 10 + i, f"20261125 15:0{i}:00 US/Eastern")
    e = c.wait_error(162)
    assert e[2] == "15" and e[4] == PACING_TEXT
    assert gw.stats().pacing.count(rule="hist_6_same_contract_2s") == 1
    assert gw.stats().pacing.count() == 1


def test_hist_bid_ask_counts_twice(gw_factory) -> None:  # type: ignore[no-untyped-def]
    """IB: "when BID_ASK historical data is requested, each request is counted twice": with a
    limit of 4 per window, two BID_ASK requests fill it and a third request is refused."""
    gw = gw_factory(hist_max_requests=4)
    c = connect(gw)
    for i in range(2):
        c.send(20, 30 + i, *AAPL, 0, f"20261125 15:0{i}:00 US/Eastern", "1 secs", "60 S", 0, "BID_ASK", 2, 0, "")
        c.wait_for(lambda m, r=str(30 + i): m[0] == "17" and m[1] == r)
    hist(c, 32, "20261125 15:05:00 US/Eastern", contract=MSFT)
    e = c.wait_error(162)
    assert e[2] == "32" and e[4] == PACING_TEXT
    assert gw.stats().pacing.count(rule="hist_60_per_10min") == 1


def test_hist_pacing_is_for_small_bars_only(gw_factory) -> None:  # type: ignore[no-untyped-def]
    """IB's pacing rules are titled "Pacing Violations for Small Bars (30 secs or less)": the
    same 1-minute request twice in a row is answered twice; a 30-second one is refused."""
    gw = gw_factory()
    c = connect(gw)
    for req_id in (40, 41):
        c.send(20, req_id, *AAPL, 0, "20261125 15:00:00 US/Eastern", "1 min", "1800 S", 0, "TRADES", 2, 0, "")
        c.wait_for(lambda m, r=str(req_id): m[0] == "17" and m[1] == r)
    for req_id in (42, 43):
        c.send(20, req_id, *AAPL, 0, "20261125 15:00:00 US/Eastern", "30 secs", "1800 S", 0, "TRADES", 2, 0, "")
    c.wait_for(lambda m: m[0] == "17" and m[1] == "42")
    e = c.wait_error(162)
    assert e[2] == "43" and e[4] == PACING_TEXT
    assert gw.stats().pacing.count() == 1


def test_hist_60_per_10_minutes(gw_factory) -> None:  # type: ignore[no-untyped-def]
    gw = gw_factory(hist_same_contract_max=1000)
    c = connect(gw)
    for i in range(61):
        hist(c, 100 + i, f"20261125 1{i // 60}:{i % 60:02d}:00 US/Eastern", "30 S")
        if i % 40 == 39:  # stay under the 50 msg/s limit
            c.wait_for(lambda m, r=str(100 + i): m[0] == "17" and m[1] == r)
            gw.stats()
            gw._stop.wait(1.0)
    e = c.wait_error(162, timeout=10)
    assert e[2] == "160" and e[4] == PACING_TEXT
    assert gw.stats().pacing.count(rule="hist_60_per_10min") == 1


def test_real_time_bars_count_in_the_10_minute_window(gw_factory) -> None:  # type: ignore[no-untyped-def]
    """IB (realtime_bars): "no more than 60 *new* requests for real time bars can be made in 10
    minutes"; they combine the limitations of top and historical data: one window for both."""
    gw = gw_factory(hist_max_requests=3)
    c = connect(gw)
    hist(c, 60, "20261125 15:00:00 US/Eastern")
    c.wait_for(lambda m: m[0] == "17" and m[1] == "60")
    for req_id in (61, 62, 63):
        c.send(50, 3, req_id, *AAPL, 5, "TRADES", 0, "")
    e = c.wait_error(420)
    assert e[2] == "63" and e[4] == "Invalid Real-time Query:Historical data request pacing violation"
    assert gw.stats().pacing.count(rule="hist_60_per_10min") == 1


def test_market_data_lines_101(gw_factory) -> None:  # type: ignore[no-untyped-def]
    gw = gw_factory(max_market_data_lines=2)
    c = connect(gw)
    for i, k in enumerate((AAPL, MSFT, AAPL)):
        c.send(1, 11, 50 + i, *k, 0, "", 0, 0, "")
    e = c.wait_error(101)
    assert e[2] == "52" and e[4] == "Max number of tickers has been reached"
    assert gw.stats().pacing.count(rule="mkt_data_lines") == 1


def test_paceapi_requests_are_paced_not_refused(gw_factory) -> None:  # type: ignore[no-untyped-def]
    """A client connecting with +PACEAPI (ibapi's setConnectOptions) has its burst queued and
    answered at 50 messages per second: no error 100, the link kept."""
    gw = gw_factory()
    w = IbapiRecorder(RECORDED)
    c = EClient(w)
    c.setConnectOptions("+PACEAPI")
    c.connect("127.0.0.1", gw.port, 9)
    t = threading.Thread(target=run_loop, args=(c,), daemon=True)
    t.start()
    try:
        w.wait(lambda k: k["nextValidId"])
        started = time.monotonic()
        for _ in range(240):
            c.reqCurrentTime()
        w.wait(lambda k: len(k["currentTime"]) == 240, timeout=15)
        elapsed = time.monotonic() - started
        assert c.isConnected()
        assert not [e for e in w.calls["error"] if e[2] == 100]
        assert gw.stats().pacing.count() == 0 and gw.stats().received["reqCurrentTime"] == 240
        assert elapsed >= (240 - 50) / 50 - 0.2  # one second's worth at once, then 50 a second
    finally:
        c.disconnect()
        t.join(timeout=5)


def test_the_paced_rate_never_exceeds_the_limit() -> None:
    pacer = ClientPacer(PacingConfig(max_msgs_per_sec=50))
    passed = [t + pacer.pace(t) for t in (i * 0.001 for i in range(300))]  # 300 messages in 0.3 s
    assert passed == sorted(passed)
    assert max(sum(1 for x in passed if s - 1.0 < x <= s) for s in passed) <= 50
    assert passed[-1] == pytest.approx(5.0, abs=0.1)  # 300 messages at 50 a second
    assert ClientPacer(PacingConfig(enabled=False)).pace(0.0) == 0.0
