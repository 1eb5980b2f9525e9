"""What-if previews over TCP against the simulator: ``orders.preview_order`` returns IB's margin,
equity and commission figures; the simulator stores and trades nothing, the adapter keeps no
order, journals nothing and calls no order callback. Text (176) and protobuf (226) answers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from platform_adapter import OrderPreview, ValidationError
from platform_adapter.models.preview import AccountChange
from platform_adapter.sim import SimulatedGateway
from tests.conftest import still_gateway

VERSIONS = [176, 226]


@pytest.fixture(params=VERSIONS, ids=[f"v{v}" for v in VERSIONS])
def gateway(request: pytest.FixtureRequest) -> Iterator[SimulatedGateway]:
    with still_gateway(request.param) as gw:
        yield gw


def test_a_preview_returns_margins_and_commission_and_places_nothing(pa: Any, gateway: Any, recorder: Any) -> None:
    pa.orders.on_order_status(recorder)
    pa.orders.on_fill(recorder)
    preview = pa.orders.preview_order("AAPL", "BUY", 100, "MKT")
    assert isinstance(preview, OrderPreview)
    assert preview.initial_margin == AccountChange(0.0, 4750.0, 4750.0)
    assert preview.maintenance_margin.after == 4750.0
    assert preview.equity_with_loan == AccountChange(1_000_000.0, -1.0, 999_999.0)
    assert (preview.commission, preview.min_commission, preview.max_commission) == (1.0, 1.0, 1.0)
    assert preview.commission_currency == "USD"
    assert (preview.request.contract.symbol, preview.request.quantity, preview.request.order_type.value) == (
        "AAPL", 100, "MKT")
    assert not gateway.engine.orders and not gateway.engine.executions
    assert pa.state.trades_snapshot() == [] and pa.orders.get_open_orders() == []
    assert pa.state.get_cached_orders() == []
    assert pa.orders.journal.rows("SELECT count(*) FROM orders") == [(0,)]
    pa.orders.reconcile()
    assert pa.state.get_cached_orders() == [] and recorder.calls == []


def test_a_preview_takes_place_orders_arguments(pa: Any, gateway: Any) -> None:
    preview = pa.orders.preview_order("AAPL", "SELL", 50, "TRAIL LIMIT", trailing_amount=1.0, limit_offset=0.5,
                                      tif="GTC", outside_rth=True)
    assert preview.initial_margin.change == pytest.approx(50 * 190.0 * 0.25)  # a short: margin added
    # the commission of 50 shares at the market (IB's minimum, $1), not at the 1.00 trailing amount
    assert preview.commission == preview.max_commission == 1.0
    assert preview.request.extras.trailing_amount == 1.0
    with pytest.raises(ValidationError) as info:
        pa.orders.preview_order("AAPL", "BUY", 100, "LMT")
    assert info.value.field == "limit_price"
    assert gateway.stats().received["placeOrder"] == 1


def test_a_preview_is_not_refused_for_buying_power_or_a_live_account(make_adapter: Any, gateway: Any) -> None:
    pa = make_adapter(**{"orders.live_port": gateway.port})
    preview = pa.orders.preview_order("AAPL", "BUY", 100_000, "LMT", limit_price=190.0)
    assert preview.initial_margin.change == pytest.approx(100_000 * 190.0 * 0.25)
    assert not gateway.engine.orders
