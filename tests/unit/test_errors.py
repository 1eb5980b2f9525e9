"""One hierarchy: every error is a PlatformAdapterError; the structured ones keep their fields and
say them in one line."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

import platform_adapter.errors as errors
from platform_adapter.adapters.market.historical import COLUMNS, empty_frame, with_partial
from platform_adapter.errors import (
    ConfigError,
    GatewayConfigError,
    HistoricalQueryCancelled,
    IBError,
    NotConnected,
    OrderRejected,
    OrderStateError,
    PacingViolation,
    PartialHistory,
    PlatformAdapterError,
    RequestTimeout,
    SubscriptionLimitExceeded,
    ValidationError,
)


@pytest.mark.parametrize("name", errors.__all__)
def test_every_exported_error_is_a_platform_adapter_error(name: str) -> None:
    assert issubclass(getattr(errors, name), PlatformAdapterError)


def test_messages_and_fields() -> None:
    assert str(ConfigError("ib_connection.port", "must be 1-65535")) == "config ib_connection.port: must be 1-65535"
    v = ValidationError("quantity", -1, "must be positive")
    assert isinstance(v, ValueError) and (v.field, v.value) == ("quantity", -1)
    assert str(v) == "invalid quantity=-1: must be positive"
    e = IBError(200, "No security definition", req_id=9)
    assert (e.code, e.req_id, str(e)) == (200, 9, "IB error 200: No security definition")
    assert issubclass(OrderRejected, IBError) and issubclass(HistoricalQueryCancelled, IBError)
    assert str(OrderStateError(7, "already filled")) == "order 7: already filled"


def test_gateway_config_error_names_code_and_remedy() -> None:
    g = GatewayConfigError(503, "TWS too old", "update TWS / IB Gateway")
    assert isinstance(g, ConfigError) and g.key == "ib_connection" and g.code == 503
    assert str(g) == "config ib_connection: IB 503: TWS too old (update TWS / IB Gateway)"


def test_subscription_limit_carries_ib_code_and_symbols() -> None:
    own = SubscriptionLimitExceeded("cap of 50 lines reached")
    refused = SubscriptionLimitExceeded("max number of tickers reached", code=101, symbols=("AAPL",))
    assert (own.code, own.symbols) == (None, ())
    assert (refused.code, refused.symbols, str(refused)) == (101, ("AAPL",), "max number of tickers reached")


PARTIAL_FIELDS = ("partial", "partial_start", "partial_end", "chunks_fetched", "chunks_total", "bars_fetched")


@pytest.mark.parametrize("exc", [NotConnected("link down"), RequestTimeout("no answer"), PacingViolation("162", 162),
                                 IBError(321, "bad request"), HistoricalQueryCancelled(162, "query cancelled"),
                                 OrderRejected(201, "rejected")])
def test_history_errors_carry_no_partial_bars_elsewhere(exc: PlatformAdapterError) -> None:
    """The errors a history fetch can raise part-way have the fields of PartialHistory, None when
    they come from anything else; their constructors are unchanged."""
    assert isinstance(exc, PartialHistory)
    assert all(getattr(exc, name) is None for name in PARTIAL_FIELDS)


def test_a_copy_with_partial_bars_keeps_the_class_and_fields_and_leaves_the_shared_error_alone() -> None:
    """The registry fails every pending request with one error object: the fetch's copy carries
    its bars, the original (other waiters') does not."""
    shared = IBError(321, "Error validating request", req_id=7)
    frame = bars_frame(3)
    start, end = frame.index[0].to_pydatetime(), frame.index[-1].to_pydatetime() + timedelta(minutes=1)
    copy = with_partial(shared, frame, start, end, fetched=2, total=5)
    assert type(copy) is IBError and isinstance(copy, PartialHistory)
    assert (copy.code, copy.message, copy.req_id) == (321, "Error validating request", 7)
    assert str(copy) == "IB error 321: Error validating request (2 of 5 requests fetched, 3 bars, before it)"
    assert copy.partial is frame and (copy.partial_start, copy.partial_end) == (start, end)
    assert (copy.chunks_fetched, copy.chunks_total, copy.bars_fetched) == (2, 5, 3)
    assert shared.partial is None and str(shared) == "IB error 321: Error validating request"
    nothing = with_partial(NotConnected("IB 1100"), empty_frame(), end, end, fetched=0, total=1)
    assert isinstance(nothing, NotConnected) and nothing.partial is not None and nothing.partial.empty
    assert (nothing.partial_start, nothing.bars_fetched, str(nothing)) == (
        end, 0, "IB 1100 (0 of 1 requests fetched, 0 bars, before it)")


def bars_frame(n: int) -> pd.DataFrame:
    """``n`` one-minute bars in the shape get_historical_data returns."""
    times = [datetime(2026, 1, 7, 15, i, tzinfo=timezone.utc) for i in range(n)]
    frame = pd.DataFrame({c: [float(i) for i in range(n)] for c in COLUMNS[:-1]},
                         index=pd.DatetimeIndex(times, name="time"))
    frame["bar_count"] = pd.array(list(range(n)), dtype="Int64")
    return frame
