"""Requests over real TCP at every server version: version negotiation, cancelOrder on both sides
of 192, protobuf requests, and malformed frames that must not end a session.

Replies from 201 on are another branch's work, so above 200 these tests look at the simulator's
state (its order book, its statistics, its log) rather than at what a client decodes.
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from ibapi.client import EClient
from ibapi.order_cancel import OrderCancel

from platform_adapter.sim import SimulatedGateway
from platform_adapter.sim.orders import SimOrder
from platform_adapter.sim.pacing import PacingConfig
from tests.sim.ibapi_recorder import IbapiRecorder, run_loop, stock_client

from .conftest import RawClient
from .ibapi_capture import one_frame, simple_order, stock
from .test_ibapi_conformance import RECORDED


def wait_until(pred: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Poll the simulator's state until ``pred`` holds (its value), or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not (value := pred()):
        assert time.monotonic() < deadline, "condition not met in time"
        pause.wait(0.01)
    return value


@pytest.fixture
def gateway_at() -> Iterator[Callable[..., SimulatedGateway]]:
    made: list[SimulatedGateway] = []

    def make(server_version: int, **kw: Any) -> SimulatedGateway:
        gw = SimulatedGateway(server_version=server_version, tick_interval=0.05, **kw).start()
        made.append(gw)
        return gw

    yield make
    for gw in made:
        gw.stop()


def order(gw: SimulatedGateway, client_id: int, order_id: int) -> SimOrder | None:
    return next((o for o in gw.stats().orders
                 if (o.client_id, o.order_id) == (client_id, order_id)), None)


class IbapiClient:
    """Stock ibapi's EClient; its replies are decoded (run thread) only up to server version 200."""

    def __init__(self, gw: SimulatedGateway, client_id: int) -> None:
        self.wrapper = IbapiRecorder(RECORDED)
        self.client = EClient(self.wrapper)
        self.client.connect("127.0.0.1", gw.port, client_id)
        self.decoding = self.client.serverVersion() < 201
        self.thread = threading.Thread(target=run_loop, args=(self.client,), daemon=True)
        if self.decoding:
            self.thread.start()
        wait_until(lambda: client_id in gw.sessions)  # startApi served

    def close(self) -> None:
        self.client.disconnect()
        if self.decoding:
            self.thread.join(timeout=5)


@pytest.mark.parametrize("sv", [176, 191, 192, 200, 201, 203, 213, 226])
def test_cancel_order_cancels_at_every_version(gateway_at, sv: int) -> None:  # type: ignore[no-untyped-def]
    gw = gateway_at(sv)
    ib = IbapiClient(gw, 31)
    try:
        assert ib.client.serverVersion() == sv
        oid = gw.next_order_id()
        ib.client.placeOrder(oid, stock("AAPL"), simple_order("BUY", 10, "LMT", 1.0))
        assert wait_until(lambda: order(gw, 31, oid)).status == "Submitted"
        ib.client.cancelOrder(oid, OrderCancel())
        wait_until(lambda: order(gw, 31, oid).status == "Cancelled")  # type: ignore[union-attr]
        if ib.decoding:  # the client sees it too
            ib.wrapper.wait(lambda k: any(c[0] == oid and c[1] == "Cancelled" for c in k["orderStatus"]))
            assert not [e for e in ib.wrapper.calls["error"] if e[2] in (10147, 10148)]
        assert gw.stats().received["cancelOrder"] == 1
    finally:
        ib.close()


@pytest.mark.parametrize("sv", [201, 205, 213, 226])
def test_handshake_from_201_registers_the_client(gateway_at, sv: int) -> None:  # type: ignore[no-untyped-def]
    """startApi arrives with a 4-byte id: as text up to 212, as protobuf from 213."""
    gw = gateway_at(sv)
    ib = IbapiClient(gw, 32)
    try:
        assert gw.sessions[32].sv == sv and gw.stats().received["startApi"] == 1
    finally:
        ib.close()


class BinaryClient:
    """A raw client for server versions from 201: frames are length, 4-byte id, body. Replies
    are drained and ignored (their framing is another branch's work)."""

    def __init__(self, gw: SimulatedGateway, offer: str = "v100..226") -> None:
        self.sock = socket.create_connection(("127.0.0.1", gw.port), timeout=5)
        self.sock.sendall(b"API\0" + struct.pack(">I", len(offer)) + offer.encode())
        (size,) = struct.unpack(">I", self._read(4))
        self.sv = int(self._read(size).split(b"\0")[0])
        threading.Thread(target=self._drain, daemon=True).start()

    def _read(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            assert chunk, "closed by the simulator"
            data += chunk
        return data

    def _drain(self) -> None:
        try:
            while self.sock.recv(65536):
                pass
        except OSError:
            pass

    def send(self, wire_id: int, body: bytes) -> None:
        payload = wire_id.to_bytes(4, "big") + body
        self.send_payload(payload)

    def send_payload(self, payload: bytes) -> None:
        self.sock.sendall(struct.pack(">I", len(payload)) + payload)

    def send_ibapi(self, frame: bytes) -> None:
        """A frame as captured from ibapi's EClient (already framed)."""
        self.sock.sendall(frame)

    def close(self) -> None:
        self.sock.close()


def start(c: BinaryClient, gw: SimulatedGateway, client_id: int) -> None:
    """startApi as ibapi sends it at the connection's version, then wait for the registration."""
    c.send_ibapi(one_frame(c.sv, lambda ib: ib.startApi(), client_id))
    wait_until(lambda: client_id in gw.sessions)


def place_frame(sv: int, order_id: int) -> bytes:
    return one_frame(sv, lambda ib: ib.placeOrder(order_id, stock("AAPL"),
                                                    simple_order("BUY", 10, "LMT", 1.0)))


def body(frame: bytes) -> bytes:
    """A captured frame's payload after its 4-byte id (server versions from 201)."""
    return frame[8:]


def test_either_form_at_any_protobuf_version(gateway_at) -> None:  # type: ignore[no-untyped-def]
    """Text placeOrder to a 226 gateway (ibapi would send protobuf there), protobuf placeOrder and
    cancelOrder to a 201 gateway (ibapi would send text there)."""
    gw226, gw201 = gateway_at(226), gateway_at(201)
    a, b = BinaryClient(gw226), BinaryClient(gw201)
    try:
        start(a, gw226, 41)
        start(b, gw201, 42)
        assert (a.sv, b.sv) == (226, 201)
        text_at_202 = place_frame(202, 500)  # ibapi's last text layout, 4-byte id
        assert text_at_202[4:8] == (3).to_bytes(4, "big")
        a.send_ibapi(text_at_202)
        proto = place_frame(226, 600)
        assert proto[4:8] == (203).to_bytes(4, "big")
        b.send_ibapi(proto)
        b.send_ibapi(one_frame(226, lambda ib: ib.cancelOrder(600, OrderCancel())))
        placed = wait_until(lambda: order(gw226, 41, 500))
        assert (placed.action, placed.total_qty, placed.lmt_price) == ("BUY", 10.0, 1.0)
        wait_until(lambda: (o := order(gw201, 42, 600)) is not None and o.status == "Cancelled")
    finally:
        a.close()
        b.close()


def test_malformed_frames_are_logged_and_the_session_goes_on(
        gateway_at, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    gw = gateway_at(226)
    c = BinaryClient(gw)
    try:
        start(c, gw, 43)
        valid = body(place_frame(226, 700))
        with caplog.at_level(logging.INFO, logger="platform_adapter.sim"):
            c.send_payload(b"\x00\x03")  # shorter than a message id
            c.send(350, b"\x08\x01")  # protobuf of an unknown message (150)
            c.send(150, b"1\x00")  # text of an unknown message
            c.send(203, valid[: len(valid) // 2])  # truncated protobuf placeOrder
            c.send(204, b"\xff\xff\xff\xff")  # cancelOrder body that is not protobuf
            c.send(3, b"700\x000\x00AAPL\x00")  # text placeOrder with too few fields
            c.send(203, valid)  # and then a good one
            placed = wait_until(lambda: order(gw, 43, 700))
        assert placed.status == "Submitted" and 43 in gw.sessions
        received = gw.stats().received
        assert received["malformed"] == 1 and received["msg150"] == 2
        assert received["placeOrder"] == 3 and received["cancelOrder"] == 1
        text = caplog.text
        assert "malformed frame of 2 bytes" in text
        assert "unhandled protobuf message 150" in text and "unhandled text message 150" in text
        assert "protobuf request placeOrder (id 3) not read at server version 226" in text
        assert "protobuf request cancelOrder (id 4) not read" in text
        assert "text request placeOrder (id 3) not read at server version 226: too few fields" in text
    finally:
        c.close()


def test_malformed_text_frames_below_201(gateway_at, raw_at, caplog) -> None:  # type: ignore[no-untyped-def]
    gw = gateway_at(176)
    c = raw_at(gw)
    oid = int(c.wait_for(lambda m: m[0] == "9")[2])
    with caplog.at_level(logging.INFO, logger="platform_adapter.sim"):
        c.send_frame(struct.pack(">I", 0))  # an empty frame
        c.send("abc", 1)  # no message id
        c.send(4, 1)  # cancelOrder without its order id
        c.send_frame(place_frame(176, oid))
        assert c.wait_for(lambda m: m[0] == "3" and m[1] == str(oid))[2] == "Submitted"
    assert gw.stats().received["malformed"] == 2
    assert "text request cancelOrder (id 4) not read at server version 176: too few fields" in caplog.text


@pytest.fixture
def raw_at() -> Iterator[Callable[[SimulatedGateway], RawClient]]:
    made: list[RawClient] = []

    def make(gw: SimulatedGateway) -> RawClient:
        c = RawClient(gw.port, 44, versions="v100..226")
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def test_fault_injection_and_pacing_with_protobuf_requests(gateway_at) -> None:  # type: ignore[no-untyped-def]
    """An injected error takes the request id from the typed request, whatever its form; the
    message rate counts protobuf frames like text ones."""
    gw = gateway_at(226, pacing=PacingConfig(max_msgs_per_sec=5, max_rate_violations=1000))
    c = BinaryClient(gw)
    try:
        start(c, gw, 45)
        gw.fail_next_request("reqMktData", 354, "Requested market data is not subscribed.")
        c.send_ibapi(one_frame(226, lambda ib: ib.reqMktData(1, stock("AAPL"), "", False, False, [])))
        c.send_ibapi(one_frame(226, lambda ib: ib.reqMktData(2, stock("MSFT"), "", False, False, [])))
        session = gw.sessions[45]
        wait_until(lambda: 2 in session.subs.mkt)
        assert 1 not in session.subs.mkt  # answered with the injected error instead
        for _ in range(10):
            c.send_ibapi(one_frame(226, lambda ib: ib.reqCurrentTime()))
        wait_until(lambda: gw.stats().received["reqCurrentTime"] == 10)
        assert gw.stats().pacing.count(client_id=45, rule="msg_rate") >= 1
    finally:
        c.close()


@pytest.mark.parametrize(("ours", "offer", "served"), [
    (226, "v100..226", 226), (226, "v100..200", 200), (226, "v157..178", 178), (176, "v100..226", 176),
    (201, "v100..226", 201), (157, "v157..157", 157), (226, "v100..150", 150), (100, "v100..226", 100),
    (156, "v100..226", 156)])
def test_serves_the_highest_common_version(gateway_at, ours: int, offer: str, served: int) -> None:  # type: ignore[no-untyped-def]
    gw = gateway_at(ours)
    c = BinaryClient(gw, offer)
    assert c.sv == served
    c.close()


@pytest.mark.parametrize(("offer", "reason"), [
    ("v90..99", "its maximum 99 is below the simulator's minimum server version 100"),
    ("v180..190", "its minimum 180 is above this gateway's server version 176"),
    ("v190..180", "empty range"),
    ("hello", "unreadable version offer 'hello'")])
def test_refuses_what_it_cannot_serve_with_a_reason(gateway_at, caplog, offer: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    gw = gateway_at(176)
    with caplog.at_level(logging.WARNING, logger="platform_adapter.sim"):
        s = socket.create_connection(("127.0.0.1", gw.port), timeout=5)
        s.sendall(b"API\0" + struct.pack(">I", len(offer)) + offer.encode())
        assert s.recv(100) == b""
        s.close()
        wait_until(lambda: reason in caplog.text)


def test_server_version_outside_the_supported_range_is_refused() -> None:
    with pytest.raises(ValueError, match="outside 100..226"):
        SimulatedGateway(server_version=227)
    with pytest.raises(ValueError, match="outside 100..226"):
        SimulatedGateway(server_version=99)


def _frame(msg_id: int, body: bytes) -> bytes:
    payload = msg_id.to_bytes(4, "big") + body
    return struct.pack(">I", len(payload)) + payload


ERR_320 = ("Error reading request. Unable to parse field: 'field 2' for input string: 'abc'",
           "Error reading request:Message type 3.  Unable to parse data. too few fields (1)",
           "Error reading request:Message type 150.  Unable to parse data. Unknown message id.",
           "Error reading request:Message type -1.  Unable to parse data. frame of 2 bytes has no message id")


def test_an_unreadable_request_is_answered_320_and_the_session_goes_on(gateway: SimulatedGateway) -> None:
    """IB answers a request it cannot read with 320 to id -1 and goes on serving (a 10.37
    gateway's text for a field that is not a number, wboayue/rust-ibapi#259)."""
    with stock_client(gateway.port, 45, ("nextValidId", "managedAccounts", "error", "currentTime")) as (c, w):
        c.conn.sendMsg(_frame(8, b"1\x00abc\x00"))  # reqIds: numIds is not a number
        c.conn.sendMsg(_frame(3, b"700\x00"))  # placeOrder: too few fields
        c.conn.sendMsg(_frame(150, b"1\x00"))  # a message id IB does not have
        c.conn.sendMsg(_frame(204, b"\xff\xff\xff\xff"))  # protobuf cancelOrder that does not parse
        c.conn.sendMsg(struct.pack(">I", 2) + b"\x00\x03")  # no message id
        w.wait(lambda k: len([e for e in k["error"] if e[2] == 320]) == 5)
        errors = [e for e in w.calls["error"] if e[2] == 320]
        assert all(e[0] == -1 for e in errors)
        texts = [e[3] for e in errors]
        assert [texts[i] for i in (0, 1, 2, 4)] == list(ERR_320)
        assert texts[3].startswith("Error reading request:Message type 4.  Unable to parse data. protobuf body")
        c.reqCurrentTime()
        w.wait(lambda k: k["currentTime"])
        assert 45 in gateway.sessions and not gateway.stats().orders


def test_an_unreadable_text_request_below_201_is_answered_320(gateway_at, raw_at) -> None:  # type: ignore[no-untyped-def]
    gw = gateway_at(176)
    c = raw_at(gw)
    c.send(4, 1)  # cancelOrder without its order id
    e = c.wait_error(320)
    assert e[2] == "-1" and e[4] == "Error reading request:Message type 4.  Unable to parse data. too few fields (1)"
    c.send(49, 1)
    assert c.wait_for(lambda m: m[0] == "49")


def test_a_request_in_a_form_ibapi_never_sends_is_answered_320(gateway: SimulatedGateway) -> None:
    """reqConfig exists only as protobuf (ibapi sends it so from 219): its text form is not read."""
    with stock_client(gateway.port, 46, ("nextValidId", "managedAccounts", "error")) as (c, w):
        c.conn.sendMsg(_frame(108, b"1\x00"))
        w.wait(lambda k: any(e[2] == 320 for e in k["error"]))
        (e,) = [e for e in w.calls["error"] if e[2] == 320]
        assert e[3] == "Error reading request:Message type 108.  Unable to parse data. reqConfig is not read as text."
