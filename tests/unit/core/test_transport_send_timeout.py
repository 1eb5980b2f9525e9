"""``SocketConnection``'s send timeout: a peer that stops reading (a frozen gateway) no longer
blocks the sending threads for ever. Real sockets on 127.0.0.1, a listener that never reads."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Iterator

import pytest

from platform_adapter.core.transport import SendStalled, SocketConnection
from tests.conftest import LOOPBACK, Recorder

BLOCK = struct.pack(">I", 65532) + b"\0" * 65532  # one 64 KiB frame
BOUND = 5.0  # seconds: far above the 0.3 s timeout, far below "for ever"


@pytest.fixture
def deaf_peer() -> Iterator[tuple[int, list[socket.socket]]]:
    """A listener whose accepted sockets are never read (small buffers: they fill fast)."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # inherited by the accepted sockets
    listener.bind((LOOPBACK, 0))
    listener.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1], accepted
    stop.set()
    thread.join(5)
    for sock in [listener, *accepted]:
        sock.close()


def fill(conn: SocketConnection) -> tuple[SendStalled, float]:
    """Send 64 KiB frames until a send stalls; the error and how long the last send took."""
    for _ in range(100_000):
        started = time.monotonic()
        try:
            conn.sendMsg(BLOCK)
        except SendStalled as exc:
            return exc, time.monotonic() - started
    raise AssertionError("the peer's buffers never filled")


def test_a_send_to_a_peer_that_stopped_reading_fails_after_the_timeout(deaf_peer: tuple[int, list[socket.socket]]
                                                                       ) -> None:
    port, _ = deaf_peer
    stalls = Recorder()
    conn = SocketConnection(LOOPBACK, port, timeout=5, send_timeout=0.3, on_stall=stalls)
    conn.socket.settimeout(None)  # as the reader leaves it: blocking, bounded by SO_SNDTIMEO alone
    try:
        error, took = fill(conn)
        assert isinstance(error, ConnectionError)  # what ibapi and the order path treat as a failed send
        assert "may have gone out in part" in str(error)
        assert 0.25 <= took < BOUND
        ((reason,),) = stalls.wait(1, timeout=BOUND)
        assert "no progress for 0.3s" in reason
    finally:
        conn.disconnect()


def test_a_send_waiting_behind_a_stalled_one_gives_up_and_sends_nothing(deaf_peer: tuple[int, list[socket.socket]]
                                                                        ) -> None:
    port, accepted = deaf_peer
    stalls = Recorder()
    conn = SocketConnection(LOOPBACK, port, timeout=5, send_timeout=0.3, on_stall=stalls)
    conn.lock.acquire()  # a send in progress, blocked (as in sendall on full buffers)
    try:
        started = time.monotonic()
        with pytest.raises(SendStalled, match="not sent"):
            conn.sendMsg(b"\0\0\0\x01x")
        assert 0.25 <= time.monotonic() - started < BOUND
        ((reason,),) = stalls.wait(1, timeout=BOUND)
        assert "no send finished within 0.3s" in reason
    finally:
        conn.lock.release()
    accepted[0].setblocking(False)
    with pytest.raises(BlockingIOError):
        accepted[0].recv(16)  # nothing of it went out
    conn.sendMsg(b"\0\0\0\x01y")  # the lock free again: sends go on (the owner drops the link)
    with pytest.raises(SendStalled):
        conn.lock.acquire()
        try:
            conn.sendMsg(b"\0\0\0\x01z")
        finally:
            conn.lock.release()
    assert len(stalls.calls) == 1, "a stall is reported once per link"
    conn.disconnect()


def test_without_a_send_timeout_the_socket_has_none(deaf_peer: tuple[int, list[socket.socket]]) -> None:
    port, _ = deaf_peer
    bounded = SocketConnection(LOOPBACK, port, timeout=5, send_timeout=1.5)
    unbounded = SocketConnection(LOOPBACK, port, timeout=5, send_timeout=None)
    try:
        assert struct.unpack("ll", bounded.socket.getsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, 16)) == (1, 500000)
        assert struct.unpack("ll", unbounded.socket.getsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, 16)) == (0, 0)
        assert unbounded.sendMsg(b"\0\0\0\x01x") == 5
    finally:
        bounded.disconnect()
        unbounded.disconnect()
