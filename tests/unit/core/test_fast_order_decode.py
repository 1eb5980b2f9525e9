"""openOrder/orderStatus fast path: the same handler call with equal objects as ibapi's Decoder through
the Wrapper, or a decline with nothing delivered.

Besides the simulator's and the recorded frames, frames are generated without any knowledge of the
layout: ibapi's own decoder is run over a field source that invents each field when ibapi asks
for it, typed by what ibapi asks for (``decode(int, ...)``, ``decode(float, ..., SHOW_UNSET)``,
...). The fields it consumed are the frame. So every branch ibapi takes (counts, "None" strings,
version checks) is followed by the generator itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import ibapi.decoder
import ibapi.orderdecoder
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ibapi.decoder import Decoder

from platform_adapter.core.fast_order_decode import build_order_fast_path
from platform_adapter.sim import messages
from platform_adapter.sim.contracts import UNIVERSE
from platform_adapter.sim.orders import SimOrder
from platform_adapter.sim.protocol import payload
from tests.handlers import Recording
from tests.unit.core.test_fast_decode import assert_equivalent, make_frame, run_both

# well-formed values, zero counts and "false" weighted up so that many frames have the common shape
_INTS = [b"0"] * 30 + [b"", b"", b"1", b"2", b"-1", b"2147483647", b"9223372036854775807", b" 3 ", b"1_0"]
_FLOATS = [b"", b"", b"0", b"0.0", b"1.5", b"-2.25", b"1.7976931348623157E308", b"Infinity", b"-Infinity",
           b"nan", b"1e-5", b"1_0.5", b"2147483647", b" 7 "]
_TEXT = [b"", b"", b"", b"None", b"SMART", b"AAPL", b"DU123", b"a b", b"?", b"0", b"PEG BENCH", b"\\x"]
_BOOLS = [b"0"] * 20 + [b"1", b"", b"2", b"-1"]
_SIZES = [b"", b"0", b"100", b"1.5", b"2147483647", b"9223372036854775807", b"1.7976931348623157E308",
          b"-9223372036854775808", b"1e3", b" 5 "]
_JUNK = [b"x", b"abc", b"caf\xc3\xa9", b"\xff", b"true", b"1.5.5", b"--1", b"\xc2\xa05"]


def hypothesis_draw(data: st.DataObject) -> Callable[[list[bytes]], bytes]:
    """Well-formed values, and now and then (1 in 150) junk."""
    def draw(pool: list[bytes]) -> bytes:
        return data.draw(st.sampled_from(_JUNK if data.draw(st.integers(0, 149)) == 0 else pool))
    return draw


class InventedFields:
    """A field source for ibapi's decoder: each field is drawn when the decoder asks for it."""

    def __init__(self, draw: Callable[[list[bytes]], bytes]) -> None:
        self.draw = draw
        self.fields: list[bytes] = []

    def take(self, pool: list[bytes]) -> bytes:
        if len(self.fields) >= 400:  # a huge count drawn: end the frame (ibapi: "no more fields")
            raise StopIteration
        value = self.draw(pool)
        self.fields.append(value)
        return value

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:  # a caller that reads without a type (order conditions)
        return self.take(_INTS)


_real_decode = ibapi.orderdecoder.decode


def _typed_decode(the_type: Any, fields: Any, show_unset: bool = False, use_unicode: bool = False) -> Any:
    if isinstance(fields, InventedFields):
        pool = {int: _INTS, float: _FLOATS, str: _TEXT, bool: _BOOLS, Decimal: _SIZES}[the_type]
        fields = iter([fields.take(pool)])
    return _real_decode(the_type, fields, show_unset, use_unicode)


def invent_frame(msg_id: int, server_version: int, draw: Callable[[list[bytes]], bytes]) -> bytes:
    source = InventedFields(draw)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ibapi.orderdecoder, "decode", _typed_decode)
        patch.setattr(ibapi.decoder, "decode", _typed_decode)
        decoder = Decoder(Recording().wrapper, server_version)
        try:
            decoder.interpret(source, msg_id)  # type: ignore[arg-type]
        except Exception:  # noqa: BLE001 - a frame ibapi rejects is a frame to compare too
            pass
    return make_frame([str(msg_id).encode(), *source.fields])


@settings(max_examples=500, deadline=None)
@given(data=st.data(), server_version=st.integers(140, 200), msg_id=st.sampled_from([5, 5, 5, 3]),
       extra=st.lists(st.sampled_from([b"", b"0", b"x"]), max_size=2))
def test_invented_frames_are_decoded_like_ibapi_or_declined(data: st.DataObject, server_version: int,
                                                            msg_id: int, extra: list[bytes]) -> None:
    frame = invent_frame(msg_id, server_version, hypothesis_draw(data))
    frame += b"".join(f + b"\0" for f in extra)  # ibapi ignores trailing fields; so must we
    assert_equivalent(frame, server_version)
    cut = data.draw(st.integers(1, frame.count(b"\0")))
    short = b"".join(f + b"\0" for f in frame.split(b"\0")[:cut])  # a truncated frame
    assert_equivalent(short, server_version)


def _plain(pool: list[bytes]) -> bytes:
    """The first value of each pool: zero counts, empty text."""
    return pool[0]


@pytest.mark.parametrize("server_version", range(145, 201))
def test_plain_frames_of_every_version_are_taken(server_version: int) -> None:
    for msg_id in (5, 3):
        frame = invent_frame(msg_id, server_version, _plain)
        took, fast_calls, ref_calls, raised = run_both(frame, server_version)
        assert took and not raised and fast_calls == ref_calls and len(ref_calls) == 1


@pytest.mark.parametrize("server_version", [176, 200])
def test_every_single_field_change_is_decoded_like_ibapi_or_declined(server_version: int) -> None:
    """Each field of a real-shaped openOrder replaced in turn: counts, flags, "PEG BENCH", junk."""
    order, contract = _sim_orders()[0]
    fields = payload(messages.open_order(server_version, order, contract).text).split(b"\0")[:-1]
    outcomes = {True: 0, False: 0}
    for i in range(1, len(fields)):
        for value in (b"1", b"3", b"", b"x", b"None", b"PEG BENCH", b"1.5"):
            outcomes[assert_equivalent(make_frame([*fields[:i], value, *fields[i + 1:]]), server_version)] += 1
    assert outcomes[True] > len(fields) and outcomes[False] > len(fields)  # both paths well exercised


def _sim_orders() -> list[tuple[SimOrder, Any]]:
    aapl, es, eur = UNIVERSE[0], UNIVERSE[4], UNIVERSE[5]
    return [
        (SimOrder(7, 3, 1351823000, aapl.con_id, "BUY", 100, "LMT", 189.5, account="DU1", order_ref="pa-1",
                  status="Submitted"), aapl),
        (SimOrder(8, 3, 1351823001, aapl.con_id, "SELL", 1.5, "MKT", tif="IOC", status="Filled", filled=1.5,
                  avg_fill_price=190.25), aapl),
        (SimOrder(9, 0, 1351823002, es.con_id, "BUY", 2, "STP LMT", 5301.25, 5300.0, tif="GTC",
                  outside_rth=True, status="PreSubmitted"), es),
        (SimOrder(10, 3, 1351823003, eur.con_id, "SELL", 20000, "STP", None, 1.0825, status="Cancelled",
                  parent_id=9), eur),
    ]


@pytest.mark.parametrize("server_version", [145, 148, 151, 156, 157, 158, 160, 162, 170, 176, 177, 189, 193, 195, 198,
                                            199, 200])
def test_simulator_order_messages_are_taken_and_identical(server_version: int) -> None:
    for order, contract in _sim_orders():
        for msg in (messages.open_order(server_version, order, contract), messages.order_status(order, "locate")):
            fields = msg.text
            took, fast_calls, ref_calls, raised = run_both(payload(fields), server_version)
            assert took and not raised and fast_calls == ref_calls, fields[:2]


def test_declines_unusual_frames_and_versions() -> None:
    order, contract = _sim_orders()[0]
    frame = payload(messages.open_order(176, order, contract).text)
    assert assert_equivalent(frame, 176)
    assert not assert_equivalent(frame, 144)  # its own version field below 145: ibapi decodes it
    for odd in (frame.replace(b"pa-1", b"caf\xc3\xa9"), frame[:-40]):  # not ASCII; short
        assert not assert_equivalent(odd, 176)
    assert build_order_fast_path(Recording().wrapper, 226) is not None  # text frames with a binary id
    assert build_order_fast_path(Recording().wrapper, 144) is None


def test_decoded_objects_share_no_mutable_state() -> None:
    rec = Recording()
    seen: list[tuple[Any, ...]] = []
    rec.orders.open_order = lambda *args: seen.append(args)  # type: ignore[method-assign]
    decoders = build_order_fast_path(rec.wrapper, 176)
    assert decoders is not None
    order, contract = _sim_orders()[0]
    frame = payload(messages.open_order(176, order, contract).text)
    assert decoders[0](frame) and decoders[0](frame)
    (_, c1, o1, s1), (_, c2, o2, s2) = seen
    c1.comboLegs.append("leg")
    o1.conditions.append("condition")
    o1.softDollarTier.name = "tier"
    assert c2.comboLegs == [] and o2.conditions == [] and o2.softDollarTier.name == ""
    assert s1 is not s2 and o1.orderRef == "pa-1"


@pytest.mark.parametrize("server_version", [176, 200])
def test_algo_orders_are_taken_with_their_parameters(server_version: int) -> None:
    order, contract = _sim_orders()[0]
    fields = messages.open_order(server_version, order, contract).text
    at = fields.index("IB") + 3  # clearingIntent, notHeld, delta-neutral contract, algoStrategy
    assert fields[at] == ""
    fields[at:at + 1] = ["Adaptive", 2, "adaptivePriority", "Normal", "other", ""]
    took, fast_calls, ref_calls, raised = run_both(payload(fields), server_version)
    assert took and not raised and fast_calls == ref_calls
    params = dict(fast_calls[0][1][2][1])["algoParams"]
    assert params[0] == "list" and [dict(p[1])["tag"] for p in params[1]] == [("str", "adaptivePriority"),
                                                                             ("str", "other")]
