"""Seeded deterministic random-walk market for the built-in universe."""

from __future__ import annotations

import math
import random
import time
import zlib
from dataclasses import dataclass

from .contracts import UNIVERSE, ContractSpec

# IB tick types (live, delayed)
BID, ASK, LAST, HIGH, LOW, VOLUME, CLOSE, OPEN = 1, 2, 4, 6, 7, 8, 9, 14
BID_SIZE, ASK_SIZE, LAST_SIZE, LAST_TIMESTAMP = 0, 3, 5, 45
DELAYED = {BID: 66, ASK: 67, LAST: 68, BID_SIZE: 69, ASK_SIZE: 70, LAST_SIZE: 71, HIGH: 72,
           LOW: 73, VOLUME: 74, CLOSE: 75, OPEN: 76, LAST_TIMESTAMP: 88}


def stable_seed(seed: int, key: str) -> int:
    """Seed derived from the gateway seed and a key, stable across runs."""
    return (seed * 1_000_003) ^ zlib.crc32(key.encode())


def round_tick(price: float, tick: float) -> float:
    """Round a price to the contract's tick grid."""
    return round(round(price / tick) * tick, 10)


def on_tick(price: float, tick: float) -> bool:
    """True if price is a multiple of tick."""
    steps = price / tick
    return abs(steps - round(steps)) < 1e-6


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
    """Random walk per contract; call ``step()`` to advance every quote once."""

    def __init__(self, seed: int = 1) -> None:
        self.seed = seed
        self._rng: dict[int, random.Random] = {}
        self.quotes: dict[int, Quote] = {}
        self.specs: dict[int, ContractSpec] = {c.con_id: c for c in UNIVERSE}
        self.steps = 0
        for c in UNIVERSE:
            rng = random.Random(stable_seed(seed, c.symbol))
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
        return 100000.0 if c.sec_type == "CASH" else (1.0 if c.sec_type == "FUT" else 100.0)

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
        return self.quotes[con_id]

    def mark(self, con_id: int) -> float:
        """Mark price used for valuation (last trade)."""
        return self.quotes[con_id].last
