"""``RemoteAdapter``: the ``PlatformAdapter`` interface, served by a running service.

    pa = RemoteAdapter("tcp://127.0.0.1:5555", name="strategy-a")
    pa.connect()
    pa.market_data.subscribe_quotes(["AAPL"], on_quote)
    order_id = pa.orders.place_order("AAPL", "BUY", 100, "LMT", limit_price=150.0)

Methods, arguments, return values (the same model dataclasses), callbacks and exceptions are the
facade's. What differs: the IB connection is the service's (``connect()`` takes no host, port or
client id; ``is_connected()`` is true while the service answers and is connected to IB); orders
belong to ``name``, and a client restarted under the same name gets its open orders and the
order events it missed; the market data type is set for the whole service.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from platform_adapter.core.events import EventDispatcher
from platform_adapter.errors import ConfigError, NotConnected, PlatformAdapterError, ValidationError
from platform_adapter.models.connection import ConnectionEvent, ConnectionEventKind
from platform_adapter.models.order import utcnow
from platform_adapter.remote.account import RemoteAccount
from platform_adapter.remote.contracts import RemoteContracts
from platform_adapter.remote.market_data import RemoteMarketData
from platform_adapter.remote.orders import RemoteOrders
from platform_adapter.remote.transport import Transport
from platform_adapter.service.protocol import Event
from platform_adapter.service.schema import decode
from platform_adapter.service.security import ClientCurve
from platform_adapter.service.sessions import NAME_RE

CONNECT_POLL_SECONDS = 0.02  # connect() looks this often whether the service is connected to IB again
_ORDER_EVENTS = frozenset({Event.ORDER_STATUS, Event.FILL})
_MARKET_EVENTS = frozenset({Event.QUOTE, Event.BAR, Event.TICK, Event.LINE_ERROR, Event.PROGRESS})


class RemoteAdapter:
    """A client of ``python -m platform_adapter.service`` at ``endpoint`` (its commands socket).

    ``name`` identifies the client to the service (letters, digits, ``_ . -``): orders belong to
    it. ``server_key`` (the service's public key, Z85 text or ``.key`` file) and ``client_key``
    (this client's ``.key_secret`` file) enable CurveZMQ, required when the service listens
    beyond loopback.
    """

    def __init__(self, endpoint: str, name: str, *, connect_timeout: float = 10.0,
                 server_key: str | bytes | None = None, client_key: str | None = None,
                 block_threshold: float = 2.0) -> None:
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise ValidationError("name", name, "must be 1-64 letters, digits, '_', '.' or '-'")
        if bool(server_key) != bool(client_key):
            raise ConfigError("curve", "server_key and client_key go together")
        curve = ClientCurve.load(server_key, client_key) if server_key and client_key else None
        self.connect_timeout = connect_timeout
        self.events = EventDispatcher(name=f"pa-remote-callbacks-{name}", block_threshold=block_threshold)
        self.transport = Transport(endpoint, name, self._on_event, self._on_session, curve, self._on_lost)
        self.market_data = RemoteMarketData(self.transport, self.events)
        self.orders = RemoteOrders(self.transport, self.events)
        self.account = RemoteAccount(self.transport, self.events)
        self.contracts = RemoteContracts(self.transport)
        self._connection_callbacks: list[Callable[[ConnectionEvent], Any]] = []

    def connect(self) -> bool:
        """Open the session with the service and wait for the service's IB connection (both within
        ``connect_timeout``); True when the session is open and the service is connected to IB.
        Lost sessions are reopened by themselves (also after False, when the session opened)."""
        self.events.start()
        deadline = time.monotonic() + self.connect_timeout
        if not self.transport.start(self.connect_timeout):
            return False
        while not self.transport.connected and time.monotonic() < deadline:  # the service reconnecting to IB
            time.sleep(CONNECT_POLL_SECONDS)
        return self.transport.connected

    def disconnect(self) -> None:
        """Close the session: the service releases this client's lines (its orders stay its own)."""
        self.events.wait_idle(2.0)  # the callbacks of what arrived run first: bye acknowledges them
        self.transport.stop()
        self.events.stop()

    def is_connected(self) -> bool:
        return self.transport.connected

    @property
    def last_error(self) -> str:
        return self.transport.last_error

    def metrics(self) -> dict[str, Any]:
        """The service's metrics (spec 9.3, the adapter's and ``service_*``: clients, lines,
        conflated quotes; ``client_*``: this client's outbox at the service) and this client's
        (``remote_*``)."""
        t = self.transport
        local: dict[str, Any] = {"remote_connected": self.is_connected(), "remote_reconnects": t.reconnects,
                                 "remote_events_received": t.events_received, "remote_last_order_event": t.received_seq,
                                 **{f"remote_{k}": v for k, v in self.events.stats().items()}}
        try:
            return {**t.call("metrics"), **local}
        except (NotConnected, PlatformAdapterError):
            return {"connection_state": "DISCONNECTED", **local}

    def on_connection_event(self, callback: Callable[[ConnectionEvent], Any]) -> None:
        """Call ``callback(ConnectionEvent)`` on the event thread: the service's IB connection
        events (``ib_link_lost``, ``reconnected``, ...), and this client's session with the service
        (``connected``, ``disconnected`` and ``reconnected``, with ``detail`` starting "service")."""
        if not callable(callback):
            raise ValidationError("callback", callback, "must be callable")
        self._connection_callbacks.append(callback)

    def _connection_event(self, event: ConnectionEvent) -> None:
        for cb in tuple(self._connection_callbacks):
            self.events.submit_kept(cb, event)  # never dropped

    def _on_event(self, ev: dict[str, Any]) -> None:
        kind = ev.get("ev")
        if kind in _MARKET_EVENTS:
            self.market_data.on_event(ev)
        elif kind in _ORDER_EVENTS:
            self.orders.on_event(ev)
        elif kind == Event.ACCOUNT:
            self.account.on_event(ev)
        elif kind == Event.CONNECTION:
            self._connection_event(decode(ConnectionEvent, ev["event"]))

    def _on_session(self) -> None:
        """A (re)opened session: subscribe the lines and account updates again."""
        kind = ConnectionEventKind.RECONNECTED if self.transport.reconnects else ConnectionEventKind.CONNECTED
        self._connection_event(ConnectionEvent(kind, utcnow(), f"service {self.transport.endpoint}"))
        self.market_data.resync()
        self.account.resync()

    def _on_lost(self, reason: str) -> None:
        self._connection_event(ConnectionEvent(ConnectionEventKind.DISCONNECTED, utcnow(), f"service: {reason}"))

    def __enter__(self) -> RemoteAdapter:
        if not self.connect():
            raise NotConnected(self.last_error or "could not connect to the service")
        return self

    def __exit__(self, *exc: object) -> None:
        self.disconnect()
