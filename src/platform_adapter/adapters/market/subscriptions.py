"""Subscription records (replayable after a reconnect) and the checks of the market-data calls' arguments."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum
from typing import Any

from ibapi.const import UNSET_DECIMAL

from platform_adapter.adapters.contracts import to_spec
from platform_adapter.adapters.market.historical_params import REAL_TIME_BAR_WHAT_TO_SHOW, check_what_to_show
from platform_adapter.errors import ValidationError
from platform_adapter.models.contract import ContractInfo, ContractSpec
from platform_adapter.models.market_data import MarketDataType, Quote, TickByTickKind, utc_from_epoch
from platform_adapter.utils.validators import check_instruments, check_tbt_kind


class SubKind(StrEnum):
    """The three kinds of streaming line; each holds one IB market-data line."""

    QUOTES = "quotes"
    BARS = "real_time_bars"
    TICKS = "tick_by_tick"


Callback = Callable[..., Any]


@dataclass(eq=False)
class Subscription:
    """One IB streaming line and the user callbacks it feeds; replayed after a reconnect.

    For quote lines it is also the live quote state: each tick stores one value in ``fields``
    (under ``lock``, the LineBook's lock); the frozen :class:`Quote` is built by
    :meth:`snapshot` only when someone reads it, and cached until the next change.
    """

    kind: SubKind
    key: str
    info: ContractInfo
    req_id: int
    sent_id: int = 0  # the request id last sent to IB (each id is sent once: LineBook.claim)
    callbacks: list[Callback] = field(default_factory=list)
    on_error: list[Callback] = field(default_factory=list)
    what_to_show: str = "TRADES"
    use_rth: bool = False
    tbt_kind: TickByTickKind | None = None
    started: float = 0.0
    last_update: float = 0.0
    updates: int = 0
    stale: bool = False
    degraded: bool = False  # a market data farm is broken (the Quote's ``degraded``)
    confirming: bool = False  # its subscribe call still waits for IB's answer (a 101 raises there)
    failed: Exception | None = None
    fallback_done: bool = False
    stream_retries: int = 0
    fields: dict[str, Any] = field(default_factory=dict)
    market_data_type: MarketDataType = MarketDataType.LIVE
    wall: float = 0.0  # time.time() of the last update (the Quote's ``time``)
    pending: bool = False  # a conflated delivery of this line is queued on the event thread
    skipped: int = 0  # ticks merged into the queued delivery (the conflation metric)
    published: bool = False  # the StateManager holds this line as the symbol's live quote
    snap: Quote | None = field(default=None, repr=False)
    lock: Any = field(default_factory=threading.RLock, repr=False)

    @property
    def active(self) -> bool:
        """True while the line is held at IB (failed lines hold none)."""
        return self.failed is None

    def quote(self, stale: bool) -> Quote:
        """A new Quote of the current state with ``stale``."""
        wall = self.wall
        return Quote(symbol=self.key, stale=stale, updated_monotonic=self.last_update,
                     market_data_type=self.market_data_type, time=utc_from_epoch(wall) if wall else None,
                     updates=self.updates, degraded=self.degraded, **self.fields)

    def snapshot(self) -> Quote:
        """The frozen Quote of the current state (built once per change, then shared)."""
        with self.lock:
            snap = self.snap
            if snap is None or snap.stale != self.stale or snap.market_data_type is not self.market_data_type:
                snap = self.snap = self.quote(self.stale)
            return snap

    def touch(self, now: float) -> None:
        self.last_update = now
        self.updates += 1
        self.wall = time.time()
        self.snap = None


def size_or_none(value: Any) -> Decimal | None:
    """ibapi sizes: UNSET and negative values -> None, everything else a Decimal."""
    if value is None:
        return None
    try:
        d = value if isinstance(value, Decimal) else Decimal(str(value))
    except ArithmeticError:
        return None
    if not d.is_finite() or d == UNSET_DECIMAL or d < 0:  # is_finite first: a signaling NaN compares with an error
        return None
    return d


def stale_copy(quote: Quote, stale: bool) -> Quote:
    return quote if quote.stale == stale else replace(quote, stale=stale)


def check_bar_line(symbol: Any, what_to_show: Any, use_rth: Any) -> tuple[ContractSpec, str]:
    """A real-time bar line's arguments, in the order ``subscribe_real_time_bars`` checks them
    (after its callbacks): ``what_to_show`` (returned upper case), ``use_rth``, the instrument."""
    wts = check_what_to_show(what_to_show, REAL_TIME_BAR_WHAT_TO_SHOW)
    if not isinstance(use_rth, bool):
        raise ValidationError("use_rth", use_rth, "must be True or False")
    return to_spec(symbol), wts


def bar_lines_of(symbol: Any, what_to_show: Any) -> tuple[str, str | None]:
    """``unsubscribe_real_time_bars``'s checks, in its order: the instrument's key, then
    ``what_to_show`` (upper case; None: every one)."""
    key = to_spec(symbol).key
    return key, None if what_to_show is None else check_what_to_show(what_to_show, REAL_TIME_BAR_WHAT_TO_SHOW)


def tick_lines_of(symbol: Any, kind: Any) -> tuple[str, str | None]:
    """``unsubscribe_tick_by_tick``'s checks, in its order: the instrument's key, then the kind's
    value (None: every kind)."""
    key = to_spec(symbol).key
    return key, None if kind is None else check_tbt_kind(kind).value


def check_specs(values: Any, field: str = "symbols") -> list[ContractSpec]:
    """One symbol/ContractSpec or a list of them -> specs without duplicates (order kept)."""
    out: dict[str, ContractSpec] = {}
    for value in check_instruments(values, field):
        spec = to_spec(value, field)
        out.setdefault(spec.key, spec)
    return list(out.values())
