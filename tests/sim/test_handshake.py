"""Handshake, startApi, duplicate client id, version refusal, unknown messages."""

from __future__ import annotations

import socket
import struct

from ibapi.server_versions import MAX_CLIENT_VER

from platform_adapter.sim import SimulatedGateway

from .conftest import AAPL, RawClient


def test_handshake_and_startapi(gateway: SimulatedGateway, raw) -> None:  # type: ignore[no-untyped-def]
    c = raw(3, start=False)
    assert len(c.hello) == 2 and c.hello[0] == "176"
    assert c.hello[1].endswith(" UTC") and len(c.hello[1]) == len("20261127 05:30:00 UTC")
    assert c.msgs.empty()  # nothing before startApi
    c.send(71, 2, 3, "")
    acc = c.wait_for(lambda m: m[0] == "15")
    nid = c.wait_for(lambda m: m[0] == "9")
    assert acc == ["15", "1", "DU1234567"] and len(nid) == 3
    for code in (2104, 2107, 2158):
        e = c.wait_error(code)
        assert len(e) == 6 and e[2] == "-1"


def test_version_negotiation_min(gateway: SimulatedGateway) -> None:
    c = RawClient(gateway.port, 1, versions="v157..170")
    assert c.hello[0] == "170"
    c.close()


def test_refuses_client_min_above_ours(gateway: SimulatedGateway) -> None:
    s = socket.create_connection(("127.0.0.1", gateway.port), timeout=5)
    v = f"v{MAX_CLIENT_VER + 1}..{MAX_CLIENT_VER + 10}".encode()
    s.sendall(b"API\0" + struct.pack(">I", len(v)) + v)
    assert s.recv(100) == b""
    s.close()


def test_duplicate_client_id_326(gateway: SimulatedGateway, raw) -> None:  # type: ignore[no-untyped-def]
    a = raw(11)
    a.wait_for(lambda m: m[0] == "9")
    b = raw(11)
    e = b.wait_error(326)
    assert e[4] == ("Unable to connect as the client id is already in use. "
                    "Retry with a unique client id.")
    assert b.wait_closed()
    a.send(49, 1)
    assert a.wait_for(lambda m: m[0] == "49")


def test_unknown_message_does_not_crash(gateway: SimulatedGateway, raw) -> None:  # type: ignore[no-untyped-def]
    c = raw(4)
    c.send(12345, 1, "x")
    c.send(10, 5, 1, *AAPL, 5, 0, "")  # reqMktDepth: unhandled
    c.send(49, 1)
    assert c.wait_for(lambda m: m[0] == "49")
    assert gateway.stats().received["msg12345"] == 1


def test_unknown_contract_200(gateway: SimulatedGateway, raw) -> None:  # type: ignore[no-untyped-def]
    c = raw(5)
    c.send(9, 8, 77, 0, "NOPE", "STK", "", "", "", "", "SMART", "", "USD", "", "", 0, "", "", "")
    e = c.wait_error(200)
    assert e[2] == "77" and e[4] == "No security definition has been found for the request"


def test_a_session_closed_during_its_handshake_does_not_keep_its_client_id(gateway) -> None:  # type: ignore[no-untyped-def]
    import threading as _threading

    class Stub:  # the two attributes registration looks at
        def __init__(self) -> None:
            self.closed = _threading.Event()
            self.client_id: int | None = None

    closed = Stub()
    closed.closed.set()
    assert gateway._register(closed, 77) is False
    assert 77 not in gateway.sessions
    live = Stub()
    assert gateway._register(live, 77) is True and live.client_id == 77
    gateway._unregister(live)
    assert 77 not in gateway.sessions
