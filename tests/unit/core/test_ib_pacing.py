"""IB's small-bar boundary: its hard historical pacing rules cover bars of 30 s or less."""

from __future__ import annotations

import pytest

from platform_adapter.adapters.market.historical_params import BAR_SIZES
from platform_adapter.core.ib_pacing import is_small_bar


@pytest.mark.parametrize(("bar", "small"), [("1 secs", True), ("5 secs", True), ("30 secs", True),
                                            ("1 min", False), ("1 hour", False), ("1 day", False)])
def test_bars_of_30_seconds_or_less_are_small(bar: str, small: bool) -> None:
    assert is_small_bar(BAR_SIZES[bar]) is small


def test_the_boundary_is_30_seconds() -> None:
    assert is_small_bar(30) and not is_small_bar(31)
