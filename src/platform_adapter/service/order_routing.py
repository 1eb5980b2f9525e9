"""Orders belong to the client name that placed them: their statuses and fills go to that client
only, numbered per client (``seq`` 1, 2, ...) and recorded in the service store before they are
sent. A client that comes back (same process after a service restart, or a new process under the
same name) attaches with the last number it has and gets every later event again, in order.

The adapter may report an order before ``place_order`` has returned its id to the service (and
``place_order_and_wait`` claims its order only when its wait ends); such events wait (``parked``)
until the order is claimed and the call answered (the answer goes first: the client waits for
it), and are dropped after ``PARK_SECONDS`` when no client claims the order (one placed outside
the service).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from platform_adapter.log import logger
from platform_adapter.models.order import Fill, OrderStatus
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


class OrderRouter:
    """Ownership, numbering, live delivery and replay of order events (thread-safe)."""

    def __init__(self, store: ServiceStore, publisher: Publisher) -> None:
        self._store = store
        self._pub = publisher
        self._lock = threading.Lock()
        self._owners = store.owners()
        self._live: dict[str, str] = {}  # client name -> token of its attached session
        self._unsaved: list[tuple[int, str]] = []  # claimed, owner not yet in the store
        self._parked: dict[int, list[tuple[float, str, OrderStatus | Fill]]] = {}

    def owner(self, order_id: int) -> str | None:
        return self._owners.get(order_id)

    def claim(self, order_id: int, client: str) -> None:
        """``client`` placed ``order_id``: its events go to it from now on. The store records the
        owner in :meth:`flush_claimed`, after the place call has been answered (with the events
        the adapter reported meanwhile)."""
        with self._lock:
            self._owners[order_id] = client
            self._unsaved.append((order_id, client))

    def flush_claimed(self) -> None:
        """Record the owners claimed since and route their waiting events (in the order they came)."""
        with self._lock:
            for order_id, client in self._unsaved:
                self._store.set_owner(order_id, client)
            self._unsaved.clear()
            for order_id in [o for o in self._parked if o in self._owners]:
                client = self._owners[order_id]
                for _, kind, value in self._parked.pop(order_id):
                    self._append(client, kind, value)

    # --- the adapter's callbacks (its event thread) ---------------------------------------------------
    def on_status(self, status: OrderStatus) -> None:
        self._route(status.order_id, Event.ORDER_STATUS.value, status)

    def on_fill(self, fill: Fill) -> None:
        self._route(fill.order_id, Event.FILL.value, fill)

    def _route(self, order_id: int, kind: str, value: OrderStatus | Fill) -> None:
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

    def _append(self, client: str, kind: str, value: OrderStatus | Fill) -> None:
        token = self._live.get(client)
        body = pack(value)
        seq = self._store.append(client, kind, body, token is not None,
                                 value.exec_id if isinstance(value, Fill) else None)
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

    def ack(self, client: str, seq: int) -> None:
        self._store.ack(client, seq)

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
