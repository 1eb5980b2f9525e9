"""The market-data handler (``core/handlers.py``) of the MarketDataAdapter: quotes, bars and
tick-by-tick data applied to their lines, IB's errors for the lines, and the answers of the
adapter's pending requests (history, contract details).

Everything here runs on the decoding thread; user callbacks are queued for the event thread. A
tick updates its line's live state (one stored value per tick; the frozen ``Quote`` is built only
when it is read or delivered). A run of quote ticks from the fast paths goes to the quote sink
(``adapters/market/quote_sink.py``) when quote callbacks are conflated, and tick by tick otherwise.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from platform_adapter.adapters.market.greeks import option_greeks
from platform_adapter.adapters.market.quote_sink import QuoteSink
from platform_adapter.adapters.market.subscriptions import SubKind, Subscription, size_or_none
from platform_adapter.core import ib_codes
from platform_adapter.core.events import Guarded
from platform_adapter.core.handlers import MarketDataHandler, QuoteTick, expand_quote_ticks
from platform_adapter.core.tick_types import GREEKS_TICKS, NO_PRICE, PRICE_TICKS, SIZE_TICKS, TIMESTAMP_TICKS
from platform_adapter.errors import ContractNotFound, IBError, PacingViolation, SubscriptionLimitExceeded
from platform_adapter.log import logger
from platform_adapter.models.market_data import Bar, MarketDataType, TickByTick, TickByTickKind, utc_from_epoch

if TYPE_CHECKING:
    from platform_adapter.adapters.market_data import MarketDataAdapter

_QUOTES = SubKind.QUOTES
_SKIP = object()  # marker: a tick value that is not stored (an unparsable timestamp)
MAX_STREAM_RETRIES = 3  # consecutive 10182 answers for one line before it is marked failed


def _price_value(price: Any) -> float | None:
    return None if price is None or price == NO_PRICE else float(price)


def _timestamp_value(value: Any) -> Any:
    try:
        return utc_from_epoch(int(value))
    except (TypeError, ValueError, OverflowError):
        return _SKIP


def _decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


class MarketDataEvents(MarketDataHandler):
    """The MarketDataAdapter's handler; ``ticks`` counts stored tick values (read and reset by the
    adapter's monitor under the LineBook's lock)."""

    def __init__(self, md: MarketDataAdapter) -> None:
        self.md = md
        self.lines = md.lines
        self.registry = md.registry
        self.ticks = 0
        self._conflate = md.settings.market_data.conflate_callbacks
        self._on_price = self._tick_handler(PRICE_TICKS, _price_value)
        self._on_size = self._tick_handler(SIZE_TICKS, size_or_none)
        self._on_stamp = self._tick_handler(TIMESTAMP_TICKS, _timestamp_value)
        self._on_greeks = self._tick_handler(GREEKS_TICKS, lambda greeks: greeks)
        self.sink = QuoteSink(self.lines, self._settle_run, self._queue_delivery) if self._conflate else None

    # --- quotes -----------------------------------------------------------------------------------
    def tick_price(self, req_id: int, tick_type: int, price: float, attrib: Any) -> None:
        self._on_price(req_id, tick_type, price)

    def tick_size(self, req_id: int, tick_type: int, size: Decimal) -> None:
        self._on_size(req_id, tick_type, size)

    def tick_string(self, req_id: int, tick_type: int, value: str) -> None:
        self._on_stamp(req_id, tick_type, value)

    def tick_option_computation(self, req_id: int, tick_type: int, tick_attrib: int | None,
                                implied_vol: float | None, delta: float | None, option_price: float | None,
                                pv_dividend: float | None, gamma: float | None, vega: float | None,
                                theta: float | None, underlying_price: float | None) -> None:
        if tick_type in GREEKS_TICKS:  # not calculateImpliedVolatility/OptionPrice's results (53)
            self._on_greeks(req_id, tick_type, option_greeks(implied_vol, delta, option_price, pv_dividend,
                                                             gamma, vega, theta, underlying_price))

    def quote_ticks(self, ticks: Sequence[QuoteTick]) -> None:
        if self.sink is not None:
            self.sink.apply(ticks)  # conflated delivery: one settlement per line and run
        else:
            expand_quote_ticks(self, ticks)

    def _tick_handler(self, names: dict[int, str], convert: Callable[[Any], Any]) -> Callable[[int, int, Any], None]:
        """The handler of one tick kind (price, size or string): store the value in its line's live
        state (one dict store, no Quote built); queue a delivery unless one is queued already
        (conflated) or, with conflation off, queue this tick's snapshot for every callback.
        Everything it needs per tick is bound here once."""
        md = self.md
        field_of = names.get
        lock = self.lines.lock
        line_of = self.lines.index.get
        wall = time.time
        conflate = self._conflate
        submit_task = md.events.submit_task
        flush = md._flush_quote
        settle = self._settle_line

        def on_tick(req_id: int, tick_type: int, raw: Any) -> None:
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
                queue, fresh = settle(sub, 1, md._now(), wall())
                if not conflate:
                    quote = sub.snapshot()
                    callbacks = tuple(sub.callbacks)
            if fresh:
                logger.info("quote {} is fresh again", sub.key)
            if queue:
                submit_task(flush, sub)
            elif not conflate:
                for cb in callbacks:
                    md.events.submit(Guarded(sub, cb), sub.key, quote)

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
        stale = sub.stale = self.md._link_lost or self.md._socket_down
        self.ticks += n
        if not sub.published:
            sub.published = True
            self.md.state.set_quote_source(sub.key, sub)
        queue = False
        if self._conflate:
            if sub.pending:
                sub.skipped += n
            else:
                sub.pending = queue = True
                sub.skipped += n - 1
        return queue, was_stale and not stale

    def _settle_run(self, touched: dict[Subscription, int]) -> list[Subscription]:
        """The quote sink's settlement of a run (LineBook lock held): settle each line it touched;
        return those whose conflated delivery must be queued."""
        now, wall = self.md._now(), time.time()
        queue = []
        for sub, n in touched.items():
            queued, fresh = self._settle_line(sub, n, now, wall)
            if fresh:
                logger.info("quote {} is fresh again", sub.key)
            if queued:
                queue.append(sub)
        return queue

    def _queue_delivery(self, sub: Subscription) -> None:
        self.md.events.submit_task(self.md._flush_quote, sub)

    def market_data_type(self, req_id: int, market_data_type: int) -> None:
        with self.lines.lock:
            sub = self.lines.by_req(req_id)
            if sub is not None and 1 <= market_data_type <= 4:
                sub.market_data_type = MarketDataType(market_data_type)

    # --- bars and tick-by-tick ---------------------------------------------------------------------
    def _stream(self, req_id: int, kind: SubKind) -> Subscription | None:
        with self.lines.lock:
            sub = self.lines.by_req(req_id)
            if sub is None or sub.kind is not kind:
                return None
            sub.touch(self.md._now())
            sub.stream_retries = 0
            self.ticks += 1
            return sub

    def _fan_out(self, sub: Subscription, item: Any) -> None:
        for cb in tuple(sub.callbacks):
            self.md.events.submit(Guarded(sub, cb), sub.key, item)

    def realtime_bar(self, req_id: int, time: int, open_: float, high: float, low: float, close: float,
                     volume: Decimal, wap: Decimal, count: int) -> None:
        sub = self._stream(req_id, SubKind.BARS)
        if sub is not None:
            bar = Bar(sub.key, utc_from_epoch(int(time)), float(open_), float(high), float(low), float(close),
                      _decimal(volume), _decimal(wap), int(count))
            self._fan_out(sub, bar)

    def tick_by_tick_all_last(self, req_id: int, tick_type: int, time: int, price: float, size: Decimal,
                              attrib: Any, exchange: str, special_conditions: str) -> None:
        sub = self._stream(req_id, SubKind.TICKS)
        if sub is not None:
            kind = sub.tbt_kind or TickByTickKind.LAST
            self._fan_out(sub, TickByTick(sub.key, kind, utc_from_epoch(int(time)), price=float(price),
                                          size=size_or_none(size), exchange=exchange or None))

    def tick_by_tick_bid_ask(self, req_id: int, time: int, bid_price: float, ask_price: float, bid_size: Decimal,
                             ask_size: Decimal, attrib: Any) -> None:
        sub = self._stream(req_id, SubKind.TICKS)
        if sub is not None:
            self._fan_out(sub, TickByTick(sub.key, TickByTickKind.BID_ASK, utc_from_epoch(int(time)),
                                          bid=float(bid_price), ask=float(ask_price),
                                          bid_size=size_or_none(bid_size), ask_size=size_or_none(ask_size)))

    def tick_by_tick_mid_point(self, req_id: int, time: int, mid_point: float) -> None:
        sub = self._stream(req_id, SubKind.TICKS)
        if sub is not None:
            self._fan_out(sub, TickByTick(sub.key, TickByTickKind.MID_POINT, utc_from_epoch(int(time)),
                                          mid=float(mid_point)))

    # --- pending requests: history, contract details and option chains ------------------------------------------------
    def historical_data(self, req_id: int, bar: Any) -> None:
        self.registry.append(req_id, bar)

    def historical_data_end(self, req_id: int, start: str, end: str) -> None:
        self.registry.finish(req_id)

    def contract_details(self, req_id: int, details: Any) -> None:
        self.registry.append(req_id, details)

    def contract_details_end(self, req_id: int) -> None:
        self.registry.finish(req_id)

    def option_chain(self, req_id: int, exchange: str, underlying_con_id: int, trading_class: str, multiplier: str,
                     expirations: Any, strikes: Any) -> None:
        self.registry.append(req_id, (exchange, underlying_con_id, trading_class, multiplier, expirations, strikes))

    def option_chain_end(self, req_id: int) -> None:
        self.registry.finish(req_id)

    # --- errors for the lines ------------------------------------------------------------------------
    def owns_request(self, req_id: int) -> bool:
        return req_id in self.lines.index

    def error(self, req_id: int, code: int, message: str, advanced: str) -> None:
        md = self.md
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
                md.settings.market_data.delayed_fallback and not sub.fallback_done:
            sub.fallback_done = True
            logger.warning("IB {}: no live data for {} ({}); re-requesting it as delayed data", code, sub.key, message)
            _spawn(md._fallback_delayed, sub)
            return
        if code in ib_codes.STREAM_DISCONNECTED and sub.stream_retries < MAX_STREAM_RETRIES:
            sub.stream_retries += 1
            logger.warning("IB {}: {} stream {} failed ({}); resubscribing", code, sub.kind.value, sub.key, message)
            _spawn(md._resubscribe, [sub], True)
            return
        if code in ib_codes.REAL_TIME_QUERY_INVALID and ib_codes.historical_pacing(message) and \
                sub.kind is SubKind.BARS:
            self._refused_for_pacing(sub, code, message)
            return
        if code in ib_codes.DUPLICATE_TICKER:
            logger.error("IB {}: duplicate ticker id {} for {} (a bug): {}", code, req_id, sub.key, message)
        elif code in ib_codes.COMPETING_SESSION:
            logger.error("IB {}: competing live session; {} {} stops: {}", code, sub.kind.value, sub.key, message)
        self._fail(sub, code, message)

    def _refused_for_pacing(self, sub: Subscription, code: int, message: str) -> None:
        """IB refused a new real-time bar line for pacing (420): its ten-minute count is fuller than
        the pacer's. New bar lines and small-bar history are held for the window
        (:meth:`HistoricalPacer.stream_violated`). A line its subscribe call still waits for fails
        there (the call raises PacingViolation and keeps no line); any other (a reconnect's replay,
        a resubscribe) is held and sent again when the hold ends, not reported to ``on_error``."""
        hold = self.md.ctx.historical.stream_violated()
        self.md.metrics.incr("md_real_time_bar_pacing_violations")
        with self.lines.lock:
            if sub.confirming:
                self.lines.fail(sub, PacingViolation(
                    f"IB {code}: {message}; new real-time bar and small-bar history requests are held for "
                    f"{hold:.0f}s", code))
                return
        logger.warning("IB {}: real-time bars {} refused for pacing ({}); new real-time bar lines and small-bar "
                       "history requests wait {:.0f}s, then the line is requested again", code, sub.key, message,
                       hold)
        _spawn(self.md._resubscribe, [sub], False)

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
        self.md.metrics.incr("md_subscription_errors")
        for cb in handlers:  # not once the line is let go of (unsubscribed) meanwhile
            self.md.events.submit(Guarded(sub, cb, "on_error"), sub.key, error)


def _spawn(target: Any, *args: Any) -> None:
    """Run a resubscribe off the decoding thread (sending may wait on the message pacing)."""
    threading.Thread(target=target, args=args, name="pa-md-resubscribe", daemon=True).start()
