"""Pending synchronous requests keyed by IB request id.

A synchronous call registers a :class:`PendingRequest`, sends, and waits on its future. The
dispatcher appends results, finishes it on the ``...End`` message, or fails it with a typed error
from IB's ``error`` callback (:meth:`RequestRegistry.fail_from_ib`, reached through
``core/handlers.route_error``). A dropped link fails every pending request at once.
"""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from platform_adapter.core import ib_codes
from platform_adapter.errors import (
    ContractNotFound,
    HistoricalQueryCancelled,
    IBError,
    NotConnected,
    PacingViolation,
    PlatformAdapterError,
    RequestTimeout,
)
from platform_adapter.log import logger


@dataclass(slots=True)
class PendingRequest:
    """One request waiting for its answer."""

    req_id: int
    kind: str
    future: Future[list[Any]] = field(default_factory=Future)
    results: list[Any] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def wait(self, timeout: float) -> list[Any]:
        """The results, or the request's error; :class:`RequestTimeout` after ``timeout``."""
        try:
            return self.future.result(timeout)
        except FutureTimeout:
            raise RequestTimeout(f"{self.kind} request {self.req_id}: no answer within {timeout:g}s") from None


class RequestRegistry:
    """Thread-safe map of request id to :class:`PendingRequest`; also hands out request ids.

    Request ids start far above any order id so that IB errors (which carry either) are never
    routed to the wrong owner."""

    def __init__(self, first_id: int = 500_000_000) -> None:
        self._lock = threading.Lock()
        self._pending: dict[int, PendingRequest] = {}
        self._ids = itertools.count(first_id)

    def next_id(self) -> int:
        """A fresh request id (never an order id: they live in a different range)."""
        with self._lock:
            return next(self._ids)

    def start(self, kind: str, req_id: int | None = None, **meta: Any) -> PendingRequest:
        with self._lock:
            rid = next(self._ids) if req_id is None else req_id
            if rid in self._pending:
                raise PlatformAdapterError(f"request id {rid} is already pending ({self._pending[rid].kind})")
            pending = PendingRequest(rid, kind, meta=dict(meta))
            self._pending[rid] = pending
            return pending

    def get(self, req_id: int) -> PendingRequest | None:
        return self._pending.get(req_id)

    def append(self, req_id: int, item: Any) -> bool:
        pending = self._pending.get(req_id)
        if pending is None:
            return False
        pending.results.append(item)
        return True

    def finish(self, req_id: int, result: list[Any] | None = None) -> bool:
        with self._lock:
            pending = self._pending.pop(req_id, None)
        if pending is None:
            return False
        if not pending.future.done():
            pending.future.set_result(pending.results if result is None else result)
        return True

    def fail(self, req_id: int, error: BaseException) -> bool:
        with self._lock:
            pending = self._pending.pop(req_id, None)
        if pending is None:
            return False
        if not pending.future.done():
            pending.future.set_exception(error)
        return True

    def fail_from_ib(self, req_id: int, code: int, message: str) -> bool:
        """Complete the pending request ``req_id`` from IB's error for it (a typed exception, or an
        empty result for a historical query that returned no data); False when none is pending."""
        if self._pending.get(req_id) is None:
            return False
        error: Exception
        if code in ib_codes.CONNECTION_FAILURE or code in ib_codes.SEND_FAILURE:
            error = NotConnected(f"IB {code}: {message}")
        elif code in ib_codes.NO_SECURITY_DEFINITION:
            error = ContractNotFound(f"IB {code}: {message}")
        elif code in ib_codes.HISTORICAL_SERVICE and ib_codes.historical_no_data(message):
            return self.finish(req_id, [])
        elif code in ib_codes.HISTORICAL_SERVICE and ib_codes.historical_pacing(message) or \
                code in ib_codes.MESSAGE_RATE_EXCEEDED:
            error = PacingViolation(f"IB {code}: {message}", code)
        elif code in ib_codes.HISTORICAL_SERVICE and ib_codes.historical_cancelled(message):
            error = HistoricalQueryCancelled(code, message, req_id)
        else:
            error = IBError(code, message, req_id)
        logger.warning("request {} failed: IB {}: {}", req_id, code, message)
        return self.fail(req_id, error)

    def discard(self, req_id: int) -> None:
        with self._lock:
            self._pending.pop(req_id, None)

    def fail_all(self, error: BaseException) -> int:
        """Fail every pending request with ``error``; return how many there were."""
        with self._lock:
            pending = list(self._pending.values())
            self._pending.clear()
        for p in pending:
            if not p.future.done():
                p.future.set_exception(error)
        return len(pending)

    def pending_kinds(self) -> list[str]:
        with self._lock:
            return [p.kind for p in self._pending.values()]

    def __len__(self) -> int:
        return len(self._pending)


class EndWaiter:
    """One outstanding IB request that has no request id (``reqOpenOrders``, ``reqPositions``,
    ``reqAccountUpdates``...) and ends with its ``...End`` message.

    It is kept in the :class:`RequestRegistry` under a private id, so a dropped link fails the
    wait at once with ``NotConnected`` instead of letting it run into its timeout. Callers make
    one such request of a kind at a time (under their own lock).
    """

    def __init__(self, registry: RequestRegistry, end_message: str) -> None:
        self._registry = registry
        self.kind = end_message
        self._pending: PendingRequest | None = None

    def begin(self) -> None:
        """Call just before sending the request."""
        self._pending = self._registry.start(self.kind)

    def done(self, *_: Any) -> None:
        """The ``...End`` handler (extra callback arguments are ignored)."""
        pending = self._pending
        if pending is not None:
            self._registry.finish(pending.req_id)

    def wait(self, timeout: float) -> None:
        """Wait for the end; ``RequestTimeout`` or ``NotConnected`` otherwise."""
        pending = self._pending
        if pending is None:
            raise PlatformAdapterError(f"{self.kind}: wait() without begin()")
        try:
            pending.wait(timeout)
        except RequestTimeout:
            raise RequestTimeout(f"no {self.kind} within {timeout:g}s") from None
        finally:
            self._registry.discard(pending.req_id)
            self._pending = None
