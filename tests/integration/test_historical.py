"""Historical bars over TCP against the simulated gateway: frames, daily bars, "no data",
chunked fetch equal to one request, validation with nothing sent, and a paced burst."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pandas as pd
import pytest

from platform_adapter.adapters.market.historical import COLUMNS
from platform_adapter.errors import ContractNotFound, ValidationError

pytest.importorskip("platform_adapter.sim.server")

UTC = timezone.utc
END = datetime(2026, 1, 7, 21, 0, tzinfo=UTC)  # Wednesday 16:00 New York, on every bar boundary
SUNDAY = datetime(2026, 1, 4, 12, 0, tzinfo=UTC)


def test_intraday_bars_frame(pa: Any, gateway: Any) -> None:
    df = pa.market_data.get_historical_data("AAPL", "1 D", "5 mins", end=END)
    assert list(df.columns) == COLUMNS
    assert isinstance(df.index, pd.DatetimeIndex) and str(df.index.tz) == "UTC" and df.index.name == "time"
    assert len(df) == 78  # one regular session of 5-minute bars
    assert df.index[0] == pd.Timestamp("2026-01-07 14:30", tz="UTC")
    assert df.index[-1] == pd.Timestamp("2026-01-07 20:55", tz="UTC")
    assert (df["high"] >= df["low"]).all() and (df["volume"] > 0).all()
    assert gateway.stats().received["reqHistoricalData"] == 1


def test_daily_bars_are_indexed_at_midnight_utc(pa: Any) -> None:
    df = pa.market_data.get_historical_data("MSFT", "1 M", "1 day", end=END)
    assert len(df) > 15 and list(df.columns) == COLUMNS
    assert (df.index == df.index.normalize()).all() and str(df.index.tz) == "UTC"
    assert df.index.is_unique and df.index.is_monotonic_increasing


def test_no_data_is_an_empty_frame(pa: Any) -> None:
    df = pa.market_data.get_historical_data("AAPL", "1 D", "5 mins", end=SUNDAY)
    assert df.empty and list(df.columns) == COLUMNS and str(df.index.tz) == "UTC"


def test_chunked_fetch_equals_the_same_range_in_one_request(pa: Any, gateway: Any) -> None:
    md = pa.market_data
    single = md.get_historical_data("SPY", "2 D", "5 mins", end=END, use_rth=False)
    progress: list[tuple[int, int]] = []
    chunked = md.get_historical_data("SPY", "2 D", "5 mins", end=END, use_rth=False, max_chunk="28800 S",
                                     progress=lambda done, total: progress.append((done, total)))
    assert progress == [(i, 6) for i in range(1, 7)]
    assert gateway.stats().received["reqHistoricalData"] == 7
    assert len(single) == 2 * 288
    pd.testing.assert_frame_equal(chunked, single)


def test_longer_than_one_step_is_split_without_gaps(pa: Any, gateway: Any) -> None:
    thursday = datetime(2026, 1, 8, 21, 0, tzinfo=UTC)  # three whole weekdays back
    df = pa.market_data.get_historical_data("MSFT", "3 D", "1 min", end=thursday, use_rth=False)
    assert gateway.stats().received["reqHistoricalData"] == 3
    assert len(df) == 3 * 1440 and df.index.is_unique
    assert (df.index.to_series().diff().dropna() == pd.Timedelta(minutes=1)).all()


@pytest.mark.parametrize("kwargs", [
    {"duration": "2 days"}, {"bar_size": "1 minute"}, {"what_to_show": "LAST"}, {"end": datetime(2026, 1, 7)},
])
def test_bad_arguments_send_nothing(pa: Any, gateway: Any, kwargs: dict[str, Any]) -> None:
    args: dict[str, Any] = {"symbol": "AAPL", "duration": "1 D", "bar_size": "1 min"}
    args.update(kwargs)
    with pytest.raises(ValidationError):
        pa.market_data.get_historical_data(**args)
    pa.contracts.resolve("TSLA")  # a round trip: whatever was sent before has been read
    stats = gateway.stats().received
    assert stats["reqHistoricalData"] == 0 and stats["reqContractDetails"] == 1


def test_unknown_symbol(pa: Any, gateway: Any) -> None:
    with pytest.raises(ContractNotFound):
        pa.market_data.get_historical_data("ZZZZQ", "1 D", "1 min")
    assert gateway.stats().received["reqHistoricalData"] == 0


def test_a_burst_for_one_contract_is_paced_with_zero_violations(pa: Any, gateway: Any) -> None:
    """Eight different requests of 30-second bars for one contract: IB refuses a sixth in two
    seconds for bars of 30 s or less; the pacer waits."""
    md = pa.market_data
    for minutes in range(1, 9):
        md.get_historical_data("TSLA", f"{minutes * 60} S", "30 secs", end=END, use_rth=False)
    stats = gateway.stats()
    assert stats.received["reqHistoricalData"] == 8
    assert stats.pacing.count() == 0
    assert pa.historical.wait_counts().get("same_contract", 0) > 0


CANCELLED = "Historical Market Data Service error message:API historical data query cancelled: 1"


def test_a_query_ib_cancels_is_fetched_again_as_halves(pa: Any, gateway: Any) -> None:
    md = pa.market_data
    # the reference in 16-hour chunks: no request of it repeats one below (IB paces identical ones)
    reference = md.get_historical_data("SPY", "2 D", "5 mins", end=END, use_rth=False, max_chunk="57600 S")
    for _ in range(2):  # the whole query, then its newer half
        gateway.fail_next_request("reqHistoricalData", 162, CANCELLED)
    again = md.get_historical_data("SPY", "2 D", "5 mins", end=END, use_rth=False)
    # 3 for the reference; then the whole (cancelled), the newer half (cancelled), its two quarters,
    # the older half
    assert gateway.stats().received["reqHistoricalData"] == 3 + 5
    assert len(again) == 2 * 288
    pd.testing.assert_frame_equal(again, reference)


def test_a_query_cancelled_at_every_size_raises_a_typed_error(pa: Any, gateway: Any) -> None:
    from platform_adapter.errors import HistoricalQueryCancelled, IBError

    for _ in range(5):
        gateway.fail_next_request("reqHistoricalData", 162, CANCELLED)
    with pytest.raises(HistoricalQueryCancelled, match="query cancelled") as caught:
        pa.market_data.get_historical_data("SPY", "2 D", "5 mins", end=END, use_rth=False)
    assert isinstance(caught.value, IBError) and caught.value.code == 162
    assert gateway.stats().received["reqHistoricalData"] == 3  # whole, a half, a quarter: then it gives up
