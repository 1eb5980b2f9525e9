"""Trading sessions from a contract's hours: the answer to whatToShow SCHEDULE, and the times
historical ticks fall in."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from .contracts import ContractSpec
from .info_types import Session

STAMP = "%Y%m%d-%H:%M:%S"  # how IB writes a schedule's times (in the contract's time zone)
# The simulated calendar: no history before EARLIEST, no session after LATEST (a request may name
# any date IB's format can write, from year 1 to 9999; a day's arithmetic at either end of that
# range leaves Python's calendar)
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
LATEST = dt.datetime(9999, 12, 1, tzinfo=dt.timezone.utc)


def back_from(end: dt.datetime, seconds: float) -> dt.datetime:
    """The start of a period of ``seconds`` that ends at ``end``, not before EARLIEST (``end``
    itself, an empty period, when that is before EARLIEST), whatever the period's length."""
    if end <= EARLIEST:
        return end
    return end - dt.timedelta(seconds=seconds) if seconds < (end - EARLIEST).total_seconds() else EARLIEST


@dataclass(frozen=True, slots=True)
class TradingSession:
    """One session: its start and end instants and the trading day it counts for."""

    start: dt.datetime
    end: dt.datetime
    ref_date: dt.date

    def as_session(self) -> Session:
        return Session(self.start.strftime(STAMP), self.end.strftime(STAMP), self.ref_date.strftime("%Y%m%d"))


def _hours(spec: ContractSpec, use_rth: bool) -> tuple[dt.time, dt.time, bool]:
    """(open, close, opens the day before) from hours written as IB writes a model day, e.g.
    '20240101:0930-20240101:1600' or, overnight, '20240101:1700-20240102:1600'."""
    first, second = (spec.liquid_hours if use_rth else spec.trading_hours).split("-")
    d1, t1 = first.split(":")
    d2, t2 = second.split(":")
    return (dt.time(int(t1[:2]), int(t1[2:])), dt.time(int(t2[:2]), int(t2[2:])), d2 > d1)


def sessions(spec: ContractSpec, start: dt.datetime, end: dt.datetime, use_rth: bool) -> list[TradingSession]:
    """The sessions of the weekdays whose session overlaps [start, end]."""
    start, end = max(start, EARLIEST), min(end, LATEST)
    if start >= end:
        return []
    zone = ZoneInfo(spec.time_zone)
    opens, closes, overnight = _hours(spec, use_rth)
    out = []
    day = start.astimezone(zone).date() - dt.timedelta(days=1)
    while day <= end.astimezone(zone).date() + dt.timedelta(days=1):
        if day.weekday() < 5:
            first = day - dt.timedelta(days=1) if overnight else day
            s = dt.datetime.combine(first, opens, zone)
            e = dt.datetime.combine(day, closes, zone)
            if e > start and s < end:
                out.append(TradingSession(s, e, day))
        day += dt.timedelta(days=1)
    return out
