"""Pre-trade validation, the live-account guard and connection checks: each refusal is a typed
error naming the problem, and the simulator receives nothing."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import pytest

from platform_adapter import ContractNotFound, LiveTradingRefused, NotConnected, ValidationError
from platform_adapter.sim.server import SimulatedGateway
from tests.conftest import LOOPBACK, wait_for

BAD_ORDERS = [
    # (args, kwargs, field)
    (("AAPL", "HOLD", 10, "LMT"), {"limit_price": 100.0}, "action"),
    (("AAPL", 1, 10, "LMT"), {"limit_price": 100.0}, "action"),
    (("AAPL", "BUY", 0, "LMT"), {"limit_price": 100.0}, "quantity"),
    (("AAPL", "BUY", -5, "LMT"), {"limit_price": 100.0}, "quantity"),
    (("AAPL", "BUY", 1.5, "LMT"), {"limit_price": 100.0}, "quantity"),
    (("AAPL", "BUY", math.nan, "MKT"), {}, "quantity"),
    (("AAPL", "BUY", math.inf, "MKT"), {}, "quantity"),
    (("AAPL", "BUY", "ten", "MKT"), {}, "quantity"),
    (("AAPL", "BUY", True, "MKT"), {}, "quantity"),
    (("AAPL", "BUY", 10, "MOC"), {}, "order_type"),
    (("AAPL", "SELL", 10, "TRAIL"), {}, "trailing_amount"),
    (("AAPL", "SELL", 10, "TRAIL"), {"trailing_amount": 1.0, "trailing_percent": 1.0}, "trailing_amount"),
    (("AAPL", "SELL", 10, "TRAIL"), {"trailing_percent": 100}, "trailing_percent"),
    (("AAPL", "SELL", 10, "TRAIL"), {"trailing_percent": -1.0}, "trailing_percent"),
    (("AAPL", "SELL", 10, "TRAIL"), {"trailing_amount": 0.005}, "trailing_amount"),  # off the tick
    (("AAPL", "SELL", 10, "TRAIL"), {"trailing_amount": 1.0, "limit_offset": 0.1}, "limit_offset"),
    (("AAPL", "SELL", 10, "TRAIL"), {"trailing_amount": 1.0, "stop_price": 99.0}, "stop_price"),
    (("AAPL", "SELL", 10, "TRAIL LIMIT"), {"trailing_amount": 1.0}, "limit_offset"),
    (("AAPL", "SELL", 10, "TRAIL LIMIT"), {"trailing_amount": 1.0, "limit_offset": -0.5}, "limit_offset"),
    (("AAPL", "SELL", 10, "TRAIL LIMIT"), {"trailing_amount": 1.0, "limit_offset": 0.001}, "limit_offset"),
    (("AAPL", "SELL", 10, "TRAIL LIMIT"), {"trailing_amount": 1.0, "limit_offset": "0.5"}, "limit_offset"),
    (("AAPL", "BUY", 10, "LMT"), {"limit_price": 100.0, "trailing_amount": 1.0}, "trailing_amount"),
    (("AAPL", "BUY", 10, "LMT"), {"limit_price": 100.0, "tif": "GTD"}, "good_till"),
    (("AAPL", "BUY", 10, "LMT"), {"limit_price": 100.0, "good_till": "20000101-00:00:00"}, "good_till"),
    (("AAPL", "BUY", 10, "LMT"), {"limit_price": 100.0, "good_till": "2099-12-31"}, "good_till"),
    (("AAPL", "BUY", 10, "LMT"), {"limit_price": 100.0, "good_till": "20991231 10:00:00 Mars/Base"}, "good_till"),
    (("AAPL", "BUY", 10, "LMT"), {"limit_price": 100.0, "good_till": datetime(2099, 1, 1)}, "good_till"),
    (("AAPL", "BUY", 10, "LMT"), {"limit_price": 100.0, "good_till": 20991231}, "good_till"),
    (("AAPL", "BUY", 10, "LMT"), {"limit_price": 100.0, "tif": "DAY", "good_till": "20991231-00:00:00"},
     "good_till"),
    (("AAPL", "BUY", 10, "STP"), {"stop_price": 100.0, "tif": "OPG"}, "tif"),
    (("AAPL", "BUY", 10, "MKT"), {"oca_type": 2}, "oca_type"),
    (("AAPL", "BUY", 10, "MKT"), {"oca_group": "g", "oca_type": 4}, "oca_type"),
    (("AAPL", "BUY", 10, "MKT"), {"oca_group": "g", "oca_type": True}, "oca_type"),
    (("AAPL", "BUY", 10, "MKT"), {"oca_group": "  "}, "oca_group"),
    (("AAPL", "BUY", 10, "MKT"), {"oca_group": "g" * 61}, "oca_group"),
    (("AAPL", "BUY", 10, None), {}, "order_type"),
    (("AAPL", "BUY", 10, "LMT"), {}, "limit_price"),
    (("AAPL", "BUY", 10, "LMT"), {"limit_price": 0}, "limit_price"),
    (("AAPL", "BUY", 10, "LMT"), {"limit_price": -1.0}, "limit_price"),
    (("AAPL", "BUY", 10, "LMT"), {"limit_price": math.nan}, "limit_price"),
    (("AAPL", "BUY", 10, "LMT"), {"limit_price": math.inf}, "limit_price"),
    (("AAPL", "BUY", 10, "LMT"), {"limit_price": "100"}, "limit_price"),
    (("AAPL", "BUY", 10, "LMT"), {"limit_price": 100.005}, "limit_price"),
    (("AAPL", "BUY", 10, "STP"), {}, "stop_price"),
    (("AAPL", "BUY", 10, "STP"), {"stop_price": 100.001}, "stop_price"),
    (("AAPL", "BUY", 10, "STP LMT"), {"stop_price": 100.0}, "limit_price"),
    (("AAPL", "BUY", 10, "STP LMT"), {"limit_price": 100.0}, "stop_price"),
    (("AAPL", "BUY", 10, "MKT"), {"limit_price": 100.0}, "limit_price"),
    (("AAPL", "BUY", 10, "LMT"), {"limit_price": 100.0, "stop_price": 99.0}, "stop_price"),
    (("AAPL", "BUY", 10, "MKT"), {"stop_price": 99.0}, "stop_price"),
    (("AAPL", "BUY", 10, "MKT"), {"limit_prce": 100.0}, "limit_prce"),
    (("AAPL", "BUY", 10, "MKT"), {"tif": "FOREVER"}, "tif"),
    (("AAPL", "BUY", 10, "MKT"), {"outside_rth": "yes"}, "outside_rth"),
    (("AAPL", "BUY", 10, "MKT"), {"account": "DU999"}, "account"),
    (("AAPL", "BUY", 10, "MKT"), {"order_ref": "x" * 41}, "order_ref"),
    (("AAPL", "BUY", 10, "MKT"), {"order_ref": "bad\0ref"}, "order_ref"),
    (("", "BUY", 10, "MKT"), {}, "symbol"),
    (("A" * 21, "BUY", 10, "MKT"), {}, "symbol"),
    ((None, "BUY", 10, "MKT"), {}, "symbol"),
    (("AAPL", "BUY", 1_000_000, "LMT"), {"limit_price": 190.0}, "quantity"),  # buying power
]


def _sent(gateway: Any) -> int:
    return sum(gateway.stats().received.values())


@pytest.mark.parametrize("args, kwargs, field", BAD_ORDERS)
def test_bad_order_is_refused_before_anything_is_sent(pa: Any, gateway: Any, args: tuple[Any, ...],
                                                      kwargs: dict[str, Any], field: str) -> None:
    pa.contracts.resolve("AAPL")
    wait_for(lambda: pa.state.get_account_value("BuyingPower"))
    before = _sent(gateway)
    with pytest.raises(ValidationError) as info:
        pa.orders.place_order(*args, **kwargs)
    assert info.value.field == field
    assert field in str(info.value)
    assert _sent(gateway) == before
    assert gateway.stats().received["placeOrder"] == 0


def test_unknown_symbol_is_contract_not_found_and_no_order(pa: Any, gateway: Any) -> None:
    with pytest.raises(ContractNotFound):
        pa.orders.place_order("NOSUCH", "BUY", 10, "MKT")
    assert gateway.stats().received["placeOrder"] == 0


def test_bad_modify_is_refused_and_order_unchanged(pa: Any, gateway: Any) -> None:
    order_id = pa.orders.place_order("AAPL", "BUY", 10, "LMT", limit_price=100.0)
    pa.orders.wait_for_status(order_id, "Submitted", timeout=5)
    before = _sent(gateway)
    for kwargs, field in (({"limit_price": -1}, "limit_price"), ({"stop_price": 99.0}, "stop_price"),
                          ({"quantity": 0}, "quantity"), ({"side": "SELL"}, "side"), ({}, "kwargs"),
                          ({"limit_price": 100.001}, "limit_price"), ({"tif": "NEVER"}, "tif")):
        with pytest.raises(ValidationError) as info:
            pa.orders.modify_order(order_id, **kwargs)
        assert info.value.field == field
    assert _sent(gateway) == before
    assert pa.orders.get_order(order_id).request.limit_price == 100.0


@pytest.mark.parametrize("limits, args, kwargs", [
    ({"orders.max_order_quantity": 50.0}, ("AAPL", "BUY", 51, "LMT"), {"limit_price": 100.0}),
    ({"orders.max_order_notional": 1000.0}, ("AAPL", "BUY", 11, "LMT"), {"limit_price": 100.0}),
    ({"orders.max_order_notional": 1000.0}, ("AAPL", "SELL", 11, "MKT"), {}),
])
def test_risk_limits(make_adapter: Any, gateway: Any, limits: dict[str, float], args: tuple[Any, ...],
                     kwargs: dict[str, Any]) -> None:
    pa = make_adapter(**limits)
    with pytest.raises(ValidationError):
        pa.orders.place_order(*args, **kwargs)
    assert gateway.stats().received["placeOrder"] == 0
    pa.orders.place_order("AAPL", "BUY", 5, "LMT", limit_price=100.0)
    wait_for(lambda: gateway.stats().received["placeOrder"] == 1)


def test_a_trailing_order_under_the_notional_limit_is_priced_at_its_trail_stop(make_adapter: Any,
                                                                               gateway: Any) -> None:
    """With ``orders.max_order_notional`` set and no quote cached, a trailing stop with a
    ``trail_stop_price`` is priced there (before: refused as "this market order", field
    ``order_type`` with the value ``MKT``); one without it is refused naming TRAIL and the way out."""
    pa = make_adapter(**{"orders.max_order_notional": 1000.0})
    with pytest.raises(ValidationError, match="trail_stop_price") as info:
        pa.orders.place_order("AAPL", "SELL", 5, "TRAIL", trailing_amount=1.0)
    assert (info.value.field, info.value.value) == ("order_type", "TRAIL")
    with pytest.raises(ValidationError, match="exceeds orders.max_order_notional"):
        pa.orders.place_order("AAPL", "SELL", 11, "TRAIL", trailing_amount=1.0, trail_stop_price=100.0)
    assert gateway.stats().received["placeOrder"] == 0
    order_id = pa.orders.place_order("AAPL", "SELL", 5, "TRAIL", trailing_amount=1.0, trail_stop_price=100.0)
    assert pa.orders.wait_for_status(order_id, ["PreSubmitted", "Submitted"], timeout=5)
    # IB moved the stop to the market less the trail (100 was looser): a modification that names
    # no stop is priced at the one in force (before: refused, nothing priced it)
    stop = wait_for(lambda: (pa.orders.get_order(order_id).request.extras.trail_stop_price or 0) > 100.0 and
                    pa.orders.get_order(order_id).request.extras.trail_stop_price)
    within = int(1000.0 // stop)
    pa.orders.modify_order(order_id, quantity=within)
    with pytest.raises(ValidationError, match="exceeds orders.max_order_notional"):
        pa.orders.modify_order(order_id, quantity=within + 1)
    wait_for(lambda: gateway.stats().received["placeOrder"] >= 2)  # the order and the one modification
    wait_for(lambda: pa.orders.get_order(order_id).request.quantity == within)  # IB confirmed it
    assert gateway.stats().received["placeOrder"] == 2


def test_live_port_is_refused_unless_enabled(make_adapter: Any, gateway: Any) -> None:
    pa = make_adapter(**{"orders.live_port": gateway.port})
    with pytest.raises(LiveTradingRefused):
        pa.orders.place_order("AAPL", "BUY", 10, "MKT")
    live = make_adapter(**{"orders.live_port": gateway.port, "orders.allow_live_trading": True})
    order_id = live.orders.place_order("AAPL", "BUY", 10, "MKT")
    live.orders.wait_for_status(order_id, "Filled", timeout=5)
    assert gateway.stats().received["placeOrder"] == 1


def test_live_account_is_refused(make_adapter: Any) -> None:
    with SimulatedGateway(host=LOOPBACK, port=0, seed=3, tick_interval=0.05, account="U7654321") as live_gw:
        pa = make_adapter(**{"ib_connection.port": live_gw.port})
        assert pa.connection.accounts == ("U7654321",)
        with pytest.raises(LiveTradingRefused, match="U7654321"):
            pa.orders.place_order("AAPL", "BUY", 10, "MKT")
        assert live_gw.stats().received["placeOrder"] == 0
        pa.disconnect()


def test_orders_fail_fast_when_disconnected_or_ib_link_lost(pa: Any, gateway: Any) -> None:
    gateway.send_system_code(1100)
    wait_for(lambda: not pa.connection.ib_link_ok)
    with pytest.raises(NotConnected):
        pa.orders.place_order("AAPL", "BUY", 10, "MKT")
    gateway.send_system_code(1102)
    wait_for(lambda: pa.connection.ib_link_ok)
    order_id = pa.orders.place_order("AAPL", "BUY", 10, "LMT", limit_price=100.0)
    pa.orders.wait_for_status(order_id, "Submitted", timeout=5)
    pa.disconnect()
    for call in (lambda: pa.orders.place_order("AAPL", "BUY", 10, "MKT"),
                 lambda: pa.orders.cancel_order(order_id),
                 lambda: pa.orders.modify_order(order_id, limit_price=101.0)):
        with pytest.raises(NotConnected):
            call()
    assert gateway.stats().received["placeOrder"] == 1
