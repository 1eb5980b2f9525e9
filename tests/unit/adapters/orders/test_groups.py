"""Brackets, OCA groups, previews and the advanced fields with a fake EClient: the paths the
simulator does not provoke (a link failing part-way through a group, IB refusing or not
answering a preview, reports that are not ours) and the pure checks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from ibapi.order_state import OrderState as IBOrderState

from platform_adapter import NotConnected, OrderRejected, OrderState, RequestTimeout, ValidationError
from platform_adapter.adapters.orders import extras as x
from platform_adapter.adapters.orders.echo import echoed_extras
from platform_adapter.adapters.orders.models import build_ib_order, foreign_order
from platform_adapter.models.order import OcaType, OrderExtras, OrderType, TimeInForce
from tests.unit.adapters.test_order_execution import Harness, contract, ib_order, ib_state, make_harness


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    pa, fake = make_harness(tmp_path, **{"ib_connection.request_timeout": 0.5})
    yield pa, fake
    pa.orders.stop()
    pa.events.stop()


def fail_on(fake: Any, nth: int) -> None:
    """The ``nth`` placeOrder (1-based) fails as a broken socket would."""
    count = [0]

    def place(*_: Any) -> None:
        count[0] += 1
        if count[0] == nth:
            raise OSError("broken pipe")

    fake.on_call["placeOrder"] = place


def sent_orders(fake: Any) -> list[tuple[int, Any]]:
    return [(args[0], args[2]) for name, args in fake.calls if name == "placeOrder"]


def test_a_bracket_on_the_wire(harness: Harness) -> None:
    pa, fake = harness
    bracket = pa.orders.place_bracket_order("AAPL", "BUY", 10, 100.0, 105.0, 95.0)
    sent = sent_orders(fake)
    assert [oid for oid, _ in sent] == list(bracket.order_ids) == [10, 11, 12]
    assert [(o.orderType, o.action, o.parentId, o.transmit, o.ocaType) for _, o in sent] == [
        ("LMT", "BUY", 0, False, 0), ("LMT", "SELL", 10, False, 2), ("STP", "SELL", 10, True, 2)]
    assert sent[1][1].ocaGroup == sent[2][1].ocaGroup == sent[0][1].orderRef
    assert len({o.orderRef for _, o in sent}) == 3


@pytest.mark.parametrize("failing", [2, 3])
def test_a_bracket_failing_part_way_cancels_what_was_sent(harness: Harness, failing: int) -> None:
    pa, fake = harness
    fail_on(fake, failing)
    with pytest.raises(NotConnected):
        pa.orders.place_bracket_order("AAPL", "BUY", 10, 100.0, 105.0, 95.0)
    sent = list(range(10, 10 + failing - 1))
    assert [args[0] for name, args in fake.calls if name == "cancelOrder"] == sent
    failed = 10 + failing - 1
    assert pa.orders.get_order_status(failed).status is OrderState.PENDING_SUBMIT  # in flight: looked up later


def test_cancelling_what_was_sent_may_fail_too(harness: Harness) -> None:
    pa, fake = harness
    fail_on(fake, 3)

    def refuse(*_: Any) -> None:
        raise AssertionError("not sent")

    pa.connection.ib_link_ok = True
    original = pa.orders._require_link
    calls = [0]

    def link() -> Any:
        calls[0] += 1
        if calls[0] > 6:  # the three prepares, the three sends; then the link is lost
            raise NotConnected("IB link lost")
        return original()

    pa.orders._require_link = link  # type: ignore[method-assign]
    fake.on_call["cancelOrder"] = refuse
    with pytest.raises(NotConnected):
        pa.orders.place_bracket_order("AAPL", "BUY", 10, 100.0, 105.0, 95.0)
    assert "cancelOrder" not in fake.names()
    assert pa.orders.get_order_status(10).status is OrderState.PENDING_SUBMIT


def test_an_oca_group_failing_part_way_cancels_what_was_sent(harness: Harness) -> None:
    pa, fake = harness
    fail_on(fake, 2)
    orders = [{"symbol": "AAPL", "action": "BUY", "quantity": 10, "order_type": "LMT", "limit_price": p}
              for p in (99.0, 98.0, 97.0)]
    with pytest.raises(NotConnected):
        pa.orders.place_oca_group(orders, oca_group="grp", oca_type=3)
    assert [args[0] for name, args in fake.calls if name == "cancelOrder"] == [10]
    assert [o.ocaGroup for _, o in sent_orders(fake)] == ["grp", "grp"]
    assert [o.ocaType for _, o in sent_orders(fake)] == [3, 3]


def what_if_state() -> IBOrderState:
    s = IBOrderState()
    s.status = "PreSubmitted"
    s.initMarginBefore, s.initMarginChange, s.initMarginAfter = "10", "5", "15"
    s.maintMarginBefore, s.maintMarginChange, s.maintMarginAfter = "8", "4", "12"
    s.equityWithLoanBefore, s.equityWithLoanChange, s.equityWithLoanAfter = "100", "", "1.7976931348623157E308"
    s.commissionAndFees, s.commissionAndFeesCurrency, s.warningText = 1.25, "USD", "late"
    return s


def test_a_preview_is_answered_by_its_what_if_open_order(harness: Harness) -> None:
    pa, fake = harness

    def answer(order_id: int, _contract: Any, order: Any) -> None:
        assert order.whatIf and order.transmit
        echoed = ib_order(order_id, order.orderRef)
        echoed.whatIf = True
        other = ib_order(order_id + 1, "x")
        other.whatIf = True
        pa.wrapper.openOrder(order_id + 1, contract(), other, what_if_state())  # no preview waits for it
        pa.wrapper.openOrder(order_id, contract(), echoed, what_if_state())

    fake.on_call["placeOrder"] = answer
    preview = pa.orders.preview_order("AAPL", "BUY", 10, "LMT", limit_price=100.0)
    assert (preview.initial_margin.before, preview.initial_margin.change, preview.initial_margin.after) == (
        10.0, 5.0, 15.0)
    assert (preview.equity_with_loan.change, preview.equity_with_loan.after) == (None, None)
    assert (preview.commission, preview.min_commission, preview.commission_currency, preview.warning) == (
        1.25, None, "USD", "late")
    assert pa.state.get_cached_orders() == [] and len(pa.registry) == 0


def test_a_preview_ib_refuses_is_order_rejected(harness: Harness) -> None:
    pa, fake = harness
    fake.on_call["placeOrder"] = lambda oid, *_: pa.wrapper.error(oid, 0, 201, "Order rejected - no margin", "")
    with pytest.raises(OrderRejected) as info:
        pa.orders.preview_order("AAPL", "BUY", 10, "MKT")
    assert (info.value.code, info.value.req_id) == (201, 10)
    assert pa.state.get_cached_orders() == [] and len(pa.registry) == 0


def test_a_preview_without_an_answer_times_out(harness: Harness) -> None:
    pa, _ = harness
    with pytest.raises(RequestTimeout):
        pa.orders.preview_order("AAPL", "BUY", 10, "MKT")
    assert len(pa.registry) == 0
    assert pa.orders.place_order("AAPL", "BUY", 10, "MKT") == 11  # the preview's id is never reused


def test_a_foreign_what_if_answer_is_not_an_order(harness: Harness) -> None:
    pa, _ = harness
    order = ib_order(55, "theirs", client=9)
    order.whatIf = True
    pa.wrapper.openOrder(55, contract(), order, what_if_state())
    assert pa.state.get_cached_orders() == []


def test_foreign_trailing_orders_carry_their_trail() -> None:
    order = ib_order(5, "theirs", perm=3, otype="TRAIL LIMIT", action="SELL")
    order.auxPrice, order.lmtPriceOffset, order.ocaGroup, order.ocaType = 1.5, 0.25, "g", 9
    order.tif, order.goodTillDate, order.parentId = "GTD", "20991231-00:00:00", 4
    got = foreign_order(5, contract(), order, "Submitted")
    assert got is not None
    req = got.request
    assert (req.order_type, req.limit_price, req.stop_price, req.tif) == (OrderType.TRAIL_LIMIT, 100.0, None,
                                                                          TimeInForce.GTD)
    assert req.extras == OrderExtras(4, "g", OcaType.CANCEL_WITH_BLOCK, 1.5, None, 0.25, "20991231-00:00:00")
    order.orderType, order.trailingPercent = "TRAIL", 2.0
    got = foreign_order(5, contract(), order, "Submitted")
    assert got is not None and got.request.limit_price is None
    assert (got.request.extras.trailing_amount, got.request.extras.trailing_percent) == (None, 2.0)


def test_the_echo_leaves_plain_and_foreign_orders_alone(harness: Harness) -> None:
    pa, _ = harness
    order_id = pa.orders.place_order("AAPL", "BUY", 10, "LMT", limit_price=100.0)
    ref = pa.orders.get_order(order_id).order_ref
    echoed = ib_order(order_id, ref, 77)
    echoed.ocaGroup, echoed.ocaType = "ignored", 1
    pa.wrapper.openOrder(order_id, contract(), echoed, ib_state("Submitted"))
    assert pa.orders.get_order(order_id).request.extras is None
    trail = pa.orders.place_order("AAPL", "SELL", 10, "TRAIL", trailing_amount=1.0)
    tref = pa.orders.get_order(trail).order_ref
    echoed = ib_order(trail, tref, 78, otype="TRAIL", action="SELL")
    echoed.auxPrice = 1.0
    pa.wrapper.openOrder(trail, contract(), echoed, ib_state("PreSubmitted"))
    assert pa.orders.get_order(trail).request.extras == OrderExtras(trailing_amount=1.0)
    echoed.auxPrice = 1.5
    echoed.whatIf = True
    pa.wrapper.openOrder(trail, contract(), echoed, ib_state("PreSubmitted"))
    assert pa.orders.get_order(trail).request.extras == OrderExtras(trailing_amount=1.0)
    theirs = ib_order(70, "theirs", 79, client=5, otype="TRAIL", action="SELL")
    pa.wrapper.openOrder(70, contract(), theirs, ib_state("PreSubmitted"))
    assert pa.orders.get_order(trail).request.extras == OrderExtras(trailing_amount=1.0)


def test_a_good_till_date_set_by_a_modification_is_followed(harness: Harness) -> None:
    pa, fake = harness
    order_id = pa.orders.place_order("AAPL", "BUY", 10, "LMT", limit_price=100.0, tif="DAY")
    ref = pa.orders.get_order(order_id).order_ref
    pa.orders.modify_order(order_id, good_till="20991231-00:00:00")
    (_, _, sent), = [args for name, args in fake.calls if name == "placeOrder"][1:]
    assert (sent.tif, sent.goodTillDate) == ("GTD", "20991231-00:00:00")
    echoed = ib_order(order_id, ref, 77)
    echoed.tif, echoed.goodTillDate = "GTD", "20991231-00:00:00"
    pa.wrapper.openOrder(order_id, contract(), echoed, ib_state("Submitted"))
    request = pa.orders.get_order(order_id).request
    assert (request.tif, request.extras) == (TimeInForce.GTD, OrderExtras(good_till="20991231-00:00:00"))


def test_echoed_extras_keep_the_links() -> None:
    links = OrderExtras(7, "grp", OcaType.REDUCE_WITH_BLOCK, trailing_amount=1.0, good_till="20991231-00:00:00")
    assert echoed_extras(links, OrderExtras(trailing_percent=2.0)) == OrderExtras(
        7, "grp", OcaType.REDUCE_WITH_BLOCK, trailing_percent=2.0, good_till="20991231-00:00:00")
    assert echoed_extras(OrderExtras(trailing_amount=1.0), None) is None


def test_build_ib_order_maps_every_extra() -> None:
    from platform_adapter.models.contract import ContractSpec
    from platform_adapter.models.order import OrderAction, OrderRequest

    req = OrderRequest(ContractSpec("AAPL"), OrderAction.SELL, Decimal(5), OrderType.TRAIL_LIMIT,
                       tif=TimeInForce.GTD, extras=OrderExtras(3, "g", OcaType.REDUCE_NO_BLOCK, None, 1.5, 0.1,
                                                               "20991231-00:00:00"))
    o = build_ib_order(req, transmit=False, what_if=True)
    assert (o.parentId, o.ocaGroup, o.ocaType, o.trailingPercent, o.lmtPriceOffset, o.goodTillDate, o.transmit,
            o.whatIf, o.tif) == (3, "g", 3, 1.5, 0.1, "20991231-00:00:00", False, True, "GTD")


NOW = datetime(2030, 1, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize("value, text", [
    (NOW + timedelta(hours=1), "20300101-01:00:00"),
    (datetime(2030, 1, 1, 5, tzinfo=timezone(timedelta(hours=5))) + timedelta(minutes=1), "20300101-00:01:00"),
    ("20300101-00:00:01", "20300101-00:00:01"),
    (" 20300101 09:00:00 US/Eastern ", "20300101 09:00:00 US/Eastern"),
])
def test_good_till_forms(value: Any, text: str) -> None:
    assert x.check_good_till(value, NOW) == text


@pytest.mark.parametrize("value", [NOW, "20300101-00:00:00", "20291231 18:59:59 US/Eastern", "20300101 00:00:01",
                                   "20300101-00:00:01 UTC", "20301301-00:00:00", "tomorrow", datetime(2031, 1, 1),
                                   1_900_000_000])
def test_bad_good_till(value: Any) -> None:
    with pytest.raises(ValidationError) as info:
        x.check_good_till(value, NOW)
    assert info.value.field == "good_till"


def test_modified_extras() -> None:
    base = OrderExtras(9, "g", OcaType.CANCEL_WITH_BLOCK, trailing_amount=1.0, limit_offset=0.5)
    got = x.modified_extras(OrderType.TRAIL_LIMIT, TimeInForce.DAY, base, {"trailing_percent": 2.0})
    assert got == OrderExtras(9, "g", OcaType.CANCEL_WITH_BLOCK, None, 2.0, 0.5)
    assert x.modified_extras(OrderType.LIMIT, TimeInForce.DAY, None, {"quantity": 3}) is None
    got = x.modified_extras(OrderType.LIMIT, TimeInForce.GTD, None, {"good_till": "20991231-00:00:00"})
    assert got == OrderExtras(good_till="20991231-00:00:00")
    with pytest.raises(ValidationError):
        x.modified_extras(OrderType.LIMIT, TimeInForce.DAY, None, {"trailing_amount": 1.0})
    assert x.order_tif({"good_till": "20991231-00:00:00"}, "DAY") is TimeInForce.GTD
    assert x.order_tif({}, "DAY") is TimeInForce.DAY


def test_ticks_of_the_advanced_fields() -> None:
    from platform_adapter.models.contract import ContractInfo, ContractSpec, SecType

    es = ContractInfo(ContractSpec("ES"), 1, "ES", SecType.FUTURE, "CME", "", "USD", "ESZ6", "ES", 0.25, "50", "ES")
    x.check_extras_ticks(es, None)
    x.check_extras_ticks(es, OrderExtras(trailing_amount=1.5, limit_offset=0.0))
    with pytest.raises(ValidationError, match="tick size 0.25"):
        x.check_extras_ticks(es, OrderExtras(trailing_amount=1.1))
