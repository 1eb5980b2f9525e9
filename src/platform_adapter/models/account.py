"""Account values: summary and PnL."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class AccountSummary:
    """The main account figures, in ``currency``; ``None`` where IB has not sent a value."""

    account: str
    currency: str = "USD"
    net_liquidation: float | None = None
    total_cash: float | None = None
    buying_power: float | None = None
    available_funds: float | None = None
    excess_liquidity: float | None = None
    initial_margin: float | None = None
    maintenance_margin: float | None = None
    gross_position_value: float | None = None
    realized_pnl: float | None = None
    unrealized_pnl: float | None = None
    updated_at: datetime | None = None
    values: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PnL:
    """Account PnL as reported by ``reqPnL``."""

    account: str
    daily: float | None = None
    unrealized: float | None = None
    realized: float | None = None
    updated_at: datetime | None = None
