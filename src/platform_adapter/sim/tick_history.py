"""Historical ticks and histograms on each contract's deterministic historical price path, with
IB's limits (at most 1000 ticks, one of start and end, TRADES / BID_ASK / MIDPOINT)."""

from __future__ import annotations

import datetime as dt
import math
import random
import re
from collections import Counter
from collections.abc import Iterator

from .contracts import ContractSpec
from .history import HistoryError, live_price
from .info_types import BidAskTick, LastTick, Tick
from .market import round_tick, stable_seed
from .schedule import back_from, sessions

MAX_TICKS = 1000
TICK_TYPES = ("TRADES", "BID_ASK", "MIDPOINT")
# The simulator's own texts, in the form of IB's other request validation errors (code 321).
TEXT_BAD_TICKS_REQUEST = "Error validating request.-'cB' : cause - {what}"
HISTOGRAM_PERIOD = re.compile(r"\s*(\d+)\s+(day|week|month|year)s?\s*", re.IGNORECASE)
PERIOD_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}
MAX_SAMPLES = 50_000  # a histogram's price samples at most (half a year of 5-minute samples)

def _invalid(what: str) -> HistoryError:
    return HistoryError(321, TEXT_BAD_TICKS_REQUEST.format(what=what))


def _lot(spec: ContractSpec) -> int:
    return 100 if spec.sec_type == "STK" else 1


def _times(spec: ContractSpec, start: dt.datetime | None, end: dt.datetime | None, count: int, use_rth: bool,
           now: dt.datetime) -> list[int]:
    """Tick times (epoch seconds) in trading sessions: forward from start, or back from end."""
    step = 1 if spec.sec_type == "CASH" else 2
    if start is not None:
        start = min(start, now)  # a start after now has no ticks yet
        window = sessions(spec, start, min(now, start + dt.timedelta(days=10)), use_rth)
        found: Iterator[int] = (t for s in window for t in range(int(max(s.start, start).timestamp()),
                                                                 int(min(s.end, now).timestamp()), step))
        return [t for _, t in zip(range(count), found, strict=False)]
    assert end is not None
    end = min(end, now)
    window = sessions(spec, back_from(end, 10 * 86400), end, use_rth)
    back = (t for s in reversed(window) for t in range(int(min(s.end, end).timestamp()) - 1,
                                                       int(s.start.timestamp()) - 1, -step))
    return sorted(t for _, t in zip(range(count), back, strict=False))


def tick_times(spec: ContractSpec, start: dt.datetime | None, end: dt.datetime | None, count: int,
               what_to_show: str, use_rth: bool, now: dt.datetime) -> list[int]:
    """The times of the ticks reqHistoricalTicks returns; HistoryError for a request IB refuses."""
    if what_to_show not in TICK_TYPES:
        raise _invalid(f"Invalid whatToShow for historical ticks: '{what_to_show}'")
    if (start is None) == (end is None):
        raise _invalid("Exactly one of the start and end date/times must be given")
    if not 0 < count <= MAX_TICKS:
        raise _invalid(f"numberOfTicks must be between 1 and {MAX_TICKS}: {count}")
    return _times(spec, start, end, count, use_rth, now)


def _rng(spec: ContractSpec, seed: int, t: int) -> random.Random:
    return random.Random(stable_seed(seed, f"{spec.symbol}:tick:{t}"))


def midpoint_ticks(spec: ContractSpec, seed: int, times: list[int]) -> list[Tick]:
    return [Tick(t, round(live_price(spec, seed, t) - spec.min_tick / 2, 10)) for t in times]


def bid_ask_ticks(spec: ContractSpec, seed: int, times: list[int]) -> list[BidAskTick]:
    out = []
    for t in times:
        ask, rng = live_price(spec, seed, t), _rng(spec, seed, t)
        out.append(BidAskTick(t, 0, round_tick(ask - spec.min_tick, spec.min_tick), ask,
                              _lot(spec) * rng.randint(1, 20), _lot(spec) * rng.randint(1, 20)))
    return out


def trade_ticks(spec: ContractSpec, seed: int, times: list[int]) -> list[LastTick]:
    exchange = spec.primary_exchange or spec.exchange
    return [LastTick(t, 0, live_price(spec, seed, t), _lot(spec) * _rng(spec, seed, t).randint(1, 5), exchange)
            for t in times]


def histogram(spec: ContractSpec, seed: int, time_period: str, use_rth: bool,
              now: dt.datetime) -> list[tuple[float, float]]:
    """reqHistogramData: volume by price over the period up to now, from 5-minute samples."""
    m = HISTOGRAM_PERIOD.fullmatch(time_period or "")
    if not m or int(m.group(1)) <= 0:
        raise _invalid(f"Invalid time period for histogram data: '{time_period}'")
    start = back_from(now, int(m.group(1)) * PERIOD_DAYS[m.group(2).lower()] * 86400)
    width = max(spec.min_tick, round_tick(spec.base_price * 0.002, spec.min_tick))
    volume: Counter[float] = Counter()
    # a sample every 5 minutes, farther apart over a period so long that there would be more than
    # MAX_SAMPLES (the gateway holds its lock meanwhile: "50 years" took minutes)
    step = 300 * max(1, math.ceil((now - start).total_seconds() / 300 / MAX_SAMPLES))
    for s in sessions(spec, start, now, use_rth):
        for t in range(int(max(s.start, start).timestamp()), int(min(s.end, now).timestamp()), step):
            level = round_tick(live_price(spec, seed, t), width)
            volume[level] += _lot(spec) * random.Random(stable_seed(seed, f"{spec.symbol}:h:{t}")).randint(1, 50)
    return sorted(volume.items())
