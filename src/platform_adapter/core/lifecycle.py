"""The connection lifecycle: in which order the library reacts to each connection event, written
down here and nowhere else, and the one function that runs those reactions (:meth:`Lifecycle.run`).

=============================  ===========================================================================
event (reported by)            steps, in this order
=============================  ===========================================================================
connected: ``PlatformAdapter  1. order ids: the journal opened; ids = max(journal, nextValidId)
.connect()`` opened the link   2. market data: the market data type sent, kept lines replayed, the
(nextValidId and accounts in)     staleness monitor started
                               3. orders: reconciled with IB (open orders, completed orders, executions
                                  since the newest one seen at the last reconciliation; a placement
                                  that was in flight is looked up, never sent again), then periodic
                                  reconciliation
                               4. account: account updates, positions and PnL subscribed, periodic refresh
                               5. users: ``ConnectionEvent(CONNECTED)``
disconnected: the socket       (the ConnectionManager has already failed every pending request with
closed or was found dead       ``NotConnected``; a reconnect follows unless the user disconnected)
                               1. market data: every quote flagged stale (a 1100 of this link ends)
                               2. users: ``DISCONNECTED``
reconnected: ready again       1. order ids: ids = max(local, nextValidId): never reused
after a loss (the reconnect    2. market data: the market data type sent, every line replayed
thread; it reconnects again    3. orders: reconciled (fills made while the link was down are found)
if the link drops meanwhile)   4. account: account updates, positions and PnL subscribed again
                               5. users: ``RECONNECTED``
IB 1100/2110: the gateway      (orders are refused at once: ``ib_link_ok`` is False before this runs)
lost its link to IB            1. market data: every quote flagged stale
                               2. users: ``IB_LINK_LOST``
IB 1101: restored, data lost   1. market data: every line requested again (new request ids)
                               2. orders: reconciled
                               3. account: subscribed again
                               4. users: ``IB_LINK_RESTORED_DATA_LOST``
IB 1102: restored, data kept   1. market data: quotes updated recently are fresh again
                               2. orders: reconciled (fills may have happened)
                               3. account: positions refreshed
                               4. users: ``IB_LINK_RESTORED_DATA_KEPT``
=============================  ===========================================================================

A link is found dead by the health check or, while streams are active, by the probe the stream
watchdog sends when a stream goes silent (``adapters/market/watchdog.py``; a probe answered means
the stream alone is dead, and it is resubscribed without any sequence here).

Sequences never overlap and run in the order their events happened: each takes a ticket when its
event is reported and waits for the sequence before it to end. ``connected``, ``reconnected`` and
``disconnected`` run on the thread that reports them, which waits; the IB link sequences are
reported by the dispatcher (whose decoding their requests wait for) and run on a thread of their
own. A step that fails is logged and the next step runs (a failed start-up step runs again after
the next reconnect). User callbacks (the ``users`` step) run on the event thread, after the
library's own reactions.

:class:`Lifecycle` is also the lifecycle handler (``core/handlers.py``) of the decoders: the
ConnectionManager's session messages and codes go to it and through it to the ConnectionManager,
and every nextValidId moves the order id counter up.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Protocol

from platform_adapter.core.handlers import LifecycleHandler
from platform_adapter.errors import PlatformAdapterError
from platform_adapter.log import logger
from platform_adapter.models.connection import ConnectionEvent, ConnectionEventKind
from platform_adapter.utils.validators import check_callback

if TYPE_CHECKING:
    from platform_adapter.core.connection_manager import ConnectionManager
    from platform_adapter.core.events import EventDispatcher

Kind = ConnectionEventKind
Step = tuple[str, Callable[[], object]]
ConnectionCallback = Callable[[ConnectionEvent], Any]


class MarketDataSteps(Protocol):
    """What the market data adapter does at each lifecycle step."""

    def start(self) -> None: ...
    def restore(self) -> None: ...
    def resubscribe_all(self) -> None: ...
    def link_lost(self) -> None: ...
    def link_restored(self) -> None: ...
    def socket_lost(self) -> None: ...
    def data_farm(self, code: int, farm: str) -> None: ...


class OrderSteps(Protocol):
    """What the order adapter does at each lifecycle step."""

    def accept_next_valid_id(self, order_id: int) -> None: ...
    def sync_ids(self) -> None: ...
    def start(self) -> None: ...
    def reconcile_after(self, reason: str) -> None: ...


class AccountSteps(Protocol):
    """What the account manager does at each lifecycle step."""

    def start(self) -> None: ...
    def restore(self) -> None: ...
    def refresh_positions(self) -> object: ...


class NoSteps:
    """A participant that does nothing (a ConnectionManager used without the adapters)."""

    def start(self) -> None:
        """Nothing to start."""

    def restore(self) -> None:
        """Nothing to restore."""

    def resubscribe_all(self) -> None:
        """No lines."""

    def link_lost(self) -> None:
        """No lines."""

    def link_restored(self) -> None:
        """No lines."""

    def socket_lost(self) -> None:
        """No lines."""

    def data_farm(self, code: int, farm: str) -> None:
        """No lines."""

    def accept_next_valid_id(self, order_id: int) -> None:
        """No order ids."""

    def sync_ids(self) -> None:
        """No order ids."""

    def reconcile_after(self, reason: str) -> None:
        """No orders."""

    def refresh_positions(self) -> None:
        """No positions."""


class Lifecycle(LifecycleHandler):
    """Runs the steps of each connection event in the order of the table above."""

    def __init__(self, connection: ConnectionManager, events: EventDispatcher | None = None, *,
                 market_data: MarketDataSteps | None = None, orders: OrderSteps | None = None,
                 account: AccountSteps | None = None) -> None:
        self.connection = connection
        self.events = events
        self.market_data: MarketDataSteps = market_data or NoSteps()
        self.orders: OrderSteps = orders or NoSteps()
        self.account: AccountSteps = account or NoSteps()
        self._callbacks: list[ConnectionCallback] = []
        self._turn = threading.Condition()
        self._tickets = 0  # sequences reported
        self._serving = 0  # the ticket whose sequence may run now
        self._local = threading.local()
        self.failed_steps: tuple[str, ...] = ()  # of the last connect

    def on_connection_event(self, callback: ConnectionCallback) -> None:
        """Call ``callback(ConnectionEvent)`` (on the event thread) after each event's reactions."""
        self._callbacks.append(check_callback(callback))

    # --- the order -----------------------------------------------------------------------------
    def steps(self, event: ConnectionEvent) -> list[Step]:
        """The steps of ``event``, in order (the table of the module docstring)."""
        md, orders, account = self.market_data, self.orders, self.account
        reason = event.kind.value
        sequences: dict[Kind, list[Step]] = {
            Kind.CONNECTED: [("order ids", orders.sync_ids), ("market data", md.start), ("orders", orders.start),
                             ("account", account.start)],
            Kind.DISCONNECTED: [("market data", md.socket_lost)],
            Kind.RECONNECTED: [("order ids", orders.sync_ids), ("market data", md.restore),
                               ("orders", lambda: orders.reconcile_after(reason)), ("account", account.restore)],
            Kind.IB_LINK_LOST: [("market data", md.link_lost)],
            Kind.IB_LINK_RESTORED_DATA_LOST: [("market data", md.resubscribe_all),
                                              ("orders", lambda: orders.reconcile_after(reason)),
                                              ("account", account.restore)],
            Kind.IB_LINK_RESTORED_DATA_KEPT: [("market data", md.link_restored),
                                              ("orders", lambda: orders.reconcile_after(reason)),
                                              ("account", account.refresh_positions)],
        }
        return [*sequences[event.kind], ("users", lambda: self._notify(event))]

    def run(self, kind: ConnectionEventKind, detail: str = "", wait: bool = True) -> tuple[str, ...]:
        """Run the steps of ``kind`` after every sequence reported before it; return the names of
        the steps that failed. ``wait=False`` (and a sequence reported while one runs on this
        very thread) runs on a thread of its own and returns at once."""
        event = ConnectionEvent(kind, datetime.now(timezone.utc), detail)
        with self._turn:
            ticket = self._tickets
            self._tickets += 1
        if wait and not getattr(self._local, "running", False):
            return self._run_turn(ticket, event)
        threading.Thread(target=self._run_turn, args=(ticket, event), name="pa-lifecycle", daemon=True).start()
        return ()

    def _run_turn(self, ticket: int, event: ConnectionEvent) -> tuple[str, ...]:
        with self._turn:
            self._turn.wait_for(lambda: self._serving == ticket)
        self._local.running = True
        failed: list[str] = []
        try:
            for name, step in self.steps(event):
                logger.debug("{}: {}", event.kind.value, name)
                try:
                    step()
                except PlatformAdapterError as exc:
                    failed.append(name)
                    logger.error("{}: the {} step failed: {}", event.kind.value, name, exc)
                except Exception:  # noqa: BLE001 - the next steps must still run
                    failed.append(name)
                    logger.opt(exception=True).error("{}: the {} step raised", event.kind.value, name)
        finally:
            self._local.running = False
            with self._turn:
                self._serving += 1
                self._turn.notify_all()
        return tuple(failed)

    def _notify(self, event: ConnectionEvent) -> None:
        for callback in self._callbacks:
            if self.events is not None:
                self.events.submit_kept(callback, event)  # never dropped
            else:
                try:
                    callback(event)
                except Exception:  # noqa: BLE001 - a user callback must never stop the sequence
                    logger.opt(exception=True).error("connection callback {} raised", callback)

    # --- the ConnectionManager's events ------------------------------------------------------------
    def connected(self) -> None:
        failed = self.failed_steps = self.run(Kind.CONNECTED)
        if failed:
            logger.warning("Connected with incomplete start-up ({}); it runs again after the next reconnect",
                           ", ".join(failed))
        else:
            logger.info("Ready for operations")

    def reconnected(self) -> None:
        self.run(Kind.RECONNECTED)

    def disconnected(self, reason: str) -> None:
        self.run(Kind.DISCONNECTED, reason)

    def ib_link(self, event: ConnectionEventKind, message: str) -> None:
        self.run(event, message, wait=False)

    def data_farm(self, code: int, farm: str) -> None:
        self.market_data.data_farm(code, farm)

    # --- the gateway's session messages ----------------------------------------------------------
    def next_valid_id(self, order_id: int) -> None:
        self.connection.on_next_valid_id(order_id)
        self.orders.accept_next_valid_id(order_id)

    def managed_accounts(self, accounts: str) -> None:
        self.connection.on_managed_accounts(accounts)

    def current_time(self, seconds: float) -> None:
        self.connection.on_current_time(seconds)

    def error(self, req_id: int, code: int, message: str, advanced: str) -> None:
        self.connection.on_error(req_id, code, message)
