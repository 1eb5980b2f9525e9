"""Envelopes and typed errors: every refusal names why (and the request id when it was readable),
and every library error crosses the wire as the same class with the same attributes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import msgpack
import pandas as pd
import pytest

from platform_adapter import errors
from platform_adapter.adapters.market.historical import COLUMNS, empty_frame, with_partial
from platform_adapter.models import ContractSpec, SecType, TickByTickKind
from platform_adapter.service.protocol import (
    MAX_MESSAGE_BYTES,
    SCHEMA_VERSION,
    ErrorCode,
    ProtocolError,
    RequestError,
    bar_line,
    encode_request,
    error_from_map,
    error_map,
    error_reply,
    instrument_key,
    parse_request,
    quote_line,
    tick_line,
)
from platform_adapter.service.schema import pack, unpack
from platform_adapter.utils.validators import check_tbt_kind


def test_a_request_round_trips() -> None:
    frame = encode_request(7, "orders.place_order", {"symbol": "AAPL", "quantity": 100}, "tok")
    req = parse_request(frame)
    assert (req.id, req.cmd, req.session, req.args) == (7, "orders.place_order", "tok", {"symbol": "AAPL",
                                                                                         "quantity": 100})
    assert parse_request(encode_request(1, "hello", {})).session is None


def test_a_requests_decimal_stays_a_decimal_and_its_text_a_text() -> None:
    """(before: both arrived as the text "100.25": the facade refused the Decimal price remotely)"""
    args = {"quantity": Decimal("10"), "kwargs": {"limit_price": Decimal("100.25"), "stop_price": "99"}}
    got = parse_request(encode_request(2, "orders.place_order", args, "tok")).args
    assert got == args and type(got["kwargs"]["limit_price"]) is Decimal and type(got["kwargs"]["stop_price"]) is str


@pytest.mark.parametrize(("frame", "code", "req_id"), [
    (b"\xc1garbage", ErrorCode.MALFORMED, None),
    (pack([1, 2, 3]), ErrorCode.MALFORMED, None),
    (pack({"v": SCHEMA_VERSION, "cmd": "ping"}), ErrorCode.MALFORMED, None),
    (pack({"v": SCHEMA_VERSION, "id": "7", "cmd": "ping"}), ErrorCode.MALFORMED, None),
    (pack({"v": 99, "id": 3, "cmd": "ping"}), ErrorCode.UNSUPPORTED_VERSION, 3),
    (pack({"v": SCHEMA_VERSION, "id": 4, "cmd": 5}), ErrorCode.MALFORMED, 4),
    (pack({"v": SCHEMA_VERSION, "id": 5, "cmd": "ping", "args": [1]}), ErrorCode.MALFORMED, 5),
    (pack({"v": SCHEMA_VERSION, "id": 6, "cmd": "ping", "session": 1}), ErrorCode.MALFORMED, 6),
    (b"\x00" * (MAX_MESSAGE_BYTES + 1), ErrorCode.TOO_LARGE, None),
    (msgpack.packb({"v": SCHEMA_VERSION, "id": 8, "cmd": "ping", "args": {"x": msgpack.ExtType(1, b"1.2.3")}}),
     ErrorCode.MALFORMED, None),  # a Decimal extension that holds no decimal: the frame is not readable
])
def test_bad_frames_are_refused_with_a_code(frame: bytes, code: ErrorCode, req_id: int | None) -> None:
    with pytest.raises((ProtocolError, RequestError)) as info:
        parse_request(frame)
    exc = info.value
    error = exc.error if isinstance(exc, RequestError) else exc
    assert isinstance(error, ProtocolError) and error.code is code
    assert (exc.req_id if isinstance(exc, RequestError) else None) == req_id


EXAMPLES = [
    errors.ValidationError("quantity", -1, "must be positive"),
    errors.ValidationError("callback", object(), "must be callable"),
    errors.OrderRejected(201, "Order rejected - reason: margin", 12),
    errors.IBError(354, "Requested market data is not subscribed", 4),
    errors.OrderStateError(5, "unknown order"),
    errors.SubscriptionLimitExceeded("max tickers", 101, ("AAPL", "MSFT")),
    errors.GatewayConfigError(501, "Already connected", "use another client id"),
    errors.ConfigError("ib_connection.port", "must be positive"),
    errors.NotConnected("down"),
    errors.RequestTimeout("slow"),
    errors.ContractNotFound("no such symbol"),
    errors.PacingViolation("too fast"),
    errors.PacingViolation("IB 162: pacing violation (2 of 5 requests fetched, 40 bars, before it)", 162,
                           chunks_fetched=2, chunks_total=5, bars_fetched=40),
    errors.LiveTradingRefused("live"),
    errors.HistoricalQueryCancelled(162, "query cancelled", 3),
    ProtocolError(ErrorCode.UNKNOWN_COMMAND, "no command 'x'"),
]


@pytest.mark.parametrize("exc", EXAMPLES, ids=lambda e: type(e).__name__)
def test_errors_cross_as_the_same_class_message_and_attributes(exc: Exception) -> None:
    back = error_from_map(unpack(pack(error_map(exc))))
    assert type(back) is type(exc) and str(back) == str(exc)
    for name, value in vars(exc).items():
        expected = repr(value) if name == "value" and type(value) is object else value
        assert getattr(back, name) == expected, name


def partial_error(frame: pd.DataFrame) -> errors.IBError:
    start = datetime(2026, 1, 7, 15, 0, tzinfo=timezone.utc)
    return with_partial(errors.IBError(321, "bad", 4), frame, start, start + timedelta(minutes=5), 1, 3)


@pytest.mark.parametrize("rows", [0, 3])
def test_the_bars_a_failed_history_kept_cross_as_the_same_frame(rows: int) -> None:
    """PartialHistory's frame travels as the service's frames do: same index, columns, dtypes and
    missing values (an empty frame as the empty frame)."""
    times = pd.DatetimeIndex([datetime(2026, 1, 7, 15, i, tzinfo=timezone.utc) for i in range(rows)], name="time")
    frame = pd.DataFrame({c: [float("nan") if c == "wap" else 1.5] * rows for c in COLUMNS[:-1]}, index=times)
    frame["bar_count"] = pd.array([None] * rows, dtype="Int64")
    exc = partial_error(frame if rows else empty_frame())
    wire = unpack(pack(error_map(exc)))
    assert wire["frames"] == ["partial"]
    back = error_from_map(wire)
    assert type(back) is errors.IBError and str(back) == str(exc) and back.code == 321
    assert (back.partial_start, back.partial_end, back.chunks_fetched, back.bars_fetched) == (
        exc.partial_start, exc.partial_end, 1, rows)
    assert back.partial is not None
    pd.testing.assert_frame_equal(back.partial, exc.partial)
    assert "frames" not in error_map(errors.IBError(321, "bad")) and error_from_map(
        error_map(errors.IBError(321, "bad"))).partial is None


def test_a_mangled_partial_frame_leaves_the_error_without_it() -> None:
    wire = error_map(partial_error(empty_frame()))
    wire["attributes"]["partial"] = {"columns": {"open": [1.0]}, "index": []}  # a value with no time
    back = error_from_map(wire)
    assert type(back) is errors.IBError and back.code == 321 and back.partial is None
    assert back.chunks_fetched == 1


def test_an_error_carries_a_decimal_as_the_extension_only_when_asked() -> None:
    exc = errors.ValidationError("limit_price", Decimal("-1.50"), "must be positive")
    plain = msgpack.unpackb(error_reply(3, exc), raw=False)["error"]["attributes"]["value"]
    exact = msgpack.unpackb(error_reply(3, exc, decimal_ext=True), raw=False)["error"]["attributes"]["value"]
    assert (plain, exact) == ("-1.50", msgpack.ExtType(1, b"-1.50"))
    back = error_from_map(unpack(error_reply(3, exc, decimal_ext=True))["error"])
    assert (back.value, str(back)) == (Decimal("-1.50"), str(exc))  # type: ignore[attr-defined]


def test_anything_else_is_an_internal_error_reply() -> None:
    reply = msgpack.unpackb(error_reply(9, KeyError("boom")), raw=False)
    assert reply["id"] == 9 and reply["ok"] is False
    assert reply["error"]["type"] == "ProtocolError" and reply["error"]["attributes"]["code"] == "internal"
    assert isinstance(error_from_map({"type": "NoSuchError", "message": "x"}), errors.PlatformAdapterError)
    bad = error_from_map({"type": "ProtocolError", "message": "x", "attributes": {"code": "from-the-future"}})
    assert isinstance(bad, ProtocolError) and bad.code is ErrorCode.INTERNAL


def test_line_ids_use_the_facades_instrument_keys() -> None:
    assert instrument_key(" aapl ") == "AAPL"
    assert instrument_key(ContractSpec("EUR", SecType.FOREX, "IDEALPRO")) == "EUR.USD"
    with pytest.raises(errors.ValidationError, match="symbols"):
        instrument_key("", "symbols")
    assert quote_line("AAPL") == "quotes|AAPL"
    assert bar_line("AAPL", "midpoint", True) == "bars|AAPL|MIDPOINT|1"
    assert tick_line("AAPL", check_tbt_kind("all_last")) == "ticks|AAPL|AllLast"
    assert check_tbt_kind(TickByTickKind.MID_POINT) is TickByTickKind.MID_POINT
    with pytest.raises(errors.ValidationError, match="kind"):
        check_tbt_kind("Every")
