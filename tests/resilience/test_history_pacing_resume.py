"""IB refuses a history request for pacing although the adapter paced it: another client on the
account (here a second adapter on the same simulator) spent IB's count. The request waits out the
violation and is sent again, keeping the chunks already fetched; when the retries run out or the
wait cannot fit the timeout, PacingViolation says how far the fetch got and carries its bars.

The simulator's windows are shortened (PacingConfig) and so are the adapter's pacer's, to match:
the waits are the pacer's own holds, a few seconds at most."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pandas as pd
import pytest

from platform_adapter import PacingViolation
from platform_adapter.sim import PacingConfig
from platform_adapter.utils.rate_limiter import HistoricalPacer
from tests.resilience.conftest import received

SESSION_END = datetime(2026, 11, 25, 20, 0, tzinfo=timezone.utc)  # a Wednesday, 15:00 New York
LIMIT = 8  # IB's 60 requests per 10 minutes, at the simulator and in the adapters
SHORT = 0.2  # the identical-request and per-contract windows, where a test shortens them
MARGIN = 0.05
FILLERS = [("MSFT", 600), ("TSLA", 600), ("SPY", 600), ("MSFT", 630), ("TSLA", 630), ("SPY", 630)]


def short_pacer(pa: Any, window: float, identical: float = SHORT, same_contract: float = SHORT) -> HistoricalPacer:
    """Give ``pa`` a history pacer with the simulator's shortened windows (IB's are fixed, so the
    adapter's settings do not offer them)."""
    pacer = HistoricalPacer(LIMIT, identical_window=identical, same_contract_window=same_contract, window=window,
                            margin=MARGIN)
    pa.historical = pa.ctx.historical = pacer
    return pacer


def reference(sim_factory: Any, adapter_factory: Any, duration: str) -> pd.DataFrame:
    """The same bars in one request from an unpaced simulator with the same seed."""
    ref = adapter_factory(sim_factory(pacing=False), client_id=9)
    return ref.market_data.get_historical_data("AAPL", duration, "30 secs", end=SESSION_END, timeout=10.0)


def fill_ibs_count(other: Any) -> None:
    """The second client's six requests (three contracts, so its own pacer never waits): with our
    first two chunks, IB's count of ``LIMIT`` is full."""
    for symbol, seconds in FILLERS:
        other.market_data.get_historical_data(symbol, f"{seconds} S", "30 secs", end=SESSION_END, timeout=5.0)


def kept_newest_two(exc: PacingViolation, full: pd.DataFrame) -> None:
    """The error carries the two chunks fetched: the newest 1200 s of the range, as one request has them."""
    assert (exc.partial_start, exc.partial_end) == (SESSION_END - timedelta(seconds=1200), SESSION_END)
    assert exc.partial is not None
    pd.testing.assert_frame_equal(exc.partial, full[full.index >= exc.partial_start])


def start(sim_factory: Any, adapter_factory: Any, window: float) -> tuple[Any, Any, Any]:
    gw = sim_factory(pacing=PacingConfig(hist_max_requests=LIMIT, hist_window_s=window,
                                         hist_identical_window_s=SHORT, hist_same_contract_window_s=SHORT))
    limit = {"market_data.historical_data_max_requests_per_10min": LIMIT}
    pa = adapter_factory(gw, **limit)
    other = adapter_factory(gw, client_id=2, **limit)
    pa.contracts.resolve("AAPL")
    for symbol in ("MSFT", "TSLA", "SPY"):
        other.contracts.resolve(symbol)
    return gw, pa, other


def test_a_chunked_fetch_refused_part_way_resumes_with_every_bar(sim_factory: Any, adapter_factory: Any) -> None:
    """Five chunks; after the second, another client fills IB's ten-minute count (3 s here). The
    third chunk is refused, waits the short hold, is refused again, waits the whole window and is
    fetched; the frame is the whole range, no bar missing or twice, the first chunks not fetched
    again."""
    window = 3.0
    gw, pa, other = start(sim_factory, adapter_factory, window)
    short_pacer(pa, window)
    done: list[tuple[int, int]] = []

    def progress(i: int, total: int) -> None:
        done.append((i, total))
        if i == 2:
            fill_ibs_count(other)

    frame = pa.market_data.get_historical_data("AAPL", "3000 S", "30 secs", end=SESSION_END, max_chunk="600 S",
                                               progress=progress, timeout=30.0)
    assert gw.stats().pacing.count(client_id=1) == 2, gw.stats().pacing.violations
    assert gw.stats().pacing.count(client_id=2) == 0
    assert done == [(i, 5) for i in range(1, 6)]
    assert received(gw, "reqHistoricalData")["reqHistoricalData"] == 5 + 2 + len(FILLERS)  # chunk 3 sent 3 times
    assert len(frame) == 100 and frame.index.is_unique and frame.index.is_monotonic_increasing
    assert (frame.index.to_series().diff().dropna() == pd.Timedelta(seconds=30)).all()
    pd.testing.assert_frame_equal(frame, reference(sim_factory, adapter_factory, "3000 S"))


def test_a_single_request_refused_once_is_sent_again_after_the_short_hold(sim_factory: Any,
                                                                          adapter_factory: Any) -> None:
    """A single request refused because another client sent five for the contract within 2 s is
    sent again once the contract's window has passed (2.05 s), not after ten minutes."""
    gw = sim_factory(pacing=PacingConfig(hist_identical_window_s=SHORT))
    pa = adapter_factory(gw)
    other = adapter_factory(gw, client_id=2)
    short_pacer(pa, 600.0, same_contract=2.0)
    for adapter in (pa, other):
        adapter.contracts.resolve("AAPL")
    for seconds in range(630, 780, 30):  # five for AAPL: the other client's pacer lets them go at once
        other.market_data.get_historical_data("AAPL", f"{seconds} S", "30 secs", end=SESSION_END, timeout=5.0)
    started = time.monotonic()
    frame = pa.market_data.get_historical_data("AAPL", "600 S", "30 secs", end=SESSION_END, timeout=10.0)
    assert gw.stats().pacing.count(client_id=1) == 1, gw.stats().pacing.violations
    assert received(gw, "reqHistoricalData")["reqHistoricalData"] == 5 + 2
    assert time.monotonic() - started >= 2.0 + MARGIN - 0.01  # the hold: the 2 s window and the margin
    pd.testing.assert_frame_equal(frame, reference(sim_factory, adapter_factory, "600 S"))


def test_retries_exhausted_raise_what_was_fetched(sim_factory: Any, adapter_factory: Any) -> None:
    """IB's count stays full for a minute, longer than this adapter's pacer believes (its window
    0.3 s: as after a restart that lost its memory). The third chunk is refused three times; the
    PacingViolation says IB's code and how far the fetch got."""
    gw, pa, other = start(sim_factory, adapter_factory, 60.0)
    short_pacer(pa, 0.3)
    done: list[tuple[int, int]] = []

    def progress(i: int, total: int) -> None:
        done.append((i, total))
        if i == 2:
            fill_ibs_count(other)

    with pytest.raises(PacingViolation) as caught:
        pa.market_data.get_historical_data("AAPL", "3000 S", "30 secs", end=SESSION_END, max_chunk="600 S",
                                           progress=progress, timeout=30.0)
    exc = caught.value
    assert (exc.code, exc.chunks_fetched, exc.chunks_total, exc.bars_fetched) == (162, 2, 5, 40)
    assert "pacing violation, again after 2 waits" in str(exc)
    assert "2 of 5 requests fetched, 40 bars" in str(exc)
    kept_newest_two(exc, reference(sim_factory, adapter_factory, "3000 S"))
    assert done == [(1, 5), (2, 5)]
    assert gw.stats().pacing.count(client_id=1) == 3, gw.stats().pacing.violations
    assert received(gw, "reqHistoricalData")["reqHistoricalData"] == 2 + 3 + len(FILLERS)


def test_a_hold_past_the_timeout_raises_at_once(sim_factory: Any, adapter_factory: Any) -> None:
    """With IB's real windows in the pacer, the hold after a violation is 15 s; a fetch with 5 s
    left raises PacingViolation at the violation (nothing more sent), naming IB's refusal, the
    wait and what was fetched."""
    gw, pa, other = start(sim_factory, adapter_factory, 60.0)
    pa.contracts.resolve("AAPL")

    def progress(i: int, total: int) -> None:
        if i == 2:
            fill_ibs_count(other)

    started = time.monotonic()
    with pytest.raises(PacingViolation) as caught:
        pa.market_data.get_historical_data("AAPL", "3000 S", "30 secs", end=SESSION_END, max_chunk="600 S",
                                           progress=progress, timeout=5.0)
    assert time.monotonic() - started < 5.0
    exc = caught.value
    assert (exc.code, exc.chunks_fetched, exc.chunks_total, exc.bars_fetched) == (162, 2, 5, 40)
    assert "IB reported a pacing violation" in str(exc) and "more than the timeout" in str(exc)
    kept_newest_two(exc, reference(sim_factory, adapter_factory, "3000 S"))
    assert gw.stats().pacing.count(client_id=1) == 1
    assert received(gw, "reqHistoricalData")["reqHistoricalData"] == 3 + len(FILLERS)
