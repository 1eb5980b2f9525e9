"""Instrument descriptions: what the user asks for and what IB resolved it to."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

_RIGHTS = {"CALL": "C", "PUT": "P"}


class SecType(StrEnum):
    """IB security types the adapter supports."""

    STOCK = "STK"
    FUTURE = "FUT"
    FOREX = "CASH"
    INDEX = "IND"
    OPTION = "OPT"
    CONTINUOUS_FUTURE = "CONTFUT"
    """A future's front month rolled over time: for historical data only (IB trades none)."""


@dataclass(frozen=True, slots=True)
class ContractSpec:
    """An instrument as the user names it.

    A plain symbol string is shorthand for ``ContractSpec(symbol)``: a US stock on SMART in USD.
    ETFs are stocks for IB. Futures need ``last_trade_date`` (``YYYYMM`` or ``YYYYMMDD``) or a
    ``local_symbol`` (``ContractResolver.front_month`` finds the nearest expiry still trading);
    options need the expiry, ``strike`` and ``right`` (``C`` or ``P``) or a ``local_symbol``; forex uses
    ``symbol="EUR", currency="USD", exchange="IDEALPRO"``. :meth:`future`, :meth:`option` and
    :meth:`continuous_future` build them.
    """

    symbol: str
    sec_type: SecType = SecType.STOCK
    exchange: str = "SMART"
    currency: str = "USD"
    primary_exchange: str = ""
    last_trade_date: str = ""
    local_symbol: str = ""
    multiplier: str = ""
    con_id: int = 0
    strike: float = 0.0
    right: str = ""

    @staticmethod
    def future(symbol: str, expiry: str = "", exchange: str = "CME", currency: str = "USD",
               local_symbol: str = "") -> ContractSpec:
        """A future by its expiry (``YYYYMM`` or ``YYYYMMDD``) or its local symbol (``ESZ6``)."""
        return ContractSpec(symbol, SecType.FUTURE, exchange, currency, last_trade_date=expiry,
                            local_symbol=local_symbol)

    @staticmethod
    def option(symbol: str, expiry: str, strike: float, right: str, exchange: str = "SMART",
               currency: str = "USD", multiplier: str = "100") -> ContractSpec:
        """An option by underlying symbol, expiry (``YYYYMMDD``), strike and right (``C``/``P``,
        also ``CALL``/``PUT``)."""
        text = right.strip().upper() if isinstance(right, str) else right
        return ContractSpec(symbol, SecType.OPTION, exchange, currency, last_trade_date=expiry,
                            multiplier=multiplier, strike=strike, right=_RIGHTS.get(text, text))

    @staticmethod
    def continuous_future(symbol: str, exchange: str = "CME", currency: str = "USD") -> ContractSpec:
        """The continuous future of ``symbol`` (historical data only)."""
        return ContractSpec(symbol, SecType.CONTINUOUS_FUTURE, exchange, currency)

    @property
    def key(self) -> str:
        """A stable text key naming the instrument (used in caches and logs)."""
        if self.sec_type is SecType.STOCK:
            if self.exchange == "SMART" and self.currency == "USD" and not self.con_id:
                return self.symbol
            return f"{self.symbol}@{self.exchange}/{self.currency}"
        if self.sec_type is SecType.FOREX:
            return f"{self.symbol}.{self.currency}"
        extra = self.local_symbol or self.last_trade_date
        if self.sec_type is SecType.OPTION and not self.local_symbol:
            extra += f":{self.strike:g}{self.right}"
        return f"{self.symbol}:{self.sec_type.value}:{extra}@{self.exchange}"


@dataclass(frozen=True, slots=True)
class ContractInfo:
    """What IB returned for a :class:`ContractSpec` (from ``contractDetails``)."""

    spec: ContractSpec
    con_id: int
    symbol: str
    sec_type: SecType
    exchange: str
    primary_exchange: str
    currency: str
    local_symbol: str
    trading_class: str
    min_tick: float
    multiplier: str
    long_name: str
    last_trade_date: str = ""
    time_zone_id: str = ""
    size_increment: Decimal = Decimal(1)
    min_size: Decimal = Decimal(1)
    strike: float = 0.0
    right: str = ""
    underlying_con_id: int = 0

    @property
    def allows_fractional(self) -> bool:
        """True when IB accepts quantities below one unit for this contract."""
        return self.size_increment < 1 or self.min_size < 1


@dataclass(frozen=True, slots=True)
class OptionChain:
    """The options IB lists on an underlying at one exchange (``reqSecDefOptParams``)."""

    underlying: str
    underlying_con_id: int
    exchange: str
    trading_class: str
    multiplier: str
    expirations: tuple[str, ...]
    strikes: tuple[float, ...]
