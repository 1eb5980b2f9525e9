"""Deterministic historical bars with IB's validation rules and error texts."""

from __future__ import annotations

import datetime as dt
import math
import random
import re
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

from .contracts import ContractSpec
from .market import round_tick, stable_seed
from .schedule import EARLIEST, back_from

BAR_SIZES: dict[str, int] = {
    "1 secs": 1, "5 secs": 5, "10 secs": 10, "15 secs": 15, "30 secs": 30,
    "1 min": 60, "2 mins": 120, "3 mins": 180, "5 mins": 300, "10 mins": 600,
    "15 mins": 900, "20 mins": 1200, "30 mins": 1800, "1 hour": 3600, "2 hours": 7200,
    "3 hours": 10800, "4 hours": 14400, "8 hours": 28800, "1 day": 86400,
    "1 week": 7 * 86400, "1 month": 30 * 86400,
}
UNIT_SECONDS = {"S": 1, "D": 86400, "W": 7 * 86400, "M": 30 * 86400, "Y": 365 * 86400}
WHAT_TO_SHOW = {"TRADES", "MIDPOINT", "BID", "ASK", "BID_ASK", "ADJUSTED_LAST",
                "HISTORICAL_VOLATILITY", "OPTION_IMPLIED_VOLATILITY", "FEE_RATE", "SCHEDULE"}
# (max duration seconds, smallest bar size allowed) from IB's "step sizes" table
STEP_TABLE = ((60, 1), (120, 1), (1800, 1), (3600, 5), (14400, 10), (28800, 30),
              (86400, 60), (2 * 86400, 120), (7 * 86400, 180), (31 * 86400, 1800),
              (366 * 86400, 86400))
HMDS = "Historical Market Data Service error message:"
TEXT_BAD_WHAT_TO_SHOW = "Error validating request.-'bP' : cause - Validation failed: Invalid whatToShow: '{what}'"
Bar = tuple[str, float, float, float, float, float, float, int]
ANCHOR_FADE_SECONDS = 3600.0
"""How fast the bend towards the live price fades into the past (1/e per hour)."""
LIVE_SLACK_SECONDS = 60.0


def no_data_text(spec: ContractSpec, exchange: str, what_to_show: str) -> str:
    """IB's error 162 text for a window without bars, e.g. "...:HMDS query returned no data:
    AAPL@SMART Trades" (IB sends it instead of an empty historicalData answer)."""
    return f"{HMDS}HMDS query returned no data: {spec.local_symbol or spec.symbol}@{exchange or spec.exchange} " \
           + what_to_show.replace("_", " ").title().replace(" ", "_")


class HistoryError(Exception):
    """A request IB would answer with an error (code, text)."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


@dataclass
class HistRequest:
    """Parsed reqHistoricalData parameters."""

    end: str
    bar_size: str
    duration: str
    use_rth: bool
    what_to_show: str
    format_date: int
    keep_up_to_date: bool


def parse_duration(text: str) -> int:
    """'N U' -> seconds; raises HistoryError(321)."""
    m = re.fullmatch(r"\s*(\d+)\s+([SDWMY])\s*", text or "")
    if not m or int(m.group(1)) <= 0:
        raise HistoryError(321, "Error validating request.-'bX' : cause - Historical data "
                                f"query duration format is invalid: '{text}'")
    n, unit = int(m.group(1)), m.group(2)
    if unit == "S" and n > 86400:
        raise HistoryError(162, HMDS + "Historical data request for durations longer than "
                                       "86400 seconds must be made in days.")
    if unit == "D" and n > 365:
        raise HistoryError(162, HMDS + "Historical data requests for durations longer than "
                                       "365 days must be made in years.")
    return n * UNIT_SECONDS[unit]


def parse_end(text: str, now: dt.datetime) -> dt.datetime:
    """Accepts '', 'yyyymmdd hh:mm:ss TZ', 'yyyymmdd-hh:mm:ss' (UTC), 'yyyymmdd hh:mm:ss'."""
    text = (text or "").strip()
    if not text:
        return now
    try:
        if re.fullmatch(r"\d{8}-\d\d:\d\d:\d\d", text):
            return dt.datetime.strptime(text, "%Y%m%d-%H:%M:%S").replace(tzinfo=dt.timezone.utc)
        m = re.fullmatch(r"(\d{8}) (\d\d:\d\d:\d\d)(?: (\S+))?", text)
        if m:
            base = dt.datetime.strptime(m.group(1) + m.group(2), "%Y%m%d%H:%M:%S")
            return base.replace(tzinfo=ZoneInfo(m.group(3)) if m.group(3) else dt.timezone.utc)
        if re.fullmatch(r"\d{8}", text):
            return dt.datetime.strptime(text, "%Y%m%d").replace(tzinfo=dt.timezone.utc)
    except (ValueError, KeyError):
        pass
    raise HistoryError(321, "Error validating request.-'bP' : cause - End date/time: "
                            f"Invalid date format: '{text}'")


def validate(req: HistRequest) -> tuple[int, int]:
    """Returns (duration seconds, bar seconds) or raises HistoryError with IB's code/text."""
    if req.bar_size not in BAR_SIZES:
        raise HistoryError(321, "Error validating request.-'bP' : cause - Historical data bar "
                                f"size setting is invalid: '{req.bar_size}'")
    if req.what_to_show not in WHAT_TO_SHOW:
        raise HistoryError(321, TEXT_BAD_WHAT_TO_SHOW.format(what=req.what_to_show))
    if req.format_date not in (1, 2):
        raise HistoryError(321, "Error validating request.-'bP' : cause - Invalid formatDate")
    dur = parse_duration(req.duration)
    bar = BAR_SIZES[req.bar_size]
    smallest = 86400
    for max_dur, min_bar in STEP_TABLE:
        if dur <= max_dur:
            smallest = min_bar
            break
    if bar < smallest:
        raise HistoryError(162, HMDS + "Time length exceed max.")
    if req.keep_up_to_date and req.end.strip():
        raise HistoryError(321, "Error validating request.-'bP' : cause - End date not "
                                "supported with live updates")
    return dur, bar


@lru_cache(maxsize=256)
def _path_params(symbol: str, seed: int) -> tuple[float, ...]:
    r = random.Random(stable_seed(seed, symbol + ":path"))
    return (r.uniform(2e5, 9e5), r.uniform(2e4, 9e4), r.uniform(900, 5000),
            r.uniform(0, 6.28), r.uniform(0, 6.28), r.uniform(0, 6.28))


def _price(spec: ContractSpec, seed: int, t: float) -> float:
    """Smooth deterministic price path as a function of time."""
    p1, p2, p3, a, b, cph = _path_params(spec.symbol, seed)
    x = (0.06 * math.sin(t / p1 + a) + 0.02 * math.sin(t / p2 + b)
         + 0.004 * math.sin(t / p3 + cph))
    return spec.base_price * (1 + x)


def _is_open(spec: ContractSpec, t: dt.datetime, use_rth: bool, daily: bool) -> bool:
    local = t.astimezone(ZoneInfo(spec.time_zone))
    if local.weekday() >= 5:
        return False
    if daily or not use_rth or spec.sec_type != "STK":
        return True
    minutes = local.hour * 60 + local.minute
    return 570 <= minutes < 960


def bars(spec: ContractSpec, seed: int, req: HistRequest, now: dt.datetime,
         tz: str = "US/Eastern", anchor: float | None = None) -> tuple[list[Bar], str, str]:
    """Generate bars; returns (bars, startDateStr, endDateStr).

    A request that reaches the last moment the contract traded (now in a session, else the end of
    its last session; ``LIVE_SLACK_SECONDS`` allow for a client's whole-second end) gets the bar
    in progress at that moment too, up to it, as IB does. With ``anchor`` (the contract's current
    price) the path is bent towards it so that it passes through ``anchor`` at that moment:
    history ends where the live quote is, for every bar size (the market's random walk and the
    smooth path drift apart otherwise). The bend fades with the distance from that moment
    (``ANCHOR_FADE_SECONDS``), so bars more than a few hours older stay as they always were."""
    dur, bar = validate(req)
    # absolute-time arithmetic; an end before the simulated history is its first moment (no bars)
    end = max(parse_end(req.end, now), EARLIEST).astimezone(dt.timezone.utc)
    start = back_from(end, dur)
    daily = bar >= 86400
    live = traded_until(spec, now, req.use_rth)
    cut = min(end.timestamp(), live)
    gap = 0.0 if anchor is None else anchor - _price(spec, seed, live)
    zone = ZoneInfo(tz)
    out: list[Bar] = []
    tick = spec.min_tick
    reaches_live = end.timestamp() >= live - LIVE_SLACK_SECONDS
    for t in _slots(spec, req, start, end, bar, daily, in_progress=reaches_live):
        times = [min(t + bar * k / 4, cut) for k in range(5)]
        samples = [_price(spec, seed, x) + gap * math.exp((x - live) / ANCHOR_FADE_SECONDS) for x in times]
        o, c = samples[0], samples[-1]
        h, lo = max(samples), min(samples)
        o, c, h, lo = (round_tick(v, tick) for v in (o, c, h, lo))
        h, lo = max(h, o, c), min(lo, o, c)
        r = random.Random(stable_seed(seed, f"{spec.symbol}:{int(t)}"))
        count = r.randint(1, 50) * max(1, bar // 60)
        vol = count * (100 if spec.sec_type == "STK" else 1)
        wap = round((o + h + lo + c) / 4, 6)
        if req.what_to_show in ("MIDPOINT", "BID", "ASK", "BID_ASK"):
            vol, count, wap = -1, -1, -1.0
        if daily:
            date = dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y%m%d")
        elif req.format_date == 2:
            date = str(int(t))
        else:
            date = dt.datetime.fromtimestamp(t, zone).strftime("%Y%m%d %H:%M:%S") + " " + tz
        out.append((date, o, h, lo, c, float(vol), wap, int(count)))
    fmt = "%Y%m%d %H:%M:%S"
    s = start.astimezone(zone).strftime(fmt) + " " + tz
    e = end.astimezone(zone).strftime(fmt) + " " + tz
    return out, s, e


def traded_until(spec: ContractSpec, now: dt.datetime, use_rth: bool) -> float:
    """The last moment up to ``now`` at which the contract traded: ``now`` in a session, else the
    end of the last session (sessions start and end on local half hours)."""
    if _is_open(spec, now, use_rth, False):
        return now.timestamp()
    t = math.floor(now.timestamp() / 1800) * 1800
    for _ in range(8 * 48):  # a week and a day of half hours
        if _is_open(spec, dt.datetime.fromtimestamp(t - 1, dt.timezone.utc), use_rth, False):
            return float(t)
        t -= 1800
    return now.timestamp()


def _slots(spec: ContractSpec, req: HistRequest, start: dt.datetime, end: dt.datetime, bar: int,
           daily: bool, in_progress: bool) -> list[int]:
    """The start times of the bars between ``start`` and ``end`` (sessions only; with
    ``in_progress`` the bar in progress at ``end`` too)."""
    t0 = math.floor(start.timestamp() / bar) * bar if not daily else \
        math.floor(start.timestamp() / 86400) * 86400
    step = bar if bar <= 86400 else 86400
    out: list[int] = []
    t = t0
    while t < end.timestamp():
        ts = dt.datetime.fromtimestamp(t, dt.timezone.utc)
        last_ok = end.timestamp() + (86400 if daily else 0)
        if (not in_progress and t + bar > last_ok) or t < start.timestamp() - step:
            t += step
            continue
        if not _is_open(spec, ts, req.use_rth, daily):
            t += step
            continue
        if bar > 86400 and out and int(t // bar) == int((t - step) // bar):
            t += step  # weekly/monthly: only emit at period boundaries
            continue
        out.append(t)
        t += step
    return out


def live_price(spec: ContractSpec, seed: int, t: float) -> float:
    """Price on the historical path at time t (for keepUpToDate updates)."""
    return round_tick(_price(spec, seed, t), spec.min_tick)
