"""Positions held in an account."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from platform_adapter.models.contract import ContractSpec


@dataclass(frozen=True, slots=True)
class Position:
    """One position; market fields are ``None`` until IB has sent a portfolio update."""

    account: str
    symbol: str
    contract: ContractSpec
    quantity: Decimal
    avg_cost: float
    con_id: int = 0
    market_price: float | None = None
    market_value: float | None = None
    unrealized_pnl: float | None = None
    realized_pnl: float | None = None
