"""Pacing under overload: ten times more historical and market-data requests than IB allows,
issued at once from several threads, produce zero pacing violations at the simulator. Requests
that cannot be paced within their timeout fail with PacingViolation before anything is sent."""

from __future__ import annotations

import functools
import itertools
import random
import threading
from datetime import datetime, timezone
from typing import Any

from platform_adapter import PacingViolation, SubscriptionLimitExceeded
from platform_adapter.sim import PacingConfig
from tests.conftest import Recorder, wait_for
from tests.resilience.conftest import received, run_threads, wait_reconnected

SESSION_END = datetime(2026, 11, 25, 20, 0, tzinfo=timezone.utc)  # a Wednesday, 15:00 New York
HIST_LIMIT = 12  # requests per 10 minutes, the same at the simulator and in the adapter's config
HIST_THREADS = 8
HIST_PER_THREAD = 15  # 8 x 15 = 120 requests: ten times the limit
MSG_THREADS = 4
PAIRS_PER_THREAD = 44  # 4 x 44 subscribe/unsubscribe pairs = 528 messages (a subscribe waits one reqCurrentTime
# round trip for IB's answer), ten times IB's 50/s


def test_historical_overload_produces_no_violation(sim_factory: Any, adapter_factory: Any) -> None:
    gw = sim_factory(pacing=PacingConfig(hist_max_requests=HIST_LIMIT))
    pa = adapter_factory(gw, **{"market_data.historical_data_max_requests_per_10min": HIST_LIMIT})
    for symbol in ("AAPL", "MSFT"):
        pa.contracts.resolve(symbol)
    # 30-second bars (IB paces bars of 30 s or less) ending in a past session, so every answer has bars
    wanted = [(s, f"{d * 600} S") for s, d in itertools.product(("AAPL", "MSFT"), range(4, 14))]
    ok: list[tuple[str, str]] = []
    refused: list[BaseException] = []
    lock = threading.Lock()

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        for symbol, duration in rng.choices(wanted, k=HIST_PER_THREAD):  # identical requests included
            try:
                frame = pa.market_data.get_historical_data(symbol, duration, "30 secs", end=SESSION_END,
                                                           timeout=3.0)
            except PacingViolation as exc:
                with lock:
                    refused.append(exc)
                continue
            assert len(frame) > 0
            with lock:
                ok.append((symbol, duration))

    errors = run_threads([functools.partial(worker, seed) for seed in range(HIST_THREADS)], timeout=60)
    assert errors == []
    assert gw.stats().pacing.count() == 0, gw.stats().pacing.violations
    sent = received(gw, "reqHistoricalData")["reqHistoricalData"]
    assert sent == len(ok) and len(ok) + len(refused) == HIST_THREADS * HIST_PER_THREAD
    assert HIST_LIMIT // 2 <= sent <= HIST_LIMIT
    assert len(set(ok)) == len(ok), "no identical request sent twice within 15 s"


def test_burst_for_one_contract_sends_five_per_two_seconds(sim_factory: Any, adapter_factory: Any) -> None:
    """Eight threads ask at once for eight different 30-second-bar windows of one contract. IB
    refuses a sixth request for one contract, exchange and tick type within 2 s ("six or more"):
    five go at once, the others wait their turn; every thread gets its bars, no violation."""
    gw = sim_factory()
    pa = adapter_factory(gw)
    pa.contracts.resolve("AAPL")
    frames: dict[int, Any] = {}

    def worker(i: int) -> None:
        frames[i] = pa.market_data.get_historical_data("AAPL", f"{600 + 30 * i} S", "30 secs", end=SESSION_END,
                                                       timeout=20.0)

    assert run_threads([functools.partial(worker, i) for i in range(8)], timeout=30) == []
    assert gw.stats().pacing.count() == 0, gw.stats().pacing.violations
    assert sorted(frames) == list(range(8)) and all(len(f) == 20 + i for i, f in frames.items())


def test_bid_ask_history_counts_twice(sim_factory: Any, adapter_factory: Any) -> None:
    """IB counts a BID_ASK history request twice: with 4 per 10 minutes, two BID_ASK requests use
    the window up; a third request fails with PacingViolation before anything is sent."""
    gw = sim_factory(pacing=PacingConfig(hist_max_requests=4))
    pa = adapter_factory(gw, **{"market_data.historical_data_max_requests_per_10min": 4})
    for symbol in ("AAPL", "MSFT"):
        pa.contracts.resolve(symbol)
    for symbol in ("AAPL", "MSFT"):
        assert len(pa.market_data.get_historical_data(symbol, "600 S", "30 secs", "BID_ASK", end=SESSION_END,
                                                      timeout=5.0)) == 20
    try:
        pa.market_data.get_historical_data("AAPL", "600 S", "30 secs", end=SESSION_END, timeout=2.0)
    except PacingViolation as exc:
        assert "10 minutes" in str(exc)
    else:
        raise AssertionError("a third request was sent past IB's 60-in-10-minutes count")
    assert received(gw, "reqHistoricalData")["reqHistoricalData"] == 2
    assert gw.stats().pacing.count() == 0, gw.stats().pacing.violations


def test_real_time_bars_share_the_historical_10_minute_window(sim_factory: Any, adapter_factory: Any) -> None:
    """IB (realtime_bars): "no more than 60 *new* requests for real time bars can be made in 10
    minutes", in one count with history. With 3 in 10 minutes: two bar lines and one history
    request fill it; a third bar line fails with PacingViolation, nothing sent; no violation."""
    gw = sim_factory(pacing=PacingConfig(hist_max_requests=3), rt_bar_interval=0.2)
    pa = adapter_factory(gw, **{"market_data.historical_data_max_requests_per_10min": 3})
    bars = Recorder()
    for symbol in ("AAPL", "MSFT"):
        pa.market_data.subscribe_real_time_bars(symbol, bars)
    assert len(pa.market_data.get_historical_data("AAPL", "600 S", "30 secs", end=SESSION_END, timeout=5.0)) == 20
    try:
        pa.market_data.subscribe_real_time_bars("SPY", bars)
    except PacingViolation as exc:
        assert "10 minutes" in str(exc)
    else:
        raise AssertionError("a real-time bar request was sent past IB's 10-minute count")
    try:
        pa.market_data.get_historical_data("MSFT", "600 S", "30 secs", end=SESSION_END, timeout=2.0)
    except PacingViolation:
        pass
    else:
        raise AssertionError("a history request was sent past IB's 10-minute count")
    assert received(gw, "reqRealTimeBars", "reqHistoricalData") == {"reqRealTimeBars": 2, "reqHistoricalData": 1}
    bars.wait(2)
    assert {c[0] for c in bars.calls} <= {"AAPL", "MSFT"}
    assert gw.stats().pacing.count() == 0, gw.stats().pacing.violations


def test_replayed_real_time_bars_wait_for_room_in_the_10_minute_window(sim_factory: Any,
                                                                      adapter_factory: Any) -> None:
    """A reconnect replays every bar line, each a new request for IB's 10-minute count: with 3 in
    10 minutes and two lines, the replay sends one and holds the other back for the window,
    instead of a pacing violation at the gateway."""
    gw = sim_factory(pacing=PacingConfig(hist_max_requests=3), rt_bar_interval=0.2)
    pa = adapter_factory(gw, **{"market_data.historical_data_max_requests_per_10min": 3})
    bars = Recorder()
    pa.market_data.subscribe_real_time_bars("AAPL", bars)
    pa.market_data.subscribe_real_time_bars("MSFT", bars)
    gw.drop_all_connections()
    wait_reconnected(pa, 1)
    wait_for(lambda: received(gw, "reqRealTimeBars")["reqRealTimeBars"] == 3, 5)
    bars.wait(len(bars.calls) + 2)  # the replayed line streams
    assert received(gw, "reqRealTimeBars")["reqRealTimeBars"] == 3
    assert gw.stats().pacing.count() == 0, gw.stats().pacing.violations


def ignore(*_: Any) -> None:
    pass


def test_message_rate_overload_produces_no_violation(sim_factory: Any, adapter_factory: Any) -> None:
    gw = sim_factory()
    pa = adapter_factory(gw)
    symbols = ["AAPL", "MSFT", "TSLA", "SPY"]
    for symbol in symbols:
        pa.contracts.resolve(symbol)
    before = received(gw, "reqMktData", "cancelMktData")

    def churn(symbol: str) -> None:
        for _ in range(PAIRS_PER_THREAD):
            pa.market_data.subscribe_quotes(symbol, ignore)
            pa.market_data.unsubscribe_quotes(symbol)

    errors = run_threads([functools.partial(churn, s) for s in symbols], timeout=60)
    assert errors == []
    expected = {k: n + MSG_THREADS * PAIRS_PER_THREAD for k, n in before.items()}
    wait_for(lambda: received(gw, "reqMktData", "cancelMktData") == expected, timeout=5)
    stats = gw.stats()
    assert stats.pacing.count(rule="msg_rate") == 0 and stats.pacing.count() == 0, stats.pacing.violations
    assert pa.is_connected() and stats.clients == [pa.connection.client_id]
    assert pa.market_data.stats()["lines"] == 0


def test_market_data_lines_overload_produces_no_violation(sim_factory: Any, adapter_factory: Any) -> None:
    lines = 2  # the same cap at the simulator and in the adapter's config
    gw = sim_factory(pacing=PacingConfig(max_market_data_lines=lines))
    pa = adapter_factory(gw, **{"market_data.max_simultaneous_subscriptions": lines})
    symbols = ["AAPL", "MSFT", "TSLA", "SPY"]
    for symbol in symbols:
        pa.contracts.resolve(symbol)
    md = pa.market_data
    wanted: list[Any] = [functools.partial(md.subscribe_quotes, s, ignore) for s in symbols]
    wanted += [functools.partial(md.subscribe_tick_by_tick, s, k, ignore)
               for s, k in itertools.product(symbols, ("Last", "AllLast", "BidAsk", "MidPoint"))]
    wanted += [functools.partial(md.subscribe_real_time_bars, s, ignore, "MIDPOINT") for s in symbols]
    ok: list[Any] = []
    refused: list[Any] = []

    def worker(calls: list[Any]) -> None:
        for call in calls:
            try:
                call()
                ok.append(call)
            except SubscriptionLimitExceeded:
                refused.append(call)

    errors = run_threads([functools.partial(worker, wanted[i::6]) for i in range(6)], timeout=30)
    assert errors == []
    assert len(wanted) >= 10 * lines and len(ok) == lines and len(refused) == len(wanted) - lines
    assert md.stats()["lines"] == lines
    wait_for(lambda: sum(received(gw, "reqMktData", "reqTickByTickData", "reqRealTimeBars").values()) == lines,
             timeout=5)
    assert gw.stats().pacing.count() == 0, gw.stats().pacing.violations
    assert gw.lines_in_use() <= lines
