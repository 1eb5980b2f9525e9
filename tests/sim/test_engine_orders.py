"""The matching engine as IB behaves, step by step: brackets, transmit groups, OCA groups, each
order type, auctions, time in force, trading hours, conditions, what-if and refusals.

The gateway is not started: the test sets every price (``set_price``: bid and ask one tick
around the last trade) and moves the clock, and reads what each client was sent."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from platform_adapter.sim import messages, order_types, server
from platform_adapter.sim.contracts import BY_CONID
from platform_adapter.sim.requests import OrderCondition
from platform_adapter.sim.server import SimulatedGateway
from tests.sim.engine_client import Client, decode_open_order, order, position, price_condition, time_condition

ET = ZoneInfo("US/Eastern")
FRIDAY = dt.datetime(2026, 12, 4, tzinfo=ET)  # a weekday


@pytest.fixture
def gw() -> SimulatedGateway:
    g = SimulatedGateway(tick_interval=3600)
    g.set_price("AAPL", 190.0)
    g.set_price("MSFT", 410.0)
    return g


@pytest.fixture
def client(gw: SimulatedGateway) -> Client:
    return Client(gw)


def bracket(client: Client, entry: float = 189.0, take_profit: float = 195.0, stop_loss: float = 185.0,
            qty: float = 100) -> None:
    """IB's bracket: parent LMT and take profit held (transmit=False), the stop loss transmits."""
    client.place(1, "BUY", qty, "LMT", lmt_price=entry, transmit=False)
    client.place(2, "SELL", qty, "LMT", lmt_price=take_profit, parent_id=1, transmit=False)
    client.place(3, "SELL", qty, "STP", aux_price=stop_loss, parent_id=1)


# --- brackets -------------------------------------------------------------------------------

def test_bracket_children_are_held_until_the_parent_fills(gw: SimulatedGateway, client: Client) -> None:
    bracket(client)
    assert client.statuses(1) == ["PendingSubmit", "Submitted"]
    assert client.statuses(2) == ["PendingSubmit", "PreSubmitted"]
    assert client.statuses(3) == ["PreSubmitted"]
    gw.set_price("AAPL", 196.0)  # the take profit's limit is reached while the parent is not filled
    assert [order(gw, i).filled for i in (1, 2, 3)] == [0, 0, 0]
    assert [order(gw, i).status for i in (1, 2, 3)] == ["Submitted", "PreSubmitted", "PreSubmitted"]
    assert position(gw, "AAPL") == 0
    gw.set_price("AAPL", 188.5)
    assert order(gw, 1).status == "Filled" and order(gw, 1).avg_fill_price == 188.51
    assert client.statuses(2)[-1] == "Submitted" and client.statuses(3)[-1] == "PreSubmitted"
    gw.set_price("AAPL", 196.0)
    assert order(gw, 2).status == "Filled" and order(gw, 2).avg_fill_price == 195.99
    assert order(gw, 3).status == "Cancelled" and client.codes(3) == [202]
    assert position(gw, "AAPL") == 0


def test_bracket_stop_loss_fills_and_cancels_the_take_profit(gw: SimulatedGateway, client: Client) -> None:
    bracket(client)
    gw.set_price("AAPL", 188.0)
    gw.set_price("AAPL", 184.9)
    assert order(gw, 3).status == "Filled" and order(gw, 2).status == "Cancelled"
    assert client.statuses(3)[-3:] == ["PreSubmitted", "Submitted", "Filled"]


def test_a_partial_take_profit_reduces_the_stop_loss() -> None:
    gw = SimulatedGateway(tick_interval=3600, partial_fill_size=40)
    gw.set_price("AAPL", 190.0)
    client = Client(gw)
    bracket(client, entry=191.0, take_profit=190.0)  # the parent fills at once (in 40s, walking up)
    assert order(gw, 1).status == "Filled"
    gw.set_price("AAPL", 190.01)  # bid 190.00: 40 at the limit, the next 40 would be below it
    assert order(gw, 2).filled == 40 and order(gw, 2).status == "Submitted"
    assert order(gw, 3).total_qty == 60 and order(gw, 3).status == "PreSubmitted"
    gw.set_price("AAPL", 184.0)
    assert order(gw, 3).status == "Filled" and order(gw, 3).filled == 60
    assert order(gw, 2).status == "Cancelled" and position(gw, "AAPL") == 0


def test_cancelling_the_parent_cancels_its_children(gw: SimulatedGateway, client: Client) -> None:
    bracket(client)
    client.cancel(1)
    assert [order(gw, i).status for i in (1, 2, 3)] == ["Cancelled"] * 3
    assert client.codes(2) == client.codes(3) == [202]
    gw.set_price("AAPL", 150.0)
    assert not gw.engine.executions


def test_a_child_of_an_unknown_parent_is_refused(gw: SimulatedGateway, client: Client) -> None:
    client.place(7, "SELL", 100, "LMT", lmt_price=195.0, parent_id=6)
    assert client.errors == [(7, 135, "Can't find order with id = 6")]
    assert (1, 7) not in gw.engine.orders


def test_modifying_a_child_keeps_it_attached(gw: SimulatedGateway, client: Client) -> None:
    bracket(client)
    client.place(3, "SELL", 100, "STP", aux_price=186.0, parent_id=1)
    assert order(gw, 3).aux_price == 186.0 and order(gw, 3).awaiting_parent
    assert client.statuses(3)[-1] == "PreSubmitted" and client.open_orders()[-1][2].parentId == 1
    gw.set_price("AAPL", 188.0)  # the parent fills; the stop (186) is not reached
    assert order(gw, 1).status == "Filled" and order(gw, 3).status == "PreSubmitted"
    gw.set_price("AAPL", 186.0)  # the old stop (185) would not trigger here
    assert order(gw, 3).status == "Filled" and order(gw, 2).status == "Cancelled"


def test_a_child_of_a_filled_parent_is_active_at_once(gw: SimulatedGateway, client: Client) -> None:
    client.place(1, "BUY", 100, "MKT")
    client.place(2, "SELL", 100, "LMT", lmt_price=189.0, parent_id=1)
    assert order(gw, 2).status == "Filled" and position(gw, "AAPL") == 0


# --- transmit ---------------------------------------------------------------------------------

def test_an_untransmitted_order_is_held_until_transmitted(gw: SimulatedGateway, client: Client) -> None:
    client.place(1, "BUY", 100, "LMT", lmt_price=191.0, transmit=False)
    gw.set_price("AAPL", 189.0)
    assert order(gw, 1).status == "PendingSubmit" and not gw.engine.executions
    client.place(1, "BUY", 100, "LMT", lmt_price=190.0, transmit=False)  # still held, modified
    assert order(gw, 1).lmt_price == 190.0 and order(gw, 1).filled == 0
    client.place(1, "BUY", 100, "LMT", lmt_price=190.0)
    assert order(gw, 1).status == "Filled" and client.statuses(1)[-2:] == ["Submitted", "Filled"]


def test_an_untransmitted_order_can_be_cancelled(gw: SimulatedGateway, client: Client) -> None:
    client.place(1, "BUY", 100, "LMT", lmt_price=191.0, transmit=False)
    client.cancel(1)
    assert order(gw, 1).status == "Cancelled"


def test_an_exit_modified_with_its_filled_parents_id_is_refused(gw: SimulatedGateway, client: Client) -> None:
    # IB no longer finds a filled parent: a modification of its exit naming it gets 135 and the
    # exit works on unchanged (users' logs: "Error 135 ... Can't find order with id = <parent>",
    # the modification going through once sent with parentId 0)
    bracket(client)
    gw.set_price("AAPL", 188.5)
    assert order(gw, 1).status == "Filled" and order(gw, 3).status == "PreSubmitted"  # a stop not triggered
    client.place(3, "SELL", 100, "STP", aux_price=188.0, parent_id=1)
    assert (3, 135, "Can't find order with id = 1") in client.errors
    assert order(gw, 3).aux_price == 185.0 and order(gw, 3).status == "PreSubmitted"
    client.place(3, "SELL", 100, "STP", aux_price=188.0)
    assert order(gw, 3).aux_price == 188.0 and client.codes(3) == [135]
    gw.set_price("AAPL", 187.9)
    assert order(gw, 3).status == "Filled" and order(gw, 2).status == "Cancelled"


def test_the_last_member_transmits_an_oca_group(gw: SimulatedGateway, client: Client) -> None:
    client.place(1, "BUY", 100, "LMT", lmt_price=180.0, oca_group="g", oca_type=1, transmit=False)
    client.place(2, "BUY", 10, "LMT", lmt_price=400.0, symbol="MSFT", oca_group="g", oca_type=1)
    assert order(gw, 1).status == order(gw, 2).status == "Submitted"


# --- OCA groups -------------------------------------------------------------------------------

def test_oca_cancel_with_block(gw: SimulatedGateway, client: Client) -> None:
    client.place(1, "BUY", 100, "LMT", lmt_price=185.0, oca_group="g1", oca_type=1)
    client.place(2, "BUY", 10, "LMT", lmt_price=400.0, symbol="MSFT", oca_group="g1", oca_type=1)
    gw.set_price("MSFT", 399.0)
    assert order(gw, 2).status == "Filled" and order(gw, 1).status == "Cancelled"
    gw.set_price("AAPL", 180.0)
    assert position(gw, "AAPL") == 0


def test_oca_reduce_with_block_never_overfills(gw: SimulatedGateway, client: Client) -> None:
    client.place(1, "BUY", 100, "LMT", lmt_price=185.0, oca_group="g2", oca_type=2)
    client.place(2, "BUY", 100, "LMT", lmt_price=185.0, oca_group="g2", oca_type=2)
    gw.set_price("AAPL", 184.0)  # both marketable in the same pass
    assert order(gw, 1).status == "Filled" and order(gw, 2).status == "Cancelled"
    assert position(gw, "AAPL") == 100


def test_oca_reduce_without_block_may_overfill(gw: SimulatedGateway, client: Client) -> None:
    client.place(1, "BUY", 100, "LMT", lmt_price=185.0, oca_group="g3", oca_type=3)
    client.place(2, "BUY", 100, "LMT", lmt_price=185.0, oca_group="g3", oca_type=3)
    gw.set_price("AAPL", 184.0)
    assert order(gw, 1).filled == order(gw, 2).filled == 100
    assert position(gw, "AAPL") == 200


def test_oca_reduce_is_proportional() -> None:
    gw = SimulatedGateway(tick_interval=3600, partial_fill_size=40)
    gw.set_price("AAPL", 190.0)
    client = Client(gw)
    client.place(1, "BUY", 100, "LMT", lmt_price=190.01, oca_group="g4", oca_type=2)  # fills 40
    client.place(2, "BUY", 50, "LMT", lmt_price=180.0, oca_group="g4", oca_type=2)
    assert order(gw, 1).filled == 40
    assert order(gw, 2).total_qty == 50  # placed after the fill: not reduced
    gw.set_price("AAPL", 190.0)  # ask 190.01: 40 more
    assert order(gw, 1).filled == 80 and order(gw, 2).total_qty == 30  # 50 - 40 * 50/100


def test_an_order_joining_an_oca_group_after_a_fill_is_rejected(gw: SimulatedGateway, client: Client) -> None:
    # IB refuses an order whose OCA group has already filled (201 "OCA group is already filled.",
    # seen on a paper account): it never works next to the fill
    client.place(1, "BUY", 10, "LMT", lmt_price=191.0, oca_group="g5", oca_type=1)  # marketable: fills
    assert order(gw, 1).status == "Filled"
    client.place(2, "BUY", 10, "MKT", oca_group="g5", oca_type=1)
    assert (2, 201, "Order rejected - reason:OCA group is already filled.") in client.errors
    assert position(gw, "AAPL") == 10
    client.place(3, "BUY", 10, "MKT", oca_group="g5", oca_type=2)  # the group's name, whatever its type
    assert position(gw, "AAPL") == 10 and client.codes(3) == [201]


# --- order types ------------------------------------------------------------------------------

def test_trailing_stop_follows_the_price_up_and_triggers_on_the_way_down(gw: SimulatedGateway,
                                                                          client: Client) -> None:
    client.place(1, "SELL", 100, "TRAIL", aux_price=1.0)
    assert order(gw, 1).trail_stop_price == 189.0 and order(gw, 1).status == "PreSubmitted"
    for last, stop in ((191.0, 190.0), (193.5, 192.5), (192.8, 192.5), (193.0, 192.5)):
        gw.set_price("AAPL", last)
        assert order(gw, 1).trail_stop_price == stop and order(gw, 1).filled == 0
    gw.set_price("AAPL", 192.5)
    assert order(gw, 1).status == "Filled" and order(gw, 1).avg_fill_price == 192.49
    assert client.open_orders()[0][2].trailStopPrice == 189.0


def test_trailing_percent_buy_stop_follows_the_price_down(gw: SimulatedGateway, client: Client) -> None:
    client.place(1, "BUY", 10, "TRAIL", trailing_percent=1.0)
    assert order(gw, 1).trail_stop_price == 191.9  # 190 + 1%
    gw.set_price("AAPL", 180.0)
    assert order(gw, 1).trail_stop_price == 181.8
    gw.set_price("AAPL", 185.0)
    assert order(gw, 1).status == "Filled" and order(gw, 1).avg_fill_price == 185.01


def test_trailing_stop_limit_takes_its_limit_at_the_trigger(gw: SimulatedGateway, client: Client) -> None:
    client.place(1, "SELL", 100, "TRAIL LIMIT", aux_price=1.0, lmt_price_offset=0.5, trail_stop_price=188.0)
    assert order(gw, 1).trail_stop_price == 189.0  # the given stop, raised by the trail
    gw.set_price("AAPL", 188.0)  # gaps through the stop: limit 188.50, bid 187.99
    assert order(gw, 1).lmt_price == 188.5 and order(gw, 1).status == "Submitted" and order(gw, 1).filled == 0
    gw.set_price("AAPL", 188.6)
    assert order(gw, 1).status == "Filled" and order(gw, 1).avg_fill_price == 188.59


# IB's TWS guide (trailing stop, trailing stop limit): the initial stop is the market -/+ the trail;
# a stop price given and looser than that is discarded, a tighter one is kept; then it only ratchets
@pytest.mark.parametrize("action, given, start, holding, trigger", [
    ("SELL", 189.5, 189.5, 189.6, 189.5),  # tighter than 190 - 1: kept, triggers there (not at 189)
    ("SELL", 185.0, 189.0, 189.1, 189.0),  # looser: discarded, the market's stop instead
    ("BUY", 190.5, 190.5, 190.4, 190.5),  # tighter than 190 + 1
    ("BUY", 195.0, 191.0, 190.9, 191.0),  # looser
])
def test_a_trailing_stop_starts_at_its_trail_stop_price(gw: SimulatedGateway, client: Client, action: str,
                                                         given: float, start: float, holding: float,
                                                         trigger: float) -> None:
    client.place(1, action, 100, "TRAIL", aux_price=1.0, trail_stop_price=given)
    assert order(gw, 1).trail_stop_price == start and order(gw, 1).status == "PreSubmitted"
    assert client.open_orders()[-1][2].trailStopPrice == start  # reported as it starts
    gw.set_price("AAPL", holding)
    assert order(gw, 1).trail_stop_price == start and order(gw, 1).filled == 0
    gw.set_price("AAPL", trigger)
    assert order(gw, 1).status == "Filled"


def test_a_trailing_amount_loosened_by_a_modification_keeps_the_stop(gw: SimulatedGateway, client: Client) -> None:
    """What IB does with the stop when the trail of a working order is loosened is not documented
    (docs/simulator.md): the simulator keeps the stop (it only ratchets); a tighter trail or an
    explicit tighter stop moves it at once; an explicit looser stop is treated as at placement
    (discarded: the market -/+ the trail instead). openOrder reports the stop in force."""
    client.place(1, "SELL", 100, "TRAIL", aux_price=1.0)
    gw.set_price("AAPL", 193.5)
    assert order(gw, 1).trail_stop_price == 192.5
    client.place(1, "SELL", 100, "TRAIL", aux_price=3.0)  # looser
    assert order(gw, 1).trail_stop_price == 192.5 and client.open_orders()[-1][2].trailStopPrice == 192.5
    gw.set_price("AAPL", 195.0)  # 195 - 3 = 192 is below the stop: it stays
    assert order(gw, 1).trail_stop_price == 192.5
    gw.set_price("AAPL", 196.0)
    assert order(gw, 1).trail_stop_price == 193.0
    client.place(1, "SELL", 100, "TRAIL", aux_price=0.5)  # tighter: 196 - 0.5
    assert order(gw, 1).trail_stop_price == 195.5 and client.open_orders()[-1][2].trailStopPrice == 195.5
    client.place(1, "SELL", 100, "TRAIL", aux_price=0.5, trail_stop_price=195.75)
    assert order(gw, 1).trail_stop_price == 195.75
    client.place(1, "SELL", 100, "TRAIL", aux_price=0.5, trail_stop_price=190.0)  # looser: 196 - 0.5 instead
    assert order(gw, 1).trail_stop_price == 195.5 and client.open_orders()[-1][2].trailStopPrice == 195.5
    gw.set_price("AAPL", 195.6)
    assert order(gw, 1).filled == 0
    gw.set_price("AAPL", 195.5)
    assert order(gw, 1).status == "Filled"


@pytest.mark.parametrize("sv", [100, 124, 145, 151, 156, 176, 200, 201, 203, 207, 213, 222, 226])
def test_open_order_reports_the_trailing_stop_at_every_version(gw: SimulatedGateway, sv: int) -> None:
    """openOrder carries the stop (trailStopPrice) as stock ibapi decodes it, text or protobuf."""
    client = Client(gw, sv=sv)
    client.place(1, "SELL", 100, "TRAIL LIMIT", aux_price=1.0, lmt_price_offset=0.5, trail_stop_price=189.5)
    client.place(2, "BUY", 100, "TRAIL", trailing_percent=1.0)
    assert {oid: o.trailStopPrice for oid, _, o, _ in client.open_orders()} == {1: 189.5, 2: 191.9}
    gw.set_price("AAPL", 191.0)  # the sell's stop rises to 190; the buy's stays (191 + 1% is higher)
    now = {oid: decode_open_order(messages.open_order(sv, order(gw, oid), BY_CONID[265598]), sv)[2].trailStopPrice
           for oid in (1, 2)}
    assert now == {1: 190.0, 2: 191.9}


def test_market_if_touched(gw: SimulatedGateway, client: Client) -> None:
    client.place(1, "BUY", 100, "MIT", aux_price=188.0)
    client.place(2, "SELL", 100, "LIT", aux_price=192.0, lmt_price=191.0)
    gw.set_price("AAPL", 189.0)
    assert order(gw, 1).filled == 0 and order(gw, 1).status == "PreSubmitted"
    gw.set_price("AAPL", 188.0)
    assert order(gw, 1).status == "Filled" and order(gw, 1).avg_fill_price == 188.01
    gw.set_price("AAPL", 192.0)
    assert order(gw, 2).status == "Filled" and order(gw, 2).avg_fill_price == 191.99


def test_market_on_close_waits_for_the_close_auction(gw: SimulatedGateway, client: Client) -> None:
    client.place(1, "BUY", 100, "MOC")
    client.place(2, "SELL", 100, "LOC", lmt_price=200.0)
    client.place(3, "BUY", 100, "LOC", lmt_price=191.0)
    gw.set_price("AAPL", 190.5)
    assert not gw.engine.executions and order(gw, 1).status == "Submitted"
    gw.run_auction("open")
    assert not gw.engine.executions
    gw.run_auction("close")
    assert order(gw, 1).status == "Filled" and order(gw, 1).avg_fill_price == 190.5
    assert order(gw, 3).status == "Filled" and order(gw, 3).avg_fill_price == 190.5
    assert order(gw, 2).status == "Cancelled"  # the auction price does not reach its limit
    assert len(gw.engine.executions) == 2


def test_on_open_orders_wait_for_the_open_auction(gw: SimulatedGateway, client: Client) -> None:
    client.place(1, "BUY", 100, "MKT", tif="OPG")
    client.place(2, "BUY", 100, "LMT", lmt_price=189.0, tif="OPG")
    assert order(gw, 1).status == "Submitted" and not gw.engine.executions
    gw.run_auction("close")
    assert not gw.engine.executions
    gw.run_auction("open", "MSFT")
    assert not gw.engine.executions
    gw.run_auction("open", "AAPL")
    assert order(gw, 1).status == "Filled" and order(gw, 1).avg_fill_price == 190.0
    assert order(gw, 2).status == "Cancelled"


def test_market_to_limit_works_the_rest_at_its_first_price() -> None:
    gw = SimulatedGateway(tick_interval=3600, partial_fill_size=40)
    gw.set_price("AAPL", 190.0)
    client = Client(gw)
    client.place(1, "BUY", 100, "MTL")
    o = order(gw, 1)
    assert (o.filled, o.lmt_price, o.status) == (40, 190.01, "Submitted")
    assert client.open_orders()[-1][2].lmtPrice == 190.01
    gw.set_price("AAPL", 191.0)  # ask 191.01: above the limit
    assert order(gw, 1).filled == 40
    gw.set_price("AAPL", 189.0)
    assert order(gw, 1).status == "Filled" and order(gw, 1).last_fill_price <= 190.01


def test_relative_order_is_pegged_to_its_side_plus_the_offset(gw: SimulatedGateway, client: Client) -> None:
    client.place(1, "BUY", 100, "REL", aux_price=0.01)  # bid 189.99 + 0.01
    client.place(2, "BUY", 100, "REL", aux_price=0.01, lmt_price=189.5)  # capped
    assert order(gw, 1).filled == 0 and order(gw, 1).status == "Submitted"
    gw.set_price("AAPL", 190.0)  # a trade at the peg
    assert order(gw, 1).status == "Filled" and order(gw, 1).avg_fill_price == 190.0
    assert order(gw, 2).filled == 0
    gw.set_price("AAPL", 190.5)  # the peg would be 190.50: held at the cap, the trade is above it
    assert order(gw, 2).filled == 0
    gw.set_price("AAPL", 189.5)
    assert order(gw, 2).status == "Filled" and order(gw, 2).avg_fill_price == 189.5


def test_midprice_order_trades_at_the_midpoint(gw: SimulatedGateway, client: Client) -> None:
    gw.set_price("AAPL", 190.0, bid=189.97, ask=190.03)
    client.place(1, "SELL", 100, "MIDPRICE")
    assert order(gw, 1).filled == 0
    gw.set_price("AAPL", 190.0, bid=189.97, ask=190.03)
    assert order(gw, 1).status == "Filled" and order(gw, 1).avg_fill_price == 190.0


def test_midprice_is_refused_for_a_future(gw: SimulatedGateway, client: Client) -> None:
    client.place(1, "BUY", 1, "MIDPRICE", symbol="ES")
    assert client.codes(1) == [387]


def test_immediate_or_cancel_fills_what_is_available() -> None:
    gw = SimulatedGateway(tick_interval=3600, partial_fill_size=40)
    gw.set_price("AAPL", 190.0)
    client = Client(gw)
    client.place(1, "BUY", 100, "LMT", lmt_price=190.01, tif="IOC")
    assert order(gw, 1).filled == 40 and order(gw, 1).status == "Cancelled"
    client.place(2, "BUY", 100, "LMT", lmt_price=185.0, tif="IOC")
    assert order(gw, 2).filled == 0 and order(gw, 2).status == "Cancelled"


def test_good_till_date_expires(gw: SimulatedGateway, client: Client) -> None:
    gw.set_clock(FRIDAY.replace(hour=11), trading_hours=False)
    client.place(1, "BUY", 100, "LMT", lmt_price=185.0, tif="GTD", good_till_date="20261204 11:00:30 US/Eastern")
    client.place(2, "BUY", 100, "LMT", lmt_price=185.0, tif="GTD", good_till_date="20261204-16:02:00")  # UTC
    gw.advance_clock(20)
    assert order(gw, 1).status == "Submitted"
    gw.advance_clock(20)
    assert order(gw, 1).status == "Cancelled" and order(gw, 2).status == "Submitted"
    gw.advance_clock(90)
    assert order(gw, 2).status == "Cancelled" and client.codes(2) == [202]


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"order_type": "VWAP"}, 387),
    ({"order_type": "MOC", "symbol": "EUR", "qty": 20000}, 387),  # not offered for the pair
    ({"order_type": "STP", "aux_price": 180.0, "tif": "OPG"}, 111),
    ({"order_type": "MOC", "tif": "IOC"}, 111),
    ({"order_type": "MOC", "tif": "GTC"}, 113),
    ({"order_type": "TRAIL"}, 321),
    ({"order_type": "TRAIL LIMIT", "aux_price": 1.0}, 321),
    ({"order_type": "LIT", "aux_price": 180.0}, 321),
    ({"order_type": "MIT"}, 321),
    ({"order_type": "TRAIL", "aux_price": 1.005}, 110),
    ({"order_type": "LMT", "lmt_price": 190.0, "account": "U9999999"}, 321),
])
def test_refused_orders_are_not_stored(gw: SimulatedGateway, client: Client, kwargs: dict[str, object],
                                       code: int) -> None:
    client.place(1, **kwargs)  # type: ignore[arg-type]
    assert client.codes(1) == [code] and not gw.engine.orders and not client.sent


def test_an_unmanaged_account_gets_ibs_321(gw: SimulatedGateway, client: Client) -> None:
    client.place(1, "BUY", 100, "MKT", account="U9999999")
    assert client.errors == [(1, 321, "Error validating request.-'bO' : cause - Invalid account code 'U9999999'.")]
    client.place(2, "BUY", 100, "MKT", account="DU1234567")
    assert order(gw, 2).status == "Filled" and position(gw, "AAPL") == 100


# --- trading hours and the clock --------------------------------------------------------------

def test_outside_rth_is_honoured_against_the_contracts_hours(gw: SimulatedGateway, client: Client) -> None:
    gw.set_clock(FRIDAY.replace(hour=18))  # after the close, before 20:00
    client.place(1, "BUY", 100, "LMT", lmt_price=191.0)
    client.place(2, "BUY", 100, "LMT", lmt_price=191.0, outside_rth=True)
    client.place(3, "BUY", 100, "MKT", outside_rth=True)
    assert order(gw, 1).status == "PreSubmitted" and order(gw, 1).filled == 0
    assert order(gw, 2).status == "Filled"
    assert client.codes(3) == [2109] and order(gw, 3).status == "PreSubmitted"
    gw.set_clock(FRIDAY.replace(hour=21))  # after 20:00: nothing trades
    client.place(4, "BUY", 100, "LMT", lmt_price=191.0, outside_rth=True)
    assert order(gw, 4).status == "PreSubmitted"
    gw.set_clock(dt.datetime(2026, 12, 7, 9, 29, 50, tzinfo=ET))  # Monday before the open
    assert order(gw, 1).filled == 0 and order(gw, 4).status == "Filled"
    gw.advance_clock(15)
    assert [order(gw, i).status for i in (1, 3)] == ["Filled", "Filled"]
    assert client.statuses(1) == ["PreSubmitted", "Submitted", "Filled"]


def test_the_clock_runs_the_auctions(gw: SimulatedGateway, client: Client) -> None:
    gw.set_clock(FRIDAY.replace(hour=15, minute=59, second=50))
    client.place(1, "SELL", 100, "MOC")
    client.place(2, "BUY", 100, "MKT", tif="OPG")
    gw.advance_clock(5)
    assert not gw.engine.executions
    gw.advance_clock(10)  # 16:00:05
    assert order(gw, 1).status == "Filled" and order(gw, 2).status == "Submitted"
    gw.set_clock(dt.datetime(2026, 12, 7, 9, 29, 58, tzinfo=ET))  # a jump runs no auction
    assert order(gw, 2).filled == 0
    gw.advance_clock(5)
    assert order(gw, 2).status == "Filled"


# --- conditions -------------------------------------------------------------------------------

def test_a_price_condition_activates_the_order(gw: SimulatedGateway, client: Client) -> None:
    client.place(1, "BUY", 100, "LMT", lmt_price=200.0, conditions=(price_condition(195.0, True),))
    assert order(gw, 1).status == "PreSubmitted" and order(gw, 1).filled == 0
    gw.set_price("AAPL", 194.99)
    assert order(gw, 1).filled == 0
    gw.set_price("AAPL", 195.0)
    assert order(gw, 1).status == "Filled" and client.statuses(1) == ["PreSubmitted", "Submitted", "Filled"]
    (_, _, decoded, _), *_ = client.open_orders()
    assert decoded.conditions[0].price == 195.0 and decoded.conditions[0].isMore


def test_conditions_combine_by_their_conjunctions(gw: SimulatedGateway, client: Client) -> None:
    gw.set_clock(FRIDAY.replace(hour=11), trading_hours=False)
    past, future = "20261204 10:00:00 US/Eastern", "20261204 12:00:00 US/Eastern"
    client.place(1, "BUY", 1, "MKT", conditions=(price_condition(300.0, True, conjunction="o"),
                                                 time_condition(past)))
    client.place(2, "BUY", 1, "MKT", conditions=(price_condition(180.0, False, conjunction="a"),
                                                 time_condition(past)))
    client.place(3, "BUY", 1, "MKT", conditions=(time_condition(future),))
    assert order(gw, 1).status == "Filled" and order(gw, 2).status == "PreSubmitted"
    gw.set_price("AAPL", 179.0)
    assert order(gw, 2).status == "Filled" and order(gw, 3).status == "PreSubmitted"
    gw.advance_clock(3601)
    assert order(gw, 3).status == "Filled"


def test_conditions_cancel_order_cancels_instead(gw: SimulatedGateway, client: Client) -> None:
    client.place(1, "BUY", 100, "LMT", lmt_price=185.0, conditions=(price_condition(180.0, False),),
                 conditions_cancel_order=True)
    gw.set_price("AAPL", 179.0)
    assert order(gw, 1).status == "Cancelled" and order(gw, 1).filled == 0


def test_an_execution_condition(gw: SimulatedGateway, client: Client) -> None:
    client.place(1, "BUY", 1, "MKT", conditions=(OrderCondition(5, ("a", "STK", "SMART", "MSFT")),))
    assert order(gw, 1).status == "PreSubmitted"
    client.place(2, "BUY", 1, "MKT", symbol="MSFT")
    gw.advance_clock(0)  # the next market step
    assert order(gw, 1).status == "Filled"


# --- what-if ----------------------------------------------------------------------------------

def test_what_if_answers_margins_and_never_trades(gw: SimulatedGateway, client: Client) -> None:
    client.place(1, "BUY", 100, "MKT", what_if=True)
    assert not gw.engine.orders and not gw.engine.executions and position(gw, "AAPL") == 0
    (oid, contract, decoded, state), = client.open_orders()
    assert (oid, contract.conId, decoded.whatIf, state.status) == (1, 265598, True, "PreSubmitted")
    assert float(state.initMarginBefore) == 0.0 and float(state.initMarginAfter) == 4750.0  # 25% of 19000
    assert float(state.initMarginChange) == 4750.0 and float(state.maintMarginChange) == 4750.0
    assert float(state.equityWithLoanBefore) == 1_000_000.0
    assert float(state.equityWithLoanChange) == -1.0
    assert (state.commissionAndFees, state.minCommissionAndFees, state.maxCommissionAndFees) == (1.0, 1.0, 1.0)
    assert state.commissionAndFeesCurrency == "USD" and state.marginCurrency == "USD"
    assert not client.statuses(1)


def test_what_if_of_a_closing_order_releases_margin(gw: SimulatedGateway, client: Client) -> None:
    client.place(1, "BUY", 100, "MKT")
    client.place(2, "SELL", 100, "LMT", lmt_price=195.0, what_if=True)
    state = client.open_orders()[-1][3]
    assert float(state.initMarginBefore) == 4750.0 and float(state.initMarginAfter) == 0.0
    assert float(state.initMarginChange) == -4750.0 and position(gw, "AAPL") == 100
    assert list(gw.engine.orders) == [(1, 1)]


# --- persistence ------------------------------------------------------------------------------

def test_held_children_and_conditions_survive_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    gw = SimulatedGateway(tick_interval=3600, state_file=state)
    gw.set_price("AAPL", 190.0)
    bracket(Client(gw))
    Client(gw, 2).place(5, "BUY", 1, "LMT", lmt_price=200.0, conditions=(price_condition(195.0, True),))
    gw.save_state()
    saved = {o["order_id"]: o for o in json.loads(state.read_text())["orders"]}
    assert saved[5]["conditions"][0]["kind"] == 1 and saved[2]["awaiting_parent"]
    again = SimulatedGateway(tick_interval=3600, state_file=state)
    assert order(again, 2).awaiting_parent and order(again, 5, 2).conditions == order(gw, 5, 2).conditions
    again.set_price("AAPL", 188.0)
    assert order(again, 1).status == "Filled" and order(again, 2).status == "Submitted"


def test_a_contract_listing_no_order_types_takes_any(gw: SimulatedGateway, client: Client) -> None:
    client.place(1, "BUY", 100, "MOC")
    bare = dataclasses.replace(BY_CONID[265598], order_types="")
    assert order_types.check(order(gw, 1), bare) is None
    assert order_types.check(dataclasses.replace(order(gw, 1), order_type="VWAP"), bare) is not None


# --- order ids --------------------------------------------------------------------------------

@pytest.mark.parametrize("order_id", [0, -1, -7])
def test_an_order_id_not_positive_is_refused_with_10149(gw: SimulatedGateway, client: Client,
                                                         order_id: int) -> None:
    client.place(order_id, "BUY", 100, "MKT")
    assert client.errors == [(order_id, 10149, f"Invalid order id: {order_id}")]
    assert gw.engine.orders == {} and position(gw, "AAPL") == 0 and not client.sent


def test_the_id_of_a_cancelled_order_is_a_duplicate(gw: SimulatedGateway, client: Client) -> None:
    client.place(1, "BUY", 100, "LMT", lmt_price=150.0)
    client.cancel(1)
    sent = len(client.sent)
    client.place(1, "BUY", 100, "MKT")
    assert client.errors[-1] == (1, 103, "Duplicate order id")
    assert order(gw, 1).status == "Cancelled" and position(gw, "AAPL") == 0 and len(client.sent) == sent


def test_the_id_of_a_filled_order_cannot_be_modified(gw: SimulatedGateway, client: Client) -> None:
    client.place(1, "BUY", 100, "MKT")
    client.place(1, "BUY", 100, "MKT")
    assert client.codes(1)[-1] == 104 and position(gw, "AAPL") == 100


def test_a_new_order_below_the_ids_used_is_a_duplicate(gw: SimulatedGateway, client: Client) -> None:
    client.place(5, "BUY", 100, "LMT", lmt_price=150.0)
    client.place(3, "BUY", 100, "MKT")  # never used, but below the id already placed
    assert client.errors == [(3, 103, "Duplicate order id")] and list(gw.engine.orders) == [(1, 5)]
    client.place(6, "BUY", 100, "MKT")
    assert order(gw, 6).status == "Filled"


def test_the_id_of_a_refused_order_is_used(gw: SimulatedGateway, client: Client) -> None:
    client.place(1, "BUY", 10**9, "MKT")  # refused (margin): the id is spent, as at IB
    assert client.codes(1) == [201]
    client.place(1, "BUY", 1, "MKT")
    assert client.codes(1) == [201, 103] and gw.engine.orders == {}


def test_ids_are_per_client(gw: SimulatedGateway, client: Client) -> None:
    client.place(5, "BUY", 100, "LMT", lmt_price=150.0)
    other = Client(gw, 2)
    other.place(5, "BUY", 100, "LMT", lmt_price=151.0)
    assert not other.errors and order(gw, 5, 2).lmt_price == 151.0


def test_the_id_of_a_working_order_for_another_contract_is_refused(gw: SimulatedGateway, client: Client) -> None:
    client.place(1, "BUY", 100, "LMT", lmt_price=150.0)
    client.place(1, "BUY", 100, "LMT", symbol="MSFT", lmt_price=300.0)
    assert client.errors == [(1, 105, "Order being modified does not match original order.")]
    assert order(gw, 1).con_id == BY_CONID[265598].con_id and order(gw, 1).lmt_price == 150.0


def test_the_id_of_a_working_order_modifies_it(gw: SimulatedGateway, client: Client) -> None:
    client.place(1, "BUY", 100, "LMT", lmt_price=150.0)
    client.place(1, "BUY", 200, "LMT", lmt_price=151.0)
    assert not client.errors and order(gw, 1).total_qty == 200 and order(gw, 1).lmt_price == 151.0


def test_restored_orders_count_as_used_ids(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    gw = SimulatedGateway(tick_interval=3600, state_file=state)
    gw.set_price("AAPL", 190.0)
    Client(gw).place(7, "BUY", 100, "LMT", lmt_price=150.0)
    gw.save_state()
    again = SimulatedGateway(tick_interval=3600, state_file=state)
    client = Client(again)
    client.place(4, "BUY", 1, "MKT")
    assert client.codes(4) == [103]


# --- one order failing in the market loop -----------------------------------------------------

def _fail_for(monkeypatch: pytest.MonkeyPatch, client_id: int, order_id: int) -> None:
    """Make the engine raise (a simulator bug) while it works one order."""
    real = order_types.limit

    def limit(o, q, c):  # type: ignore[no-untyped-def]
        if (o.client_id, o.order_id) == (client_id, order_id):
            raise ZeroDivisionError("a bug working this order")
        return real(o, q, c)
    monkeypatch.setattr(order_types, "limit", limit)


def test_an_order_that_raises_in_the_market_loop_stops_only_itself(
        gw: SimulatedGateway, client: Client, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    other = Client(gw, 2)
    client.place(1, "BUY", 100, "LMT", lmt_price=185.0)
    other.place(1, "BUY", 100, "LMT", lmt_price=185.0)
    client.place(2, "BUY", 100, "LMT", lmt_price=185.0)
    _fail_for(monkeypatch, 1, 1)
    gw.set_price("AAPL", 184.0)  # every order's limit is reached
    assert order(gw, 1, 2).status == "Filled" and order(gw, 2).status == "Filled"
    assert order(gw, 1).status == "Inactive" and order(gw, 1).filled == 0
    assert client.codes(1) == [322] and "could not work order 1" in client.errors[-1][2]
    assert client.statuses(1)[-1] == "Inactive" and not other.errors
    assert "order 1 of client 1 failed in the market loop" in caplog.text
    gw.set_price("AAPL", 183.0)  # an order made Inactive is not worked (nor reported) again
    assert client.codes(1) == [322] and position(gw, "AAPL") == 200


def test_an_order_that_raises_in_an_auction_stops_only_itself(
        gw: SimulatedGateway, client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    client.place(1, "BUY", 100, "MOC")
    client.place(2, "BUY", 100, "MOC")
    monkeypatch.setattr(gw.engine, "_fill", _raising_fill(gw, order_id=1))
    gw.run_auction("close")
    assert order(gw, 1).status == "Inactive" and order(gw, 2).status == "Filled"
    assert client.codes(1) == [322] and not client.codes(2)


def _raising_fill(gw: SimulatedGateway, order_id: int):  # type: ignore[no-untyped-def]
    real = gw.engine._fill

    def fill(o, c, qty, price):  # type: ignore[no-untyped-def]
        if o.order_id == order_id:
            raise RuntimeError("a bug filling this order")
        return real(o, c, qty, price)
    return fill


def test_a_report_that_fails_to_encode_does_not_stop_the_others(
        gw: SimulatedGateway, client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    other = Client(gw, 2)
    client.place(1, "BUY", 100, "LMT", lmt_price=185.0)
    other.place(1, "BUY", 100, "LMT", lmt_price=185.0)
    real = server.m.execution

    def execution(sv, req_id, e, spec):  # type: ignore[no-untyped-def]
        if e.client_id == 1:
            raise ValueError("cannot encode")
        return real(sv, req_id, e, spec)
    monkeypatch.setattr(server.m, "execution", execution)
    gw.set_price("AAPL", 184.0)
    assert other.statuses(1)[-1] == "Filled" and client.statuses(1)[-1] == "Filled"
    assert [x for x in other.sent if x.msg_id == server.m.EXECUTION_DATA]
