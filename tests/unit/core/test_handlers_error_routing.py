"""IB's ``error`` callback reaches exactly one owner (``core/handlers.route_error``): the pending
synchronous request of its id (failed with a typed exception; a notice fails nothing), else the
order of its id, else the market data line, else the lifecycle handler (connection and system
codes, ids nobody owns), where the ConnectionManager reacts."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from loguru import logger

from platform_adapter.core.request_registry import RequestRegistry
from platform_adapter.errors import ContractNotFound, IBError, NotConnected, PacingViolation
from platform_adapter.models.order import OrderState
from tests.handlers import Recording
from tests.unit.adapters.test_order_execution import make_harness, placed


@pytest.mark.parametrize("req_id, code, owner", [
    (5, 201, "orders.error"),  # an order id the order handler owns
    (5, 399, "orders.error"),  # a warning for that order
    (500_000_001, 10167, "market_data.error"),  # a notice for a line
    (500_000_001, 354, "market_data.error"),
    (500_000_002, 200, "lifecycle.error"),  # nobody owns the id
    (6, 202, "lifecycle.error"),  # an order id nobody owns (another client's)
    (-1, 1100, "lifecycle.error"),  # system codes
    (-1, 2104, "lifecycle.error"),
    (0, 502, "lifecycle.error"),
])
def test_each_error_goes_to_one_owner(req_id: int, code: int, owner: str) -> None:
    rec = Recording(normalise=lambda a: a, owned_orders={5}, owned_requests={500_000_001})
    rec.wrapper.error(req_id, 1764860400000, code, "text", "{}")
    assert rec.calls == [(owner, (req_id, code, "text", "{}"))]


@pytest.mark.parametrize("code, text, kind", [
    (200, "No security definition has been found for the request", ContractNotFound),
    (162, "Historical Market Data Service error message:API historical data query cancelled: pacing violation",
     PacingViolation),
    (504, "Not connected", NotConnected),
    (321, "Error validating request", IBError),
])
def test_a_pending_request_is_failed_and_no_handler_hears_of_it(code: int, text: str, kind: type) -> None:
    registry = RequestRegistry()
    pending = registry.start("probe")
    rec = Recording(owned_orders={pending.req_id}, owned_requests={pending.req_id}, requests=registry)
    rec.wrapper.error(pending.req_id, 0, code, text, "")
    with pytest.raises(kind):
        pending.wait(1)
    assert rec.calls == []


def test_a_notice_for_a_pending_request_fails_nothing() -> None:
    registry = RequestRegistry()
    pending = registry.start("probe")
    rec = Recording(normalise=lambda a: a, requests=registry)
    rec.wrapper.error(pending.req_id, 0, 2104, "Market data farm connection is OK:usfarm", "")
    assert registry.get(pending.req_id) is pending
    assert rec.calls == [("lifecycle.error", (pending.req_id, 2104, "Market data farm connection is OK:usfarm", ""))]


def test_a_routed_error_that_raises_is_counted() -> None:
    rec = Recording(owned_orders={5})

    def boom(*_: Any) -> None:
        raise RuntimeError("handler bug")

    rec.orders.error = boom  # type: ignore[method-assign]
    rec.wrapper.error(5, 0, 201, "rejected", "")
    assert rec.wrapper.callback_errors == 1


def test_through_the_facade_order_errors_reach_the_order_and_system_codes_the_connection(tmp_path: Path) -> None:
    pa, _ = make_harness(tmp_path)
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="DEBUG", format="{message}")
    try:
        order_id, _ = placed(pa)
        pa.wrapper.error(order_id, 0, 201, "Order rejected - reason:no", "")
        status = pa.orders.get_order_status(order_id)
        assert status.status is OrderState.REJECTED and status.remaining == Decimal(0)
        pa.wrapper.error(-1, 0, 1100, "Connectivity between IB and TWS has been lost", "")
        assert pa.connection.ib_link_ok is False
        pa.wrapper.error(order_id + 100, 0, 10148, "OrderId that needs to be cancelled cannot be cancelled", "")
        assert pa.orders.get_order(order_id).status.status is OrderState.REJECTED  # not this order's
        assert any("IB 10148 for id" in line and "no owner" in line for line in lines)
    finally:
        logger.remove(sink)
        pa.orders.stop()
        pa.events.stop()
