"""A group whose placement the process died in, over TCP against the simulator: a subprocess
adapter is killed (SIGKILL) right after a bracket's entry was sent (held at the gateway,
``transmit=False``) and before its exits were, or after an OCA group's first order; the adapter
restarted on the same journal (nothing committed to SQLite: the intent log only) cancels what
was sent, and places nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from platform_adapter import OrderState
from platform_adapter.sim import SimulatedGateway
from tests.conftest import LOOPBACK, KilledAdapter, wait_for

VERSIONS = [176, 226]


@pytest.fixture(params=VERSIONS, ids=[f"v{v}" for v in VERSIONS])
def gateway(request: pytest.FixtureRequest) -> Iterator[SimulatedGateway]:
    with SimulatedGateway(host=LOOPBACK, port=0, seed=7, tick_interval=3600,
                          server_version=request.param) as gw:
        gw.set_price("AAPL", 190.0)
        gw.set_price("MSFT", 400.0)
        yield gw


KILLED_PART_WAY = """
import json, os, signal, sys
from platform_adapter import PlatformAdapter
from platform_adapter.adapters.orders import journal
from platform_adapter.config.settings import load_settings
journal.BACKGROUND_DELAY = 60.0  # nothing committed before the kill: the restart has the intent log only
pa = PlatformAdapter(settings=load_settings(None, env_file=os.devnull, overrides=json.loads(sys.argv[1]),
                                            use_environ=False), configure_logging=False)
assert pa.connect()
send_new = pa.orders._send_new

def first_only(*args, **kwargs):  # the process dies once the group's first member is sent
    order_id = send_new(*args, **kwargs)
    print(order_id, flush=True)
    sys.stdin.readline()  # the test sees the member at the gateway
    os.kill(os.getpid(), signal.SIGKILL)

pa.orders._send_new = first_only
if sys.argv[2] == "bracket":
    pa.orders.place_bracket_order("AAPL", "BUY", 100, 189.0, 195.0, 185.0, tif="GTC")
else:
    pa.orders.place_oca_group([
        {"symbol": "AAPL", "action": "BUY", "quantity": 10, "order_type": "LMT", "limit_price": 180.0},
        {"symbol": "MSFT", "action": "BUY", "quantity": 5, "order_type": "LMT", "limit_price": 380.0}])
"""


def kill_after_first_member(gateway: SimulatedGateway, tmp_path: Path, kind: str) -> tuple[int, Any]:
    """Run the subprocess until the group's first member is at the gateway, then kill it; the
    member's id and a function listing the simulator's orders of client id 9."""
    with KilledAdapter(KILLED_PART_WAY, gateway, tmp_path, kind) as child:
        first = int(child.ready())
        wait_for(lambda: first in child.orders(), timeout=10)
        child.go()
    return first, child.orders


def test_a_held_entry_whose_exits_were_never_sent_is_cancelled_at_restart(make_adapter: Any, gateway: Any,
                                                                         tmp_path: Path) -> None:
    entry, sim = kill_after_first_member(gateway, tmp_path, "bracket")
    assert [(o.order_id, o.status, o.transmit) for o in sim().values()] == [(entry, "PendingSubmit", False)]

    pa = make_adapter(connect=False, client_id=9)
    assert pa.connect()
    wait_for(lambda: sim()[entry].status == "Cancelled", timeout=10)
    wait_for(lambda: pa.orders.get_order_status(entry).status is OrderState.CANCELLED, timeout=5)
    assert list(sim()) == [entry]  # nothing else placed
    assert pa.orders.withdrawing == set()
    assert pa.orders.get_open_orders() == []
    assert gateway.stats().received["placeOrder"] == 1


def test_an_oca_group_whose_second_order_was_never_sent_is_cancelled_at_restart(make_adapter: Any, gateway: Any,
                                                                               tmp_path: Path) -> None:
    first, sim = kill_after_first_member(gateway, tmp_path, "oca")
    assert sim()[first].status in ("PreSubmitted", "Submitted")

    pa = make_adapter(connect=False, client_id=9)
    assert pa.connect()
    wait_for(lambda: sim()[first].status == "Cancelled", timeout=10)
    wait_for(lambda: pa.orders.get_order_status(first).status is OrderState.CANCELLED, timeout=5)
    assert list(sim()) == [first]
    assert gateway.stats().received["placeOrder"] == 1


def test_a_whole_bracket_is_left_working_at_restart(make_adapter: Any, gateway: Any, tmp_path: Path) -> None:
    pa = make_adapter(client_id=9)
    bracket = pa.orders.place_bracket_order("AAPL", "BUY", 100, 189.0, 195.0, 185.0, tif="GTC")
    wait_for(lambda: pa.orders.get_order_status(bracket.stop_loss).status is OrderState.PRE_SUBMITTED, timeout=5)
    pa.disconnect()

    again = make_adapter(connect=False, client_id=9)
    assert again.connect()
    assert again.orders.withdrawing == set()
    assert {o.order_id for o in again.orders.get_open_orders()} == set(bracket.order_ids)
    assert all(o.status in ("PreSubmitted", "Submitted") for o in gateway.stats().orders if o.client_id == 9)
