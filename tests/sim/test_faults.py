"""One test per fault injection, plus order rejections with IB codes."""

from __future__ import annotations

import queue
import socket
import struct
import time

import pytest

from platform_adapter.sim import SimulatedGateway
from platform_adapter.sim.faults import Faults
from platform_adapter.sim.protocol import FrameReader, frame

from .conftest import AAPL, RawClient
from .ibapi_capture import one_frame, simple_order, stock


def place(c: RawClient, oid: int, action: str = "BUY", qty: float = 100, otype: str = "MKT",
          lmt: float | None = None) -> None:
    """An AAPL order, sent as ibapi's EClient sends it at the connection's server version."""
    order = simple_order(action, qty, otype, lmt)
    order.tif = "DAY"
    c.send_frame(one_frame(c.sv, lambda ib: ib.placeOrder(oid, stock("AAPL"), order)))


def ready(c: RawClient) -> int:
    return int(c.wait_for(lambda m: m[0] == "9")[2])


def test_drop_all_connections(gateway: SimulatedGateway, raw) -> None:  # type: ignore[no-untyped-def]
    a, b = raw(1), raw(2)
    ready(a), ready(b)
    gateway.drop_all_connections()
    assert a.wait_closed() and b.wait_closed()


def test_refuse_connections(gateway: SimulatedGateway, raw) -> None:  # type: ignore[no-untyped-def]
    gateway.refuse_connections(0.3)
    s = socket.create_connection(("127.0.0.1", gateway.port), timeout=5)
    v = b"v100..176"
    try:
        s.sendall(b"API\0" + struct.pack(">I", len(v)) + v)
        assert s.recv(100) == b""
    except ConnectionResetError:
        pass  # closed by the sim before or while we wrote
    s.close()
    deadline = time.monotonic() + 5
    while gateway.faults.refusing:
        assert time.monotonic() < deadline
        gateway._stop.wait(0.02)
    assert ready(raw(3)) > 0


def test_stall(gateway: SimulatedGateway, raw) -> None:  # type: ignore[no-untyped-def]
    c = raw(1)
    ready(c)
    gateway.stall(0.4)
    t0 = time.monotonic()
    c.send(49, 1)
    with pytest.raises(queue.Empty):
        while True:
            m = c.msgs.get(timeout=0.2)
            assert m is not None and m[0] != "49"
    assert not c.closed.is_set()
    c.wait_for(lambda m: m[0] == "49", timeout=3)
    assert time.monotonic() - t0 >= 0.35


@pytest.mark.parametrize("code,text", [
    (1100, "Connectivity between IB and Trader Workstation has been lost."),
    (1101, "Connectivity between IB and Trader Workstation has been restored - data lost."),
    (1102, "Connectivity between IB and Trader Workstation has been restored - data maintained."),
    (2103, "Market data farm connection is broken:usfarm"),
    (2104, "Market data farm connection is OK:usfarm"),
])
def test_system_codes(gateway: SimulatedGateway, raw, code: int, text: str) -> None:  # type: ignore[no-untyped-def]
    c = raw(1)
    ready(c)
    c.wait_error(2158)
    gateway.send_system_code(code)
    e = c.wait_error(code)
    assert e[2] == "-1" and e[4] == text


def test_reject_next_order(gateway: SimulatedGateway, raw) -> None:  # type: ignore[no-untyped-def]
    c = raw(1)
    oid = ready(c)
    gateway.reject_next_order("Simulated rejection")
    place(c, oid)
    e = c.wait_error(201)
    assert e[2] == str(oid) and e[4] == "Order rejected - reason:Simulated rejection"
    place(c, oid + 1)
    assert c.wait_for(lambda m: m[0] == "3" and m[2] == "Filled")[1] == str(oid + 1)


def test_insufficient_buying_power_201(gateway: SimulatedGateway, raw) -> None:  # type: ignore[no-untyped-def]
    c = raw(1)
    oid = ready(c)
    place(c, oid, qty=1_000_000)
    e = c.wait_error(201)
    assert e[4].startswith("Order rejected - reason:YOUR ORDER IS NOT ACCEPTED")


def test_off_tick_price_110(gateway: SimulatedGateway, raw) -> None:  # type: ignore[no-untyped-def]
    c = raw(1)
    oid = ready(c)
    place(c, oid, otype="LMT", lmt=100.003)
    e = c.wait_error(110)
    assert e[4] == "The price does not conform to the minimum price variation for this contract."


@pytest.mark.parametrize("after_ack", [False, True])
def test_drop_on_next_place_order(gateway: SimulatedGateway, raw, after_ack: bool) -> None:  # type: ignore[no-untyped-def]
    c = raw(1)
    oid = ready(c)
    gateway.drop_on_next_place_order(after_ack=after_ack)
    place(c, oid, otype="LMT", lmt=1.00, qty=10)
    assert c.wait_closed()
    acked = any(m[0] == "5" for m in c.seen) or any(
        m is not None and m[0] == "5" for m in list(c.msgs.queue))
    assert acked == after_ack
    assert any(o.order_id == oid for o in gateway.stats().orders)  # the order reached the sim


def test_partial_fills(gateway: SimulatedGateway, raw) -> None:  # type: ignore[no-untyped-def]
    c = raw(1)
    oid = ready(c)
    place(c, oid, qty=2500)
    c.wait_for(lambda m: m[0] == "3" and m[2] == "Filled")
    execs = [m for m in c.seen if m[0] == "11"]
    assert [e[19] for e in execs] == ["1000", "1000", "500"]
    assert any(m[0] == "3" and m[2] == "Submitted" and m[3] == "1000" for m in c.seen)


def test_fail_next_request_answers_with_the_error(gateway: SimulatedGateway, raw) -> None:  # type: ignore[no-untyped-def]
    c = raw(1)
    ready(c)
    gateway.fail_next_request("reqContractDetails", 200, "No security definition has been found for the request")
    c.send(9, 8, 7001, 0, "AAPL", "STK", "", "", "", "", "SMART", "", "USD", "", "", 0, "", "", "")
    err = c.wait_for(lambda m: m[0] == "4" and m[2] == "7001")
    assert err[3] == "200" and "No security definition" in err[4]
    c.send(9, 8, 7002, 0, "AAPL", "STK", "", "", "", "", "SMART", "", "USD", "", "", 0, "", "", "")
    assert c.wait_for(lambda m: m[0] == "52" and m[2] == "7002")  # the next one is served


def test_send_error_for_a_request_id(gateway: SimulatedGateway, raw) -> None:  # type: ignore[no-untyped-def]
    c = raw(1)
    ready(c)
    gateway.send_error(42, 10182, "Failed to request live updates (disconnected).")
    err = c.wait_for(lambda m: m[0] == "4" and m[2] == "42")
    assert err[3] == "10182"


def test_reset_window_holds_order_reports_until_1102(gateway: SimulatedGateway, raw) -> None:  # type: ignore[no-untyped-def]
    """In the window the order fills at the exchange but no report comes; after 1102 they come,
    in order, before the answer to any request sent after it."""
    c = raw(1)
    oid = ready(c)
    c.wait_error(2158)
    place(c, oid, otype="LMT", lmt=1.00, qty=10)
    c.wait_for(lambda m: m[0] == "3" and m[2] == "Submitted")
    c.seen.clear()  # the acknowledgement's openOrder
    assert gateway.begin_reset()
    c.wait_error(1100)
    gateway.set_price("AAPL", 0.99)
    assert gateway.stats().orders[0].status == "Filled" and gateway.faults.reset.held() > 0
    c.send(49, 1)  # reqCurrentTime: served during the window (only reports are held)
    c.wait_for(lambda m: m[0] == "49")
    assert not [m for m in c.seen + list(c.msgs.queue) if m and m[0] in ("3", "5", "11", "59")]
    gateway.end_reset()
    c.wait_error(1102)
    assert not c.seen, "nothing but the code before the released reports"
    statuses = []
    while "Filled" not in statuses:
        m = c.wait_for(lambda m: m[0] in ("3", "11", "59"))
        statuses += [m[2]] if m[0] == "3" else []
    assert gateway.faults.reset.held() == 0 and not gateway.faults.reset.open


def hello_socket(port: int) -> socket.socket:
    """A socket that sent the API handshake and waits for the version reply."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    v = b"v100..176"
    s.sendall(b"API\0" + struct.pack(">I", len(v)) + v)
    return s


def wait_open_connections(gateway: SimulatedGateway, n: int) -> None:
    deadline = time.monotonic() + 5
    while gateway.stats().open_connections != n:
        assert time.monotonic() < deadline, gateway.stats().open_connections
        gateway._stop.wait(0.01)


def assert_silent(c: RawClient, msg_id: str, seconds: float) -> None:
    """No message ``msg_id`` arrives for ``seconds`` (after those already queued: ticks in flight)."""
    c.seen.clear()
    while not c.msgs.empty():
        c.msgs.get_nowait()
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            m = c.msgs.get(timeout=left)
        except queue.Empty:
            return
        assert m is not None and m[0] != msg_id, m


def test_freeze_and_thaw(gateway: SimulatedGateway, raw) -> None:  # type: ignore[no-untyped-def]
    c = raw(1)
    ready(c)
    c.send(1, 11, 7, *AAPL, 0, "", 0, 0, "")
    c.wait_for(lambda m: m[0] == "1" and m[2] == "7")
    gateway.freeze()
    c.send(49, 1)
    s = hello_socket(gateway.port)
    s.settimeout(0.3)
    with pytest.raises(TimeoutError):  # a frozen gateway answers no handshake
        s.recv(100)
    with pytest.raises(queue.Empty):  # nor requests; ticks sent before the freeze, then a gap (ticks every 0.05 s)
        while True:
            m = c.msgs.get(timeout=0.3)
            assert m is not None and m[0] != "49"
    assert gateway.faults.stalled and not c.closed.is_set()
    gateway.thaw()
    c.wait_for(lambda m: m[0] == "49", timeout=3)
    c.wait_for(lambda m: m[0] == "1" and m[2] == "7", timeout=3)
    s.settimeout(5)
    assert s.recv(100)  # the version reply
    s.close()


def test_wedged_at_handshake(gateway: SimulatedGateway, raw) -> None:  # type: ignore[no-untyped-def]
    gateway.wedge("handshake")
    s = hello_socket(gateway.port)
    s.settimeout(0.3)
    with pytest.raises(TimeoutError):
        s.recv(100)
    wait_open_connections(gateway, 1)
    s.close()
    wait_open_connections(gateway, 0)  # its session ends when the client closes the socket
    gateway.wedge(None)
    assert ready(raw(1)) > 0


def test_wedged_after_start_api(gateway: SimulatedGateway, raw) -> None:  # type: ignore[no-untyped-def]
    gateway.wedge("start_api")
    s = hello_socket(gateway.port)
    reader = FrameReader(s)
    assert reader.read_fields()  # the version reply comes
    s.sendall(frame([71, 2, 1, ""]))  # startApi
    s.settimeout(0.3)
    with pytest.raises(TimeoutError):  # no managedAccounts, no nextValidId
        s.recv(100)
    assert gateway.stats().clients == []
    s.close()
    wait_open_connections(gateway, 0)
    gateway.wedge(None)
    assert ready(raw(1)) > 0


@pytest.mark.parametrize("code,ok,paused", [(2119, 2104, "1"), (2103, 2104, "1"), (2105, 2106, "50")])
def test_farm_outage_pauses_its_streams(gateway: SimulatedGateway, raw, code: int, ok: int,  # type: ignore[no-untyped-def]
                                        paused: str) -> None:
    c = raw(1)
    ready(c)
    c.send(1, 11, 7, *AAPL, 0, "", 0, 0, "")  # quotes (tickPrice "1")
    c.send(50, 3, 8, *AAPL, 5, "TRADES", 0, "")  # real-time bars ("50")
    c.wait_for(lambda m: m[0] == "1" and m[2] == "7")
    c.wait_for(lambda m: m[0] == "50" and m[2] == "8")
    gateway.farm_outage(code)
    c.wait_error(code)
    for _ in range(3):  # the other farm's stream goes on meanwhile
        c.wait_for(lambda m: m[0] == ("1" if code == 2105 else "50"), timeout=3)
    assert_silent(c, paused, 0.6)
    gateway.farm_restored(code, resume=False)
    c.wait_error(ok)
    assert_silent(c, paused, 0.6)  # lost: silent until requested again
    if paused == "1":
        c.send(1, 11, 9, *AAPL, 0, "", 0, 0, "")
        c.wait_for(lambda m: m[0] == "1" and m[2] == "9")
    else:
        c.send(50, 3, 10, *AAPL, 5, "TRADES", 0, "")
        c.wait_for(lambda m: m[0] == "50" and m[2] == "10")


def test_a_request_error_after_n_served_takes_its_turn_in_order() -> None:
    """``after``: that many requests of the family are served first; the next queued error then
    counts its own (e.g. a long history's third chunk cancelled, then the older half of it)."""
    faults = Faults()
    faults.fail_next("reqHistoricalData", 162, "query cancelled", after=2)
    faults.fail_next("reqHistoricalData", 321, "bad", after=1)
    taken = [faults.take_request_error("reqHistoricalData") for _ in range(6)]
    assert taken == [None, None, (162, "query cancelled"), None, (321, "bad"), None]
    assert faults.take_request_error("reqMktData") is None
