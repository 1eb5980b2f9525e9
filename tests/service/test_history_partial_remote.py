"""Through the service: a long history request that fails part-way raises, at the remote client,
the same error as at the facade, carrying the bars the service's adapter had fetched (the same
frame) and where they start."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pandas as pd
import pytest

from platform_adapter import IBError
from platform_adapter.sim import SimulatedGateway

END = datetime(2026, 11, 25, 20, 0, tzinfo=timezone.utc)  # a Wednesday, 15:00 New York


def test_the_bars_fetched_before_an_ib_error_reach_the_remote_client(gateway: SimulatedGateway, service_factory: Any,
                                                                      remote_factory: Any) -> None:
    served = service_factory(gateway)
    remote = remote_factory(served, "quant")
    full = remote.market_data.get_historical_data("AAPL", "3000 S", "30 secs", end=END, timeout=10.0)
    gateway.fail_next_request("reqHistoricalData", 321, "Error validating request.-'bP' : cause - simulated",
                              after=2)
    with pytest.raises(IBError) as caught:
        remote.market_data.get_historical_data("AAPL", "3000 S", "30 secs", end=END, max_chunk="600 S",
                                               timeout=10.0)
    exc = caught.value
    assert exc.code == 321 and "(2 of 5 requests fetched, 40 bars, before it)" in str(exc)
    assert (exc.partial_start, exc.partial_end) == (END - timedelta(seconds=1200), END)
    assert (exc.chunks_fetched, exc.chunks_total, exc.bars_fetched) == (2, 5, 40)
    assert isinstance(exc.partial, pd.DataFrame)
    pd.testing.assert_frame_equal(exc.partial, full[full.index >= exc.partial_start])
