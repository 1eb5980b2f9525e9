"""Races of connect, disconnect and reconnect across threads (real TCP on 127.0.0.1, the simulator)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from platform_adapter import ConnectionState, NotConnected, OrderState, PlatformAdapter
from tests.conftest import wait_for


def _in_thread(target: Callable[[], object]) -> tuple[threading.Thread, list[object]]:
    result: list[object] = []
    thread = threading.Thread(target=lambda: result.append(target()), daemon=True)
    thread.start()
    return thread, result


def test_disconnect_during_a_reconnects_handshake_stays_disconnected(make_adapter, gateway) -> None:
    pa = make_adapter(**{"ib_connection.reconnect_backoff": 0.05, "ib_connection.reconnect_max_delay": 0.05})
    cm = pa.connection
    gateway.freeze()  # the reconnect's attempt gets no version reply until the thaw
    gateway.drop_all_connections()
    wait_for(lambda: gateway.stats().connections >= 2 and gateway.stats().open_connections == 1, 10)
    loop = cm._reconnect_thread
    assert loop is not None
    pa.disconnect()
    gateway.thaw()
    loop.join(15)
    assert not loop.is_alive()
    assert not cm.is_connected() and cm.state is ConnectionState.DISCONNECTED
    assert cm.reconnect_count == 0
    wait_for(lambda: gateway.stats().open_connections == 0, 5)


def test_disconnect_during_connects_handshake_makes_connect_return_false(make_adapter, gateway) -> None:
    pa = make_adapter(connect=False)
    cm = pa.connection
    gateway.freeze()
    thread, result = _in_thread(cm.connect)
    wait_for(lambda: gateway.stats().open_connections == 1, 10)
    cm.disconnect()
    gateway.thaw()
    thread.join(15)
    assert result == [False] and not cm.is_connected()
    assert cm.state is ConnectionState.DISCONNECTED
    wait_for(lambda: gateway.stats().open_connections == 0, 5)


def test_disconnect_during_the_start_up_wait_ends_connect_at_once(make_adapter, gateway) -> None:
    pa = make_adapter(connect=False, **{"ib_connection.timeout": 30.0})
    cm = pa.connection
    gateway.wedge("start_api")  # version reply, then never nextValidId
    thread, result = _in_thread(cm.connect)
    wait_for(cm.client.isConnected, 10)  # the handshake is done; connect waits for nextValidId
    cm.disconnect()
    thread.join(5)  # far less than the 30 s timeout
    assert not thread.is_alive()
    assert result == [False] and cm.state is ConnectionState.DISCONNECTED


def test_two_threads_connecting_at_once_make_one_session(make_adapter, gateway, monkeypatch) -> None:
    pa = make_adapter(connect=False)
    cm = pa.connection
    handshakes: list[int] = []
    waiting = threading.Event()
    handshake, await_connect = cm._handshake, getattr(cm, "_await_connect", None)

    def counted_handshake(*args: object) -> object:
        handshakes.append(1)
        return handshake(*args)  # type: ignore[arg-type]

    def noted_await(timeout: float) -> bool:  # the second connect waits for the first
        waiting.set()
        assert await_connect is not None
        return bool(await_connect(timeout))

    monkeypatch.setattr(cm, "_handshake", counted_handshake)
    monkeypatch.setattr(cm, "_await_connect", noted_await, raising=False)
    gateway.freeze()
    first, first_result = _in_thread(cm.connect)
    wait_for(lambda: handshakes, 10)
    second, second_result = _in_thread(cm.connect)
    wait_for(lambda: len(handshakes) == 2 or waiting.is_set(), 10)  # the second one opened or waits
    gateway.thaw()
    first.join(15)
    second.join(15)
    assert first_result == [True] and second_result == [True]
    assert len(handshakes) == 1
    assert cm.is_connected() and cm.check_health(5)
    assert gateway.stats().clients == [cm.client_id]


def test_facade_connects_from_two_threads_run_the_start_up_once(make_adapter, gateway, monkeypatch) -> None:
    pa = make_adapter(connect=False)
    cm = pa.connection
    starts: list[int] = []
    entered: list[int] = []
    handshakes: list[int] = []
    waiting = threading.Event()
    sync_ids, handshake = pa.orders.sync_ids, cm._handshake
    await_connect = getattr(cm, "_await_connect", None)
    lock = threading.RLock()

    class NotedLock:  # the facade's connect lock: notes each thread that reaches it
        def __enter__(self) -> None:
            entered.append(1)
            lock.acquire()

        def __exit__(self, *exc: object) -> None:
            lock.release()

    def counted_sync_ids() -> None:  # the first start-up step
        starts.append(1)
        sync_ids()

    def counted_handshake(*args: object) -> object:
        handshakes.append(1)
        return handshake(*args)  # type: ignore[arg-type]

    def noted_await(timeout: float) -> bool:
        waiting.set()
        assert await_connect is not None
        return bool(await_connect(timeout))

    monkeypatch.setattr(pa.orders, "sync_ids", counted_sync_ids)
    monkeypatch.setattr(pa, "_connecting", NotedLock(), raising=False)
    monkeypatch.setattr(cm, "_handshake", counted_handshake)
    monkeypatch.setattr(cm, "_await_connect", noted_await, raising=False)
    gateway.freeze()  # both calls start before the link is up
    first, first_result = _in_thread(pa.connect)
    wait_for(lambda: handshakes, 10)
    second, second_result = _in_thread(pa.connect)
    wait_for(lambda: len(entered) == 2 or len(handshakes) == 2 or waiting.is_set(), 10)
    gateway.thaw()
    first.join(15)
    second.join(15)
    assert first_result == [True] and second_result == [True]
    assert starts == [1] and len(handshakes) == 1


def test_disconnect_during_the_start_up_steps_leaves_no_thread_running(make_adapter, gateway,
                                                                       monkeypatch) -> None:
    pa = make_adapter(connect=False)
    before = set(threading.enumerate())
    in_step, release = threading.Event(), threading.Event()
    sync_ids = pa.orders.sync_ids

    def slow_sync_ids() -> None:  # the first start-up step
        in_step.set()
        release.wait(10)
        sync_ids()

    monkeypatch.setattr(pa.orders, "sync_ids", slow_sync_ids)
    connecting, _ = _in_thread(pa.connect)
    assert in_step.wait(10)
    stopping, _ = _in_thread(pa.disconnect)
    wait_for(lambda: not pa.connection.client.isConnected(), 10)  # the link is closed; the steps go on
    release.set()
    connecting.join(15)
    stopping.join(15)
    assert not connecting.is_alive() and not stopping.is_alive()
    ours = ("pa-md-monitor", "pa-md-watchdog", "pa-account", "pa-order-reconcile", "pa-journal-writer",
            "pa-health", "pa-reconnect")

    def leaked() -> list[str]:
        return sorted(t.name for t in set(threading.enumerate()) - before if t.name.startswith(ours))

    wait_for(lambda: not leaked(), 5)


def test_disconnect_twice_reports_one_disconnect(pa: PlatformAdapter, recorder) -> None:
    pa.on_connection_event(recorder)
    pa.connection.disconnect()
    pa.connection.disconnect()
    assert pa.events.wait_idle(5)
    kinds = [event.kind.value for (event,) in recorder.calls]
    assert kinds == ["disconnected"]



def test_connect_waiting_for_a_reconnect_ends_when_disconnect_is_called(make_adapter, gateway,
                                                                         monkeypatch) -> None:
    pa = make_adapter(**{"ib_connection.reconnect_backoff": 30.0, "ib_connection.reconnect_max_delay": 30.0,
                         "ib_connection.timeout": 30.0})
    cm = pa.connection
    waiting = threading.Event()
    wait_until = cm.wait_until_connected

    def noted_wait(timeout: float) -> bool:
        waiting.set()
        return wait_until(timeout)

    monkeypatch.setattr(cm, "wait_until_connected", noted_wait)
    gateway.drop_all_connections()
    wait_for(lambda: cm.state is ConnectionState.RECONNECTING, 5)
    connecting, result = _in_thread(pa.connect)
    assert waiting.wait(5)  # connect waits for the reconnect
    stopping, _ = _in_thread(pa.disconnect)
    stopping.join(5)
    connecting.join(5)  # far less than the 30 s timeout
    assert not stopping.is_alive() and not connecting.is_alive()
    assert result == [False] and pa.connection.state is ConnectionState.DISCONNECTED


def test_a_cancel_waiting_for_its_pacing_turn_across_a_reconnect_is_never_sent(make_adapter, gateway,
                                                                                monkeypatch) -> None:
    """A message made for a link that closed while it waited for its pacing turn is not sent on
    the next link: the cancel raises NotConnected and the gateway never sees it."""
    pa = make_adapter()
    order_id = pa.orders.place_order("AAPL", "BUY", 10, "LMT", limit_price=100.0, tif="DAY")
    pa.orders.wait_for_status(order_id, OrderState.SUBMITTED, timeout=5)
    in_wait, go = threading.Event(), threading.Event()
    acquire = pa.bucket.acquire

    def held_acquire(timeout: float | None = None) -> float:  # the cancel's pacing wait lasts past a reconnect
        if threading.current_thread().name == "paced-cancel":
            in_wait.set()
            go.wait(15)
        return acquire(timeout)

    monkeypatch.setattr(pa.bucket, "acquire", held_acquire)
    result: list[object] = []

    def cancel() -> None:
        try:
            result.append(pa.orders.cancel_order(order_id))
        except NotConnected as exc:
            result.append(exc)

    sender = threading.Thread(target=cancel, name="paced-cancel", daemon=True)
    sender.start()
    assert in_wait.wait(5)
    gateway.drop_all_connections()
    wait_for(lambda: pa.connection.reconnect_count == 1 and pa.is_connected(), 15)
    go.set()
    sender.join(10)
    assert len(result) == 1 and isinstance(result[0], NotConnected)
    assert pa.connection.round_trip(5)  # everything sent before has reached the gateway
    assert gateway.stats().received["cancelOrder"] == 0


def test_disconnect_while_a_send_is_blocked_by_a_gateway_that_stopped_reading(make_adapter, gateway) -> None:
    """A frozen gateway stops reading: the socket buffers fill and a send blocks. disconnect()
    must not wait for that send (it held the socket's lock): it ends it."""
    pa = make_adapter(**{"monitoring.health_check_interval_seconds": 60.0})
    client = pa.connection.client
    pa.bucket.enabled = False  # fill the buffers quickly
    gateway.freeze()
    ended: list[BaseException] = []

    def flood() -> None:
        body = "x" * 65536
        try:
            while True:
                client.sendMsg(49, body)
        except OSError as exc:
            ended.append(exc)

    sender = threading.Thread(target=flood, daemon=True)
    sender.start()
    progress = {"sent": -1, "since": 0.0}

    def stuck() -> bool:  # no message sent for 0.5 s: the send is blocked on the full buffers
        now, sent = time.monotonic(), client.messages_sent
        if sent != progress["sent"]:
            progress["sent"], progress["since"] = sent, now
        return sent > 0 and now - progress["since"] > 0.5

    try:
        wait_for(stuck, 30)
        stopping, _ = _in_thread(pa.connection.disconnect)
        stopping.join(5)
        assert not stopping.is_alive(), "disconnect() waited for the blocked send"
        sender.join(5)
        assert not sender.is_alive() and ended
    finally:
        gateway.thaw()


def test_a_connect_after_a_disconnect_gets_a_stop_of_its_own(make_adapter) -> None:
    """disconnect() sets the session's stop; the next connect() starts with a new, clear one (the
    loops the disconnect ended keep theirs set), and an attempt given a set stop does nothing."""
    pa = make_adapter()
    cm = pa.connection
    first = cm._stop
    pa.disconnect()
    assert first.is_set()
    assert pa.connect()
    assert cm._stop is not first and not cm._stop.is_set() and first.is_set()
    assert cm._open(False, first) is False and cm.is_connected()  # the ended session's stop: nothing opened


def test_a_disconnect_as_the_socket_opens_ends_the_attempt_before_its_handshake(make_adapter, gateway,
                                                                              monkeypatch) -> None:
    """disconnect() between the socket's connect and the attempt's record of it: the attempt sees
    its stop set and closes the socket without a handshake."""
    import platform_adapter.core.connection_manager as cm_module

    pa = make_adapter(connect=False)
    cm = pa.connection
    real = cm_module.SocketConnection

    def opened_then_disconnected(*args: object, **kwargs: object) -> object:
        conn = real(*args, **kwargs)
        cm.disconnect()
        return conn

    monkeypatch.setattr(cm_module, "SocketConnection", opened_then_disconnected)
    assert cm.connect() is False
    assert "disconnect requested" in cm.last_error and cm.state is ConnectionState.DISCONNECTED
    wait_for(lambda: gateway.stats().open_connections == 0, 5)


def test_a_disconnect_just_before_connected_is_said_ends_the_attempt(make_adapter, gateway, monkeypatch) -> None:
    """disconnect() after the start-up's answers came but before the attempt says CONNECTED (it
    checks its stop once more under the lock): the link is closed, never reported connected."""
    import platform_adapter.core.connection_manager as cm_module

    pa = make_adapter(connect=False)
    cm = pa.connection

    class ThenDisconnect(threading.Event):
        def is_set(self) -> bool:
            seen = super().is_set()
            if seen and self is cm._next_id_seen and not cm._stop.is_set():
                cm._stop.set()  # as disconnect() does, between the start-up's last look and CONNECTED
            return seen

    class Threading:
        Event = ThenDisconnect

        def __getattr__(self, name: str) -> object:
            return getattr(threading, name)

    monkeypatch.setattr(cm_module, "threading", Threading())
    assert cm.connect() is False
    assert "disconnect requested" in cm.last_error and not cm.is_connected()
    assert cm.state is not ConnectionState.CONNECTED
    wait_for(lambda: gateway.stats().open_connections == 0, 5)
