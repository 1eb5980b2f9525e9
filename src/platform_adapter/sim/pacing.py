"""IB pacing rules: message rate, historical data pacing, market data lines."""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field

HMDS = "Historical Market Data Service error message:"
TEXT_100 = "Max rate of messages per second has been exceeded:max={max} rec={rec} (1)"
TEXT_101 = "Max number of tickers has been reached"
TEXT_162_PACING = HMDS + "Historical data request pacing violation"
TEXT_420_PACING = "Invalid Real-time Query:Historical data request pacing violation"
PACE_MARGIN = 0.001  # a paced message passes just after the one a second before it left the window


@dataclass
class PacingConfig:
    """Limits; ``enabled=False`` turns every check off (benchmarks)."""

    enabled: bool = True
    max_msgs_per_sec: int = 50
    max_rate_violations: int = 5
    hist_max_requests: int = 60
    hist_window_s: float = 600.0
    hist_identical_window_s: float = 15.0
    hist_same_contract_max: int = 5  # IB: "six or more ... within two seconds" is a violation
    hist_same_contract_window_s: float = 2.0
    max_market_data_lines: int = 100


@dataclass
class PacingStats:
    """Violations counted per client id and rule."""

    violations: Counter[tuple[int, str]] = field(default_factory=Counter)

    def count(self, client_id: int | None = None, rule: str | None = None) -> int:
        """Number of violations, optionally filtered."""
        return sum(n for (cid, r), n in self.violations.items()
                   if (client_id is None or cid == client_id) and (rule is None or r == rule))


class ClientPacer:
    """Per-client message rate tracking (sliding one-second window): a violation for most
    clients, a wait for those that connected with +PACEAPI."""

    def __init__(self, cfg: PacingConfig) -> None:
        self.cfg = cfg
        self.stamps: deque[float] = deque()
        self.violations = 0

    def on_message(self, now: float) -> int | None:
        """Record one incoming message; returns the rate if this message violates the limit."""
        if not self.cfg.enabled:
            return None
        self.stamps.append(now)
        while self.stamps and now - self.stamps[0] > 1.0:
            self.stamps.popleft()
        rate = len(self.stamps)
        if rate > self.cfg.max_msgs_per_sec:
            self.violations += 1
            return rate
        return None

    def pace(self, now: float) -> float:
        """For a client that asked to be paced (+PACEAPI): how long to hold this message so that
        no second holds more than the maximum; the message counts at the time it is let through."""
        if not self.cfg.enabled:
            return 0.0
        while self.stamps and now - self.stamps[0] > 1.0:
            self.stamps.popleft()
        limit = self.cfg.max_msgs_per_sec
        at = now if len(self.stamps) < limit else max(now, self.stamps[-limit] + 1.0 + PACE_MARGIN)
        self.stamps.append(at)
        return at - now

    @property
    def must_disconnect(self) -> bool:
        """True after repeated violations."""
        return self.violations >= self.cfg.max_rate_violations


class HistoricalPacer:
    """Gateway-wide historical request pacing (IB counts per account/session).

    IB's rules ("Pacing Violations for Small Bars (30 secs or less)", tws-api
    historical_limitations): no identical request within 15 s; six or more requests for the same
    contract, exchange and tick type within two seconds is a violation; more than 60 requests in
    any ten minutes; a BID_ASK request is counted twice. The session checks bars of 30 s or less
    only (``core.ib_pacing.is_small_bar``, the adapter's boundary too)."""

    def __init__(self, cfg: PacingConfig) -> None:
        self.cfg = cfg
        self._lock = threading.Lock()
        self._all: deque[float] = deque()
        self._identical: dict[str, float] = {}
        self._by_contract: dict[str, deque[float]] = {}

    def check_new_stream(self, now: float | None = None) -> str | None:
        """A new real-time bar request: IB's realtime_bars page, "no more than 60 *new* requests
        for real time bars can be made in 10 minutes" (they "combine the limitations of both, top
        and historical market data"): counted in the historical requests' ten-minute window."""
        if not self.cfg.enabled:
            return None
        now = time.monotonic() if now is None else now
        with self._lock:
            while self._all and now - self._all[0] > self.cfg.hist_window_s:
                self._all.popleft()
            if len(self._all) + 1 > self.cfg.hist_max_requests:
                return "hist_60_per_10min"
            self._all.append(now)
            return None

    def check(self, identical_key: str, contract_key: str,
              now: float | None = None, weight: int = 1) -> str | None:
        """Returns the violated rule name, or None (and records the request ``weight`` times:
        2 for BID_ASK)."""
        if not self.cfg.enabled:
            return None
        now = time.monotonic() if now is None else now
        c = self.cfg
        with self._lock:
            while self._all and now - self._all[0] > c.hist_window_s:
                self._all.popleft()
            if len(self._all) + weight > c.hist_max_requests:
                return "hist_60_per_10min"
            last = self._identical.get(identical_key)
            if last is not None and now - last < c.hist_identical_window_s:
                return "hist_identical_15s"
            dq = self._by_contract.setdefault(contract_key, deque())
            while dq and now - dq[0] > c.hist_same_contract_window_s:
                dq.popleft()
            if len(dq) + weight > c.hist_same_contract_max:
                return "hist_6_same_contract_2s"
            self._all.extend([now] * weight)
            self._identical[identical_key] = now
            dq.extend([now] * weight)
            return None
