"""Small value types the information replies carry (historical ticks, trading sessions, depth
exchanges)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Tick:
    """A MIDPOINT historical tick."""

    time: int
    price: float
    size: float = 0.0


@dataclass(frozen=True, slots=True)
class BidAskTick:
    """A BID_ASK historical tick; mask bit 1 = ask past high, bit 2 = bid past low."""

    time: int
    mask: int
    bid: float
    ask: float
    bid_size: float
    ask_size: float


@dataclass(frozen=True, slots=True)
class LastTick:
    """A TRADES historical tick; mask bit 1 = past limit, bit 2 = unreported."""

    time: int
    mask: int
    price: float
    size: float
    exchange: str
    conditions: str = ""


@dataclass(frozen=True, slots=True)
class Session:
    """One trading session of a historical schedule (times in the contract's time zone)."""

    start: str
    end: str
    ref_date: str


@dataclass(frozen=True, slots=True)
class DepthExchange:
    """An exchange offering market depth (reqMktDepthExchanges)."""

    exchange: str
    sec_type: str
    listing_exchange: str
    service_data_type: str
    agg_group: int
