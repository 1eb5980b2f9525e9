"""Reference-counted market data lines: one IB line per instrument (and bar or tick variant),
however many clients hold it; cancelled when the last one lets go or stops answering.

The book subscribes through the facade's public ``market_data`` API, once per line, with its own
callbacks, and fans every update out to the line's clients through the publisher. Subscribing
and unsubscribing are serialised by one lock (they talk to IB); the update path reads the line's
client set without it. A session's lines are released after the session has ended, so a
subscribe that gets the lock later finds its session gone and holds nothing (a line held by a
token no session has would never be released). A line IB dropped (``line_error``) holds no IB
line any more: the next client to subscribe it has it requested again, for every holder, as
the facade does for a second subscribe of a failed line.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from platform_adapter.adapters.market.subscriptions import check_bar_line
from platform_adapter.errors import PlatformAdapterError, SubscriptionLimitExceeded, ValidationError
from platform_adapter.log import logger
from platform_adapter.models.market_data import Bar, Quote, TickByTick
from platform_adapter.service.protocol import (
    ErrorCode,
    Event,
    ProtocolError,
    bar_line,
    error_map,
    instrument_key,
    quote_line,
    tick_line,
)
from platform_adapter.service.publisher import Publisher
from platform_adapter.service.schema import pack
from platform_adapter.utils.validators import check_instruments, check_tbt_kind


@dataclass
class Line:
    """One shared line: what the facade was asked for, and the sessions holding it."""

    id: str
    symbol: Any  # as the facade takes it: a symbol string or a ContractSpec
    key: str
    unsubscribe: Callable[[], None]
    clients: frozenset[str] = field(default_factory=frozenset)
    failed: bool = False  # IB dropped it (a line_error): the next subscribe requests it again


class SubscriptionBook:
    """Lines by id; ``market_data`` is the facade's ``PlatformAdapter.market_data``; ``alive(token)``
    tells whether a session still has ``token`` (checked under the lock before a line is held)."""

    def __init__(self, market_data: Any, publisher: Publisher,
                 alive: Callable[[str], bool] = lambda token: True) -> None:
        self._md = market_data
        self._pub = publisher
        self._alive = alive
        self._lock = threading.RLock()
        self._lines: dict[str, Line] = {}

    # --- subscribe ------------------------------------------------------------------------------------
    def subscribe_quotes(self, token: str, symbols: Any) -> list[str]:
        """Hold the quote lines of ``symbols`` for ``token``; a line already open sends the client
        its current quote at once. Raises as ``subscribe_quotes`` does (nothing held then, except
        the lines IB accepted when it refused others with 101)."""
        wanted = {quote_line(instrument_key(s, "symbols")): s for s in check_instruments(symbols)}
        with self._lock:
            self._check_alive(token)
            new = {lid: s for lid, s in wanted.items() if lid not in self._lines}
            again = [lid for lid in wanted if lid not in new and self._lines[lid].failed]
            for lid, symbol in new.items():  # before asking: the first quote may come before the answer
                self._lines[lid] = Line(lid, symbol, lid.split("|", 1)[1], functools.partial(
                    self._md.unsubscribe_quotes, [symbol], self._on_quote), frozenset({token}))
            for lid in again:
                self._lines[lid].failed = False
            try:
                if new or again:
                    self._md.subscribe_quotes([*new.values(), *(self._lines[lid].symbol for lid in again)],
                                              self._on_quote, self._on_quote_error)
            except SubscriptionLimitExceeded as exc:
                if exc.code is None:  # the configured cap: nothing was subscribed
                    self._failed(again)
                    self._forget(list(new))
                    raise
                # IB's 101 refused some lines; the others stay, for this client too
                self._failed([lid for lid in again if self._lines[lid].key in exc.symbols])
                self._forget([lid for lid in new if self._lines[lid].key in exc.symbols])
                self._hold(token, wanted, new)
                raise
            except Exception:
                self._failed(again)
                self._abandon(list(new))
                raise
            self._hold(token, wanted, new)
        return list(wanted)

    def _failed(self, line_ids: list[str]) -> None:
        """Lines asked for again that are still not held at IB (the facade refused)."""
        for lid in line_ids:
            self._lines[lid].failed = True

    def _hold(self, token: str, wanted: dict[str, Any], new: dict[str, Any]) -> None:
        for lid in wanted:
            if lid in self._lines:
                self._add(lid, token, lid not in new)

    def subscribe_bars(self, token: str, symbol: Any, what_to_show: str, use_rth: bool) -> str:
        spec, wts = check_bar_line(symbol, what_to_show, use_rth)  # the facade's checks, in its order
        lid = bar_line(spec.key, wts, use_rth)
        cb = functools.partial(self._on_item, lid, Event.BAR, "bar")
        self._open(token, lid, symbol, functools.partial(self._md.subscribe_real_time_bars, symbol, cb, what_to_show,
                                                         use_rth, functools.partial(self._on_line_error, lid)),
                   functools.partial(self._md.unsubscribe_real_time_bars, symbol, cb, what_to_show))
        return lid

    def subscribe_ticks(self, token: str, symbol: Any, kind: Any) -> str:
        tbt = check_tbt_kind(kind)
        lid = tick_line(instrument_key(symbol), tbt)
        cb = functools.partial(self._on_item, lid, Event.TICK, "tick")
        self._open(token, lid, symbol, functools.partial(self._md.subscribe_tick_by_tick, symbol, tbt, cb,
                                                         functools.partial(self._on_line_error, lid)),
                   functools.partial(self._md.unsubscribe_tick_by_tick, symbol, tbt, cb))
        return lid

    def _open(self, token: str, lid: str, symbol: Any, subscribe: Callable[[], None],
              unsubscribe: Callable[[], None]) -> None:
        """Hold ``lid`` for ``token``, subscribing it first when no client holds it yet."""
        with self._lock:
            self._check_alive(token)
            line = self._lines.get(lid)
            if line is not None and line.failed:  # IB dropped it: requested again, for every holder
                subscribe()
                line.failed, line.unsubscribe = False, unsubscribe
            if line is not None:
                self._add(lid, token, False)
                return
            self._lines[lid] = Line(lid, symbol, instrument_key(symbol), unsubscribe, frozenset({token}))
            try:
                subscribe()
            except Exception:
                self._abandon([lid])
                raise

    def _check_alive(self, token: str) -> None:
        """(lock held) The session ended (its lines released already, or released after this
        lock): nothing may be held for it any more."""
        if not self._alive(token):
            raise ProtocolError(ErrorCode.NOT_IDENTIFIED, "the session ended: send hello first")

    def _abandon(self, line_ids: list[str]) -> None:
        """Drop new lines whose subscribe failed. The facade keeps none of a call that raised (a
        link lost after the first of several was sent included); each is let go of there too, best
        effort, so that none could stay subscribed at IB, and come back after every reconnect, for
        no client."""
        for lid in line_ids:
            line = self._lines.get(lid)
            if line is None:
                continue
            try:
                line.unsubscribe()
            except PlatformAdapterError:
                pass  # never subscribed there (refused before anything was sent)
        self._forget(line_ids)

    def _forget(self, line_ids: list[str]) -> None:
        """Drop lines the facade refused (nothing to cancel)."""
        for lid in line_ids:
            self._lines.pop(lid, None)

    def _add(self, lid: str, token: str, snapshot: bool) -> None:
        line = self._lines[lid]
        if token in line.clients:
            return
        line.clients = line.clients | {token}
        if snapshot:  # a late subscriber: the line's current quote now, not at the next tick
            try:
                quote = self._md.get_quote(line.symbol)
            except PlatformAdapterError:
                return
            if quote.updates or quote.bid is not None or quote.last is not None:
                self._pub.quote(lid, quote, (token,))

    # --- release ------------------------------------------------------------------------------------------
    def unsubscribe(self, token: str, line_ids: list[str]) -> None:
        """Let go of lines; unknown ones raise ValidationError and nothing changes."""
        with self._lock:
            for lid in line_ids:
                line = self._lines.get(lid)
                if line is None or token not in line.clients:
                    kind, _, rest = lid.partition("|")
                    raise ValidationError("symbol", rest.partition("|")[0], f"has no {kind} subscription")
            for lid in line_ids:
                self._release(lid, token)

    def release_all(self, token: str) -> int:
        """Let go of every line of ``token`` (a session that ended); returns how many."""
        with self._lock:
            held = [lid for lid, line in self._lines.items() if token in line.clients]
            for lid in held:
                self._release(lid, token)
        return len(held)

    def _release(self, lid: str, token: str) -> None:
        line = self._lines[lid]
        line.clients = line.clients - {token}
        if line.clients:
            return
        del self._lines[lid]
        try:
            line.unsubscribe()
        except PlatformAdapterError as exc:
            logger.warning("cancelling line {} failed: {}", lid, exc)

    def holds(self, token: str, lid: str) -> bool:
        """True when ``token``'s session holds the line ``lid``."""
        line = self._lines.get(lid)
        return line is not None and token in line.clients

    def held(self, token: str) -> list[str]:
        return [lid for lid, line in list(self._lines.items()) if token in line.clients]

    def stats(self) -> dict[str, int]:
        lines = list(self._lines.values())
        return {"lines": len(lines), "line_holders": sum(len(line.clients) for line in lines)}

    # --- the facade's callbacks (its event thread) -------------------------------------------------------------
    def _on_quote(self, key: str, quote: Quote) -> None:
        line = self._lines.get(quote_line(key))
        if line is not None:
            self._pub.quote(line.id, quote, line.clients)

    def _on_quote_error(self, key: str, exc: Exception) -> None:
        self._on_line_error(quote_line(key), key, exc)

    def _on_item(self, lid: str, event: Event, name: str, key: str, item: Bar | TickByTick) -> None:
        line = self._lines.get(lid)
        if line is None:
            return
        data = pack({"ev": event.value, "line": lid, "symbol": key, name: item})
        if event is Event.TICK:
            self._pub.tick(line.clients, data)
        else:
            self._pub.event(line.clients, data)

    def _on_line_error(self, lid: str, key: str, exc: Exception) -> None:
        line = self._lines.get(lid)
        if line is not None:
            line.failed = True
            self._pub.event(line.clients, pack({"ev": Event.LINE_ERROR.value, "line": lid, "symbol": key,
                                                "error": error_map(exc)}))
