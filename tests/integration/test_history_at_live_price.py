"""The simulator's historical bars end at the live price: for every bar size the last bar closes
at the current quote (its last for TRADES, its mid for MIDPOINT), within a tick."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from platform_adapter.facade import PlatformAdapter
from platform_adapter.sim import SimulatedGateway
from platform_adapter.sim.contracts import BY_CONID
from platform_adapter.sim.history import traded_until
from tests.conftest import LOOPBACK, adapter_settings

AAPL = next(spec for spec in BY_CONID.values() if spec.symbol == "AAPL" and spec.sec_type == "STK")
# (duration, bar size): every bar size from seconds to months, each with a duration IB accepts
REQUESTS = [("1800 S", "1 secs"), ("1 D", "1 min"), ("1 D", "5 mins"), ("2 D", "30 mins"), ("1 W", "1 hour"),
            ("1 M", "4 hours"), ("1 Y", "1 day"), ("2 Y", "1 week"), ("2 Y", "1 month")]
SHORT = {"1800 S", "1 D", "2 D"}  # may hold no session at all (a weekend): asked up to the last one


def last_traded(use_rth: bool) -> datetime:
    """Now while AAPL trades (in its regular hours with ``use_rth``), else the end of its last session."""
    return datetime.fromtimestamp(traded_until(AAPL, datetime.now(timezone.utc), use_rth), timezone.utc)


@pytest.fixture(scope="module")
def still_market(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SimulatedGateway, PlatformAdapter]]:
    """A gateway whose random walk stays still (one step an hour), and an adapter on it."""
    tmp: Path = tmp_path_factory.mktemp("history")
    with SimulatedGateway(host=LOOPBACK, port=0, seed=11, tick_interval=3600) as gw:
        pa = PlatformAdapter(settings=adapter_settings(tmp, gw.port, 1), configure_logging=False)
        assert pa.connect()
        try:
            yield gw, pa
        finally:
            pa.disconnect()


@pytest.mark.parametrize(("duration", "bar_size"), REQUESTS)
@pytest.mark.parametrize("use_rth", [True, False])
def test_last_bar_closes_at_the_current_last(still_market: tuple[SimulatedGateway, Any], duration: str,
                                             bar_size: str, use_rth: bool) -> None:
    gw, pa = still_market
    end = last_traded(use_rth) if duration in SHORT else None
    frame = pa.market_data.get_historical_data("AAPL", duration, bar_size, use_rth=use_rth, end=end)
    last = gw.market.quote(AAPL.con_id).last
    assert len(frame) > 0
    assert abs(frame["close"].iloc[-1] - last) <= AAPL.min_tick + 1e-9, (bar_size, frame["close"].iloc[-1], last)


def test_midpoint_bars_close_at_the_current_mid(still_market: tuple[SimulatedGateway, Any]) -> None:
    gw, pa = still_market
    gw.set_price("AAPL", 190.0, bid=189.9, ask=190.3)
    frame = pa.market_data.get_historical_data("AAPL", "1 W", "1 hour", what_to_show="MIDPOINT", use_rth=False)
    assert abs(frame["close"].iloc[-1] - 190.1) <= AAPL.min_tick + 1e-9
    trades = pa.market_data.get_historical_data("AAPL", "1 W", "2 hours", use_rth=False)
    assert abs(trades["close"].iloc[-1] - 190.0) <= AAPL.min_tick + 1e-9
    assert abs(trades["close"].iloc[0] - 190.0) > AAPL.min_tick  # the path before it still moves
