"""Market-data values: quotes, bars and tick-by-tick records."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from enum import Enum, StrEnum


class MarketDataType(int, Enum):
    """IB market data types (``reqMarketDataType``)."""

    LIVE = 1
    FROZEN = 2
    DELAYED = 3
    DELAYED_FROZEN = 4


class TickByTickKind(StrEnum):
    """Tick-by-tick streams IB offers."""

    LAST = "Last"
    ALL_LAST = "AllLast"
    BID_ASK = "BidAsk"
    MID_POINT = "MidPoint"


@dataclass(frozen=True, slots=True)
class OptionGreeks:
    """An option's implied volatility, greeks and prices as IB computes them (tickOptionComputation)
    from the bid, ask, last price or its model. A value IB has not computed is ``None``; vega
    and theta are per point of volatility and per calendar day, as IB reports them."""

    implied_vol: float | None = None
    delta: float | None = None
    gamma: float | None = None
    vega: float | None = None
    theta: float | None = None
    option_price: float | None = None
    underlying_price: float | None = None
    pv_dividend: float | None = None


@dataclass(frozen=True, slots=True)
class Quote:
    """A snapshot of the latest market state of one instrument.

    Prices are ``None`` until IB has sent them. ``time`` is the tz-aware UTC time of the last
    update received; ``stale`` is set when the quote has not changed for the configured time or
    the gateway lost its link to IB (code 1100). ``degraded`` is set while a market data farm of
    the gateway is broken (code 2103 until its 2104; IB names the farm, not the instruments it
    serves, so every quote is degraded). ``updates`` counts the tick values applied to the line
    since it was subscribed: a step of more than one between two deliveries means that several
    ticks were merged into one (conflated) delivery.

    On an option's line IB also sends its greeks: ``bid_greeks``, ``ask_greeks`` and
    ``last_greeks`` are computed from those prices, ``model_greeks`` from IB's model; each is
    ``None`` until IB has sent it (and always for other instruments).
    """

    symbol: str
    bid: float | None = None
    ask: float | None = None
    last: float | None = None
    bid_size: Decimal | None = None
    ask_size: Decimal | None = None
    last_size: Decimal | None = None
    volume: Decimal | None = None
    high: float | None = None
    low: float | None = None
    close: float | None = None
    open: float | None = None
    last_timestamp: datetime | None = None
    time: datetime | None = None
    updated_monotonic: float = 0.0
    stale: bool = False
    market_data_type: MarketDataType = MarketDataType.LIVE
    updates: int = 0
    degraded: bool = False
    bid_greeks: OptionGreeks | None = None
    ask_greeks: OptionGreeks | None = None
    last_greeks: OptionGreeks | None = None
    model_greeks: OptionGreeks | None = None

    @property
    def mid(self) -> float | None:
        """Midpoint of bid and ask, when both are known."""
        if self.bid is None or self.ask is None:
            return None
        return (self.bid + self.ask) / 2.0

    @property
    def age(self) -> float:
        """Seconds since the last update (infinite when none arrived)."""
        if not self.updated_monotonic:
            return float("inf")
        return max(0.0, time.monotonic() - self.updated_monotonic)


@dataclass(frozen=True, slots=True)
class Bar:
    """One OHLCV bar; ``time`` is the tz-aware UTC start of the bar."""

    symbol: str
    time: datetime
    open: float
    high: float
    low: float
    close: float
    volume: Decimal
    wap: Decimal
    bar_count: int


@dataclass(frozen=True, slots=True)
class TickByTick:
    """One tick-by-tick record; fields not used by the kind are ``None``."""

    symbol: str
    kind: TickByTickKind
    time: datetime
    price: float | None = None
    size: Decimal | None = None
    exchange: str | None = None
    bid: float | None = None
    ask: float | None = None
    bid_size: Decimal | None = None
    ask_size: Decimal | None = None
    mid: float | None = None


def utc_from_epoch(seconds: float) -> datetime:
    """A tz-aware UTC datetime from a Unix timestamp."""
    return datetime.fromtimestamp(seconds, tz=timezone.utc)
