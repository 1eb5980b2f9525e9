"""Order values: terminal and working states, execution keys, snapshots of the mutable Trade."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from decimal import Decimal

from platform_adapter.models.contract import ContractSpec
from platform_adapter.models.order import (
    TERMINAL_STATES,
    WORKING_STATES,
    BracketOrder,
    Fill,
    OrderAction,
    OrderRequest,
    OrderState,
    OrderType,
    Trade,
    exec_base_id,
)

T0 = datetime(2026, 1, 2, 15, tzinfo=timezone.utc)


def fill(exec_id: str, commission: float | None) -> Fill:
    return Fill(exec_id, 7, "AAPL", "BOT", Decimal(10), 150.0, T0, commission=commission)


def test_states_are_terminal_or_working_never_both() -> None:
    assert not TERMINAL_STATES & WORKING_STATES
    assert OrderState.FILLED in TERMINAL_STATES and OrderState.SUBMITTED in WORKING_STATES
    assert OrderState.PENDING_CANCEL not in TERMINAL_STATES | WORKING_STATES


def test_execution_keys_drop_the_correction_suffix() -> None:
    assert exec_base_id("0001f4e8.65a1b2c3.01.02") == "0001f4e8.65a1b2c3.01"
    assert exec_base_id("plain") == "plain"
    assert fill("0001f4e8.65a1b2c3.01.01", None).exec_key == "0001f4e8.65a1b2c3.01"


def test_snapshot_and_modify() -> None:
    request = OrderRequest(ContractSpec("AAPL"), OrderAction.BUY, Decimal(100), OrderType.LIMIT, limit_price=150.0,
                           order_ref="pa-1")
    trade = Trade(7, request, remaining=Decimal(100))
    trade.fills = {"a": fill("a", 1.0), "b": fill("b", None)}
    order = trade.snapshot()
    assert (order.order_id, order.symbol, order.order_ref) == (7, "AAPL", "pa-1")
    assert order.status.status is OrderState.PENDING_SUBMIT and not order.status.is_terminal
    assert order.status.commission == 1.0 and len(order.status.fills) == 2
    trade.request = replace(trade.request, limit_price=151.0)
    assert order.request.limit_price == 150.0  # the snapshot kept its own


def test_bracket_ids_in_order() -> None:
    assert BracketOrder(1, 2, 3).order_ids == (1, 2, 3)
