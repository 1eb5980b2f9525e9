"""Brackets over TCP against the simulator: IB's recipe on the wire (children carry the parent's
id, only the last transmits, the exits share one OCA group), the parent's fill activates the
exits, one exit's fill cancels the other, cancelling the parent cancels the exits, a modified
exit keeps its links, inconsistent prices are refused before anything is sent, and the bracket
is journalled and reconciled (nothing sent again) after a restart.

The simulator's market stands still (long tick interval); each test moves it with ``set_price``."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from platform_adapter import (
    BracketOrder,
    NotConnected,
    OcaType,
    OrderRejected,
    OrderState,
    OrderStateError,
    ValidationError,
)
from platform_adapter.models.order import TERMINAL_STATES
from platform_adapter.sim import SimulatedGateway
from tests.conftest import still_gateway, wait_for

VERSIONS = [176, 226]


@pytest.fixture(params=VERSIONS, ids=[f"v{v}" for v in VERSIONS])
def gateway(request: pytest.FixtureRequest) -> Iterator[SimulatedGateway]:
    with still_gateway(request.param) as gw:
        yield gw


def sim_orders(gateway: SimulatedGateway, client_id: int) -> dict[int, Any]:
    return {o.order_id: o for o in gateway.stats().orders if o.client_id == client_id}


def states(pa: Any, bracket: BracketOrder) -> list[OrderState]:
    return [pa.orders.get_order_status(i).status for i in bracket.order_ids]


def wait_states(pa: Any, bracket: BracketOrder, *wanted: OrderState) -> None:
    wait_for(lambda: states(pa, bracket) == list(wanted), timeout=5)


def test_a_buy_bracket_on_the_wire_then_the_take_profit_fills_and_the_stop_is_cancelled(pa: Any,
                                                                                       gateway: Any) -> None:
    fills: list[Any] = []
    pa.orders.on_fill(fills.append)
    bracket = pa.orders.place_bracket_order("AAPL", "BUY", 100, 189.0, 195.0, 185.0, tif="GTC")
    assert isinstance(bracket, BracketOrder)
    parent, take_profit, stop_loss = bracket.order_ids
    assert parent < take_profit < stop_loss
    wait_states(pa, bracket, OrderState.SUBMITTED, OrderState.PRE_SUBMITTED, OrderState.PRE_SUBMITTED)
    sim = sim_orders(gateway, pa.connection.client_id)
    assert [(sim[i].order_type, sim[i].action, sim[i].lmt_price, sim[i].aux_price, sim[i].parent_id, sim[i].tif)
            for i in bracket.order_ids] == [("LMT", "BUY", 189.0, None, 0, "GTC"),
                                            ("LMT", "SELL", 195.0, None, parent, "GTC"),
                                            ("STP", "SELL", None, 185.0, parent, "GTC")]
    ref = pa.orders.get_order(parent).order_ref
    assert [(sim[i].oca_group, sim[i].oca_type) for i in (take_profit, stop_loss)] == [(ref, 2), (ref, 2)]
    assert sim[parent].oca_group == ""
    for child in (take_profit, stop_loss):
        extras = pa.orders.get_order(child).request.extras
        assert (extras.parent_id, extras.oca_group, extras.oca_type) == (parent, ref, OcaType.REDUCE_WITH_BLOCK)
    assert pa.orders.get_order(parent).request.extras is None
    assert gateway.stats().received["placeOrder"] == 3

    gateway.set_price("AAPL", 196.0)  # the take profit's price, but the parent has not filled
    gateway.set_price("AAPL", 188.5)
    wait_states(pa, bracket, OrderState.FILLED, OrderState.SUBMITTED, OrderState.PRE_SUBMITTED)
    gateway.set_price("AAPL", 196.0)
    wait_states(pa, bracket, OrderState.FILLED, OrderState.FILLED, OrderState.CANCELLED)
    wait_for(lambda: len(fills) == 2)
    assert sorted((f.order_id, f.side, f.quantity) for f in fills) == [(parent, "BOT", Decimal(100)),
                                                                       (take_profit, "SLD", Decimal(100))]
    assert pa.orders.get_open_orders() == []


def test_a_sell_bracket_exits_at_its_stop(pa: Any, gateway: Any) -> None:
    bracket = pa.orders.place_bracket_order("AAPL", "SELL", 50, 191.0, 185.0, 195.0)
    wait_states(pa, bracket, OrderState.SUBMITTED, OrderState.PRE_SUBMITTED, OrderState.PRE_SUBMITTED)
    sim = sim_orders(gateway, pa.connection.client_id)
    assert [(sim[i].action, sim[i].order_type) for i in bracket.order_ids] == [("SELL", "LMT"), ("BUY", "LMT"),
                                                                                ("BUY", "STP")]
    gateway.set_price("AAPL", 191.5)
    wait_states(pa, bracket, OrderState.FILLED, OrderState.SUBMITTED, OrderState.PRE_SUBMITTED)
    gateway.set_price("AAPL", 195.5)
    wait_states(pa, bracket, OrderState.FILLED, OrderState.CANCELLED, OrderState.FILLED)


def test_cancelling_the_parent_cancels_the_exits(pa: Any, gateway: Any) -> None:
    bracket = pa.orders.place_bracket_order("AAPL", "BUY", 100, 189.0, 195.0, 185.0)
    wait_states(pa, bracket, OrderState.SUBMITTED, OrderState.PRE_SUBMITTED, OrderState.PRE_SUBMITTED)
    assert pa.orders.cancel_order(bracket.parent)
    wait_states(pa, bracket, OrderState.CANCELLED, OrderState.CANCELLED, OrderState.CANCELLED)
    assert gateway.stats().received["cancelOrder"] == 1
    gateway.set_price("AAPL", 150.0)
    gateway.set_price("AAPL", 200.0)
    assert not [o for o in gateway.stats().orders if o.filled]


def test_a_modified_exit_keeps_its_links_and_works_at_its_new_price(pa: Any, gateway: Any) -> None:
    bracket = pa.orders.place_bracket_order("AAPL", "BUY", 100, 189.0, 195.0, 185.0)
    wait_states(pa, bracket, OrderState.SUBMITTED, OrderState.PRE_SUBMITTED, OrderState.PRE_SUBMITTED)
    pa.orders.modify_order(bracket.stop_loss, stop_price=187.0)
    wait_for(lambda: pa.orders.get_order(bracket.stop_loss).request.stop_price == 187.0, timeout=5)
    sim = sim_orders(gateway, pa.connection.client_id)[bracket.stop_loss]
    ref = pa.orders.get_order(bracket.parent).order_ref
    assert (sim.aux_price, sim.parent_id, sim.oca_group, sim.oca_type, sim.transmit) == (187.0, bracket.parent, ref,
                                                                                         2, True)
    assert pa.orders.get_order(bracket.stop_loss).request.extras.parent_id == bracket.parent
    assert states(pa, bracket)[2] is OrderState.PRE_SUBMITTED  # still waiting for the parent
    gateway.set_price("AAPL", 188.5)
    wait_states(pa, bracket, OrderState.FILLED, OrderState.SUBMITTED, OrderState.PRE_SUBMITTED)
    gateway.set_price("AAPL", 186.9)
    wait_states(pa, bracket, OrderState.FILLED, OrderState.CANCELLED, OrderState.FILLED)
    assert gateway.stats().received["placeOrder"] == 4  # three placed, one modification


def test_a_bracket_whose_entry_is_rejected_leaves_no_order_working(pa: Any, gateway: Any) -> None:
    # IB refuses the entry (201); the exits then name a parent it does not have (135): they were
    # never placed either (before: they stayed PendingSubmit, "working", for the whole session)
    gateway.reject_next_order("no trading permissions")
    bracket = pa.orders.place_bracket_order("AAPL", "BUY", 100, 189.0, 195.0, 185.0)
    with pytest.raises(OrderRejected) as info:
        pa.orders.wait_for_status(bracket.parent, OrderState.FILLED, timeout=5)
    assert info.value.code == 201
    for exit_id in (bracket.take_profit, bracket.stop_loss):
        with pytest.raises(OrderRejected) as info:
            pa.orders.wait_for_status(exit_id, OrderState.FILLED, timeout=5)
        assert info.value.code == 135
    assert pa.orders.get_open_orders() == []
    assert not gateway.engine.orders
    pa.orders.reconcile()
    assert states(pa, bracket) == [OrderState.REJECTED] * 3


def test_the_stop_moved_to_break_even_after_the_entry_filled(pa: Any, gateway: Any) -> None:
    # the user guide's example: once the entry has filled, IB refuses a modification that still
    # names it as the parent (135); the adapter sends the exit's modification without it
    bracket = pa.orders.place_bracket_order("AAPL", "BUY", 100, 189.0, 195.0, 185.0)
    wait_states(pa, bracket, OrderState.SUBMITTED, OrderState.PRE_SUBMITTED, OrderState.PRE_SUBMITTED)
    gateway.set_price("AAPL", 188.5)
    wait_states(pa, bracket, OrderState.FILLED, OrderState.SUBMITTED, OrderState.PRE_SUBMITTED)
    assert pa.orders.modify_order(bracket.stop_loss, stop_price=189.0)
    wait_for(lambda: pa.orders.get_order(bracket.stop_loss).request.stop_price == 189.0, timeout=5)
    assert pa.orders.get_order_status(bracket.stop_loss).last_error == ""
    sim = sim_orders(gateway, pa.connection.client_id)[bracket.stop_loss]
    assert (sim.aux_price, sim.oca_group, sim.oca_type) == (189.0, pa.orders.get_order(bracket.parent).order_ref, 2)
    assert pa.orders.get_order(bracket.stop_loss).request.extras.parent_id == bracket.parent  # still its exit
    gateway.set_price("AAPL", 188.9)
    wait_states(pa, bracket, OrderState.FILLED, OrderState.CANCELLED, OrderState.FILLED)


def test_a_modification_keeps_the_bracket_in_order_while_the_entry_works(pa: Any, gateway: Any) -> None:
    # placement refuses take profit <= entry or stop loss >= entry (a BUY); a modification did not:
    # an entry moved to 196 over a 195 take profit would buy, then sell at once at a loss
    bracket = pa.orders.place_bracket_order("AAPL", "BUY", 100, 189.0, 195.0, 185.0)
    wait_states(pa, bracket, OrderState.SUBMITTED, OrderState.PRE_SUBMITTED, OrderState.PRE_SUBMITTED)
    placed = gateway.stats().received["placeOrder"]
    for order_id, kwargs, field in ((bracket.parent, {"limit_price": 196.0}, "limit_price"),
                                    (bracket.parent, {"limit_price": 185.0}, "limit_price"),
                                    (bracket.take_profit, {"limit_price": 188.0}, "limit_price"),
                                    (bracket.stop_loss, {"stop_price": 189.0}, "stop_price")):
        with pytest.raises(ValidationError) as info:
            pa.orders.modify_order(order_id, **kwargs)
        assert info.value.field == field, kwargs
    assert gateway.stats().received["placeOrder"] == placed
    pa.orders.modify_order(bracket.parent, limit_price=189.5)  # still between the exits
    wait_for(lambda: pa.orders.get_order(bracket.parent).request.limit_price == 189.5, timeout=5)
    sell = pa.orders.place_bracket_order("AAPL", "SELL", 10, 191.0, 185.0, 195.0)
    wait_states(pa, sell, OrderState.SUBMITTED, OrderState.PRE_SUBMITTED, OrderState.PRE_SUBMITTED)
    with pytest.raises(ValidationError):
        pa.orders.modify_order(sell.stop_loss, stop_price=190.0)  # a SELL's stop stays above its entry
    gateway.set_price("AAPL", 189.0)  # the BUY entry fills: its exits move freely now
    wait_states(pa, bracket, OrderState.FILLED, OrderState.SUBMITTED, OrderState.PRE_SUBMITTED)
    pa.orders.modify_order(bracket.stop_loss, stop_price=189.5)  # above the entry: locks in a gain
    wait_for(lambda: pa.orders.get_order(bracket.stop_loss).request.stop_price == 189.5, timeout=5)


def quantities(pa: Any, bracket: BracketOrder) -> list[Decimal]:
    return [pa.orders.get_order(i).request.quantity for i in bracket.order_ids]


def test_resizing_the_entry_resizes_its_exits(pa: Any, gateway: Any) -> None:
    # a modification changes the one order it names: an entry raised to 150 with exits for 100
    # would leave 50 shares unprotected once filled, and long after the take profit
    bracket = pa.orders.place_bracket_order("AAPL", "BUY", 100, 189.0, 195.0, 185.0)
    wait_states(pa, bracket, OrderState.SUBMITTED, OrderState.PRE_SUBMITTED, OrderState.PRE_SUBMITTED)
    assert pa.orders.modify_order(bracket.parent, quantity=150)
    wait_for(lambda: quantities(pa, bracket) == [150, 150, 150], timeout=5)
    sim = sim_orders(gateway, pa.connection.client_id)
    assert [sim[i].total_qty for i in bracket.order_ids] == [150, 150, 150]
    assert [sim[i].parent_id for i in bracket.order_ids] == [0, bracket.parent, bracket.parent]
    gateway.set_price("AAPL", 188.5)
    wait_states(pa, bracket, OrderState.FILLED, OrderState.SUBMITTED, OrderState.PRE_SUBMITTED)
    gateway.set_price("AAPL", 196.0)
    wait_states(pa, bracket, OrderState.FILLED, OrderState.FILLED, OrderState.CANCELLED)
    assert pa.orders.get_order_status(bracket.take_profit).filled == 150
    assert pa.account.get_positions() == []  # flat: everything bought was sold


def test_an_exit_sized_on_its_own_keeps_its_size_and_a_bad_size_is_refused(pa: Any, gateway: Any) -> None:
    bracket = pa.orders.place_bracket_order("AAPL", "BUY", 100, 189.0, 195.0, 185.0)
    wait_states(pa, bracket, OrderState.SUBMITTED, OrderState.PRE_SUBMITTED, OrderState.PRE_SUBMITTED)
    pa.orders.modify_order(bracket.take_profit, quantity=60)
    wait_for(lambda: quantities(pa, bracket) == [100, 60, 100], timeout=5)
    pa.orders.modify_order(bracket.parent, quantity=80)
    wait_for(lambda: quantities(pa, bracket) == [80, 60, 80], timeout=5)
    placed = gateway.stats().received["placeOrder"]
    with pytest.raises(ValidationError):
        pa.orders.modify_order(bracket.parent, quantity=0)
    assert gateway.stats().received["placeOrder"] == placed


@pytest.mark.parametrize("action, entry, take_profit, stop_loss, field", [
    ("BUY", 189.0, 188.0, 185.0, "take_profit_price"),
    ("BUY", 189.0, 189.0, 185.0, "take_profit_price"),
    ("BUY", 189.0, 195.0, 190.0, "stop_loss_price"),
    ("BUY", 189.0, 195.0, 189.0, "stop_loss_price"),
    ("SELL", 191.0, 192.0, 195.0, "take_profit_price"),
    ("SELL", 191.0, 185.0, 190.0, "stop_loss_price"),
    ("BUY", -1.0, 195.0, 185.0, "limit_price"),
    ("BUY", 189.0, None, 185.0, "take_profit_price"),
    ("BUY", 189.0, 195.0, 185.001, "stop_price"),  # off the tick
    ("HOLD", 189.0, 195.0, 185.0, "action"),
])
def test_inconsistent_brackets_are_refused_before_anything_is_sent(pa: Any, gateway: Any, action: str, entry: Any,
                                                                  take_profit: Any, stop_loss: Any,
                                                                  field: str) -> None:
    pa.contracts.resolve("AAPL")
    before = sum(gateway.stats().received.values())
    with pytest.raises(ValidationError) as info:
        pa.orders.place_bracket_order("AAPL", action, 100, entry, take_profit, stop_loss)
    assert info.value.field == field
    assert sum(gateway.stats().received.values()) == before
    assert pa.state.trades_snapshot() == []


def test_bracket_arguments_are_checked(pa: Any, gateway: Any) -> None:
    for kwargs, field in (({"oca_group": "x"}, "oca_group"), ({"stop_price": 1.0}, "stop_price"),
                          ({"account": "DU999"}, "account"), ({"tif": "OPG"}, "tif")):
        with pytest.raises(ValidationError) as info:
            pa.orders.place_bracket_order("AAPL", "BUY", 100, 189.0, 195.0, 185.0, **kwargs)
        assert info.value.field == field
    assert gateway.stats().received["placeOrder"] == 0


def test_a_bracket_is_journalled_and_reconciled_after_a_restart_without_being_sent_again(
        make_adapter: Any, gateway: Any) -> None:
    pa = make_adapter(client_id=7)
    bracket = pa.orders.place_bracket_order("AAPL", "BUY", 100, 189.0, 195.0, 185.0, order_ref="swing")
    wait_states(pa, bracket, OrderState.SUBMITTED, OrderState.PRE_SUBMITTED, OrderState.PRE_SUBMITTED)
    before = {i: pa.orders.get_order(i).request for i in bracket.order_ids}
    assert all(r.order_ref.endswith("-swing") for r in before.values())
    pa.disconnect()
    gateway.set_price("AAPL", 188.5)  # the parent fills while nobody is connected
    again = make_adapter(client_id=7)
    assert {i: again.orders.get_order(i).request for i in bracket.order_ids} == before
    wait_states(again, bracket, OrderState.FILLED, OrderState.SUBMITTED, OrderState.PRE_SUBMITTED)
    assert gateway.stats().received["placeOrder"] == 3
    assert again.orders.cancel_order(bracket.take_profit)
    wait_states(again, bracket, OrderState.FILLED, OrderState.CANCELLED, OrderState.PRE_SUBMITTED)


def test_a_bracket_cut_short_by_a_dropped_link_is_withdrawn_after_the_reconnect(pa: Any, gateway: Any) -> None:
    # the link drops as the entry (transmit=False) reaches the gateway: the exits never follow, so
    # the entry waits there untransmitted; cancelling it fails while the link is down. It must be
    # cancelled once the link is back (before: it stayed "working", and a modification transmitted
    # the entry alone, without its stop loss)
    # Either the adapter sees the drop while it sends (NotConnected, the members it sent withdrawn
    # after the reconnect), or the exits go into the dying socket unnoticed and the reconnect's
    # reconciliation finds them never sent (Rejected), which withdraws the entry as well
    gateway.drop_on_next_place_order()
    try:
        pa.orders.place_bracket_order("AAPL", "BUY", 100, 189.0, 195.0, 185.0)
    except NotConnected:
        pass
    parent = min(o.order_id for o in pa.state.trades_snapshot())
    wait_for(lambda: pa.orders.get_order_status(parent).status is OrderState.CANCELLED, timeout=10)
    wait_for(lambda: all(o.status.status in TERMINAL_STATES for o in pa.state.trades_snapshot()), timeout=10)
    held = sim_orders(gateway, pa.connection.client_id)
    assert held and all(o.status == "Cancelled" for o in held.values())
    assert pa.orders.get_open_orders() == []
    wait_for(lambda: pa.orders.withdrawing == set(), timeout=5)  # emptied once the cancels are sent
    gateway.set_price("AAPL", 188.5)  # through the entry's limit: nothing trades
    assert not [o for o in gateway.stats().orders if o.filled]
    with pytest.raises(OrderStateError):
        pa.orders.modify_order(parent, limit_price=189.5)
