"""``RemoteAdapter.market_data``: the facade's market data interface, served by the service.

Callbacks live here, in the client: each line holds the client's callbacks and the service holds
one IB line for every client on it. Quote callbacks are conflated per line on the client's event
thread, as the facade does; after a reconnect every line is subscribed again by itself.
The commands of this client's lines go to the service one at a time, each with the change of
the client's book it stands for (the service runs commands on several threads: an unsubscribe and
a subscribe of one line sent together could be applied the other way round).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from platform_adapter.adapters.market.historical import check_request
from platform_adapter.adapters.market.subscriptions import bar_lines_of, check_bar_line, tick_lines_of
from platform_adapter.adapters.market_data import QUOTE_NOT_SUBSCRIBED
from platform_adapter.core.events import EventDispatcher, Guarded
from platform_adapter.errors import NotConnected, PlatformAdapterError, SubscriptionLimitExceeded, ValidationError
from platform_adapter.log import logger
from platform_adapter.models.market_data import Bar, MarketDataType, Quote, TickByTick, TickByTickKind
from platform_adapter.remote.transport import Transport
from platform_adapter.service.protocol import (
    Event,
    bar_line,
    error_from_map,
    instrument_key,
    quote_line,
    sendable_spec,
    tick_line,
)
from platform_adapter.service.schema import decode, frame_from_map
from platform_adapter.utils.validators import check_callback, check_instruments, check_tbt_kind

Callback = Callable[..., Any]
_KIND_NAMES = {"quotes": "quotes", "bars": "real_time_bars", "ticks": "tick_by_tick"}  # the facade's words


@dataclass
class _Line:
    """A line this client holds: how to subscribe it again, and its callbacks."""

    id: str
    key: str
    command: str
    args: dict[str, Any]
    variant: str = ""
    callbacks: list[Callback] = field(default_factory=list)
    on_error: list[Callback] = field(default_factory=list)
    latest: Quote | None = None
    pending: bool = False  # a conflated quote delivery is queued on the event thread

    @property
    def kind(self) -> str:
        return self.id.partition("|")[0]


class _Progress:
    """A historical request's ``progress`` callback; ``finished`` once it ran with done == total."""

    __slots__ = ("callback", "finished")

    def __init__(self, callback: Callable[[int, int], Any]) -> None:
        self.callback = callback
        self.finished = threading.Event()


class RemoteMarketData:
    """Quotes, historical bars, real-time bars and tick-by-tick data through the service."""

    def __init__(self, transport: Transport, events: EventDispatcher) -> None:
        self._t = transport
        self._events = events
        self._lock = threading.Lock()
        self._calls = threading.Lock()  # one line command at a time (held while it is answered)
        self._lines: dict[str, _Line] = {}
        self._progress: dict[int, _Progress] = {}

    # --- quotes -----------------------------------------------------------------------------------------
    def subscribe_quotes(self, symbols: Any, callback: Callback, on_error: Callback | None = None) -> None:
        """As ``PlatformAdapter.market_data.subscribe_quotes``; a symbol another client already
        streams gets its current quote at once."""
        check_callback(callback)
        err = check_callback(on_error, "on_error", optional=True)
        wanted: dict[str, Any] = {}
        for s in check_instruments(symbols):
            wanted.setdefault(quote_line(instrument_key(s, "symbols")), s)
        with self._calls:
            added = [self._hold(lid, "market_data.subscribe_quotes", {"symbols": [s]}, callback, err)
                     for lid, s in wanted.items()]
            try:
                self._t.call("market_data.subscribe_quotes", {"symbols": list(wanted.values())})
            except SubscriptionLimitExceeded as exc:
                refused = {quote_line(k) for k in exc.symbols} if exc.code is not None else set(wanted)
                self._undo([a for a in added if a[0] in refused])
                raise
            except PlatformAdapterError:
                self._undo(added)
                raise

    def unsubscribe_quotes(self, symbols: Any, callback: Callback | None = None) -> None:
        """Remove ``callback`` (or every callback); the service lets go of the line when none is left."""
        lids = [quote_line(instrument_key(s, "symbols")) for s in check_instruments(symbols)]
        self._release(lids, callback, "symbols")

    def get_quote(self, symbol: Any) -> Quote:
        """The latest quote of a symbol this client subscribed; as the facade, another one is a
        ValidationError (also when another client of the service streams it)."""
        line = self._lines.get(quote_line(instrument_key(symbol)))
        if line is None:
            raise ValidationError("symbol", symbol, QUOTE_NOT_SUBSCRIBED)
        try:
            return decode(Quote, self._t.call("market_data.get_quote", {"symbol": symbol}))
        except ValidationError:
            if self._lines.get(line.id) is not line:
                raise  # unsubscribed meanwhile
        # the service does not hold the line for this session (yet): a service that restarted,
        # its lines being subscribed again. As the facade during a reconnect: the last quote, stale
        with self._lock:
            latest = line.latest
        return replace(latest, stale=True) if latest is not None else Quote(symbol=line.key, stale=True)

    # --- historical -----------------------------------------------------------------------------------------
    def get_historical_data(self, symbol: Any, duration: str, bar_size: str, what_to_show: str = "TRADES",
                            use_rth: bool = True, end: Any = None, *, progress: Callable[[int, int], Any] | None = None,
                            max_chunk: str | None = None, timeout: float | None = None) -> pd.DataFrame:
        """As the facade's; ``progress(done, total)`` runs on the client's event thread, and as
        with the facade every call of it has run when this returns (the progress events travel on
        the event stream, apart from the answer: the last one is waited for)."""
        if progress is not None and not callable(progress):  # it cannot travel: the facade's checks, here
            check_request(symbol, duration, bar_size, what_to_show, use_rth, end, progress, max_chunk, timeout)
        rid = self._t.next_id()
        tracker = _Progress(progress) if progress is not None else None
        if tracker is not None:
            self._progress[rid] = tracker
        try:
            frame = self._t.call("market_data.get_historical_data", {
                "symbol": sendable_spec(symbol), "duration": duration, "bar_size": bar_size,
                "what_to_show": what_to_show, "use_rth": use_rth, "end": end, "max_chunk": max_chunk,
                "timeout": timeout, "progress": progress is not None}, req_id=rid)
            if tracker is not None and not tracker.finished.wait(self._t.timeout):
                logger.warning("history {}: the last progress event did not arrive within {:g}s", symbol,
                               self._t.timeout)
        finally:
            self._progress.pop(rid, None)
        return frame_from_map(frame)

    # --- real-time bars and tick-by-tick ------------------------------------------------------------------------
    def subscribe_real_time_bars(self, symbol: Any, callback: Callback, what_to_show: str = "TRADES",
                                 use_rth: bool = False, on_error: Callback | None = None) -> None:
        """Stream 5-second bars: ``callback(symbol, bar)``."""
        check_callback(callback)
        err = check_callback(on_error, "on_error", optional=True)
        spec, wts = check_bar_line(symbol, what_to_show, use_rth)  # the facade's checks (the line id needs them)
        args = {"symbol": symbol, "what_to_show": what_to_show, "use_rth": use_rth}
        self._subscribe_one(bar_line(spec.key, wts, use_rth), "market_data.subscribe_real_time_bars", args,
                            callback, err, wts)

    def unsubscribe_real_time_bars(self, symbol: Any, callback: Callback | None = None,
                                   what_to_show: str | None = None) -> None:
        key, variant = bar_lines_of(symbol, what_to_show)  # the facade's checks
        self._release(self._matching("bars", key, symbol, variant, callback), callback, "symbol")

    def subscribe_tick_by_tick(self, symbol: Any, kind: TickByTickKind | str, callback: Callback,
                               on_error: Callback | None = None) -> None:
        """Stream tick-by-tick data: ``callback(symbol, tick)``."""
        tbt = check_tbt_kind(kind)
        check_callback(callback)
        err = check_callback(on_error, "on_error", optional=True)
        self._subscribe_one(tick_line(instrument_key(symbol), tbt), "market_data.subscribe_tick_by_tick",
                            {"symbol": symbol, "kind": tbt.value}, callback, err, tbt.value)

    def unsubscribe_tick_by_tick(self, symbol: Any, kind: TickByTickKind | str | None = None,
                                 callback: Callback | None = None) -> None:
        key, variant = tick_lines_of(symbol, kind)  # the facade's checks
        self._release(self._matching("ticks", key, symbol, variant, callback), callback, "symbol")

    # --- market data type and introspection ---------------------------------------------------------------------------
    @property
    def market_data_type(self) -> MarketDataType:
        return MarketDataType(self._t.call("market_data.get_market_data_type"))

    def set_market_data_type(self, value: MarketDataType | str | int) -> None:
        """Service-wide: every client's new lines use it."""
        wire = int(value) if isinstance(value, MarketDataType) else value  # True stays True: the facade refuses it
        self._t.call("market_data.set_market_data_type", {"value": wire})

    def stats(self) -> dict[str, Any]:
        """The service's lines in use per kind, failed lines and the cap."""
        result: dict[str, Any] = self._t.call("market_data.stats")
        return result

    def subscription_errors(self) -> dict[str, Exception]:
        return {k: error_from_map(v) for k, v in self._t.call("market_data.subscription_errors").items()}

    # --- bookkeeping ----------------------------------------------------------------------------------------------
    def _subscribe_one(self, lid: str, command: str, args: dict[str, Any], callback: Callback,
                       on_error: Callback | None, variant: str) -> None:
        with self._calls:
            added = [self._hold(lid, command, args, callback, on_error, variant)]
            try:
                self._t.call(command, args)
            except PlatformAdapterError:
                self._undo(added)
                raise

    def _hold(self, lid: str, command: str, args: dict[str, Any], callback: Callback, on_error: Callback | None,
              variant: str = "") -> tuple[str, bool, Callback | None, Callback | None]:
        """Register the callbacks before asking (the service may send a quote before it answers);
        returns (line id, the line is new, the callback and the error handler added to it)."""
        with self._lock:
            line = self._lines.get(lid)
            new = line is None
            if line is None:
                line = self._lines[lid] = _Line(lid, lid.split("|")[1], command, args, variant)
            added = callback not in line.callbacks
            if added:
                line.callbacks.append(callback)
            err_added = None
            if on_error is not None and on_error not in line.on_error:
                line.on_error.append(on_error)
                err_added = on_error
            return lid, new, callback if added else None, err_added

    def _undo(self, held: list[tuple[str, bool, Callback | None, Callback | None]]) -> None:
        """Take back what :meth:`_hold` registered for a subscribe call that failed (its error
        handler too: a later error of a line the call did not get must not reach it)."""
        with self._lock:
            for lid, new, added, err_added in held:
                line = self._lines.get(lid)
                if new:
                    if line is not None:
                        del self._lines[lid]
                        line.callbacks, line.on_error = [], []  # no queued delivery is made
                elif line is not None:
                    if added is not None:
                        line.callbacks.remove(added)
                    if err_added is not None:
                        line.on_error.remove(err_added)

    def _matching(self, kind: str, key: str, symbol: Any, variant: str | None,
                  callback: Callback | None = None) -> list[str]:
        """The lines of ``kind`` for ``symbol`` (its ``key``; one variant or all); with
        ``callback``, those it is on (as the facade: the others are left alone), or all when it
        is on none."""
        with self._lock:
            lids = [lid for lid, line in self._lines.items()
                    if line.kind == kind and line.key == key and (variant is None or line.variant == variant)]
            held = [lid for lid in lids if callback in self._lines[lid].callbacks]
        if not lids:
            raise ValidationError("symbol", symbol, f"has no {_KIND_NAMES[kind]} subscription")
        return held if callback is not None and held else lids

    def _release(self, lids: list[str], callback: Callback | None, field_name: str) -> None:
        if callback is not None:
            check_callback(callback)
        with self._calls:
            self._release_locked(lids, callback, field_name)

    def _release_locked(self, lids: list[str], callback: Callback | None, field_name: str) -> None:
        with self._lock:
            for lid in lids:
                line = self._lines.get(lid)
                if line is None:
                    raise ValidationError(field_name, lid.split("|")[1],
                                          f"has no {_KIND_NAMES[lid.partition('|')[0]]} subscription")
                if callback is not None and callback not in line.callbacks:
                    raise ValidationError("callback", callback, f"is not subscribed to {line.key}")
            gone = []
            for lid in lids:
                line = self._lines[lid]
                if callback is not None:
                    line.callbacks = [cb for cb in line.callbacks if cb != callback]
                    if line.callbacks:
                        continue
                del self._lines[lid]
                line.callbacks, line.on_error = [], []  # deliveries check them as they run: none is made
                gone.append(lid)
        if gone:
            try:
                self._t.call("market_data.unsubscribe", {"lines": gone})
            except (NotConnected, ValidationError):
                pass  # the service released them with the lost session (the new one holds them not
                # yet: the resync after a reconnect); they are not subscribed again

    def resync(self) -> None:
        """Subscribe every line again (after a reconnect); a line that fails tells its on_error."""
        with self._lock:
            lines = list(self._lines.values())
        for line in lines:
            try:
                with self._calls:
                    if self._lines.get(line.id) is not line:
                        continue  # let go of (or held anew by a subscribe) meanwhile
                    self._t.call(line.command, line.args)
            except PlatformAdapterError as exc:
                logger.error("resubscribing {} failed: {}", line.id, exc)
                for cb in tuple(line.on_error):
                    self._events.submit(Guarded(line, cb, "on_error"), line.key, exc)

    def _report(self, tracker: _Progress, done: Any, total: Any) -> None:
        """A progress event, on the event thread."""
        self._events.call(tracker.callback, done, total)
        if done == total:
            tracker.finished.set()

    # --- events (the transport's thread) ----------------------------------------------------------------------------
    def on_event(self, ev: dict[str, Any]) -> None:
        kind = ev["ev"]
        if kind == Event.PROGRESS:
            tracker = self._progress.get(ev.get("call", -1))
            if tracker is not None:
                self._events.submit_task(self._report, tracker, ev.get("done"), ev.get("total"))
            return
        line = self._lines.get(ev.get("line", ""))
        if line is None:
            return
        if kind == Event.QUOTE:
            quote = decode(Quote, ev["quote"])
            with self._lock:
                line.latest = quote
                queue, line.pending = not line.pending, True
            if queue:  # conflated: the queued delivery reads the latest quote when it runs
                self._events.submit_task(self._deliver_quote, line)
        elif kind == Event.BAR:
            item: Any = decode(Bar, ev["bar"])
            for cb in tuple(line.callbacks):
                self._events.submit(Guarded(line, cb), line.key, item)
        elif kind == Event.TICK:
            item = decode(TickByTick, ev["tick"])
            for cb in tuple(line.callbacks):
                self._events.submit(Guarded(line, cb), line.key, item)
        elif kind == Event.LINE_ERROR:
            exc = error_from_map(ev.get("error"))
            for cb in tuple(line.on_error):  # not once unsubscribed meanwhile (checked as it runs)
                self._events.submit(Guarded(line, cb, "on_error"), line.key, exc)

    def _deliver_quote(self, line: _Line) -> None:
        with self._lock:
            line.pending = False
            quote = line.latest
        for cb in tuple(line.callbacks):
            if cb in line.callbacks:  # checked as it is called: not once unsubscribed (meanwhile)
                self._events.call(cb, line.key, quote)
