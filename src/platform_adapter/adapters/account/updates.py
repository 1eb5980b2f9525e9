"""Account values as delivered to subscribers, and the summary built from IB's tags."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from platform_adapter.adapters.orders.models import opt_float
from platform_adapter.models.account import AccountSummary

SUMMARY_FIELDS = {
    "net_liquidation": "NetLiquidation",
    "total_cash": "TotalCashValue",
    "buying_power": "BuyingPower",
    "available_funds": "AvailableFunds",
    "excess_liquidity": "ExcessLiquidity",
    "initial_margin": "InitMarginReq",
    "maintenance_margin": "MaintMarginReq",
    "gross_position_value": "GrossPositionValue",
    "realized_pnl": "RealizedPnL",
    "unrealized_pnl": "UnrealizedPnL",
}


@dataclass(frozen=True, slots=True)
class AccountValue:
    """One account value from ``updateAccountValue`` (``value`` is IB's text)."""

    account: str
    key: str
    value: str
    currency: str


def summary_from_values(account: str, values: Mapping[str, str], when: datetime,
                        currency: str = "USD") -> AccountSummary:
    """An :class:`AccountSummary` from IB tag -> text; missing or unparseable tags are ``None``."""
    fields = {name: opt_float(values.get(tag)) for name, tag in SUMMARY_FIELDS.items()}
    return AccountSummary(account=account, currency=currency, updated_at=when, values=dict(values), **fields)
