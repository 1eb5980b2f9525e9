"""IB historical-data parameters: duration strings, bar sizes, ``whatToShow`` values, IB's
step-size table, chunk planning and bar-time parsing.

Everything here is pure (no I/O), so it is checked before anything is sent to IB.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from platform_adapter.errors import ValidationError

# IB's exact bar-size settings, in seconds ("1 month" counts as 30 days).
BAR_SIZES: dict[str, int] = {
    "1 secs": 1, "5 secs": 5, "10 secs": 10, "15 secs": 15, "30 secs": 30,
    "1 min": 60, "2 mins": 120, "3 mins": 180, "5 mins": 300, "10 mins": 600,
    "15 mins": 900, "20 mins": 1200, "30 mins": 1800,
    "1 hour": 3600, "2 hours": 7200, "3 hours": 10800, "4 hours": 14400, "8 hours": 28800,
    "1 day": 86400, "1 week": 7 * 86400, "1 month": 30 * 86400,
}

# whatToShow values that answer with bars (SCHEDULE answers with a different message).
WHAT_TO_SHOW = frozenset({
    "TRADES", "MIDPOINT", "BID", "ASK", "BID_ASK", "ADJUSTED_LAST", "HISTORICAL_VOLATILITY",
    "OPTION_IMPLIED_VOLATILITY", "FEE_RATE", "YIELD_BID", "YIELD_ASK", "YIELD_BID_ASK", "YIELD_LAST",
    "AGGTRADES",
})
REAL_TIME_BAR_WHAT_TO_SHOW = frozenset({"TRADES", "MIDPOINT", "BID", "ASK"})

DAY = 86400
# Seconds per duration unit, as IB's step table (and the simulator) count them.
UNIT_SECONDS = {"S": 1, "D": DAY, "W": 7 * DAY, "M": 30 * DAY, "Y": 365 * DAY}
# IB's own per-request limits on the number in a duration string.
UNIT_MAX = {"S": 86400, "D": 365}
MAX_DURATION_SECONDS = 100 * 365 * DAY  # a longer fetch reaches back past any bar IB keeps
EARLIEST_END_YEAR = 1900  # IB has no bars from before; earlier years do not fit its time format

# IB's "step sizes" table: the longest duration one request may cover for each bar size.
#   60 S: 1 secs-1 min | 120 S: -2 mins | 1800 S: 1 secs-30 mins | 3600 S: 5 secs-1 hour
#   14400 S: 10 secs-3 hours | 28800 S: 30 secs-8 hours | 1 D: 1 min-1 day | 2 D: 2 mins-1 day
#   1 W: 3 mins-1 week | 1 M: 30 mins-1 month | 1 Y: 1 day-1 month
MAX_STEP_SECONDS: dict[str, int] = {
    "1 secs": 1800, "5 secs": 3600, "10 secs": 14400, "15 secs": 14400, "30 secs": 28800,
    "1 min": DAY, "2 mins": 2 * DAY, "3 mins": 7 * DAY, "5 mins": 7 * DAY, "10 mins": 7 * DAY,
    "15 mins": 7 * DAY, "20 mins": 7 * DAY, "30 mins": 30 * DAY, "1 hour": 30 * DAY,
    "2 hours": 30 * DAY, "3 hours": 30 * DAY, "4 hours": 30 * DAY, "8 hours": 30 * DAY,
    "1 day": 365 * DAY, "1 week": 365 * DAY, "1 month": 365 * DAY,
}

_DURATION_RE = re.compile(r"^\s*(\d+)\s+([SDWMY])\s*$")


@dataclass(frozen=True, slots=True)
class Duration:
    """A parsed IB duration string such as ``"2 D"``."""

    amount: int
    unit: str

    @property
    def seconds(self) -> int:
        return self.amount * UNIT_SECONDS[self.unit]

    @property
    def ib_text(self) -> str:
        return f"{self.amount} {self.unit}"

    @property
    def ib_valid(self) -> bool:
        """True when IB accepts this string in one request (S up to 86400, D up to 365)."""
        return self.amount <= UNIT_MAX.get(self.unit, self.amount)


@dataclass(frozen=True, slots=True)
class Chunk:
    """One request of a (possibly split) historical fetch."""

    end: datetime | None
    duration: str

    @property
    def end_text(self) -> str:
        """IB's end-time field: empty for "now", else ``yyyymmdd-hh:mm:ss`` (UTC)."""
        return "" if self.end is None else format_end(self.end)


def parse_duration(value: Any, field: str = "duration") -> Duration:
    """``"N S|D|W|M|Y"`` with N > 0, at most 100 years, or a ValidationError naming ``field``."""
    if not isinstance(value, str):
        raise ValidationError(field, value, "must be a string like '1 D' (units S, D, W, M, Y)")
    match = _DURATION_RE.match(value.upper())
    if not match:
        raise ValidationError(field, value, "must be '<integer> <unit>' with unit S, D, W, M or Y, e.g. '2 D'")
    amount = int(match.group(1))
    if amount <= 0:
        raise ValidationError(field, value, "must be a positive amount")
    duration = Duration(amount, match.group(2))
    if duration.seconds > MAX_DURATION_SECONDS:
        raise ValidationError(field, value, "must not be longer than 100 years")
    return duration


def check_bar_size(value: Any, field: str = "bar_size") -> str:
    """One of IB's bar-size settings (exact spelling, e.g. ``"1 min"``, ``"5 mins"``)."""
    if not isinstance(value, str) or value not in BAR_SIZES:
        hint = ""
        if isinstance(value, str):
            norm = " ".join(value.lower().split())
            near = [b for b in BAR_SIZES if b.rstrip("s") == norm.rstrip("s")]
            hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise ValidationError(field, value, f"must be one of IB's bar sizes {list(BAR_SIZES)}{hint}")
    return value


def check_what_to_show(value: Any, allowed: frozenset[str] = WHAT_TO_SHOW, field: str = "what_to_show") -> str:
    if not isinstance(value, str) or value.upper() not in allowed:
        raise ValidationError(field, value, f"must be one of {sorted(allowed)}")
    return value.upper()


def check_end(value: Any, field: str = "end") -> datetime | None:
    """``None`` (now) or a timezone-aware datetime from ``EARLIEST_END_YEAR`` on, returned in UTC."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise ValidationError(field, value, "must be a timezone-aware datetime or None")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(field, value, "must be timezone-aware (e.g. datetime(..., tzinfo=timezone.utc))")
    try:
        end = value.astimezone(timezone.utc)
    except OverflowError:  # within hours of datetime's first or last instant
        raise ValidationError(field, value, f"must be in {EARLIEST_END_YEAR} or later") from None
    if end.year < EARLIEST_END_YEAR:
        raise ValidationError(field, value, f"must be in {EARLIEST_END_YEAR} or later")
    return end


def format_end(end: datetime) -> str:
    """IB's UTC end-time format ``yyyymmdd-hh:mm:ss``."""
    return end.astimezone(timezone.utc).strftime("%Y%m%d-%H:%M:%S")


def duration_text(seconds: int) -> str:
    """The shortest IB duration string covering ``seconds`` (seconds up to a day, else days)."""
    if seconds <= DAY:
        return f"{max(1, seconds)} S"
    return f"{math.ceil(seconds / DAY)} D"


def is_intraday(bar_size: str) -> bool:
    return BAR_SIZES[bar_size] < DAY


def plan_chunks(duration: Duration, bar_size: str, end: datetime | None, *, now: datetime,
                max_chunk: Duration | None = None) -> list[Chunk]:
    """The requests that fetch ``duration`` of ``bar_size`` bars ending at ``end`` (None = now).

    One request when IB's step table allows it; otherwise chunks walking backwards from ``end``.
    Inner chunk boundaries of intraday bars fall on bar boundaries so no bar is split between two
    requests; the oldest chunk starts where the single request would start. Newest chunk first.
    """
    step = MAX_STEP_SECONDS[bar_size]
    if max_chunk is not None:
        step = min(step, max_chunk.seconds)
    bar = BAR_SIZES[bar_size]
    if duration.seconds <= step and duration.ib_valid:
        return [Chunk(end, duration.ib_text)]
    if bar < DAY:
        step = max(bar, step // bar * bar)
    stop = (end or now).astimezone(timezone.utc).replace(microsecond=0)
    start = stop - timedelta(seconds=duration.seconds)
    chunks: list[Chunk] = []
    cur = stop
    while cur > start:
        lower = max(start, cur - timedelta(seconds=step))
        if lower > start and bar < DAY:
            lower = _ceil_to(lower, bar)
            if lower >= cur:  # cannot happen with step >= bar; guard against a zero-length chunk
                lower = max(start, cur - timedelta(seconds=bar))
        seconds = int((cur - lower).total_seconds())
        chunks.append(Chunk(cur, duration_text(seconds)))
        cur = lower
    return chunks


def range_start(duration: Duration, end: datetime) -> datetime:
    return end - timedelta(seconds=duration.seconds)


def _ceil_to(t: datetime, seconds: int) -> datetime:
    epoch = t.timestamp()
    return datetime.fromtimestamp(math.ceil(epoch / seconds) * seconds, tz=timezone.utc)


def floor_to(t: datetime, seconds: int) -> datetime:
    epoch = t.timestamp()
    return datetime.fromtimestamp(math.floor(epoch / seconds) * seconds, tz=timezone.utc)


def parse_bar_time(text: str, tz_name: str = "") -> datetime:
    """A bar's ``date`` field as a tz-aware UTC datetime.

    * epoch seconds (``formatDate=2``, intraday bars) -> that instant;
    * ``yyyymmdd`` (daily and longer bars, always) -> **00:00 UTC of that session date**: the date
      stays the same whatever the viewer's time zone, and daily frames sort and join cleanly;
    * ``yyyymmdd hh:mm:ss [TZ]`` (``formatDate=1``) -> converted from TZ (else the contract's zone,
      else UTC).
    """
    text = text.strip()
    if text.isdigit() and len(text) != 8:
        return datetime.fromtimestamp(int(text), tz=timezone.utc)
    if len(text) == 8 and text.isdigit():
        d = date(int(text[:4]), int(text[4:6]), int(text[6:]))
        return datetime(d.year, d.month, d.day, tzinfo=timezone.utc)
    parts = text.split()
    stamp = datetime.strptime(" ".join(parts[:2]).replace("-", " "), "%Y%m%d %H:%M:%S")
    zone_name = parts[2] if len(parts) > 2 else tz_name
    try:
        zone = ZoneInfo(zone_name) if zone_name else timezone.utc
    except (ZoneInfoNotFoundError, ValueError):
        zone = timezone.utc
    return stamp.replace(tzinfo=zone).astimezone(timezone.utc)
