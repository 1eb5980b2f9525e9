"""New real-time bar lines count in IB's ten-minute window with small-bar history. When IB shows
that its count is fuller than the adapter's (another client on the account spent it), the hold
the adapter starts after a history request's 162 covers new bar lines too: a subscribe call
during the hold raises PacingViolation with nothing sent.

The simulator's ten-minute window is shortened (PacingConfig) and so is the adapter's pacer's, to
match: the holds are a few seconds."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from platform_adapter import PacingViolation
from platform_adapter.sim import PacingConfig
from platform_adapter.utils.rate_limiter import HistoricalPacer
from tests.conftest import Recorder, wait_for
from tests.resilience.conftest import received

SESSION_END = datetime(2026, 11, 25, 20, 0, tzinfo=timezone.utc)  # a Wednesday, 15:00 New York
WINDOW = 3.0  # IB's ten minutes, at the simulator and in the adapter's pacer
SHORT = 0.2  # the identical-request and per-contract windows
MARGIN = 0.05
FILLERS = [("MSFT", 600), ("TSLA", 600), ("SPY", 600), ("MSFT", 630), ("TSLA", 630), ("SPY", 630)]


def start(sim_factory: Any, adapter_factory: Any, limit: int) -> tuple[Any, Any, Any, HistoricalPacer]:
    """The simulator with IB's count of ``limit``, our adapter (its pacer with the simulator's
    windows) and another client on the account."""
    gw = sim_factory(pacing=PacingConfig(hist_max_requests=limit, hist_window_s=WINDOW,
                                         hist_identical_window_s=SHORT, hist_same_contract_window_s=SHORT),
                     rt_bar_interval=0.2)
    config = {"market_data.historical_data_max_requests_per_10min": limit}
    pa = adapter_factory(gw, **config)
    other = adapter_factory(gw, client_id=2, **config)
    pacer = HistoricalPacer(limit, identical_window=SHORT, same_contract_window=SHORT, window=WINDOW, margin=MARGIN)
    pa.historical = pa.ctx.historical = pacer
    pa.contracts.resolve("AAPL")
    for symbol in ("MSFT", "TSLA", "SPY"):
        other.contracts.resolve(symbol)
    return gw, pa, other, pacer


def fill_ibs_count(other: Any, count: int = len(FILLERS)) -> None:
    """The other client's small-bar requests (three contracts: its own pacer never waits)."""
    for symbol, seconds in FILLERS[:count]:
        other.market_data.get_historical_data(symbol, f"{seconds} S", "30 secs", end=SESSION_END, timeout=5.0)


def test_a_162_hold_refuses_new_bar_lines_until_it_ends(sim_factory: Any, adapter_factory: Any) -> None:
    """The other client fills IB's count; our history request is refused twice (162), the second
    time holding the whole window, longer than the call's timeout. A bar subscription during that
    hold raises at once, nothing sent; once the hold is over (IB's count has emptied), it streams."""
    gw, pa, other, pacer = start(sim_factory, adapter_factory, len(FILLERS))
    fill_ibs_count(other)
    with pytest.raises(PacingViolation) as refused:
        pa.market_data.get_historical_data("AAPL", "600 S", "30 secs", end=SESSION_END, timeout=1.0)
    assert refused.value.code == 162
    assert gw.stats().pacing.count(client_id=1) == 2, gw.stats().pacing.violations
    bars, errors = Recorder(), Recorder()
    with pytest.raises(PacingViolation, match=r"IB reported a pacing violation.*held for another \d+\.\ds") as held:
        pa.market_data.subscribe_real_time_bars("AAPL", bars, on_error=errors)
    assert held.value.code is None
    assert pa.connection.round_trip(5.0)
    assert received(gw, "reqRealTimeBars")["reqRealTimeBars"] == 0
    assert pa.market_data.stats()["lines"] == 0
    wait_for(lambda: pacer.stream_room_in() == 0, timeout=WINDOW + 2)
    pa.market_data.subscribe_real_time_bars("AAPL", bars, on_error=errors)
    bars.wait(1, timeout=5)
    assert received(gw, "reqRealTimeBars")["reqRealTimeBars"] == 1
    assert gw.stats().pacing.count(client_id=1) == 2 and errors.calls == []
