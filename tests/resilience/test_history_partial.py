"""A long history request that fails part-way keeps what it fetched: the error carries the newest
chunks' bars as the frame the call would have returned for that range, and where that range
starts, so the caller asks only for the rest. Over TCP against the simulator: IB's error for a
chunk, the link dropping, the gateway going silent past the call's timeout."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pandas as pd
import pytest

from platform_adapter import IBError, NotConnected, PlatformAdapter, RequestTimeout
from platform_adapter.sim import SimulatedGateway
from tests.resilience.conftest import received, wait_disconnected

END = datetime(2026, 11, 25, 20, 0, tzinfo=timezone.utc)  # a Wednesday, 15:00 New York
RANGE = "3000 S"  # five 600-second chunks of 30-second bars: 100 bars
CHUNK = "600 S"
VALIDATING = "Error validating request.-'bP' : cause - simulated"
CANCELLED = "Historical Market Data Service error message:API historical data query cancelled: 1"


def whole(gw: SimulatedGateway, pa: PlatformAdapter) -> pd.DataFrame:
    """The range in one request."""
    frame = pa.market_data.get_historical_data("AAPL", RANGE, "30 secs", end=END, timeout=10.0)
    assert len(frame) == 100 and received(gw, "reqHistoricalData")["reqHistoricalData"] == 1
    return frame


def check_partial(exc: Any, full: pd.DataFrame) -> None:
    """Two chunks fetched, the third failed: the newest 20 minutes, exactly as the whole fetch has them."""
    assert (exc.partial_start, exc.partial_end) == (END - timedelta(seconds=1200), END)
    assert (exc.chunks_fetched, exc.chunks_total, exc.bars_fetched) == (2, 5, 40)
    assert exc.partial.index.is_unique and exc.partial.index.is_monotonic_increasing
    pd.testing.assert_frame_equal(exc.partial, full[full.index >= exc.partial_start])


def test_an_ib_error_on_the_third_chunk_keeps_the_first_two_and_the_rest_completes_them(
        sim_factory: Any, adapter_factory: Any) -> None:
    gw = sim_factory(pacing=False)
    pa = adapter_factory(gw)
    full = whole(gw, pa)
    gw.fail_next_request("reqHistoricalData", 321, VALIDATING, after=2)
    with pytest.raises(IBError) as caught:
        pa.market_data.get_historical_data("AAPL", RANGE, "30 secs", end=END, max_chunk=CHUNK, timeout=10.0)
    exc = caught.value
    assert exc.code == 321 and "(2 of 5 requests fetched, 40 bars, before it)" in str(exc)
    check_partial(exc, full)
    # the rest: from the range's start to where the partial frame starts
    missing = int((exc.partial_start - (END - timedelta(seconds=3000))).total_seconds())
    rest = pa.market_data.get_historical_data("AAPL", f"{missing} S", "30 secs", end=exc.partial_start, timeout=10.0)
    joined = pd.concat([rest, exc.partial])
    assert joined.index.is_unique
    pd.testing.assert_frame_equal(joined, full)
    assert received(gw, "reqHistoricalData")["reqHistoricalData"] == 1 + 3 + 1


def test_a_link_dropped_after_two_chunks_raises_not_connected_with_them(sim_factory: Any,
                                                                         adapter_factory: Any) -> None:
    gw = sim_factory(pacing=False)
    pa = adapter_factory(gw, **{"ib_connection.auto_reconnect": False})
    full = whole(gw, pa)

    def progress(done: int, total: int) -> None:
        if done == 2:
            gw.drop_all_connections()
            wait_disconnected(pa)

    with pytest.raises(NotConnected) as caught:
        pa.market_data.get_historical_data("AAPL", RANGE, "30 secs", end=END, max_chunk=CHUNK, progress=progress,
                                           timeout=10.0)
    check_partial(caught.value, full)
    assert received(gw, "reqHistoricalData")["reqHistoricalData"] == 1 + 2


def test_a_gateway_silent_past_the_timeout_raises_request_timeout_with_what_it_had(
        sim_factory: Any, adapter_factory: Any) -> None:
    gw = sim_factory(pacing=False)
    pa = adapter_factory(gw)
    full = whole(gw, pa)

    def progress(done: int, total: int) -> None:
        if done == 2:
            gw.freeze()

    try:
        with pytest.raises(RequestTimeout) as caught:
            pa.market_data.get_historical_data("AAPL", RANGE, "30 secs", end=END, max_chunk=CHUNK,
                                               progress=progress, timeout=3.0)
    finally:
        gw.thaw()
    check_partial(caught.value, full)


def test_the_newer_half_of_a_chunk_ib_cancelled_is_kept_when_the_older_half_fails(
        sim_factory: Any, adapter_factory: Any) -> None:
    """IB cancels the third chunk's query; the adapter fetches it as halves, newer first; IB
    refuses the older half. The error keeps the two chunks and the newer half: 50 bars."""
    gw = sim_factory(pacing=False)
    pa = adapter_factory(gw)
    full = whole(gw, pa)
    gw.fail_next_request("reqHistoricalData", 162, CANCELLED, after=2)
    gw.fail_next_request("reqHistoricalData", 321, VALIDATING, after=1)
    with pytest.raises(IBError) as caught:
        pa.market_data.get_historical_data("AAPL", RANGE, "30 secs", end=END, max_chunk=CHUNK, timeout=10.0)
    exc = caught.value
    assert exc.code == 321 and (exc.chunks_fetched, exc.chunks_total, exc.bars_fetched) == (2, 5, 50)
    assert (exc.partial_start, exc.partial_end) == (END - timedelta(seconds=1500), END)
    pd.testing.assert_frame_equal(exc.partial, full[full.index >= exc.partial_start])
    assert received(gw, "reqHistoricalData")["reqHistoricalData"] == 1 + 5
