"""Market data adapter (spec 2.2.2, 6.2, 7.1, 7.3): quotes, historical bars, real-time bars and
tick-by-tick data, with the market data type, stale-data detection and replay after reconnects.

Every streaming line is a :class:`Subscription` record: ticks update it on the dispatcher thread
(one stored value per tick: the record is the live quote state, which the StateManager serves as
the symbol's cached quote; the frozen :class:`Quote` is built only when it is read or delivered),
and user callbacks run on the event thread (quote callbacks conflated per line unless
``market_data.conflate_callbacks`` is off: a queued delivery reads the latest state when it runs).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pandas as pd
from loguru import logger

from platform_adapter.adapters.contracts import to_spec
from platform_adapter.adapters.historical import HistoricalFetcher, Progress
from platform_adapter.adapters.historical_params import REAL_TIME_BAR_WHAT_TO_SHOW, check_what_to_show
from platform_adapter.adapters.market_lines import LineBook, MapKey, Want, cancel_line, send_line
from platform_adapter.adapters.market_subscriptions import (
    PRICE_TICKS,
    SIZE_TICKS,
    TIMESTAMP_TICKS,
    Callback,
    SubKind,
    Subscription,
    check_callback,
    check_market_data_type,
    check_specs,
    check_tbt_kind,
    size_or_none,
    stale_copy,
)
from platform_adapter.adapters.quote_sink import QuoteSink
from platform_adapter.core import ib_codes
from platform_adapter.core.base_adapter import AdapterContext, BaseAdapter
from platform_adapter.errors import (
    ContractNotFound,
    IBError,
    NotConnected,
    SubscriptionLimitExceeded,
    ValidationError,
)
from platform_adapter.models.market_data import Bar, MarketDataType, Quote, TickByTick, TickByTickKind, utc_from_epoch

_wall = time.time
_QUOTES = SubKind.QUOTES
_SKIP = object()  # marker: a tick value that is not stored (an unparsable timestamp)
MAX_STREAM_RETRIES = 3  # consecutive 10182 answers for one line before it is marked failed


def _price_value(price: Any) -> float | None:
    # IB sends -1 for "no value currently available" (negative prices are otherwise legal).
    return None if price is None or price == -1 else float(price)


def _timestamp_value(value: Any) -> Any:
    try:
        return utc_from_epoch(int(value))
    except (TypeError, ValueError, OverflowError):
        return _SKIP


def _decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


class MarketDataAdapter(BaseAdapter):
    """Quotes, historical bars, real-time bars and tick-by-tick data (spec 2.2.2).

    Symbols are plain US-stock strings or :class:`ContractSpec` values; callbacks receive the
    instrument key (``"AAPL"``, ``"EUR.USD"``, ...) first.
    """

    def __init__(self, ctx: AdapterContext) -> None:
        super().__init__(ctx)
        self.lines = LineBook(self.registry.next_id)
        self._md_type = check_market_data_type(self.settings.market_data.market_data_type)
        self._link_lost = False
        self._socket_down = False
        self._broken_farms: set[str] = set()  # market data farms reported broken (quotes degraded)
        self._ticks = 0
        self._gauge = 0
        self._now = time.monotonic
        self._conflate = self.settings.market_data.conflate_callbacks
        self._stop = threading.Event()
        self._monitor: threading.Thread | None = None
        self.history = HistoricalFetcher(ctx, self._request)
        on_price, on_size = self._tick_handler(PRICE_TICKS, _price_value), self._tick_handler(SIZE_TICKS, size_or_none)
        for event, handler in (
            ("tick_price", on_price), ("tick_size", on_size),
            ("tick_string", self._tick_handler(TIMESTAMP_TICKS, _timestamp_value)),
            ("market_data_type", self._on_market_data_type),
            ("realtime_bar", self._on_realtime_bar), ("tick_by_tick_all_last", self._on_tbt_last),
            ("tick_by_tick_bid_ask", self._on_tbt_bid_ask), ("tick_by_tick_mid_point", self._on_tbt_mid),
            ("error", self._on_error), ("ib_link", self._on_ib_link), ("disconnected", self._on_disconnected),
            ("reconnected", self._on_reconnected), ("data_farm", self._on_data_farm),
        ):
            self._on(event, handler)
        self.sink: QuoteSink | None = None
        if self._conflate:  # the sink delivers conflated quotes only
            self.sink = QuoteSink(self.lines, self._settle_segment, self._queue_delivery)
            self.ctx.wrapper.install_quote_sink(self.sink, on_price, on_size)

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Send the configured market data type, replay kept subscriptions, start the monitor."""
        self._socket_down = False
        self._stop.clear()
        self._send_market_data_type()
        self._resubscribe(self.lines.all(), cancel_old=False)
        if self._monitor is None or not self._monitor.is_alive():
            self._monitor = threading.Thread(target=self._monitor_loop, name="pa-md-monitor", daemon=True)
            self._monitor.start()

    def stop(self) -> None:
        """Cancel every line at IB (the records stay and are replayed by the next ``start``)."""
        self._stop.set()
        try:
            client = self._client()
        except NotConnected:
            return
        for sub in self.lines.all():
            cancel_line(client, sub.kind, sub.req_id)

    # --- quotes -------------------------------------------------------------------------------
    def subscribe_quotes(self, symbols: Any, callback: Callback, on_error: Callback | None = None) -> None:
        """Stream quotes: ``callback(symbol, quote)`` on every update (conflated per symbol by default).

        A symbol already subscribed gets the extra callback on its existing line. Contracts are
        resolved first (``ContractNotFound`` before anything is subscribed); the line cap
        ``max_simultaneous_subscriptions`` raises :class:`SubscriptionLimitExceeded`, and so does
        IB's 101 (max number of tickers) for the lines of this call (the refused lines are not
        kept; the lines IB accepted stay). ``on_error(symbol, exc)`` hears about IB errors on the
        line later on (a 101 then as :class:`SubscriptionLimitExceeded`).
        """
        check_callback(callback)
        err = check_callback(on_error, "on_error", optional=True)
        specs = check_specs(symbols)
        self._client()
        infos = [self.contracts.resolve(spec) for spec in specs]
        new = self._reserve([(SubKind.QUOTES, info, {}) for info in infos], callback, err)
        self._send_new(new)

    def unsubscribe_quotes(self, symbols: Any, callback: Callback | None = None) -> None:
        """Remove ``callback`` (or every callback); the IB line is cancelled when none is left."""
        keys = [(SubKind.QUOTES, spec.key, "") for spec in check_specs(symbols)]
        self._unsubscribe(keys, callback, "symbols")

    def get_quote(self, symbol: Any) -> Quote:
        """The latest quote of a subscribed symbol (all fields ``None`` until IB sends data)."""
        key = to_spec(symbol).key
        sub = self.lines.get((SubKind.QUOTES, key, ""))
        stale = sub is not None and (sub.stale or self._is_overdue(sub, self._now()))
        cached = self.state.get_quote(key)
        if sub is None:
            if cached is None:
                raise ValidationError("symbol", symbol, "is not subscribed; call subscribe_quotes first")
            return cached
        if cached is None:
            return Quote(symbol=key, stale=stale, market_data_type=sub.market_data_type, degraded=sub.degraded)
        return stale_copy(cached, stale or cached.stale)

    # --- historical -----------------------------------------------------------------------------
    def get_historical_data(self, symbol: Any, duration: str, bar_size: str, what_to_show: str = "TRADES",
                            use_rth: bool = True, end: Any = None, *, progress: Progress | None = None,
                            max_chunk: str | None = None, timeout: float | None = None) -> pd.DataFrame:
        """Historical bars as a DataFrame: UTC ``DatetimeIndex`` named ``time`` and columns
        ``open, high, low, close, volume, wap, bar_count`` (NaN/NA where IB has no value).

        ``duration`` is IB's ``"N S|D|W|M|Y"``, ``bar_size`` one of IB's bar sizes, ``end`` a
        tz-aware datetime (None = now). Longer than one IB request allows (IB's step table, or
        ``max_chunk``) is fetched in chunks walking backwards and joined without gaps or
        duplicates; ``progress(done, total)`` is called after each request. Daily and longer bars
        are stamped 00:00 UTC of their session date. IB's "no data" gives an empty frame. Every
        request is paced by IB's historical rules (waits are logged); ``timeout`` bounds the total
        time, None waits as long as pacing demands.
        """
        return self.history.fetch(symbol, duration, bar_size, what_to_show, use_rth, end, progress=progress,
                                  max_chunk=max_chunk, timeout=timeout)

    # --- real-time bars ---------------------------------------------------------------------------
    def subscribe_real_time_bars(self, symbol: Any, callback: Callback, what_to_show: str = "TRADES",
                                 use_rth: bool = False, on_error: Callback | None = None) -> None:
        """Stream 5-second bars: ``callback(symbol, bar)`` with a :class:`Bar` (UTC start time)."""
        check_callback(callback)
        err = check_callback(on_error, "on_error", optional=True)
        wts = check_what_to_show(what_to_show, REAL_TIME_BAR_WHAT_TO_SHOW)
        if not isinstance(use_rth, bool):
            raise ValidationError("use_rth", use_rth, "must be True or False")
        spec = to_spec(symbol)
        self._client()
        info = self.contracts.resolve(spec)
        self._send_new(self._reserve([(SubKind.BARS, info, {"what_to_show": wts, "use_rth": use_rth})],
                                     callback, err))

    def unsubscribe_real_time_bars(self, symbol: Any, callback: Callback | None = None,
                                   what_to_show: str | None = None) -> None:
        """Stop real-time bars of ``symbol`` (one ``what_to_show`` or all of them)."""
        key = to_spec(symbol).key
        wts = None if what_to_show is None else check_what_to_show(what_to_show, REAL_TIME_BAR_WHAT_TO_SHOW)
        self._unsubscribe(self._matching(SubKind.BARS, key, wts, symbol), callback, "symbol")

    # --- tick-by-tick ------------------------------------------------------------------------------
    def subscribe_tick_by_tick(self, symbol: Any, kind: TickByTickKind | str, callback: Callback,
                               on_error: Callback | None = None) -> None:
        """Stream IB tick-by-tick data (``Last``, ``AllLast``, ``BidAsk``, ``MidPoint``):
        ``callback(symbol, tick)`` with a :class:`TickByTick` for every tick."""
        tbt = check_tbt_kind(kind)
        check_callback(callback)
        err = check_callback(on_error, "on_error", optional=True)
        spec = to_spec(symbol)
        self._client()
        info = self.contracts.resolve(spec)
        self._send_new(self._reserve([(SubKind.TICKS, info, {"tbt_kind": tbt})], callback, err))

    def unsubscribe_tick_by_tick(self, symbol: Any, kind: TickByTickKind | str | None = None,
                                 callback: Callback | None = None) -> None:
        """Stop tick-by-tick data of ``symbol`` (one kind or all of them)."""
        key = to_spec(symbol).key
        tbt = None if kind is None else check_tbt_kind(kind).value
        self._unsubscribe(self._matching(SubKind.TICKS, key, tbt, symbol), callback, "symbol")

    # --- market data type -----------------------------------------------------------------------------
    @property
    def market_data_type(self) -> MarketDataType:
        return self._md_type

    def set_market_data_type(self, value: MarketDataType | str | int) -> None:
        """``live``, ``frozen``, ``delayed`` or ``delayed_frozen`` for requests from now on."""
        self._md_type = check_market_data_type(value)
        self._send_market_data_type()

    def _send_market_data_type(self) -> None:
        try:
            self._client().reqMarketDataType(int(self._md_type))
        except NotConnected:
            logger.debug("market data type {} kept for the next connect", self._md_type.name)

    # --- introspection ------------------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """Lines in use per kind, failed lines and the cap."""
        subs = self.lines.all()
        out: dict[str, Any] = {k.value: sum(1 for s in subs if s.kind is k and s.active) for k in SubKind}
        out["lines"] = sum(1 for s in subs if s.active)
        out["failed"] = sum(1 for s in subs if not s.active)
        out["max_lines"] = self.settings.market_data.max_simultaneous_subscriptions
        return out

    def subscription_errors(self) -> dict[str, Exception]:
        """Lines that failed at IB, by ``kind:symbol``."""
        return {f"{s.kind.value}:{s.key}": s.failed for s in self.lines.all() if s.failed is not None}

    # --- bookkeeping -----------------------------------------------------------------------------------------
    def _reserve(self, wanted: list[Want], callback: Callback, on_error: Callback | None) -> list[Subscription]:
        with self.lines.lock:  # the farm state cannot change in between
            new = self.lines.reserve(wanted, callback, on_error,
                                     self.settings.market_data.max_simultaneous_subscriptions, self._now(),
                                     market_data_type=self._md_type, degraded=bool(self._broken_farms))
        self._update_gauge()
        return new

    def _send_new(self, subs: list[Subscription]) -> None:
        for sub in subs:
            sub.confirming = True
            try:
                send_line(self._client(), sub)
            except Exception:
                self._drop([sub])
                raise
            logger.info("subscribed {} {} (req {})", sub.kind.value, sub.key, sub.req_id)
        self._confirm(subs)

    def _confirm(self, subs: list[Subscription]) -> None:
        """Wait one round trip for IB's answer to the new lines: the lines IB refused with 101 are
        dropped and the call raises SubscriptionLimitExceeded; later errors go to ``on_error``."""
        if not subs:
            return
        try:
            answered = self.connection.round_trip(self.settings.ib_connection.request_timeout)
        except NotConnected:
            answered = False  # the lines are requested again after the reconnect
        refused: list[Subscription] = []
        errors: list[SubscriptionLimitExceeded] = []
        with self.lines.lock:
            for sub in subs:
                sub.confirming = False
                if isinstance(sub.failed, SubscriptionLimitExceeded):
                    refused.append(sub)
                    errors.append(sub.failed)
        if not answered:
            logger.warning("no answer from IB to {} new market data line(s) yet; IB's errors go to on_error",
                           len(subs))
        if refused:
            self._drop(refused)
            keys = tuple(sub.key for sub in refused)
            raise SubscriptionLimitExceeded(
                f"{errors[0]} for {', '.join(keys)}: close other market data lines of this account first",
                errors[0].code, keys)

    def _matching(self, kind: SubKind, key: str, variant: str | None, value: Any) -> list[MapKey]:
        keys = self.lines.matching(kind, key, variant)
        if not keys:
            raise ValidationError("symbol", value, f"has no {kind.value} subscription")
        return keys

    def _unsubscribe(self, keys: list[MapKey], callback: Callback | None, field: str) -> None:
        if callback is not None:
            check_callback(callback)
        self._drop(self.lines.release(keys, callback, field), cancel=True)

    def _drop(self, subs: list[Subscription], cancel: bool = False) -> None:
        self.lines.remove(subs)
        for sub in subs:
            if sub.kind is SubKind.QUOTES:
                self.state.clear_quote(sub.key)
            if cancel and sub.active:
                try:
                    cancel_line(self._client(), sub.kind, sub.req_id)
                except NotConnected:
                    pass
                logger.info("unsubscribed {} {}", sub.kind.value, sub.key)
        self._update_gauge()

    def _update_gauge(self) -> None:
        lines = self.lines.active_count()
        with self.lines.lock:
            delta, self._gauge = lines - self._gauge, lines
        if delta:
            self.metrics.incr("md_active_subscriptions", delta)

    # --- dispatcher-thread handlers: quotes -------------------------------------------------------------
    def _tick_handler(self, names: dict[int, str], convert: Callable[[Any], Any]) -> Callable[..., None]:
        """The dispatcher-thread handler of one tick event (price, size or string): store the value
        in its line's live state (one dict store, no Quote built); queue a delivery unless one is
        queued already (conflated) or, with conflation off, queue this tick's snapshot for every
        callback. Everything it needs per tick is bound here once."""
        field_of = names.get
        lock = self.lines.lock
        line_of = self.lines.index.get
        wall = time.time
        conflate = self._conflate
        submit_task = self.events.submit_task
        flush = self._flush_quote
        settle = self._settle_line

        def on_tick(req_id: int, tick_type: int, raw: Any, _attrib: Any = None) -> None:
            name = field_of(tick_type)
            if name is None:
                return
            value = convert(raw)
            if value is _SKIP:
                return
            with lock:
                sub = line_of(req_id)
                if sub is None or sub.kind is not _QUOTES:
                    return
                sub.fields[name] = value
                queue, fresh = settle(sub, 1, self._now(), wall())
                if not conflate:
                    quote = sub.snapshot()
                    callbacks = tuple(sub.callbacks)
            if fresh:
                logger.info("quote {} is fresh again", sub.key)
            if queue:
                submit_task(flush, sub)
            elif not conflate:
                for cb in callbacks:
                    self.events.submit(cb, sub.key, quote)

        return on_tick

    def _settle_line(self, sub: Subscription, n: int, now: float, wall: float) -> tuple[bool, bool]:
        """Book ``n`` ticks just stored in a quote line (LineBook lock held): timestamps, counters,
        the stale flag, the cached quote. Returns (queue a conflated delivery, fresh again)."""
        sub.last_update = now
        sub.wall = wall
        sub.updates += n
        sub.snap = None
        if sub.stream_retries:
            sub.stream_retries = 0
        was_stale = sub.stale
        stale = sub.stale = self._link_lost or self._socket_down
        self._ticks += n
        if not sub.published:
            sub.published = True
            self.state.set_quote_source(sub.key, sub)
        queue = False
        if self._conflate:
            if sub.pending:
                sub.skipped += n
            else:
                sub.pending = queue = True
                sub.skipped += n - 1
        return queue, was_stale and not stale

    def _settle_segment(self, touched: dict[Subscription, int]) -> list[Subscription]:
        """The quote sink's segment end (LineBook lock held): settle each line it touched; return
        those whose conflated delivery must be queued."""
        now, wall = self._now(), time.time()
        queue = []
        for sub, n in touched.items():
            queued, fresh = self._settle_line(sub, n, now, wall)
            if fresh:
                logger.info("quote {} is fresh again", sub.key)
            if queued:
                queue.append(sub)
        return queue

    def _queue_delivery(self, sub: Subscription) -> None:
        self.events.submit_task(self._flush_quote, sub)

    def _flush_quote(self, sub: Subscription) -> None:
        """Event thread: deliver the line's latest quote to each of its callbacks (conflated)."""
        with sub.lock:
            sub.pending = False
            quote = sub.snapshot()
            callbacks = tuple(sub.callbacks)
            skipped, sub.skipped = sub.skipped, 0
        self.events.conflated += skipped * len(callbacks)  # ticks merged into this delivery, per callback
        call = self.events.call
        for cb in callbacks:
            call(cb, sub.key, quote)

    def _publish(self, sub: Subscription, quote: Quote, callbacks: tuple[Callback, ...]) -> None:
        """A state change outside a tick (stale flag): cache the line and deliver ``quote``."""
        with sub.lock:
            if not sub.published:
                sub.published = True
                self.state.set_quote_source(sub.key, sub)
            queue = self._conflate and not sub.pending
            if queue:
                sub.pending = True
        if self._conflate:
            if queue:
                self.events.submit_task(self._flush_quote, sub)
            return
        for cb in callbacks:
            self.events.submit(cb, sub.key, quote)

    def _on_market_data_type(self, req_id: int, md_type: int) -> None:
        with self.lines.lock:
            sub = self.lines.by_req(req_id)
            if sub is not None and 1 <= md_type <= 4:
                sub.market_data_type = MarketDataType(md_type)

    # --- dispatcher-thread handlers: bars and tick-by-tick ---------------------------------------------
    def _stream(self, req_id: int, kind: SubKind) -> Subscription | None:
        with self.lines.lock:
            sub = self.lines.by_req(req_id)
            if sub is None or sub.kind is not kind:
                return None
            sub.touch(self._now())
            sub.stream_retries = 0
            self._ticks += 1
            return sub

    def _fan_out(self, sub: Subscription, item: Any) -> None:
        for cb in tuple(sub.callbacks):
            self._notify(cb, sub.key, item)

    def _on_realtime_bar(self, req_id: int, t: int, open_: float, high: float, low: float, close: float,
                         volume: Any, wap: Any, count: int) -> None:
        sub = self._stream(req_id, SubKind.BARS)
        if sub is not None:
            bar = Bar(sub.key, utc_from_epoch(int(t)), float(open_), float(high), float(low), float(close),
                      _decimal(volume), _decimal(wap), int(count))
            self._fan_out(sub, bar)

    def _on_tbt_last(self, req_id: int, _tick_type: int, t: int, price: float, size: Any, _attrib: Any,
                     exchange: str, _special: str) -> None:
        sub = self._stream(req_id, SubKind.TICKS)
        if sub is not None:
            kind = sub.tbt_kind or TickByTickKind.LAST
            self._fan_out(sub, TickByTick(sub.key, kind, utc_from_epoch(int(t)), price=float(price),
                                          size=size_or_none(size), exchange=exchange or None))

    def _on_tbt_bid_ask(self, req_id: int, t: int, bid: float, ask: float, bid_size: Any, ask_size: Any,
                        _attrib: Any) -> None:
        sub = self._stream(req_id, SubKind.TICKS)
        if sub is not None:
            self._fan_out(sub, TickByTick(sub.key, TickByTickKind.BID_ASK, utc_from_epoch(int(t)), bid=float(bid),
                                          ask=float(ask), bid_size=size_or_none(bid_size),
                                          ask_size=size_or_none(ask_size)))

    def _on_tbt_mid(self, req_id: int, t: int, mid: float) -> None:
        sub = self._stream(req_id, SubKind.TICKS)
        if sub is not None:
            self._fan_out(sub, TickByTick(sub.key, TickByTickKind.MID_POINT, utc_from_epoch(int(t)), mid=float(mid)))

    # --- errors for subscription request ids ---------------------------------------------------------------
    def _on_error(self, req_id: int, code: int, message: str, _advanced: str) -> None:
        if req_id < 0:
            return
        sub = self.lines.by_req(req_id)
        if sub is None:
            return
        if code in ib_codes.CANCEL_NOISE:
            logger.debug("IB {} for {} {}: {}", code, sub.kind.value, sub.key, message)
            return
        if code in ib_codes.DELAYED_DATA_NOTICE:
            logger.info("IB {}: {} shows delayed data ({})", code, sub.key, message)
            sub.market_data_type = MarketDataType.DELAYED
            return
        if ib_codes.is_notice(code):
            logger.info("IB {} for {} {}: {}", code, sub.kind.value, sub.key, message)
            return
        if code in ib_codes.PARTLY_SUBSCRIBED:  # the rest keeps flowing (no delayed data either)
            logger.warning("IB {}: {} partly unsubscribed, the line stays: {}", code, sub.key, message)
            return
        if code in ib_codes.CONNECTION_FAILURE:  # ibapi did not send it: the link is down
            logger.warning("IB {}: {} {} is requested again after the reconnect", code, sub.kind.value, sub.key)
            return
        if code in ib_codes.NOT_SUBSCRIBED and sub.kind is SubKind.QUOTES and \
                self.settings.market_data.delayed_fallback and not sub.fallback_done:
            sub.fallback_done = True
            logger.warning("IB {}: no live data for {} ({}); re-requesting it as delayed data", code, sub.key, message)
            self._spawn(self._fallback_delayed, sub)
            return
        if code in ib_codes.STREAM_DISCONNECTED and sub.stream_retries < MAX_STREAM_RETRIES:
            sub.stream_retries += 1
            logger.warning("IB {}: {} stream {} failed ({}); resubscribing", code, sub.kind.value, sub.key, message)
            self._spawn(self._resubscribe, [sub], True)
            return
        if code in ib_codes.DUPLICATE_TICKER:
            logger.error("IB {}: duplicate ticker id {} for {} (a bug): {}", code, req_id, sub.key, message)
        elif code in ib_codes.COMPETING_SESSION:
            logger.error("IB {}: competing live session; {} {} stops: {}", code, sub.kind.value, sub.key, message)
        self._fail(sub, code, message)

    def _fail(self, sub: Subscription, code: int, message: str) -> None:
        error: Exception
        if code in ib_codes.NO_SECURITY_DEFINITION:
            error = ContractNotFound(f"IB {code}: {message}")
        elif code in ib_codes.TOO_MANY_LINES:
            error = SubscriptionLimitExceeded(f"IB {code}: {message}", code, (sub.key,))
        else:
            error = IBError(code, message, sub.req_id)
        with self.lines.lock:
            if not self.lines.fail(sub, error):
                return
            raised = sub.confirming and isinstance(error, SubscriptionLimitExceeded)  # by the subscribe call
        handlers = () if raised else tuple(sub.on_error)
        logger.warning("{} {} failed: IB {}: {}", sub.kind.value, sub.key, code, message)
        self.metrics.incr("md_subscription_errors")
        self._update_gauge()
        for cb in handlers:
            self._notify(cb, sub.key, error)

    @staticmethod
    def _spawn(target: Any, *args: Any) -> None:
        """Run a resubscribe off the dispatcher (sending may wait on the message pacing)."""
        threading.Thread(target=target, args=args, name="pa-md-resubscribe", daemon=True).start()

    def _fallback_delayed(self, sub: Subscription) -> None:
        frozen = self._md_type in (MarketDataType.FROZEN, MarketDataType.DELAYED_FROZEN)
        target = MarketDataType.DELAYED_FROZEN if frozen else MarketDataType.DELAYED
        if self._md_type < target:
            self._md_type = target
            self._send_market_data_type()
        sub.market_data_type = target
        self._resubscribe([sub], cancel_old=True)

    def _resubscribe(self, subs: list[Subscription], cancel_old: bool) -> None:
        """Re-request lines with new request ids; the user callbacks stay as they are."""
        moved = self.lines.renew_ids(subs, self._now())
        if not moved:
            return
        try:
            client = self._client()
        except NotConnected:
            return
        for old, sub in moved:
            if cancel_old:
                cancel_line(client, sub.kind, old)
            try:
                send_line(client, sub)
            except Exception:  # noqa: BLE001 - keep replaying the others; the link monitor retries
                logger.opt(exception=True).error("resubscribing {} {} failed", sub.kind.value, sub.key)
        logger.info("resubscribed {} market data line(s)", len(moved))
        self.metrics.incr("md_resubscriptions", len(moved))

    # --- link events and staleness --------------------------------------------------------------------------
    def _on_ib_link(self, state: str) -> None:
        if state == "lost":
            self._link_lost = True
            self._mark_all_stale("IB link lost (1100)")
        elif state == "restored_data_lost":
            self._link_lost = False
            self._spawn(self._resubscribe, self.lines.all(), True)
        elif state == "restored_data_kept":
            self._link_lost = False
            self._refresh_after_link()

    def _on_disconnected(self, _reason: str) -> None:
        self._socket_down = True
        with self.lines.lock:  # the next start-up reports the farms again
            self._broken_farms.clear()
            self.lines.flag_degraded(False)
        if not self._stop.is_set():
            self._mark_all_stale("connection to the gateway lost")

    def _on_reconnected(self) -> None:
        self._socket_down = False
        self._send_market_data_type()
        self._resubscribe(self.lines.all(), cancel_old=False)

    def _on_data_farm(self, code: int, farm: str) -> None:
        """A farm reported broken or OK: while a market data farm is broken every quote is degraded
        (IB names the farm, not the instruments it serves)."""
        if code not in ib_codes.QUOTE_FARM:
            return
        with self.lines.lock:
            if code in ib_codes.FARM_BROKEN:
                self._broken_farms.add(farm)
            else:
                self._broken_farms.discard(farm)
            degraded = bool(self._broken_farms)
            flipped = self.lines.flag_degraded(degraded)
        if flipped and degraded:
            logger.warning("market data farm {} broken: {} quote(s) degraded until it is OK", farm, len(flipped))
        elif flipped:
            logger.info("market data farm {} OK: {} quote(s) no longer degraded", farm, len(flipped))
        for sub, quote, callbacks in flipped:
            self._publish(sub, quote, callbacks)

    def _mark_all_stale(self, why: str) -> None:
        flipped = self.lines.flag_stale(lambda sub: True)
        if flipped:
            logger.warning("{}: {} quote(s) flagged stale", why, len(flipped))
            self.metrics.incr("md_stale_episodes", len(flipped))
        for sub, quote, callbacks in flipped:
            self._publish(sub, quote, callbacks)

    def _refresh_after_link(self) -> None:
        now = self._now()
        fresh = 0
        with self.lines.lock:
            for sub in self.lines.all():
                if sub.kind is SubKind.QUOTES and sub.stale and sub.updates and not self._is_overdue(sub, now):
                    sub.stale = False  # the cached quote (the live line) reads fresh from now on
                    fresh += 1
        logger.info("IB link restored with data kept; {} quote(s) fresh", fresh)

    def _is_overdue(self, sub: Subscription, now: float) -> bool:
        return now - max(sub.started, sub.last_update) > self.settings.market_data.stale_after_seconds

    def check_stale(self) -> int:
        """Flag quotes without an update for ``stale_after_seconds`` (WARNING once per episode);
        return how many went stale now. Runs periodically on the monitor thread."""
        now = self._now()
        flipped = self.lines.flag_stale(lambda sub: self._is_overdue(sub, now))
        for sub, quote, callbacks in flipped:
            logger.warning("quote {} is stale: no update for {:.1f}s", sub.key, now - max(sub.started, sub.last_update))
            self.metrics.incr("md_stale_episodes")
            self._publish(sub, quote, callbacks)
        return len(flipped)

    def _monitor_loop(self) -> None:
        interval = min(1.0, max(0.01, self.settings.market_data.stale_after_seconds / 4))
        last = self._now()
        while not self._stop.wait(interval):
            self.check_stale()
            now = self._now()
            with self.lines.lock:
                ticks, self._ticks = self._ticks, 0
            if ticks:
                self.metrics.incr("md_ticks", ticks)
            self.metrics.observe("md_update_frequency", ticks / max(now - last, 1e-6))
            last = now
