"""Historical bars: IB validation rules, date formats, determinism, keepUpToDate."""

from __future__ import annotations

import datetime as dt

import pytest

from platform_adapter.sim import SimulatedGateway
from platform_adapter.sim.contracts import BY_CONID
from platform_adapter.sim.history import HistoryError, HistRequest, bars

from .conftest import AAPL
from .test_faults import ready

NOW = dt.datetime(2026, 11, 25, 21, 0, tzinfo=dt.timezone.utc)
SPEC = BY_CONID[265598]


def req(dur: str, size: str, end: str = "", fmt: int = 1, rth: bool = False,
        keep: bool = False) -> HistRequest:
    return HistRequest(end, size, dur, rth, "TRADES", fmt, keep)


@pytest.mark.parametrize("dur,size,code", [
    ("1 D", "1 secs", 162), ("1 Y", "1 hour", 162), ("1 W", "1 min", 162),
    ("400 D", "1 day", 162), ("90000 S", "1 min", 162),
    ("1 D", "7 mins", 321), ("1 X", "1 min", 321), ("D 1", "1 min", 321),
])
def test_invalid_combinations(dur: str, size: str, code: int) -> None:
    with pytest.raises(HistoryError) as e:
        bars(SPEC, 1, req(dur, size), NOW)
    assert e.value.code == code
    if code == 162:
        assert e.value.text.startswith("Historical Market Data Service error message:")


@pytest.mark.parametrize("dur,size", [("60 S", "1 secs"), ("3600 S", "5 secs"), ("1 D", "1 min"),
                                      ("2 D", "2 mins"), ("1 W", "3 mins"), ("1 M", "30 mins"),
                                      ("1 Y", "1 day"), ("2 Y", "1 week"), ("5 Y", "1 month")])
def test_every_unit_and_size_deterministic(dur: str, size: str) -> None:
    a, _, _ = bars(SPEC, 1, req(dur, size, "20261125 16:00:00 US/Eastern"), NOW)
    b, _, _ = bars(SPEC, 1, req(dur, size, "20261125-21:00:00"), NOW)
    assert a and a == b
    assert all(lo <= min(o, c) and h >= max(o, c) for _, o, h, lo, c, *_ in a)


def test_format_dates() -> None:
    intraday, start, end = bars(SPEC, 1, req("1 D", "1 hour", fmt=2), NOW)
    assert intraday[0][0].isdigit() and len(intraday[0][0]) == 10
    assert end == "20261125 16:00:00 US/Eastern"
    daily, _, _ = bars(SPEC, 1, req("5 D", "1 day", fmt=2), NOW)
    assert all(len(b[0]) == 8 for b in daily)
    rth, _, _ = bars(SPEC, 1, req("1 D", "30 mins", "20261125 16:00:00 US/Eastern", rth=True), NOW)
    assert rth[0][0] == "20261125 09:30:00 US/Eastern" and len(rth) == 13


def test_bad_end_format_321() -> None:
    with pytest.raises(HistoryError) as e:
        bars(SPEC, 1, req("1 D", "1 hour", "2026-11-25"), NOW)
    assert e.value.code == 321


def test_keep_up_to_date_over_tcp(gateway: SimulatedGateway, raw) -> None:  # type: ignore[no-untyped-def]
    c = raw(1)
    ready(c)
    c.send(20, 5, *AAPL, 0, "", "1 min", "1800 S", 0, "TRADES", 2, 1, "")
    c.wait_for(lambda m: m[0] == "17" and m[1] == "5")
    upd = c.wait_for(lambda m: m[0] == "90" and m[1] == "5")
    assert int(upd[3]) % 60 == 0
    c.send(25, 1, 5)
    c.send(20, 6, *AAPL, 0, "bad end", "1 min", "1800 S", 0, "TRADES", 1, 0, "")
    assert c.wait_error(321)[2] == "6"
