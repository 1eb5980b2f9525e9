"""The stream watchdog: one check for a frozen gateway and for a stream a data farm flap left dead.

While streams are active it looks at each one every ``SAMPLE_SECONDS`` and learns its rhythm
(the usual gap between its updates). A stream silent beyond ``RHYTHM_FACTOR`` times its rhythm
(and at least ``monitoring.stream_silence_min_seconds``) makes the ConnectionManager probe the
gateway at once (``reqCurrentTime``, :meth:`ConnectionManager.probe`):

- no answer and nothing read: the gateway is frozen with the socket open; the link is dropped
  and the reconnect restores every stream (``core/lifecycle.py``);
- answered: the gateway is alive but the stream is not (a data farm flapped: 2103/2105 ->
  2104/2106, 2119 -> 2104, or IB called the farm inactive after, 2108/2107: it is OK, idle): the
  silent streams are resubscribed. A stream resubscribed again and again without flowing (a quiet
  market) waits twice as long each time.

A stream is not judged while a farm that feeds it is broken or connecting (IB says so), and its
silence counts from the farm's OK; no stream is judged while the link (to the gateway, or the
gateway's to IB) is down and its streams not yet requested again, and silence counts from then.
A stream that never delivered has no rhythm and is not judged. Without streams nothing is
probed here: the health check's interval applies.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from loguru import logger

from platform_adapter.adapters.market.lines import LineBook
from platform_adapter.adapters.market.subscriptions import SubKind, Subscription
from platform_adapter.core import ib_codes
from platform_adapter.core.connection_manager import Probe

SAMPLE_SECONDS = 0.25
RHYTHM_FACTOR = 3.0
RHYTHM_DECAY = 0.8  # a long gap is learned at once; shorter ones bring the rhythm down slowly
MARKET_FARM, HMDS_FARM = "market data", "HMDS"
# farm codes -> (the farm kind, down?): a market data farm feeds quotes and tick-by-tick data, an
# HMDS farm real-time bars (IB reports their errors as HMDS errors)
FARM_CODES: dict[int, tuple[str, bool]] = {2103: (MARKET_FARM, True), 2119: (MARKET_FARM, True),
                                           2104: (MARKET_FARM, False), 2108: (MARKET_FARM, False),
                                           2105: (HMDS_FARM, True), 2106: (HMDS_FARM, False),
                                           2107: (HMDS_FARM, False)}
FEEDS = {SubKind.QUOTES: MARKET_FARM, SubKind.TICKS: MARKET_FARM, SubKind.BARS: HMDS_FARM}


@dataclass
class Watch:
    """What the watchdog knows of one stream."""

    seen: float = 0.0  # the stream's last update when last looked at
    rhythm: float = 0.0  # the usual gap between its updates (0: not learned yet)
    flowing: int = 0  # updates seen since it was last resubscribed
    misses: int = 0  # resubscribes since it last flowed


class StreamWatchdog:
    """Judges the silence of every stream (see the module docstring)."""

    def __init__(self, lines: LineBook, probe: Callable[[str], Probe],
                 resubscribe: Callable[[list[Subscription]], None], min_silence: float,
                 now: Callable[[], float] = time.monotonic, watching: Callable[[], bool] = lambda: True) -> None:
        self.lines = lines
        self._watching = watching
        self._probe = probe
        self._resubscribe = resubscribe
        self.min_silence = min_silence
        self._now = now
        self._watches: dict[Subscription, Watch] = {}
        self._down: dict[str, set[str]] = {MARKET_FARM: set(), HMDS_FARM: set()}  # farm kind -> farms down
        self._ok_at: dict[str, float] = {MARKET_FARM: 0.0, HMDS_FARM: 0.0}  # farm kind -> last OK
        self._resumed_at = 0.0  # when watching last resumed
        self._paused = False
        self.resubscribed = 0

    def farm(self, code: int, farm: str) -> None:
        """A farm reported broken, connecting or OK."""
        if code not in FARM_CODES:
            return
        kind, down = FARM_CODES[code]
        with self.lines.lock:
            if down:
                self._down[kind].add(farm)
                return
            if code in ib_codes.FARM_INACTIVE and farm not in self._down[kind]:
                return  # an idle farm (2107/2108) that was not down: nothing changed for its streams
            self._down[kind].discard(farm)
            self._ok_at[kind] = self._now()
            for sub, watch in self._watches.items():
                if FEEDS[sub.kind] == kind:
                    watch.misses = 0

    def reset(self) -> None:
        """A new link: the farms are reported again."""
        with self.lines.lock:
            for farms in self._down.values():
                farms.clear()

    def limit(self, sub: Subscription) -> float:
        """How long ``sub`` may stay silent now (inf before its rhythm is known)."""
        watch = self._watches.get(sub)
        if watch is None or not watch.rhythm:
            return float("inf")
        return max(self.min_silence, RHYTHM_FACTOR * watch.rhythm) * 2 ** watch.misses

    def check(self) -> list[Subscription]:
        """One look at every stream; probe when one is silent. Returns the streams resubscribed."""
        now = self._now()
        if not self._watching():
            self._paused = True
            return []
        if self._paused:
            self._paused, self._resumed_at = False, now
        silent: list[Subscription] = []
        with self.lines.lock:
            watches = {sub: self._watches.get(sub) or Watch() for sub in self.lines.all() if sub.active}
            self._watches = watches
            for sub, watch in watches.items():
                feed = FEEDS[sub.kind]
                since = max(sub.started, self._ok_at[feed], self._resumed_at)
                last = sub.last_update
                if last > watch.seen:
                    if watch.seen >= since:  # a gap between two updates of one subscription
                        gap = last - watch.seen
                        watch.rhythm = max(gap, RHYTHM_DECAY * watch.rhythm + (1 - RHYTHM_DECAY) * gap)
                    watch.seen = last
                    watch.flowing += 1
                    if watch.flowing >= 2:
                        watch.misses = 0
                if not self._down[feed] and now - max(last, since) > self.limit(sub):
                    silent.append(sub)
        if not silent:
            return []
        what = ", ".join(f"{sub.kind.value} {sub.key}" for sub in silent[:3]) + ("..." if len(silent) > 3 else "")
        found = self._probe(f"{what} went silent")
        if found is not Probe.ANSWERED:
            return []  # busy: looked at again next time; dead: the reconnect restores every stream
        logger.warning("{} silent beyond its rhythm while the gateway answers (a data farm flap?): resubscribing",
                       what)
        with self.lines.lock:
            for sub in silent:
                watch = self._watches[sub]
                watch.misses += 1
                watch.flowing = 0
        self._resubscribe(silent)
        self.resubscribed += len(silent)
        return silent

    def run(self, stop: threading.Event) -> None:
        """Check every ``SAMPLE_SECONDS`` until ``stop`` is set."""
        while not stop.wait(SAMPLE_SECONDS):
            try:
                self.check()
            except Exception:  # noqa: BLE001 - the watchdog must keep watching
                logger.opt(exception=True).error("stream watchdog check failed")
