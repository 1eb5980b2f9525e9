"""What-if previews: the margin, equity and commission IB expects for an order, without placing it."""

from __future__ import annotations

from dataclasses import dataclass

from platform_adapter.models.order import OrderRequest


@dataclass(frozen=True, slots=True)
class AccountChange:
    """One account figure before the order, the change it makes, and after (``None`` where IB sent none)."""

    before: float | None
    change: float | None
    after: float | None


@dataclass(frozen=True, slots=True)
class OrderPreview:
    """IB's answer to a what-if order: nothing was placed, nothing was journalled."""

    request: OrderRequest
    initial_margin: AccountChange
    maintenance_margin: AccountChange
    equity_with_loan: AccountChange
    commission: float | None
    min_commission: float | None
    max_commission: float | None
    commission_currency: str = ""
    margin_currency: str = ""
    warning: str = ""
