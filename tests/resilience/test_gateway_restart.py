"""The gateway restarts with its state file (stop, then a new SimulatedGateway on the same port
and file): orders, fills and positions reconcile; order ids are never reused, even when the
restarted gateway's nextValidId goes backwards."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from platform_adapter import OrderState
from tests.conftest import Recorder, wait_for
from tests.resilience.conftest import received, sim_orders, wait_disconnected, wait_reconnected


def positions_of(pa: Any) -> dict[str, Decimal]:
    return {p.symbol: p.quantity for p in pa.account.get_positions() if p.quantity}


def sim_positions(gw: Any) -> dict[str, Decimal]:
    return {gw.market.specs[cid].symbol: Decimal(str(p.qty)) for cid, p in gw.account.positions.items() if p.qty}


def trade_before_restart(pa: Any, fills: Recorder) -> tuple[int, int]:
    working = pa.orders.place_order("AAPL", "BUY", 10, "LMT", limit_price=100.0, tif="GTC")
    filled = pa.orders.place_order("MSFT", "BUY", 30, "MKT")
    pa.orders.wait_for_status(working, OrderState.SUBMITTED, timeout=5)
    pa.orders.wait_for_status(filled, OrderState.FILLED, timeout=5)
    fills.wait(1, timeout=5)
    return working, filled


def test_restart_with_state_file_reconciles(sim_factory: Any, adapter_factory: Any, tmp_path: Path) -> None:
    state = tmp_path / "gateway.json"
    gw = sim_factory(state_file=state)
    pa = adapter_factory(gw)
    fills = Recorder()
    pa.orders.on_fill(fills)
    working, filled = trade_before_restart(pa, fills)
    wait_for(lambda: positions_of(pa) == {"MSFT": Decimal(30)}, timeout=5)
    port, cid = gw.port, pa.connection.client_id

    gw.stop()
    wait_disconnected(pa)
    gw2 = sim_factory(port=port, state_file=state)
    wait_reconnected(pa, 1)
    wait_for(lambda: pa.orders.reconciler.runs >= 2, timeout=10)

    orders = sim_orders(gw2, cid)
    assert set(orders) == {working, filled}
    for oid in (working, filled):
        ours = pa.orders.get_order_status(oid)
        assert (ours.status.value, ours.filled) == (orders[oid].status, Decimal(str(orders[oid].filled)))
    assert [o.order_id for o in pa.orders.get_open_orders()] == [working]
    wait_for(lambda: positions_of(pa) == sim_positions(gw2) == {"MSFT": Decimal(30)}, timeout=5)
    assert sorted(f.exec_id for (f,) in fills.calls) == sorted(e.exec_id for e in gw2.stats().executions), \
        "every fill delivered exactly once across the restart"
    assert received(gw2, "placeOrder")["placeOrder"] == 0, "nothing re-sent to the restarted gateway"

    pa.orders.cancel_order(working)
    pa.orders.wait_for_status(working, OrderState.CANCELLED, timeout=5)
    assert sim_orders(gw2, cid)[working].status == "Cancelled"


def test_order_ids_never_reused_when_next_valid_id_goes_backwards(sim_factory: Any, adapter_factory: Any,
                                                                  tmp_path: Path) -> None:
    state = tmp_path / "gateway.json"
    gw = sim_factory(state_file=state)
    pa = adapter_factory(gw)
    fills = Recorder()
    pa.orders.on_fill(fills)
    used = set(trade_before_restart(pa, fills))
    port, cid = gw.port, pa.connection.client_id

    gw.stop()
    wait_disconnected(pa)
    saved = json.loads(state.read_text())
    saved["order_id_high_water"] = 0  # the restarted gateway forgot its id counter
    state.write_text(json.dumps(saved))
    gw2 = sim_factory(port=port, state_file=state)
    assert gw2.next_order_id() == 1
    wait_reconnected(pa, 1)
    assert pa.connection.next_valid_id == 1

    new_ids = [pa.orders.place_order("TSLA", "BUY", 5, "LMT", limit_price=50.0, tif="DAY") for _ in range(3)]
    for oid in new_ids:
        pa.orders.wait_for_status(oid, OrderState.SUBMITTED, timeout=5)
    assert not used & set(new_ids) and min(new_ids) > max(used), (used, new_ids)
    orders = sim_orders(gw2, cid)
    assert set(orders) == used | set(new_ids), "five distinct orders at the gateway, none overwritten"
    assert all(orders[oid].total_qty == 5 and orders[oid].con_id == 76792991 for oid in new_ids)
    assert orders[min(used)].con_id == 265598, "the old AAPL order was not modified by a reused id"
