"""ConnectionManager over real TCP against the simulated gateway (127.0.0.1, ephemeral ports)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from ibapi.server_versions import MAX_CLIENT_VER

from platform_adapter import ConnectionState, NotConnected, PlatformAdapter
from platform_adapter.errors import ContractNotFound
from platform_adapter.models.connection import ConnectionEventKind as Kind
from tests.conftest import LOOPBACK, Recorder, wait_for


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts connections and never answers (a hung gateway)."""
    srv = socket.socket()
    srv.bind((LOOPBACK, 0))
    srv.listen()
    conns: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.1)
        while not stop.is_set():
            try:
                conns.append(srv.accept()[0])
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield int(srv.getsockname()[1])
    stop.set()
    t.join(2)
    for c in conns:
        c.close()
    srv.close()


def test_connect_reports_connected_with_version_and_accounts(pa: PlatformAdapter, gateway) -> None:
    status = pa.connection.get_connection_status()
    assert status.state is ConnectionState.CONNECTED and status.is_connected
    assert status.server_version == MAX_CLIENT_VER
    assert status.accounts == (gateway.account_id,)
    assert status.port == gateway.port and status.host == LOOPBACK
    assert status.connected_since is not None and status.uptime_seconds >= 0
    assert pa.connection.next_valid_id is not None and pa.connection.next_valid_id > 0
    assert pa.is_connected()
    assert pa.connection.connect() is True  # already connected: no second socket
    assert pa.connection.check_health(5.0)
    assert pa.connection.last_heartbeat is not None
    assert pa.connection.info()["messages_sent"] >= 1


def test_connect_to_closed_port_returns_false_fast(make_adapter: Callable[..., PlatformAdapter]) -> None:
    pa = make_adapter(connect=False)
    start = time.monotonic()
    assert pa.connect(port=free_port()) is False
    assert time.monotonic() - start < 2.0
    status = pa.connection.get_connection_status()
    assert status.state is ConnectionState.DISCONNECTED
    assert "cannot connect" in status.last_error
    with pytest.raises(NotConnected):
        pa.contracts.resolve("AAPL")


def test_silent_gateway_times_out_within_configured_timeout(make_adapter, silent_server: int) -> None:
    pa = make_adapter(connect=False, **{"ib_connection.timeout": 0.5})
    start = time.monotonic()
    assert pa.connect(port=silent_server) is False
    assert 0.4 <= time.monotonic() - start < 3.0
    assert "handshake" in pa.connection.last_error


def test_context_manager_connects_and_disconnects(make_adapter) -> None:
    pa = make_adapter(connect=False)
    with pa as p:
        assert p.is_connected()
    assert not pa.is_connected()
    assert pa.connection.get_connection_status().state is ConnectionState.DISCONNECTED


def test_context_manager_raises_when_gateway_absent(make_adapter) -> None:
    pa = make_adapter(connect=False, **{"ib_connection.port": free_port()})
    with pytest.raises(NotConnected, match="cannot connect"):
        with pa:
            pass


def test_duplicate_client_id_is_refused(make_adapter) -> None:
    make_adapter(client_id=42)
    second = make_adapter(connect=False, client_id=42)
    assert second.connect() is False
    assert "in use" in second.connection.last_error


def test_duplicate_client_id_retries_next_id_when_configured(make_adapter) -> None:
    make_adapter(client_id=50)
    second = make_adapter(connect=False, client_id=50, **{"ib_connection.client_id_retry": True})
    assert second.connect() is True
    assert second.connection.get_connection_status().client_id == 51


def test_unknown_symbol_maps_to_contract_not_found(pa: PlatformAdapter) -> None:
    with pytest.raises(ContractNotFound, match="NOSUCH: IB 200"):
        pa.contracts.resolve("NOSUCH")
    assert pa.contracts.resolve("AAPL").con_id == 265598
    assert pa.contracts.cached("AAPL") is not None


def test_link_drop_reconnects_and_fails_pending(pa: PlatformAdapter, gateway) -> None:
    events = Recorder()
    pa.on_connection_event(events)
    gateway.drop_all_connections()
    events.wait(2, timeout=10)
    assert [e.kind for (e,) in events.calls[:2]] == [Kind.DISCONNECTED, Kind.RECONNECTED]
    wait_for(pa.is_connected, 10)
    status = pa.connection.get_connection_status()
    assert status.reconnect_count == 1
    assert pa.contracts.resolve("MSFT").con_id == 272093


def test_pending_requests_fail_at_once_when_link_drops(pa: PlatformAdapter, gateway) -> None:
    gateway.stall(3.0)
    pending = pa.registry.start("probe")
    gateway.drop_all_connections()
    with pytest.raises(NotConnected):
        pending.wait(5)


def test_refused_reconnects_back_off_then_recover(make_adapter, gateway) -> None:
    pa = make_adapter(**{"ib_connection.reconnect_backoff": 0.05, "ib_connection.reconnect_max_delay": 0.2})
    gateway.refuse_connections(1.0)
    gateway.drop_all_connections()
    wait_for(lambda: pa.connection.state is ConnectionState.RECONNECTING, 5)
    wait_for(pa.is_connected, 15)
    assert pa.connection.reconnect_count == 1


def test_reconnect_gives_up_after_max_attempts(make_adapter, gateway) -> None:
    pa = make_adapter(**{"ib_connection.reconnect_backoff": 0.01, "ib_connection.reconnect_max_delay": 0.02,
                         "ib_connection.reconnect_max_attempts": 3})
    gateway.refuse_connections(30.0)
    gateway.drop_all_connections()
    wait_for(lambda: pa.connection.state is ConnectionState.FAILED, 10)
    assert not pa.is_connected()


def test_no_auto_reconnect_leaves_disconnected(make_adapter, gateway) -> None:
    pa = make_adapter(**{"ib_connection.auto_reconnect": False, "monitoring.health_check_interval_seconds": 0.05})
    gateway.drop_all_connections()
    wait_for(lambda: pa.connection.state is ConnectionState.DISCONNECTED, 5)
    assert pa.connection.get_connection_status().reconnect_count == 0
    health = pa.connection._health_thread
    assert health is not None
    health.join(5)
    assert not health.is_alive()  # no health checks against a closed link


def test_manual_reconnect(pa: PlatformAdapter) -> None:
    assert pa.connection.reconnect() is True
    assert pa.is_connected() and pa.connection.reconnect_count == 1


def test_stalled_gateway_detected_by_health_check(make_adapter, gateway) -> None:
    pa = make_adapter(**{"monitoring.health_check_interval_seconds": 0.2,
                         "monitoring.health_check_timeout_seconds": 0.3})
    events = Recorder()
    pa.on_connection_event(events)
    gateway.stall(1.0)
    (event,) = events.wait(1, timeout=10)[0]
    assert event.kind is Kind.DISCONNECTED and "health check" in event.detail
    wait_for(pa.is_connected, 15)


def test_ib_link_codes_are_reported(pa: PlatformAdapter, gateway) -> None:
    states = Recorder()
    pa.on_connection_event(states)
    gateway.send_system_code(1100)
    states.wait(1)
    assert pa.connection.get_connection_status().ib_link_ok is False
    gateway.send_system_code(1102)
    gateway.send_system_code(1101)
    states.wait(3)
    assert [e.kind for (e,) in states.calls] == [Kind.IB_LINK_LOST, Kind.IB_LINK_RESTORED_DATA_KEPT,
                                                 Kind.IB_LINK_RESTORED_DATA_LOST]
    assert pa.connection.get_connection_status().ib_link_ok is True
    for code in (2103, 2104, 2107, 100, 502):
        gateway.send_system_code(code)
    assert pa.connection.check_health(5)  # notices never tear the link down
    assert pa.is_connected()


@pytest.mark.parametrize(("outage", "farm"), [(2103, "usfarm"), (2105, "ushmds")])
def test_a_broken_farm_ib_then_calls_inactive_is_ok_again(pa: PlatformAdapter, gateway, outage: int,
                                                          farm: str) -> None:
    """IB's 2108/2107 ("...inactive but should be available upon demand.<farm>") say the farm is
    fine, only idle: a farm reported broken that IB then calls inactive is no longer listed and
    quotes are no longer degraded (before, it stayed broken until a 2104/2106 that need not come)."""
    quotes = Recorder()
    pa.market_data.subscribe_quotes("AAPL", quotes)
    quotes.wait(1)
    assert pa.connection.get_connection_status().broken_farms == ()  # the 2107 at connect changed nothing
    gateway.farm_outage(outage)
    wait_for(lambda: pa.connection.get_connection_status().broken_farms == (farm,), 5)
    if outage == 2103:
        wait_for(lambda: pa.market_data.get_quote("AAPL").degraded, 5)
        wait_for(lambda: quotes.calls[-1][1].degraded, 5)
    gateway.farm_restored(outage, inactive=True)
    wait_for(lambda: pa.connection.get_connection_status().broken_farms == (), 5)
    wait_for(lambda: not pa.market_data.get_quote("AAPL").degraded, 5)
    wait_for(lambda: not quotes.calls[-1][1].degraded, 5)


def test_socket_port_reset_reconnects(pa: PlatformAdapter, gateway) -> None:
    events = Recorder()
    pa.on_connection_event(events)
    pa.wrapper.error(-1, 0, 1300, f"TWS socket port has been reset and this connection is being dropped. "
                                  f"Please reconnect on the new port - {gateway.port}", "")
    events.wait(2, timeout=10)
    assert [e.kind for (e,) in events.calls] == [Kind.DISCONNECTED, Kind.RECONNECTED]
    assert pa.is_connected() and pa.connection.port == gateway.port


def test_disconnect_is_clean_and_final(pa: PlatformAdapter, gateway) -> None:
    pa.disconnect()
    assert not pa.is_connected()
    assert pa.connection.get_connection_status().state is ConnectionState.DISCONNECTED
    with pytest.raises(NotConnected):
        pa.connection.require_connected()
    assert pa.connection.check_health(0.1) is False
    wait_for(lambda: gateway.stats().clients == [], 5)
