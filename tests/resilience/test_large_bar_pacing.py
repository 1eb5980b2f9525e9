"""IB's hard historical pacing rules are for small bars (30 s or less); for bars of 1 minute and
more IB lifted them (tws-api historical_limitations, footnote 1). Over TCP against the simulator,
which paces small bars only: a burst of 1-minute-bar requests for one contract (identical ones
included) is sent without a pause, while the same number of 5-second-bar requests is paced; the
simulator answers no request with 162.

The windows are shortened at the simulator and in the adapter's pacer alike, so that the small
bars' pacing takes a few seconds. Nothing here is timed: the assertions are on the pacer's
recorded pauses and the simulator's counters."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from platform_adapter.sim import PacingConfig
from platform_adapter.utils.rate_limiter import HistoricalPacer
from tests.resilience.conftest import received

SESSION_END = datetime(2026, 11, 25, 20, 0, tzinfo=timezone.utc)  # a Wednesday, 15:00 New York
LIMIT = 6  # IB's 60 requests per 10 minutes, at the simulator and in the adapter
WINDOW = 3.0  # IB's ten minutes
SHORT = 0.2  # the identical-request and per-contract windows
MARGIN = 0.05
REQUESTS = 12  # twice the count
SOFT_LIMIT = 50.0  # large-bar requests per second (a burst of 250): none of the 12 waits for it


def durations(step: int) -> list[str]:
    """``REQUESTS`` durations of 3 different lengths: identical requests follow each other."""
    return [f"{step * (1 + i % 3)} S" for i in range(REQUESTS)]


def test_one_minute_bars_are_not_paced_by_the_small_bar_rules(sim_factory: Any, adapter_factory: Any) -> None:
    gw = sim_factory(pacing=PacingConfig(hist_max_requests=LIMIT, hist_window_s=WINDOW,
                                         hist_identical_window_s=SHORT, hist_same_contract_window_s=SHORT))
    pa = adapter_factory(gw, **{"market_data.historical_data_max_requests_per_10min": LIMIT,
                                "market_data.historical_large_bar_requests_per_second": SOFT_LIMIT})
    assert pa.historical.large is not None and pa.historical.large.rate == SOFT_LIMIT  # the key reaches the pacer
    pacer = HistoricalPacer(LIMIT, identical_window=SHORT, same_contract_window=SHORT, window=WINDOW,
                            margin=MARGIN, large_per_second=SOFT_LIMIT)
    pa.historical = pa.ctx.historical = pacer
    pa.contracts.resolve("AAPL")
    md = pa.market_data

    small = [md.get_historical_data("AAPL", d, "5 secs", end=SESSION_END, timeout=30.0) for d in durations(120)]
    small_waits = pacer.wait_counts()
    assert small_waits.get("ten_minutes", 0) > 0, small_waits  # 12 in a row, 6 in the window
    assert set(small_waits) <= {"ten_minutes", "identical", "same_contract"}, small_waits

    # the small bars' count is full now; the 1-minute bars are not in it
    large = [md.get_historical_data("AAPL", d, "1 min", end=SESSION_END, timeout=30.0) for d in durations(1800)]
    assert pacer.wait_counts() == small_waits  # not one pause for the 1-minute bars

    assert [len(f) for f in small] == [24 * (1 + i % 3) for i in range(REQUESTS)]
    assert [len(f) for f in large] == [30 * (1 + i % 3) for i in range(REQUESTS)]
    assert received(gw, "reqHistoricalData")["reqHistoricalData"] == 2 * REQUESTS
    assert gw.stats().pacing.count() == 0, gw.stats().pacing.violations
