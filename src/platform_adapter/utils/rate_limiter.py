"""Pacing: a token bucket for all outgoing messages and IB's historical-data rules.

IB (per its docs) allows 50 client messages per second and 50 simultaneous open historical
requests. Its hard historical rules are for small bars (30 s or less, ``core.ib_pacing``): 60
requests in any ten minutes (a BID_ASK request counts twice), no identical request within 15 s,
at most 5 requests for the same contract, exchange and tick type within 2 s ("six or more" is a
violation). For bars of 1 minute and more IB lifted them, asking for caution only (a soft
limit): those requests keep the 50 slots and a gentle token bucket of their own.
Requests over a limit wait (with a log line) rather than fail, unless the wait would pass the
caller's timeout, which raises :class:`PacingViolation` before anything is sent. When IB answers a
historical request with a pacing violation anyway (it counts requests these stamps do not know:
another process on the account, TWS itself, a restart), :meth:`HistoricalPacer.violated` holds
the requests that may meet the same count until the rules that request may have broken have
cleared; new real-time bar lines, which IB counts with small-bar history, are held with them
(and a refused real-time bar request, IB's 420, holds both: :meth:`HistoricalPacer.stream_violated`).
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from platform_adapter.core.ib_pacing import is_small_bar
from platform_adapter.errors import NotConnected, PacingViolation
from platform_adapter.log import logger

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class RateLimiter:
    """At most ``max_requests`` in any ``time_window`` seconds (sliding window; spec 7.3)."""

    def __init__(self, max_requests: int, time_window: float, *, name: str = "requests",
                 clock: Clock = time.monotonic, sleep: Sleep = time.sleep) -> None:
        if max_requests <= 0 or time_window <= 0:
            raise ValueError("max_requests and time_window must be positive")
        self.max_requests = max_requests
        self.time_window = time_window
        self.name = name
        self.requests: deque[float] = deque()
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self.waits = 0

    def _expire(self, now: float) -> None:
        while self.requests and self.requests[0] <= now - self.time_window:
            self.requests.popleft()

    def can_proceed(self) -> bool:
        """True when one more request now stays within the limit."""
        with self._lock:
            self._expire(self._clock())
            return len(self.requests) < self.max_requests

    def record_request(self, count: int = 1) -> None:
        """Count ``count`` requests made now (IB counts a BID_ASK history request twice)."""
        with self._lock:
            self.requests.extend([self._clock()] * count)

    def wait_time(self, count: int = 1) -> float:
        """Seconds until ``count`` more requests would be allowed (0 when they are allowed now)."""
        with self._lock:
            now = self._clock()
            self._expire(now)
            over = len(self.requests) + min(count, self.max_requests) - self.max_requests
            if over <= 0:
                return 0.0
            return self.requests[over - 1] + self.time_window - now

    def acquire(self, timeout: float | None = None) -> float:
        """Block until a request is allowed, record it, and return the seconds waited."""
        start = self._clock()
        deadline = None if timeout is None else start + timeout
        while True:
            with self._lock:
                now = self._clock()
                self._expire(now)
                if len(self.requests) < self.max_requests:
                    self.requests.append(now)
                    return now - start
                wait = self.requests[0] + self.time_window - now
            if deadline is not None and now + wait > deadline:
                raise PacingViolation(
                    f"{self.name}: limit of {self.max_requests} per {self.time_window:g}s needs a "
                    f"{wait:.1f}s wait, longer than the {timeout:g}s timeout"
                )
            self.waits += 1
            logger.info("pacing {}: {}/{} in {:g}s, waiting {:.2f}s", self.name, self.max_requests,
                        self.max_requests, self.time_window, wait)
            self._sleep(max(wait, 0.001))


class TokenBucket:
    """``rate`` tokens per second, up to ``capacity`` saved: a burst never exceeds
    ``capacity + rate * T`` messages in any T seconds. Taking a token under the limit costs one
    lock round trip and never sleeps."""

    def __init__(self, rate: float, capacity: float, *, name: str = "messages",
                 clock: Clock = time.monotonic, sleep: Sleep = time.sleep) -> None:
        if rate <= 0 or capacity < 1:
            raise ValueError("rate must be > 0 and capacity >= 1")
        self.rate = rate
        self.capacity = capacity
        self.name = name
        self._tokens = float(capacity)
        self._stamp = clock()
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self.waits = 0
        self.enabled = True

    def _refill(self, now: float) -> None:
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def can_proceed(self) -> bool:
        with self._lock:
            self._refill(self._clock())
            return self._tokens >= 1.0

    def record_request(self) -> None:
        with self._lock:
            self._refill(self._clock())
            self._tokens -= 1.0

    def wait_time(self) -> float:
        """Seconds until a token is there to take (0 when one is now); takes none."""
        with self._lock:
            self._refill(self._clock())
            return 0.0 if self._tokens >= 1.0 else (1.0 - self._tokens) / self.rate

    def acquire(self, timeout: float | None = None) -> float:
        """Take one token, waiting if needed; return the seconds waited."""
        if not self.enabled:
            return 0.0
        start = self._clock()
        with self._lock:
            self._refill(start)
            self._tokens -= 1.0
            deficit = -self._tokens
        if deficit <= 0:
            return 0.0
        wait = deficit / self.rate
        if timeout is not None and wait > timeout:
            with self._lock:
                self._tokens += 1.0
            raise PacingViolation(f"{self.name}: {wait:.2f}s wait exceeds the {timeout:g}s timeout")
        self.waits += 1
        if wait > 0.05:
            logger.debug("pacing {}: waiting {:.3f}s", self.name, wait)
        self._sleep(wait)
        return wait


@dataclass(frozen=True, slots=True)
class HistoricalKey:
    """What IB's historical pacing rules look at for one request. ``bar_seconds`` is the bar
    size in seconds; None (not known) is paced as a small bar, under every rule."""

    contract: Hashable
    exchange: str
    what_to_show: str
    identity: Hashable
    bar_seconds: int | None = None

    @property
    def weight(self) -> int:
        """IB: "when BID_ASK historical data is requested, each request is counted twice"."""
        return 2 if self.what_to_show == "BID_ASK" else 1

    @property
    def small(self) -> bool:
        """True when IB's hard rules (ten minutes, identical, per contract) apply to it."""
        return self.bar_seconds is None or is_small_bar(self.bar_seconds)


@dataclass(slots=True)
class _Hold:
    """A hold after IB refused a request for pacing: no request it covers before ``until``."""

    until: float = float("-inf")
    last: float | None = None  # when the last hold began


LARGE_BAR_BURST_SECONDS = 5.0  # the large-bar bucket saves this many seconds' worth of requests


class HistoricalPacer:
    """IB's historical-data pacing rules, applied before a request is sent.

    Every request takes one of ``max_concurrent`` slots. A small-bar request (30 s or less) then
    keeps IB's hard rules: ``max_per_10min`` in ``window`` (IB's ten minutes), none identical
    within ``identical_window`` (15 s), at most ``same_contract_max`` for one contract, exchange
    and tick type within ``same_contract_window`` (2 s). A request for bars of 1 minute or more
    keeps none of them (IB lifted them) but takes a token of ``large_per_second`` (None: no
    limit), IB's soft limit: a burst of up to ``LARGE_BAR_BURST_SECONDS`` worth, then that rate.
    The windows are parameters only so that tests can shorten them with the simulator's."""

    def __init__(self, max_per_10min: int = 60, max_concurrent: int = 50, *,
                 identical_window: float = 15.0, same_contract_max: int = 5,
                 same_contract_window: float = 2.0, window: float = 600.0, clock: Clock = time.monotonic,
                 sleep: Sleep = time.sleep, margin: float = 0.0, large_per_second: float | None = None) -> None:
        # ``margin`` seconds on top of IB's windows: our stamp is taken before the send, the
        # gateway's on receipt, so network jitter must never make two requests look closer.
        self.window = RateLimiter(max_per_10min, window + margin, name="historical requests/10min", clock=clock,
                                  sleep=sleep)
        self._identical_window = identical_window + margin
        self._same_max = same_contract_max
        self._same_window = same_contract_window + margin
        self.large: TokenBucket | None = None
        if large_per_second is not None:
            self.large = TokenBucket(large_per_second, max(1.0, large_per_second * LARGE_BAR_BURST_SECONDS),
                                     name="large-bar historical requests", clock=clock, sleep=sleep)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._identical: dict[Hashable, float] = {}
        self._same: dict[tuple[Hashable, str, str], deque[float]] = {}
        self._slots = threading.BoundedSemaphore(max_concurrent)
        self.max_concurrent = max_concurrent
        self._closed = threading.Event()  # set by close(): paced waits end at once
        self._hold_small = _Hold()  # after IB refused a small-bar request: small-bar requests held
        self._hold_all = _Hold()  # after IB refused a large-bar request: every request held
        self._waits: Counter[str] = Counter()  # pauses per rule (see wait_counts)

    def close(self) -> None:
        """The adapter disconnects: every paced wait ends now with NotConnected (and new ones too,
        until :meth:`open`), instead of sleeping out its wait to find the link gone."""
        self._closed.set()

    def open(self) -> None:
        self._closed.clear()

    def wait_counts(self) -> dict[str, int]:
        """How many times a request paused, per rule: ``slots`` (all 50 busy), ``ib_hold`` (after
        IB's 162 or 420), ``identical``, ``same_contract``, ``ten_minutes`` (small bars only) and
        ``soft_limit`` (bars of 1 minute or more). A request may pause more than once."""
        with self._lock:
            return dict(self._waits)

    def _pause(self, seconds: float) -> None:
        if self._sleep is time.sleep:
            self._closed.wait(seconds)
        else:
            self._sleep(seconds)
        if self._closed.is_set():
            raise NotConnected("disconnected while a historical request waited for its pacing turn")

    def violated(self, key: HistoricalKey | None = None) -> float:
        """IB answered ``key``'s request with a pacing violation (162): it counted requests these
        stamps do not know. Hold the requests that may meet the same count (all threads) and
        return the seconds of the hold from now.

        A small-bar request broke one of IB's hard rules, which do not apply to bars of 1 minute
        or more: small-bar requests are held, large-bar ones go on. A large-bar request met IB's
        soft limit, whose count IB does not document: every request is held. ``key`` None (not
        known) holds every request.

        IB's answer does not say which rule broke. A first violation holds for the short rules'
        windows (an identical request within 15 s, six for one contract within 2 s), which any
        other client's requests leave within that time. A violation of a request sent after such
        a hold ended, within ten minutes of the last violation, means IB's ten-minute count is
        full: the hold is then the whole ten-minute window, when every request IB counted before
        it has left the count. A violation during a hold (a request sent before the hold began)
        adds nothing. The soft limit's holds are the same (a guess on the safe side)."""
        hold = self._hold_small if key is not None and key.small else self._hold_all
        with self._lock:
            now = self._clock()
            if now < hold.until:
                return hold.until - now
            repeat = hold.last is not None and now - hold.last < self.window.time_window
            seconds = self.window.time_window if repeat else max(self._identical_window, self._same_window)
            hold.until = now + seconds
            hold.last = now
            return seconds

    def stream_violated(self) -> float:
        """IB answered a new real-time bar request with a pacing violation (420): the only pacing
        rule real-time bars are under is the ten-minute count they share with small-bar history,
        so that count is full. Hold new real-time bar lines and small-bar history requests for the
        whole ten-minute window from now (large bars go on); return its seconds."""
        with self._lock:
            now = self._clock()
            hold = self._hold_small
            hold.until = max(hold.until, now + self.window.time_window)
            hold.last = now
            return hold.until - now

    def _stream_hold(self, now: float) -> float:
        """Seconds left of a hold that new real-time bar lines keep (they count with small bars)."""
        return max(self._hold_all.until, self._hold_small.until) - now

    def _rule_wait(self, key: HistoricalKey, now: float) -> tuple[float, str, str]:
        """(seconds, rule, reason): the longest wait ``key`` has under the rules for its bar size."""
        wait, rule, why = 0.0, "", ""
        until = max(self._hold_all.until, self._hold_small.until) if key.small else self._hold_all.until
        if now < until:
            wait, rule, why = until - now, "ib_hold", "IB reported a pacing violation"
        if not key.small:
            if wait <= 0 and self.large is not None:
                wait = self.large.wait_time()
                rule, why = "soft_limit", f"{self.large.rate:g} requests per second for bars of 1 min or more"
            return wait, rule, why
        last = self._identical.get(key.identity)
        if last is not None and last + self._identical_window - now > wait:
            wait, rule, why = last + self._identical_window - now, "identical", "identical request within 15 s"
        same = self._same.setdefault((key.contract, key.exchange, key.what_to_show), deque())
        while same and same[0] <= now - self._same_window:
            same.popleft()
        over = len(same) + min(key.weight, self._same_max) - self._same_max
        if over > 0:
            w = same[over - 1] + self._same_window - now
            if w > wait:
                wait, rule = w, "same_contract"
                why = f"{self._same_max} requests for one contract within {self._same_window:g} s"
        if wait <= 0:
            wait, rule, why = self.window.wait_time(key.weight), "ten_minutes", "60 requests per 10 minutes"
        return wait, rule, why

    def _record(self, key: HistoricalKey, now: float) -> None:
        if not key.small:
            if self.large is not None:
                self.large.record_request()
            return
        self.window.record_request(key.weight)
        self._identical[key.identity] = now
        self._same[(key.contract, key.exchange, key.what_to_show)].extend([now] * key.weight)

    def acquire(self, key: HistoricalKey, timeout: float | None = None) -> None:
        """Take a slot, then wait until ``key`` may be sent under every rule and record it.

        Call :meth:`release` when the request has finished (data, end or error). The slot comes
        first: the rules' stamps must be taken when the request is about to be sent, not before a
        wait for a slot (a stamp taken before that wait would let a later identical request, or
        five more for the contract, follow it at the gateway sooner than the rules allow).
        """
        if self._closed.is_set():
            raise NotConnected("the adapter is disconnected")
        start = self._clock()
        deadline = None if timeout is None else start + timeout
        if not self._slots.acquire(blocking=False):
            with self._lock:
                self._waits["slots"] += 1
            if not self._slots.acquire(timeout=timeout):
                raise PacingViolation(f"all {self.max_concurrent} historical request slots stayed busy")
        try:
            self._wait_rules(key, deadline)
        except BaseException:
            self.release()
            raise

    def _wait_rules(self, key: HistoricalKey, deadline: float | None) -> None:
        while True:
            with self._lock:
                now = self._clock()
                wait, rule, why = self._rule_wait(key, now)
                if wait <= 0:
                    self._record(key, now)
                    return
                self._waits[rule] += 1
            if deadline is not None and now + wait > deadline:
                raise PacingViolation(f"historical pacing ({why}) needs {wait:.1f}s, more than the timeout")
            logger.info("historical pacing: {}; waiting {:.1f}s", why, wait)
            self._pause(max(wait, 0.001))

    def take_new_streams(self, count: int) -> None:
        """Count ``count`` new real-time bar requests in the ten-minute window now, or raise
        :class:`PacingViolation` (counting nothing) when it has no room or a hold after IB's
        pacing violation (:meth:`violated`, :meth:`stream_violated`) covers them; never waits.
        IB (realtime_bars): "no more than 60 *new* requests for real time bars can be made in 10
        minutes"; they combine the limitations of top and historical data."""
        with self._lock:
            held = self._stream_hold(self._clock())
            if held > 0:
                raise PacingViolation(
                    f"{count} new real-time bar request(s): IB reported a pacing violation, so new real-time bar "
                    f"and small-bar history requests are held for another {held:.1f}s")
            wait = self.window.wait_time(count) if count <= self.window.max_requests else float("inf")
            if wait > 0:
                raise PacingViolation(
                    f"{count} new real-time bar request(s): IB allows {self.window.max_requests} new historical and "
                    f"real-time bar requests in 10 minutes; room in {wait:.0f}s")
            self.window.record_request(count)

    def stream_room_in(self) -> float:
        """Seconds until one more real-time bar request fits the ten-minute window and no hold
        covers it."""
        with self._lock:
            return max(self.window.wait_time(1), self._stream_hold(self._clock()))

    def release(self) -> None:
        try:
            self._slots.release()
        except ValueError:
            pass
