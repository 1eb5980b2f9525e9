"""A position: market fields stay ``None`` until IB sends a portfolio update."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from platform_adapter.models.contract import ContractSpec
from platform_adapter.models.position import Position


def test_position_defaults_and_immutability() -> None:
    p = Position("DU1", "AAPL", ContractSpec("AAPL"), Decimal(100), 149.5)
    assert (p.con_id, p.market_price, p.market_value, p.unrealized_pnl, p.realized_pnl) == (0, None, None, None, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.quantity = Decimal(1)  # type: ignore[misc]
    assert p == Position("DU1", "AAPL", ContractSpec("AAPL"), Decimal("100.0"), 149.5)
