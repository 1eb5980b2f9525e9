"""The service: one ``PlatformAdapter`` (one IB session) shared by many client processes.

Threads: the command loop owns the commands ROUTER socket; it answers ``hello``, ``heartbeat``
and ``bye`` itself (so that a busy pool never delays a heartbeat), refuses bad frames with typed
errors, runs the commands that cannot block (``Command.quick``: reading an order, placing one
whose contract is known while the outgoing bucket has a token) and hands every other command to
a worker pool, history requests (``Command.paced``: they may wait minutes for IB's historical
pacing, shared by every client) to a pool of their own, so that they never hold the workers that
cancels and lookups need; a worker sends its reply itself (no hand-off back to the command thread). The
answer to ``place_order_and_wait`` is sent by the order router when the status that ends the
wait is applied (on the facade's decoding thread, a non-blocking send), or by the command loop
at the wait's deadline.
ZeroMQ sockets are not thread-safe: every use of the commands socket holds ``_sock_lock`` (never
while calling out), and the command thread polls the socket's file descriptor, reading
``ZMQ_EVENTS`` at every turn (a thread that finds a command waiting after its send wakes it).
The publisher thread owns the events socket. The facade's event thread calls the line book, the
order router and the account fan-out, which queue for the publisher (an order event is sent at
once when nothing of its session waits).
"""

from __future__ import annotations

import functools
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zmq

from platform_adapter.errors import PlatformAdapterError
from platform_adapter.log import logger
from platform_adapter.models.connection import ConnectionEvent
from platform_adapter.service.commands import Commands
from platform_adapter.service.order_routing import OrderRouter, StatusWait
from platform_adapter.service.protocol import (
    EXTENSIONS,
    MAX_MESSAGE_BYTES,
    SCHEMA_VERSION,
    ErrorCode,
    Event,
    ProtocolError,
    Request,
    RequestError,
    error_reply,
    ok_reply,
    parse_request,
    reads_extensions,
)
from platform_adapter.service.publisher import Publisher, has_input
from platform_adapter.service.schema import pack
from platform_adapter.service.security import ServerCurve, check_binds
from platform_adapter.service.sessions import Session, SessionTable
from platform_adapter.service.store import ServiceStore
from platform_adapter.service.subscriptions import SubscriptionBook
from platform_adapter.utils.wake_pipe import WakePipe


@dataclass(frozen=True)
class ServiceConfig:
    """Where the service listens and how it judges its clients."""

    commands: str = "tcp://127.0.0.1:5555"
    events: str = "tcp://127.0.0.1:5556"
    heartbeat_interval: float = 0.5
    heartbeat_timeout: float = 3.0  # a client silent this long has its session ended
    workers: int = 16
    max_message_bytes: int = MAX_MESSAGE_BYTES
    curve: ServerCurve | None = None


class Service:
    """Serves ``pa`` (a ``PlatformAdapter``, connected or about to be) on two ZeroMQ sockets.

    ``Service(pa, config, store_path).start()`` binds and returns; ``commands_endpoint`` and
    ``events_endpoint`` then hold the bound addresses (a port 0 resolved). Register before
    ``pa.connect()`` so that fills the adapter replays at start-up reach their clients.
    """

    def __init__(self, pa: Any, config: ServiceConfig, store_path: str | Path) -> None:
        check_binds([config.commands, config.events], config.curve)
        self.pa = pa
        self.config = config
        self.id = secrets.token_hex(8)
        self.ctx: zmq.Context[Any] = zmq.Context()
        self.store = ServiceStore(store_path)
        self.sessions = SessionTable(config.heartbeat_timeout)
        self._auth = config.curve.authenticator(self.ctx) if config.curve else None
        self._sock = self.ctx.socket(zmq.ROUTER)
        self._configure(self._sock)
        self._sock.setsockopt(zmq.MAXMSGSIZE, 16 * config.max_message_bytes)  # beyond: the peer is cut off
        self._sock.bind(config.commands)
        self.commands_endpoint = self._sock.getsockopt_string(zmq.LAST_ENDPOINT)
        self._sock_lock = threading.Lock()
        self._closed = False  # the commands socket (under _sock_lock)
        self._waker = WakePipe()
        self.publisher = Publisher(self.ctx, config.events, self._attach, self._beat, config.heartbeat_interval,
                                   self._configure)
        self.events_endpoint = self.publisher.endpoint
        self.book = SubscriptionBook(pa.market_data, self.publisher, lambda t: self.sessions.peek(t) is not None)
        self.router = OrderRouter(self.store, self.publisher, origin=lambda oid: _replaced(pa, oid))
        self.commands = Commands(pa, self.book, self.router, self.publisher, self._metrics)
        pa.orders.listen_new_orders(self.router.on_new_order)  # owners recorded before an order is sent
        pa.orders.listen_status(self.router.on_applied)  # place_order_and_wait answered as IB's status is applied
        pa.orders.on_order_status(self.router.on_status)
        pa.orders.on_fill(self.router.on_fill)
        pa.account.subscribe_account_updates(self._on_account)
        pa.on_connection_event(self._on_connection)
        self._pool = ThreadPoolExecutor(config.workers, thread_name_prefix="pa-service-worker")
        self._paced_pool = ThreadPoolExecutor(config.workers, thread_name_prefix="pa-service-history")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pa-service-commands", daemon=True)

    def _configure(self, sock: zmq.Socket[Any]) -> None:
        sock.setsockopt(zmq.LINGER, 0)
        if self.config.curve is not None:
            self.config.curve.apply(sock)

    def start(self) -> Service:
        self.publisher.start()
        self._thread.start()
        logger.info("service {} ready: commands {} events {}", self.id, self.commands_endpoint, self.events_endpoint)
        return self

    def stop(self) -> None:
        """End every session, stop the threads, close the sockets and the store (once)."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._waker.set()
        if self._thread.ident is not None:
            self._thread.join(5.0)
        else:
            self._close_socket()
        for session in self.sessions.all():
            self._end(session, "service stopping", release=self._release)
        self.router.cancel_waits()
        self._pool.shutdown(wait=False, cancel_futures=True)  # a worker in a long call fails when pa stops
        self._paced_pool.shutdown(wait=False, cancel_futures=True)
        self.publisher.stop()
        if self._auth is not None:
            self._auth.stop()
        self.ctx.destroy(linger=0)
        self.store.close()
        self._waker.close()

    # --- the command loop -----------------------------------------------------------------------------
    def _run(self) -> None:
        poller = zmq.Poller()
        poller.register(self._sock.getsockopt(zmq.FD), zmq.POLLIN)
        poller.register(self._waker.fd, zmq.POLLIN)
        next_reap = time.monotonic() + self.config.heartbeat_interval
        try:
            while not self._stop.is_set():
                due = self.router.next_deadline()
                wake = next_reap if due is None else min(next_reap, due)
                ready = dict(poller.poll(max(0, int((wake - time.monotonic()) * 1000) + 1)))
                try:
                    if self._waker.fd in ready:
                        self._waker.drain()
                    self._read_commands()  # every turn: the descriptor only says that something changed
                    now = time.monotonic()
                    if due is not None and now >= due:
                        self.router.expired(now)  # place_order_and_wait calls whose deadline passed
                    if now >= next_reap:
                        next_reap = now + self.config.heartbeat_interval
                        self._reap()
                except Exception:  # noqa: BLE001 - a bug must not stop the service
                    logger.opt(exception=True).error("command loop error")
        finally:
            self._close_socket()

    def _close_socket(self) -> None:
        with self._sock_lock:
            self._closed = True
            self._sock.close(linger=0)

    def _send(self, frames: list[bytes]) -> None:
        """Send one reply (any thread); wakes the command thread when a command came meanwhile
        (a send may take the descriptor's signal for it)."""
        with self._sock_lock:
            if self._closed:
                return
            self._sock.send_multipart(frames)
            waiting = has_input(self._sock)
        if waiting and threading.current_thread() is not self._thread:
            self._waker.set()

    def _read_commands(self) -> None:
        while True:
            with self._sock_lock:
                if self._closed or not has_input(self._sock):
                    return
                frames = self._sock.recv_multipart(zmq.NOBLOCK)
            prefix, body = frames[:-1], frames[-1]
            if len(frames) < 2 or any(frames[1:-1]):  # one body frame (after REQ's empty delimiter)
                self._send([frames[0], error_reply(None, ProtocolError(
                    ErrorCode.MALFORMED, f"a command is one frame, got {len(frames) - 1}"))])
                continue
            try:
                request = parse_request(body, self.config.max_message_bytes)
                self._dispatch(prefix, request)
            except RequestError as exc:
                self._send([*prefix, error_reply(exc.req_id, exc.error)])
            except ProtocolError as exc:
                self._send([*prefix, error_reply(None, exc)])

    def _dispatch(self, prefix: list[bytes], request: Request) -> None:
        inline = self._INLINE.get(request.cmd)
        try:
            if inline is not None:
                self._send([*prefix, ok_reply(request.id, inline(self, request))])
                return
            call = self.commands.bind(self.sessions.get(request.session), request)
            quick = call.quick
            pool = self._paced_pool if call.paced else self._pool
        except Exception as exc:  # noqa: BLE001 - library errors, or a bug answered as internal
            if not isinstance(exc, PlatformAdapterError):
                logger.opt(exception=True).error("command {} failed", request.cmd)
            self._send([*prefix, error_reply(request.id, exc, self._reads_decimals(request))])
            return
        if quick:
            self._work(prefix, request, call.run)  # it cannot block: here, without a hand-off
        else:
            pool.submit(self._work, prefix, request, call.run)

    def _work(self, prefix: list[bytes], request: Request, run: Callable[[], Any]) -> None:
        """Run a command (on a worker, or on the command thread when it cannot block) and send its
        reply; then route the events of the orders it claimed (after the reply: the client waits
        for it)."""
        if self._answer(prefix, request, run):
            self.router.flush_claimed()

    def _arm(self, prefix: list[bytes], request: Request, wait: StatusWait) -> None:
        """A ``place_order_and_wait`` whose answer the order router gives."""
        wait.reply = functools.partial(self._answer, prefix, request)
        self.router.expect(wait)

    def _answer(self, prefix: list[bytes], request: Request, produce: Callable[[], Any]) -> bool:
        """Send what ``produce()`` returns, or the error it raises, as the answer to ``request``
        (any thread); True once sent. A :class:`StatusWait` it returns is armed instead (the
        command loop keeps its deadline)."""
        try:
            result = produce()
            if isinstance(result, StatusWait):
                self._arm(prefix, request, result)
                if threading.current_thread() is not self._thread:
                    self._waker.set()
                return False
            data = ok_reply(request.id, result)
        except PlatformAdapterError as exc:
            data = error_reply(request.id, exc, self._reads_decimals(request))
        except Exception as exc:  # noqa: BLE001 - a bug must still answer the client
            logger.opt(exception=True).error("command {} failed", request.cmd)
            data = error_reply(request.id, exc)
        try:
            self._send([*prefix, data])
        except zmq.ZMQError:  # the service is stopping
            return False
        return True

    def _reads_decimals(self, request: Request) -> bool:
        """The request's client reads a Decimal as its extension (in an error's attributes)."""
        session = self.sessions.peek(request.session) if request.session is not None else None
        return session is not None and session.decimal_ext

    # --- inline commands: sessions ----------------------------------------------------------------------
    def _hello(self, request: Request) -> dict[str, Any]:
        args = request.args
        session, old = self.sessions.open(args.get("name"), args.get("instance"))
        session.decimal_ext = reads_extensions(args.get("extensions"))
        if old is not None:
            self._end(old, "replaced by a new hello", close=False)
        session.resume_from, session.fresh = self.router.resume_point(session.name, args.get("last_seq"))
        self.publisher.open(session.token)
        logger.info("client {} connected (session {}, replay after #{})", session.name, session.token[:8],
                    session.resume_from)
        return {"session": session.token, "service": self.id, "events": self.events_endpoint,
                "heartbeat_interval": self.config.heartbeat_interval,
                "heartbeat_timeout": self.config.heartbeat_timeout, "resume_from": session.resume_from,
                "schema": SCHEMA_VERSION, "extensions": list(EXTENSIONS)}

    def _heartbeat(self, request: Request) -> dict[str, Any]:
        session = self.sessions.get(request.session)
        self._ack(session, request.args.get("ack"))
        return {"service": self.id, "ib_connected": self.pa.is_connected()}

    def _bye(self, request: Request) -> None:
        session = self.sessions.get(request.session)
        self._ack(session, request.args.get("ack"))
        self._end(session, "said bye")

    def _ping(self, request: Request) -> dict[str, Any]:
        return {"service": self.id, "time": time.time()}

    _INLINE = {"hello": _hello, "heartbeat": _heartbeat, "bye": _bye, "ping": _ping}

    def _ack(self, session: Session, ack: Any) -> None:
        if isinstance(ack, int) and not isinstance(ack, bool) and ack > session.acked \
                and self.router.ack(session.name, ack):  # one beyond what was numbered is ignored
            session.acked = ack

    def _end(self, session: Session, reason: str, close: bool = True, release: Any = None) -> None:
        """End a session now; its lines are released on a worker (the line book may be busy
        waiting for IB on another client's subscribe, and the command loop never waits)."""
        if close:
            self.sessions.close(session.token)
        self.router.detach(session.name, session.token)
        self.publisher.close(session.token)
        logger.info("client {} session {} ended ({})", session.name, session.token[:8], reason)
        if release is None:
            self._pool.submit(self._release, session)
        else:
            release(session)

    def _release(self, session: Session) -> None:
        released = self.book.release_all(session.token)
        if released:
            logger.info("client {}: {} line(s) released", session.name, released)

    def _reap(self) -> None:
        for session in self.sessions.expired():
            self._end(session, f"no heartbeat for {self.config.heartbeat_timeout:g}s")
        for token in self.publisher.overflowed():
            behind = self.sessions.peek(token)
            if behind is not None:
                self._end(behind, "too many events waiting")

    # --- the publisher thread -----------------------------------------------------------------------------
    def _attach(self, token: str, identity: bytes) -> bool:
        session = self.sessions.peek(token)
        if session is None:
            return False
        first = [pack({"ev": Event.ATTACHED.value, "v": SCHEMA_VERSION, "service": self.id})]
        first += self.router.attach(session.name, token, session.resume_from, session.fresh)
        self.publisher.attach(token, identity, first)
        return True

    def _beat(self) -> dict[str, Any]:
        return {"service": self.id, "ib_connected": self.pa.is_connected(), "time": time.time()}

    # --- fan-out and metrics ----------------------------------------------------------------------------------
    def _on_account(self, update: Any) -> None:
        tokens = [s.token for s in self.sessions.all() if s.account_updates]
        if tokens:
            self.publisher.event(tokens, pack({"ev": Event.ACCOUNT.value, "kind": type(update).__name__,
                                               "update": update}))

    def _on_connection(self, event: ConnectionEvent) -> None:
        """The service's IB connection events, to every session."""
        tokens = [s.token for s in self.sessions.all()]
        if tokens:
            self.publisher.event(tokens, pack({"ev": Event.CONNECTION.value, "event": event}))

    def _metrics(self, session: Session) -> dict[str, Any]:
        out: dict[str, Any] = {"service_clients": len(self.sessions.all())}
        for name, value in {**self.book.stats(), **self.router.stats(), **self.publisher.totals()}.items():
            out[f"service_{name}"] = value
        for name, value in self.publisher.stats(session.token).items():
            out[f"client_{name}"] = value
        return out


def _replaced(pa: Any, order_id: int) -> int:
    """The order ``order_id`` replaces (``OrderExtras.replaces``; 0 for none, or an order not ours)."""
    order = pa.orders.state.get_order(order_id)
    extras = order.request.extras if order is not None else None
    return extras.replaces if extras is not None else 0
