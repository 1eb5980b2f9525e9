"""Brackets and OCA groups with a fake EClient: the paths the simulator does not provoke (a link
failing part-way through a group, cancelling what was sent failing too)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from platform_adapter import NotConnected, OrderState, OrderStateError
from platform_adapter.adapters.orders import groups as order_groups
from tests.conftest import wait_for
from tests.unit.adapters.test_order_execution import Harness


@pytest.fixture
def harness_settings() -> dict[str, Any]:
    return {"ib_connection.request_timeout": 0.5}


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
    failed = 10 + failing - 1
    # the one in flight may have reached IB (held there, or the whole bracket transmitted): cancelled too
    assert [args[0] for name, args in fake.calls if name == "cancelOrder"] == list(range(10, failed + 1))
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
    assert pa.orders.withdrawing == {10, 11, 12}
    with pytest.raises(OrderStateError):  # it would transmit the entry without its exits
        pa.orders.modify_order(10, limit_price=100.5)
    assert [name for name, _ in fake.calls].count("placeOrder") == 3
    order_groups.finish_withdrawals(pa.orders)  # the link still down: kept for the next reconnect
    assert pa.orders.withdrawing == {10, 11, 12} and "cancelOrder" not in fake.names()
    # the link is back (the reconnect's reconciliation settled 12 as never sent): the others are cancelled
    pa.orders._require_link = original  # type: ignore[method-assign]
    del fake.on_call["cancelOrder"]
    pa.orders.set_state(12, OrderState.REJECTED, reason="never reached IB")  # its watcher may withdraw too
    order_groups.finish_withdrawals(pa.orders)
    assert [args[0] for name, args in fake.calls if name == "cancelOrder"] == [10, 11]
    assert pa.orders.withdrawing == set()


def test_an_oca_group_failing_part_way_cancels_what_was_sent(harness: Harness) -> None:
    pa, fake = harness
    fail_on(fake, 2)
    orders = [{"symbol": "AAPL", "action": "BUY", "quantity": 10, "order_type": "LMT", "limit_price": p}
              for p in (99.0, 98.0, 97.0)]
    with pytest.raises(NotConnected):
        pa.orders.place_oca_group(orders, oca_group="grp", oca_type=3)
    assert [args[0] for name, args in fake.calls if name == "cancelOrder"] == [10, 11]  # sent, in flight
    assert [o.ocaGroup for _, o in sent_orders(fake)] == ["grp", "grp"]
    assert [o.ocaType for _, o in sent_orders(fake)] == [3, 3]


def test_an_exit_rejected_by_ib_withdraws_the_entry_that_filled_nothing(harness: Harness) -> None:
    # the stop loss (it transmits the bracket) refused by IB: the entry must not stay held or
    # working without it; it is cancelled (IB takes the take profit with it)
    pa, fake = harness
    bracket = pa.orders.place_bracket_order("AAPL", "BUY", 10, 100.0, 105.0, 95.0)
    pa.wrapper.error(bracket.stop_loss, 0, 201, "Order rejected - reason:not allowed", "")
    assert pa.orders.get_order_status(bracket.stop_loss).status is OrderState.REJECTED
    wait_for(lambda: [args[0] for name, args in fake.calls if name == "cancelOrder"] == [bracket.parent])
    wait_for(lambda: pa.orders.withdrawing == set())


def test_an_exit_rejected_after_the_entry_partly_filled_leaves_the_entry(harness: Harness) -> None:
    pa, fake = harness
    bracket = pa.orders.place_bracket_order("AAPL", "BUY", 10, 100.0, 105.0, 95.0)
    pa.wrapper.orderStatus(bracket.parent, "Submitted", Decimal(4), Decimal(6), 100.0, 77, 0, 100.0, 1, "", 0.0)
    pa.wrapper.error(bracket.take_profit, 0, 201, "Order rejected - reason:not allowed", "")
    assert pa.orders.get_order_status(bracket.take_profit).status is OrderState.REJECTED
    assert pa.orders.withdrawing == set()  # decided on the spot: no withdrawal started
    assert "cancelOrder" not in fake.names()


def test_the_first_member_of_a_group_is_marked_in_the_journal_before_it_is_sent(harness: Harness) -> None:
    pa, fake = harness
    marks_at_send: list[list[tuple[int, str]]] = []
    journal = pa.orders.journal
    assert journal is not None
    fake.on_call["placeOrder"] = lambda *_: marks_at_send.append(journal.group_marks())
    bracket = pa.orders.place_bracket_order("AAPL", "BUY", 10, 100.0, 105.0, 95.0)
    group = pa.orders.place_oca_group([
        {"symbol": "AAPL", "action": "BUY", "quantity": 1, "order_type": "LMT", "limit_price": 90.0},
        {"symbol": "AAPL", "action": "SELL", "quantity": 1, "order_type": "LMT", "limit_price": 110.0}])
    pa.orders.place_order("AAPL", "BUY", 1, "LMT", limit_price=90.0)
    assert marks_at_send[0] == [(bracket.parent, "bracket 3")]  # already there when the entry was sent
    assert journal.group_marks() == [(bracket.parent, "bracket 3"), (group.order_ids[0], "oca 2")]


def test_withdraw_incomplete_leaves_whole_unknown_and_finished_groups(harness: Harness) -> None:
    pa, fake = harness
    bracket = pa.orders.place_bracket_order("AAPL", "BUY", 10, 100.0, 105.0, 95.0)
    single = pa.orders.place_order("AAPL", "BUY", 1, "LMT", limit_price=90.0)  # no OCA group
    group = pa.orders.place_oca_group([
        {"symbol": "AAPL", "action": "BUY", "quantity": 1, "order_type": "LMT", "limit_price": 90.0},
        {"symbol": "AAPL", "action": "SELL", "quantity": 1, "order_type": "LMT", "limit_price": 110.0}])
    assert order_groups.withdraw_incomplete(pa.orders, [
        (bracket.parent, "bracket 3"), (group.order_ids[0], "oca 2"),  # whole
        (bracket.parent, "bracket x"), (999, "bracket 3"), (single, "oca 2"), (single, "other 2")]) == []
    assert order_groups.withdraw_incomplete(pa.orders, [(bracket.parent, "bracket 4")]) == list(bracket.order_ids)
    assert order_groups.withdraw_incomplete(pa.orders, [(group.order_ids[1], "oca 2")]) == [group.order_ids[1]]
    assert pa.orders.withdrawing == set(bracket.order_ids) | {group.order_ids[1]}
    with pytest.raises(OrderStateError):
        pa.orders.modify_order(bracket.parent, limit_price=99.0)
    pa.orders.withdrawing.clear()
    pa.orders.set_state(single, OrderState.CANCELLED)
    assert order_groups.withdraw_incomplete(pa.orders, [(single, "bracket 3")]) == []  # nothing left to cancel


@pytest.mark.parametrize("settled", [OrderState.REJECTED, OrderState.INACTIVE])
def test_a_held_entry_ib_did_not_report_at_restart_is_cancelled_anyway(harness: Harness, settled: OrderState) -> None:
    # IB's open orders may leave out an order placed with transmit=False in an earlier session: the
    # start's reconciliation settles it as never sent (or Inactive), yet it may be held at the gateway
    pa, fake = harness
    bracket = pa.orders.place_bracket_order("AAPL", "BUY", 10, 100.0, 105.0, 95.0)
    other = pa.orders.place_order("AAPL", "BUY", 1, "LMT", limit_price=90.0)
    assert order_groups.withdraw_incomplete(pa.orders, [(bracket.parent, "bracket 4")]) == list(bracket.order_ids)
    for order_id in bracket.order_ids:
        pa.orders.set_state(order_id, settled, reason="not found")
    pa.orders.withdrawing.add(other)  # a member of a group failed part-way in this process: no such cancel
    pa.orders.set_state(other, settled)
    fake.calls.clear()
    order_groups.finish_withdrawals(pa.orders)
    assert [args[0] for name, args in fake.calls if name == "cancelOrder"] == list(bracket.order_ids)
    assert pa.orders.withdrawing == pa.orders.held_at_restart == set()


def test_a_held_entry_unreported_at_restart_waits_for_the_link(harness: Harness) -> None:
    pa, fake = harness
    bracket = pa.orders.place_bracket_order("AAPL", "BUY", 10, 100.0, 105.0, 95.0)
    order_groups.withdraw_incomplete(pa.orders, [(bracket.parent, "bracket 4")])
    pa.orders.set_state(bracket.parent, OrderState.REJECTED)
    pa.orders.set_state(bracket.take_profit, OrderState.FILLED, filled=Decimal(10))
    pa.orders.set_state(bracket.stop_loss, OrderState.CANCELLED)
    fake.isConnected = lambda: False  # the link dropped: the cancel did not go out
    order_groups.finish_withdrawals(pa.orders)
    assert pa.orders.withdrawing == {bracket.parent}  # tried again after the next reconnect


def test_exits_whose_entry_never_reached_ib_are_withdrawn(harness: Harness) -> None:
    # the reverse of an entry held without its exits: a reconciliation finds the entry never sent
    # (its placement lost with the link or the process) while its exits work at IB
    from platform_adapter.adapters.orders.reconciliation import NEVER_SENT

    pa, fake = harness
    bracket = pa.orders.place_bracket_order("AAPL", "BUY", 10, 100.0, 105.0, 95.0)
    lone = pa.orders.place_order("AAPL", "BUY", 1, "LMT", limit_price=90.0)
    for exit_id in (bracket.take_profit, bracket.stop_loss):
        pa.orders.set_state(exit_id, OrderState.PRE_SUBMITTED)
    fake.calls.clear()
    pa.orders.set_state(lone, OrderState.REJECTED, reason=NEVER_SENT)  # no exits: nothing to withdraw
    pa.orders.set_state(bracket.parent, OrderState.REJECTED, reason=NEVER_SENT)
    cancels = lambda: sorted(args[0] for name, args in fake.calls if name == "cancelOrder")  # noqa: E731
    wait_for(lambda: cancels() == [bracket.take_profit, bracket.stop_loss], timeout=5)
    wait_for(lambda: pa.orders.withdrawing == set(), timeout=5)
