"""The msgpack schema: every model crosses the wire and comes back equal; a value of the wrong
type is refused naming its field; a Quote's age survives the change of process clock."""

from __future__ import annotations

import dataclasses
import math
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import msgpack
import pandas as pd
import pytest

from platform_adapter.adapters.account.updates import AccountValue
from platform_adapter.models import (
    AccountSummary,
    Bar,
    ContractSpec,
    Fill,
    MarketDataType,
    Order,
    OrderAction,
    OrderRequest,
    OrderState,
    OrderStatus,
    OrderType,
    PnL,
    Position,
    Quote,
    SecType,
    TickByTick,
    TickByTickKind,
    TimeInForce,
)
from platform_adapter.service.schema import (
    DECIMAL_EXT,
    SchemaError,
    decode,
    frame_from_map,
    frame_map,
    pack,
    pack_request,
    spec_from_map,
    unpack,
    unpack_stream,
)

NOW = datetime(2026, 12, 4, 15, 30, 1, 250_000, tzinfo=timezone.utc)
FUT = ContractSpec("ES", SecType.FUTURE, "CME", "USD", last_trade_date="202703", multiplier="50", con_id=649180695)
FILL = Fill("0001.01", 7, "AAPL", "BOT", Decimal("0.5"), 190.25, NOW, perm_id=9, exchange="NASDAQ", commission=1.0,
            commission_currency="USD", realized_pnl=None, possible_duplicate=True)
STATUS = OrderStatus(7, OrderState.FILLED, Decimal("0.5"), Decimal(0), 190.25, 190.25, 9, (FILL,), "", NOW, NOW,
                     "", "")
MODELS = [
    FUT,
    Bar("AAPL", NOW, 1.0, 2.0, 0.5, 1.5, Decimal("1200"), Decimal("1.25"), 42),
    TickByTick("AAPL", TickByTickKind.BID_ASK, NOW, bid=1.0, ask=1.01, bid_size=Decimal(3), ask_size=Decimal(4)),
    FILL,
    STATUS,
    Order(7, OrderRequest(FUT, OrderAction.SELL, Decimal(2), OrderType.STOP_LIMIT, 5000.25, 5001.0, TimeInForce.DAY,
                          True, "DU1", "pa-1-x"), STATUS, 9, 3),
    Position("DU1", "ES", FUT, Decimal(-2), 5000.0, 649180695, 5001.0, -100000.0, 2.5, None),
    AccountSummary("DU1", "USD", 1e6, 5e5, None, updated_at=NOW, values={"NetLiquidation": "1000000"}),
    PnL("DU1", -2.0, None, 0.0, NOW),
    AccountValue("DU1", "CashBalance", "1000.5", "USD"),
]


@pytest.mark.parametrize("value", MODELS, ids=lambda v: type(v).__name__)
def test_every_model_round_trips(value: object) -> None:
    assert decode(type(value), unpack(pack(value))) == value


def test_wire_forms_are_language_neutral() -> None:
    raw = msgpack.unpackb(pack(FILL), raw=False, timestamp=0)  # a plain msgpack reader
    assert raw["quantity"] == "0.5"  # Decimal as text
    assert isinstance(raw["time"], msgpack.Timestamp)  # the standard Timestamp extension
    assert raw["time"].to_unix_nano() == int(NOW.timestamp()) * 10**9 + NOW.microsecond * 1000
    assert msgpack.unpackb(pack(STATUS), raw=False)["status"] == "Filled"  # enums as their values
    assert msgpack.unpackb(pack(Quote("A", market_data_type=MarketDataType.DELAYED)))["market_data_type"] == 3


DECIMALS = ["100.25", "10", "-1", "0", "-0", "0.000001", "1E+3", "1.50", "NaN", "-NaN", "sNaN", "Infinity",
            "-Infinity", "123456789012345678901234567890.123456789"]


@pytest.mark.parametrize("text", DECIMALS)
def test_a_decimal_in_a_request_arrives_as_the_same_decimal(text: str) -> None:
    """(before: a request carried a Decimal as its text, so the service could not tell
    ``Decimal("100.25")`` from ``"100.25"``, and the facade refused the text where a price belongs)"""
    sent = Decimal(text)
    args = {"quantity": sent, "kwargs": {"limit_price": sent}, "orders": [{"quantity": sent}], "text": text}
    back = unpack(pack_request(args))
    for got in (back["quantity"], back["kwargs"]["limit_price"], back["orders"][0]["quantity"]):
        assert type(got) is Decimal and str(got) == str(sent)  # sign, exponent, NaN kind and digits kept
    assert back["text"] == text and type(back["text"]) is str  # a text stays a text
    first, second = unpack_stream(pack_request(sent) + pack_request(text))  # an event frame's stream too
    assert (type(first), str(first), second) == (Decimal, str(sent), text)


def test_the_decimal_extension_is_its_ascii_text() -> None:
    raw = msgpack.unpackb(pack_request({"limit_price": Decimal("100.25")}), raw=False)  # a plain msgpack reader
    assert raw["limit_price"] == msgpack.ExtType(DECIMAL_EXT, b"100.25") and DECIMAL_EXT == 1
    assert msgpack.unpackb(pack(Decimal("100.25")), raw=False) == "100.25"  # what the service sends: text
    assert decode(Fill, unpack(pack_request(FILL))) == FILL  # a model's Decimal field takes a Decimal too


@pytest.mark.parametrize("payload", [b"", b"abc", b" 1", b"1 ", b"1_000", b"1,5", b"0x10", b"\xff1", b"1e", b".",
                                     "\u0661".encode()])
def test_a_decimal_extension_that_holds_no_decimal_text_is_refused(payload: bytes) -> None:
    frame = msgpack.packb({"q": msgpack.ExtType(DECIMAL_EXT, payload)})
    with pytest.raises(ValueError, match="Decimal"):
        unpack(frame)
    with pytest.raises(ValueError, match="Decimal"):
        unpack_stream(frame)


def test_an_unknown_extension_stays_an_ext_type() -> None:
    assert unpack(msgpack.packb([msgpack.ExtType(42, b"x")])) == [msgpack.ExtType(42, b"x")]


def test_quote_age_replaces_the_senders_monotonic_clock() -> None:
    q = Quote("AAPL", bid=1.0, bid_size=Decimal(100), time=NOW, updated_monotonic=time.monotonic() - 2.0, updates=5)
    wire = unpack(pack(q))
    assert "updated_monotonic" not in wire and wire["age"] == pytest.approx(2.0, abs=0.2)
    back = decode(Quote, wire)
    assert back.age == pytest.approx(2.0, abs=0.2)
    assert (back.bid, back.bid_size, back.updates, back.time) == (1.0, Decimal(100), 5, NOW)
    never = decode(Quote, unpack(pack(Quote("X"))))
    assert never.updated_monotonic == 0.0 and math.isinf(never.age)


@pytest.mark.parametrize(("cls", "wire", "path"), [
    (Fill, {**unpack(pack(FILL)), "quantity": [1]}, "Fill.quantity"),
    (Fill, {**unpack(pack(FILL)), "price": "190"}, "Fill.price"),
    (Fill, {**unpack(pack(FILL)), "order_id": True}, "Fill.order_id"),
    (OrderStatus, {**unpack(pack(STATUS)), "status": "Sleeping"}, "OrderStatus.status"),
    (OrderStatus, {**unpack(pack(STATUS)), "fills": "none"}, "OrderStatus.fills"),
    (ContractSpec, {"sec_type": "STK"}, "ContractSpec.symbol"),
    (Bar, [1, 2], "Bar"),
])
def test_a_wrong_type_names_its_field(cls: type, wire: object, path: str) -> None:
    with pytest.raises(SchemaError) as info:
        decode(cls, wire)
    assert info.value.path.startswith(path)


def test_extra_fields_are_ignored_and_missing_ones_default() -> None:
    assert decode(PnL, {"account": "DU1", "from_a_newer_peer": 1}) == PnL("DU1")


def test_naive_datetimes_and_unknown_objects_are_not_sent() -> None:
    with pytest.raises(TypeError, match="timezone-aware"):
        pack({"end": datetime(2026, 1, 1)})
    with pytest.raises(TypeError, match="object"):
        pack(object())


def test_a_frame_may_hold_several_objects() -> None:
    assert unpack_stream(pack({"a": 1}) + pack([2]) + pack("three")) == [{"a": 1}, [2], "three"]


def test_historical_frames_keep_index_columns_and_dtypes() -> None:
    index = pd.DatetimeIndex([NOW, NOW + timedelta(hours=1)], name="time")
    frame = pd.DataFrame({"open": [1.0, float("nan")], "volume": [10.0, 20.0],
                          "bar_count": pd.array([3, None], dtype="Int64")}, index=index)
    back = frame_from_map(unpack(pack(frame_map(frame))))
    pd.testing.assert_frame_equal(back, frame, check_index_type=False)
    assert str(back.index.tz) == "UTC" and back.index.name == "time"
    empty = frame.iloc[:0]
    assert frame_from_map(unpack(pack(frame_map(empty)))).columns.tolist() == ["open", "volume", "bar_count"]
    with pytest.raises(SchemaError):
        frame_from_map({"columns": {"open": [1.0]}, "index": [], "dtypes": {}})


@dataclasses.dataclass(frozen=True, slots=True)
class _Greeks:
    delta: float
    implied_vol: float | None = None


_GreekQuote = dataclasses.make_dataclass("_GreekQuote", [("greeks", _Greeks | None, dataclasses.field(default=None))],
                                         bases=(Quote,), frozen=True, slots=True)


def test_every_quote_field_travels_and_a_new_optional_one_passes_through() -> None:
    """Quote is encoded from its dataclass fields: one added later (here option greeks, a
    nested model) crosses the wire without a schema change; a peer without it gets the default."""
    fields = {f.name for f in dataclasses.fields(Quote)}
    assert set(unpack(pack(Quote("A")))) == fields - {"updated_monotonic"} | {"age"}
    q = _GreekQuote("AAPL", bid=1.0, time=NOW, updated_monotonic=time.monotonic(), greeks=_Greeks(0.5, 0.2))
    wire = unpack(pack(q))
    assert wire["greeks"] == {"delta": 0.5, "implied_vol": 0.2}
    back = decode(_GreekQuote, wire)
    assert (back.greeks, back.bid, back.time) == (_Greeks(0.5, 0.2), 1.0, NOW) and back.age < 1.0
    assert decode(_GreekQuote, unpack(pack(Quote("AAPL", bid=1.0)))).greeks is None  # an older peer's quote
    assert decode(Quote, wire).bid == 1.0  # an older reader ignores it


@pytest.mark.parametrize("spec", [
    FUT, ContractSpec("AAPL", "STK"),  # type: ignore[arg-type]
    ContractSpec("EUR", SecType.FOREX, "IDEALPRO", 5, con_id="x", strike=[1]),  # type: ignore[arg-type]
    ContractSpec("AAPL", "NOPE"), ContractSpec(None, 7)])  # type: ignore[arg-type]
def test_a_contract_spec_map_comes_back_as_it_was(spec: ContractSpec) -> None:
    """Its fields as they are, bad ones too (the facade judges them); a plain-text ``sec_type``
    stays text (``raw_sec_type``), a SecType's value becomes the SecType again."""
    back = spec_from_map(unpack(pack(spec)))
    assert back == spec and repr(back) == repr(spec)
    assert type(back.sec_type) is type(spec.sec_type)


def test_a_foreign_spec_map_names_its_sec_type_by_text() -> None:
    assert spec_from_map({"symbol": "AAPL", "sec_type": "STK", "new_field": 1}).sec_type is SecType.STOCK
    assert spec_from_map({"symbol": "AAPL", "sec_type": "STK", "raw_sec_type": True}).sec_type == "STK"
    with pytest.raises(KeyError):
        spec_from_map({"sec_type": "STK"})
