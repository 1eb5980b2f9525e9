"""Orders and file reads shared by the journal tests."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

from platform_adapter.models.contract import ContractSpec
from platform_adapter.models.order import (
    Order,
    OrderAction,
    OrderRequest,
    OrderState,
    OrderStatus,
    OrderType,
    TimeInForce,
)


def request(ref: str, price: float = 10.0) -> OrderRequest:
    return OrderRequest(ContractSpec("AAPL"), OrderAction.BUY, Decimal(5), OrderType.LIMIT, price, None,
                        TimeInForce.DAY, False, "DU1", ref)


def order(order_id: int, ref: str, state: OrderState) -> Order:
    status = OrderStatus(order_id, state, Decimal(0), Decimal(5), 0.0, 0.0, 0)
    return Order(order_id, request(ref), status, 0, 1)


def outside(path: Path, sql: str) -> list[tuple[object, ...]]:
    """What another process would read from the file now."""
    with sqlite3.connect(path) as db:
        return db.execute(sql).fetchall()
