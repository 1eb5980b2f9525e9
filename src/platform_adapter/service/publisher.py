"""The events socket: one outbox per client session, sent from one thread that never blocks.

Each outbox holds reliable events (order events, bars, account updates, errors: never dropped),
tick-by-tick records (bounded: the oldest are dropped and counted) and the latest quote of each
line (conflated: a newer quote replaces one not yet sent, counted). The thread sends everything
an outbox holds as one frame (a msgpack stream) with ``NOBLOCK``; a client that does not read
fills its pipe (``SNDHWM``), its frame is put back and retried a little later, while the other
clients' frames go out at once. Producers (the adapter's event thread, command workers) only
touch the outboxes under one short lock and wake the thread through a pipe.

An order event (:meth:`send_now`) is sent by its producer itself when nothing of its session
waits: one thread hand-off less between IB's status and the client. ZeroMQ sockets are not
thread-safe, so every use of the socket holds ``_sock_lock`` (taken before the outboxes' lock,
never while calling out of the publisher), and the thread polls the socket's file descriptor,
not the socket, reading ``ZMQ_EVENTS`` at every turn (the descriptor is edge-triggered; a
producer that finds a message to read after its send wakes the thread).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, cast

import zmq

from platform_adapter.log import logger
from platform_adapter.models.market_data import Quote
from platform_adapter.service.protocol import SCHEMA_VERSION, Event
from platform_adapter.service.schema import pack, unpack
from platform_adapter.utils.wake_pipe import WakePipe

RETRY_SECONDS = 0.005  # a client whose pipe was full is tried again after this
MAX_FRAME_EVENTS = 512
MAX_TICKS = 10_000  # tick-by-tick records kept per client before the oldest are dropped
MAX_BACKLOG = 100_000  # reliable events kept per client; beyond, the session is ended (it replays)
SEND_HWM = 16  # frames queued per client in ZeroMQ before a send would block
SEND_BUFFER = 64 * 1024  # kernel send buffer per client: small, so that a client that stops reading
# is noticed (and its quotes conflated) within about 64 KiB instead of megabytes of stale quotes


_EVENTS = int(zmq.EVENTS)  # plain ints: the enum members cost a microsecond per test on a hot path
_POLLIN = int(zmq.POLLIN)


def has_input(sock: zmq.Socket[Any]) -> bool:
    """A message can be read from ``sock`` now (``ZMQ_EVENTS``; resets its edge-triggered descriptor)."""
    return bool(cast(int, sock.getsockopt(_EVENTS)) & _POLLIN)


class Outbox:
    """What waits to be sent to one session (guarded by the publisher's lock)."""

    __slots__ = ("token", "identity", "events", "ticks", "quotes", "conflated", "ticks_dropped", "frames",
                 "retry_at", "heartbeat_due", "overflow")

    def __init__(self, token: str) -> None:
        self.token = token
        self.identity: bytes | None = None  # the events socket peer, once attached
        self.events: deque[bytes] = deque()
        self.ticks: deque[bytes] = deque()
        self.quotes: dict[str, Quote] = {}
        self.conflated = 0
        self.ticks_dropped = 0
        self.frames = 0
        self.retry_at = 0.0
        self.heartbeat_due = False
        self.overflow = False

    def has_work(self) -> bool:
        return bool(self.events or self.ticks or self.quotes or self.heartbeat_due)


class Publisher:
    """Binds the events ROUTER socket and runs its thread.

    ``on_attach(token, identity)`` (called on the publisher thread) accepts or refuses a client's
    events connection; ``heartbeat()`` gives the fields of the periodic heartbeat event.
    """

    def __init__(self, ctx: zmq.Context[Any], endpoint: str, on_attach: Callable[[str, bytes], bool],
                 heartbeat: Callable[[], dict[str, Any]], heartbeat_interval: float,
                 configure: Callable[[zmq.Socket[Any]], None]) -> None:
        self._sock = ctx.socket(zmq.ROUTER)
        configure(self._sock)
        self._sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
        self._sock.setsockopt(zmq.SNDHWM, SEND_HWM)
        self._sock.setsockopt(zmq.SNDBUF, SEND_BUFFER)
        self._sock.bind(endpoint)
        self.endpoint = self._sock.getsockopt_string(zmq.LAST_ENDPOINT)
        self._on_attach = on_attach
        self._heartbeat = heartbeat
        self._interval = heartbeat_interval
        self._lock = threading.Lock()
        self._sock_lock = threading.Lock()
        self._closed = False  # the socket (under _sock_lock)
        self._outboxes: dict[str, Outbox] = {}
        self._waker = WakePipe()
        self._woken = False
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="pa-service-events", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop = True
        self._wake()
        if self._thread.ident is not None:
            self._thread.join(5.0)
        else:
            with self._sock_lock:
                self._closed = True
                self._sock.close(linger=0)
        self._waker.close()

    # --- sessions ----------------------------------------------------------------------------------
    def open(self, token: str) -> None:
        with self._lock:
            self._outboxes[token] = Outbox(token)

    def close(self, token: str) -> None:
        with self._lock:
            self._outboxes.pop(token, None)

    def attach(self, token: str, identity: bytes, first: Iterable[bytes]) -> None:
        """Send this session's events to ``identity`` from now on, ``first`` ahead of what waits."""
        with self._lock:
            box = self._outboxes.get(token)
            if box is not None:
                box.identity = identity
                box.retry_at = 0.0
                box.events.extendleft(reversed(list(first)))
        self._wake()

    def overflowed(self) -> list[str]:
        """Sessions whose reliable backlog passed MAX_BACKLOG (to be ended; they replay on return)."""
        with self._lock:
            return [t for t, box in self._outboxes.items() if box.overflow]

    def stats(self, token: str) -> dict[str, int]:
        with self._lock:
            box = self._outboxes.get(token)
            if box is None:
                return {}
            return {"quotes_conflated": box.conflated, "ticks_dropped": box.ticks_dropped,
                    "events_waiting": len(box.events) + len(box.ticks) + len(box.quotes), "frames_sent": box.frames}

    def totals(self) -> dict[str, int]:
        with self._lock:
            boxes = list(self._outboxes.values())
            return {"quotes_conflated": sum(b.conflated for b in boxes),
                    "ticks_dropped": sum(b.ticks_dropped for b in boxes),
                    "events_waiting": sum(len(b.events) + len(b.ticks) + len(b.quotes) for b in boxes)}

    # --- producers (any thread) ----------------------------------------------------------------------
    def quote(self, line: str, quote: Quote, tokens: Iterable[str]) -> None:
        """The latest quote of ``line`` for each of ``tokens`` (replacing one not yet sent)."""
        with self._lock:
            boxes = self._outboxes
            for token in tokens:
                box = boxes.get(token)
                if box is not None:
                    if line in box.quotes:
                        box.conflated += 1
                    box.quotes[line] = quote
        self._wake()

    def event(self, tokens: Iterable[str], data: bytes) -> None:
        """One encoded reliable event for each of ``tokens``."""
        with self._lock:
            for token in tokens:
                box = self._outboxes.get(token)
                if box is not None:
                    self._queue_event(box, data)
        self._wake()

    def send_now(self, token: str, data: bytes) -> None:
        """One encoded reliable event for ``token``, sent on the calling thread when nothing of
        that session waits (and queued behind it otherwise, as :meth:`event` does). Never waits
        for the socket: while the publisher thread sends (a fan-out to many clients), the event
        is queued for it."""
        if not self._sock_lock.acquire(blocking=False):
            self.event((token,), data)
            return
        wake = True
        try:
            with self._lock:
                box = self._outboxes.get(token)
                if box is None:
                    return
                identity = box.identity
                if identity is None or box.retry_at or box.has_work() or self._closed:
                    self._queue_event(box, data)
                    identity = None
            if identity is not None:
                try:
                    self._sock.send_multipart([identity, data], zmq.NOBLOCK)
                    box.frames += 1
                    wake = has_input(self._sock)  # an attach to read
                except zmq.Again:  # the client's pipe is full: retried by the thread
                    self._put_back(box, identity, [data], [], {}, time.monotonic() + RETRY_SECONDS)
                except zmq.ZMQError:  # gone until it attaches again
                    self._put_back(box, identity, [data], [], {}, 0.0)
        finally:
            self._sock_lock.release()
        if wake:
            self._wake()

    def _queue_event(self, box: Outbox, data: bytes) -> None:
        """(lock held)"""
        box.events.append(data)
        if len(box.events) > MAX_BACKLOG and not box.overflow:
            box.overflow = True
            logger.warning("session {}: over {} events waiting; the session ends", box.token[:8], MAX_BACKLOG)

    def tick(self, tokens: Iterable[str], data: bytes) -> None:
        """One encoded tick-by-tick record for each of ``tokens`` (the oldest dropped past MAX_TICKS)."""
        with self._lock:
            for token in tokens:
                box = self._outboxes.get(token)
                if box is not None:
                    if len(box.ticks) >= MAX_TICKS:
                        box.ticks.popleft()
                        box.ticks_dropped += 1
                    box.ticks.append(data)
        self._wake()

    def _wake(self) -> None:
        if not self._woken:
            self._woken = True
            self._waker.set()

    # --- the thread ----------------------------------------------------------------------------------
    def _run(self) -> None:
        poller = zmq.Poller()
        poller.register(self._sock.getsockopt(zmq.FD), zmq.POLLIN)
        poller.register(self._waker.fd, zmq.POLLIN)
        next_beat = time.monotonic() + self._interval
        retry = 0.0
        try:
            while not self._stop:
                now = time.monotonic()
                wait = max(0.0, min(next_beat, retry or next_beat) - now)
                ready = dict(poller.poll(int(wait * 1000)))
                try:
                    self._read_attach()  # every turn: the descriptor only says that something changed
                    if self._waker.fd in ready:
                        self._drain_wake()
                    now = time.monotonic()
                    if now >= next_beat:
                        next_beat = now + self._interval
                        with self._lock:
                            for box in self._outboxes.values():
                                box.heartbeat_due = box.identity is not None
                    retry = self._flush(now)
                    self._read_attach()  # the flush's sends may have taken the descriptor's signal
                except Exception:  # noqa: BLE001 - a bug must not stop the events
                    logger.opt(exception=True).error("events loop error")
                    retry = time.monotonic() + RETRY_SECONDS
        finally:
            with self._sock_lock:
                self._closed = True
                self._sock.close(linger=0)

    def _drain_wake(self) -> None:
        self._waker.drain()
        # cleared after the read: a producer that found it set queued its item before, and the
        # flush that follows takes it (cleared before the read, a wake-up written in between
        # would be consumed while the flag stayed set: no producer would write again)
        self._woken = False

    def _read_attach(self) -> None:
        while True:
            with self._sock_lock:  # released before on_attach (which takes other locks)
                if not has_input(self._sock):
                    return
                try:
                    frames = self._sock.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    return
            identity, body = frames[0], frames[-1]
            try:
                msg = unpack(body)
                token = msg["attach"] if isinstance(msg, dict) and msg.get("v") == SCHEMA_VERSION else None
            except (ValueError, TypeError):
                token = None
            if not isinstance(token, str) or not self._on_attach(token, identity):
                self._send(identity, pack({"ev": Event.ERROR.value, "error": {
                    "type": "ProtocolError", "message": "not_identified: attach with a live session token",
                    "attributes": {"code": "not_identified"}}}))

    def _send(self, identity: bytes, data: bytes) -> bool:
        try:
            with self._sock_lock:
                self._sock.send_multipart([identity, data], zmq.NOBLOCK)
        except zmq.ZMQError:  # the peer left or its pipe is full: it will attach again
            return False
        return True

    def _flush(self, now: float) -> float:
        """Send one frame to every attached outbox with work; returns when to flush again (0: when woken)."""
        with self._lock:  # only this thread sets heartbeat_due: still true below
            beat_due = any(b.heartbeat_due for b in self._outboxes.values())
        beat_data = pack({"ev": Event.HEARTBEAT.value, **self._heartbeat()}) if beat_due else b""
        # popped and sent under the socket's lock: a producer's send_now cannot overtake a frame
        # taken from an outbox and not yet sent
        with self._sock_lock:
            if self._closed:
                return 0.0
            with self._lock:
                work = []
                for box in self._outboxes.values():
                    if box.identity is None or not box.has_work() or box.retry_at > now:
                        continue
                    events = [box.events.popleft() for _ in range(min(len(box.events), MAX_FRAME_EVENTS))]
                    ticks = [box.ticks.popleft() for _ in range(min(len(box.ticks), MAX_FRAME_EVENTS))]
                    quotes, box.quotes = box.quotes, {}
                    beat, box.heartbeat_due = box.heartbeat_due, False
                    box.retry_at = 0.0
                    work.append((box, box.identity, events, ticks, quotes, beat))
            encoded: dict[int, bytes] = {}
            for box, identity, events, ticks, quotes, beat in work:
                parts = events + ticks
                for line, quote in quotes.items():
                    data = encoded.get(id(quote))
                    if data is None:
                        try:
                            data = pack({"ev": Event.QUOTE.value, "line": line, "symbol": quote.symbol,
                                         "quote": quote})
                        except Exception:  # noqa: BLE001 - left out (a later quote replaces it), not the events taken
                            logger.opt(exception=True).error("quote of line {} left out: it does not pack", line)
                            data = b""
                        encoded[id(quote)] = data
                    parts.append(data)
                if beat:
                    parts.append(beat_data)
                try:
                    self._sock.send_multipart([identity, b"".join(parts)], zmq.NOBLOCK)
                    box.frames += 1
                    continue
                except zmq.Again:
                    self._put_back(box, identity, events, ticks, quotes, now + RETRY_SECONDS)
                except zmq.ZMQError:  # EHOSTUNREACH: the client's events socket is gone until it attaches again
                    self._put_back(box, identity, events, ticks, quotes, 0.0)
        with self._lock:  # the earliest moment an outbox with work may be sent again
            due = [max(b.retry_at, now) for b in self._outboxes.values() if b.identity is not None and b.has_work()]
        return min(due, default=0.0)

    def _put_back(self, box: Outbox, identity: bytes, events: list[bytes], ticks: list[bytes],
                  quotes: dict[str, Quote], retry: float) -> None:
        with self._lock:
            box.events.extendleft(reversed(events))
            box.ticks.extendleft(reversed(ticks))
            for line, quote in quotes.items():
                box.quotes.setdefault(line, quote)  # a newer quote that came meanwhile wins
            if retry:
                box.retry_at = retry
            elif box.identity == identity:
                box.identity = None
