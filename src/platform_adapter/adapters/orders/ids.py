"""Order ids: one locked allocator that never hands out an id twice.

The next id is ``max(highest id ever used + 1, gateway's nextValidId)``; the highest id used is
handed to the persister before the id is returned (the order adapter's persister writes it in the
same journal transaction as the order row, before the order is sent), so ids are never reused even
when a restarted gateway sends a ``nextValidId`` lower than ids it has already seen.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from platform_adapter.log import logger


class OrderIdAllocator:
    """Thread-safe order-id counter with a persisted high-water mark."""

    def __init__(self, high_water: int = 0, persist: Callable[[int], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._high_water = max(0, high_water)
        self._next = self._high_water + 1
        self._persist = persist

    @property
    def high_water(self) -> int:
        """The highest id handed out so far (including previous runs)."""
        with self._lock:
            return self._high_water

    def load(self, high_water: int, persist: Callable[[int], None] | None) -> None:
        """Adopt a persisted high-water mark (never lowers the current one) and a persister."""
        with self._lock:
            self._high_water = max(self._high_water, high_water)
            self._next = max(self._next, self._high_water + 1)
            self._persist = persist

    def sync(self, next_valid_id: int | None) -> None:
        """Take the gateway's ``nextValidId`` into account (it may be lower after a restart)."""
        if next_valid_id is None:
            return
        with self._lock:
            if next_valid_id <= self._high_water:
                logger.warning("gateway nextValidId {} is not above our highest order id {}; continuing at {}",
                               next_valid_id, self._high_water, self._high_water + 1)
            self._next = max(self._next, next_valid_id, self._high_water + 1)

    def allocate(self) -> int:
        """A fresh order id; the high-water mark is persisted before it is returned."""
        with self._lock:
            order_id = max(self._next, self._high_water + 1)
            if self._persist is not None:
                self._persist(order_id)
            self._high_water = order_id
            self._next = order_id + 1
            return order_id
