"""An option line's greeks: the tickOptionComputation tick types a quote keeps, and the
:class:`OptionGreeks` built from one tick with IB's "not computed" values as ``None``."""

from __future__ import annotations

import math

from ibapi.const import UNSET_DOUBLE
from ibapi.ticktype import TickTypeEnum

from platform_adapter.models.market_data import OptionGreeks

# tickOptionComputation tick types -> Quote field (live ids and their delayed twins)
GREEKS_TICKS: dict[int, str] = {
    TickTypeEnum.BID_OPTION_COMPUTATION: "bid_greeks", TickTypeEnum.ASK_OPTION_COMPUTATION: "ask_greeks",
    TickTypeEnum.LAST_OPTION_COMPUTATION: "last_greeks", TickTypeEnum.MODEL_OPTION: "model_greeks",
    TickTypeEnum.DELAYED_BID_OPTION: "bid_greeks", TickTypeEnum.DELAYED_ASK_OPTION: "ask_greeks",
    TickTypeEnum.DELAYED_LAST_OPTION: "last_greeks", TickTypeEnum.DELAYED_MODEL_OPTION: "model_greeks",
}
NOT_COMPUTED_PRICE = -1.0  # IB's "not computed" implied volatility, prices and dividends
NOT_COMPUTED_GREEK = -2.0  # IB's "not computed" delta, gamma, vega and theta


def _value(raw: float | None, sentinel: float) -> float | None:
    """``raw`` as a float; None for None, IB's sentinel, its unset double (DBL_MAX) or a non-finite value."""
    if raw is None:
        return None
    value = float(raw)
    if value == sentinel or value == UNSET_DOUBLE or not math.isfinite(value):
        return None
    return value


def option_greeks(implied_vol: float | None, delta: float | None, option_price: float | None,
                  pv_dividend: float | None, gamma: float | None, vega: float | None, theta: float | None,
                  underlying_price: float | None) -> OptionGreeks:
    """The values of one tickOptionComputation (in ibapi's argument order) with every "not
    computed" or unset value as None (ibapi already maps most -1/-2 values; DBL_MAX it keeps)."""
    iv = _value(implied_vol, NOT_COMPUTED_PRICE)
    return OptionGreeks(
        implied_vol=None if iv is None or iv < 0 else iv,
        delta=_value(delta, NOT_COMPUTED_GREEK), gamma=_value(gamma, NOT_COMPUTED_GREEK),
        vega=_value(vega, NOT_COMPUTED_GREEK), theta=_value(theta, NOT_COMPUTED_GREEK),
        option_price=_value(option_price, NOT_COMPUTED_PRICE),
        underlying_price=_value(underlying_price, NOT_COMPUTED_PRICE),
        pv_dividend=_value(pv_dividend, NOT_COMPUTED_PRICE))
