"""A bracket whose entry fills partly and is then cancelled, over TCP against the simulator: the
simulator cancels the exits with the entry (as IB's documentation leaves open, see
docs/simulator.md), and the adapter places them anew for the filled quantity, as an OCA pair at
the original prices, linked to the bracket; whichever exit fills, the position ends flat, never
reversed; an exit its owner cancelled is not placed again, even when the process was killed
before the entry's end reached it.

The simulator's market stands still; an entry limit at the ask fills one lot of 40 and waits."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from platform_adapter import OcaType, OrderState
from platform_adapter.sim import SimulatedGateway
from tests.conftest import KilledAdapter, still_gateway, wait_for

VERSIONS = [176, 226]


@pytest.fixture(params=VERSIONS, ids=[f"v{v}" for v in VERSIONS])
def gateway(request: pytest.FixtureRequest) -> Iterator[SimulatedGateway]:
    with still_gateway(request.param) as gw:
        gw.engine.partial_fill_size = 40
        yield gw


def sim_position(gateway: SimulatedGateway) -> float:
    positions = gateway.account.positions
    return sum(p.qty for p in positions.values())


def partly_filled_bracket(pa: Any, gateway: SimulatedGateway) -> Any:
    """A BUY 100 bracket (entry 189, take profit 195, stop loss 185) whose entry filled 40."""
    bracket = pa.orders.place_bracket_order("AAPL", "BUY", 100, 189.0, 195.0, 185.0, tif="GTC")
    wait_for(lambda: pa.orders.get_order_status(bracket.stop_loss).status is OrderState.PRE_SUBMITTED, timeout=5)
    gateway.set_price("AAPL", 189.0, bid=188.99, ask=189.0)  # one lot at the limit, the next one above it
    wait_for(lambda: pa.orders.get_order_status(bracket.parent).filled == 40, timeout=5)
    assert pa.orders.get_order_status(bracket.parent).status is OrderState.SUBMITTED
    return bracket


def replacements(pa: Any, bracket: Any) -> tuple[Any, Any]:
    """The take profit and stop loss that replaced the bracket's exits (waits for both)."""
    ids = wait_for(lambda: (pa.orders.get_order(bracket.take_profit).replaced_by,
                            pa.orders.get_order(bracket.stop_loss).replaced_by)
                   if all((pa.orders.get_order(bracket.take_profit).replaced_by,
                           pa.orders.get_order(bracket.stop_loss).replaced_by)) else None, timeout=5)
    return pa.orders.get_order(ids[0]), pa.orders.get_order(ids[1])


def test_the_cancelled_partly_filled_entry_leaves_exits_for_the_filled_quantity(pa: Any, gateway: Any) -> None:
    bracket = partly_filled_bracket(pa, gateway)
    pa.orders.cancel_order(bracket.parent)
    take_profit, stop_loss = replacements(pa, bracket)
    for old in (bracket.take_profit, bracket.stop_loss):
        assert pa.orders.get_order_status(old).status is OrderState.CANCELLED  # gone with the entry at IB
    assert [(o.request.order_type.value, o.request.action.value, o.request.quantity, o.request.limit_price,
             o.request.stop_price, o.request.tif.value) for o in (take_profit, stop_loss)] == [
        ("LMT", "SELL", Decimal(40), 195.0, None, "GTC"), ("STP", "SELL", Decimal(40), None, 185.0, "GTC")]
    links = [(o.request.extras.parent_id, o.request.extras.replaces, o.request.extras.oca_type)
             for o in (take_profit, stop_loss)]
    assert links == [(bracket.parent, bracket.take_profit, OcaType.REDUCE_WITH_BLOCK),
                     (bracket.parent, bracket.stop_loss, OcaType.REDUCE_WITH_BLOCK)]
    assert take_profit.request.extras.oca_group == stop_loss.request.extras.oca_group != ""
    assert {o.order_id for o in pa.orders.state.children(bracket.parent)} >= {take_profit.order_id,
                                                                              stop_loss.order_id}
    wait_for(lambda: pa.orders.get_order_status(stop_loss.order_id).status is OrderState.PRE_SUBMITTED, timeout=5)
    sim = {o.order_id: o for o in gateway.stats().orders if o.client_id == pa.connection.client_id}
    for o in (take_profit, stop_loss):  # working at IB on their own: no parent, one OCA group
        assert (sim[o.order_id].total_qty, sim[o.order_id].parent_id, sim[o.order_id].oca_type) == (40, 0, 2)
        assert sim[o.order_id].oca_group == o.request.extras.oca_group

    gateway.set_price("AAPL", 196.0)
    wait_for(lambda: pa.orders.get_order_status(take_profit.order_id).status is OrderState.FILLED, timeout=5)
    wait_for(lambda: pa.orders.get_order_status(stop_loss.order_id).status is OrderState.CANCELLED, timeout=5)
    assert sim_position(gateway) == 0
    assert pa.orders.get_order_status(take_profit.order_id).filled == 40


def test_the_replaced_stop_loss_closes_the_position_and_never_reverses_it(pa: Any, gateway: Any) -> None:
    bracket = partly_filled_bracket(pa, gateway)
    pa.orders.cancel_order(bracket.parent)
    take_profit, stop_loss = replacements(pa, bracket)
    wait_for(lambda: pa.orders.get_order_status(stop_loss.order_id).status is OrderState.PRE_SUBMITTED, timeout=5)
    gateway.set_price("AAPL", 184.0)
    wait_for(lambda: pa.orders.get_order_status(stop_loss.order_id).status is OrderState.FILLED, timeout=5)
    wait_for(lambda: pa.orders.get_order_status(take_profit.order_id).status is OrderState.CANCELLED, timeout=5)
    gateway.set_price("AAPL", 150.0)
    assert sim_position(gateway) == 0
    assert pa.orders.get_order_status(stop_loss.order_id).filled == 40


def test_an_exit_its_owner_cancelled_is_not_placed_again(pa: Any, gateway: Any) -> None:
    bracket = partly_filled_bracket(pa, gateway)
    pa.orders.cancel_order(bracket.take_profit)
    wait_for(lambda: pa.orders.get_order_status(bracket.take_profit).status is OrderState.CANCELLED, timeout=5)
    pa.orders.cancel_order(bracket.parent)
    new_stop = wait_for(lambda: pa.orders.get_order(bracket.stop_loss).replaced_by, timeout=5)
    wait_for(lambda: pa.orders.get_order_status(new_stop).status is OrderState.PRE_SUBMITTED, timeout=5)
    assert pa.orders.get_order(new_stop).request.quantity == 40
    assert pa.orders.get_order(bracket.take_profit).replaced_by == 0
    wait_for(lambda: pa.orders.protecting == set(), timeout=5)  # a pass its exits' statuses queued: done
    open_ids = {o.order_id for o in pa.orders.get_open_orders()}
    assert open_ids == {new_stop}


def test_an_entry_cancelled_before_any_fill_leaves_nothing(pa: Any, gateway: Any) -> None:
    bracket = pa.orders.place_bracket_order("AAPL", "BUY", 100, 189.0, 195.0, 185.0)
    wait_for(lambda: pa.orders.get_order_status(bracket.stop_loss).status is OrderState.PRE_SUBMITTED, timeout=5)
    pa.orders.cancel_order(bracket.parent)
    wait_for(lambda: all(pa.orders.get_order_status(i).status is OrderState.CANCELLED for i in bracket.order_ids),
             timeout=5)
    assert pa.orders.get_open_orders() == []
    assert gateway.stats().received["placeOrder"] == 3


KILLED_AFTER_CANCEL = """
import json, os, signal, sys, time
from platform_adapter import OrderState, PlatformAdapter
from platform_adapter.adapters.orders import journal
from platform_adapter.config.settings import load_settings
journal.BACKGROUND_DELAY = 60.0  # nothing committed before the kill: the restart has the intent log only
pa = PlatformAdapter(settings=load_settings(None, env_file=os.devnull, overrides=json.loads(sys.argv[1]),
                                            use_environ=False), configure_logging=False)
assert pa.connect()
b = pa.orders.place_bracket_order("AAPL", "BUY", 100, 189.0, 195.0, 185.0, tif="GTC")
pa.orders.wait_for_status(b.stop_loss, "PreSubmitted", timeout=10)
print(*b.order_ids, flush=True)
sys.stdin.readline()  # the test lets the entry fill 40
deadline = time.monotonic() + 10
while pa.orders.get_order_status(b.parent).filled != 40:  # polled, with a deadline
    assert time.monotonic() < deadline, pa.orders.get_order_status(b.parent)
    time.sleep(0.01)
pa.orders.cancel_order(b.take_profit)
os.kill(os.getpid(), signal.SIGKILL)  # at once: IB's answer to the cancel is never seen
"""


def test_an_exit_cancelled_before_the_process_was_killed_is_not_placed_again(make_adapter: Any, gateway: Any,
                                                                              tmp_path: Path) -> None:
    # the owner cancels the take profit of a bracket whose entry filled 40 of 100, and the process
    # is killed at once; while it is down, IB cancels the entry (a day's end) and its stop loss with
    # it. The restarted adapter finds the entry ended partly filled: the stop loss is placed anew
    # for the 40 held, the take profit (the owner's cancel, read back from the journal) is not
    with KilledAdapter(KILLED_AFTER_CANCEL, gateway, tmp_path) as child:
        parent, take_profit, stop_loss = (int(i) for i in child.ready().split())
        gateway.set_price("AAPL", 189.0, bid=188.99, ask=189.0)  # one lot of 40 at the limit
        child.go()
    sim = child.orders
    wait_for(lambda: sim()[take_profit].status == "Cancelled", timeout=5)  # the cancel reached IB
    assert (sim()[parent].filled, sim()[stop_loss].status) == (40, "PreSubmitted")
    with gateway.lock:  # IB ends the entry while nobody is connected: its stop loss goes with it
        gateway.apply_events(gateway.engine.cancel(9, parent))
    assert sim()[stop_loss].status == "Cancelled"

    pa = make_adapter(connect=False, client_id=9)
    assert pa.connect()
    new_stop = wait_for(lambda: pa.orders.get_order(stop_loss).replaced_by, timeout=10)
    wait_for(lambda: pa.orders.get_order_status(new_stop).status is OrderState.PRE_SUBMITTED, timeout=5)
    wait_for(lambda: pa.orders.protecting == set(), timeout=5)
    pa.events.wait_idle(5)
    assert pa.orders.get_order(take_profit).replaced_by == 0
    assert [(o.order_id, o.order_type, o.total_qty, o.parent_id) for o in sim().values()
            if o.order_id not in (parent, take_profit, stop_loss)] == [(new_stop, "STP", 40, 0)]
    assert {o.order_id for o in pa.orders.get_open_orders()} == {new_stop}
