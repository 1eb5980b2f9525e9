"""Orders belong to the client name that placed them: their statuses and fills go to that client
only, numbered per client (``seq`` 1, 2, ...) and recorded in the service store before they are
sent. A client that comes back (same process after a service restart, or a new process under the
same name) attaches with the last number it has and gets every later event again, in order.

A command places its orders inside :meth:`OrderRouter.placing`: each order's owner is recorded
in the store (durable) as the adapter allocates its id, before anything is sent to IB, so a
service killed at any point after that finds the order its client's when it starts again.

The adapter may report an order before ``place_order`` has returned its id to the service (and
``place_order_and_wait`` claims its order only when its wait ends); such events wait (``parked``)
until the order is claimed and the call answered (the answer goes first: the client waits for
it), and are dropped after ``PARK_SECONDS`` when no client claims the order (one placed outside
the service).
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from platform_adapter.errors import PlatformAdapterError, RequestTimeout
from platform_adapter.log import logger
from platform_adapter.models.order import TERMINAL_STATES, Fill, OrderState, OrderStatus
from platform_adapter.service.protocol import Event
from platform_adapter.service.publisher import Publisher
from platform_adapter.service.schema import pack, unpack
from platform_adapter.service.store import ServiceStore

PARK_SECONDS = 120.0  # longer than place_order_and_wait's longest wait (60 s) before its claim
_FIELD = {Event.ORDER_STATUS.value: "status", Event.FILL.value: "fill"}
_HEAD = {kind: b"\x83" + pack("ev") + pack(kind) + pack("seq") for kind in _FIELD}  # a map of 3 entries
_KEY = {kind: pack(field) for kind, field in _FIELD.items()}


def _event(kind: str, seq: int, body: bytes) -> bytes:
    """``pack({"ev": kind, "seq": seq, <field>: value})`` from ``body``, the value already packed
    (the same bytes, without packing the value twice)."""
    return _HEAD[kind] + pack(seq) + _KEY[kind] + body


class StatusWait:
    """The answer to a ``place_order_and_wait`` still to come, given exactly once (:meth:`take`):
    for the status that ends the wait as the adapter applies it (:meth:`OrderRouter.on_applied`),
    for the status found as the wait is armed (it came first), or at the deadline.
    ``reply(produce)``, set by the service before the wait is armed, sends what ``produce()``
    returns, or the error it raises, as the call's answer."""

    def __init__(self, order_id: int, client: str, wanted: frozenset[OrderState], limit: float,
                 orders: Any) -> None:
        self.order_id = order_id
        self.client = client
        self.wanted = wanted
        self.limit = limit
        self.deadline = time.monotonic() + limit
        self.reply: Callable[[Callable[[], Any]], Any] | None = None
        self._orders = orders  # the facade's order interface
        self._taken = False
        self._lock = threading.Lock()

    def ends(self, status: OrderStatus) -> bool:
        """``status`` ends the wait: wanted, or final."""
        return status.status in self.wanted or status.status in TERMINAL_STATES

    def take(self) -> bool:
        """True for the one caller that answers."""
        with self._lock:
            taken, self._taken = self._taken, True
        return not taken

    def outcome(self, status: OrderStatus | None) -> OrderStatus:
        """The answer: ``status`` (which ended the wait) when wanted; else what the facade's
        ``wait_for_status`` says now: its error for a final state that is not wanted, and at the
        deadline (``status`` None) RequestTimeout unless the order got there meanwhile."""
        if status is not None and status.status in self.wanted:
            return status
        try:
            result: OrderStatus = self._orders.wait_for_status(self.order_id, self.wanted, 0.0)
        except RequestTimeout:
            state = self.current().status.value
            raise RequestTimeout(f"order {self.order_id} still {state} after {self.limit:g}s") from None
        return result

    def current(self) -> OrderStatus:
        status: OrderStatus = self._orders.get_order_status(self.order_id)
        return status


class OrderRouter:
    """Ownership, numbering, live delivery and replay of order events (thread-safe)."""

    def __init__(self, store: ServiceStore, publisher: Publisher,
                 origin: Callable[[int], int] | None = None) -> None:
        self._store = store
        self._pub = publisher
        self._origin = origin  # order id -> the order it replaces (0: none); see _adopt
        self._lock = threading.Lock()
        self._owners = store.owners()
        self._live: dict[str, str] = {}  # client name -> token of its attached session
        self._unsaved: list[tuple[int, str]] = []  # claimed, owner not yet in the store
        self._reserved: dict[int, str] = {}  # owner in the store since before the order was sent; not claimed yet
        self._local = threading.local()  # .placing: (client, ids) of the command placing on this thread
        self._parked: dict[int, list[tuple[float, str, OrderStatus | Fill]]] = {}
        self._waits: dict[int, StatusWait] = {}  # place_order_and_wait calls still to answer
        self._deadlines: list[tuple[float, int, StatusWait]] = []  # a heap of (deadline, order id, wait)
        self._answered = False  # on_applied answered a wait since on_status last flushed the claims

    def owner(self, order_id: int) -> str | None:
        client = self._owners.get(order_id)
        if client is None and self._origin is not None:  # asked before the order's first event
            self._adopt(order_id)
            client = self._owners.get(order_id)
        return client

    @contextmanager
    def placing(self, client: str) -> Iterator[list[int]]:
        """Orders the adapter allocates on this thread inside the block are ``client``'s: each
        owner is recorded as its id is allocated (:meth:`on_new_order`), before the order is sent.
        Yields the ids so far. When the block raises, its orders are claimed at once (one may
        have reached IB: its events go to its client)."""
        ids: list[int] = []
        self._local.placing = (client, ids)
        try:
            yield ids
        except BaseException:
            for order_id in ids:
                self.claim(order_id, client)
            self.flush_claimed()
            raise
        finally:
            self._local.placing = None

    def on_new_order(self, order_id: int) -> None:
        """The adapter's listener for a new order id (the placing thread, before anything is
        sent): record its owner when a command is placing on this thread."""
        placing = getattr(self._local, "placing", None)
        if placing is None:
            return  # not placed by a command (nobody's, as an order placed outside the service)
        client, ids = placing
        self._store.set_owner(order_id, client)
        with self._lock:
            self._reserved[order_id] = client
        ids.append(order_id)

    def claim(self, order_id: int, client: str) -> None:
        """``client`` placed ``order_id``: its events go to it from now on (those the adapter
        reported meanwhile in :meth:`flush_claimed`, after the place call has been answered,
        which also stores the owner of an order not placed inside :meth:`placing`)."""
        with self._lock:
            self._owners[order_id] = client
            self._unsaved.append((order_id, client))

    def flush_claimed(self) -> None:
        """Store the owners claimed since (unless stored as their orders were placed) and route
        their waiting events (in the order they came)."""
        with self._lock:
            for order_id, client in self._unsaved:
                if self._reserved.pop(order_id, None) != client:  # recorded already as it was placed
                    self._store.set_owner(order_id, client)
            self._unsaved.clear()
            for order_id in [o for o in self._parked if o in self._owners]:
                client = self._owners[order_id]
                for _, kind, value in self._parked.pop(order_id):
                    self._append(client, kind, value)

    # --- place_order_and_wait ---------------------------------------------------------------------------
    def expect(self, wait: StatusWait) -> None:
        """Arm ``wait`` (its ``reply`` set): the status event that ends it answers it; a status that
        came before is found here (and answered by the caller)."""
        with self._lock:
            self._waits[wait.order_id] = wait
            heapq.heappush(self._deadlines, (wait.deadline, wait.order_id, wait))
        try:
            status = wait.current()
        except PlatformAdapterError:  # not known yet: the deadline answers with the facade's word
            return
        if wait.ends(status) and wait.take():
            self.settle(wait, status)

    def next_deadline(self) -> float | None:
        """The earliest deadline of the waits still armed (``time.monotonic``)."""
        with self._lock:
            heap = self._deadlines
            while heap and self._waits.get(heap[0][1]) is not heap[0][2]:  # answered already
                heapq.heappop(heap)
            return heap[0][0] if heap else None

    def expired(self, now: float) -> None:
        """Answer the waits whose deadline is ``now`` or earlier (the service's command loop)."""
        due = []
        with self._lock:
            while self._deadlines and self._deadlines[0][0] <= now:
                due.append(heapq.heappop(self._deadlines)[2])
        for wait in due:
            if wait.take():
                self.settle(wait, None)

    def cancel_waits(self) -> None:
        """The service stops: the waits are dropped unanswered (their clients see the service go)."""
        with self._lock:
            for wait in self._waits.values():
                wait.take()
            self._waits.clear()
            self._deadlines.clear()

    def settle(self, wait: StatusWait, status: OrderStatus | None) -> None:
        """Answer ``wait`` (taken by the caller) for ``status`` (``None``: its deadline), then route
        the events that waited for the claim: the answer goes first, and the order is its
        client's once the client has the answer."""
        try:
            self._answer(wait, status)
        finally:
            self.flush_claimed()

    def on_applied(self, status: OrderStatus) -> None:
        """The adapter's status listener (on the thread that applied ``status``, usually its
        decoding thread, as the facade's own ``wait_for_status`` is woken): answer the wait it
        ends. Its order's events are numbered and sent by :meth:`on_status` on the event thread,
        after the answer (the claim lets them through only then)."""
        wait = self._waits.get(status.order_id)  # a plain dict read: no lock taken for other orders
        if wait is not None and wait.ends(status) and wait.take():
            try:
                self._answer(wait, status)
            finally:
                self._answered = True

    def _answer(self, wait: StatusWait, status: OrderStatus | None) -> None:
        """Claim ``wait``'s order, then answer it (taken by the caller)."""
        self._forget(wait)
        self.claim(wait.order_id, wait.client)
        assert wait.reply is not None
        wait.reply(lambda: wait.outcome(status))

    def _forget(self, wait: StatusWait) -> None:
        """``wait`` is answered (taken): out of the armed ones."""
        with self._lock:
            if self._waits.get(wait.order_id) is wait:
                del self._waits[wait.order_id]
            if len(self._deadlines) > 2 * len(self._waits) + 64:  # drop the answered ones now and then
                self._deadlines = [d for d in self._deadlines if self._waits.get(d[1]) is d[2]]
                heapq.heapify(self._deadlines)

    # --- the adapter's callbacks (its event thread) ---------------------------------------------------
    def on_status(self, status: OrderStatus) -> None:
        wait = self._waits.get(status.order_id)  # answered here when on_applied was not (no listener)
        if wait is not None and wait.ends(status) and wait.take():
            self.settle(wait, status)
        if self._answered:  # a wait answered on the decoding thread: the events its order kept waiting first
            self._answered = False
            self.flush_claimed()
        self._route(status.order_id, Event.ORDER_STATUS.value, status)

    def on_fill(self, fill: Fill) -> None:
        self._route(fill.order_id, Event.FILL.value, fill)

    def _route(self, order_id: int, kind: str, value: OrderStatus | Fill) -> None:
        if self._origin is not None and order_id not in self._owners:  # a plain dict read
            self._adopt(order_id)
        with self._lock:
            client = self._owners.get(order_id)
            if client is not None and order_id not in self._parked:
                self._append(client, kind, value)
                return
            now = time.monotonic()
            self._parked.setdefault(order_id, []).append((now, kind, value))
            for oid in [o for o, items in self._parked.items()
                        if now - items[-1][0] > PARK_SECONDS and o not in self._owners]:
                logger.debug("order {} was never claimed by a client: its events are dropped", oid)
                del self._parked[oid]

    def _adopt(self, order_id: int) -> None:
        """An order the adapter placed itself in place of another (a bracket's exit placed anew
        for a partly filled entry, ``OrderExtras.replaces``) belongs to that order's owner."""
        assert self._origin is not None
        origin = self._origin(order_id)
        with self._lock:
            owner = self._owners.get(origin) if origin else None
        if owner is not None:
            self.claim(order_id, owner)
            self.flush_claimed()

    def _append(self, client: str, kind: str, value: OrderStatus | Fill) -> None:
        token = self._live.get(client)
        body = pack(value)
        if isinstance(value, Fill):
            seq = self._store.append(client, kind, body, token is not None, value.exec_id)
        else:  # a final status is numbered once, also when a restarted service's adapter reports it again
            final = (value.order_id, f"{value.status.value} {value.filled}") if value.is_terminal else None
            seq = self._store.append(client, kind, body, token is not None, final=final)
        if seq is not None and token is not None:
            self._pub.send_now(token, _event(kind, seq, body))

    # --- sessions ------------------------------------------------------------------------------------------
    def attach(self, client: str, token: str, after: int, fresh: bool) -> list[bytes]:
        """Deliver ``client``'s events to ``token`` live from now on; returns the encoded events
        numbered above ``after`` to send first. ``fresh`` (a new process): a fill that may have
        reached the client's previous process is flagged ``possible_duplicate``."""
        with self._lock:
            self._live[client] = token
            out = []
            for row in self._store.after(client, after):
                value = unpack(row.body)
                if fresh and row.sent and row.kind == Event.FILL.value:
                    value["possible_duplicate"] = True
                out.append(pack({"ev": row.kind, "seq": row.seq, _FIELD[row.kind]: value, "replay": True}))
            return out

    def detach(self, client: str, token: str) -> None:
        with self._lock:
            if self._live.get(client) == token:
                del self._live[client]

    def ack(self, client: str, seq: int) -> bool:
        """False for a number not acknowledged (not above the last one, or never given)."""
        return self._store.ack(client, seq)

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"orders_owned": len(self._owners), "order_events_waiting_claim": len(self._parked)}

    def resume_point(self, client: str, last_seq: Any) -> tuple[int, bool]:
        """Where a hello's replay starts: after the client's own ``last_seq`` (a process that
        reconnects), else after what the name acknowledged (a new process: ``fresh``)."""
        known = self._store.last_seq(client)
        if isinstance(last_seq, int) and not isinstance(last_seq, bool) and 0 <= last_seq <= known:
            return last_seq, False
        return self._store.acked(client), True
