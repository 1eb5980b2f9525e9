"""reqExecutions' time filter is an instant: "yyyymmdd hh:mm:ss zone", without a zone in the
gateway's zone, or "yyyymmdd-hh:mm:ss" in UTC, compared with the executions' times (which IB gives
in US/Eastern). Before, the texts were compared as strings, so a filter in UTC left out
executions made after it (their Eastern time reads hours earlier)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
from ibapi.client import EClient
from ibapi.contract import Contract
from ibapi.execution import ExecutionFilter
from ibapi.order import Order

from platform_adapter.sim import SimulatedGateway
from tests.sim.ibapi_recorder import IbapiRecorder, stock_client

VERSIONS = [176, 226]
NAMES = ("nextValidId", "managedAccounts", "orderStatus", "execDetails", "execDetailsEnd")
FILLED_AT = dt.datetime(2026, 12, 4, 15, 0, tzinfo=dt.timezone.utc)  # 10:00:00 US/Eastern


@contextmanager
def filled_at(server_version: int) -> Iterator[tuple[SimulatedGateway, EClient, IbapiRecorder]]:
    """A gateway (in UTC) and a client with one execution, made at FILLED_AT (the clock stopped
    there: rate tiny)."""
    with SimulatedGateway(server_version=server_version, tick_interval=3600, conn_time_tz="UTC") as gw:
        gw.set_price("AAPL", 190.0)
        gw.set_clock(FILLED_AT, trading_hours=False)
        gw.engine.clock.set_rate(1e-9)
        with stock_client(gw.port, 3, NAMES) as (c, w):
            k = Contract()
            k.symbol, k.secType, k.exchange, k.currency = "AAPL", "STK", "SMART", "USD"
            o = Order()
            o.action, o.orderType, o.totalQuantity = "BUY", "MKT", Decimal(10)
            order_id = w.calls["nextValidId"][0][0]
            c.placeOrder(order_id, k, o)
            w.wait(lambda calls: any(s[0] == order_id and s[1] == "Filled" for s in calls["orderStatus"]))
            yield gw, c, w


@pytest.fixture(params=VERSIONS, ids=[f"v{v}" for v in VERSIONS])
def filled(request: pytest.FixtureRequest) -> Iterator[tuple[EClient, IbapiRecorder]]:
    """A client with one execution, made at FILLED_AT (the clock stopped there: rate tiny)."""
    with filled_at(request.param) as (gw, c, w):
        yield c, w


@pytest.mark.parametrize(("since", "found"), [
    ("20261204 09:59:00 US/Eastern", True),
    ("20261204 10:01:00 US/Eastern", False),
    ("20261204 14:59:00 UTC", True),
    ("20261204 15:01:00 UTC", False),
    ("20261204-14:59:00", True),  # UTC
    ("20261204-15:01:00", False),
    ("20261204 14:59:00", True),  # the gateway's zone (UTC here)
    ("20261204 15:01:00", False),
])
def test_the_time_filter_compares_instants(filled: tuple[EClient, IbapiRecorder], since: str, found: bool) -> None:
    c, w = filled
    f = ExecutionFilter()
    f.time = since
    c.reqExecutions(21, f)
    w.wait(lambda calls: (21,) in calls["execDetailsEnd"])
    got = [e for e in w.calls["execDetails"] if e[0] == 21]
    assert bool(got) == found, (since, got)
    if got:
        assert got[0][2].time == "20261204 10:00:00 US/Eastern"


@pytest.fixture(params=[200, 226], ids=["v200-text", "v226-protobuf"])
def filled_days_ago(request: pytest.FixtureRequest) -> Iterator[tuple[EClient, IbapiRecorder]]:
    """A client with one execution made on 2026-12-04 (UTC, the gateway's zone), the gateway's
    clock then moved to 2026-12-06."""
    with filled_at(request.param) as (gw, c, w):
        gw.set_clock(FILLED_AT + dt.timedelta(days=2, hours=8), trading_hours=False)  # 12-06 23:00
        yield c, w


@pytest.mark.parametrize(("last_n_days", "dates", "found"), [
    (None, None, True),  # unset: no filter
    (0, None, True),  # 0: no filter
    (1, None, False),  # today (12-06) only
    (2, None, False),  # 12-05 and 12-06
    (3, None, True),  # 12-04 to 12-06
    (None, [20261204], True),
    (None, [20261205, 20261206], False),
    (None, [20261203, 20261204], True),
    (3, [20261205], False),  # both must hold
    (1, [20261204], False),
])
def test_last_n_days_and_specific_dates_pick_the_days(
        filled_days_ago: tuple[EClient, IbapiRecorder], last_n_days: int | None, dates: list[int] | None,
        found: bool) -> None:
    c, w = filled_days_ago
    f = ExecutionFilter()
    if last_n_days is not None:
        f.lastNDays = last_n_days
    f.specificDates = dates
    c.reqExecutions(22, f)
    w.wait(lambda calls: (22,) in calls["execDetailsEnd"])
    got = [e for e in w.calls["execDetails"] if e[0] == 22]
    assert bool(got) == found, (last_n_days, dates, got)
