"""Seeded deterministic random-walk market for a contract universe; option quotes follow their
underlying through Black-Scholes."""

from __future__ import annotations

import datetime as dt
import math
import random
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from ibapi.ticktype import TickTypeEnum

from .contracts import UNIVERSE, ContractSpec
from .options import Greeks, greeks, greeks_at_price

# IB tick types the simulator sends (live ones; core/tick_types.DELAYED_TWIN has their delayed twins)
T = TickTypeEnum
BID, ASK, LAST, HIGH, LOW, VOLUME, CLOSE, OPEN = T.BID, T.ASK, T.LAST, T.HIGH, T.LOW, T.VOLUME, T.CLOSE, T.OPEN
LAST_TIMESTAMP = T.LAST_TIMESTAMP
BID_GREEKS, ASK_GREEKS = T.BID_OPTION_COMPUTATION, T.ASK_OPTION_COMPUTATION  # tickOptionComputation
LAST_GREEKS, MODEL_GREEKS = T.LAST_OPTION_COMPUTATION, T.MODEL_OPTION


def stable_seed(seed: int, key: str) -> int:
    """Seed derived from the gateway seed and a key, stable across runs."""
    return (seed * 1_000_003) ^ zlib.crc32(key.encode())


def round_tick(price: float, tick: float) -> float:
    """Round a price to the contract's tick grid."""
    return round(round(price / tick) * tick, 10)


def on_tick(price: float, tick: float) -> bool:
    """True if price is a multiple of tick (never for a price too large to count in ticks)."""
    steps = price / tick
    return math.isfinite(steps) and abs(steps - round(steps)) < 1e-6


@dataclass
class Quote:
    """Current top of book and day statistics for one contract."""

    bid: float
    ask: float
    last: float
    bid_size: float
    ask_size: float
    last_size: float
    volume: float
    high: float
    low: float
    close: float
    open: float
    last_time: int
    traded: bool = False

    @property
    def mid(self) -> float:
        """Mid price."""
        return (self.bid + self.ask) / 2


class Market:
    """Random walk per contract; call ``step()`` to advance every quote once. Options are not
    walked: their quotes are priced from the underlying's when asked for."""

    def __init__(self, seed: int = 1, contracts: Iterable[ContractSpec] = ()) -> None:
        self.seed = seed
        self._rng: dict[int, random.Random] = {}
        self.quotes: dict[int, Quote] = {}
        self.specs: dict[int, ContractSpec] = {c.con_id: c for c in (contracts or UNIVERSE)}
        self.steps = 0
        self._derived: dict[int, tuple[int, Quote]] = {}  # option conId -> (step, quote)
        self._greeks: dict[tuple[int, int], tuple[int, Greeks]] = {}  # (conId, tick type) -> (step, greeks)
        seeded: set[str] = set()
        for c in self.specs.values():
            if c.is_option:
                continue
            # contracts sharing a symbol (forex crosses, futures expiries) walk apart
            key = c.symbol if c.symbol not in seeded else c.local_symbol
            seeded.add(key)
            rng = random.Random(stable_seed(seed, key))
            self._rng[c.con_id] = rng
            mid = round_tick(c.base_price * (1 + rng.uniform(-0.02, 0.02)), c.min_tick)
            close = round_tick(mid * (1 + rng.uniform(-0.01, 0.01)), c.min_tick)
            lot = self._lot(c)
            self.quotes[c.con_id] = Quote(
                bid=round_tick(mid - c.min_tick, c.min_tick), ask=mid, last=mid,
                bid_size=lot * rng.randint(1, 20), ask_size=lot * rng.randint(1, 20),
                last_size=lot * rng.randint(1, 5), volume=lot * rng.randint(1000, 5000),
                high=round_tick(mid * 1.005, c.min_tick), low=round_tick(mid * 0.995, c.min_tick),
                close=close, open=close, last_time=int(time.time()))

    @staticmethod
    def _lot(c: ContractSpec) -> float:
        return 100000.0 if c.sec_type == "CASH" else (1.0 if c.sec_type in ("FUT", "OPT") else 100.0)

    def step(self) -> None:
        """Advance every contract by one random-walk step."""
        self.steps += 1
        now = int(time.time())
        for con_id, q in self.quotes.items():
            c = self.specs[con_id]
            rng = self._rng[con_id]
            tick = c.min_tick
            mid = q.mid * math.exp(rng.gauss(0.0, c.volatility))
            spread_ticks = rng.choice((1, 1, 2))
            bid = round_tick(mid - spread_ticks * tick / 2, tick)
            bid = max(bid, tick)
            q.bid, q.ask = bid, round_tick(bid + spread_ticks * tick, tick)
            lot = self._lot(c)
            q.bid_size = lot * rng.randint(1, 20)
            q.ask_size = lot * rng.randint(1, 20)
            q.traded = rng.random() < 0.7
            if q.traded:
                q.last = q.ask if rng.random() < 0.5 else q.bid
                q.last_size = lot * rng.randint(1, 5)
                q.volume += q.last_size
                q.high = max(q.high, q.last)
                q.low = min(q.low, q.last)
                q.last_time = now

    def quote(self, con_id: int) -> Quote:
        """Current quote for a contract."""
        q = self.quotes.get(con_id)
        return q if q is not None else self._option_quote(con_id)

    def mark(self, con_id: int) -> float:
        """Mark price used for valuation (last trade)."""
        return self.quote(con_id).last

    def option_greeks(self, con_id: int, tick_type: int) -> Greeks:
        """An option's tickOptionComputation for ``tick_type`` (bid, ask, last or model greeks)
        at its underlying's current mid: the model's at the option's volatility, the others at the
        volatility implied by that price of its quote (computed once per market step)."""
        memo = self._greeks.get((con_id, tick_type))
        if memo is not None and memo[0] == self.steps:
            return memo[1]
        g = self._compute_greeks(con_id, tick_type)
        self._greeks[(con_id, tick_type)] = (self.steps, g)
        return g

    def _compute_greeks(self, con_id: int, tick_type: int) -> Greeks:
        c = self.specs[con_id]
        spot = self.quotes[c.under_con_id].mid
        call = c.right == "C"
        if tick_type == MODEL_GREEKS:
            return greeks(call, spot, c.strike, years_to_expiry(c), c.implied_vol)
        q = self.quote(con_id)
        price = {BID_GREEKS: q.bid, ASK_GREEKS: q.ask, LAST_GREEKS: q.last}[tick_type]
        return greeks_at_price(call, price, spot, c.strike, years_to_expiry(c))

    def _option_quote(self, con_id: int) -> Quote:
        """An option's quote at the underlying's current mid (priced once per market step)."""
        memo = self._derived.get(con_id)
        if memo is not None and memo[0] == self.steps:
            return memo[1]
        c = self.specs[con_id]
        spot = self.quotes[c.under_con_id].mid
        fair = greeks(c.right == "C", spot, c.strike, years_to_expiry(c), c.implied_vol).price
        half = max(c.min_tick, round_tick(fair * 0.01, c.min_tick))
        bid = max(c.min_tick, round_tick(fair - half, c.min_tick))
        ask = round_tick(max(fair + half, bid + c.min_tick), c.min_tick)
        last = round_tick((bid + ask) / 2, c.min_tick)
        close = max(c.min_tick, round_tick(c.base_price, c.min_tick))
        q = Quote(bid=bid, ask=ask, last=last, bid_size=10, ask_size=10, last_size=1, volume=100,
                  high=max(last, close), low=min(last, close), close=close, open=close,
                  last_time=int(time.time()))
        self._derived[con_id] = (self.steps, q)
        return q


def years_to_expiry(c: ContractSpec) -> float:
    """Years from today to an option's last trade date."""
    expiry = dt.datetime.strptime(c.last_trade_date, "%Y%m%d").date()
    return (expiry - dt.date.today()).days / 365.0
