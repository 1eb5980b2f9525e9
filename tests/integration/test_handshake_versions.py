"""Version negotiation failures: a gateway that closes during the handshake, or answers a version
outside the offered range, gives an error (``last_error`` and the log) that names the offered
``v100..N`` range and the likely cause. Fake listeners on 127.0.0.1 and an ephemeral port."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable, Iterator

import pytest
from ibapi.server_versions import MAX_CLIENT_VER
from loguru import logger

from platform_adapter import ConnectionState, PlatformAdapter
from tests.conftest import LOOPBACK


def _read_exact(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ConnectionError("client went away")
        data += chunk
    return data


class VersionListener:
    """Accepts one client, reads ``API\\0`` and the length-prefixed version range, then runs
    ``answer(conn)`` (which may close the socket or send a version reply)."""

    def __init__(self, answer: Callable[[socket.socket], None]) -> None:
        self.srv = socket.create_server((LOOPBACK, 0))
        self.port = int(self.srv.getsockname()[1])
        self.answer = answer
        self.offered = ""
        self.read = threading.Event()
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        try:
            conn, _ = self.srv.accept()
        except OSError:
            return
        self._conns.append(conn)
        try:
            assert _read_exact(conn, 4) == b"API\0"
            (size,) = struct.unpack(">I", _read_exact(conn, 4))
            self.offered = _read_exact(conn, size).decode()
        finally:
            self.read.set()
        self.answer(conn)

    def close(self) -> None:
        for c in self._conns:
            c.close()
        self.srv.close()


@pytest.fixture
def listener() -> Iterator[Callable[[Callable[[socket.socket], None]], VersionListener]]:
    made: list[VersionListener] = []

    def make(answer: Callable[[socket.socket], None]) -> VersionListener:
        made.append(VersionListener(answer))
        return made[-1]

    yield make
    for lis in made:
        lis.close()


@pytest.fixture
def errors() -> Iterator[list[str]]:
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="ERROR", format="{message}")
    yield lines
    logger.remove(sink)


def _version_reply(version: str) -> Callable[[socket.socket], None]:
    def answer(conn: socket.socket) -> None:
        payload = version.encode() + b"\0" + b"20261204 10:00:00 UTC\0"
        conn.sendall(struct.pack(">I", len(payload)) + payload)
        try:
            conn.recv(4096)  # startApi would follow; the client must not get that far
        except OSError:  # the fixture closed the socket first (the test is over)
            pass
    return answer


def _connect(make_adapter: Callable[..., PlatformAdapter], port: int, **overrides: object) -> PlatformAdapter:
    pa = make_adapter(connect=False, **{"ib_connection.timeout": 5.0, **overrides})
    assert pa.connection.connect(port=port) is False
    assert pa.connection.state is ConnectionState.DISCONNECTED
    return pa


def test_default_offer_is_ibapis_full_range(make_adapter, listener, errors) -> None:
    lis = listener(lambda c: c.close())
    pa = _connect(make_adapter, lis.port)
    assert lis.read.wait(5)
    assert lis.offered == f"v100..{MAX_CLIENT_VER}"
    message = pa.connection.last_error
    assert f"v100..{MAX_CLIENT_VER}" in message
    assert "closed during the handshake" in message
    for hint in ("newer API version", "ib_connection.max_client_version", "Trusted IPs", "API is not enabled"):
        assert hint in message
    assert any(f"v100..{MAX_CLIENT_VER}" in line and "Trusted IPs" in line for line in errors)


def test_close_after_a_pinned_range_names_that_range(make_adapter, listener, errors) -> None:
    """A gateway that refuses clients below 213 closes on ``v100..200``: the error says so."""
    lis = listener(lambda c: c.close())
    pa = _connect(make_adapter, lis.port, **{"ib_connection.max_client_version": 200})
    assert lis.offered == "v100..200"
    assert "v100..200" in pa.connection.last_error
    assert "raise or unpin ib_connection.max_client_version" in pa.connection.last_error
    assert any("v100..200" in line for line in errors)


@pytest.mark.parametrize("version, words", [
    ("99", ("server version 99", "below the offered", "too old", "upgrade the gateway")),
    ("300", ("server version 300", "above the offered", "newer API", "ib_connection.max_client_version")),
    ("abc", ("b'abc'", "not a version number", "API port")),
])
def test_version_outside_the_offer_is_refused(make_adapter, listener, errors, version, words) -> None:
    lis = listener(_version_reply(version))
    pa = _connect(make_adapter, lis.port)
    message = pa.connection.last_error
    assert f"v100..{MAX_CLIENT_VER}" in message
    for word in words:
        assert word in message
    assert pa.connection.server_version is None
    assert any(f"v100..{MAX_CLIENT_VER}" in line and words[0] in line for line in errors)


def test_a_version_above_a_pinned_cap_is_refused(make_adapter, listener) -> None:
    lis = listener(_version_reply("226"))
    pa = _connect(make_adapter, lis.port, **{"ib_connection.max_client_version": 176})
    assert "server version 226, above the offered API versions v100..176" in pa.connection.last_error
