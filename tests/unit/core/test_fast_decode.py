"""The fast path must make exactly the handler calls ibapi's Decoder makes through the Wrapper, or
decline the frame with nothing delivered."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from platform_adapter.core.fast_decode import FAST_MESSAGES, build_frame_fast_path
from tests.handlers import Recording, fast_calls, ibapi_calls
from tests.recorded import RECORDED_TWS

FIXTURES = RECORDED_TWS


def run_both(frame: bytes, server_version: int) -> tuple[bool, list[Any], list[Any], bool]:
    """(fast path took it, its calls, the calls through ibapi's decoder, ibapi raised) for one text
    frame (its first field is the message id)."""
    ref_calls, raised = ibapi_calls(frame, server_version)
    if int(frame[:frame.index(b"\0")]) not in FAST_MESSAGES:
        return False, [], ref_calls, raised
    took, calls = fast_calls(frame, server_version)
    return took, calls, ref_calls, raised


def assert_equivalent(frame: bytes, server_version: int) -> bool:
    took, calls, ref_calls, raised = run_both(frame, server_version)
    if took:
        assert not raised, f"fast path accepted a frame ibapi rejects: {frame!r}"
        assert calls == ref_calls, frame  # both empty only for a tickSize of type NOT_SET (111)
    else:
        assert calls == [], "a declined frame must deliver nothing"
    return took


def make_frame(fields: list[bytes]) -> bytes:
    return b"".join(f + b"\0" for f in fields)


# --- generated frames ------------------------------------------------------------------------------
ints = st.integers(-(2**40), 2**40).map(lambda i: str(i).encode())
small_ints = st.integers(0, 200).map(lambda i: str(i).encode())
floats = st.floats(allow_nan=True, allow_infinity=True).map(lambda x: repr(x).encode())
prices = st.one_of(floats, st.decimals(allow_nan=False, allow_infinity=False, places=4).map(lambda d: str(d).encode()),
                   st.just(b"1.7976931348623157E308"), st.just(b"-1"), st.just(b""), st.just(b"Infinity"))
sizes = st.one_of(st.integers(0, 10**12).map(lambda i: str(i).encode()),
                  st.decimals(allow_nan=False, allow_infinity=False).map(lambda d: str(d).encode()),
                  st.sampled_from([b"", b"2147483647", b"9223372036854775807", b"1.7976931348623157E308",
                                   b"-9223372036854775808", b"0", b"100", b"1e3", b"0.5"]))
no_nul = st.characters(codec="utf-8", blacklist_characters="\0")
strip_nul = st.binary(max_size=6).map(lambda b: b.replace(b"\0", b""))
junk = st.one_of(strip_nul, st.sampled_from([b"abc", b"1.5", b" 7 ", b"\xff", b"\\u0041", b"-",
                                                          b"nan", b"1_0", b"\xa05", b"\xc3\xa9"]))
masks = st.integers(0, 15).map(lambda i: str(i).encode())
tick_types = st.one_of(st.sampled_from([0, 1, 2, 3, 4, 5, 8, 9, 45, 48, 66, 67, 68, 69, 70, 71, 111]),
                       st.integers(-2, 120)).map(lambda i: str(i).encode())
text = st.one_of(st.text(no_nul, max_size=12).map(lambda s: s.encode()), junk)
versions = st.integers(157, 200)


def maybe_junk(strategy: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    return st.one_of(strategy, strategy, strategy, junk)


@st.composite
def good_frames(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["price", "size", "generic", "string", "bar", "tbt_last", "tbt_bidask", "tbt_mid"]))
    req = draw(ints)
    if kind == "price":
        return make_frame([b"1", draw(small_ints), req, draw(tick_types), draw(prices), draw(sizes), draw(masks)])
    if kind == "size":
        return make_frame([b"2", draw(small_ints), req, draw(tick_types), draw(sizes)])
    if kind == "generic":
        return make_frame([b"45", b"6", req, draw(tick_types), draw(prices.filter(bool))])
    if kind == "string":
        value = draw(st.text(no_nul, max_size=20)).encode()
        return make_frame([b"46", b"6", req, draw(tick_types), value])
    if kind == "bar":
        return make_frame([b"50", b"3", req, draw(ints), draw(prices), draw(prices), draw(prices), draw(prices),
                           draw(sizes), draw(sizes), draw(ints)])
    if kind == "tbt_last":
        return make_frame([b"99", req, draw(st.sampled_from([b"1", b"2"])), draw(ints), draw(prices), draw(sizes),
                           draw(masks), draw(text), draw(text)])
    if kind == "tbt_bidask":
        return make_frame([b"99", req, b"3", draw(ints), draw(prices), draw(prices), draw(sizes), draw(sizes),
                           draw(masks)])
    return make_frame([b"99", req, b"4", draw(ints), draw(prices)])


@st.composite
def fuzzed_frames(draw: st.DrawFn) -> bytes:
    """Frames of the fast messages with random fields (possibly junk) and random field counts."""
    msg_id = draw(st.sampled_from([b"1", b"2", b"45", b"46", b"50", b"99", b"3", b"4"]))
    field = st.one_of(maybe_junk(ints), maybe_junk(prices), maybe_junk(sizes), tick_types, masks, text)
    return make_frame([msg_id, *draw(st.lists(field, max_size=12))])


@settings(max_examples=600, deadline=None)
@given(frame=good_frames(), server_version=versions)
def test_well_formed_frames_are_taken_and_match_ibapi(frame: bytes, server_version: int) -> None:
    took, fast_calls, ref_calls, raised = run_both(frame, server_version)
    if raised or not ref_calls:
        assert not took or (fast_calls == ref_calls and not raised)
        return
    assert took, f"well-formed frame declined: {frame!r}"
    assert fast_calls == ref_calls


@settings(max_examples=800, deadline=None)
@given(frame=fuzzed_frames(), server_version=st.integers(100, 200))
def test_any_frame_is_either_identical_or_declined(frame: bytes, server_version: int) -> None:
    assert_equivalent(frame, server_version)


@pytest.mark.parametrize("server_version", [100, 108, 109, 131, 132, 152, 153, 157, 176, 200])
@pytest.mark.parametrize("tick_type", [b"1", b"2", b"4", b"66", b"67", b"68", b"9", b"111"])
@pytest.mark.parametrize("mask", [b"0", b"1", b"2", b"3", b"4", b"7"])
def test_tick_price_companion_size_and_attrib_per_version(server_version: int, tick_type: bytes,
                                                           mask: bytes) -> None:
    frame = make_frame([b"1", b"6", b"17", tick_type, b"101.25", b"300", mask])
    took, fast_calls, ref_calls, raised = run_both(frame, server_version)
    assert took and not raised and fast_calls == ref_calls
    expect_size = tick_type in (b"1", b"2", b"4", b"66", b"67", b"68")
    assert [c[0] for c in fast_calls] == ["tick_price"] + (["tick_size"] if expect_size else [])


def test_unset_sizes_become_unset_decimal() -> None:
    for raw in (b"", b"2147483647", b"9223372036854775807", b"1.7976931348623157E308", b"-9223372036854775808"):
        took, fast_calls, ref_calls, _ = run_both(make_frame([b"2", b"6", b"5", b"0", raw]), 176)
        assert took and fast_calls == ref_calls
        assert fast_calls[0][1][2] == ("Decimal", repr(Decimal(2**127 - 1)))


def test_declines_what_it_does_not_know() -> None:
    rec = Recording()
    fast = build_frame_fast_path(rec.wrapper, 176)
    assert fast is not None
    assert not fast.decode(make_frame([b"99", b"1", b"0", b"1700000000"]))  # tick-by-tick type "none"
    assert not fast.decode(make_frame([b"99", b"1", b"7", b"1700000000", b"1.0"]))  # unknown type
    assert not fast.decode(make_frame([b"1", b"6", b"1", b"1", b"1.0", b"1"]))  # a field short
    assert not fast.decode(make_frame([b"1", b"6", b"1", b"1", b"abc", b"1", b"0"]))  # bad price
    assert not fast.decode(make_frame([b"9", b"1", b"5"]))  # not a fast message
    assert not fast.decode(make_frame([b"01", b"6", b"1", b"1", b"1.5", b"2", b"0"]))  # unusual id spelling
    for odd in (b"", b"1", b"1\0", b"450\0" + b"1\0" * 5, b"7\0" + b"1\0" * 5):
        assert not fast.decode(odd)
    fast.flush()
    assert rec.calls == []
    assert build_frame_fast_path(rec.wrapper, 99) is None  # below ibapi's minimum (201+: test_fast_decode_binary.py)
    assert math.isinf(float(b"Infinity"))


@pytest.mark.parametrize("frame, method", [
    (make_frame([b"1", b"6", b"1", b"1", b"1.5", b"2", b"0"]), "quote_ticks"),
    (make_frame([b"45", b"6", b"1", b"49", b"1.5"]), "tick_generic"),
    (make_frame([b"46", b"6", b"1", b"45", b"1700000000"]), "tick_string"),
    (make_frame([b"50", b"3", b"1", b"1700000000", b"1", b"2", b"0.5", b"1.5", b"10", b"1.2", b"3"]), "realtime_bar"),
    (make_frame([b"99", b"1", b"4", b"1700000000", b"1.5"]), "tick_by_tick_mid_point"),
    (make_frame([b"99", b"1", b"3", b"1700000000", b"1.5", b"1.6", b"1", b"2", b"0"]), "tick_by_tick_bid_ask"),
    (make_frame([b"99", b"1", b"1", b"1700000000", b"1.5", b"1", b"0", b"X", b""]), "tick_by_tick_all_last"),
])
def test_handler_errors_are_counted_not_taken_as_declines(frame: bytes, method: str) -> None:
    """A handler that raises is counted and logged, as on the Wrapper's route; the frame was taken
    (declining it would deliver it a second time through ibapi's decoder)."""
    rec = Recording()

    def boom(*_: Any) -> None:
        raise ValueError("handler failed")

    setattr(rec.market_data, method, boom)
    fast = build_frame_fast_path(rec.wrapper, 176)
    assert fast is not None
    assert fast.decode(frame)
    fast.flush()
    assert rec.wrapper.callback_errors == 1


# --- recorded frames from real gateways -------------------------------------------------------------
def test_recorded_nautilus_v176_frames() -> None:
    taken = 0
    for path in sorted((FIXTURES / "nautilus_paper_v176").glob("*.txt")):
        frame = path.read_bytes().replace(b"\\x00", b"\0")  # README: one message per file
        msg_id = int(frame[:frame.index(b"\0")])
        took = assert_equivalent(frame, 176)
        assert took == (msg_id in FAST_MESSAGES), path.name
        taken += took
    assert taken >= 2  # the quote_tick_* tick-by-tick bid/ask messages


def test_recorded_rust_ibapi_v173_frames() -> None:
    data = json.loads((FIXTURES / "rust_ibapi_v173" / "transport_exchanges.json").read_text())
    checked = 0
    exchanges = [x for v in data.values() if isinstance(v, list) for x in v if isinstance(x, dict)]
    for exchange in exchanges:
        for response in exchange.get("responses", ()):
            if isinstance(response, list) and len(response) > 2:
                assert_equivalent(make_frame([str(f).encode() for f in response]), 173)
                checked += 1
    assert checked > 0
