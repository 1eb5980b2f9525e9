"""The book of streaming lines: subscription records by instrument and by IB request id, under
one lock, with the line cap; plus the IB request and cancel of one line. Nothing here calls user
code, and the lock is never held while sending."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from platform_adapter.adapters.contracts import ContractResolver
from platform_adapter.adapters.market.subscriptions import Callback, SubKind, Subscription
from platform_adapter.errors import SubscriptionLimitExceeded, ValidationError
from platform_adapter.log import logger
from platform_adapter.models.contract import ContractInfo
from platform_adapter.models.market_data import Quote

MapKey = tuple[SubKind, str, str]
Want = tuple[SubKind, ContractInfo, dict[str, Any]]
Flipped = tuple[Subscription, Quote, tuple[Callback, ...]]


@dataclass
class Reservation:
    """What one subscribe call changed in the book, so that a call that fails can take it all back:
    the new records (still to be sent), the existing lines the callback (``joined``) or the error
    handler (``joined_errors``) was added to, and the failed records the new ones replaced."""

    new: list[Subscription] = field(default_factory=list)
    joined: list[Subscription] = field(default_factory=list)
    joined_errors: list[Subscription] = field(default_factory=list)
    replaced: dict[Subscription, Subscription] = field(default_factory=dict)  # new record -> failed one


RTH = ":RTH"  # the variant suffix of a bar line of regular trading hours only


def map_key(sub: Subscription) -> MapKey:
    """(kind, instrument key, variant): variant is whatToShow for bars (with ``RTH`` added for
    regular trading hours only: IB streams other bars), the kind for tick-by-tick."""
    if sub.kind is SubKind.BARS:
        return sub.kind, sub.key, sub.what_to_show + (RTH if sub.use_rth else "")
    return sub.kind, sub.key, str(sub.tbt_kind or "")


def send_line(client: Any, sub: Subscription, req_id: int | None = None) -> None:
    """Send the IB request of one line (with ``req_id``, default its current request id)."""
    contract = ContractResolver.ib_contract(sub.info)
    req_id = sub.req_id if req_id is None else req_id
    if sub.kind is SubKind.QUOTES:
        client.reqMktData(req_id, contract, "", False, False, [])
    elif sub.kind is SubKind.BARS:
        client.reqRealTimeBars(req_id, contract, 5, sub.what_to_show, sub.use_rth, [])
    else:
        assert sub.tbt_kind is not None
        client.reqTickByTickData(req_id, contract, sub.tbt_kind.value, 0, False)


def cancel_line(client: Any, kind: SubKind, req_id: int) -> None:
    """Cancel one line at IB (best effort)."""
    try:
        if kind is SubKind.QUOTES:
            client.cancelMktData(req_id)
        elif kind is SubKind.BARS:
            client.cancelRealTimeBars(req_id)
        else:
            client.cancelTickByTickData(req_id)
    except Exception:  # noqa: BLE001 - the line is gone either way
        logger.opt(exception=True).debug("cancel of {} req {} failed", kind.value, req_id)


class LineBook:
    """Thread-safe records of every quote, real-time-bar and tick-by-tick line."""

    def __init__(self, next_id: Callable[[], int] | None = None) -> None:
        self.lock = threading.RLock()
        self._subs: dict[MapKey, Subscription] = {}
        self._by_req: dict[int, Subscription] = {}
        self.index = self._by_req  # request id -> record; read it only under ``lock`` (hot tick path)
        self._next_id = next_id or itertools.count(1).__next__

    def all(self) -> list[Subscription]:
        with self.lock:
            return list(self._subs.values())

    def by_req(self, req_id: int) -> Subscription | None:
        with self.lock:
            return self._by_req.get(req_id)

    def get(self, key: MapKey) -> Subscription | None:
        with self.lock:
            return self._subs.get(key)

    def active_count(self) -> int:
        with self.lock:
            return sum(1 for s in self._subs.values() if s.active)

    def reserve(self, wanted: Iterable[Want], callback: Callback, on_error: Callback | None, cap: int,
                now: float, **defaults: Any) -> Reservation:
        """Add ``callback`` to existing lines and create the missing ones (new request ids).

        Raises :class:`SubscriptionLimitExceeded` (changing nothing) when the new lines would pass
        ``cap``. Returns what changed (:meth:`undo` takes it back); the new records are still to
        be sent."""
        with self.lock:
            plans: list[tuple[MapKey, Subscription | None, Subscription]] = []
            for kind, info, extra in wanted:
                probe = Subscription(kind, info.spec.key, info, 0, **extra)
                key = map_key(probe)
                existing = self._subs.get(key)
                plans.append((key, existing if existing is not None and existing.active else None, probe))
            lines = sum(1 for s in self._subs.values() if s.active)
            needed = sum(1 for _, existing, _ in plans if existing is None)
            if needed and lines + needed > cap:
                raise SubscriptionLimitExceeded(
                    f"{needed} new market data line(s) would exceed max_simultaneous_subscriptions={cap} "
                    f"({lines} in use by quotes, real-time bars and tick-by-tick)")
            done = Reservation()
            for key, existing, probe in plans:
                if existing is not None:
                    if callback not in existing.callbacks:
                        existing.callbacks.append(callback)
                        done.joined.append(existing)
                    if on_error is not None and on_error not in existing.on_error:
                        existing.on_error.append(on_error)
                        done.joined_errors.append(existing)
                    continue
                probe.req_id = self._next_id()
                probe.callbacks = [callback]
                probe.on_error = [on_error] if on_error is not None else []
                probe.started = now
                probe.lock = self.lock
                for name, value in defaults.items():
                    setattr(probe, name, value)
                old = self._subs.get(key)
                if old is not None:  # a failed line is replaced by the new request
                    self._by_req.pop(old.req_id, None)
                    done.replaced[probe] = old
                self._subs[key] = probe
                self._by_req[probe.req_id] = probe
                done.new.append(probe)
            return done

    def undo(self, done: Reservation, callback: Callback, on_error: Callback | None) -> list[Subscription]:
        """Take back a :meth:`reserve` whose call failed: the callbacks leave the lines they
        joined, the new records leave the book (a failed record one of them replaced is put back),
        except one that another call joined meanwhile, which stays that call's line. Returns the
        records removed (any of them may have been sent to IB)."""
        with self.lock:
            for sub in (*done.joined, *done.new):
                sub.callbacks = [cb for cb in sub.callbacks if cb != callback]
            for sub in (*done.joined_errors, *done.new):
                sub.on_error = [cb for cb in sub.on_error if cb != on_error]
            for sub in done.new:
                sub.confirming = False  # a line kept for another call: IB's later errors go to on_error
            held = [sub for sub in done.new if self.holds(sub) and not sub.callbacks]
            self.remove(held)
            for sub in held:
                old = done.replaced.get(sub)
                if old is not None and map_key(old) not in self._subs:
                    self._subs[map_key(old)] = old
            return held

    def matching(self, kind: SubKind, key: str, variant: str | None) -> list[MapKey]:
        with self.lock:
            return [k for k in self._subs
                    if k[0] is kind and k[1] == key and (variant is None or k[2].removesuffix(RTH) == variant)]

    def release(self, keys: list[MapKey], callback: Callback | None, field: str) -> list[Subscription]:
        """Remove ``callback`` (or all) from the lines; return the records left without callbacks
        (removed from the book). Unknown lines or callbacks raise ValidationError, changing nothing."""
        with self.lock:
            subs = []
            for key in keys:
                sub = self._subs.get(key)
                if sub is None:
                    raise ValidationError(field, key[1], f"has no {key[0].value} subscription")
                if callback is not None and callback not in sub.callbacks:
                    raise ValidationError("callback", callback, f"is not subscribed to {key[1]}")
                subs.append(sub)
            gone = []
            for sub in subs:
                if callback is not None:
                    sub.callbacks = [cb for cb in sub.callbacks if cb != callback]
                    if sub.callbacks:
                        continue
                gone.append(sub)
            self.remove(gone)
            return gone

    def remove(self, subs: Iterable[Subscription]) -> None:
        """Take lines out of the book; their callbacks are let go of too, so that a delivery
        queued before is not made (deliveries check the line's callbacks as they run)."""
        with self.lock:
            for sub in subs:
                if self._subs.get(map_key(sub)) is sub:
                    del self._subs[map_key(sub)]
                self._by_req.pop(sub.req_id, None)
                sub.callbacks = []
                sub.on_error = []

    def fail(self, sub: Subscription, error: Exception) -> bool:
        """Mark a line failed (it holds no IB line any more); False when it already was."""
        with self.lock:
            if sub.failed is not None:
                return False
            sub.failed = error
            self._by_req.pop(sub.req_id, None)
            return True

    def holds(self, sub: Subscription) -> bool:
        """True while ``sub`` is the book's record of its line (not unsubscribed or replaced)."""
        with self.lock:
            return self._subs.get(map_key(sub)) is sub

    def claim(self, sub: Subscription) -> int | None:
        """The request id to send for ``sub`` now, marked sent; None when that id was sent already
        (a subscribe call and a reconnect's replay may both try) or the line is gone or failed."""
        with self.lock:
            if not self.holds(sub) or sub.failed is not None or sub.sent_id == sub.req_id:
                return None
            sub.sent_id = sub.req_id
            return sub.req_id

    def renew_ids(self, subs: Iterable[Subscription], now: float) -> list[tuple[int, Subscription]]:
        """Give live, current lines new request ids; return ``(old id, record)`` pairs."""
        moved = []
        with self.lock:
            for sub in subs:
                if self._subs.get(map_key(sub)) is not sub or sub.failed is not None:
                    continue
                old = sub.req_id
                self._by_req.pop(old, None)
                sub.req_id = self._next_id()
                sub.started = now
                self._by_req[sub.req_id] = sub
                moved.append((old, sub))
        return moved

    def flag_degraded(self, degraded: bool) -> list[Flipped]:
        """Set every active quote line's ``degraded`` flag; return the lines it changed, each with
        its quote snapshot and callbacks."""
        with self.lock:
            out = []
            for sub in self._subs.values():
                if sub.kind is SubKind.QUOTES and sub.active and sub.degraded is not degraded:
                    sub.degraded = degraded
                    sub.snap = None
                    out.append((sub, sub.snapshot(), tuple(sub.callbacks)))
            return out

    def flag_stale(self, predicate: Callable[[Subscription], bool]) -> list[Flipped]:
        """Set ``stale`` on fresh, active quote lines for which ``predicate`` holds; return each
        with its stale quote snapshot and callbacks."""
        with self.lock:
            out = []
            for sub in self._subs.values():
                if sub.kind is SubKind.QUOTES and sub.active and not sub.stale and predicate(sub):
                    sub.stale = True
                    out.append((sub, sub.quote(True), tuple(sub.callbacks)))
            return out
