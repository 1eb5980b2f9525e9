"""The ConnectionManager: handshake, reader/dispatcher threads, readiness, health checks and
reconnect with exponential backoff (spec 2.2.1, 7.2; DESIGN sections 1 and 5).

It reports what happens to the link (reconnected, disconnected, IB link codes, data farms, state
changes) to the lifecycle handler bound to the Wrapper; the order of the library's reactions to
each is written down in ``core/lifecycle.py``."""

from __future__ import annotations

import random
import re
import threading
import time
from datetime import datetime, timezone
from enum import StrEnum
from typing import Any

from ibapi import comm, get_version_string
from ibapi.client import EClient
from ibapi.decoder import Decoder
from ibapi.server_versions import MIN_CLIENT_VER, MIN_SERVER_VER_PROTOBUF

from platform_adapter.config.settings import IBConnectionConfig, MonitoringConfig
from platform_adapter.core import ib_codes
from platform_adapter.core.fast_decode import build_frame_fast_path
from platform_adapter.core.handlers import LifecycleHandler
from platform_adapter.core.request_registry import RequestRegistry
from platform_adapter.core.transport import Dispatcher, Reader, SocketConnection, frame_label, split_frames
from platform_adapter.core.wrapper import Wrapper
from platform_adapter.errors import GatewayConfigError, NotConnected, ValidationError
from platform_adapter.log import logger
from platform_adapter.models.connection import ConnectionEventKind, ConnectionState, ConnectionStatus
from platform_adapter.utils.rate_limiter import TokenBucket
from platform_adapter.utils.validators import check_wait

PROTOBUF_MSG_ID = 200  # ibapi's offset for protobuf message ids
IBAPI_VERSION = get_version_string()
CLOSED_HINT = ("the gateway may require a newer API version than offered (raise or unpin "
               "ib_connection.max_client_version, or upgrade ibapi) or an older one (pin "
               "ib_connection.max_client_version lower, or upgrade the gateway); or its API is not enabled "
               "('Enable ActiveX and Socket Clients') or this host is not among its Trusted IPs")
CLIENT_ID_RELEASE_SECONDS = 0.5  # a gateway may hold our closed session's client id this long after a freeze


class Probe(StrEnum):
    """What a probe of a silent stream found (:meth:`ConnectionManager.probe`)."""

    ANSWERED = "answered"  # the gateway answered reqCurrentTime: alive
    BUSY = "busy"  # no answer in time, but other messages arrived: alive and busy
    DEAD = "dead"  # nothing arrived: a frozen gateway; the link was dropped (or was down already)


def _negotiated_version(raw: bytes, offered: str, top: int) -> int:
    """The server version of the gateway's reply, checked against the offered range."""
    try:
        version = int(raw)
    except ValueError:
        raise ValueError(f"the gateway answered the offered API versions {offered} with {raw!r}, "
                         "not a version number: is this port an IB Gateway/TWS API port?") from None
    if version < MIN_CLIENT_VER:
        raise ValueError(f"the gateway answered server version {version}, below the offered API versions "
                         f"{offered}: the gateway is too old for this ibapi (upgrade the gateway)")
    if version > top:
        raise ValueError(f"the gateway answered server version {version}, above the offered API versions "
                         f"{offered}: it requires a newer API than offered (raise or unpin "
                         "ib_connection.max_client_version, or upgrade ibapi)")
    return version


class IBClient(EClient):  # type: ignore[misc]
    """ibapi's EClient with every outgoing message paced by the shared token bucket."""

    def __init__(self, wrapper: Wrapper, bucket: TokenBucket) -> None:
        super().__init__(wrapper)
        self.bucket = bucket
        self.messages_sent = 0

    def isConnected(self) -> bool:  # noqa: N802 - cheaper than ibapi's (which formats a log line)
        conn = self.conn
        return self.connState == EClient.CONNECTED and conn is not None and conn.socket is not None

    def sendMsg(self, msgId: int, msg: str) -> None:  # noqa: N802, N803
        conn = self.conn
        self.bucket.acquire()
        raw_id = self.serverVersion() >= MIN_SERVER_VER_PROTOBUF
        self._send(conn, comm.make_msg(msgId, raw_id, msg))

    def sendMsgProtoBuf(self, msgId: int, msg: bytes) -> None:  # noqa: N802, N803
        conn = self.conn
        self.bucket.acquire()
        self._send(conn, comm.make_msg_proto(msgId, msg))

    def _send(self, conn: Any, data: bytes) -> None:
        """Send on ``conn``, the link the message was made for. When that link closed while the
        message waited for its pacing turn (a new one may be up by then), nothing is sent: a
        ``ConnectionError`` (ibapi's request methods report it as their send failure)."""
        if conn is not self.conn:
            raise ConnectionError("the link closed while the message waited for its pacing turn; not sent")
        self.messages_sent += 1
        conn.sendMsg(data)


def check_endpoint(host: Any, port: Any, client_id: Any) -> None:
    """``connect``'s arguments (None: the configured one) by the configuration's rules: a host
    name or address, a port 1-65535, a client id 0..2**31-1; a ValidationError naming the field
    before anything is opened or kept (a kept bad client id failed every reconnect too)."""
    if host is not None and (not isinstance(host, str) or not host.strip()
                             or not all(ch.isprintable() and not ch.isspace() for ch in host)):
        raise ValidationError("host", host, "must be a host name or address")
    if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535):
        raise ValidationError("port", port, "must be an integer 1-65535")
    if client_id is not None and (isinstance(client_id, bool) or not isinstance(client_id, int)
                                  or not 0 <= client_id <= 2**31 - 1):
        raise ValidationError("client_id", client_id, "must be an integer 0..2147483647")


class ConnectionManager:
    """Owns the EClient, the threads, readiness and reconnects.

    Its reactions to the gateway's session messages (``on_next_valid_id``, ``on_managed_accounts``,
    ``on_current_time``, ``on_error`` for the codes no other domain owns) are called by the
    lifecycle handler. It reports to that handler (``wrapper.handlers.lifecycle``): ``reconnected``
    (on the reconnect thread, which waits for the reactions: they may make synchronous requests),
    ``disconnected(reason)``, ``ib_link(kind, message)`` for IB 1100/2110, 1101, 1102,
    ``state_changed(state)`` and ``data_farm(code, farm)`` for a farm reported broken, connecting or OK.
    """

    def __init__(self, config: IBConnectionConfig, monitoring: MonitoringConfig, wrapper: Wrapper,
                 registry: RequestRegistry, bucket: TokenBucket) -> None:
        self.config = config
        self.monitoring = monitoring
        self.wrapper = wrapper
        self.registry = registry
        self.bucket = bucket
        self.client = IBClient(wrapper, bucket)
        self.host = config.host
        self.port = config.port
        self.client_id = config.client_id
        self._state = ConnectionState.DISCONNECTED
        self._lock = threading.RLock()
        self._ready = threading.Event()
        self._stop = threading.Event()  # set by disconnect(); a later connect() or reconnect() gets a new one
        self._user_disconnect = False
        self._connect_guard = threading.Lock()  # one connect() opens at a time; another waits for it
        self._opening: SocketConnection | None = None  # the socket of the attempt under way (disconnect closes it)
        self._reader: Reader | None = None
        self._dispatcher: Dispatcher | None = None
        self._decoder: Decoder | None = None
        self._health_thread: threading.Thread | None = None
        self._health_stop = self._stop  # the stop of the session whose health thread runs
        self._reconnect_thread: threading.Thread | None = None
        self._reconnect_guard = threading.Lock()  # one reconnect loop at a time (manual or automatic)
        self._clock = threading.Condition()  # reqCurrentTime round trips: sent and answered counts
        self._clock_sent = 0
        self._clock_answered = 0
        self._fatal: GatewayConfigError | None = None  # a FATAL_CONNECT code ended the start-up
        self._last_attempt_silent = False  # the last attempt's gateway took the socket and never answered
        self._broken_farms: dict[str, int] = {}  # farm name -> the code that reported it broken
        self._accounts_seen = threading.Event()
        self._next_id_seen = threading.Event()
        self._client_id_rejected = threading.Event()
        self._startup_closed = threading.Event()
        self._generation = 0
        self.accounts: tuple[str, ...] = ()
        self.next_valid_id: int | None = None
        self.server_version: int | None = None
        self.connected_since: datetime | None = None
        self.last_heartbeat: datetime | None = None
        self.reconnect_count = 0
        self.ib_link_ok = True
        self.last_error = ""
        # the dispatcher decodes hot tick and order messages directly (core/fast_decode.py), except
        # with the Wrapper's DEBUG logging (then every message passes through the Wrapper)
        self.use_fast_path = True

    # --- spec 2.2.1 interface --------------------------------------------------------------------
    def connect(self, host: str | None = None, port: int | None = None, client_id: int | None = None) -> bool:
        """Connect and wait until ready (``nextValidId`` and ``managedAccounts`` received).

        Returns ``False`` with a logged reason when the gateway is absent, refuses, or stays silent
        past ``timeout``; never hangs. Raises :class:`GatewayConfigError` when the gateway answers
        with a code no retry fixes (501 already connected, 503 TWS too old). A connect under way
        on another thread is waited for (at most ``timeout``) and its outcome returned; a
        :meth:`disconnect` meanwhile ends it with ``False``.
        """
        check_endpoint(host, port, client_id)
        if not self._connect_guard.acquire(blocking=False):
            logger.info("connect: another connect is under way; waiting for it")
            return self._await_connect(self.config.timeout)
        try:
            with self._lock:
                if self.is_connected():
                    logger.info("connect: already connected to {}:{}", self.host, self.port)
                    return True
                reconnecting = self._state is ConnectionState.RECONNECTING
                if not reconnecting:
                    self.host = host if host is not None else self.host
                    self.port = port if port is not None else self.port
                    self.client_id = client_id if client_id is not None else self.client_id
                    self._user_disconnect = False
                    stop = self._session_stop()
            if reconnecting:  # waited for without the lock: the reconnect (and the dispatcher) need it
                logger.info("connect: a reconnect is under way; waiting for it")
                return self.wait_until_connected(self.config.timeout)
            ok = self._open(False, stop)
            if self._fatal is not None:
                raise self._fatal
            if ok:
                self._start_health()
            return ok
        finally:
            self._connect_guard.release()

    def _await_connect(self, timeout: float) -> bool:
        """Wait (at most ``timeout``) for the connect under way on another thread; its outcome."""
        if self._connect_guard.acquire(timeout=timeout):
            self._connect_guard.release()
        return self.is_connected()

    def disconnect(self) -> None:
        """Close the connection; no reconnect follows. A connect or reconnect attempt under way
        (on another thread) is ended: its socket is closed and it never reports connected.
        ``DISCONNECTED`` is reported only when a link was up (once, however often this is called;
        a lost link being reconnected was reported when it was lost)."""
        with self._lock:
            self._user_disconnect = True
            self._stop.set()
            opening, self._opening = self._opening, None
            was_up = self._state is ConnectionState.CONNECTED
        if opening is not None:
            opening.disconnect()
        self._close("disconnect requested", report=was_up)
        self._set_state(ConnectionState.DISCONNECTED)
        logger.info("Disconnected from {}:{}", self.host, self.port)

    def is_connected(self) -> bool:
        return self._state is ConnectionState.CONNECTED and self.client.isConnected()

    def reconnect(self) -> bool:
        """Drop the link (if any) and reconnect with backoff; True once ready again."""
        with self._lock:
            self._user_disconnect = False
            stop = self._session_stop()
        self._close("reconnect requested", report=True)
        return self._reconnect_loop(stop)

    def _session_stop(self) -> threading.Event:
        """The stop of the session (re)opening now: after a disconnect a new one, so the loops and
        attempts the disconnect ended stay ended (call with the lock held)."""
        if self._stop.is_set():
            self._stop = threading.Event()
        return self._stop

    def get_connection_status(self) -> ConnectionStatus:
        since = self.connected_since
        with self._lock:
            farms = tuple(self._broken_farms)
        uptime = (datetime.now(timezone.utc) - since).total_seconds() if since and self.is_connected() else 0.0
        return ConnectionStatus(
            state=self._state,
            host=self.host,
            port=self.port,
            client_id=self.client_id,
            server_version=self.server_version,
            accounts=self.accounts,
            connected_since=since,
            uptime_seconds=uptime,
            reconnect_count=self.reconnect_count,
            last_heartbeat=self.last_heartbeat,
            ib_link_ok=self.ib_link_ok,
            last_error=self.last_error,
            broken_farms=farms,
        )

    # --- helpers for the adapters -------------------------------------------------------------
    @property
    def _lifecycle(self) -> LifecycleHandler:
        return self.wrapper.handlers.lifecycle  # type: ignore[no-any-return]

    @property
    def state(self) -> ConnectionState:
        return self._state

    @property
    def generation(self) -> int:
        """Changes whenever a link is opened or closed: two equal readings bracket one link's life."""
        return self._generation

    def require_connected(self) -> EClient:
        """The EClient, or :class:`NotConnected` when the link is down."""
        if not self.is_connected():
            raise NotConnected(f"not connected to {self.host}:{self.port} (state {self._state.value})")
        return self.client

    def wait_until_connected(self, timeout: float) -> bool:
        """True once connected; False after ``timeout``, or at once when :meth:`disconnect` is called."""
        stop = self._stop
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not stop.is_set():
            if self.is_connected():
                return True
            self._ready.wait(0.05)
        return self.is_connected()

    @property
    def dispatcher_backlog(self) -> int:
        return self._dispatcher.backlog if self._dispatcher is not None else 0

    # --- opening -------------------------------------------------------------------------------
    def _set_state(self, state: ConnectionState) -> None:
        if state is not self._state:
            self._state = state
            self._lifecycle.state_changed(state)

    def _open(self, reconnecting: bool, stop: threading.Event | None = None) -> bool:
        """One attempt (with its 326 retries); ``stop`` (default: the current one) set ends it."""
        stop = self._stop if stop is None else stop
        if stop.is_set():
            return False
        cfg = self.config
        self._set_state(ConnectionState.RECONNECTING if reconnecting else ConnectionState.CONNECTING)
        self._fatal = None
        self._reset_clock()
        client_id = self.client_id
        tries = 3 if cfg.client_id_retry else 1
        for _ in range(tries):
            result = self._open_once(client_id, reconnecting, stop)
            if result == "ok":
                self.client_id = client_id
                return True
            if result != "client_id_in_use" or not cfg.client_id_retry:
                break
            client_id += 1
            logger.warning("client id {} in use; trying {}", client_id - 1, client_id)
        if reconnecting and result == "client_id_in_use" and not cfg.client_id_retry:
            # our own previous session, closed while the gateway was frozen, may still hold the id:
            # one more try with the same id (never a new id: no 326 storm, no twin session)
            logger.warning("client id {} still in use (our closed session?); trying it again in {:g}s", client_id,
                           CLIENT_ID_RELEASE_SECONDS)
            if not stop.wait(CLIENT_ID_RELEASE_SECONDS) and self._open_once(client_id, reconnecting, stop) == "ok":
                return True
        if not reconnecting or stop.is_set():
            with self._lock:
                if stop is self._stop:  # not a new session's state
                    self._set_state(ConnectionState.DISCONNECTED)
        return False

    def _open_once(self, client_id: int, reconnecting: bool = False, stop: threading.Event | None = None) -> str:
        stop = self._stop if stop is None else stop
        cfg = self.config
        deadline = time.monotonic() + cfg.timeout
        logger.info("Connecting to IB Gateway at {}:{} (client id {})", self.host, self.port, client_id)
        self._last_attempt_silent = False
        try:
            conn = SocketConnection(self.host, self.port, timeout=min(cfg.timeout, 10.0), send_timeout=cfg.send_timeout,
                                    on_stall=lambda reason: self._send_stalled(conn, reason))
        except OSError as exc:
            self.last_error = f"cannot connect to {self.host}:{self.port}: {exc}"
            logger.error("Connection failed: {}", self.last_error)
            return "refused"
        with self._lock:
            self._opening = conn
        if stop.is_set():  # disconnect() came first (or closed the socket before it was known)
            conn.disconnect()
            return self._stopped()
        try:
            server_version, conn_time, rest = self._handshake(conn, deadline)
        except (OSError, ValueError, TimeoutError) as exc:
            conn.disconnect()
            if stop.is_set():
                return self._stopped()
            self._last_attempt_silent = isinstance(exc, TimeoutError)
            self.last_error = f"handshake with {self.host}:{self.port} failed: {exc}"
            logger.error("Connection failed: {}", self.last_error)
            return "handshake"
        self._ready.clear()
        self._accounts_seen = threading.Event()
        self._next_id_seen = threading.Event()
        self._client_id_rejected = threading.Event()
        self._startup_closed = threading.Event()
        self.next_valid_id = None
        self.ib_link_ok = True  # a new link: until the gateway says 1100 (it may during the start-up)
        client = self.client
        client.reset()
        client.host, client.port, client.clientId = self.host, self.port, client_id
        client.conn = conn
        client.serverVersion_ = server_version
        client.connTime = conn_time
        client.decoder = self._decoder = Decoder(self.wrapper, server_version)
        client.setConnState(EClient.CONNECTED)
        self.server_version = server_version
        self._generation += 1
        generation = self._generation
        fast = build_frame_fast_path(self.wrapper, server_version) \
            if self.use_fast_path and not self.wrapper.debug else None
        self._dispatcher = Dispatcher(self._handle_frame, fast.decode if fast else None, fast.flush if fast else None,
                                      self.config.inline_decode_max_frames,
                                      lambda frame: frame_label(frame, server_version))
        self._reader = Reader(conn, self._dispatcher.deliver, lambda reason: self._on_reader_closed(generation, reason),
                              rest)
        self._dispatcher.start()
        self._reader.start()
        client.startApi()
        while time.monotonic() < deadline:
            if stop.is_set():
                self._close("disconnect requested", report=False)
                return self._stopped()
            if self._client_id_rejected.is_set():
                self._close(f"client id {client_id} is already in use", report=False)
                self.last_error = f"client id {client_id} in use (IB 326)"
                logger.error("Connection failed: {}", self.last_error)
                return "client_id_in_use"
            if self._fatal is not None:
                self.last_error = str(self._fatal)
                logger.error("Connection failed: {}", self.last_error)
                self._close(self.last_error, report=False)
                return "fatal"
            if self._accounts_seen.is_set() and self._next_id_seen.is_set():
                break
            if self._startup_closed.is_set():
                dispatcher = self._dispatcher
                if dispatcher is not None and dispatcher.is_alive():
                    # what was read before the close is decoded first: a 326, 501 or 503 says why
                    dispatcher.stop()
                    dispatcher.join(max(0.0, deadline - time.monotonic()))
                    continue
                self.last_error = "gateway closed the connection during start-up"
                logger.error("Connection failed: {}", self.last_error)
                self._close(self.last_error, report=False)
                return "closed"
            self._next_id_seen.wait(0.02)
        else:
            self._close("start-up timed out", report=False)
            self._last_attempt_silent = True
            self.last_error = f"no nextValidId/managedAccounts within {cfg.timeout:g}s"
            logger.error("Connection failed: {}", self.last_error)
            return "timeout"
        with self._lock:  # disconnect() sets stop under this lock: it comes before (ends this) or after
            if stop.is_set():
                self._close("disconnect requested", report=False)
                return self._stopped()
            self.connected_since = datetime.now(timezone.utc)
            self.last_heartbeat = self.connected_since
            self.last_error = ""
            if reconnecting:
                self.reconnect_count += 1  # counted before the state says CONNECTED, so readers agree
            self._set_state(ConnectionState.CONNECTED)
            self._ready.set()
        logger.info("Connected to IB Gateway on {}:{} (server version {}, accounts {})", self.host, self.port,
                    server_version, ",".join(self.accounts))
        return "ok"

    def _stopped(self) -> str:
        self.last_error = "disconnect requested while connecting"
        logger.info("Connection attempt to {}:{} ended: {}", self.host, self.port, self.last_error)
        return "stopped"

    def _handshake(self, conn: SocketConnection, deadline: float) -> tuple[int, str, bytes]:
        """Send ``API\\0`` and the version range; read the two-field version reply. A gateway that
        closes the connection first, or answers a version outside the range, raises an error that
        names the range and the likely cause."""
        sock = conn.socket
        assert sock is not None
        top = self.config.max_client_version
        offered = f"v{MIN_CLIENT_VER}..{top}"
        conn.sendMsg(b"API\0" + comm.make_initial_msg(offered))
        buf = bytearray()
        while (remaining := deadline - time.monotonic()) > 0:
            sock.settimeout(remaining)
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                raise OSError(f"connection closed during the handshake, before the version reply (offered API "
                              f"versions {offered}): {CLOSED_HINT}")
            buf += chunk
            view = memoryview(buf)
            frames, used = split_frames(buf, view, 0, len(buf))
            view.release()
            for i, frame in enumerate(frames):
                fields = frame.split(b"\0")[:-1]
                if len(fields) == 2:
                    version = _negotiated_version(fields[0], offered, top)
                    rest = b"".join(len(f).to_bytes(4, "big") + f for f in frames[i + 1:]) + bytes(buf[used:])
                    return version, fields[1].decode(), rest
        raise TimeoutError(f"no version reply from the gateway to the offered API versions {offered}")

    # --- dispatch ---------------------------------------------------------------------------------
    def _handle_frame(self, frame: bytes) -> None:
        """Decode one frame with ibapi's decoder. A message id ibapi does not know (or a frame too
        short for one) is logged and skipped; a body that does not decode raises, and the
        dispatcher logs it (``frame_label``) and goes on with the next frame."""
        version = self.server_version or 0
        decoder = self._decoder
        assert decoder is not None
        if version >= MIN_SERVER_VER_PROTOBUF:
            msg_id = int.from_bytes(frame[:4], "big")
            if msg_id > PROTOBUF_MSG_ID:
                if len(frame) >= 4 and msg_id - PROTOBUF_MSG_ID in decoder.msgId2handleInfoProtoBuf:
                    decoder.processProtoBuf(frame[4:], msg_id - PROTOBUF_MSG_ID)
                    return
            elif len(frame) >= 4 and msg_id in decoder.msgId2handleInfo:
                decoder.interpret(tuple(frame[4:].split(b"\0")[:-1]), msg_id)
                return
        else:
            cut = frame.index(b"\0")
            msg_id = int(frame[:cut])
            if msg_id in decoder.msgId2handleInfo:
                decoder.interpret(tuple(frame[cut + 1:].split(b"\0")[:-1]), msg_id)
                return
        logger.warning("skipped {}: not a message ibapi {} knows", frame_label(frame, version), IBAPI_VERSION)

    # --- the gateway's session messages (through the lifecycle handler) ----------------------------
    def on_next_valid_id(self, order_id: int) -> None:
        self.next_valid_id = order_id
        self._next_id_seen.set()

    def on_managed_accounts(self, accounts: str) -> None:
        self.accounts = tuple(a for a in accounts.split(",") if a)
        self._accounts_seen.set()

    def on_current_time(self, _: float) -> None:
        self.last_heartbeat = datetime.now(timezone.utc)
        with self._clock:
            if self._clock_answered < self._clock_sent:  # never count a late answer of a closed link
                self._clock_answered += 1
            self._clock.notify_all()

    def on_error(self, req_id: int, code: int, message: str) -> None:
        """React to a connection or system code (errors of requests, orders and lines go to their
        owners: ``core/handlers.route_error``)."""
        what = ib_codes.reaction(code)
        if code in ib_codes.CLIENT_ID_IN_USE:
            self._client_id_rejected.set()
        elif code in ib_codes.FATAL_CONNECT:
            error = GatewayConfigError(code, message, ib_codes.FATAL_CONNECT_REMEDY[code])
            if self._state in (ConnectionState.CONNECTING, ConnectionState.RECONNECTING):
                self._fatal = error  # ends the start-up under way; no retry follows
            logger.error("{}", error)
        elif code in ib_codes.IB_LINK_LOST:
            self.ib_link_ok = False
            logger.warning("IB {}: {} ({})", code, message, what)
            self._lifecycle.ib_link(ConnectionEventKind.IB_LINK_LOST, message)
        elif code in ib_codes.IB_LINK_RESTORED_DATA_LOST:
            self.ib_link_ok = True
            logger.warning("IB {}: {} ({})", code, message, what)
            self._lifecycle.ib_link(ConnectionEventKind.IB_LINK_RESTORED_DATA_LOST, message)
        elif code in ib_codes.IB_LINK_RESTORED_DATA_KEPT:
            self.ib_link_ok = True
            logger.info("IB {}: {} ({})", code, message, what)
            self._lifecycle.ib_link(ConnectionEventKind.IB_LINK_RESTORED_DATA_KEPT, message)
        elif code in ib_codes.SOCKET_PORT_RESET:
            match = re.search(r"(\d{2,5})\s*$", message)
            if match:
                self.port = int(match.group(1))
            logger.warning("IB {}: {}; reconnecting on port {}", code, message, self.port)
            threading.Thread(target=self._drop_link, args=("socket port reset",), daemon=True).start()
        elif code in ib_codes.CONNECTION_FAILURE and req_id == -1:
            logger.error("IB {}: {}", code, message)
        elif code in ib_codes.MESSAGE_RATE_EXCEEDED:
            logger.critical("IB {}: {} (pacing failed to prevent it)", code, message)
        elif code in ib_codes.FARM_BROKEN or code in ib_codes.FARM_OK or code in ib_codes.FARM_CONNECTING or \
                code in ib_codes.FARM_INACTIVE:
            self._on_farm(code, message)
        else:
            logger.debug("IB {} for id {} (no owner): {}", code, req_id, message)

    def _on_farm(self, code: int, message: str) -> None:
        """A farm notice: broken farms are listed until IB says they are OK, or inactive (idle,
        available on demand: 2107/2108, which IB may send instead of the OK)."""
        farm = ib_codes.farm_name(message)
        with self._lock:
            if code in ib_codes.FARM_BROKEN:
                self._broken_farms[farm] = code
                was_broken = False
            else:
                was_broken = code not in ib_codes.FARM_CONNECTING and self._broken_farms.pop(farm, None) is not None
        level = "WARNING" if code in ib_codes.FARM_BROKEN else \
            "DEBUG" if code in ib_codes.FARM_INACTIVE and not was_broken else "INFO"
        logger.log(level, "IB {}: {} ({})", code, message, ib_codes.reaction(code))
        self._lifecycle.data_farm(code, farm)

    # --- closing and reconnecting ------------------------------------------------------------------
    def _close(self, reason: str, report: bool) -> None:
        with self._lock:
            self._generation += 1
            conn = self.client.conn
            dispatcher = self._dispatcher
            self._dispatcher = None
            self.client.setConnState(EClient.DISCONNECTED)
        if conn is not None:
            conn.disconnect()
        if dispatcher is not None:
            dispatcher.stop()
        self._ready.clear()
        self._reset_clock()
        with self._lock:
            self._broken_farms.clear()  # the next start-up reports the farms again
        failed = self.registry.fail_all(NotConnected(f"connection lost: {reason}"))
        if failed:
            logger.warning("{} pending request(s) failed: {}", failed, reason)
        if report:
            self._lifecycle.disconnected(reason)

    def _drop_link(self, reason: str, generation: int | None = None) -> None:
        """Treat the link (of ``generation``: the current one if None) as dead: close it and,
        unless the user disconnected, reconnect. Of concurrent calls for one link only one acts."""
        with self._lock:
            if self._state is not ConnectionState.CONNECTED or generation not in (None, self._generation):
                return
            self._generation += 1  # claimed: later calls for this link (and its reader's close) do nothing
        try:
            self._close(reason, report=True)
        finally:  # claimed: nobody else reconnects it
            self._after_link_loss(reason)

    def _send_stalled(self, conn: SocketConnection, reason: str) -> None:
        """A send on ``conn`` passed ``ib_connection.send_timeout``: the gateway stopped reading. The
        link is dropped (and reconnected) on a thread of its own: the stalled sender may be any thread,
        holding any lock, and the drop joins the link's threads."""
        with self._lock:
            generation = self._generation if self.client.conn is conn else None
        if generation is None:  # a link already replaced, or still in its start-up (which then fails)
            return
        logger.error("Send to the gateway stalled: {}; treating the link as dead", reason)
        threading.Thread(target=self._drop_link, args=(f"send stalled: {reason}", generation),
                         name="pa-send-stalled", daemon=True).start()

    def _on_reader_closed(self, generation: int, reason: str) -> None:
        with self._lock:
            if generation != self._generation or self._user_disconnect:
                return
            was_connected = self._state is ConnectionState.CONNECTED
        if not was_connected:
            self._startup_closed.set()
            return
        logger.warning("Connection to {}:{} lost: {}", self.host, self.port, reason)
        try:
            self._close(reason, report=True)
        finally:
            self._after_link_loss(reason)

    def _after_link_loss(self, reason: str) -> None:
        if not self.config.auto_reconnect or self._user_disconnect:
            self._set_state(ConnectionState.DISCONNECTED)
            return
        self._set_state(ConnectionState.RECONNECTING)
        with self._lock:
            if self._reconnect_thread is not None and self._reconnect_thread.is_alive():
                return
            self._reconnect_thread = threading.Thread(target=self._reconnect_loop, args=(self._stop,),
                                                      name="pa-reconnect", daemon=True)
            self._reconnect_thread.start()

    def backoff_delay(self, attempt: int) -> float:
        """``min(base * 2**attempt, max_delay)`` with +/- jitter (spec 7.2)."""
        cfg = self.config
        delay = min(cfg.reconnect_backoff * (2 ** attempt), cfg.reconnect_max_delay)
        if cfg.reconnect_jitter and delay > 0:
            delay *= 1 + random.uniform(-cfg.reconnect_jitter, cfg.reconnect_jitter)
        return max(0.0, delay)

    def _reconnect_loop(self, stop: threading.Event | None = None) -> bool:
        """Reconnect with backoff; if the link drops again while the reconnect's steps restore
        state (``core/lifecycle.py``; the loss is not acted on while this thread lives), start over.
        ``stop`` (default: the current one) set by :meth:`disconnect` ends it, also mid-attempt."""
        stop = self._stop if stop is None else stop
        with self._reconnect_guard:
            while True:
                if not self._reconnect_attempts(stop):
                    return False
                with self._lock:  # a loss closes the link under this lock: before this check, or after it
                    if self.is_connected() or stop.is_set():
                        if self._reconnect_thread is threading.current_thread():
                            self._reconnect_thread = None  # ending: a loss from now on starts a new loop
                        return self.is_connected()
                logger.warning("Link to {}:{} dropped again while restoring state; reconnecting", self.host,
                               self.port)
                self._set_state(ConnectionState.RECONNECTING)

    def _reconnect_attempts(self, stop: threading.Event) -> bool:
        cfg = self.config
        for attempt in range(cfg.reconnect_max_attempts):
            if stop.is_set():
                return False
            if self.is_connected():
                return True  # another reconnect loop (manual or automatic) got there first
            delay = self.backoff_delay(attempt)
            if attempt and self._last_attempt_silent:
                # the gateway took the socket and stayed silent (frozen or wedged): the attempt
                # itself waited ``timeout``; the next one starts soon, to meet it when it answers
                delay = min(delay, self.config.reconnect_backoff)
            logger.warning("Reconnect attempt {}/{} to {}:{} in {:.2f}s", attempt + 1, cfg.reconnect_max_attempts,
                           self.host, self.port, delay)
            if stop.wait(delay):
                return False
            try:
                if self._open(True, stop):
                    logger.info("Reconnected to {}:{} (reconnect #{})", self.host, self.port, self.reconnect_count)
                    self._lifecycle.reconnected()
                    self._start_health()
                    return True
            except Exception as exc:  # noqa: BLE001 - a bug in one attempt must not end reconnecting
                self.last_error = f"reconnect attempt failed: {exc!r}"
                logger.opt(exception=True).error("Reconnect attempt to {}:{} failed", self.host, self.port)
                # what the attempt left open is closed (a link it made is reported lost); the next one follows
                self._close(self.last_error, report=self._state is ConnectionState.CONNECTED)
                if not stop.is_set():
                    self._set_state(ConnectionState.RECONNECTING)
                continue
            if self._fatal is not None:  # logged before FAILED is announced: whoever sees it finds the reason
                logger.critical("Reconnecting to {}:{} stopped: {}", self.host, self.port, self._fatal)
                self._set_state(ConnectionState.FAILED)
                return False
        logger.critical("Unrecoverable connection loss: {} reconnect attempts to {}:{} failed ({})",
                        cfg.reconnect_max_attempts, self.host, self.port, self.last_error)
        self._set_state(ConnectionState.FAILED)
        return False

    # --- health ------------------------------------------------------------------------------------
    def _start_health(self) -> None:
        with self._lock:
            if self._health_thread is not None and self._health_thread.is_alive() and not self._health_stop.is_set():
                return  # this session's (one of an earlier session ends: its stop is set)
            self._health_stop = self._stop
            self._health_thread = threading.Thread(target=self._health_loop, args=(self._stop,), name="pa-health",
                                                   daemon=True)
            self._health_thread.start()

    def check_health(self, timeout: float | None = None) -> bool:
        """Send ``reqCurrentTime`` and wait for the answer; False means a dead or stalled link."""
        timeout = self.monitoring.health_check_timeout_seconds if timeout is None else check_wait(timeout)
        try:
            return self.round_trip(timeout)
        except (NotConnected, OSError):
            return False

    def _reset_clock(self) -> None:
        """Round trips under way end: their answers will never come (a closed or new link)."""
        with self._clock:
            self._clock_answered = self._clock_sent
            self._clock.notify_all()

    def round_trip(self, timeout: float) -> bool:
        """Send ``reqCurrentTime`` and wait for its answer. The gateway answers in order, so True
        means that everything sent before has been answered and handled (IB's immediate errors
        included); False when no answer came within ``timeout`` or the link closed meanwhile.
        Raises :class:`NotConnected` when the link is down."""
        timeout = check_wait(timeout)
        client = self.require_connected()
        generation = self._generation
        with self._clock:
            self._clock_sent += 1
            ticket = self._clock_sent
        client.reqCurrentTime()
        with self._clock:
            answered = self._clock.wait_for(lambda: self._clock_answered >= ticket, timeout)
        return answered and generation == self._generation

    def probe(self, reason: str) -> Probe:
        """A stream went silent (``reason`` says which): send ``reqCurrentTime`` at once and wait
        ``monitoring.stream_probe_timeout_seconds``. No answer and nothing else read meanwhile means
        a frozen gateway: the link is dropped (and reconnected) as by a failed health check."""
        reader, generation = self._reader, self._generation
        before = reader.frames_read if reader is not None else 0
        timeout = self.monitoring.stream_probe_timeout_seconds
        if self.check_health(timeout):
            return Probe.ANSWERED
        if reader is not None and reader.frames_read > before + 1:  # +1: a late answer is no sign of life
            return Probe.BUSY
        if generation == self._generation and self.is_connected():
            logger.error("Health check: no currentTime within {:g}s after {}; treating the link as dead",
                         timeout, reason)
            self._drop_link(f"health check timed out after {reason}", generation)
        return Probe.DEAD

    def _health_loop(self, stop: threading.Event) -> None:
        interval = self.monitoring.health_check_interval_seconds
        while not stop.wait(interval):
            if self._state is not ConnectionState.CONNECTED:
                if self._state in (ConnectionState.DISCONNECTED, ConnectionState.FAILED):
                    return
                continue
            generation = self._generation
            try:
                if not self.check_health():
                    logger.error("Health check: no currentTime within {:g}s; treating the link as dead",
                                 self.monitoring.health_check_timeout_seconds)
                    self._drop_link("health check timed out", generation)
            except Exception:  # noqa: BLE001 - a bug must not end the health checks
                logger.opt(exception=True).error("Health check failed")

    def info(self) -> dict[str, Any]:
        return {"messages_sent": self.client.messages_sent,
                "frames_read": self._reader.frames_read if self._reader else 0}
