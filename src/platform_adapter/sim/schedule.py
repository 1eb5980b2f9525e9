"""Trading sessions from a contract's hours: the answer to whatToShow SCHEDULE, and the times
historical ticks fall in."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from .contracts import ContractSpec
from .info_types import Session

STAMP = "%Y%m%d-%H:%M:%S"  # how IB writes a schedule's times (in the contract's time zone)


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
