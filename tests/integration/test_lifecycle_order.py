"""The lifecycle over TCP against the simulator: on connect, on a reconnect after a dropped link
and on IB's 1100, 1101 and 1102, the adapters' steps run in the order ``core/lifecycle.py`` writes
down, each sequence after the one before it, and the user hears of each event after its steps;
the restored state works (quotes flow again, orders can be placed)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from platform_adapter import OrderState, PlatformAdapter
from platform_adapter.models.connection import ConnectionEventKind as Kind
from tests.conftest import Recorder, wait_for

STEPS = {"orders": ("sync_ids", "start", "reconcile_after"),
         "market_data": ("start", "restore", "resubscribe_all", "link_lost", "link_restored", "socket_lost"),
         "account": ("start", "restore", "refresh_positions")}


def record_steps(pa: PlatformAdapter, monkeypatch: pytest.MonkeyPatch, log: list[str]) -> None:
    """Wrap each lifecycle step of the adapters so that it is logged when the lifecycle runs it (a
    step calling another, e.g. the account's start refreshing positions, is not logged again);
    each user event is logged too, from the event thread."""
    inside = threading.local()
    for name, methods in STEPS.items():
        adapter = getattr(pa, name)
        for method in methods:
            original = getattr(adapter, method)

            def step(*args: Any, _original: Callable[..., Any] = original, _label: str = f"{name}.{method}") -> Any:
                if getattr(inside, "step", False):
                    return _original(*args)
                log.append(_label)
                inside.step = True
                try:
                    return _original(*args)
                finally:
                    inside.step = False

            monkeypatch.setattr(adapter, method, step)
    pa.on_connection_event(lambda event: log.append(f"users: {event.kind.value}"))


def assert_sequences(log: list[str], sequences: list[tuple[Kind, list[str]]]) -> None:
    """The steps ran in this order, sequence after sequence, and each user event came after the
    steps of its own sequence (user callbacks run on the event thread, so they may come while the
    next sequence runs)."""
    assert [line for line in log if not line.startswith("users:")] == [s for _, steps in sequences for s in steps]
    assert [line for line in log if line.startswith("users:")] == [f"users: {kind.value}" for kind, _ in sequences]
    done = 0
    for kind, steps in sequences:
        done += len(steps)
        steps_seen = [i for i, line in enumerate(log) if not line.startswith("users:")]
        assert log.index(f"users: {kind.value}") > steps_seen[done - 1], kind


def test_connect_reconnect_and_link_codes_run_their_steps_in_order(make_adapter: Callable[..., PlatformAdapter],
                                                                  gateway: Any,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    pa = make_adapter(connect=False)
    log: list[str] = []
    record_steps(pa, monkeypatch, log)
    assert pa.connect()
    quotes = Recorder()
    pa.market_data.subscribe_quotes("AAPL", quotes)
    wait_for(lambda: "users: connected" in log)
    assert_sequences(log, [(Kind.CONNECTED, ["orders.sync_ids", "market_data.start", "orders.start",
                                             "account.start"])])

    log.clear()
    gateway.drop_all_connections()
    wait_for(lambda: "users: reconnected" in log, 15)
    assert_sequences(log, [(Kind.DISCONNECTED, ["market_data.socket_lost"]),
                           (Kind.RECONNECTED, ["orders.sync_ids", "market_data.restore", "orders.reconcile_after",
                                               "account.restore"])])

    for code, event, steps in (
            (1100, Kind.IB_LINK_LOST, ["market_data.link_lost"]),
            (1102, Kind.IB_LINK_RESTORED_DATA_KEPT, ["market_data.link_restored", "orders.reconcile_after",
                                                     "account.refresh_positions"]),
            (1101, Kind.IB_LINK_RESTORED_DATA_LOST, ["market_data.resubscribe_all", "orders.reconcile_after",
                                                     "account.restore"])):
        log.clear()
        gateway.send_system_code(code)
        wait_for(lambda e=event: f"users: {e.value}" in log, 15)
        assert_sequences(log, [(event, steps)])

    mark = len(quotes.calls)
    wait_for(lambda: len(quotes.calls) > mark and not quotes.calls[-1][1].stale, 10)  # the line was replayed
    order_id = pa.orders.place_order("AAPL", "BUY", 1, "MKT")
    assert pa.orders.wait_for_status(order_id, OrderState.FILLED, timeout=10).filled == 1


def test_link_codes_reported_back_to_back_run_one_after_another(make_adapter: Callable[..., PlatformAdapter],
                                                                gateway: Any,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    pa = make_adapter()
    log: list[str] = []
    record_steps(pa, monkeypatch, log)
    for code in (1100, 1101, 1102):
        gateway.send_system_code(code)
    wait_for(lambda: sum(line.startswith("users:") for line in log) == 3, 15)
    assert_sequences(log, [
        (Kind.IB_LINK_LOST, ["market_data.link_lost"]),
        (Kind.IB_LINK_RESTORED_DATA_LOST, ["market_data.resubscribe_all", "orders.reconcile_after", "account.restore"]),
        (Kind.IB_LINK_RESTORED_DATA_KEPT, ["market_data.link_restored", "orders.reconcile_after",
                                           "account.refresh_positions"])])
    assert pa.connection.ib_link_ok and pa.orders.reconciler.runs >= 3
