"""IB's reset window over TCP: the simulator sends 1100, keeps matching resting orders but holds
their reports (and the account's), then sends 1102 or 1101 and releases them (or, data lost for
good, drops them). The adapter's view converges: every fill once, positions and order states as
the gateway has them, nothing re-sent."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from platform_adapter import OrderState
from platform_adapter.sim.__main__ import handle_command, main
from platform_adapter.sim.faults import Daily, parse_daily
from tests.conftest import Recorder, wait_for
from tests.resilience.conftest import received, sim_orders, wait_reconnected

CHUNK = 100.0  # the simulator fills in chunks of this size: several executions per order


def positions_of(pa: Any) -> dict[str, Decimal]:
    return {p.symbol: p.quantity for p in pa.account.get_positions() if p.quantity}


def sim_positions(gw: Any) -> dict[str, Decimal]:
    return {gw.market.specs[cid].symbol: Decimal(str(p.qty)) for cid, p in gw.account.positions.items() if p.qty}


def start_trading(gw: Any, pa: Any) -> tuple[Recorder, dict[str, int]]:
    """A working order that stays, one to fill in the window, one to be cancelled in it."""
    fills = Recorder()
    pa.orders.on_fill(fills)
    orders = {"stays": pa.orders.place_order("AAPL", "BUY", 10, "LMT", limit_price=100.0, tif="GTC"),
              "fills": pa.orders.place_order("MSFT", "BUY", 250, "LMT", limit_price=200.0, tif="GTC"),
              "cancelled": pa.orders.place_order("TSLA", "BUY", 5, "LMT", limit_price=50.0, tif="GTC")}
    for oid in orders.values():
        pa.orders.wait_for_status(oid, OrderState.SUBMITTED, timeout=5)
    wait_for(lambda: pa.account.get_positions() is not None, timeout=5)
    return fills, orders


def trade_in_window(gw: Any, pa: Any, orders: dict[str, int]) -> None:
    """While the window is open the market reaches one order and the other is cancelled at IB:
    the gateway has the fills, the adapter sees nothing of them."""
    wait_for(lambda: not pa.connection.ib_link_ok, timeout=5)
    gw.set_price("MSFT", 199.0, bid=198.9, ask=199.0)
    with gw.lock:
        gw.apply_events(gw.engine.cancel(pa.connection.client_id, orders["cancelled"]))
    at_sim = sim_orders(gw)
    assert at_sim[orders["fills"]].status == "Filled" and len(at_sim[orders["fills"]].exec_ids) == 3
    assert at_sim[orders["cancelled"]].status == "Cancelled"
    assert gw.faults.reset.held() > 0
    assert pa.orders.get_order_status(orders["fills"]).status is OrderState.SUBMITTED, "reports held"


def assert_converged(gw: Any, pa: Any, fills: Recorder, orders: dict[str, int], placed: int) -> None:
    at_sim = sim_orders(gw)
    pa.orders.wait_for_status(orders["fills"], OrderState.FILLED, timeout=5)
    pa.orders.wait_for_status(orders["cancelled"], OrderState.CANCELLED, timeout=5)
    wait_for(lambda: len(fills.calls) >= 3, timeout=5)
    assert pa.events.wait_idle(5)
    assert sorted(f.exec_id for (f,) in fills.calls) == sorted(at_sim[orders["fills"]].exec_ids), \
        "every fill exactly once"
    for oid, sim in at_sim.items():
        ours = pa.orders.get_order_status(oid)
        assert (ours.status.value, ours.filled) == (sim.status, Decimal(str(sim.filled))), oid
    assert [o.order_id for o in pa.orders.get_open_orders()] == [orders["stays"]]
    wait_for(lambda: positions_of(pa) == sim_positions(gw) == {"MSFT": Decimal(250)}, timeout=5)
    assert received(gw, "placeOrder")["placeOrder"] == placed, "nothing re-sent"
    assert pa.connection.ib_link_ok


@pytest.mark.parametrize("data_lost", [False, True], ids=["1102", "1101"])
def test_fills_in_the_window_are_released_after_it(data_lost: bool, sim_factory: Any, adapter_factory: Any) -> None:
    gw = sim_factory(partial_fill_size=CHUNK)
    pa = adapter_factory(gw)
    fills, orders = start_trading(gw, pa)
    assert gw.begin_reset() and not gw.begin_reset()
    trade_in_window(gw, pa, orders)
    assert not fills.calls
    gw.end_reset(data_lost=data_lost)
    assert_converged(gw, pa, fills, orders, placed=3)


def test_reports_lost_with_the_window_are_found_by_reconciliation(sim_factory: Any, adapter_factory: Any) -> None:
    """1101 and the held reports never come: reconciliation (executions, completed orders,
    positions) alone brings the adapter to the gateway's view."""
    gw = sim_factory(partial_fill_size=CHUNK)
    pa = adapter_factory(gw)
    fills, orders = start_trading(gw, pa)
    gw.begin_reset()
    trade_in_window(gw, pa, orders)
    gw.end_reset(data_lost=True, drop_held=True)
    assert gw.faults.reset.held() == 0
    assert_converged(gw, pa, fills, orders, placed=3)


def test_scheduled_window_in_the_simulators_clock(sim_factory: Any, adapter_factory: Any) -> None:
    """The nightly reset at a time of the simulator's clock: open when the clock reaches it,
    closed (1102) once its length of clock time has passed."""
    gw = sim_factory(partial_fill_size=CHUNK, daily_reset=Daily(dt.time(23, 45), 600.0))
    gw.set_clock(dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.timezone.utc), trading_hours=False)  # not yet
    pa = adapter_factory(gw)
    fills, orders = start_trading(gw, pa)
    assert not gw.faults.reset.open
    gw.set_clock(dt.datetime(2026, 12, 4, 23, 44, 59, 500_000, tzinfo=dt.timezone.utc), trading_hours=False)
    trade_in_window(gw, pa, orders)
    assert gw.faults.reset.open
    gw.advance_clock(600.0)
    wait_for(lambda: not gw.faults.reset.open, timeout=5)
    assert_converged(gw, pa, fills, orders, placed=3)
    assert gw.faults.reset.windows == 1


def test_connecting_during_the_window_hears_1100(sim_factory: Any, adapter_factory: Any) -> None:
    gw = sim_factory()
    gw.begin_reset()
    pa = adapter_factory(gw)
    wait_for(lambda: not pa.connection.ib_link_ok, timeout=5)
    gw.end_reset()
    wait_for(lambda: pa.connection.ib_link_ok, timeout=5)


def test_a_restart_in_the_window_leaves_no_quote_stale(sim_factory: Any, adapter_factory: Any) -> None:
    """1100, then the gateway restarts (which closes the window: no 1101/1102 ever comes): the new
    session's link is up, its quotes are fresh and the stream watchdog watches again."""
    gw = sim_factory()
    pa = adapter_factory(gw)
    quotes = Recorder()
    pa.market_data.subscribe_quotes("AAPL", quotes)
    quotes.wait(1, timeout=5)
    assert gw.begin_reset()
    wait_for(lambda: pa.market_data.get_quote("AAPL").stale, timeout=5)
    gw.restart(down_seconds=0.2)
    wait_reconnected(pa, 1)
    assert pa.connection.ib_link_ok
    wait_for(lambda: not pa.market_data.get_quote("AAPL").stale, timeout=5)
    assert pa.market_data.watchdog._watching()


def test_injected_window_closes_itself(sim_factory: Any, adapter_factory: Any) -> None:
    gw = sim_factory()
    pa = adapter_factory(gw)
    gw.reset_window(0.3, data_lost=True)
    wait_for(lambda: not pa.connection.ib_link_ok, timeout=5)
    wait_for(lambda: pa.connection.ib_link_ok and not gw.faults.reset.open, timeout=5)


def test_control_commands(sim_factory: Any, adapter_factory: Any) -> None:
    gw = sim_factory()
    pa = adapter_factory(gw)
    assert handle_command(gw, "reset begin") == "ok"
    wait_for(lambda: not pa.connection.ib_link_ok, timeout=5)
    assert handle_command(gw, "reset end lost") == "ok"
    wait_for(lambda: pa.connection.ib_link_ok, timeout=5)
    assert handle_command(gw, "reset 0.2") == "ok"
    wait_for(lambda: gw.faults.reset.windows == 2 and not gw.faults.reset.open, timeout=5)
    assert handle_command(gw, "clock_rate 60") == "ok" and gw.engine.clock.rate == 60
    assert handle_command(gw, "clock_rate 0").startswith("error")
    assert handle_command(gw, "reset").startswith("error")


def test_daily_option_text() -> None:
    assert parse_daily("23:45/300") == Daily(dt.time(23, 45), 300.0)
    assert parse_daily("05:00:30/60/lost") == Daily(dt.time(5, 0, 30), 60.0, True)
    for bad in ("23:45", "23:45/x", "23:45/60/kept", "25:00/60"):
        with pytest.raises(ValueError):
            parse_daily(bad)
    with pytest.raises(SystemExit):
        main(["--daily-reset", "nonsense"])


def test_daily_windows_cross_midnight() -> None:
    window = Daily(dt.time(23, 50), 1200.0)
    at = dt.datetime(2026, 12, 5, 0, 5, tzinfo=dt.timezone.utc).timestamp()
    assert window.covers(at, "UTC") and not window.covers(at + 600, "UTC")
    assert window.passed(at - 1000, at, "UTC") and not window.passed(at - 100, at, "UTC")


def test_a_cancel_answered_in_the_window_is_reported_once(sim_factory: Any, adapter_factory: Any) -> None:
    """A cancel reaches IB as its link goes (1100): IB's answers (orderStatus, openOrder, 202) are
    held and come after the 1102, beside the reconciliation it starts. The order's Cancelled
    reaches the callbacks once (before: twice, remaining going from 10 to 0)."""
    gw = sim_factory()
    pa = adapter_factory(gw)
    statuses = Recorder()
    pa.orders.on_order_status(statuses)
    order_id = pa.orders.place_order("AAPL", "BUY", 10, "LMT", limit_price=100.0, tif="GTC")
    pa.orders.wait_for_status(order_id, OrderState.SUBMITTED, timeout=5)
    runs = pa.orders.reconciler.runs
    with gw.lock:  # the cancel is read once the window is open: its answers are held
        pa.orders.cancel_order(order_id)
        assert gw.begin_reset()
    wait_for(lambda: gw.faults.reset.held() >= 3, timeout=5)
    assert sim_orders(gw)[order_id].status == "Cancelled"
    wait_for(lambda: not pa.connection.ib_link_ok, timeout=5)
    gw.end_reset()
    pa.orders.wait_for_status(order_id, OrderState.CANCELLED, timeout=5)
    wait_for(lambda: pa.orders.reconciler.runs > runs, timeout=10)
    later = pa.orders.place_order("MSFT", "BUY", 1, "MKT")  # its status comes after all of the order's
    wait_for(lambda: any(s.order_id == later for (s,) in statuses.calls), timeout=5)
    assert [s.status for (s,) in statuses.calls if s.order_id == order_id] == [OrderState.SUBMITTED,
                                                                              OrderState.CANCELLED]
