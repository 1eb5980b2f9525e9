"""Races of connect, disconnect and reconnect across threads (real TCP on 127.0.0.1, the simulator)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from platform_adapter import ConnectionState
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
