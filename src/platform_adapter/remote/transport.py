"""The client's link to a service: commands, the event stream, heartbeats and reconnection.

* Commands: each calling thread has its own DEALER socket and waits for its own reply (no hop
  through another thread). Sockets use ``ZMQ_IMMEDIATE``: while the service is unreachable a
  send fails at once and the call raises ``NotConnected``; nothing is queued for later.
* Events: one thread owns the events DEALER socket, attaches it to the session, decodes the
  frames and hands each event to ``on_event``. Order events carry a per-client number: one
  already seen is skipped, and the highest number up to which every event has been handled
  (``acked``) goes back with every heartbeat so that the service can forget them (a callback
  that blocks holds its own events back while the others run: a later number may be handled
  first, and is acknowledged only with the ones below it).
* The supervisor thread says ``hello``, sends heartbeats, and when the service stops answering
  (or the events connection closes) marks the session lost, then says ``hello`` again until the
  service is back, resuming after the last order event received; ``on_session`` then runs
  (the facets subscribe their lines again).
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

import zmq
from zmq.utils.monitor import recv_monitor_message

from platform_adapter.errors import NotConnected, PlatformAdapterError, RequestTimeout, ValidationError
from platform_adapter.log import logger
from platform_adapter.service.protocol import (
    SCHEMA_VERSION,
    ErrorCode,
    Event,
    ProtocolError,
    encode_request,
    error_from_map,
    reads_extensions,
)
from platform_adapter.service.publisher import has_input
from platform_adapter.service.schema import DECIMAL_EXT, pack, unpack, unpack_stream
from platform_adapter.service.security import ClientCurve
from platform_adapter.utils.wake_pipe import WakePipe

SLICE_MS = 50  # a waiting call looks at the session this often
RETRY_SECONDS = 0.2  # between hellos while the service is away
SEND_TIMEOUT_MS = 1000  # a new socket waits this long for its connection before NotConnected
DRAIN_SECONDS = SEND_TIMEOUT_MS / 1000 + 1.0  # stop() waits this long for the calls still sending


class Transport:
    """Commands and events of one client (``name``) with the service at ``endpoint``."""

    def __init__(self, endpoint: str, name: str, on_event: Callable[[dict[str, Any]], None],
                 on_session: Callable[[], None], curve: ClientCurve | None = None,
                 on_lost: Callable[[str], None] | None = None) -> None:
        self.endpoint = endpoint
        self.name = name
        self.instance = secrets.token_hex(8)
        self._on_event = on_event
        self._on_session = on_session
        self._on_lost = on_lost
        self._curve = curve
        self._ctx: zmq.Context[Any] | None = None
        self._local = threading.local()
        self._ids = itertools.count(1)
        self.session: str | None = None
        self.service_id = ""
        self.events_endpoint = ""
        self.interval, self.timeout = 0.5, 3.0
        self.ib_connected = False
        self.decimal_ext = False  # the service reads Decimals as their extension (its hello said so)
        self.received_seq = 0  # highest order-event number received
        self.acked = 0  # highest order-event number up to which every event's callbacks have run
        self._handled: set[int] = set()  # numbers above ``acked`` whose callbacks have run
        self._ack_lock = threading.Lock()
        self.reconnects = 0
        self.events_received = 0
        self.last_error = ""
        self._up = threading.Event()
        self._attached = threading.Event()
        self._wake_supervisor = threading.Event()
        self._stopping = False
        self._threads: list[threading.Thread] = []
        self._waker: WakePipe | None = None
        self._calls_in_flight = 0  # commands using a socket now (stop() closes none under them)
        self._in_flight = threading.Condition()

    # --- lifecycle -------------------------------------------------------------------------------------
    def start(self, timeout: float) -> bool:
        """Open the session (hello, attach) within ``timeout`` seconds; False (and stopped) if not."""
        if self._threads:
            return self._up.wait(timeout)
        self._stopping = False
        self._ctx = zmq.Context()
        self._waker = WakePipe()
        for target, name in ((self._events_loop, "pa-remote-events"), (self._supervise, "pa-remote-session")):
            thread = threading.Thread(target=target, name=f"{name}-{self.name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        if self._up.wait(timeout):
            return True
        self.last_error = self.last_error or f"no answer from {self.endpoint} within {timeout:g}s"
        self.stop()
        return False

    def stop(self) -> None:
        """Say bye (when connected), stop the threads, close every socket."""
        if not self._threads:
            return
        if self._up.is_set() and self.session is not None:
            try:
                self._request("bye", {"ack": self.acked}, self.session, self.timeout, require_up=False)
            except PlatformAdapterError as exc:
                logger.debug("bye not answered: {}", exc)
        with self._in_flight:
            self._stopping = True  # a call still using its socket ends within SLICE_MS (NotConnected)
        self._up.clear()
        self._wake_supervisor.set()
        self._wake_events()
        for thread in self._threads:
            thread.join(5.0)
        self._threads.clear()
        assert self._ctx is not None
        with self._in_flight:  # closing a socket another thread is using aborts the process (libzmq)
            drained = self._in_flight.wait_for(lambda: self._calls_in_flight == 0, DRAIN_SECONDS)
        if drained:
            self._ctx.destroy(linger=0)
        else:
            logger.warning("remote adapter stopping with {} call(s) still sending; their sockets are left open",
                           self._calls_in_flight)
        self._ctx = None
        assert self._waker is not None
        self._waker.close()
        self._local = threading.local()
        self.session = None

    @property
    def connected(self) -> bool:
        """The session is alive and the service is connected to IB."""
        return self._up.is_set() and self.ib_connected

    # --- commands --------------------------------------------------------------------------------------
    def next_id(self) -> int:
        return next(self._ids)

    def call(self, cmd: str, args: dict[str, Any] | None = None, timeout: float | None = None,
             req_id: int | None = None) -> Any:
        """Run one command; returns its result or raises the service's error (NotConnected when
        there is no session). ``timeout`` None waits as long as the session lives."""
        token = self.session
        if token is None or not self._up.is_set():
            raise NotConnected(f"not connected to the service at {self.endpoint}" +
                               (f" ({self.last_error})" if self.last_error else ""))
        return self._request(cmd, args or {}, token, timeout, req_id=req_id)

    def _request(self, cmd: str, args: dict[str, Any], token: str | None, timeout: float | None,
                 require_up: bool = True, req_id: int | None = None) -> Any:
        rid = req_id if req_id is not None else next(self._ids)
        try:
            data = encode_request(rid, cmd, args, token, self.decimal_ext)
        except (TypeError, ValueError, OverflowError) as exc:
            raise _unsendable(args, exc) from None
        with self._in_flight:
            if self._stopping or self._ctx is None:
                raise NotConnected(f"{cmd}: the remote adapter is stopping")
            self._calls_in_flight += 1
        try:
            return self._exchange(self._socket(), cmd, data, rid, token, timeout, require_up)
        except zmq.Again:
            raise NotConnected(f"the service at {self.endpoint} is unreachable") from None
        except zmq.ZMQError as exc:  # the adapter was stopped meanwhile
            raise NotConnected(f"{cmd}: {exc}") from None
        finally:
            with self._in_flight:
                self._calls_in_flight -= 1
                if not self._calls_in_flight:
                    self._in_flight.notify_all()

    def _exchange(self, sock: zmq.Socket[Any], cmd: str, data: bytes, rid: int, token: str | None,
                  timeout: float | None, require_up: bool) -> Any:
        sock.send(data)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if sock.poll(SLICE_MS):
                reply = unpack(sock.recv())
                if not isinstance(reply, dict) or reply.get("id") != rid:
                    continue  # the late answer of an earlier call that gave up
                if reply.get("ok"):
                    return reply.get("result")
                error = error_from_map(reply.get("error"))
                if isinstance(error, ProtocolError) and error.code is ErrorCode.NOT_IDENTIFIED and require_up:
                    if self.session == token:  # not the late answer of a session already replaced
                        self._lose("the service does not know this session (restarted?)")
                    raise NotConnected(f"{cmd}: the service lost this session; reconnecting") from error
                raise error
            if self._stopping or require_up and (not self._up.is_set() or self.session != token):
                raise NotConnected(f"{cmd}: the connection to the service was lost")
            if deadline is not None and time.monotonic() > deadline:
                raise RequestTimeout(f"{cmd}: no answer from the service within {timeout:g}s")

    def _socket(self) -> zmq.Socket[Any]:
        sock: zmq.Socket[Any] | None = getattr(self._local, "sock", None)
        if sock is None:
            if self._ctx is None:
                raise NotConnected("the remote adapter is stopped")
            sock = self._local.sock = self._new_socket(self.endpoint)
        return sock

    def _new_socket(self, endpoint: str) -> zmq.Socket[Any]:
        assert self._ctx is not None
        sock = self._ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.IMMEDIATE, 1)
        sock.setsockopt(zmq.SNDTIMEO, SEND_TIMEOUT_MS)
        if self._curve is not None:
            self._curve.apply(sock)
        sock.connect(endpoint)
        return sock

    # --- the session ------------------------------------------------------------------------------------
    def _supervise(self) -> None:
        while not self._stopping:
            try:
                self._supervise_session()
            except Exception as exc:  # noqa: BLE001 - a bug must not end the heartbeats and reconnects
                logger.opt(exception=True).error("the session's supervisor failed: {}", exc)
                self._lose(f"the session's supervisor failed: {exc}")
                self._wake_supervisor.wait(RETRY_SECONDS)
                self._wake_supervisor.clear()

    def _supervise_session(self) -> None:
        next_beat = 0.0
        while not self._stopping:
            if not self._up.is_set():
                if not self._open():
                    self._wake_supervisor.wait(RETRY_SECONDS)
                    self._wake_supervisor.clear()
                next_beat = time.monotonic() + self.interval
                continue
            self._wake_supervisor.wait(max(0.0, next_beat - time.monotonic()))
            self._wake_supervisor.clear()
            if self._stopping or not self._up.is_set() or time.monotonic() < next_beat:
                continue
            next_beat = time.monotonic() + self.interval
            try:
                beat = self._request("heartbeat", {"ack": self.acked}, self.session, self.timeout)
                self.ib_connected = bool(beat.get("ib_connected"))
            except NotConnected:
                pass  # already marked lost
            except (RequestTimeout, PlatformAdapterError) as exc:
                self._lose(f"heartbeat failed: {exc}")

    def _open(self) -> bool:
        """hello, then attach the events socket; True when both worked."""
        try:
            # a new process has no last_seq: the service replays what the name has not acknowledged
            last_seq = self.received_seq if self.service_id else None
            hello = self._request("hello", {"name": self.name, "instance": self.instance,
                                            "last_seq": last_seq, "schema": SCHEMA_VERSION,
                                            "extensions": [DECIMAL_EXT]},
                                  None, self.timeout, require_up=False)
        except PlatformAdapterError as exc:
            self.last_error = str(exc)
            return False
        first = not self.service_id
        self.session, self.service_id = hello["session"], hello["service"]
        self.interval, self.timeout = float(hello["heartbeat_interval"]), float(hello["heartbeat_timeout"])
        self.events_endpoint = _reachable(hello["events"], self.endpoint)
        self.decimal_ext = reads_extensions(hello.get("extensions"))  # else: an older service, Decimals as text
        resume = int(hello["resume_from"])
        if resume != last_seq:  # the replay does not start where this process was (a new one, a lost store)
            self.received_seq = resume
        # else: the events thread may have read later live events of the old session meanwhile,
        # and their numbers must stay seen (or the replay would deliver them again)
        with self._ack_lock:
            if first or self.acked > self.received_seq:  # numbered from there (a new process, a lost store)
                self.acked = self.received_seq
                self._handled.clear()
        self._attached.clear()
        self._wake_events()
        if not self._attached.wait(self.timeout):
            self.last_error = f"the events socket {self.events_endpoint} did not attach"
            return False
        try:
            self.ib_connected = bool(self._request("heartbeat", {"ack": self.acked}, self.session,
                                                   self.timeout, require_up=False).get("ib_connected"))
        except PlatformAdapterError as exc:
            self.last_error = str(exc)
            return False
        self.last_error = ""
        self._up.set()
        if not first:
            self.reconnects += 1
        logger.info("connected to the service {} at {} as {}", self.service_id, self.endpoint, self.name)
        # on its own thread: heartbeats go on while the lines are subscribed again
        threading.Thread(target=self._resync, name=f"pa-remote-resync-{self.name}", daemon=True).start()
        return True

    def _resync(self) -> None:
        try:
            self._on_session()
        except Exception:  # noqa: BLE001 - a resubscription bug must not end the client
            logger.opt(exception=True).error("resynchronising with the service failed")

    def _lose(self, reason: str) -> None:
        if self._up.is_set() and not self._stopping:
            self._up.clear()
            self.ib_connected = False
            self.last_error = reason
            logger.warning("lost the service at {}: {}; reconnecting", self.endpoint, reason)
            self._wake_supervisor.set()
            if self._on_lost is not None:
                self._on_lost(reason)

    def ack(self, seq: int) -> None:
        """The order event ``seq`` has been handled (its callbacks returned): ``acked`` moves on
        over every number handled without a gap (any thread)."""
        with self._ack_lock:
            if seq <= self.acked:
                return
            self._handled.add(seq)
            while self.acked + 1 in self._handled:
                self.acked += 1
                self._handled.discard(self.acked)

    # --- the events socket --------------------------------------------------------------------------------
    def _wake_events(self) -> None:
        if self._waker is not None:
            self._waker.set()

    def _events_loop(self) -> None:
        sock: zmq.Socket[Any] | None = None
        monitor: zmq.Socket[Any] | None = None
        endpoint = ""
        poller = zmq.Poller()
        waker = self._waker
        assert waker is not None
        poller.register(waker.fd, zmq.POLLIN)

        def drop_sockets() -> None:
            nonlocal sock, monitor
            for old in (sock, monitor):
                if old is not None:
                    poller.unregister(old)
                    old.close(linger=0)
            sock = monitor = None

        try:
            while not self._stopping:
                try:
                    ready = dict(poller.poll())
                    if waker.fd in ready:
                        waker.drain()
                        if self._stopping:
                            return
                        if not self._attached.is_set() and self.session is not None:
                            if sock is None or endpoint != self.events_endpoint:
                                drop_sockets()
                                endpoint = self.events_endpoint
                                sock = self._new_socket(endpoint)
                                monitor = sock.get_monitor_socket(zmq.EVENT_DISCONNECTED)
                                poller.register(sock, zmq.POLLIN)
                                poller.register(monitor, zmq.POLLIN)
                            try:
                                sock.send(pack({"v": SCHEMA_VERSION, "attach": self.session}))
                            except zmq.Again:  # not connected: the supervisor's hello tries again
                                pass
                    if monitor is not None and monitor in ready:
                        recv_monitor_message(monitor)
                        self._lose("the events connection closed")
                    if sock is not None and sock in ready:
                        self._read_events(sock)
                except Exception as exc:  # noqa: BLE001 - a socket failure or a bug must not end the stream
                    if self._stopping:
                        return
                    logger.opt(exception=True).error("events socket failed: {}", exc)
                    drop_sockets()  # a new socket attaches with the next session; its replay fills the gap
                    self._lose(f"the events socket failed: {exc}")
        finally:
            drop_sockets()

    def _read_events(self, sock: zmq.Socket[Any]) -> None:
        while has_input(sock):  # not recv until zmq.Again: an exception per wake-up costs more
            try:
                frame = sock.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            try:
                events = unpack_stream(frame)
            except ValueError:
                logger.error("undecodable events frame of {} bytes dropped", len(frame))
                continue
            for ev in events:
                if isinstance(ev, dict):
                    self._handle(ev)

    def _handle(self, ev: dict[str, Any]) -> None:
        self.events_received += 1
        kind = ev.get("ev")
        if kind == Event.HEARTBEAT:
            self.ib_connected = bool(ev.get("ib_connected"))
            return
        if kind == Event.ATTACHED:
            self._attached.set()
            return
        if kind == Event.ERROR:
            self._lose(f"events refused: {error_from_map(ev.get('error'))}")
            return
        seq = ev.get("seq")
        if isinstance(seq, int):
            if seq <= self.received_seq:
                return  # seen before (a replay after a reconnect)
            self.received_seq = seq
        try:
            self._on_event(ev)
        except Exception:  # noqa: BLE001 - one bad event must not stop the stream
            logger.opt(exception=True).error("event {} could not be handled", kind)
            if isinstance(seq, int):
                self.ack(seq)  # it never will be: the numbers after it are acknowledged still


def _reachable(events: str, commands: str) -> str:
    """The events endpoint as the client can reach it: a wildcard host becomes the commands host."""
    scheme, _, rest = events.partition("://")
    host, _, port = rest.rpartition(":")
    if scheme == "tcp" and host in ("0.0.0.0", "*", "[::]", "::"):
        return f"tcp://{commands.partition('://')[2].rpartition(':')[0]}:{port}"
    return events


def _unsendable(args: dict[str, Any], exc: Exception) -> ValidationError:
    """A ValidationError naming the argument that has no wire form."""
    for name, value in args.items():
        for key, item in (value.items() if isinstance(value, dict) else [(name, value)]):
            try:
                pack(item)
            except (TypeError, ValueError, OverflowError) as err:
                return ValidationError(str(key), item, f"cannot be sent to the service ({err})")
    return ValidationError("args", args, f"cannot be sent to the service ({exc})")
