"""One exception hierarchy for the whole library.

Every error the library raises is a :class:`PlatformAdapterError`, so callers can catch
everything with one clause and still tell the cases apart by type.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


class PlatformAdapterError(Exception):
    """Base class of every error raised by platform_adapter."""


class PartialHistory:
    """What ``get_historical_data`` had fetched when it failed part-way (the attributes of
    :class:`NotConnected`, :class:`RequestTimeout`, :class:`PacingViolation` and :class:`IBError`;
    None unless the error comes from a history request).

    Chunks are fetched newest first, so the bars kept are the most recent part of the range:
    ``partial`` is the frame the call would have returned for ``partial_start`` to
    ``partial_end`` (same columns, index and dtypes; empty when no request had returned);
    ``partial_end`` is the call's ``end`` (or the time "now" the call used), ``partial_start``
    the start of the newest range not fetched (``partial_end`` when nothing was fetched). The
    bars still missing are those before ``partial_start``: fetch them with
    ``end=partial_start``. ``chunks_fetched`` of ``chunks_total`` requests had returned,
    ``bars_fetched`` bars in all (``len(partial)``)."""

    partial: pd.DataFrame | None = None
    partial_start: datetime | None = None
    partial_end: datetime | None = None
    chunks_fetched: int | None = None
    chunks_total: int | None = None
    bars_fetched: int | None = None


class ConfigError(PlatformAdapterError):
    """A configuration value is missing, unknown or invalid."""

    def __init__(self, key: str, reason: str) -> None:
        self.key = key
        self.reason = reason
        super().__init__(f"config {key}: {reason}")


class NotConnected(PartialHistory, PlatformAdapterError):
    """The adapter is not connected to the gateway (or the link dropped mid-request)."""


class RequestTimeout(PartialHistory, PlatformAdapterError):
    """The gateway did not answer a synchronous request in time."""


class ContractNotFound(PlatformAdapterError):
    """IB has no security definition for the requested instrument (error 200)."""


class ValidationError(PlatformAdapterError, ValueError):
    """An argument was rejected before anything was sent to IB."""

    def __init__(self, field: str, value: Any, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"invalid {field}={value!r}: {reason}")


class PacingViolation(PartialHistory, PlatformAdapterError):
    """IB refused a request for pacing (``code``: IB's, 162 for history, 100 for the message rate;
    162 also when the wait after IB's refusal would pass the timeout), or the adapter's own pacing
    could not fit the timeout or had no room (``code`` None).

    From ``get_historical_data`` (which waits out IB's violations and sends the refused request
    again, up to a small bound): what it had fetched when it gave up (:class:`PartialHistory`)."""

    def __init__(self, message: str, code: int | None = None, *, chunks_fetched: int | None = None,
                 chunks_total: int | None = None, bars_fetched: int | None = None) -> None:
        self.code = code
        self.chunks_fetched = chunks_fetched
        self.chunks_total = chunks_total
        self.bars_fetched = bars_fetched
        super().__init__(message)


class IBError(PartialHistory, PlatformAdapterError):
    """An error message from IB for one request."""

    def __init__(self, code: int, message: str, req_id: int = -1) -> None:
        self.code = code
        self.message = message
        self.req_id = req_id
        super().__init__(f"IB error {code}: {message}")


class HistoricalQueryCancelled(IBError):
    """IB cancelled a historical data query (162 "query cancelled", e.g. a query too large for its
    service); ``get_historical_data`` retries it as smaller requests."""


class OrderRejected(IBError):
    """IB rejected an order (for example error 201); carries IB's text."""


class OrderStateError(PlatformAdapterError):
    """The order cannot be modified or cancelled in its current state (filled, cancelled, unknown)."""

    def __init__(self, order_id: int, reason: str) -> None:
        self.order_id = order_id
        self.reason = reason
        super().__init__(f"order {order_id}: {reason}")


class JournalError(PlatformAdapterError):
    """The order journal could not record a new order (its database refused the row): the order
    was not sent to IB and is not kept."""


class LiveTradingRefused(PlatformAdapterError):
    """An order was refused because the connection is a live account and live trading is off."""


class GatewayConfigError(ConfigError):
    """The gateway ended the session for a reason no retry fixes (IB 501 already connected, 503
    TWS too old): ``connect()`` raises it, naming the code and what to do; no reconnect follows."""

    def __init__(self, code: int, message: str, remedy: str) -> None:
        self.code = code
        self.message = message
        super().__init__("ib_connection", f"IB {code}: {message} ({remedy})")


class SubscriptionLimitExceeded(PlatformAdapterError):
    """A market-data line would pass the configured cap ``max_simultaneous_subscriptions``
    (``code`` None), or IB refused lines with 101, max number of tickers reached (``code`` 101;
    ``symbols`` are the refused lines' instruments)."""

    def __init__(self, message: str, code: int | None = None, symbols: tuple[str, ...] = ()) -> None:
        self.code = code
        self.symbols = symbols
        super().__init__(message)


__all__ = [
    "ConfigError",
    "ContractNotFound",
    "GatewayConfigError",
    "IBError",
    "LiveTradingRefused",
    "NotConnected",
    "OrderRejected",
    "OrderStateError",
    "PacingViolation",
    "PlatformAdapterError",
    "RequestTimeout",
    "SubscriptionLimitExceeded",
    "ValidationError",
]
