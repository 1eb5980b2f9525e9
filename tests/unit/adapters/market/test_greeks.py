"""OptionGreeks from one tickOptionComputation: IB's "not computed" values (-1 for the volatility,
prices and dividends, -2 for the greeks), its unset double (DBL_MAX), absent and non-finite values
are None; real values, negative deltas and thetas included, are kept."""

from __future__ import annotations

import math

from ibapi.const import UNSET_DOUBLE

from platform_adapter.adapters.market.greeks import GREEKS_TICKS, option_greeks
from platform_adapter.models.market_data import OptionGreeks


def test_real_values_are_kept_in_their_fields() -> None:
    # ibapi's argument order: impliedVol, delta, optPrice, pvDividend, gamma, vega, theta, undPrice
    assert option_greeks(0.25, -0.4, 3.5, 0.12, 0.02, 0.15, -0.03, 101.0) == OptionGreeks(
        implied_vol=0.25, delta=-0.4, gamma=0.02, vega=0.15, theta=-0.03, option_price=3.5,
        underlying_price=101.0, pv_dividend=0.12)


def test_not_computed_and_unset_values_are_none() -> None:
    assert option_greeks(-1.0, -2.0, -1.0, -1.0, -2.0, -2.0, -2.0, -1.0) == OptionGreeks()
    assert option_greeks(None, None, None, None, None, None, None, None) == OptionGreeks()
    unset = UNSET_DOUBLE
    assert option_greeks(unset, unset, unset, unset, unset, unset, unset, unset) == OptionGreeks()
    assert option_greeks(math.nan, math.inf, -math.inf, 0.0, 0.0, 0.0, 0.0, 0.0) == OptionGreeks(
        pv_dividend=0.0, gamma=0.0, vega=0.0, theta=0.0, underlying_price=0.0)
    assert option_greeks(-0.5, 0.5, 1.0, 0.0, 0.1, 0.1, -1.0, 50.0).implied_vol is None  # ibapi: any negative


def test_the_four_kinds_and_their_delayed_twins() -> None:
    assert GREEKS_TICKS == {10: "bid_greeks", 11: "ask_greeks", 12: "last_greeks", 13: "model_greeks",
                            80: "bid_greeks", 81: "ask_greeks", 82: "last_greeks", 83: "model_greeks"}
