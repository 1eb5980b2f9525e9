"""Typed requests from the exact bytes stock ibapi sends, at every server version of interest.

The oracle is ibapi's own encoder: each request family is sent by an unmodified EClient at
server version N (text, or protobuf from the version where ibapi switches that family), the
frame is read by the simulator's inbound path, and the typed request must hold the values given
to EClient.
"""

from __future__ import annotations

import inspect
import re
import struct
from dataclasses import replace
from typing import Any

import pytest
from ibapi.client import EClient
from ibapi.common import getServerVersionForMessage
from ibapi.message import OUT
from ibapi.order import COMPETE_AGAINST_BEST_OFFSET_UP_TO_MID, Order, OrderComboLeg
from ibapi.order_cancel import OrderCancel
from ibapi.server_versions import MAX_CLIENT_VER, MIN_SERVER_VER_PEGGED_TO_BENCHMARK, MIN_SERVER_VER_PROTOBUF
from ibapi.softdollartier import SoftDollarTier
from ibapi.tag_value import TagValue

from platform_adapter.sim import requests as rq
from platform_adapter.sim.inbound import MSG_NAMES, Inbound, split_frame
from platform_adapter.sim.request_proto import PROTO_PARSERS
from platform_adapter.sim.request_text import TEXT_PARSERS

from .ibapi_capture import one_frame
from .request_cases import CASES, FULL_ORDER, VERSIONS, Case, bag_contract, contract, expected_order, full_order

# Families whose text layout changes from 100 on are read at every version up to 226 as well.
EVERY_VERSION = range(100, 227)
LAYOUT_CHANGES = {"placeOrder", "cancelOrder", "reqGlobalCancel", "reqContractDetails", "reqExecutions",
                  "exerciseOptions", "reqWshEventData", "reqMktData", "reqHistoricalData", "reqMktDepth",
                  "cancelMktDepth", "reqScannerSubscription", "reqNewsArticle", "reqHistoricalNews"}
PARAMS = [pytest.param(case, sv, id=f"{case.name}-{i}-{sv}") for i, case in enumerate(CASES)
          for sv in (EVERY_VERSION if case.name in LAYOUT_CHANGES else VERSIONS) if sv >= case.since]


def read(frame: bytes, sv: int) -> tuple[Inbound, rq.Request | None]:
    """The simulator's inbound path for one length-prefixed frame."""
    (size,) = struct.unpack(">I", frame[:4])
    assert size == len(frame) - 4
    inbound = split_frame(frame[4:], sv)
    return inbound, inbound.parse(sv)


@pytest.mark.parametrize(("case", "sv"), PARAMS)
def test_request_sent_by_ibapi_reads_as_typed(case: Case, sv: int) -> None:
    inbound, request = read(one_frame(sv, lambda ib: case.send(ib, sv)), sv)
    assert inbound.msg_id == case.out_id and inbound.name == case.name
    assert inbound.proto == (case.proto_only or sv >= getServerVersionForMessage(case.out_id))
    assert request == case.expect(sv)


def with_binary_id(frame: bytes) -> bytes:
    """A text frame of server version < 201 (id first field) framed as from 201 (4-byte id)."""
    msg_id, rest = frame[4:].split(b"\0", 1)
    body = int(msg_id).to_bytes(4, "big") + rest
    return struct.pack(">I", len(body)) + body


BOTH_FORMS = [c for c in CASES if not c.proto_only and getServerVersionForMessage(c.out_id) <= MAX_CLIENT_VER]


@pytest.mark.parametrize("case", BOTH_FORMS, ids=lambda c: c.name)
def test_both_forms_read_at_every_protobuf_version(case: Case) -> None:
    """From 201 a client may send any family as text or as protobuf: ibapi's text at 200 (the
    layout has not changed since), framed with the 4-byte id, and its protobuf at 226 read the
    same at every version from 201."""
    text = with_binary_id(one_frame(200, lambda ib: case.send(ib, 200)))
    proto = one_frame(226, lambda ib: case.send(ib, 226))
    for sv in (v for v in VERSIONS if v >= MIN_SERVER_VER_PROTOBUF):
        text_in, text_request = read(text, sv)
        proto_in, proto_request = read(proto, sv)
        assert not text_in.proto and proto_in.proto
        assert text_request == proto_request == case.expect(226)


def test_cancel_order_reads_the_order_id_at_every_version() -> None:
    """The bug IB's sample program found: from 192 ibapi drops cancelOrder's version field."""
    for sv in VERSIONS:
        _, request = read(one_frame(sv, lambda ib: ib.cancelOrder(1234, OrderCancel())), sv)
        assert isinstance(request, rq.CancelOrder) and request.order_id == 1234, sv


# Every other field ibapi's text layout has, set to a distinctive value (from the server version
# that carries it), so that reading one field too many or too few never goes unnoticed.
SINK: dict[str, Any] = dict(
    openClose="C", origin=1, blockOrder=True, sweepToFill=True, displaySize=10, triggerMethod=2,
    hidden=True, discretionaryAmt=0.5, goodAfterTime="20260101 09:30:00", faGroup="G",
    faMethod="M", faPercentage="P", shortSaleSlot=1, designatedLocation="DL",
    exemptCode=3, rule80A="A", settlingFirm="SF", allOrNone=True, minQty=5, percentOffset=0.1,
    auctionStrategy=1, startingPrice=1.1, stockRefPrice=2.2, delta=0.3, stockRangeLower=1.0,
    stockRangeUpper=2.0, overridePercentageConstraints=True, volatility=0.4, volatilityType=2,
    continuousUpdate=True, referencePriceType=1, scaleTable="ST", activeStartTime="S1",
    activeStopTime="S2", hedgeType="D", hedgeParam="0.5", optOutSmartRouting=True,
    clearingAccount="CA", clearingIntent="IB", notHeld=True, algoStrategy="Adaptive",
    algoParams=[TagValue("adaptivePriority", "Normal"), TagValue("x", "y")], algoId="AID",
    orderMiscOptions=[TagValue("m", "n")], solicited=True,
    randomizeSize=True, randomizePrice=True, adjustedOrderType="STP", triggerPrice=3.3,
    adjustedStopPrice=4.4, adjustedStopLimitPrice=5.5, adjustedTrailingAmount=6.6,
    adjustableTrailingUnit=1, discretionaryUpToLimitPrice=True)
# (the server version from which ibapi sends it rather than refusing the order, field, value)
SINK_SINCE: list[tuple[int, str, Any]] = [
    (103, "modelCode", "MC"), (105, "extOperator", "EO"), (106, "softDollarTier", SoftDollarTier("N", "V")),
    (111, "cashQty", 1000.0), (138, "mifid2DecisionMaker", "DM"), (138, "mifid2DecisionAlgo", "DA"),
    (139, "mifid2ExecutionTrader", "ET"), (139, "mifid2ExecutionAlgo", "EA"),
    (141, "dontUseAutoPriceForHedge", True), (145, "isOmsContainer", True), (151, "usePriceMgmtAlgo", True),
    (158, "duration", 100), (160, "postToAts", 1), (162, "autoCancelParent", True),
    (166, "advancedErrorOverride", "AE"), (169, "manualOrderTime", "MT"),
    (183, "customerAccount", "CU"), (184, "professionalCustomer", True),
    (189, "includeOvernight", True), (192, "manualOrderIndicator", 1), (199, "imbalanceOnly", True)]


def _variant(sv: int, **changes: Any) -> Order:
    o = full_order(sv)
    changes = {**SINK, **{k: v for since, k, v in SINK_SINCE if sv >= since}, **changes}
    for key, value in changes.items():
        setattr(o, key, value)
    return o


def _scale(sv: int) -> Order:
    o = _variant(sv, scaleInitLevelSize=100, scaleSubsLevelSize=50, scalePriceIncrement=0.1)
    o.scalePriceAdjustValue, o.scalePriceAdjustInterval, o.scaleProfitOffset = 0.05, 60, 0.2
    o.scaleAutoReset, o.scaleInitPosition, o.scaleInitFillQty, o.scaleRandomPercent = True, 10, 5, True
    return o


def _delta_neutral(sv: int) -> Order:
    o = _variant(sv, deltaNeutralOrderType="LMT", deltaNeutralAuxPrice=1.0, deltaNeutralConId=265598)
    o.deltaNeutralSettlingFirm, o.deltaNeutralClearingAccount = "FIRM", "ACCT"
    o.deltaNeutralClearingIntent, o.deltaNeutralOpenClose = "IB", "O"
    o.deltaNeutralShortSale, o.deltaNeutralShortSaleSlot, o.deltaNeutralDesignatedLocation = True, 1, "LOC"
    return o


def _peg_bench(sv: int) -> Order:
    return _variant(sv, orderType="PEG BENCH", referenceContractId=265598, isPeggedChangeAmountDecrease=True,
                    peggedChangeAmount=0.5, referenceChangeAmount=0.25, referenceExchangeId="NASDAQ")


def _peg_best_up_to_mid(sv: int) -> Order:
    return _variant(sv, orderType="PEG BEST", minTradeQty=10, minCompeteSize=100,
                    competeAgainstBestOffset=COMPETE_AGAINST_BEST_OFFSET_UP_TO_MID,
                    midOffsetAtWhole=0.01, midOffsetAtHalf=0.005)


def _peg_mid(sv: int) -> Order:
    return _variant(sv, orderType="PEG MID", minTradeQty=10, midOffsetAtWhole=0.01, midOffsetAtHalf=0.005)


def _combo(sv: int) -> Order:
    prices = []
    for price in (1.5, 2.25):
        leg = OrderComboLeg()
        leg.price = price
        prices.append(leg)
    return _variant(sv, smartComboRoutingParams=[TagValue("NonGuaranteed", "1")], orderComboLegs=prices)


# Orders whose text layout has optional parts before the last carried fields: each must still
# read exactly (every field consumed, the carried values right). (name, since, contract, order)
VARIANTS: list[tuple[str, int, Any, Any]] = [
    ("scale", 100, contract, _scale),
    ("delta-neutral", 100, contract, _delta_neutral),
    ("peg-bench", 100, contract, _peg_bench),
    ("peg-best-up-to-mid-ibkrats", 170, lambda: contract(exchange="IBKRATS"), _peg_best_up_to_mid),
    ("peg-mid-ibkrats", 170, lambda: contract(exchange="IBKRATS"), _peg_mid),
    ("combo", 100, bag_contract, _combo),
    ("no-conditions", 100, contract, lambda sv: _variant(sv, conditions=[])),
    ("everything-else", 100, contract, _variant),
]


@pytest.mark.parametrize(("make_contract", "make_order", "sv"), [
    pytest.param(k, o, sv, id=f"{name}-{sv}") for name, since, k, o in VARIANTS
    for sv in EVERY_VERSION if sv >= since])
def test_place_order_variants_keep_the_layout(make_contract: Any, make_order: Any, sv: int) -> None:
    k, o = make_contract(), make_order(sv)
    _, request = read(one_frame(sv, lambda ib: ib.placeOrder(42, k, o)), sv)
    assert isinstance(request, rq.PlaceOrder)
    assert (request.contract.sec_type, request.contract.exchange) == (k.secType, k.exchange)
    with_conditions = bool(o.conditions)
    assert request == replace(
        expected_order(sv), contract=request.contract, order_type=o.orderType,
        conditions=FULL_ORDER.conditions if with_conditions and sv >= MIN_SERVER_VER_PEGGED_TO_BENCHMARK else (),
        conditions_ignore_rth=with_conditions and sv >= MIN_SERVER_VER_PEGGED_TO_BENCHMARK,
        conditions_cancel_order=with_conditions and sv >= MIN_SERVER_VER_PEGGED_TO_BENCHMARK)


# --- malformed input: a ParseError (the session logs it and goes on) ---------------------

def test_text_fields_too_few_or_too_many() -> None:
    frame = one_frame(176, lambda ib: ib.placeOrder(42, contract(), full_order()))
    inbound = split_frame(frame[4:], 176)
    with pytest.raises(rq.ParseError, match="too few"):
        Inbound(inbound.msg_id, False, fields=inbound.fields[:-1]).parse(176)
    with pytest.raises(rq.ParseError, match="left over"):
        Inbound(inbound.msg_id, False, fields=(*inbound.fields, "1")).parse(176)
    with pytest.raises(rq.ParseError, match="too few"):  # a 191 layout is not a 192 one
        split_frame(one_frame(191, lambda ib: ib.cancelOrder(5, OrderCancel()))[4:], 192).parse(192)


def test_a_number_that_does_not_parse() -> None:
    fields = split_frame(one_frame(176, lambda ib: ib.cancelMktData(5))[4:], 176).fields
    with pytest.raises(rq.ParseError, match="not an integer"):
        Inbound(OUT.CANCEL_MKT_DATA, False, fields=(fields[0], "five")).parse(176)


def test_an_unknown_order_condition_type() -> None:
    fields = list(split_frame(one_frame(176, lambda ib: ib.placeOrder(42, contract(), full_order()))[4:],
                              176).fields)
    price_condition = fields.index("a") - 1  # the first condition's type precedes its conjunction
    assert fields[price_condition] == "1"
    fields[price_condition] = "99"
    with pytest.raises(rq.ParseError, match="condition type 99"):
        Inbound(OUT.PLACE_ORDER, False, fields=tuple(fields)).parse(176)


def test_protobuf_truncated_or_not_protobuf() -> None:
    frame = one_frame(226, lambda ib: ib.placeOrder(42, contract(), full_order()))
    inbound = split_frame(frame[4:], 226)
    assert inbound.proto and inbound.msg_id == OUT.PLACE_ORDER
    with pytest.raises(rq.ParseError, match="does not parse"):
        Inbound(OUT.PLACE_ORDER, True, body=inbound.body[: len(inbound.body) // 2]).parse(226)
    with pytest.raises(rq.ParseError, match="does not parse"):
        Inbound(OUT.CANCEL_ORDER, True, body=b"\xff\xff\xff\xff").parse(226)


def test_frames_without_a_message_id() -> None:
    with pytest.raises(rq.ParseError, match="no message id"):
        split_frame(b"\x00\x03", 226)
    with pytest.raises(rq.ParseError, match="without a message id"):
        split_frame(b"", 176)
    with pytest.raises(rq.ParseError, match="without a message id"):
        split_frame(b"abc\x001\x00", 176)


def test_unknown_messages_are_named_and_not_served() -> None:
    unknown_text = split_frame((150).to_bytes(4, "big") + b"1\x00", 226)
    unknown_proto = split_frame((350).to_bytes(4, "big") + b"\x08\x01", 226)
    unknown_old = split_frame(b"150\x005\x00", 176)
    assert (unknown_text.name, unknown_proto.name, unknown_old.name) == ("msg150", "msg150", "msg150")
    assert unknown_proto.proto and not unknown_text.proto
    assert unknown_text.parse(226) is None and unknown_proto.parse(226) is None
    assert unknown_old.parse(176) is None


def test_every_request_ibapi_can_send_has_a_name_and_a_case() -> None:
    """Every OUT id stock EClient sends is named, read in each form ibapi uses, and has a case above."""
    sent = {getattr(OUT, n) for n in set(re.findall(r"OUT\.([A-Z_0-9]+)", inspect.getsource(EClient)))}
    assert sent <= set(MSG_NAMES) and sent <= {c.out_id for c in CASES}
    assert {c.out_id for c in CASES if not c.proto_only} <= set(TEXT_PARSERS)
    assert {c.out_id for c in CASES if c.proto_only} | {c.out_id for c in BOTH_FORMS} <= set(PROTO_PARSERS)
