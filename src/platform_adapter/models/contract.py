"""Instrument descriptions: what the user asks for and what IB resolved it to."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class SecType(StrEnum):
    """IB security types the adapter supports."""

    STOCK = "STK"
    FUTURE = "FUT"
    FOREX = "CASH"
    INDEX = "IND"
    OPTION = "OPT"


@dataclass(frozen=True, slots=True)
class ContractSpec:
    """An instrument as the user names it.

    A plain symbol string is shorthand for ``ContractSpec(symbol)``: a US stock on SMART in USD.
    ETFs are stocks for IB. Futures need ``last_trade_date`` (``YYYYMM`` or ``YYYYMMDD``) or a
    ``local_symbol``; forex uses ``symbol="EUR", currency="USD", exchange="IDEALPRO"``.
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

    @property
    def allows_fractional(self) -> bool:
        """True when IB accepts quantities below one unit for this contract."""
        return self.size_increment < 1 or self.min_size < 1
