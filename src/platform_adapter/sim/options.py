"""Black-Scholes pricing for the simulated option chains: quotes, the greeks of option lines
(tickOptionComputation), option price and implied volatility calculations (calculateOptionPrice,
calculateImpliedVolatility)."""

from __future__ import annotations

import math
from dataclasses import dataclass

RATE = 0.04  # the interest rate every calculation uses
VOL_TOLERANCE = 1e-9  # an implied volatility is found to within this
MIN_TIME = 1.0 / 365.0  # an option on its expiry day is priced with one day left


@dataclass(frozen=True, slots=True)
class Greeks:
    """What tickOptionComputation carries for one calculation."""

    implied_vol: float
    delta: float
    price: float
    pv_dividend: float
    gamma: float
    vega: float
    theta: float
    und_price: float


NOT_COMPUTED = Greeks(implied_vol=-1.0, delta=-2.0, price=-1.0, pv_dividend=-1.0, gamma=-2.0, vega=-2.0,
                      theta=-2.0, und_price=-1.0)  # IB's "not computed" values


def _cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _pdf(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def greeks(call: bool, spot: float, strike: float, years: float, vol: float) -> Greeks:
    """Price and sensitivities of a European option (no dividends); vega and theta per point
    of volatility and per calendar day, as IB reports them."""
    t = max(years, MIN_TIME)
    sq = vol * math.sqrt(t)
    d1 = (math.log(spot / strike) + (RATE + 0.5 * vol * vol) * t) / sq
    d2 = d1 - sq
    disc = math.exp(-RATE * t)
    if call:
        price = spot * _cdf(d1) - strike * disc * _cdf(d2)
        delta = _cdf(d1)
        theta = -spot * _pdf(d1) * vol / (2 * math.sqrt(t)) - RATE * strike * disc * _cdf(d2)
    else:
        price = strike * disc * _cdf(-d2) - spot * _cdf(-d1)
        delta = _cdf(d1) - 1.0
        theta = -spot * _pdf(d1) * vol / (2 * math.sqrt(t)) + RATE * strike * disc * _cdf(-d2)
    return Greeks(implied_vol=vol, delta=delta, price=price, pv_dividend=0.0,
                  gamma=_pdf(d1) / (spot * sq), vega=spot * _pdf(d1) * math.sqrt(t) / 100.0,
                  theta=theta / 365.0, und_price=spot)


def implied_vol(call: bool, price: float, spot: float, strike: float, years: float) -> float | None:
    """The volatility at which the option is worth ``price`` (bisection), or None when no
    volatility between 0.1% and 1000% gives that price."""
    lo, hi = 0.001, 10.0
    if not greeks(call, spot, strike, years, lo).price <= price <= greeks(call, spot, strike, years, hi).price:
        return None
    while hi - lo > VOL_TOLERANCE:
        mid = (lo + hi) / 2
        if greeks(call, spot, strike, years, mid).price < price:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def greeks_at_price(call: bool, price: float, spot: float, strike: float, years: float) -> Greeks:
    """The greeks at the volatility implied by an option price (a bid, ask or last), carrying that
    price; IB's "not computed" values, with the underlying's price, when no volatility fits."""
    vol = implied_vol(call, price, spot, strike, years) if price > 0 and spot > 0 else None
    if vol is None:
        return Greeks(implied_vol=-1.0, delta=-2.0, price=price, pv_dividend=0.0, gamma=-2.0, vega=-2.0,
                      theta=-2.0, und_price=spot)
    g = greeks(call, spot, strike, years, vol)
    return Greeks(implied_vol=vol, delta=g.delta, price=price, pv_dividend=0.0, gamma=g.gamma, vega=g.vega,
                  theta=g.theta, und_price=spot)
