"""Market data adapter (spec 2.2.2, 6.2, 7.1, 7.3): quotes, historical bars, real-time bars and
tick-by-tick data, with the market data type, stale-data detection and replay after reconnects.

Every streaming line is a :class:`Subscription` record: ticks update it on the decoding thread
through the adapter's market-data handler (``adapters/market/events.py``; the record is the
live quote state, which the StateManager serves as the symbol's cached quote; the frozen
:class:`Quote` is built only when it is read or delivered), and user callbacks run on the event
thread (quote callbacks conflated per line unless ``market_data.conflate_callbacks`` is off: a
queued delivery reads the latest state when it runs). The lifecycle steps (``start``,
``restore``, ``resubscribe_all``, ``link_lost``, ``link_restored``, ``socket_lost``,
``data_farm``) are run by ``core/lifecycle.py`` in its order. The stream watchdog
(``adapters/market/watchdog.py``) judges every stream's silence on a thread of its own.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pandas as pd
from ibapi.errors import UPDATE_TWS
from ibapi.server_versions import MIN_SERVER_VER_TICK_BY_TICK_IGNORE_SIZE

from platform_adapter.adapters.base_adapter import AdapterContext, BaseAdapter
from platform_adapter.adapters.contracts import to_spec
from platform_adapter.adapters.market.events import MarketDataEvents
from platform_adapter.adapters.market.historical import HistoricalFetcher, Progress
from platform_adapter.adapters.market.lines import LineBook, MapKey, Reservation, Want, cancel_line, send_line
from platform_adapter.adapters.market.subscriptions import (
    Callback,
    SubKind,
    Subscription,
    bar_lines_of,
    check_bar_line,
    check_specs,
    stale_copy,
    tick_lines_of,
)
from platform_adapter.adapters.market.watchdog import StreamWatchdog
from platform_adapter.core import ib_codes
from platform_adapter.core.events import Guarded
from platform_adapter.core.metrics import STALE_EPISODES, TICKS
from platform_adapter.errors import IBError, NotConnected, PacingViolation, SubscriptionLimitExceeded, ValidationError
from platform_adapter.log import logger
from platform_adapter.models.market_data import MarketDataType, Quote, TickByTickKind
from platform_adapter.utils.validators import check_callback, check_market_data_type, check_tbt_kind

QUOTE_NOT_SUBSCRIBED = "is not subscribed; call subscribe_quotes first"  # get_quote's reason (the remote's too)


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
        self._now = time.monotonic
        self._conflate = self.settings.market_data.conflate_callbacks
        self._stop = threading.Event()
        self._monitor: threading.Thread | None = None
        self.history = HistoricalFetcher(ctx, self._request)
        self.handler = MarketDataEvents(self)
        self.watchdog = StreamWatchdog(self.lines, lambda reason: self.connection.probe(reason),
                                       lambda subs: self._resubscribe(subs, cancel_old=True),
                                       self.settings.monitoring.stream_silence_min_seconds, lambda: self._now(),
                                       lambda: not (self._socket_down or self._link_lost))
        self._watching: threading.Thread | None = None

    # --- lifecycle steps (core/lifecycle.py) -----------------------------------------------------
    def start(self) -> None:
        """Send the configured market data type, replay kept subscriptions, start the monitor."""
        self._socket_down = False
        self._stop.clear()
        self._send_market_data_type()
        self._resubscribe(self.lines.all(), cancel_old=False)
        if self._monitor is None or not self._monitor.is_alive():
            self._monitor = threading.Thread(target=self._monitor_loop, name="pa-md-monitor", daemon=True)
            self._monitor.start()
        if self._watching is None or not self._watching.is_alive():
            self._watching = threading.Thread(target=self.watchdog.run, args=(self._stop,), name="pa-md-watchdog",
                                              daemon=True)
            self._watching.start()

    def restore(self) -> None:
        """After a reconnect: send the market data type and replay every line (new request ids)."""
        self._socket_down = False
        self._send_market_data_type()
        self._resubscribe(self.lines.all(), cancel_old=False)

    def resubscribe_all(self) -> None:
        """IB 1101 (link restored, data lost): request every line again."""
        self._link_lost = False
        self._resubscribe(self.lines.all(), cancel_old=True)

    def link_lost(self) -> None:
        """IB 1100: the gateway lost its link to IB; every quote is stale until it is back."""
        self._link_lost = True
        self._mark_all_stale("IB link lost (1100)")

    def link_restored(self) -> None:
        """IB 1102 (link restored, data kept): quotes updated recently are fresh again."""
        self._link_lost = False
        self._refresh_after_link()

    def socket_lost(self) -> None:
        """The connection to the gateway closed: every quote is stale (unless stopped). A 1100 of
        the closed link ends with it (the next link starts up; its own 1100 comes after this step)."""
        self._socket_down = True
        self._link_lost = False
        self.watchdog.reset()
        with self.lines.lock:  # the next start-up reports the farms again
            self._broken_farms.clear()
            self.lines.flag_degraded(False)
        if not self._stop.is_set():
            self._mark_all_stale("connection to the gateway lost")

    def data_farm(self, code: int, farm: str) -> None:
        """A farm reported broken or OK: while a market data farm is broken every quote is degraded
        (IB names the farm, not the instruments it serves). The stream watchdog hears of every farm."""
        self.watchdog.farm(code, farm)
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
        kept; the lines IB accepted stay). Otherwise a call that raises (``NotConnected`` when the
        link drops part-way) keeps none of its lines and leaves ``callback`` and ``on_error`` on no
        line; lines held before the call stay as they were. ``on_error(symbol, exc)`` hears about
        IB errors on the line later on (a 101 then as :class:`SubscriptionLimitExceeded`).
        """
        check_callback(callback)
        err = check_callback(on_error, "on_error", optional=True)
        specs = check_specs(symbols)
        self._client()
        infos = [self.contracts.resolve(spec) for spec in specs]
        self._send_new(self._reserve([(SubKind.QUOTES, info, {}) for info in infos], callback, err), callback, err)

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
                raise ValidationError("symbol", symbol, QUOTE_NOT_SUBSCRIBED)
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
        request is paced by IB's historical rules for its bar size (waits are logged); one IB
        refuses for pacing all the same is sent again after a hold, the chunks fetched kept.
        ``timeout`` bounds the total time, None waits as long as pacing demands. PacingViolation
        (saying what was fetched) when a wait would pass ``timeout`` or IB refuses a request a
        third time (user guide, "Long history and IB's pacing"). A request failing part-way raises
        with the bars already fetched, the most recent part of the range
        (:class:`~platform_adapter.errors.PartialHistory`).
        """
        return self.history.fetch(symbol, duration, bar_size, what_to_show, use_rth, end, progress=progress,
                                  max_chunk=max_chunk, timeout=timeout)

    # --- real-time bars ---------------------------------------------------------------------------
    def subscribe_real_time_bars(self, symbol: Any, callback: Callback, what_to_show: str = "TRADES",
                                 use_rth: bool = False, on_error: Callback | None = None) -> None:
        """Stream 5-second bars: ``callback(symbol, bar)`` with a :class:`Bar` (UTC start time);
        one IB line per ``what_to_show`` and ``use_rth``.

        A new line is a new request in IB's ten-minute count shared with small-bar history:
        :class:`PacingViolation` (nothing sent, no line kept) when the count is full, while a hold
        after IB refused a request for pacing (162 or 420) lasts (the message says how long), or
        when IB refuses this one (420, which starts such a hold). A line replayed after a
        reconnect waits for room instead (user guide, "Long history and IB's pacing")."""
        check_callback(callback)
        err = check_callback(on_error, "on_error", optional=True)
        spec, wts = check_bar_line(symbol, what_to_show, use_rth)
        self._client()
        info = self.contracts.resolve(spec)
        done = self._reserve([(SubKind.BARS, info, {"what_to_show": wts, "use_rth": use_rth})], callback, err)
        try:  # a new line is a new request in IB's historical ten-minute window
            self.ctx.historical.take_new_streams(len(done.new))
        except PacingViolation:
            self._take_back(done, callback, err)
            raise
        self._send_new(done, callback, err)

    def unsubscribe_real_time_bars(self, symbol: Any, callback: Callback | None = None,
                                   what_to_show: str | None = None) -> None:
        """Stop real-time bars of ``symbol`` (one ``what_to_show`` or all of them; with and without
        ``use_rth``, which are lines of their own)."""
        key, wts = bar_lines_of(symbol, what_to_show)
        self._unsubscribe(self._matching(SubKind.BARS, key, wts, symbol, callback), callback, "symbol")

    # --- tick-by-tick ------------------------------------------------------------------------------
    def subscribe_tick_by_tick(self, symbol: Any, kind: TickByTickKind | str, callback: Callback,
                               on_error: Callback | None = None) -> None:
        """Stream IB tick-by-tick data (``Last``, ``AllLast``, ``BidAsk``, ``MidPoint``):
        ``callback(symbol, tick)`` with a :class:`TickByTick` for every tick. IBError 503 from a
        gateway older than tick-by-tick requests as ibapi sends them (server version 140)."""
        tbt = check_tbt_kind(kind)
        check_callback(callback)
        err = check_callback(on_error, "on_error", optional=True)
        spec = to_spec(symbol)
        self._client()
        version = self.connection.server_version
        if version is not None and version < MIN_SERVER_VER_TICK_BY_TICK_IGNORE_SIZE:  # ibapi refuses it
            raise IBError(UPDATE_TWS.code(), f"the gateway's server version {version} has no tick-by-tick data "
                                             f"(from {MIN_SERVER_VER_TICK_BY_TICK_IGNORE_SIZE})")
        info = self.contracts.resolve(spec)
        self._send_new(self._reserve([(SubKind.TICKS, info, {"tbt_kind": tbt})], callback, err), callback, err)

    def unsubscribe_tick_by_tick(self, symbol: Any, kind: TickByTickKind | str | None = None,
                                 callback: Callback | None = None) -> None:
        """Stop tick-by-tick data of ``symbol`` (one kind or all of them)."""
        key, tbt = tick_lines_of(symbol, kind)
        self._unsubscribe(self._matching(SubKind.TICKS, key, tbt, symbol, callback), callback, "symbol")

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

    def monitoring_metrics(self) -> dict[str, Any]:
        """Spec 9.3 "market data": lines held, tick values stored (total and per second over the
        last minute), missing-tick episodes and quotes stale now."""
        return {
            "active_subscriptions": self.lines.active_count(),
            "market_data_updates_total": self.metrics.count(TICKS),
            "market_data_update_frequency_per_second": round(self.metrics.rate(TICKS), 3),
            "missing_ticks": self.metrics.count(STALE_EPISODES),
            "stale_quotes": sum(1 for q in self.state.get_quotes().values() if q.stale),
        }

    def subscription_errors(self) -> dict[str, Exception]:
        """Lines that failed at IB, by ``kind:symbol``."""
        return {f"{s.kind.value}:{s.key}": s.failed for s in self.lines.all() if s.failed is not None}

    # --- bookkeeping -----------------------------------------------------------------------------------------
    def _reserve(self, wanted: list[Want], callback: Callback, on_error: Callback | None) -> Reservation:
        with self.lines.lock:  # the farm state cannot change in between
            return self.lines.reserve(wanted, callback, on_error,
                                      self.settings.market_data.max_simultaneous_subscriptions, self._now(),
                                      market_data_type=self._md_type, degraded=bool(self._broken_farms))

    def _send_new(self, done: Reservation, callback: Callback, on_error: Callback | None) -> None:
        """Send the call's new lines. All or nothing: when one cannot be sent (the link dropped
        part-way: NotConnected), the call takes back everything it did (:meth:`_take_back`) and
        raises, so that no line of a call that raised is replayed after the reconnect."""
        subs = done.new
        for sub in subs:
            sub.confirming = True
            try:
                self._send(self._client(), sub)
            except Exception:
                self._take_back(done, callback, on_error)
                raise
            logger.info("subscribed {} {} (req {})", sub.kind.value, sub.key, sub.req_id)
        self._confirm(subs)

    def _take_back(self, done: Reservation, callback: Callback, on_error: Callback | None) -> None:
        """Undo a subscribe call that failed: its callback leaves the lines it joined, its new lines
        leave the book, and those already sent (by the call, or by a reconnect's replay meanwhile)
        are cancelled at IB when the link is up (a closed link took them with it)."""
        gone = self.lines.undo(done, callback, on_error)
        for sub in gone:
            if sub.kind is SubKind.QUOTES:
                self.state.clear_quote(sub.key)
        sent = [sub for sub in gone if sub.sent_id == sub.req_id]
        if not sent:
            return
        try:
            client = self._client()
        except NotConnected:
            return
        for sub in sent:
            cancel_line(client, sub.kind, sub.req_id)

    def _send(self, client: Any, sub: Subscription) -> None:
        """Send the line's request once per request id: a reconnect's replay may renew and send a
        line before the subscribe call that made it does (which then sends nothing). A line
        unsubscribed while its request was on the way is cancelled again after it."""
        req_id = self.lines.claim(sub)
        if req_id is None:
            return
        send_line(client, sub, req_id)
        if not self.lines.holds(sub):  # its cancel may have gone before this request
            cancel_line(client, sub.kind, req_id)

    def _confirm(self, subs: list[Subscription]) -> None:
        """Wait one round trip for IB's answer to the new lines: the lines IB refused with 101 are
        dropped and the call raises SubscriptionLimitExceeded, those refused for pacing (420) are
        dropped and it raises PacingViolation; later errors go to ``on_error``."""
        if not subs:
            return
        try:
            answered = self.connection.round_trip(self.settings.ib_connection.request_timeout)
        except NotConnected:
            answered = False  # the lines are requested again after the reconnect
        refused: list[Subscription] = []
        errors: list[SubscriptionLimitExceeded] = []
        paced: list[PacingViolation] = []
        with self.lines.lock:
            for sub in subs:
                sub.confirming = False
                if isinstance(sub.failed, SubscriptionLimitExceeded):
                    refused.append(sub)
                    errors.append(sub.failed)
                elif isinstance(sub.failed, PacingViolation):
                    refused.append(sub)
                    paced.append(sub.failed)
        if not answered:
            logger.warning("no answer from IB to {} new market data line(s) yet; IB's errors go to on_error",
                           len(subs))
        if refused:
            self._drop(refused)
            keys = tuple(sub.key for sub in refused)
            if paced:
                raise PacingViolation(f"{paced[0]} (real-time bars {', '.join(keys)} not subscribed)", paced[0].code)
            raise SubscriptionLimitExceeded(
                f"{errors[0]} for {', '.join(keys)}: close other market data lines of this account first",
                errors[0].code, keys)

    def _matching(self, kind: SubKind, key: str, variant: str | None, value: Any,
                  callback: Callback | None) -> list[MapKey]:
        """The lines of ``kind`` for ``key`` (one variant or all); with ``callback``, those it is on."""
        with self.lines.lock:
            keys = self.lines.matching(kind, key, variant)
            if not keys:
                raise ValidationError("symbol", value, f"has no {kind.value} subscription")
            held = [k for k in keys if (sub := self.lines.get(k)) is not None and callback in sub.callbacks]
        return held if callback is not None and held else keys

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
            if cb in sub.callbacks:  # checked as it is called: not once unsubscribed (meanwhile)
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
            self.events.submit(Guarded(sub, cb), sub.key, quote)

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
        held: list[Subscription] = []
        for old, sub in moved:
            if cancel_old:
                cancel_line(client, sub.kind, old)
            if sub.kind is SubKind.BARS and not self._room_for_bars():
                held.append(sub)
                continue
            try:
                self._send(client, sub)
            except Exception:  # noqa: BLE001 - keep replaying the others; the link monitor retries
                logger.opt(exception=True).error("resubscribing {} {} failed", sub.kind.value, sub.key)
        logger.info("resubscribed {} market data line(s)", len(moved) - len(held))
        self.metrics.incr("md_resubscriptions", len(moved) - len(held))
        if held:  # replayed when IB's ten-minute window has room (their new ids were never sent)
            wait = self.ctx.historical.stream_room_in()
            logger.warning("{} real-time bar line(s) replayed in {:.0f}s: IB's 60 new requests in 10 minutes, "
                           "or a hold after IB's pacing violation",
                           len(held), wait)
            timer = threading.Timer(max(wait, 0.001), self._replay_held, (held,))
            timer.daemon = True
            timer.start()

    def _room_for_bars(self) -> bool:
        try:
            self.ctx.historical.take_new_streams(1)
        except PacingViolation:
            return False
        return True

    def _replay_held(self, held: list[Subscription]) -> None:
        """The held lines still unsent (a reconnect's replay meanwhile may have sent them)."""
        if not self._stop.is_set():
            self._resubscribe([sub for sub in held if self.lines.holds(sub) and sub.sent_id != sub.req_id],
                              cancel_old=False)

    # --- staleness -----------------------------------------------------------------------------------
    def _mark_all_stale(self, why: str) -> None:
        flipped = self.lines.flag_stale(lambda sub: True)
        if flipped:
            logger.warning("{}: {} quote(s) flagged stale", why, len(flipped))
            self.metrics.incr(STALE_EPISODES, len(flipped))
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
            self.metrics.incr(STALE_EPISODES)
            self._publish(sub, quote, callbacks)
        return len(flipped)

    def _monitor_loop(self) -> None:
        interval = min(1.0, max(0.01, self.settings.market_data.stale_after_seconds / 4))
        last = self._now()
        while not self._stop.wait(interval):
            try:
                self.check_stale()
                now = self._now()
                with self.lines.lock:
                    ticks, self.handler.ticks = self.handler.ticks, 0
                if ticks:
                    self.metrics.incr(TICKS, ticks)
                self.metrics.observe("md_update_frequency", ticks / max(now - last, 1e-6))
                last = now
            except Exception:  # noqa: BLE001 - a bug must not end the stale-quote checks
                logger.opt(exception=True).error("market data monitor error")
