"""A bracket whose entry ends partly filled, with a fake EClient: the paths the simulator does not
provoke (IB keeping the exits working, an exit already partly filled, a link failing while
the exits are placed anew, a replacement IB refuses, an exit whose good-till date has passed), and
what a restart keeps (the links, an owner's cancel)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from platform_adapter import NotConnected, OrderState
from platform_adapter.adapters.orders import protection
from platform_adapter.errors import ContractNotFound, OrderStateError
from platform_adapter.models.contract import ContractSpec
from platform_adapter.models.order import OrderAction, OrderExtras, OrderRequest, OrderType, TimeInForce
from tests.conftest import wait_for
from tests.unit.adapters.test_order_execution import Harness, make_harness


def status(pa: Any, order_id: int, state: str, filled: int, total: int) -> None:
    pa.wrapper.orderStatus(order_id, state, Decimal(filled), Decimal(total - filled), 100.0 if filled else 0.0,
                           900 + order_id, 0, 100.0 if filled else 0.0, 1, "", 0.0)


def sent_after(fake: Any, mark: int) -> list[tuple[int, Any]]:
    return [(args[0], args[2]) for name, args in fake.calls[mark:] if name == "placeOrder"]


def bracket_partly_filled(pa: Any, filled: int = 4) -> Any:
    bracket = pa.orders.place_bracket_order("AAPL", "BUY", 10, 100.0, 105.0, 95.0)
    for child in (bracket.take_profit, bracket.stop_loss):
        status(pa, child, "PreSubmitted", 0, 10)
    status(pa, bracket.parent, "Submitted", filled, 10)
    return bracket


def test_exits_ib_keeps_working_are_resized_to_the_filled_quantity(harness: Harness) -> None:
    pa, fake = harness
    bracket = bracket_partly_filled(pa)
    mark = len(fake.calls)
    status(pa, bracket.parent, "Cancelled", 4, 10)
    sent = wait_for(lambda: (lambda s: s if len(s) == 2 else None)(sent_after(fake, mark)))
    assert sorted((oid, o.totalQuantity, o.parentId) for oid, o in sent) == [
        (bracket.take_profit, Decimal(4), 0), (bracket.stop_loss, Decimal(4), 0)]  # no parent: it is over
    wait_for(lambda: pa.orders.protecting == set())
    assert pa.orders.get_order(bracket.take_profit).replaced_by == 0


def test_an_exit_already_partly_filled_is_resized_to_what_is_held(harness: Harness) -> None:
    # IB activated the exits on the entry's partial fill, and the take profit sold 1 of the 4
    pa, fake = harness
    bracket = bracket_partly_filled(pa)
    status(pa, bracket.take_profit, "Submitted", 1, 10)
    mark = len(fake.calls)
    status(pa, bracket.parent, "Cancelled", 4, 10)
    sent = wait_for(lambda: (lambda s: s if len(s) == 2 else None)(sent_after(fake, mark)))
    assert sorted((oid, o.totalQuantity) for oid, o in sent) == [(bracket.take_profit, Decimal(4)),
                                                                (bracket.stop_loss, Decimal(3))]


def test_exits_that_took_the_whole_position_are_left_alone(harness: Harness) -> None:
    pa, fake = harness
    bracket = bracket_partly_filled(pa)
    status(pa, bracket.take_profit, "Submitted", 4, 10)
    mark = len(fake.calls)
    status(pa, bracket.parent, "Cancelled", 4, 10)
    wait_for(lambda: pa.orders.protecting == set())
    protection.run(pa.orders)  # what a reconnect does: nothing waits, nothing is sent
    assert sent_after(fake, mark) == []


def test_exits_cancelled_with_the_entry_are_placed_anew_as_an_oca_pair(harness: Harness) -> None:
    pa, fake = harness
    bracket = bracket_partly_filled(pa)
    for child in (bracket.take_profit, bracket.stop_loss):
        status(pa, child, "Cancelled", 0, 10)
    mark = len(fake.calls)
    status(pa, bracket.parent, "Cancelled", 4, 10)
    sent = wait_for(lambda: (lambda s: s if len(s) == 2 else None)(sent_after(fake, mark)))
    assert [(o.orderType, o.action, o.totalQuantity, o.parentId, o.ocaType, o.transmit) for _, o in sent] == [
        ("LMT", "SELL", Decimal(4), 0, 2, True), ("STP", "SELL", Decimal(4), 0, 2, True)]
    assert sent[0][1].ocaGroup == sent[1][1].ocaGroup == pa.orders.get_order(bracket.parent).order_ref + ".exits"
    assert [pa.orders.get_order(i).replaced_by for i in (bracket.take_profit, bracket.stop_loss)] == [
        oid for oid, _ in sent]


def test_a_link_failing_while_placing_anew_is_taken_up_after_the_reconnect(harness: Harness) -> None:
    pa, fake = harness
    bracket = bracket_partly_filled(pa)
    for child in (bracket.take_profit, bracket.stop_loss):
        status(pa, child, "Cancelled", 0, 10)
    link = pa.connection.require_connected

    def down() -> Any:
        raise NotConnected("link lost")

    pa.connection.require_connected = down
    status(pa, bracket.parent, "Cancelled", 4, 10)
    wait_for(lambda: pa.orders.protecting == {bracket.parent})
    mark = len(fake.calls)
    pa.connection.require_connected = link
    protection.run(pa.orders)  # as reconcile_after runs it once the reconnect's reconciliation is done
    sent = sent_after(fake, mark)
    assert [(o.orderType, o.totalQuantity) for _, o in sent] == [("LMT", Decimal(4)), ("STP", Decimal(4))]
    assert pa.orders.protecting == set()


def test_a_replacement_ib_refuses_is_not_placed_again(harness: Harness) -> None:
    pa, fake = harness
    bracket = bracket_partly_filled(pa)
    for child in (bracket.take_profit, bracket.stop_loss):
        status(pa, child, "Cancelled", 0, 10)
    mark = len(fake.calls)
    status(pa, bracket.parent, "Cancelled", 4, 10)
    sent = wait_for(lambda: (lambda s: s if len(s) == 2 else None)(sent_after(fake, mark)))
    pa.wrapper.error(sent[1][0], 0, 201, "Order rejected - reason:not allowed", "")
    assert pa.orders.get_order_status(sent[1][0]).status is OrderState.REJECTED
    wait_for(lambda: pa.orders.protecting == set())
    protection.run(pa.orders)
    assert len(sent_after(fake, mark)) == 2


def test_an_exit_that_cannot_be_placed_anew_is_logged_and_the_other_goes(harness: Harness,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    pa, fake = harness
    bracket = bracket_partly_filled(pa)
    for child in (bracket.take_profit, bracket.stop_loss):
        status(pa, child, "Cancelled", 0, 10)
    resolve = pa.contracts.resolve
    calls = [0]

    def flaky(spec: Any) -> Any:
        calls[0] += 1
        if calls[0] == 1:
            raise ContractNotFound("AAPL")
        return resolve(spec)

    monkeypatch.setattr(pa.contracts, "resolve", flaky)
    mark = len(fake.calls)
    status(pa, bracket.parent, "Cancelled", 4, 10)
    sent = wait_for(lambda: sent_after(fake, mark))
    assert [(o.orderType, o.totalQuantity) for _, o in sent] == [("STP", Decimal(4))]
    assert pa.orders.get_order(bracket.take_profit).replaced_by == 0


def test_a_replacements_link_survives_a_restart(tmp_path: Path) -> None:
    pa, fake = make_harness(tmp_path)
    try:
        bracket = bracket_partly_filled(pa)
        for child in (bracket.take_profit, bracket.stop_loss):
            status(pa, child, "Cancelled", 0, 10)
        status(pa, bracket.parent, "Cancelled", 4, 10)
        new_sl = wait_for(lambda: pa.orders.get_order(bracket.stop_loss).replaced_by)
    finally:
        pa.orders.stop()
        pa.events.stop()
    again, _ = make_harness(tmp_path)
    try:
        assert again.orders.get_order(bracket.stop_loss).replaced_by == new_sl
        restored = again.orders.get_order(new_sl)
        assert (restored.request.extras.replaces, restored.request.extras.parent_id) == (bracket.stop_loss,
                                                                                        bracket.parent)
    finally:
        again.orders.stop()
        again.events.stop()


def test_the_callers_own_ref_is_kept() -> None:
    assert protection._user_ref("pa-0123456789abcdef-mine", "pa") == "mine"
    assert protection._user_ref("pa-0123456789abcdef", "pa") == ""
    assert protection._user_ref("other", "pa") == ""


def test_a_pass_for_an_entry_that_has_not_ended_sends_nothing(harness: Harness) -> None:
    pa, fake = harness
    bracket = bracket_partly_filled(pa)  # still working: its exits wait for it
    mark = len(fake.calls)
    pa.orders.protecting.update({bracket.parent, 999})  # 999: an order the adapter does not know
    protection.run(pa.orders)
    assert sent_after(fake, mark) == [] and pa.orders.protecting == set()


def test_a_pass_that_raises_is_logged(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    pa, _ = harness
    logged: list[str] = []

    def broken(adapter: Any) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(protection, "run", broken)
    monkeypatch.setattr(protection.logger, "opt", lambda **_: type("L", (), {"error": logged.append})())
    protection._run_logged(pa.orders)
    assert logged == ["protecting a partly filled bracket raised"]


def test_an_exit_over_before_its_resize_is_left_to_its_status(harness: Harness,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # IB cancelling the exit with the entry while the pass resizes it: modify_order refuses; the
    # exit's Cancelled status starts the pass that places it anew
    pa, fake = harness
    bracket = bracket_partly_filled(pa)
    real = pa.orders.modify_order

    def over(order_id: int, **kwargs: Any) -> bool:
        if order_id == bracket.take_profit:
            raise OrderStateError(order_id, "is Cancelled; it cannot be modified")
        return real(order_id, **kwargs)

    monkeypatch.setattr(pa.orders, "modify_order", over)
    start = len(fake.calls)
    status(pa, bracket.parent, "Cancelled", 4, 10)
    wait_for(lambda: [oid for oid, _ in sent_after(fake, start)] == [bracket.stop_loss])  # the stop resized
    mark = len(fake.calls)
    status(pa, bracket.take_profit, "Cancelled", 0, 10)
    sent = wait_for(lambda: sent_after(fake, mark))
    assert [(o.orderType, o.totalQuantity, o.ocaGroup) for _, o in sent] == [
        ("LMT", Decimal(4), pa.orders.get_order(bracket.stop_loss).request.extras.oca_group)]  # with the working stop


def restarted(tmp_path: Path, first: Any) -> Harness:
    """The adapter stopped, and a new one on the same journal (its orders restored, as at a restart)."""
    first.orders.stop()
    first.events.stop()
    return make_harness(tmp_path)


def test_an_exit_cancelled_before_a_restart_is_not_placed_again(tmp_path: Path) -> None:
    # the owner cancels the take profit, the process ends before IB's answer; after the restart
    # the entry is found Cancelled partly filled: only the stop loss is placed anew
    pa, _ = make_harness(tmp_path)
    bracket = bracket_partly_filled(pa)
    pa.orders.cancel_order(bracket.take_profit)
    again, fake = restarted(tmp_path, pa)
    try:
        assert bracket.take_profit in again.orders.cancelled_by_user
        mark = len(fake.calls)
        for child in (bracket.take_profit, bracket.stop_loss):  # what the reconciliation finds
            status(again, child, "Cancelled", 0, 10)
        status(again, bracket.parent, "Cancelled", 4, 10)
        new_sl = wait_for(lambda: again.orders.get_order(bracket.stop_loss).replaced_by)
        wait_for(lambda: again.orders.protecting == set())
        protection.run(again.orders)
        assert [(oid, o.orderType, o.totalQuantity) for oid, o in sent_after(fake, mark)] == [
            (new_sl, "STP", Decimal(4))]
        assert again.orders.get_order(bracket.take_profit).replaced_by == 0
    finally:
        again.orders.stop()
        again.events.stop()


def test_an_entry_cancelled_by_its_owner_before_a_restart_leaves_its_position_protected(tmp_path: Path) -> None:
    # the owner cancelled the ENTRY (not its exits) after 4 filled: after the restart both exits,
    # cancelled by IB with the entry, are placed anew for the 4 held
    pa, _ = make_harness(tmp_path)
    bracket = bracket_partly_filled(pa)
    pa.orders.cancel_order(bracket.parent)
    again, fake = restarted(tmp_path, pa)
    try:
        assert bracket.parent in again.orders.cancelled_by_user
        mark = len(fake.calls)
        for child in (bracket.take_profit, bracket.stop_loss):
            status(again, child, "Cancelled", 0, 10)
        status(again, bracket.parent, "Cancelled", 4, 10)
        sent = wait_for(lambda: (lambda s: s if len(s) == 2 else None)(sent_after(fake, mark)))
        assert [(o.orderType, o.totalQuantity) for _, o in sent] == [("LMT", Decimal(4)), ("STP", Decimal(4))]
        assert [again.orders.get_order(i).replaced_by for i in (bracket.take_profit, bracket.stop_loss)] == [
            oid for oid, _ in sent]
    finally:
        again.orders.stop()
        again.events.stop()


def _good_till(pa: Any, order_id: int, text: str) -> None:
    """The exit made GTD until ``text`` (as a modification IB confirmed would leave it)."""
    def gtd(t: Any) -> None:
        t.request = replace(t.request, tif=TimeInForce.GTD, extras=replace(t.request.extras, good_till=text))

    pa.orders.state.mutate_trade(order_id, gtd)


def test_an_exit_whose_good_till_has_passed_is_not_placed_again(harness: Harness) -> None:
    # the take profit was good till yesterday (the pass runs after days down): IB refuses a past
    # date, and the exit would have expired anyway; the stop loss, good till next year, goes with its date
    pa, fake = harness
    bracket = bracket_partly_filled(pa)
    now = datetime.now(timezone.utc)
    past, future = ((now + timedelta(days=d)).strftime("%Y%m%d-%H:%M:%S") for d in (-1, 365))
    _good_till(pa, bracket.take_profit, past)
    _good_till(pa, bracket.stop_loss, future)
    for child in (bracket.take_profit, bracket.stop_loss):
        status(pa, child, "Cancelled", 0, 10)
    mark = len(fake.calls)
    status(pa, bracket.parent, "Cancelled", 4, 10)
    wait_for(lambda: pa.orders.get_order(bracket.stop_loss).replaced_by)
    wait_for(lambda: pa.orders.protecting == set())
    protection.run(pa.orders)
    assert [(o.orderType, o.totalQuantity, o.tif, o.goodTillDate) for _, o in sent_after(fake, mark)] == [
        ("STP", Decimal(4), "GTD", future)]
    assert pa.orders.get_order(bracket.take_profit).replaced_by == 0


def test_why_an_order_may_not_be_placed_again() -> None:
    spec = ContractSpec("AAPL")
    gtd = OrderRequest(spec, OrderAction.SELL, Decimal(4), OrderType.LIMIT, 105.0, None, TimeInForce.GTD)
    assert "must be in the future" in protection._expired(
        replace(gtd, extras=OrderExtras(good_till="20200101-00:00:00")))
    assert protection._expired(gtd).startswith("good till (none)")  # no date: IB refuses it too
    assert protection._expired(replace(gtd, tif=TimeInForce.GTC)) == ""
