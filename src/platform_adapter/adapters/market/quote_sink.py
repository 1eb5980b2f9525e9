"""The quote sink: the market-data handler's ``quote_ticks`` for conflated quote lines.

The fast paths (``core/fast_decode.py``) hand consecutive tickPrice/tickSize messages over as one
run (``core/handlers.py``: ``QuoteTick``). :meth:`QuoteSink.apply` stores each tick of a quote
line in the line's ``fields`` (the same values, in the same order, as the per-tick route of
``MarketDataEvents`` stores) and settles the per-line bookkeeping (timestamps, counters, stale
flag, the conflated delivery) once per touched line, all under one hold of the LineBook's lock,
taken and released here; the deliveries are queued after it is released. Readers never see half
a run, and nothing is sent or called with the lock held. Ticks of other request ids are ignored,
as on the per-tick route.

Everything here runs on the decoding thread.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from platform_adapter.adapters.market.lines import LineBook
from platform_adapter.adapters.market.subscriptions import SubKind, Subscription, size_or_none
from platform_adapter.core.handlers import QuoteTick
from platform_adapter.core.tick_types import NO_PRICE, PRICE_TICKS, SIZE_FIELD_OF_PRICE, SIZE_TICKS

_SIZES_MAX = 4096
_QUOTES = SubKind.QUOTES
_PRICE_NAME = PRICE_TICKS.get
_SIZE_NAME = SIZE_TICKS.get
_SIZE_OF_PRICE_NAME = SIZE_FIELD_OF_PRICE.get

Settle = Callable[[dict[Subscription, int]], list[Subscription]]


class QuoteSink:
    """Applies runs of quote ticks; ``settle(touched)`` (called with the lock held) does the
    per-line bookkeeping and returns the lines whose delivery must be queued; ``deliver(sub)``
    queues one (called after the lock is released)."""

    def __init__(self, lines: LineBook, settle: Settle, deliver: Callable[[Subscription], None]) -> None:
        self._lock = lines.lock
        self._index_get = lines.index.get
        self._settle = settle
        self._deliver = deliver
        self._valid: dict[Decimal, bool] = {}  # size -> whether size_or_none keeps it
        self.runs = 0

    def _size(self, size: Any) -> Decimal | None:
        """``size_or_none(size)``; remembers (bounded) whether a Decimal size is a valid one, so the
        next equal size is stored as is (the same object the per-tick route would store)."""
        try:
            valid = self._valid.get(size)
        except TypeError:  # a signaling NaN has no hash
            return size_or_none(size)
        if valid is not None:
            return size if valid else None
        value = size_or_none(size)
        if isinstance(size, Decimal) and not size.is_nan():
            memo = self._valid
            if len(memo) >= _SIZES_MAX:
                memo.clear()
            memo[size] = value is not None
        return value

    def apply(self, ticks: Sequence[QuoteTick]) -> None:
        """Apply one run of ticks (see the module docstring)."""
        touched: dict[Subscription, int] = {}
        touch = touched.get
        index_get = self._index_get
        size_of = self._size
        no_price = NO_PRICE
        with self._lock:
            for req_id, tick_type, price, size, _mask in ticks:
                sub = index_get(req_id)
                if sub is None or sub.kind is not _QUOTES:
                    continue
                fields = sub.fields
                if price is None:
                    name = _SIZE_NAME(tick_type)
                    if name is None:
                        continue
                    fields[name] = size_of(size)
                    touched[sub] = touch(sub, 0) + 1
                    continue
                n = 0
                name = _PRICE_NAME(tick_type)
                if name is not None:
                    fields[name] = None if price == no_price else float(price)
                    n = 1
                name = _SIZE_OF_PRICE_NAME(tick_type)
                if name is not None:
                    fields[name] = size_of(size)
                    n += 1
                if n:
                    touched[sub] = touch(sub, 0) + n
            queue = self._settle(touched) if touched else []
            self.runs += 1
        for sub in queue:
            self._deliver(sub)
