"""Every message the simulator sends, at every switch version, decoded by ibapi's own Decoder the
way stock EClient.run decodes it, gives the callbacks its text form gives.

The reference is the text form decoded at the same version up to 200 and at 200 above (ibapi's
text decoder reads no field that depends on a version above 200, and the simulator's text layouts
change only below 200). Where the protobuf form cannot decode to exactly the same objects, the
difference is listed in ``wire_oracle.DIFFERENCES`` with the reason, and a test checks each still
occurs.
"""

from __future__ import annotations

import inspect
from collections import defaultdict
from typing import Any

import pytest
from ibapi import server_versions as versions
from ibapi.decoder import Decoder
from ibapi.server_versions import MIN_SERVER_VER_PROTOBUF, MIN_SERVER_VER_PROTOBUF_REST_MESSAGES_3

from platform_adapter.sim import info_messages as im
from platform_adapter.sim import market
from platform_adapter.sim import messages as m
from platform_adapter.sim.families import PROTOBUF_FROM
from platform_adapter.sim.market import ASK, BID
from platform_adapter.sim.server import SimulatedGateway
from platform_adapter.sim.wire import Message
from tests.sim.wire_oracle import (
    AAPL,
    CALL_DIFFERENCES,
    DIFFERENCES,
    Obj,
    as_protobuf_gives,
    catalogue,
    decode_all,
    decode_frame,
    reconcile,
    text_calls,
)

VERSIONS = [100, 104, 110, 118, 124, 130, 136, 140, 145, 148, 150, 151, 152, 155, 156, 157, 158, 160, 162, 163, 164,
            170, 176, 200, 201, 203, 204, 205, 206, 207, 208, 209, 210, 211, 212, 213, 222, 226]

def check(name: str, msg: Message, sv: int, used: set[tuple[str, str]], calls_used: set[str] | None = None) -> None:
    """Decode the message as sent at ``sv`` and compare with its text form (for a reply that exists
    only as protobuf: with the protobuf object built)."""
    frame = msg.encode(sv)
    protobuf, got, raw = decode_all(frame, sv)
    switched = sv >= MIN_SERVER_VER_PROTOBUF and sv >= PROTOBUF_FROM[msg.msg_id]
    assert protobuf == switched, (name, sv)
    if sv >= MIN_SERVER_VER_PROTOBUF_REST_MESSAGES_3:
        assert protobuf, f"{name}: every reply with a protobuf form is protobuf from 213"
    if msg.msg_id not in Decoder.msgId2handleInfo:
        assert msg.proto is not None and not msg.fields and not got, name
        assert raw == [(msg.proto(),)], name
        return
    want = text_calls(msg, sv)
    assert want, f"{name}: its text form decodes to no callback"
    if protobuf:
        want = as_protobuf_gives(want, set() if calls_used is None else calls_used)
        got = reconcile(got, want, used)
    assert got == want, (name, sv)


@pytest.mark.parametrize("sv", VERSIONS)
def test_every_message_decodes_as_its_text_form(sv: int) -> None:
    used: set[tuple[str, str]] = set()
    for name, msg in catalogue(sv):
        check(name, msg, sv, used)


def test_each_listed_difference_still_occurs() -> None:
    used: set[tuple[str, str]] = set()
    calls_used: set[str] = set()
    for name, msg in catalogue(226):
        check(name, msg, 226, used, calls_used)
    assert used == set(DIFFERENCES) and calls_used == set(CALL_DIFFERENCES)


def test_the_catalogue_has_every_message_function() -> None:
    functions = {name for module in (m, im) for name, f in inspect.getmembers(module, inspect.isfunction)
                 if f.__module__ == module.__name__ and not name.startswith("_")
                 and inspect.signature(f).return_annotation == "Message"}
    assert {name for name, _ in catalogue(226)} == functions


def test_text_frames_from_201_carry_a_binary_id_and_no_id_field() -> None:
    msg = m.next_valid_id(574)
    assert msg.encode(200) == b"\0\0\0\x089\x001\x00574\x00"
    assert msg.encode(212) == b"\0\0\0\x0a\0\0\0\x091\x00574\x00"
    assert msg.encode(213)[4:8] == (209).to_bytes(4, "big")


def test_the_handshake_reply_is_two_text_fields_at_every_version() -> None:
    for sv in (176, 201, 226):
        assert m.server_hello(sv, "20261204 10:00:00 UTC").encode(sv)[4:] == f"{sv}\0".encode() + \
            b"20261204 10:00:00 UTC\0"


class Sink:
    """Stands for a session in ``SimulatedGateway.burst``: holds the subscription, keeps the bytes."""

    def __init__(self, sv: int) -> None:
        self.sv = sv
        self.subs = type("Subs", (), {"mkt": {1: AAPL.con_id}})()
        self.data = b""

    def send_raw(self, data: bytes) -> None:
        self.data += data


def frames(data: bytes) -> list[bytes]:
    out = []
    while data:
        n = int.from_bytes(data[:4], "big") + 4
        out.append(data[:n])
        data = data[n:]
    return out


@pytest.mark.parametrize("sv", [200, 205, 206, 226])
def test_a_burst_decodes_to_the_same_ticks_at_every_version(sv: int) -> None:
    gw = SimulatedGateway()
    reference, sink = Sink(176), Sink(sv)
    for client_id, s in ((1, reference), (2, sink)):
        gw.sessions[client_id] = s  # type: ignore[assignment]
        assert gw.burst(1, 60, client_id) == 60
    expected = [decode_frame(f, 176) for f in frames(reference.data)]
    got = [decode_frame(f, sv) for f in frames(sink.data)]
    assert [calls for _, calls in got] == [calls for _, calls in expected]
    assert {name for _, calls in expected for name, _ in calls} == {"tickPrice", "tickSize"}
    assert {protobuf for protobuf, _ in got} == {sv >= 206}
    assert {args[1][1] for _, calls in expected for name, args in calls if name == "tickPrice"} == {BID, ASK}


# What a gateway below 157 does not send, by the MIN_SERVER_VER_* that added it: (class, attribute)
# of a decoded object, or (callback, argument index); ibapi leaves its default in place.
ADDED_BELOW_157: dict[tuple[str, str | int], int] = {
    ("TickAttrib", "pastLimit"): versions.MIN_SERVER_VER_PAST_LIMIT,
    ("TickAttrib", "preOpen"): versions.MIN_SERVER_VER_PRE_OPEN_BID_ASK,
    ("orderStatus", 10): versions.MIN_SERVER_VER_MARKET_CAP_PRICE,
    ("tickOptionComputation", 2): versions.MIN_SERVER_VER_PRICE_BASED_VOLATILITY,
    ("updateMktDepthL2", 7): versions.MIN_SERVER_VER_SMART_DEPTH,
    ("pnl", 2): versions.MIN_SERVER_VER_UNREALIZED_PNL,
    ("pnl", 3): versions.MIN_SERVER_VER_REALIZED_PNL,
    ("pnlSingle", 3): versions.MIN_SERVER_VER_UNREALIZED_PNL,
    ("pnlSingle", 4): versions.MIN_SERVER_VER_REALIZED_PNL,
    ("DepthMktDataDescription", "listingExch"): versions.MIN_SERVER_VER_SERVICE_DATA_TYPE,
    ("DepthMktDataDescription", "serviceDataType"): versions.MIN_SERVER_VER_SERVICE_DATA_TYPE,
    ("DepthMktDataDescription", "aggGroup"): versions.MIN_SERVER_VER_SERVICE_DATA_TYPE,
    ("ContractDetails", "aggGroup"): versions.MIN_SERVER_VER_AGG_GROUP,
    ("ContractDetails", "underSymbol"): versions.MIN_SERVER_VER_UNDERLYING_INFO,
    ("ContractDetails", "underSecType"): versions.MIN_SERVER_VER_UNDERLYING_INFO,
    ("ContractDetails", "marketRuleIds"): versions.MIN_SERVER_VER_MARKET_RULES,
    ("ContractDetails", "realExpirationDate"): versions.MIN_SERVER_VER_REAL_EXPIRATION_DATE,
    ("ContractDetails", "stockType"): versions.MIN_SERVER_VER_STOCK_TYPE,
    ("Execution", "lastLiquidity"): versions.MIN_SERVER_VER_LAST_LIQUIDITY,
    **{("OrderState", f"{kind}{when}"): versions.MIN_SERVER_VER_WHAT_IF_EXT_FIELDS
       for kind in ("initMargin", "maintMargin", "equityWithLoan") for when in ("Before", "Change")},
    ("Order", "conditions"): versions.MIN_SERVER_VER_PEGGED_TO_BENCHMARK,
    ("Order", "conditionsIgnoreRth"): versions.MIN_SERVER_VER_PEGGED_TO_BENCHMARK,
    ("Order", "conditionsCancelOrder"): versions.MIN_SERVER_VER_PEGGED_TO_BENCHMARK,
    ("Order", "adjustedOrderType"): versions.MIN_SERVER_VER_PEGGED_TO_BENCHMARK,
    ("Order", "lmtPriceOffset"): versions.MIN_SERVER_VER_PEGGED_TO_BENCHMARK,
    ("Order", "cashQty"): versions.MIN_SERVER_VER_CASH_QTY,
    ("Order", "usePriceMgmtAlgo"): versions.MIN_SERVER_VER_PRICE_MGMT_ALGO,
    ("Order", "dontUseAutoPriceForHedge"): versions.MIN_SERVER_VER_AUTO_PRICE_FOR_HEDGE,
}
OLD_VERSIONS = [v for v in VERSIONS if v < 157]


def _absent(value: Any, reference: Any, version: int, used: set[tuple[str, str | int]]) -> Any:
    """``reference`` (decoded at 157) with what a gateway at ``version`` does not send replaced by
    ``value`` (decoded at ``version``, ibapi's default)."""
    if isinstance(value, Obj) and isinstance(reference, Obj) and value.cls == reference.cls:
        got = dict(value.attrs)
        out = []
        for name, want in reference.attrs:
            key = (value.cls, name)
            if key in ADDED_BELOW_157 and version < ADDED_BELOW_157[key] and got.get(name) != want:
                used.add(key)
                want = got.get(name)
            out.append((name, _absent(got.get(name), want, version, used)))
        return Obj(value.cls, tuple(out))
    if isinstance(value, tuple) and isinstance(reference, tuple) and len(value) == len(reference):
        return tuple(_absent(g, w, version, used) for g, w in zip(value, reference, strict=True))
    return reference


def _calls_at(calls: list[Any], reference: list[Any], version: int, used: set[tuple[str, str | int]]) -> list[Any]:
    out = []
    for (name, args), (ref_name, ref_args) in zip(calls, reference, strict=True):
        want = list(ref_args)
        for i in range(min(len(args), len(want))):
            key = (name, i)
            if name == ref_name and key in ADDED_BELOW_157 and version < ADDED_BELOW_157[key] and args[i] != want[i]:
                used.add(key)
                want[i] = args[i]
        out.append((ref_name, _absent(tuple(args), tuple(want), version, used)))
    return out


def test_below_157_every_message_decodes_to_the_157_callbacks_less_what_was_added_later(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Values, not just layouts: each message decoded at an old version gives what it gives at 157,
    except the fields the old gateway does not have yet (left at ibapi's default); and each such
    exception is seen at least once. The market's clock is frozen so every catalogue is the same."""
    monkeypatch.setattr(market.time, "time", lambda: 1764860400.0)
    used: set[tuple[str, str | int]] = set()
    reference: dict[str, list[list[Any]]] = defaultdict(list)
    for name, msg in catalogue(157):
        reference[name].append(decode_frame(msg.encode(157), 157)[1])
    for version in OLD_VERSIONS:
        seen: dict[str, int] = defaultdict(int)
        for name, msg in catalogue(version):
            calls = decode_frame(msg.encode(version), version)[1]
            want = reference[name][seen[name]]
            seen[name] += 1
            assert len(calls) == len(want), (name, version)
            assert calls == _calls_at(calls, want, version, used), (name, version)
    assert used == set(ADDED_BELOW_157)
