"""The connection lifecycle (``core/lifecycle.py``): the steps of each event run in the documented
order, a failed step does not stop the next ones, sequences never overlap and run in the order their
events were reported, and user callbacks hear of each event after the library's own reactions."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from platform_adapter.core.events import EventDispatcher
from platform_adapter.core.lifecycle import Lifecycle, NoSteps
from platform_adapter.errors import NotConnected, RequestTimeout, ValidationError
from platform_adapter.models.connection import ConnectionEventKind as Kind
from tests.conftest import wait_for

ORDER = {  # the table of core/lifecycle.py
    Kind.CONNECTED: ["orders.sync_ids", "market_data.start", "orders.start", "account.start", "users"],
    Kind.DISCONNECTED: ["market_data.socket_lost", "users"],
    Kind.RECONNECTED: ["orders.sync_ids", "market_data.restore", "orders.reconcile_after(reconnected)",
                       "account.restore", "users"],
    Kind.IB_LINK_LOST: ["market_data.link_lost", "users"],
    Kind.IB_LINK_RESTORED_DATA_LOST: ["market_data.resubscribe_all",
                                      "orders.reconcile_after(ib_link_restored_data_lost)", "account.restore",
                                      "users"],
    Kind.IB_LINK_RESTORED_DATA_KEPT: ["market_data.link_restored",
                                      "orders.reconcile_after(ib_link_restored_data_kept)",
                                      "account.refresh_positions", "users"],
}


class Steps(NoSteps):
    """A participant recording each step it is asked to run into the shared log."""

    def __init__(self, name: str, log: list[str]) -> None:
        self.name = name
        self.log = log


def _step(method: str) -> Any:
    def step(self: Steps, *args: Any) -> None:
        self.log.append(f"{self.name}.{method}" + (f"({', '.join(map(str, args))})" if args else ""))
    return step


for _method in vars(NoSteps):
    if not _method.startswith("_"):
        setattr(Steps, _method, _step(_method))


class Connection:
    """The ConnectionManager's reactions the lifecycle handler forwards."""

    def __init__(self, log: list[str]) -> None:
        self.log = log

    def on_next_valid_id(self, order_id: int) -> None:
        self.log.append(f"connection.next_valid_id({order_id})")

    def on_managed_accounts(self, accounts: str) -> None:
        self.log.append(f"connection.managed_accounts({accounts})")

    def on_current_time(self, seconds: float) -> None:
        self.log.append(f"connection.current_time({seconds})")

    def on_error(self, req_id: int, code: int, message: str) -> None:
        self.log.append(f"connection.error({req_id}, {code})")


def make(log: list[str]) -> tuple[Lifecycle, Steps, Steps, Steps]:
    md, orders, account = Steps("market_data", log), Steps("orders", log), Steps("account", log)
    lifecycle = Lifecycle(Connection(log), market_data=md, orders=orders, account=account)  # type: ignore[arg-type]
    lifecycle.on_connection_event(lambda event: log.append("users"))
    return lifecycle, md, orders, account


@pytest.mark.parametrize("kind", list(Kind))
def test_each_event_runs_its_steps_in_the_documented_order(kind: Kind) -> None:
    log: list[str] = []
    lifecycle, *_ = make(log)
    assert lifecycle.run(kind) == ()
    assert log == ORDER[kind]


def test_the_handler_methods_run_the_sequences() -> None:
    log: list[str] = []
    lifecycle, *_ = make(log)
    lifecycle.connected()
    lifecycle.disconnected("socket closed")
    lifecycle.reconnected()
    assert log == ORDER[Kind.CONNECTED] + ORDER[Kind.DISCONNECTED] + ORDER[Kind.RECONNECTED]
    log.clear()
    for kind in (Kind.IB_LINK_LOST, Kind.IB_LINK_RESTORED_DATA_KEPT, Kind.IB_LINK_RESTORED_DATA_LOST):
        lifecycle.ib_link(kind, "IB's text")  # reported by the dispatcher: runs on a thread of its own
    wait_for(lambda: log.count("users") == 3)
    assert log == ORDER[Kind.IB_LINK_LOST] + ORDER[Kind.IB_LINK_RESTORED_DATA_KEPT] + \
        ORDER[Kind.IB_LINK_RESTORED_DATA_LOST]


def test_session_messages_reach_the_connection_and_the_order_ids() -> None:
    log: list[str] = []
    lifecycle, *_ = make(log)
    lifecycle.next_valid_id(17)
    lifecycle.managed_accounts("DU1,DU2")
    lifecycle.current_time(1700000000.5)
    lifecycle.error(-1, 1100, "lost", "")
    lifecycle.data_farm(2103, "usfarm")
    assert log == ["connection.next_valid_id(17)", "orders.accept_next_valid_id(17)",
                   "connection.managed_accounts(DU1,DU2)", "connection.current_time(1700000000.5)",
                   "connection.error(-1, 1100)", "market_data.data_farm(2103, usfarm)"]


def test_a_failed_step_is_logged_and_the_next_steps_run() -> None:
    log: list[str] = []
    lifecycle, md, orders, account = make(log)

    def timed_out(*_: Any) -> None:
        raise RequestTimeout("no openOrderEnd within 1s")

    def bug() -> None:
        raise KeyError("bug")

    orders.reconcile_after = timed_out  # type: ignore[method-assign]
    account.restore = bug  # type: ignore[method-assign]
    assert lifecycle.run(Kind.RECONNECTED) == ("orders", "account")
    assert log == ["orders.sync_ids", "market_data.restore", "users"]
    log.clear()
    lifecycle.connected()
    assert lifecycle.failed_steps == ()
    orders.start = timed_out  # type: ignore[method-assign]
    lifecycle.connected()
    assert lifecycle.failed_steps == ("orders",)


def test_a_sequence_waits_for_the_one_reported_before_it() -> None:
    """A 1101 sequence blocked in its orders step: a reconnect reported meanwhile runs after it,
    never interleaved."""
    log: list[str] = []
    lifecycle, md, orders, account = make(log)
    entered, release = threading.Event(), threading.Event()
    reconcile = orders.reconcile_after

    def slow(reason: str) -> None:
        if reason == Kind.IB_LINK_RESTORED_DATA_LOST.value:
            entered.set()
            release.wait(10)
        reconcile(reason)

    orders.reconcile_after = slow  # type: ignore[method-assign]
    lifecycle.ib_link(Kind.IB_LINK_RESTORED_DATA_LOST, "")
    assert entered.wait(10)
    done = threading.Event()
    reconnect = threading.Thread(target=lambda: (lifecycle.reconnected(), done.set()))
    reconnect.start()
    assert not done.wait(0.2)  # waiting for its turn
    assert "orders.sync_ids" not in log
    release.set()
    assert done.wait(10)
    reconnect.join(5)
    assert log == ["market_data.resubscribe_all", "orders.reconcile_after(ib_link_restored_data_lost)",
                   "account.restore", "users"] + ORDER[Kind.RECONNECTED]


def test_a_sequence_reported_from_inside_a_step_runs_after_it() -> None:
    """A step that makes the link drop (disconnected reported on the thread running the reconnect
    sequence) does not wait for itself: the disconnect's steps run after the reconnect's."""
    log: list[str] = []
    lifecycle, md, *_ = make(log)
    restore = md.restore

    def drop() -> None:
        restore()
        lifecycle.disconnected("dropped while restoring")

    md.restore = drop  # type: ignore[method-assign]
    lifecycle.reconnected()
    wait_for(lambda: log.count("users") == 2)
    assert log == ORDER[Kind.RECONNECTED] + ORDER[Kind.DISCONNECTED]


def test_user_callbacks_get_each_event_on_the_event_thread_after_the_steps() -> None:
    events = EventDispatcher()
    lifecycle = Lifecycle(Connection([]), events)  # type: ignore[arg-type]
    got: list[tuple[Any, ...]] = []
    lifecycle.on_connection_event(lambda event: got.append((event.kind, event.detail, threading.current_thread())))
    with pytest.raises(ValidationError):
        lifecycle.on_connection_event("not callable")  # type: ignore[arg-type]
    events.start()
    try:
        lifecycle.disconnected("socket closed")
        lifecycle.reconnected()
        assert events.wait_idle(5)
    finally:
        events.stop()
    assert [g[:2] for g in got] == [(Kind.DISCONNECTED, "socket closed"), (Kind.RECONNECTED, "")]
    assert all(g[2] is not threading.current_thread() for g in got)


def test_a_raising_user_callback_without_an_event_thread_is_logged() -> None:
    log: list[str] = []
    lifecycle = Lifecycle(Connection(log))  # type: ignore[arg-type]

    def bad(_: Any) -> None:
        raise NotConnected("user bug")

    lifecycle.on_connection_event(bad)
    lifecycle.on_connection_event(lambda event: log.append(event.kind.value))
    assert lifecycle.run(Kind.DISCONNECTED) == ()
    assert log == ["disconnected"]


def test_without_participants_only_users_hear_of_events() -> None:
    log: list[str] = []
    lifecycle = Lifecycle(Connection(log))  # type: ignore[arg-type]
    lifecycle.on_connection_event(lambda event: log.append(event.kind.value))
    for kind in Kind:
        assert lifecycle.run(kind) == ()
    lifecycle.next_valid_id(5)
    lifecycle.data_farm(2104, "usfarm")
    assert log == [kind.value for kind in Kind] + ["connection.next_valid_id(5)"]
