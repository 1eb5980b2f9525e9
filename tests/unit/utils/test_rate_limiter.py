"""Pacing primitives, driven by a fake clock (no real sleeping)."""

from __future__ import annotations

import threading

import pytest

from platform_adapter.errors import PacingViolation
from platform_adapter.utils.rate_limiter import HistoricalKey, HistoricalPacer, RateLimiter, TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def max_in_window(stamps: list[float], window: float) -> int:
    best = 0
    for i, start in enumerate(stamps):
        best = max(best, sum(1 for t in stamps[i:] if t < start + window))
    return best


def test_sliding_window_spec_interface() -> None:
    clock = FakeClock()
    rl = RateLimiter(3, 10, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        assert rl.can_proceed()
        rl.record_request()
    assert not rl.can_proceed()
    clock.now += 10.01
    assert rl.can_proceed()


def test_sliding_window_acquire_waits_and_times_out() -> None:
    clock = FakeClock()
    rl = RateLimiter(2, 5, clock=clock, sleep=clock.sleep)
    assert rl.acquire() == 0
    assert rl.acquire() == 0
    assert rl.acquire() == pytest.approx(5.0)
    assert rl.acquire() == 0
    with pytest.raises(PacingViolation, match="timeout"):
        rl.acquire(timeout=1.0)


def test_token_bucket_never_sleeps_under_the_limit_and_caps_any_second() -> None:
    clock = FakeClock()
    bucket = TokenBucket(40, 10, clock=clock, sleep=clock.sleep)
    stamps = []
    for _ in range(10):
        assert bucket.acquire() == 0.0
        stamps.append(clock.now)
    assert clock.slept == []
    for _ in range(300):
        bucket.acquire()
        stamps.append(clock.now)
    assert max_in_window(stamps, 1.0) <= 50
    assert clock.now - 1000.0 == pytest.approx(300 / 40, rel=0.01)


def test_token_bucket_timeout_gives_the_token_back() -> None:
    clock = FakeClock()
    bucket = TokenBucket(1, 1, clock=clock, sleep=clock.sleep)
    bucket.acquire()
    with pytest.raises(PacingViolation):
        bucket.acquire(timeout=0.1)
    clock.now += 1.0
    assert bucket.can_proceed()
    bucket.record_request()
    assert not bucket.can_proceed()
    bucket.enabled = False
    assert bucket.acquire(timeout=0) == 0.0


def key(symbol: str, ident: str) -> HistoricalKey:
    return HistoricalKey(symbol, "SMART", "TRADES", (symbol, ident))


def test_historical_identical_request_waits_15s() -> None:
    clock = FakeClock()
    pacer = HistoricalPacer(60, 10, clock=clock, sleep=clock.sleep)
    pacer.acquire(key("AAPL", "a"))
    pacer.release()
    pacer.acquire(key("AAPL", "a"))
    pacer.release()
    assert clock.now - 1000.0 == pytest.approx(15.0)


def test_historical_six_per_contract_in_two_seconds() -> None:
    clock = FakeClock()
    pacer = HistoricalPacer(60, 10, clock=clock, sleep=clock.sleep)
    stamps = []
    for i in range(12):
        pacer.acquire(key("AAPL", str(i)))
        pacer.release()
        stamps.append(clock.now)
    assert max_in_window(stamps, 2.0) <= 5  # IB: "six or more ... within two seconds" is a violation
    for i in range(5):  # another contract is not held back
        before = clock.now
        pacer.acquire(key("MSFT", str(i)))
        pacer.release()
        assert clock.now == before


def test_historical_sixty_per_ten_minutes() -> None:
    clock = FakeClock()
    pacer = HistoricalPacer(60, 100, clock=clock, sleep=clock.sleep)
    stamps = []
    for i in range(180):
        pacer.acquire(key(f"S{i % 50}", str(i)))
        pacer.release()
        stamps.append(clock.now)
    assert max_in_window(stamps, 600.0) <= 60
    with pytest.raises(PacingViolation):
        pacer.acquire(key("X", "y"), timeout=1.0)


def test_historical_bid_ask_counts_twice() -> None:
    """IB: "when BID_ASK historical data is requested, each request is counted twice"."""
    clock = FakeClock()
    pacer = HistoricalPacer(4, 10, clock=clock, sleep=clock.sleep)
    for i in range(2):
        pacer.acquire(HistoricalKey(f"S{i}", "SMART", "BID_ASK", i))
        pacer.release()
    assert clock.now == 1000.0
    with pytest.raises(PacingViolation, match="60 requests per 10 minutes"):
        pacer.acquire(key("X", "y"), timeout=1.0)
    stamps = []
    pacer = HistoricalPacer(60, 10, clock=clock, sleep=clock.sleep)
    for i in range(6):  # two for one contract and tick type in 2 s, then the third waits
        pacer.acquire(HistoricalKey("AAPL", "SMART", "BID_ASK", i))
        pacer.release()
        stamps.append(clock.now)
    assert max_in_window(sorted(stamps * 2), 2.0) <= 5 and clock.now > 1000.0


class ObservedSlots(threading.BoundedSemaphore):
    """The pacer's slots, telling the test when a caller has to wait for one."""

    def __init__(self, n: int) -> None:
        super().__init__(n)
        self.waiting = threading.Event()

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        if super().acquire(blocking=False):
            return True
        self.waiting.set()
        return super().acquire(blocking, timeout)


def test_historical_rules_stamp_after_the_slot_wait() -> None:
    """A request that waited 14 s for a slot is sent at 14 s: an identical request must then wait
    until 29 s. Before, the stamp was taken before the slot wait, so the identical request went
    1 s after the first one reached the gateway (IB: no identical request within 15 s)."""
    clock = FakeClock()
    pacer = HistoricalPacer(60, 1, clock=clock, sleep=clock.sleep)
    slots = pacer._slots = ObservedSlots(1)
    pacer.acquire(key("MSFT", "other"))
    second = threading.Thread(target=pacer.acquire, args=(key("AAPL", "same"),), daemon=True)
    second.start()
    assert slots.waiting.wait(5.0)
    clock.now += 14.0
    pacer.release()
    second.join(5.0)
    assert not second.is_alive()
    pacer.release()
    clock.now += 1.0
    pacer.acquire(key("AAPL", "same"))
    assert clock.now == pytest.approx(1029.0)


def test_historical_slot_released_when_the_rules_refuse() -> None:
    clock = FakeClock()
    pacer = HistoricalPacer(60, 1, clock=clock, sleep=clock.sleep)
    pacer.acquire(key("AAPL", "a"))
    pacer.release()
    with pytest.raises(PacingViolation, match="identical"):
        pacer.acquire(key("AAPL", "a"), timeout=1.0)
    pacer.acquire(key("AAPL", "b"), timeout=0.05)  # the refused call gave its slot back


def test_historical_concurrency_slots() -> None:
    clock = FakeClock()
    pacer = HistoricalPacer(60, 1, clock=clock, sleep=clock.sleep)
    pacer.acquire(key("A", "1"))
    with pytest.raises(PacingViolation, match="slots"):
        pacer.acquire(key("B", "1"), timeout=0.05)
    pacer.release()
    pacer.release()  # an extra release is harmless
    pacer.acquire(key("C", "1"), timeout=0.05)


def test_a_violation_ib_reports_holds_every_history_request_for_the_short_windows() -> None:
    """IB refused a request for pacing: its count holds requests the pacer does not know. Every
    history request, for any contract, waits out the short rules' windows (15 s identical, 2 s
    per contract) from the violation."""
    clock = FakeClock()
    pacer = HistoricalPacer(60, 10, clock=clock, sleep=clock.sleep, margin=0.1)
    pacer.acquire(key("AAPL", "a"))
    pacer.release()
    assert pacer.violated() == pytest.approx(15.1)
    pacer.acquire(key("MSFT", "x"))
    assert clock.now - 1000.0 == pytest.approx(15.1)
    pacer.release()
    pacer.violated()
    with pytest.raises(PacingViolation, match="IB reported a pacing violation"):
        pacer.acquire(key("TSLA", "y"), timeout=10.0)  # its wait cannot fit: raised before sending


def test_a_violation_after_a_hold_holds_for_the_whole_ten_minutes() -> None:
    """The request sent again after the short hold is refused too: IB's ten-minute count is full,
    so the next hold is the whole window; a violation long after starts short again."""
    clock = FakeClock()
    pacer = HistoricalPacer(60, 10, clock=clock, sleep=clock.sleep)
    assert pacer.violated() == pytest.approx(15.0)
    pacer.acquire(key("AAPL", "a"))
    pacer.release()
    assert pacer.violated() == pytest.approx(600.0)
    pacer.acquire(key("AAPL", "b"))
    pacer.release()
    assert clock.now - 1000.0 == pytest.approx(615.0)
    clock.now += 600.0
    assert pacer.violated() == pytest.approx(15.0)


def test_a_violation_during_a_hold_does_not_lengthen_it() -> None:
    """Requests already at IB when the hold began (other threads') may be refused too: that is the
    same incident, not a repeat after the hold."""
    clock = FakeClock()
    pacer = HistoricalPacer(60, 10, clock=clock, sleep=clock.sleep)
    assert pacer.violated() == pytest.approx(15.0)
    clock.now += 1.0
    assert pacer.violated() == pytest.approx(14.0)
    pacer.acquire(key("AAPL", "a"))
    assert clock.now - 1000.0 == pytest.approx(15.0)


def large(symbol: str, ident: str, bar_seconds: int = 60, what_to_show: str = "TRADES") -> HistoricalKey:
    return HistoricalKey(symbol, "SMART", what_to_show, (symbol, ident), bar_seconds)


def test_the_small_bar_boundary_is_30_seconds() -> None:
    """IB: "Pacing Violations for Small Bars (30 secs or less)"; a key without a bar size is paced
    as a small one (every rule)."""
    assert [large("A", "x", s).small for s in (1, 5, 30, 60, 86400)] == [True, True, True, False, False]
    assert key("A", "x").small


def test_61_large_bar_requests_are_not_held_by_the_ten_minute_count() -> None:
    """IB lifted its hard rules for bars of 1 minute and more: 61 in a row (BID_ASK too, which IB
    counts twice for small bars) go at once; the 61st small-bar request still waits."""
    clock = FakeClock()
    pacer = HistoricalPacer(60, 100, clock=clock, sleep=clock.sleep)
    for i in range(61):
        pacer.acquire(large(f"S{i % 3}", str(i), what_to_show="BID_ASK" if i % 2 else "TRADES"))
        pacer.release()
    assert clock.now == 1000.0 and clock.slept == [] and pacer.wait_counts() == {}
    for i in range(60):  # large bars left the small-bar count empty
        pacer.acquire(key(f"S{i % 50}", str(i)))
        pacer.release()
    assert clock.now == 1000.0
    with pytest.raises(PacingViolation, match="60 requests per 10 minutes"):
        pacer.acquire(key("X", "y"), timeout=1.0)
    pacer.acquire(large("X", "y"), timeout=1.0)  # a full small-bar count holds no large bar
    pacer.release()
    assert pacer.wait_counts() == {"ten_minutes": 1}


def test_identical_large_bar_requests_are_not_held_15s_small_ones_are() -> None:
    clock = FakeClock()
    pacer = HistoricalPacer(60, 10, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        pacer.acquire(large("AAPL", "a", 86400))
        pacer.release()
    assert clock.now == 1000.0
    for _ in range(2):
        pacer.acquire(large("AAPL", "b", 30))
        pacer.release()
    assert clock.now - 1000.0 == pytest.approx(15.0)
    assert pacer.wait_counts() == {"identical": 1}


def test_six_large_bar_requests_for_one_contract_in_two_seconds_are_not_held() -> None:
    clock = FakeClock()
    pacer = HistoricalPacer(60, 10, clock=clock, sleep=clock.sleep)
    for i in range(12):
        pacer.acquire(large("AAPL", str(i)))
        pacer.release()
    assert clock.now == 1000.0 and pacer.wait_counts() == {}


def test_the_soft_limit_paces_large_bars_as_configured() -> None:
    """``large_per_second`` 4: a burst of 5 seconds' worth (20) at once, then one every 0.25 s;
    a wait past the timeout raises before anything is sent. Small bars take no token."""
    clock = FakeClock()
    pacer = HistoricalPacer(60, 10, clock=clock, sleep=clock.sleep, large_per_second=4.0)
    stamps = []
    for i in range(40):
        pacer.acquire(large("AAPL", str(i)))
        pacer.release()
        stamps.append(clock.now)
    assert stamps[:20] == [1000.0] * 20
    assert stamps[20:] == pytest.approx([1000.0 + 0.25 * n for n in range(1, 21)])
    assert pacer.wait_counts() == {"soft_limit": 20}
    with pytest.raises(PacingViolation, match="4 requests per second for bars of 1 min or more"):
        pacer.acquire(large("AAPL", "late"), timeout=0.1)
    pacer.acquire(key("AAPL", "small"), timeout=0.1)  # no token needed: sent at once
    pacer.release()
    assert clock.now == stamps[-1]


def test_large_bar_requests_share_the_simultaneous_slots() -> None:
    clock = FakeClock()
    pacer = HistoricalPacer(60, 1, clock=clock, sleep=clock.sleep)
    pacer.acquire(large("A", "1"))
    with pytest.raises(PacingViolation, match="slots"):
        pacer.acquire(large("B", "1"), timeout=0.05)
    assert pacer.wait_counts() == {"slots": 1}


def test_real_time_bars_share_the_small_bar_count_not_the_large_one() -> None:
    """New real-time bar lines count in the ten-minute window with small-bar history; large-bar
    history leaves them all the room."""
    clock = FakeClock()
    pacer = HistoricalPacer(3, 10, clock=clock, sleep=clock.sleep)
    for i in range(10):
        pacer.acquire(large("AAPL", str(i)))
        pacer.release()
    pacer.take_new_streams(2)
    pacer.acquire(key("AAPL", "small"))
    pacer.release()
    with pytest.raises(PacingViolation, match="10 minutes"):
        pacer.take_new_streams(1)


def test_a_small_bar_violation_holds_small_bars_only() -> None:
    """IB refused a 30-second-bar request: its hard rules, which large bars are not under. Small
    bars wait out the hold; 1-minute bars go on."""
    clock = FakeClock()
    pacer = HistoricalPacer(60, 10, clock=clock, sleep=clock.sleep)
    assert pacer.violated(key("AAPL", "a")) == pytest.approx(15.0)
    pacer.acquire(large("MSFT", "x"))
    pacer.release()
    assert clock.now == 1000.0
    pacer.acquire(key("MSFT", "x"))
    pacer.release()
    assert clock.now - 1000.0 == pytest.approx(15.0)
    assert pacer.wait_counts() == {"ib_hold": 1}


def test_a_large_bar_violation_holds_every_request_and_escalates() -> None:
    """IB refused a 1-minute-bar request (its soft limit, whose count IB does not document):
    every history request waits; refused again after the hold, the hold is the whole ten
    minutes, as for small bars. A violation without a key holds everything too."""
    clock = FakeClock()
    pacer = HistoricalPacer(60, 10, clock=clock, sleep=clock.sleep, large_per_second=100.0)
    assert pacer.violated(large("AAPL", "a")) == pytest.approx(15.0)
    pacer.acquire(key("MSFT", "x"))
    pacer.release()
    assert clock.now - 1000.0 == pytest.approx(15.0)
    pacer.acquire(large("MSFT", "y"))
    pacer.release()
    assert pacer.violated(large("MSFT", "y")) == pytest.approx(600.0)
    with pytest.raises(PacingViolation, match="IB reported a pacing violation"):
        pacer.acquire(large("TSLA", "z"), timeout=60.0)
    clock.now += 1200.0
    assert pacer.violated() == pytest.approx(15.0)
    with pytest.raises(PacingViolation, match="IB reported a pacing violation"):
        pacer.acquire(large("TSLA", "z"), timeout=10.0)


def test_a_hold_after_ibs_violation_refuses_new_real_time_bar_lines_until_it_ends() -> None:
    """IB counts new real-time bar lines with small-bar history: during the hold after its 162
    (small bars, or large bars: every request) a new line raises at once, saying how long the
    hold lasts, and counts nothing; the replay's wait covers the hold; after it, a line goes."""
    clock = FakeClock()
    pacer = HistoricalPacer(60, 10, window=600.0, clock=clock, sleep=clock.sleep)
    assert pacer.violated(key("AAPL", "a")) == pytest.approx(15.0)
    clock.now += 5.0
    with pytest.raises(PacingViolation, match="held for another 10.0s"):
        pacer.take_new_streams(1)
    assert pacer.stream_room_in() == pytest.approx(10.0)
    assert len(pacer.window.requests) == 0 and clock.slept == []
    clock.now += 10.0
    pacer.take_new_streams(1)
    assert len(pacer.window.requests) == 1
    assert pacer.violated(large("AAPL", "b")) == pytest.approx(15.0)
    with pytest.raises(PacingViolation, match="held for another 15.0s"):
        pacer.take_new_streams(1)
    clock.now += 15.0
    pacer.take_new_streams(1)


def test_a_refused_real_time_bar_line_holds_the_shared_count_for_the_window() -> None:
    """IB's 420 on a new real-time bar line: the only rule such a line is under is the ten-minute
    count, so new lines and small-bar history wait the whole window; large bars go on. A later 162
    during that hold adds nothing."""
    clock = FakeClock()
    pacer = HistoricalPacer(60, 10, window=600.0, clock=clock, sleep=clock.sleep)
    assert pacer.stream_violated() == pytest.approx(600.0)
    pacer.acquire(large("MSFT", "x"))
    pacer.release()
    assert clock.now == 1000.0
    clock.now += 100.0
    assert pacer.violated(key("MSFT", "y")) == pytest.approx(500.0)
    with pytest.raises(PacingViolation, match="held for another 500.0s"):
        pacer.take_new_streams(1)
    assert pacer.stream_room_in() == pytest.approx(500.0)
    pacer.acquire(key("MSFT", "x"))
    pacer.release()
    assert clock.now == pytest.approx(1600.0)
    assert pacer.wait_counts() == {"ib_hold": 1}
    pacer.take_new_streams(1)


def test_invalid_limits() -> None:
    with pytest.raises(ValueError):
        RateLimiter(0, 1)
    with pytest.raises(ValueError):
        TokenBucket(0, 1)
