"""IB codes the ConnectionManager reacts to. 501 (already connected) and 503 (TWS too old) during
start-up end connecting with GatewayConfigError and no reconnect loop: the simulator never sends
them, so a scripted gateway on 127.0.0.1 answers the handshake and then the code, as a real error
frame over TCP. 502/504/507 for a pending request fail it with NotConnected."""

from __future__ import annotations

import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from platform_adapter import ConnectionState, GatewayConfigError, PlatformAdapter
from platform_adapter.errors import ConfigError, NotConnected
from tests.conftest import LOOPBACK, adapter_settings, wait_for
from tests.e2e.shell_helpers import child_env

VERSION = 176  # below 194 the error message carries a version field and no time
TEXTS = {501: "Already connected.", 503: "The TWS is out of date and must be upgraded."}


def frame(*fields: str) -> bytes:
    payload = b"".join(f.encode() + b"\0" for f in fields)
    return struct.pack(">I", len(payload)) + payload


def read_frame(conn: socket.socket) -> bytes:
    size = struct.unpack(">I", read_exact(conn, 4))[0]
    return read_exact(conn, size)


def read_exact(conn: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = conn.recv(n - len(out))
        if not chunk:
            raise ConnectionError("client went away")
        out += chunk
    return out


class CodeGateway:
    """Accepts every connection; answers the version handshake and startApi with ``plan(n)`` for
    the n-th connection (1-based): an IB code sent as error -1, or 0 for a normal start-up
    (managedAccounts, nextValidId; the socket stays open until :meth:`drop`)."""

    def __init__(self, plan: Callable[[int], int]) -> None:
        self.plan = plan
        self.srv = socket.create_server((LOOPBACK, 0))
        self.port = int(self.srv.getsockname()[1])
        self.accepted = 0
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.srv.accept()
            except OSError:
                return
            self.accepted += 1
            self.conns.append(conn)
            threading.Thread(target=self._serve, args=(conn, self.plan(self.accepted)), daemon=True).start()

    def _serve(self, conn: socket.socket, code: int) -> None:
        try:
            assert read_exact(conn, 4) == b"API\0"
            read_frame(conn)  # the version range
            conn.sendall(frame(str(VERSION), "20261204 10:00:00 UTC"))
            assert read_frame(conn).split(b"\0")[0] == b"71"  # startApi
            if code:
                conn.sendall(frame("4", "2", "-1", str(code), TEXTS[code], ""))
            else:
                conn.sendall(frame("15", "1", "DU1234567") + frame("9", "1", "1"))
            while conn.recv(65536):  # health checks and the like stay unanswered
                pass
        except (OSError, AssertionError):
            pass

    def drop(self) -> None:
        """Close every client connection (the gateway went away)."""
        for conn in self.conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def close(self) -> None:
        self.srv.close()
        self.drop()


@pytest.fixture
def code_gateway() -> Iterator[Callable[[Callable[[int], int]], CodeGateway]]:
    made: list[CodeGateway] = []

    def make(plan: Callable[[int], int]) -> CodeGateway:
        made.append(CodeGateway(plan))
        return made[-1]

    yield make
    for gw in made:
        gw.close()


@pytest.fixture
def adapter(tmp_path: Path) -> Iterator[Callable[..., PlatformAdapter]]:
    made: list[PlatformAdapter] = []

    def make(port: int, **overrides: Any) -> PlatformAdapter:
        settings = adapter_settings(tmp_path, port, 1, **{"ib_connection.reconnect_backoff": 0.02,
                                                          "ib_connection.reconnect_jitter": 0.0, **overrides})
        made.append(PlatformAdapter(settings=settings, configure_logging=False))
        return made[-1]

    yield make
    for pa in made:
        pa.connection.disconnect()


def stays(predicate: Callable[[], bool], within: float = 0.5) -> bool:
    """True when ``predicate`` holds for ``within`` seconds (a reconnect loop would break it at
    once: attempts are 20 ms apart here)."""
    try:
        wait_for(lambda: not predicate(), timeout=within)
    except AssertionError:
        return True
    return False


@pytest.mark.parametrize("code", [501, 503])
def test_fatal_code_during_start_up_raises_and_is_not_retried(code_gateway: Any, adapter: Any, code: int) -> None:
    gw = code_gateway(lambda n: code)
    pa = adapter(gw.port, **{"ib_connection.client_id_retry": True})
    with pytest.raises(GatewayConfigError) as info:
        pa.connection.connect()
    err = info.value
    assert isinstance(err, ConfigError) and err.code == code and err.message == TEXTS[code]
    assert f"IB {code}" in str(err) and ("update TWS" in str(err) if code == 503 else "IB_CLIENT_ID" in str(err))
    assert pa.connection.state is ConnectionState.DISCONNECTED
    assert pa.connection.last_error == str(err)
    assert stays(lambda: gw.accepted == 1), "no second attempt (not even with client_id_retry)"


def test_fatal_code_on_reconnect_stops_the_loop(code_gateway: Any, adapter: Any) -> None:
    gw = code_gateway(lambda n: 0 if n == 1 else 503)
    pa = adapter(gw.port, **{"ib_connection.reconnect_max_attempts": 50})
    assert pa.connection.connect()
    gw.drop()
    wait_for(lambda: pa.connection.state is ConnectionState.FAILED, timeout=5)
    assert "IB 503" in pa.connection.last_error and "update TWS" in pa.connection.last_error
    assert stays(lambda: gw.accepted == 2 and pa.connection.state is ConnectionState.FAILED)


def test_fatal_code_while_connected_is_logged_only(code_gateway: Any, adapter: Any) -> None:
    """ibapi itself reports 503 (id -1) for a request the connected gateway is too old for: the
    link stays."""
    gw = code_gateway(lambda n: 0)
    pa = adapter(gw.port)
    assert pa.connection.connect()
    pa.wrapper.error(-1, 0, 503, TEXTS[503] + "  It does not support market data type requests.", "")
    assert pa.connection.is_connected() and pa.connection.last_error == ""


def test_main_exits_with_the_configuration_error(code_gateway: Any, tmp_path: Path) -> None:
    gw = code_gateway(lambda n: 503)
    r = subprocess.run([sys.executable, "-m", "platform_adapter.main", "--env", "development", "--port",
                        str(gw.port), "--quiet", "--commands", "-"], input="status\n", cwd=str(tmp_path),
                       env=child_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Configuration error: config ib_connection: IB 503" in r.stderr and "update TWS" in r.stderr
    assert gw.accepted == 1


@pytest.mark.parametrize("code", [502, 504, 507])
def test_connection_failure_for_a_request_raises_not_connected(pa: PlatformAdapter, code: int) -> None:
    """ibapi reports 504 for the id of a request it could not send (the link dropped meanwhile)."""
    pending = pa.registry.start("probe")
    pa.wrapper.error(pending.req_id, 0, code, "Not connected", "")
    with pytest.raises(NotConnected, match=f"IB {code}"):
        pending.wait(1)
