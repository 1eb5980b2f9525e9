"""``Trade.apply_status`` and ``Trade.apply_fills``: the one place where a status report changes an
order (final states, fill quantities, prices, remaining)."""

from __future__ import annotations

import itertools
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from platform_adapter.models.contract import ContractSpec
from platform_adapter.models.order import Fill, OrderAction, OrderRequest, OrderState, OrderType, Trade

S = OrderState


def trade(qty: int = 10, status: OrderState = S.SUBMITTED) -> Trade:
    request = OrderRequest(ContractSpec("AAPL"), OrderAction.BUY, Decimal(qty), OrderType.LIMIT, 100.0)
    return Trade(1, request, status, remaining=Decimal(qty))


def fill(exec_id: str, qty: int, price: float) -> Fill:
    return Fill(exec_id, 1, "AAPL", "BOT", Decimal(qty), price, datetime(2026, 1, 2, tzinfo=timezone.utc))


def test_a_report_updates_state_quantities_and_prices() -> None:
    t = trade()
    assert t.apply_status(S.SUBMITTED, Decimal(4), Decimal(6), 100.5, 100.5)
    assert (t.status, t.filled, t.remaining, t.avg_fill_price, t.last_fill_price) == (
        S.SUBMITTED, Decimal(4), Decimal(6), 100.5, 100.5)
    assert not t.apply_status(S.SUBMITTED, Decimal(4), Decimal(6), 100.5, 100.5)  # the same report again
    assert not t.apply_status(S.SUBMITTED, Decimal(3), Decimal(6), 0.0, 0.0)  # fewer fills: not lowered
    assert t.filled == Decimal(4) and t.last_fill_price == 100.5
    assert not t.apply_status(S.SUBMITTED, Decimal(4), Decimal(6), 99.0)  # same fills: the price stays
    assert t.apply_status(S.FILLED, Decimal(10), Decimal(0), 100.2, 100.0)
    assert (t.status, t.filled, t.remaining, t.avg_fill_price) == (S.FILLED, Decimal(10), Decimal(0), 100.2)


def test_a_final_state_is_never_left_but_a_missing_price_is_taken() -> None:
    t = trade(status=S.CANCELLED)
    assert not t.apply_status(S.SUBMITTED, Decimal(2), Decimal(8))
    assert t.status is S.CANCELLED and t.filled == 0
    assert t.apply_status(S.SUBMITTED, avg_fill_price=101.0)
    assert t.avg_fill_price == 101.0 and t.status is S.CANCELLED
    assert not t.apply_status(S.PRE_SUBMITTED, avg_fill_price=102.0)
    assert t.avg_fill_price == 101.0
    assert t.apply_status(S.REJECTED, reject_reason="late reject")  # one final state to another
    assert t.status is S.REJECTED and t.reject_reason == "late reject"


def test_filled_without_quantities_waits_for_them() -> None:
    t = trade()
    assert not t.apply_status(S.FILLED)  # openOrder's "Filled" before the orderStatus with the fills
    assert t.status is S.SUBMITTED
    t.filled = Decimal(10)
    assert t.apply_status(S.FILLED) and t.status is S.FILLED
    assert not t.apply_status(None)


def test_remaining_after_a_final_state_or_more_fills() -> None:
    t = trade()
    assert t.apply_status(S.REJECTED, reject_reason="no")
    assert t.remaining == 0 and t.reject_reason == "no"
    t = trade()
    assert t.apply_status(S.SUBMITTED, filled=Decimal(3))
    assert t.remaining == Decimal(7)
    assert t.apply_status(S.CANCELLED, filled=Decimal(4))
    assert (t.filled, t.remaining) == (Decimal(4), Decimal(0))
    t = trade()
    assert not t.apply_status(S.SUBMITTED, reject_reason="ignored unless rejected") and t.reject_reason == ""


def test_apply_fills_aggregates_the_executions() -> None:
    t = trade(status=S.PENDING_SUBMIT)
    assert t.fill_totals() == (Decimal(0), 0.0)
    assert not t.apply_fills()
    t.fills = {"a": fill("a.01", 4, 100.0)}
    assert t.apply_fills()  # executions prove IB has it: no longer PendingSubmit
    assert (t.status, t.filled, t.remaining, t.avg_fill_price) == (S.SUBMITTED, Decimal(4), Decimal(6), 100.0)
    t.fills["b"] = fill("b.01", 6, 101.0)
    assert t.fill_totals() == (Decimal(10), 100.6)
    assert t.apply_fills()
    assert (t.status, t.filled, t.remaining, t.avg_fill_price) == (S.FILLED, Decimal(10), Decimal(0), 100.6)
    assert not t.apply_fills()


def test_apply_fills_with_ibs_final_state_and_quantity() -> None:
    t = trade()
    t.fills = {"a": fill("a.01", 2, 99.0)}
    assert t.apply_fills(S.CANCELLED, "Cancelled by user", Decimal(3))
    assert (t.status, t.filled, t.remaining, t.avg_fill_price) == (S.CANCELLED, Decimal(3), Decimal(0), 99.0)


@pytest.mark.parametrize("order", list(itertools.permutations(["orderStatus", "openOrder", "202", "reconcile"])))
def test_one_cancellation_reported_by_each_of_ibs_messages_is_one_change(order: tuple[str, ...]) -> None:
    """IB reports one cancellation three times (orderStatus with the unfilled quantity, openOrder
    and error 202 without it) and a reconciliation may report it once more: in any order, the
    first is the change and the others change nothing (before, remaining went 7 -> 0)."""
    t = trade()
    assert t.apply_status(S.SUBMITTED, Decimal(3), Decimal(7), 100.0, 100.0)
    reports = {"orderStatus": lambda: t.apply_status(S.CANCELLED, Decimal(3), Decimal(7), 100.0, 100.0),
               "openOrder": lambda: t.apply_status(S.CANCELLED),
               "202": lambda: t.apply_status(S.CANCELLED),
               "reconcile": lambda: t.apply_fills(S.CANCELLED, "Cancelled by user", Decimal(3))}
    assert [reports[name]() for name in order] == [True, False, False, False]
    assert (t.status, t.filled, t.remaining) == (S.CANCELLED, Decimal(3), Decimal(0))
