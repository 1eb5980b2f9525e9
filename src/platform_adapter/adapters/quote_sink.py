"""The quote sink: tickPrice/tickSize values of quote lines applied straight to their records.

The dispatcher's fast path (``core/fast_decode.py``) offers each decoded tickPrice/tickSize to the
sink while the :class:`~platform_adapter.core.wrapper.Wrapper` reports it active (conflated quote
callbacks, no DEBUG logging, no other handler on those events). A consumed tick costs one stored
value in the line's ``fields``: the same values, in the same order, that the market-data tick
handlers store. The per-line bookkeeping (timestamps, counters, stale flag, the conflated
delivery) is settled once per *segment*: a run of consecutive consumed ticks, ended by the end of
the dispatcher's read batch, by any other message, or after ``SEGMENT`` ticks. The LineBook's lock
is held for the segment (so readers never see a half-applied one) and never while another message
is handled, so nothing is sent with it held.

Everything here runs on the dispatcher thread.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from platform_adapter.adapters.market_lines import LineBook
from platform_adapter.adapters.market_subscriptions import PRICE_TICKS, SIZE_TICKS, SubKind, Subscription, size_or_none

SEGMENT = 256  # consumed ticks per segment at most (bounds how long the LineBook's lock is held)
_SIZES_MAX = 4096
_QUOTES = SubKind.QUOTES
# Decoder.processTickPriceMsg: the size in a tickPrice is reported as this size tick type
_SIZE_OF_PRICE: dict[int, str] = {price: SIZE_TICKS[size] for price, size in
                                  ((1, 0), (2, 3), (4, 5), (66, 69), (67, 70), (68, 71))}
_PRICE_NAME = PRICE_TICKS.get
_SIZE_NAME = SIZE_TICKS.get
_SIZE_OF_PRICE_NAME = _SIZE_OF_PRICE.get

Settle = Callable[[dict[Subscription, int]], list[Subscription]]


class QuoteSink:
    """Applies ticks of quote lines in segments; ``settle(touched)`` (called with the
    lock held) does the per-line bookkeeping and returns the lines whose delivery must be queued;
    ``deliver(sub)`` queues one (called after the lock is released)."""

    def __init__(self, lines: LineBook, settle: Settle, deliver: Callable[[Subscription], None]) -> None:
        self._lock = lines.lock
        self._index_get = lines.index.get
        self._settle = settle
        self._deliver = deliver
        self._touched: dict[Subscription, int] = {}
        self._count = 0
        self._valid: dict[Decimal, bool] = {}  # size -> whether size_or_none keeps it
        self.open = False  # a segment is in progress (the lock is held by the dispatcher thread)
        self.segments = 0

    def _size(self, size: Any) -> Decimal | None:
        """``size_or_none(size)``; remembers (bounded) whether a Decimal size is a valid one, so the
        next equal size is stored as is (the same object the Wrapper path would store)."""
        value = size_or_none(size)
        if isinstance(size, Decimal) and not size.is_nan():
            valid = self._valid
            if len(valid) >= _SIZES_MAX:
                valid.clear()
            valid[size] = value is not None
        return value

    # tick_price and tick_size are written out in full (no helper calls): they run once per tick.
    def tick_price(self, req_id: int, tick_type: int, price: float, size: Decimal) -> bool:
        """Apply one tickPrice (and its size); False (nothing applied, segment committed) when
        ``req_id`` is not a quote line: the caller then hands the tick to the Wrapper."""
        if not self.open:
            self._lock.acquire()
            self.open = True
        sub = self._index_get(req_id)
        if sub is None or sub.kind is not _QUOTES:
            self.commit()
            return False
        n = 0
        name = _PRICE_NAME(tick_type)
        if name is not None:
            sub.fields[name] = None if price == -1 else float(price)
            n = 1
        name = _SIZE_OF_PRICE_NAME(tick_type)
        if name is not None:
            valid = self._valid.get(size)
            sub.fields[name] = self._size(size) if valid is None else size if valid else None
            n += 1
        if n:
            touched = self._touched
            touched[sub] = touched.get(sub, 0) + n
        self._count += 1
        if self._count >= SEGMENT:
            self.commit()
        return True

    def tick_size(self, req_id: int, tick_type: int, size: Decimal) -> bool:
        """Apply one tickSize; False when ``req_id`` is not a quote line (see :meth:`tick_price`)."""
        if not self.open:
            self._lock.acquire()
            self.open = True
        sub = self._index_get(req_id)
        if sub is None or sub.kind is not _QUOTES:
            self.commit()
            return False
        name = _SIZE_NAME(tick_type)
        if name is not None:
            valid = self._valid.get(size)
            sub.fields[name] = self._size(size) if valid is None else size if valid else None
            touched = self._touched
            touched[sub] = touched.get(sub, 0) + 1
        self._count += 1
        if self._count >= SEGMENT:
            self.commit()
        return True

    def commit(self) -> None:
        """End the segment: settle the touched lines, release the lock, queue their deliveries."""
        if not self.open:
            return
        touched, self._touched = self._touched, {}
        self._count = 0
        try:
            queue = self._settle(touched) if touched else []
        finally:
            self.open = False
            self._lock.release()
            self.segments += 1
        for sub in queue:
            self._deliver(sub)
