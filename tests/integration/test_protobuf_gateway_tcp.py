"""A tiny fake gateway at server version 226 over TCP (127.0.0.1, ephemeral port): start-up frames
in protobuf, protobuf ticks and order statuses taken by the fast path, and an absurd length
prefix: the stream cannot be re-synchronised, so the reader ends cleanly with the reason logged
and the connection manager reconnects."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from ibapi.protobuf.ManagedAccounts_pb2 import ManagedAccounts
from ibapi.protobuf.NextValidId_pb2 import NextValidId
from ibapi.protobuf.OrderStatus_pb2 import OrderStatus
from ibapi.protobuf.TickPrice_pb2 import TickPrice
from ibapi.server_versions import MAX_CLIENT_VER
from loguru import logger

from platform_adapter.core.transport import MAX_FRAME
from tests.conftest import LOOPBACK, Recorder, wait_for
from tests.wire import proto_frame


def _framed(frame: bytes) -> bytes:
    return struct.pack(">I", len(frame)) + frame


class ProtobufGateway:
    """Answers the handshake with 226, then start-up in protobuf, then ``then`` when told."""

    def __init__(self) -> None:
        self.srv = socket.create_server((LOOPBACK, 0))
        self.port = int(self.srv.getsockname()[1])
        self.go = threading.Event()
        self.then: list[bytes] = []
        self.conn: socket.socket | None = None
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        try:
            conn, _ = self.srv.accept()
        except OSError:
            return
        self.conn = conn
        conn.recv(4096)  # API\0 and the version range
        conn.sendall(_framed(f"{MAX_CLIENT_VER}\0".encode() + b"20261204 10:00:00 UTC\0"))
        conn.recv(4096)  # startApi
        conn.sendall(_framed(proto_frame(9, NextValidId(orderId=500))) +
                     _framed(proto_frame(15, ManagedAccounts(accountsList="DU7654321"))))
        if self.go.wait(10):
            conn.sendall(b"".join(self.then))
        threading.Event().wait(5)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.srv.close()


@pytest.fixture
def gw() -> Iterator[ProtobufGateway]:
    gateway = ProtobufGateway()
    yield gateway
    gateway.close()


@pytest.fixture
def logged() -> Iterator[list[str]]:
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="INFO", format="{level} {message}")
    yield lines
    logger.remove(sink)


def test_protobuf_gateway_fast_path_and_an_absurd_length(make_adapter: Any, gw: ProtobufGateway,
                                                         logged: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    pa = make_adapter(connect=False, **{"ib_connection.reconnect_max_attempts": 1})
    statuses = Recorder()
    orders = pa.orders.handler
    monkeypatch.setattr(orders, "order_status", lambda *args: statuses(*args))  # bound before connecting
    assert pa.connection.connect(port=gw.port), pa.connection.last_error
    assert pa.connection.server_version == MAX_CLIENT_VER and pa.connection.accounts == ("DU7654321",)
    assert pa.connection.next_valid_id == 500
    dispatcher = pa.connection._dispatcher
    assert dispatcher is not None
    gw.then = [_framed(proto_frame(1, TickPrice(reqId=1, tickType=1, price=10.5, size="3", attrMask=0))),
               _framed(proto_frame(3, OrderStatus(orderId=500, status="Submitted", filled="0", remaining="5"))),
               struct.pack(">I", MAX_FRAME + 1) + b"\0" * 16]
    gw.go.set()
    status = statuses.wait(1)[0]
    assert status[:2] == (500, "Submitted")
    assert dispatcher.fast_messages >= 2  # the tick and the status, as protobuf, by the fast path
    wait_for(lambda: any("bad frame: frame length" in line for line in logged), 10)
    lost = next(line for line in logged if "bad frame" in line)
    assert f"exceeds {MAX_FRAME}" in lost and lost.startswith("WARNING Connection to")
    wait_for(lambda: any("Reconnect attempt 1/1" in line for line in logged), 10)
