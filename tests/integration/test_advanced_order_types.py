"""One-cancels-all groups, trailing stops and the time-in-force choices over TCP against the
simulator: what goes on the wire, what the simulator's matching engine then does, and what the
adapter reports. The market stands still (long tick interval); each test moves it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from platform_adapter import ContractSpec, OcaGroup, OcaType, OrderRejected, OrderState, SecType, ValidationError
from platform_adapter.sim import SimulatedGateway
from tests.conftest import sim_order, still_gateway, wait_for

VERSIONS = [176, 226]


@pytest.fixture(params=VERSIONS, ids=[f"v{v}" for v in VERSIONS])
def gateway(request: pytest.FixtureRequest) -> Iterator[SimulatedGateway]:
    with still_gateway(request.param) as gw:
        yield gw


def state(pa: Any, order_id: int) -> OrderState:
    return pa.orders.get_order_status(order_id).status


def wait_state(pa: Any, order_id: int, wanted: OrderState) -> None:
    wait_for(lambda: state(pa, order_id) is wanted, timeout=5)


# --- OCA groups ---------------------------------------------------------------------------------
def test_an_oca_group_one_fill_cancels_the_others(pa: Any, gateway: Any) -> None:
    group = pa.orders.place_oca_group([
        {"symbol": "AAPL", "action": "BUY", "quantity": 100, "order_type": "LMT", "limit_price": 188.0},
        {"symbol": "AAPL", "action": "BUY", "quantity": 100, "order_type": "LMT", "limit_price": 186.0},
        {"symbol": "AAPL", "action": "SELL", "quantity": 100, "order_type": "STP", "stop_price": 180.0},
    ])
    assert isinstance(group, OcaGroup) and group.oca_type is OcaType.CANCEL_WITH_BLOCK and len(group.order_ids) == 3
    for oid in group.order_ids:
        wait_state(pa, oid, OrderState.SUBMITTED if oid != group.order_ids[2] else OrderState.PRE_SUBMITTED)
        sim = sim_order(gateway, pa, oid)
        assert (sim.oca_group, sim.oca_type, sim.transmit) == (group.name, 1, True)
        extras = pa.orders.get_order(oid).request.extras
        assert (extras.oca_group, extras.oca_type) == (group.name, OcaType.CANCEL_WITH_BLOCK)
    gateway.set_price("AAPL", 187.5)
    wait_state(pa, group.order_ids[0], OrderState.FILLED)
    wait_state(pa, group.order_ids[1], OrderState.CANCELLED)
    wait_state(pa, group.order_ids[2], OrderState.CANCELLED)


def test_oca_keyword_arguments_with_reduce_with_block(pa: Any, gateway: Any) -> None:
    first = pa.orders.place_order("AAPL", "SELL", 100, "LMT", limit_price=192.0, oca_group="exits", oca_type=2)
    second = pa.orders.place_order("AAPL", "SELL", 100, "LMT", limit_price=193.0, oca_group="exits",
                                   oca_type=OcaType.REDUCE_WITH_BLOCK)
    wait_state(pa, second, OrderState.SUBMITTED)
    assert [(o.oca_group, o.oca_type) for o in (sim_order(gateway, pa, first), sim_order(gateway, pa, second))] \
        == [("exits", 2), ("exits", 2)]
    gateway.set_price("AAPL", 192.5)
    wait_state(pa, first, OrderState.FILLED)
    wait_state(pa, second, OrderState.CANCELLED)  # reduced by the whole 100


def test_an_oca_member_placed_after_another_filled_is_rejected_not_filled(pa: Any, gateway: Any) -> None:
    # the first member is marketable and fills as it arrives; IB refuses the second (201 "OCA group
    # is already filled"): one position, not two
    fills: list[Any] = []
    pa.orders.on_fill(fills.append)
    group = pa.orders.place_oca_group([
        {"symbol": "AAPL", "action": "BUY", "quantity": 10, "order_type": "LMT", "limit_price": 191.0},
        {"symbol": "AAPL", "action": "BUY", "quantity": 10, "order_type": "MKT"},
    ])
    first, second = group.order_ids
    assert pa.orders.wait_for_status(first, OrderState.FILLED, timeout=5).filled == 10
    with pytest.raises(OrderRejected) as info:
        pa.orders.wait_for_status(second, OrderState.FILLED, timeout=5)
    assert info.value.code == 201 and "OCA group is already filled" in str(info.value)
    assert pa.orders.get_order_status(second).filled == 0
    assert [(p.symbol, p.quantity) for p in pa.account.get_positions()] == [("AAPL", Decimal(10))]
    wait_for(lambda: len(fills) == 1, timeout=5)
    # the group's name stays used: a later order naming it is refused too
    with pytest.raises(OrderRejected):
        pa.orders.place_order_and_wait("AAPL", "BUY", 10, "MKT", oca_group=group.name, timeout=5)
    assert [(p.symbol, p.quantity) for p in pa.account.get_positions()] == [("AAPL", Decimal(10))]


def test_an_oca_partial_fill_reduces_the_others_as_the_adapter_sees_them(pa: Any, gateway: Any) -> None:
    # ocaType 2: 40 of one member's 100 filled cuts the others in proportion (50 -> 30), with the
    # adapter's cached order and status following IB's openOrder and orderStatus; a modification
    # of the reduced member then sends its reduced size, never the size it was placed with
    gateway.engine.partial_fill_size = 40  # the simulator's fills come in lots of 40
    group = pa.orders.place_oca_group([
        {"symbol": "AAPL", "action": "BUY", "quantity": 100, "order_type": "LMT", "limit_price": 189.0},
        {"symbol": "AAPL", "action": "BUY", "quantity": 50, "order_type": "LMT", "limit_price": 185.0},
    ], oca_type=OcaType.REDUCE_WITH_BLOCK)
    first, second = group.order_ids
    wait_state(pa, second, OrderState.SUBMITTED)
    gateway.set_price("AAPL", 189.0, bid=188.99, ask=189.0)  # 40 at 189.00; the next 40 would cost 189.01
    wait_for(lambda: pa.orders.get_order_status(first).filled == 40, timeout=5)
    wait_for(lambda: pa.orders.get_order(second).request.quantity == 30, timeout=5)
    assert pa.orders.get_order_status(second).remaining == 30
    assert state(pa, second) is OrderState.SUBMITTED
    pa.orders.modify_order(second, limit_price=186.0)
    wait_for(lambda: sim_order(gateway, pa, second).lmt_price == 186.0, timeout=5)
    assert sim_order(gateway, pa, second).total_qty == 30


def test_oca_group_arguments_are_checked_before_anything_is_sent(pa: Any, gateway: Any) -> None:
    good = {"symbol": "AAPL", "action": "BUY", "quantity": 10, "order_type": "LMT", "limit_price": 188.0}
    cases: list[tuple[Any, dict[str, Any], str]] = [
        ([good], {}, "orders"),
        ("AAPL", {}, "orders"),
        ([good, "AAPL"], {}, "orders[1]"),
        ([good, {"symbol": "AAPL", "action": "BUY", "quantity": 10}], {}, "orders[1]"),
        ([good, {**good, "oca_group": "mine"}], {}, "orders[1].oca_group"),
        ([good, {**good, "limit_price": -1.0}], {}, "orders[1].limit_price"),
        ([{**good, "quantity": 0}, good], {}, "orders[0].quantity"),
        ([good, {**good, "symbol": ContractSpec("EUR", SecType.FOREX, "IDEALPRO", 5)}], {},  # type: ignore[arg-type]
         "orders[1].symbol.currency"),
        ([good, good], {"oca_type": 5}, "oca_type"),
        ([good, good], {"oca_group": ""}, "oca_group"),
    ]
    for orders, kwargs, field in cases:
        with pytest.raises(ValidationError) as info:
            pa.orders.place_oca_group(orders, **kwargs)
        assert info.value.field == field, (orders, kwargs)
    assert gateway.stats().received["placeOrder"] == 0


# --- trailing stops -----------------------------------------------------------------------------
def test_a_trailing_buy_is_margined_at_the_market_not_at_its_trailing_amount(pa: Any, gateway: Any) -> None:
    # 100,000 AAPL at 190 need 4.75M of initial margin, the account has 1M: IB refuses the order
    # (201) whatever its type; a trailing amount of 1.00 is not a price of 1.00
    for order_type, kwargs in (("MKT", {}), ("TRAIL", {"trailing_amount": 1.0}),
                               ("TRAIL LIMIT", {"trailing_amount": 1.0, "limit_offset": 0.5})):
        with pytest.raises(OrderRejected) as info:
            pa.orders.place_order_and_wait("AAPL", "BUY", 100_000, order_type, timeout=5, **kwargs)
        assert info.value.code == 201 and "MUST EXCEED THE INITIAL MARGIN [4750" in str(info.value), order_type
    assert not gateway.engine.orders


def test_a_trailing_stop_by_amount_follows_the_market_and_fills(pa: Any, gateway: Any) -> None:
    order_id = pa.orders.place_order("AAPL", "SELL", 100, "TRAIL", trailing_amount=1.0)
    wait_state(pa, order_id, OrderState.PRE_SUBMITTED)
    sim = sim_order(gateway, pa, order_id)
    assert (sim.order_type, sim.aux_price, sim.trailing_percent) == ("TRAIL", 1.0, None)
    for price in (192.0, 193.5, 192.6):  # the stop trails up to 192.5
        gateway.set_price("AAPL", price)
    assert (sim_order(gateway, pa, order_id).filled, sim_order(gateway, pa, order_id).trail_stop_price) == (0, 192.5)
    gateway.set_price("AAPL", 192.4)
    wait_state(pa, order_id, OrderState.FILLED)
    assert pa.orders.get_order(order_id).request.extras.trailing_amount == 1.0


def test_a_trailing_stop_by_percent(pa: Any, gateway: Any) -> None:
    order_id = pa.orders.place_order("AAPL", "BUY", 10, "TRAIL", trailing_percent=1.0)
    wait_state(pa, order_id, OrderState.PRE_SUBMITTED)
    assert sim_order(gateway, pa, order_id).trailing_percent == 1.0
    gateway.set_price("AAPL", 185.0)
    gateway.set_price("AAPL", 186.9)
    wait_state(pa, order_id, OrderState.FILLED)
    extras = pa.orders.get_order(order_id).request.extras
    assert (extras.trailing_amount, extras.trailing_percent) == (None, 1.0)


def test_a_trailing_stop_limit_and_its_modification(pa: Any, gateway: Any) -> None:
    order_id = pa.orders.place_order("AAPL", "SELL", 100, "TRAIL LIMIT", trailing_amount=1.0, limit_offset=0.5,
                                     outside_rth=True)
    wait_state(pa, order_id, OrderState.PRE_SUBMITTED)
    sim = sim_order(gateway, pa, order_id)
    assert (sim.order_type, sim.aux_price, sim.lmt_price_offset, sim.outside_rth) == ("TRAIL LIMIT", 1.0, 0.5, True)
    pa.orders.modify_order(order_id, trailing_amount=2.0, limit_offset=0.25)
    wait_for(lambda: pa.orders.get_order(order_id).request.extras.trailing_amount == 2.0, timeout=5)
    assert pa.orders.get_order(order_id).request.extras.limit_offset == 0.25
    sim = sim_order(gateway, pa, order_id)
    assert (sim.aux_price, sim.lmt_price_offset) == (2.0, 0.25)
    wait_for(lambda: '"trailing_amount": 2.0' in pa.orders.journal.rows(
        "SELECT extras FROM orders WHERE order_id = ?", (order_id,))[0][0], timeout=5)
    pa.orders.modify_order(order_id, trailing_percent=1.0)  # a percent replaces the amount
    wait_for(lambda: pa.orders.get_order(order_id).request.extras.trailing_percent == 1.0, timeout=5)
    assert pa.orders.get_order(order_id).request.extras.trailing_amount is None
    with pytest.raises(ValidationError) as info:
        pa.orders.modify_order(order_id, limit_offset=-1.0)
    assert info.value.field == "limit_offset"


# --- time in force -----------------------------------------------------------------------------
def test_good_till_a_date_expires_with_the_clock(pa: Any, gateway: Any) -> None:
    until = datetime.now(timezone.utc) + timedelta(hours=2)
    order_id = pa.orders.place_order("AAPL", "BUY", 10, "LMT", limit_price=185.0, good_till=until)
    wait_state(pa, order_id, OrderState.SUBMITTED)
    sim = sim_order(gateway, pa, order_id)
    assert (sim.tif, sim.good_till_date) == ("GTD", until.strftime("%Y%m%d-%H:%M:%S"))
    assert pa.orders.get_order(order_id).request.tif.value == "GTD"
    gateway.advance_clock(3600)
    assert sim_order(gateway, pa, order_id).status == "Submitted"
    gateway.advance_clock(2 * 3600)
    wait_state(pa, order_id, OrderState.CANCELLED)


def test_good_till_in_ib_text_form(pa: Any, gateway: Any) -> None:
    order_id = pa.orders.place_order("AAPL", "BUY", 10, "LMT", limit_price=185.0, tif="GTD",
                                     good_till="20991231 16:00:00 US/Eastern")
    wait_state(pa, order_id, OrderState.SUBMITTED)
    assert sim_order(gateway, pa, order_id).good_till_date == "20991231 16:00:00 US/Eastern"


def test_immediate_or_cancel(pa: Any, gateway: Any) -> None:
    missed = pa.orders.place_order("AAPL", "BUY", 10, "LMT", limit_price=185.0, tif="IOC")
    wait_state(pa, missed, OrderState.CANCELLED)
    hit = pa.orders.place_order("AAPL", "BUY", 10, "LMT", limit_price=191.0, tif="IOC")
    wait_state(pa, hit, OrderState.FILLED)
    assert [sim_order(gateway, pa, i).tif for i in (missed, hit)] == ["IOC", "IOC"]


def test_market_on_open(pa: Any, gateway: Any) -> None:
    order_id = pa.orders.place_order("AAPL", "BUY", 10, "MKT", tif="OPG")
    wait_for(lambda: state(pa, order_id) in (OrderState.PRE_SUBMITTED, OrderState.SUBMITTED), timeout=5)
    gateway.set_price("AAPL", 185.0)
    gateway.run_auction("close")
    assert sim_order(gateway, pa, order_id).filled == 0
    gateway.run_auction("open")
    wait_state(pa, order_id, OrderState.FILLED)
    status = pa.orders.get_order_status(order_id)
    assert (status.filled, status.avg_fill_price) == (Decimal(10), 185.0)
