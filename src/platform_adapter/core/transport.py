"""The socket, the reader thread and the dispatcher thread.

The reader makes large reads into one growing buffer and splits frames linearly (offsets into a
memoryview; no per-message copy of the backlog, no polling), handing each batch of frames to
the dispatcher through one ``SimpleQueue`` put (blocking ``get``, no timeout poll); a small
batch that arrives while the dispatcher is idle is decoded by the reader itself
(``ib_connection.inline_decode_max_frames``, see :class:`Dispatcher`). The dispatcher
tries the fast path (``core/fast_decode.py``) on each frame and gives every frame it declines to
ibapi's ``Decoder`` (the decoder of record) into the :class:`Wrapper`; both deliver into the same
handler interfaces (``core/handlers.py``).
"""

from __future__ import annotations

import queue
import socket
import struct
import threading
from collections.abc import Callable

from platform_adapter.log import logger

MAX_FRAME = 16 * 1024 * 1024  # ibapi's MAX_MSG_LEN
READ_SIZE = 1 << 20
_LEN = struct.Struct(">I")
MIN_BINARY_ID_VERSION = 201  # ibapi's MIN_SERVER_VER_PROTOBUF: from here each frame starts with a 4-byte id
PROTOBUF_MSG_ID = 200  # a wire id above this is a protobuf message: its id is the wire id - 200


def frame_label(frame: bytes, server_version: int) -> str:
    """What a frame is, for log lines: its message id (text or protobuf) and its length."""
    size = len(frame)
    if server_version >= MIN_BINARY_ID_VERSION:
        if size < 4:
            return f"a frame of {size} bytes (shorter than its 4-byte message id)"
        wire = int.from_bytes(frame[:4], "big")
        if wire > PROTOBUF_MSG_ID:
            return f"protobuf message {wire - PROTOBUF_MSG_ID} (wire id {wire}), {size} bytes"
        return f"text message {wire}, {size} bytes"
    head = frame[:frame.find(b"\0")] if b"\0" in frame[:12] else frame[:12]
    return f"text message {head.decode('latin-1')!r}, {size} bytes"


class SendStalled(ConnectionError):
    """A send could not finish within the link's send timeout: the gateway stopped reading (its
    buffers and ours are full). The message may have gone out in part, so the link is unusable."""


class SocketConnection:
    """A connected TCP socket with the ``sendMsg``/``isConnected``/``disconnect`` surface that
    ibapi's ``EClient`` expects of its ``conn``. Sends are whole (``sendall``) and locked.

    ``send_timeout`` (seconds, None: wait for ever) bounds every send: the wait for the send lock
    (another send in progress) and each stretch of the send without progress (``SO_SNDTIMEO``). A
    send past it raises :class:`SendStalled` and calls ``on_stall(reason)`` once (after the lock is
    let go): a gateway that stops reading no longer blocks the sending threads, and the health
    check behind them, for ever."""

    def __init__(self, host: str, port: int, timeout: float, send_timeout: float | None = None,
                 on_stall: Callable[[str], None] | None = None) -> None:
        self.host = host
        self.port = port
        self.wrapper = None
        self.lock = threading.Lock()
        self.send_timeout = send_timeout
        self._on_stall = on_stall
        self._stalled = False
        self._stall_lock = threading.Lock()
        self.socket: socket.socket | None = socket.create_connection((host, port), timeout=timeout)
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if send_timeout is not None:
            seconds = int(send_timeout)
            micros = int((send_timeout - seconds) * 1_000_000)
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", seconds, micros))

    def isConnected(self) -> bool:  # noqa: N802 - ibapi's name
        return self.socket is not None

    def sendMsg(self, msg: bytes) -> int:  # noqa: N802 - ibapi's name
        timeout = -1 if self.send_timeout is None else self.send_timeout
        if not self.lock.acquire(timeout=timeout):
            reason = f"no send finished within {self.send_timeout:g}s (the gateway stopped reading)"
            self._stall(reason)
            raise SendStalled(f"{reason}; not sent")
        try:
            sock = self.socket
            if sock is None:
                return 0
            try:
                sock.sendall(msg)
            except (BlockingIOError, TimeoutError):  # SO_SNDTIMEO (or the handshake's timeout) passed
                reason = f"a send made no progress for {self.send_timeout:g}s (the gateway stopped reading)"
            else:
                return len(msg)
        finally:
            self.lock.release()
        self._stall(reason)
        raise SendStalled(f"{reason}; the message may have gone out in part")

    def _stall(self, reason: str) -> None:
        """Report the stall once (the first of the threads that met it)."""
        with self._stall_lock:
            first, self._stalled = not self._stalled, True
        if first and self._on_stall is not None:
            self._on_stall(reason)

    def disconnect(self) -> None:
        """Shut the socket down, then close it. The send lock is not waited for first: a send
        blocked on a peer that stopped reading (full buffers, a frozen gateway) holds it until the
        shutdown fails that send."""
        sock, self.socket = self.socket, None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            with self.lock:  # the send under way, if any, has failed by now
                sock.close()


def split_frames(buf: bytearray, view: memoryview, start: int, end: int) -> tuple[list[bytes], int]:
    """Cut complete length-prefixed frames out of ``buf[start:end]``; return them and the offset
    of the first incomplete byte. Raises ``ValueError`` on an impossible length.

    Linear: the region is copied once into ``bytes`` (only when it holds at least one complete
    frame) and each frame is one slice of that copy; the backlog is never re-copied per message.
    """
    if end - start < 4:
        return [], start
    unpack = _LEN.unpack_from
    (size,) = unpack(buf, start)
    if size > MAX_FRAME:
        raise ValueError(f"frame length {size} exceeds {MAX_FRAME}")
    if start + 4 + size > end:
        return [], start  # a large frame still arriving: nothing to copy yet
    data = view[start:end].tobytes()
    frames: list[bytes] = []
    append = frames.append
    limit = end - start
    pos = 0
    while limit - pos >= 4:
        (size,) = unpack(data, pos)
        if size > MAX_FRAME:
            break  # hand over the good frames first; the next call raises at this header
        stop = pos + 4 + size
        if stop > limit:
            break
        append(data[pos + 4:stop])
        pos = stop
    return frames, start + pos


class Reader(threading.Thread):
    """Reads frames off the socket and hands them in batches to ``deliver``."""

    def __init__(self, conn: SocketConnection, deliver: Callable[[list[bytes]], None],
                 on_close: Callable[[str], None], initial: bytes = b"") -> None:
        super().__init__(name="pa-reader", daemon=True)
        self._conn = conn
        self._deliver = deliver
        self._on_close = on_close
        self._initial = initial
        self.frames_read = 0

    def run(self) -> None:
        reason = "closed by peer"
        sock = self._conn.socket
        if sock is None:
            self._on_close("socket closed before the reader started")
            return
        sock.settimeout(None)
        buf = bytearray(READ_SIZE * 2)
        end = len(self._initial)
        buf[:end] = self._initial
        start = 0
        try:
            while True:
                while end - start >= 4:
                    view = memoryview(buf)
                    try:
                        frames, used = split_frames(buf, view, start, end)
                    finally:
                        view.release()
                    if not frames:
                        break
                    start = used
                    self.frames_read += len(frames)
                    self._deliver(frames)
                if start == end:
                    start = end = 0
                elif len(buf) - end < READ_SIZE:
                    # compact once per read, not per message: move the partial frame to the front
                    buf[: end - start] = buf[start:end]
                    end -= start
                    start = 0
                    if len(buf) - end < READ_SIZE:  # a large frame: grow geometrically
                        buf.extend(bytes(max(READ_SIZE, len(buf))))
                view = memoryview(buf)
                try:
                    n = sock.recv_into(view[end:], len(buf) - end)
                finally:
                    view.release()
                if n == 0:
                    break
                end += n
        except OSError as exc:
            reason = f"socket error: {exc}"
        except ValueError as exc:
            reason = f"bad frame: {exc}"
        self._on_close(reason)


class Dispatcher(threading.Thread):
    """Decodes frames in order on its own thread (a ``None`` batch stops it), or on the caller's
    thread through :meth:`process`.

    :meth:`deliver` (the reader's hand-off) decodes a batch of at most ``inline_max`` frames on
    the reader's own thread when the dispatcher is idle (nothing queued, nothing being decoded):
    a sparse message (an order status, a quote) is then not delayed by a thread hand-off, while
    a larger batch, and every batch behind it until the dispatcher has caught up, is queued for
    the dispatcher thread, so under load the socket keeps being read while the backlog is
    decoded. Order is kept: a batch is decoded inline only when every earlier one is done.

    ``fast(frame) -> bool`` (optional, see ``core/fast_decode.py``) is tried first on each frame;
    a frame it declines goes to ``handle`` (ibapi's ``Decoder``). ``flush()`` (optional: the fast
    path's, which hands its pending quote run to the market-data handler) runs before each declined
    frame and after each batch, so every message is delivered in order. A frame whose decoding
    raises is logged (``describe(frame)`` names it) and skipped; the next frame is decoded."""

    def __init__(self, handle: Callable[[bytes], None], fast: Callable[[bytes], bool] | None = None,
                 flush: Callable[[], None] | None = None, inline_max: int = 0,
                 describe: Callable[[bytes], str] | None = None) -> None:
        super().__init__(name="pa-dispatcher", daemon=True)
        self.queue: queue.SimpleQueue[list[bytes] | None] = queue.SimpleQueue()
        self.inline_max = inline_max
        self._queued = 0  # batches handed to the dispatcher thread and not yet decoded
        self._queued_lock = threading.Lock()
        self.inline_batches = 0
        self.queued_batches = 0
        self._handle = handle
        self.fast = fast
        self._flush = flush
        self._describe = describe or (lambda frame: f"a frame of {len(frame)} bytes")
        self.messages = 0
        self.fast_messages = 0
        self.max_backlog = 0

    def deliver(self, frames: list[bytes]) -> None:
        with self._queued_lock:
            inline = self._queued == 0 and len(frames) <= self.inline_max
            if not inline:
                self._queued += 1
        if inline:
            self.inline_batches += 1
            self.process(frames)
            return
        self.queued_batches += 1
        self.queue.put(frames)
        backlog = self.queue.qsize()
        if backlog > self.max_backlog:
            self.max_backlog = backlog

    def stop(self) -> None:
        self.queue.put(None)

    @property
    def backlog(self) -> int:
        return self.queue.qsize()

    def run(self) -> None:
        get = self.queue.get
        process = self.process
        while True:
            batch = get()
            if batch is None:
                return
            try:
                process(batch)
            finally:
                with self._queued_lock:
                    self._queued -= 1

    def process(self, batch: list[bytes]) -> None:
        """Decode one batch of frames in order, on the calling thread (the dispatcher thread, or the
        reader for a small batch while the dispatcher is idle)."""
        handle = self._handle
        fast = self.fast
        flush = self._flush
        taken = 0
        for frame in batch:
            try:
                if fast is not None and fast(frame):
                    taken += 1
                else:
                    if flush is not None:
                        flush()
                    handle(frame)
            except Exception:  # noqa: BLE001 - one bad frame must not kill the connection
                logger.opt(exception=True).error("failed to decode {}; skipped", self._describe(frame))
        if flush is not None:
            try:
                flush()
            except Exception:  # noqa: BLE001 - the dispatcher must survive a library bug
                logger.opt(exception=True).error("flushing the fast path failed")
        self.messages += len(batch)
        self.fast_messages += taken
