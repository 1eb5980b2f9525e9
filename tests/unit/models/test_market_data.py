"""Quotes (mid, age), bars and tick records; UTC times from epoch seconds."""

from __future__ import annotations

import time
from datetime import datetime, timezone

from platform_adapter.models.market_data import MarketDataType, Quote, utc_from_epoch


def test_mid_needs_both_sides() -> None:
    assert Quote("AAPL", bid=1.0, ask=2.0).mid == 1.5
    assert Quote("AAPL", bid=1.0).mid is None and Quote("AAPL", ask=1.0).mid is None


def test_age_is_infinite_before_the_first_update() -> None:
    assert Quote("AAPL").age == float("inf")
    q = Quote("AAPL", updated_monotonic=time.monotonic() - 2.0)
    assert 2.0 <= q.age < 60.0
    assert Quote("AAPL", updated_monotonic=time.monotonic() + 5).age == 0.0  # never negative


def test_defaults() -> None:
    q = Quote("AAPL")
    assert (q.stale, q.degraded, q.updates, q.market_data_type) == (False, False, 0, MarketDataType.LIVE)
    assert MarketDataType(3) is MarketDataType.DELAYED


def test_utc_from_epoch() -> None:
    assert utc_from_epoch(0) == datetime(1970, 1, 1, tzinfo=timezone.utc)
    assert utc_from_epoch(1.5).tzinfo is timezone.utc
