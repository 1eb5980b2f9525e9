"""Edge cases of the ConnectionManager against scripted gateways (real TCP on 127.0.0.1)."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable, Iterator

import pytest
from ibapi.decoder import Decoder

from platform_adapter import ConnectionState, PlatformAdapter
from platform_adapter.core.connection_manager import Probe
from platform_adapter.core.transport import Dispatcher
from platform_adapter.errors import ContractNotFound, IBError, PacingViolation
from platform_adapter.models.connection import ConnectionEventKind
from tests.conftest import LOOPBACK, FailsOnce, Recorder, wait_for


def frame(*fields: str) -> bytes:
    payload = b"".join(f.encode() + b"\0" for f in fields)
    return struct.pack(">I", len(payload)) + payload


class ScriptedGateway:
    """Accepts one client, reads its hello, and plays ``script(conn)``."""

    def __init__(self, script: Callable[[socket.socket], None]) -> None:
        self.srv = socket.socket()
        self.srv.bind((LOOPBACK, 0))
        self.srv.listen()
        self.port = int(self.srv.getsockname()[1])
        self.script = script
        self.conns: list[socket.socket] = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            conn, _ = self.srv.accept()
        except OSError:
            return
        self.conns.append(conn)
        conn.recv(4096)
        self.script(conn)

    def close(self) -> None:
        for c in self.conns:
            c.close()
        self.srv.close()


@pytest.fixture
def scripted() -> Iterator[Callable[[Callable[[socket.socket], None]], ScriptedGateway]]:
    made: list[ScriptedGateway] = []

    def make(script: Callable[[socket.socket], None]) -> ScriptedGateway:
        gw = ScriptedGateway(script)
        made.append(gw)
        return gw

    yield make
    for gw in made:
        gw.close()


def test_version_reply_but_no_next_valid_id_times_out(make_adapter, scripted) -> None:
    gw = scripted(lambda c: c.sendall(frame("176", "20261127 10:00:00 UTC")))
    pa = make_adapter(connect=False, **{"ib_connection.timeout": 0.5})
    assert pa.connection.connect(port=gw.port) is False
    assert "nextValidId" in pa.connection.last_error
    assert pa.connection.state is ConnectionState.DISCONNECTED


def test_gateway_closing_during_start_up(make_adapter, scripted) -> None:
    def script(c: socket.socket) -> None:
        c.sendall(frame("176", "20261127 10:00:00 UTC"))
        c.recv(4096)
        c.close()

    gw = scripted(script)
    pa = make_adapter(connect=False, **{"ib_connection.timeout": 5})
    assert pa.connection.connect(port=gw.port) is False
    assert "closed" in pa.connection.last_error


def test_gateway_closing_during_handshake(make_adapter, scripted) -> None:
    gw = scripted(lambda c: c.close())
    pa = make_adapter(connect=False)
    assert pa.connection.connect(port=gw.port) is False
    assert "handshake" in pa.connection.last_error


def test_version_frame_and_first_messages_in_one_packet(make_adapter, scripted) -> None:
    """Frames that arrive with the version reply are not lost."""
    def script(c: socket.socket) -> None:
        c.sendall(frame("176", "20261127 10:00:00 UTC") + frame("15", "1", "DU7654321") + frame("9", "1", "77"))
        c.recv(4096)
        threading.Event().wait(3)

    gw = scripted(script)
    pa = make_adapter(connect=False)
    assert pa.connection.connect(port=gw.port) is True
    assert pa.connection.accounts == ("DU7654321",) and pa.connection.next_valid_id == 77
    assert pa.connection.wait_until_connected(0.1)
    assert pa.connection.dispatcher_backlog >= 0


def test_request_errors_map_to_typed_exceptions(pa: PlatformAdapter) -> None:
    cases = [
        (200, "No security definition has been found for the request", ContractNotFound),
        (162, "Historical Market Data Service error message:API historical data query cancelled: pacing violation",
         PacingViolation),
        (100, "Max rate of messages per second has been exceeded", PacingViolation),
        (321, "Error validating request", IBError),
    ]
    for code, text, kind in cases:
        pending = pa.registry.start("probe")
        pa.wrapper.error(pending.req_id, 0, code, text, "")
        with pytest.raises(kind):
            pending.wait(1)
    pending = pa.registry.start("history")
    pa.wrapper.error(pending.req_id, 0, 162, "Historical Market Data Service error message:HMDS query returned "
                                             "no data: AAPL@SMART Trades", "")
    assert pending.wait(1) == []
    pending = pa.registry.start("probe")
    pa.wrapper.error(pending.req_id, 0, 2104, "Market data farm connection is OK:usfarm", "")
    assert pa.registry.get(pending.req_id) is pending  # a notice completes nothing


def test_protobuf_frames_go_to_the_protobuf_decoder(pa: PlatformAdapter) -> None:
    calls: list[tuple] = []

    class Probe:
        msgId2handleInfo = Decoder.msgId2handleInfo  # noqa: N815 - ibapi's names: the ids it decodes
        msgId2handleInfoProtoBuf = Decoder.msgId2handleInfoProtoBuf  # noqa: N815

        def processProtoBuf(self, body: bytes, msg_id: int) -> None:  # noqa: N802
            calls.append(("proto", body, msg_id))

        def interpret(self, fields: tuple, msg_id: int) -> None:
            calls.append(("text", fields, msg_id))

    cm = pa.connection
    saved = cm.server_version, cm._decoder
    try:
        cm.server_version = 201
        cm._decoder = Probe()  # type: ignore[assignment]
        cm._handle_frame((203).to_bytes(4, "big") + b"\x08\x01")
        cm._handle_frame((49).to_bytes(4, "big") + b"1\x001700000000\x00")
    finally:
        cm.server_version, cm._decoder = saved
    assert calls == [("proto", b"\x08\x01", 3), ("text", (b"1", b"1700000000"), 49)]


def test_reader_close_and_drop_when_not_connected_are_ignored(pa: PlatformAdapter) -> None:
    cm = pa.connection
    cm._on_reader_closed(cm._generation - 1, "stale reader")  # an old generation is ignored
    assert pa.is_connected()
    pa.disconnect()
    cm._drop_link("late health check")
    cm._on_reader_closed(cm._generation, "after disconnect")
    assert cm.state is ConnectionState.DISCONNECTED


def test_backoff_grows_exponentially_and_caps(make_adapter) -> None:
    pa = make_adapter(connect=False, **{"ib_connection.reconnect_backoff": 2.0,
                                        "ib_connection.reconnect_max_delay": 60.0,
                                        "ib_connection.reconnect_jitter": 0.0})
    delays = [pa.connection.backoff_delay(a) for a in range(7)]
    assert delays == [2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
    jittery = make_adapter(connect=False, **{"ib_connection.reconnect_jitter": 0.5})
    values = {round(jittery.connection.backoff_delay(1), 6) for _ in range(20)}
    assert len(values) > 1 and all(0.0 < v <= 6.0 for v in values)


def test_second_link_loss_while_reconnecting_starts_no_second_loop(make_adapter, gateway) -> None:
    pa = make_adapter(**{"ib_connection.reconnect_backoff": 0.3, "ib_connection.reconnect_max_delay": 0.3})
    gateway.drop_all_connections()
    wait_for(lambda: pa.connection.state is ConnectionState.RECONNECTING, 5)
    first = pa.connection._reconnect_thread
    pa.connection._after_link_loss("second loss")
    assert pa.connection._reconnect_thread is first
    wait_for(pa.is_connected, 10)
    assert pa.connection.reconnect_count == 1


def test_trickling_handshake_hits_the_deadline(make_adapter, scripted) -> None:
    def script(c: socket.socket) -> None:
        c.sendall(struct.pack(">I", 10_000_000))
        for _ in range(2_000_000):  # a byte at a time, never a whole frame
            try:
                c.sendall(b"x")
            except OSError:
                return

    gw = scripted(script)
    pa = make_adapter(connect=False, **{"ib_connection.timeout": 0.3})
    assert pa.connection.connect(port=gw.port) is False
    assert "no version reply" in pa.connection.last_error


def test_wait_until_connected_times_out_when_down(make_adapter) -> None:
    pa = make_adapter(connect=False)
    assert pa.connection.wait_until_connected(0.1) is False


def test_protobuf_sends_are_paced_and_counted(pa: PlatformAdapter) -> None:
    sent: list[bytes] = []
    client = pa.connection.client
    real = client.conn
    client.conn = type("Conn", (), {"sendMsg": lambda self, m: sent.append(m), "socket": real.socket})()
    try:
        before = client.messages_sent
        client.sendMsgProtoBuf(49, b"\x01\x02")
    finally:
        client.conn = real
    assert client.messages_sent == before + 1
    assert sent == [struct.pack(">I", 6) + (49).to_bytes(4, "big") + b"\x01\x02"]


def test_disconnect_during_backoff_stops_the_reconnect_loop(make_adapter, gateway) -> None:
    pa = make_adapter(**{"ib_connection.reconnect_backoff": 5.0, "ib_connection.reconnect_max_delay": 5.0})
    gateway.drop_all_connections()
    wait_for(lambda: pa.connection.state is ConnectionState.RECONNECTING, 5)
    thread = pa.connection._reconnect_thread
    pa.disconnect()
    assert thread is not None
    thread.join(5)
    assert not thread.is_alive()
    assert pa.connection.state is ConnectionState.DISCONNECTED and pa.connection.reconnect_count == 0


def test_health_checks_pause_while_reconnecting(make_adapter, gateway) -> None:
    pa = make_adapter(**{"monitoring.health_check_interval_seconds": 0.05,
                         "ib_connection.reconnect_backoff": 0.5, "ib_connection.reconnect_max_delay": 0.5})
    gateway.drop_all_connections()
    wait_for(lambda: pa.connection.state is ConnectionState.RECONNECTING, 5)
    wait_for(pa.is_connected, 10)
    before = pa.connection.last_heartbeat
    wait_for(lambda: pa.connection.last_heartbeat != before, 5)


def test_link_lost_again_while_restoring_state_reconnects_again(make_adapter, gateway, monkeypatch) -> None:
    pa = make_adapter()
    drops = []
    restore = pa.market_data.restore

    def drop_during_restore() -> None:  # the reconnect's market data step
        if not drops:
            drops.append(1)
            gateway.drop_all_connections()
            wait_for(lambda: not pa.connection.client.isConnected(), 5)
        restore()

    monkeypatch.setattr(pa.market_data, "restore", drop_during_restore)
    gateway.drop_all_connections()
    wait_for(lambda: pa.connection.reconnect_count >= 2 and pa.is_connected(), 15)
    assert drops == [1]
    assert pa.connection.check_health(5)


def test_manual_reconnect_during_an_automatic_one_makes_one_connection(make_adapter, gateway, monkeypatch) -> None:
    pa = make_adapter()
    in_handler, release = threading.Event(), threading.Event()
    restore = pa.account.restore

    def slow_restore() -> None:  # the reconnect's account step
        if not in_handler.is_set():
            in_handler.set()
            release.wait(10)
        restore()

    monkeypatch.setattr(pa.account, "restore", slow_restore)
    gateway.drop_all_connections()
    assert in_handler.wait(10)  # the automatic loop is restoring state
    result: list[bool] = []
    manual = threading.Thread(target=lambda: result.append(pa.connection.reconnect()))
    manual.start()
    wait_for(lambda: not pa.connection.client.isConnected(), 5)
    release.set()
    manual.join(15)
    assert result == [True] and pa.is_connected()
    assert gateway.stats().clients == [pa.connection.client_id]
    assert "in use" not in pa.connection.last_error


def test_connect_while_reconnecting_waits_for_the_reconnect(make_adapter, gateway) -> None:
    pa = make_adapter(**{"ib_connection.reconnect_backoff": 0.5, "ib_connection.reconnect_max_delay": 0.5})
    gateway.drop_all_connections()
    wait_for(lambda: pa.connection.state is ConnectionState.RECONNECTING, 5)
    assert pa.connection.connect() is True
    assert pa.connection.reconnect_count == 1
    assert gateway.stats().clients == [pa.connection.client_id]


def test_probe_of_a_silent_stream(pa: PlatformAdapter, monkeypatch) -> None:
    cm = pa.connection
    assert cm.probe("a test") is Probe.ANSWERED
    reader = cm._reader
    assert reader is not None

    def busy(timeout: float) -> bool:  # no answer in time, but the gateway kept sending
        reader.frames_read += 2
        return False

    monkeypatch.setattr(cm, "check_health", busy)
    assert cm.probe("quotes AAPL went silent") is Probe.BUSY and pa.is_connected()
    events = Recorder()
    pa.on_connection_event(events)
    monkeypatch.setattr(cm, "check_health", lambda timeout: False)  # nothing at all: frozen
    assert cm.probe("quotes AAPL went silent") is Probe.DEAD
    (event,) = events.wait(1, timeout=5)[0]
    assert event.kind is ConnectionEventKind.DISCONNECTED and "went silent" in event.detail
    wait_for(pa.is_connected, 10)
    pa.disconnect()
    assert cm.probe("after disconnect") is Probe.DEAD  # down already: nothing to drop


def test_drop_of_an_older_link_is_ignored(pa: PlatformAdapter) -> None:
    cm = pa.connection
    cm._drop_link("a probe of the previous link", cm._generation - 1)
    assert pa.is_connected() and cm.reconnect_count == 0


def test_an_unexpected_error_in_a_reconnect_attempt_is_a_failed_attempt(make_adapter, gateway, monkeypatch) -> None:
    """A bug in one attempt (``_open`` raises once) is logged and kept as last_error; the next
    attempt, after its backoff, reconnects."""
    pa = make_adapter()
    cm = pa.connection
    real_open = cm._open
    seen: list[str] = []

    def fails_once(reconnecting: bool, *args: object) -> bool:
        seen.append(cm.last_error)
        if len(seen) == 1:
            raise RuntimeError("a bug")
        return real_open(reconnecting, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(cm, "_open", fails_once)
    gateway.drop_all_connections()
    wait_for(lambda: cm.reconnect_count == 1 and pa.is_connected(), 15)
    assert seen[1] == "reconnect attempt failed: RuntimeError('a bug')"


def test_an_error_after_a_reconnect_attempt_connected_reports_the_link_lost_and_tries_again(
        make_adapter, gateway, monkeypatch) -> None:
    """When an attempt fails after its link is up (the health thread does not start), the link
    is closed and reported lost, and the next attempt reconnects."""
    pa = make_adapter()
    cm = pa.connection
    events = Recorder()
    pa.on_connection_event(events)
    monkeypatch.setattr(cm, "_start_health", FailsOnce(cm._start_health, RuntimeError("can't start new thread")))
    gateway.drop_all_connections()
    wait_for(lambda: cm.reconnect_count == 2 and pa.is_connected(), 15)
    events.wait(4)
    assert [e.kind for (e,) in events.calls[:4]] == [ConnectionEventKind.DISCONNECTED, ConnectionEventKind.RECONNECTED,
                                                     ConnectionEventKind.DISCONNECTED, ConnectionEventKind.RECONNECTED]
    assert "can't start new thread" in events.calls[2][0].detail
    assert gateway.stats().clients == [cm.client_id] and cm.check_health(5)


@pytest.mark.parametrize("loss", ["dropped", "read closed"])
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the reader's: its last act
def test_a_lost_link_is_reconnected_even_when_closing_it_raises(make_adapter, gateway, monkeypatch, loss: str) -> None:
    """The link is claimed before it is closed: a close that raises still starts the reconnect
    (not the next health check's: none within the test)."""
    pa = make_adapter(**{"monitoring.health_check_interval_seconds": 60.0})
    cm = pa.connection
    close = cm._close
    raised: list[str] = []

    def raises_once(reason: str, report: bool) -> None:
        close(reason, report)
        if not raised:
            raised.append(reason)
            raise RuntimeError("a bug while closing")

    monkeypatch.setattr(cm, "_close", raises_once)
    if loss == "dropped":
        with pytest.raises(RuntimeError, match="a bug while closing"):
            cm._drop_link("health check timed out")
    else:
        gateway.drop_all_connections()  # the reader's close
    wait_for(lambda: cm.reconnect_count == 1 and pa.is_connected(), 15)
    assert len(raised) == 1


def test_an_unexpected_error_in_a_health_check_does_not_end_them(make_adapter, monkeypatch) -> None:
    pa = make_adapter(**{"monitoring.health_check_interval_seconds": 0.05})
    cm = pa.connection
    check = FailsOnce(cm.check_health)
    monkeypatch.setattr(cm, "check_health", check)
    wait_for(lambda: len(check.calls) >= 3)
    assert pa.is_connected() and cm._health_thread is not None and cm._health_thread.is_alive()


def test_client_id_in_use_then_closed_is_a_326_even_when_decoded_after_the_close(make_adapter, scripted,
                                                                                 monkeypatch) -> None:
    """IB sends 326 and closes the socket: the reader sees the close while the dispatcher still
    decodes the 326; the attempt is a 326 (retried as one), never "closed during start-up"."""
    def script(c: socket.socket) -> None:
        c.sendall(frame("176", "20261127 10:00:00 UTC"))
        c.recv(4096)
        c.sendall(frame("4", "2", "-1", "326", "Unable to connect as the client id is already in use. "
                                               "Retry with a unique client id.", ""))
        c.close()

    gw = scripted(script)
    pa = make_adapter(connect=False, **{"ib_connection.inline_decode_max_frames": 0})
    cm = pa.connection
    real_error, real_stop = pa.lifecycle.error, Dispatcher.stop
    stopping = threading.Event()

    def noted_stop(self: Dispatcher) -> None:
        stopping.set()
        real_stop(self)

    def late(req_id: int, code: int, message: str, advanced: str) -> None:  # the dispatcher runs behind:
        if code == 326:  # the close is seen (and the dispatcher told to stop) before the 326 is decoded
            assert stopping.wait(5)
        real_error(req_id, code, message, advanced)

    monkeypatch.setattr(Dispatcher, "stop", noted_stop)
    monkeypatch.setattr(pa.lifecycle, "error", late)
    assert cm.connect(port=gw.port) is False
    assert "326" in cm.last_error


def test_a_link_lost_as_the_reconnect_loop_ends_is_reconnected(make_adapter, gateway, monkeypatch) -> None:
    """The loop has found the link up and is ending when the link drops again: that loss starts a
    new loop (it is not left to the ending one, which no longer looks)."""
    pa = make_adapter(**{"monitoring.health_check_interval_seconds": 60.0})
    cm = pa.connection
    guard, after_link_loss = cm._reconnect_guard, cm._after_link_loss
    losses: list[str] = []
    handled = threading.Condition()

    def counted_after_link_loss(reason: str) -> None:
        after_link_loss(reason)
        with handled:
            losses.append(reason)
            handled.notify_all()

    class DropsAsTheLoopEnds:
        def __enter__(self) -> None:
            guard.acquire()

        def __exit__(self, *exc: object) -> None:
            try:
                if len(losses) == 1:  # the first loop is done: the link drops before its thread ends
                    gateway.drop_all_connections()
                    with handled:
                        assert handled.wait_for(lambda: len(losses) == 2, 10)
            finally:
                guard.release()

    monkeypatch.setattr(cm, "_after_link_loss", counted_after_link_loss)
    monkeypatch.setattr(cm, "_reconnect_guard", DropsAsTheLoopEnds())
    gateway.drop_all_connections()
    wait_for(lambda: cm.reconnect_count == 2 and pa.is_connected(), 15)
