"""The simulator's clock and a contract's sessions (IB's ``tradingHours`` / ``liquidHours``).

IB writes sessions as ``YYYYMMDD:HHMM-YYYYMMDD:HHMM`` (or ``YYYYMMDD:CLOSED``) separated by
``;`` in the contract's time zone. Sessions listed for the days asked about are used as listed;
otherwise the first listed session is a template repeated for every session ending on a weekday
(a stock's 09:30-16:00, a future's or a currency's 17:00 the day before to 16:00).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

WEEKDAYS = range(5)


class SimClock:
    """The simulator's time: the wall clock, shifted by whatever a test set or advanced, running
    ``rate`` times as fast as the wall clock (1 unless told: a day a minute is 1440)."""

    def __init__(self, rate: float = 1.0) -> None:
        self._wall = time.time()  # the wall time at which the clock read ``_at``
        self._at = self._wall
        self.rate = rate

    def now(self) -> float:
        """Seconds since the epoch, simulated."""
        return self._at + (time.time() - self._wall) * self.rate

    def set(self, when: dt.datetime) -> None:
        """Jump to ``when`` (an aware datetime); the clock runs on from there."""
        self._wall, self._at = time.time(), when.timestamp()

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self._at += seconds

    def set_rate(self, rate: float) -> None:
        """Run ``rate`` times as fast as the wall clock from now on."""
        if rate <= 0:
            raise ValueError(f"the clock's rate must be positive, not {rate}")
        self._wall, self._at = time.time(), self.now()
        self.rate = rate


@dataclass(frozen=True, slots=True)
class Session:
    """One session as epoch seconds, [start, end)."""

    start: float
    end: float


@dataclass(frozen=True, slots=True)
class _Listed:
    day: dt.date  # the day the session starts
    start: dt.time
    end_day: dt.date
    end: dt.time


def _parse(hours: str) -> tuple[_Listed, ...]:
    out = []
    for part in hours.split(";"):
        part = part.strip()
        if not part or part.endswith("CLOSED") or "-" not in part:
            continue
        begin, finish = part.split("-", 1)
        out.append(_Listed(_day(begin), _time(begin), _day(finish), _time(finish)))
    return tuple(out)


def _day(stamp: str) -> dt.date:
    return dt.datetime.strptime(stamp[:8], "%Y%m%d").date()


def _time(stamp: str) -> dt.time:
    return dt.datetime.strptime(stamp.split(":", 1)[1], "%H%M").time()


@lru_cache(maxsize=64)
def _listed(hours: str) -> tuple[_Listed, ...]:
    return _parse(hours)


def sessions(hours: str, tz: str, t0: float, t1: float) -> list[Session]:
    """The sessions of ``hours`` (in time zone ``tz``) that overlap [t0, t1], in order."""
    listed = _listed(hours)
    if not listed:
        return []
    zone = ZoneInfo(tz)
    first = dt.datetime.fromtimestamp(t0, zone).date() - dt.timedelta(days=3)
    last = dt.datetime.fromtimestamp(t1, zone).date() + dt.timedelta(days=3)
    explicit = [s for s in listed if first <= s.end_day and s.day <= last]
    if explicit:
        spans = [(dt.datetime.combine(s.day, s.start, zone), dt.datetime.combine(s.end_day, s.end, zone))
                 for s in explicit]
    else:
        model = listed[0]
        span = model.end_day - model.day
        spans = []
        day = first
        while day <= last:
            if day.weekday() in WEEKDAYS:
                spans.append((dt.datetime.combine(day - span, model.start, zone),
                              dt.datetime.combine(day, model.end, zone)))
            day += dt.timedelta(days=1)
    out = [Session(a.timestamp(), b.timestamp()) for a, b in spans]
    return [s for s in sorted(out, key=lambda s: s.start) if s.end >= t0 and s.start <= t1]


def is_open(hours: str, tz: str, t: float) -> bool:
    """True if ``t`` falls in one of the sessions."""
    return any(s.start <= t < s.end for s in sessions(hours, tz, t, t))


def edges(hours: str, tz: str, t0: float, t1: float) -> list[tuple[str, float]]:
    """Each session open ("open") and close ("close") in (t0, t1], in time order."""
    out = []
    for s in sessions(hours, tz, t0, t1):
        out += [(kind, t) for kind, t in (("open", s.start), ("close", s.end)) if t0 < t <= t1]
    return sorted(out, key=lambda e: e[1])


def parse_ib_time(text: str, default_tz: str) -> float | None:
    """Epoch seconds of an IB date-time: ``yyyymmdd hh:mm:ss [time zone]`` or the UTC form
    ``yyyymmdd-hh:mm:ss``; None when it cannot be read."""
    text = text.strip()
    try:
        if len(text) >= 17 and text[8] == "-":
            return dt.datetime.strptime(text[:17], "%Y%m%d-%H:%M:%S").replace(tzinfo=dt.timezone.utc).timestamp()
        local = dt.datetime.strptime(text[:17], "%Y%m%d %H:%M:%S")
        return local.replace(tzinfo=ZoneInfo(text[17:].strip() or default_tz)).timestamp()
    except (ValueError, KeyError):
        return None
