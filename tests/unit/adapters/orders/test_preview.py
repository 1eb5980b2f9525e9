"""What-if previews: answered by their what-if openOrder, refused, timed out; a foreign what-if answer is no order."""

from __future__ import annotations

from typing import Any

import pytest
from ibapi.order_state import OrderState as IBOrderState

from platform_adapter import OrderRejected, RequestTimeout
from tests.unit.adapters.test_order_execution import Harness, contract, ib_order


@pytest.fixture
def harness_settings() -> dict[str, Any]:
    return {"ib_connection.request_timeout": 0.5}


def what_if_state() -> IBOrderState:
    s = IBOrderState()
    s.status = "PreSubmitted"
    s.initMarginBefore, s.initMarginChange, s.initMarginAfter = "10", "5", "15"
    s.maintMarginBefore, s.maintMarginChange, s.maintMarginAfter = "8", "4", "12"
    s.equityWithLoanBefore, s.equityWithLoanChange, s.equityWithLoanAfter = "100", "", "1.7976931348623157E308"
    s.commissionAndFees, s.commissionAndFeesCurrency, s.warningText = 1.25, "USD", "late"
    return s


def test_a_preview_is_answered_by_its_what_if_open_order(harness: Harness) -> None:
    pa, fake = harness

    def answer(order_id: int, _contract: Any, order: Any) -> None:
        assert order.whatIf and order.transmit
        echoed = ib_order(order_id, order.orderRef)
        echoed.whatIf = True
        other = ib_order(order_id + 1, "x")
        other.whatIf = True
        pa.wrapper.openOrder(order_id + 1, contract(), other, what_if_state())  # no preview waits for it
        pa.wrapper.openOrder(order_id, contract(), echoed, what_if_state())

    fake.on_call["placeOrder"] = answer
    preview = pa.orders.preview_order("AAPL", "BUY", 10, "LMT", limit_price=100.0)
    assert (preview.initial_margin.before, preview.initial_margin.change, preview.initial_margin.after) == (
        10.0, 5.0, 15.0)
    assert (preview.equity_with_loan.change, preview.equity_with_loan.after) == (None, None)
    assert (preview.commission, preview.min_commission, preview.commission_currency, preview.warning) == (
        1.25, None, "USD", "late")
    assert pa.state.get_cached_orders() == [] and len(pa.registry) == 0


def test_a_preview_ib_refuses_is_order_rejected(harness: Harness) -> None:
    pa, fake = harness
    fake.on_call["placeOrder"] = lambda oid, *_: pa.wrapper.error(oid, 0, 201, "Order rejected - no margin", "")
    with pytest.raises(OrderRejected) as info:
        pa.orders.preview_order("AAPL", "BUY", 10, "MKT")
    assert (info.value.code, info.value.req_id) == (201, 10)
    assert pa.state.get_cached_orders() == [] and len(pa.registry) == 0


def test_a_preview_without_an_answer_times_out(harness: Harness) -> None:
    pa, _ = harness
    with pytest.raises(RequestTimeout):
        pa.orders.preview_order("AAPL", "BUY", 10, "MKT")
    assert len(pa.registry) == 0
    assert pa.orders.place_order("AAPL", "BUY", 10, "MKT") == 11  # the preview's id is never reused


def test_a_foreign_what_if_answer_is_not_an_order(harness: Harness) -> None:
    pa, _ = harness
    order = ib_order(55, "theirs", client=9)
    order.whatIf = True
    pa.wrapper.openOrder(55, contract(), order, what_if_state())
    assert pa.state.get_cached_orders() == []
