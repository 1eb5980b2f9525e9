"""The fast path at server versions 201..226: text frames with a 4-byte message id (ticks until 205,
order messages until 202) must give exactly the handler calls of ibapi's own decoding of the frame
through the Wrapper (``tests/wire.py``), or be declined with nothing delivered. The protobuf
messages: test_fast_proto_decode.py."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ibapi.server_versions import MAX_CLIENT_VER

from platform_adapter.sim import messages
from platform_adapter.sim.protocol import payload
from tests.handlers import fast_calls, ibapi_calls
from tests.unit.core.test_fast_decode import fuzzed_frames, good_frames, make_frame
from tests.unit.core.test_fast_order_decode import _sim_orders
from tests.wire import binary_id

BINARY_VERSIONS = range(201, MAX_CLIENT_VER + 1)


def run_both(frame: bytes, server_version: int) -> tuple[bool, list[Any], list[Any], bool]:
    """(fast path took it, its calls, the calls through ibapi's decoder, ibapi raised) for one
    binary-id frame."""
    ref_calls, raised = ibapi_calls(frame, server_version)
    took, calls = fast_calls(frame, server_version)
    return took, calls, ref_calls, raised


def assert_equivalent(frame: bytes, server_version: int) -> bool:
    took, calls, ref_calls, raised = run_both(frame, server_version)
    if took:
        assert not raised, f"fast path accepted a frame ibapi rejects: {frame!r}"
        assert calls == ref_calls, frame
    else:
        assert calls == [], "a declined frame must deliver nothing"
    return took


# --- text frames with a binary id --------------------------------------------------------------------
@settings(max_examples=400, deadline=None)
@given(frame=good_frames(), server_version=st.sampled_from(BINARY_VERSIONS))
def test_text_ticks_with_a_binary_id_are_taken_and_match_ibapi(frame: bytes, server_version: int) -> None:
    took, fast_calls, ref_calls, raised = run_both(binary_id(frame), server_version)
    if raised or not ref_calls:
        assert not took or (fast_calls == ref_calls and not raised)
        return
    assert took, f"well-formed frame declined: {frame!r}"
    assert fast_calls == ref_calls


@settings(max_examples=400, deadline=None)
@given(frame=fuzzed_frames(), server_version=st.sampled_from(BINARY_VERSIONS))
def test_any_text_frame_with_a_binary_id_is_identical_or_declined(frame: bytes, server_version: int) -> None:
    assert_equivalent(binary_id(frame), server_version)


@pytest.mark.parametrize("server_version", BINARY_VERSIONS)
def test_every_version_takes_text_ticks_and_order_messages(server_version: int) -> None:
    frames = [make_frame([b"1", b"6", b"17", b"1", b"101.25", b"300", b"1"]),
              make_frame([b"2", b"6", b"17", b"0", b"300"]),
              make_frame([b"45", b"6", b"17", b"49", b"1.5"]),
              make_frame([b"46", b"6", b"17", b"45", b"1700000000"])]
    for order, contract in _sim_orders():
        frames += [payload(messages.open_order(server_version, order, contract).text),
                   payload(messages.order_status(order, "locate").text)]
    for frame in frames:
        took, fast_calls, ref_calls, raised = run_both(binary_id(frame), server_version)
        assert took and not raised and fast_calls == ref_calls and ref_calls, frame[:12]
