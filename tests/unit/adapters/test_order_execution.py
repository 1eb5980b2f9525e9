"""OrderExecutionAdapter driven through the Wrapper with a fake EClient: the IB paths that are hard
to provoke from the simulator (corrections, foreign orders, send failures, error codes...)."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from ibapi.commission_and_fees_report import CommissionAndFeesReport
from ibapi.const import UNSET_DOUBLE
from ibapi.contract import Contract
from ibapi.execution import Execution
from ibapi.order import Order as IBOrder
from ibapi.order_state import OrderState as IBOrderState

from platform_adapter import (
    JournalError,
    NotConnected,
    OrderRejected,
    OrderState,
    OrderStateError,
    PlatformAdapter,
    ValidationError,
)
from platform_adapter.adapters.orders.journal import OrderJournal
from platform_adapter.config.settings import load_settings
from platform_adapter.models.contract import ContractInfo, ContractSpec, SecType
from platform_adapter.models.market_data import Quote
from platform_adapter.models.order import Fill
from tests.conftest import wait_for
from tests.fakes import FakeClient
from tests.unit.adapters.orders.journal_helpers import request

Harness = tuple[PlatformAdapter, FakeClient]


def make_harness(tmp_path: Path, **overrides: Any) -> Harness:
    opts: dict[str, Any] = {"orders.journal_path": str(tmp_path / "orders.db"), "logging.console": False,
                            "logging.log_dir": str(tmp_path / "logs"), "environment": "test",
                            "ib_connection.request_timeout": 2.0, "ib_connection.port": 4002}
    opts.update(overrides)
    settings = load_settings(None, env_file=os.devnull, overrides=opts, use_environ=False)
    pa = PlatformAdapter(settings=settings, configure_logging=False)
    fake = FakeClient(pa.wrapper)
    conn = pa.connection
    conn.require_connected = lambda: fake  # type: ignore[method-assign]
    conn.accounts, conn.next_valid_id, conn.client_id = ("DU111",), 10, 1
    pa.contracts.remember(ContractInfo(ContractSpec("AAPL"), 265598, "AAPL", SecType.STOCK, "SMART", "NASDAQ", "USD",
                                       "AAPL", "NMS", 0.01, "", "APPLE INC"))
    pa.events.start()
    pa.orders.open_journal()
    pa.orders.ids.sync(conn.next_valid_id)
    return pa, fake


def contract() -> Contract:
    c = Contract()
    c.conId, c.symbol, c.secType, c.exchange, c.currency = 265598, "AAPL", "STK", "SMART", "USD"
    return c


def ib_order(order_id: int, ref: str, perm: int = 0, client: int = 1, action: str = "BUY", qty: int = 10,
             otype: str = "LMT", lmt: float = 100.0, filled: int = 0) -> IBOrder:
    o = IBOrder()
    o.orderId, o.clientId, o.permId, o.orderRef = order_id, client, perm, ref
    o.action, o.totalQuantity, o.orderType, o.lmtPrice, o.tif = action, Decimal(qty), otype, lmt, "DAY"
    o.filledQuantity = Decimal(filled)
    return o


def ib_state(status: str) -> IBOrderState:
    s = IBOrderState()
    s.status = status
    return s


def execution(exec_id: str, order_id: int, ref: str, shares: int = 10, price: float = 100.0, perm: int = 77,
              client: int = 1) -> Execution:
    e = Execution()
    e.execId, e.orderId, e.orderRef, e.permId, e.clientId = exec_id, order_id, ref, perm, client
    e.shares, e.price, e.side, e.time, e.exchange = Decimal(shares), price, "BOT", "20260102 10:00:00 US/Eastern", "X"
    return e


def commission(exec_id: str, amount: float = 1.0) -> CommissionAndFeesReport:
    r = CommissionAndFeesReport()
    r.execId, r.commissionAndFees, r.currency, r.realizedPNL = exec_id, amount, "USD", UNSET_DOUBLE
    return r


def placed(pa: PlatformAdapter, **kwargs: Any) -> tuple[int, str]:
    order_id = pa.orders.place_order("AAPL", "BUY", 10, "LMT", limit_price=100.0, **kwargs)
    return order_id, pa.orders.get_order(order_id).order_ref


def ack(pa: PlatformAdapter, order_id: int, ref: str, status: str = "Submitted", perm: int = 77) -> None:
    pa.wrapper.openOrder(order_id, contract(), ib_order(order_id, ref, perm), ib_state(status))
    pa.wrapper.orderStatus(order_id, status, Decimal(0), Decimal(10), 0.0, perm, 0, 0.0, 1, "", 0.0)


def test_place_sends_one_order_with_an_adapter_order_ref(harness: Harness) -> None:
    pa, fake = harness
    during: list[bool] = []
    fake.on_call["placeOrder"] = lambda oid, *_: during.append(pa.orders.sent_before(oid, float("inf")))
    order_id, ref = placed(pa, order_ref="mine")
    assert during == [False] and pa.orders.sent_before(order_id, float("inf"))
    (name, (sent_id, _contract, order)), = [c for c in fake.calls if c[0] == "placeOrder"]
    assert sent_id == order_id == 10 and order.orderRef == ref
    assert ref.startswith("pa-") and ref.endswith("-mine")
    assert pa.orders.journal is not None
    assert pa.orders.journal.rows("SELECT status FROM orders") == [("PendingSubmit",)]
    pa.orders.open_journal()  # opening again restores nothing twice
    assert len(pa.state.trades_snapshot()) == 1


def test_notional_limit_uses_the_cached_quote_for_market_orders(tmp_path: Path) -> None:
    pa, fake = make_harness(tmp_path, **{"orders.max_order_notional": 1000.0})
    try:
        pa.state.update_quote(Quote("AAPL", bid=99.0, ask=101.0, last=100.0))
        with pytest.raises(ValidationError, match="notional"):
            pa.orders.place_order("AAPL", "BUY", 10, "MKT")
        pa.state.update_quote(Quote("AAPL", bid=None, ask=None, last=50.0))
        pa.orders.place_order("AAPL", "SELL", 10, "MKT")
        assert fake.names().count("placeOrder") == 1
    finally:
        pa.orders.stop()
        pa.events.stop()


@pytest.mark.parametrize("failure", ["socket", "dropped"])
def test_send_failure_is_not_connected_and_the_order_is_left_in_flight(harness: Harness, failure: str) -> None:
    pa, fake = harness

    def boom(*_: Any) -> None:
        raise OSError("broken pipe")

    if failure == "socket":
        fake.on_call["placeOrder"] = boom
    else:  # the socket closed after the adapter's checks: ibapi would send nothing (504)
        fake.isConnected = lambda: False  # type: ignore[method-assign]
    with pytest.raises(NotConnected, match="may not have reached"):
        placed(pa)
    assert fake.names().count("placeOrder") == (1 if failure == "socket" else 0)
    assert pa.orders.get_order_status(10).status is OrderState.PENDING_SUBMIT
    assert pa.orders.sent_before(10, float("inf"))
    pa.orders.stop()
    with pytest.raises(NotConnected, match="journal"):
        placed(pa)


def test_rejection_and_duplicate_order_id(harness: Harness) -> None:
    pa, fake = harness
    first, _ = placed(pa)
    pa.wrapper.error(first, 0, 103, "Duplicate order id", "")
    assert "reqIds" in fake.names()
    with pytest.raises(OrderRejected) as info:
        pa.orders.wait_for_status(first, "Submitted", timeout=1)
    assert info.value.code == 103
    second, _ = placed(pa)
    assert second > first
    pa.wrapper.error(second, 0, 399, "Order will not be placed until market opens", "")
    pa.wrapper.error(999, 0, 201, "not ours", "")
    assert pa.orders.get_order_status(second).status is OrderState.PENDING_SUBMIT


@pytest.mark.parametrize("cancelled", [False, True])
def test_a_duplicate_order_id_for_an_order_ib_holds_leaves_it_as_it_was(harness: Harness, cancelled: bool) -> None:
    """IB's 103 answers a placeOrder with the id of an order it holds (a modify that raced the
    order's cancel, its answer after the 202): the order is not a rejected new order."""
    pa, fake = harness
    order_id, ref = placed(pa)
    ack(pa, order_id, ref)
    if cancelled:
        pa.wrapper.error(order_id, 0, 202, "Order Canceled - reason:", "")
    pa.wrapper.error(order_id, 0, 103, "Duplicate order id", "")
    status = pa.orders.get_order_status(order_id)
    assert status.status is (OrderState.CANCELLED if cancelled else OrderState.SUBMITTED)
    assert status.last_error == "IB 103: Duplicate order id" and "reqIds" not in fake.names()


def test_errors_after_modify_and_cancel_leave_the_order_unchanged(harness: Harness) -> None:
    pa, fake = harness
    order_id, ref = placed(pa)
    ack(pa, order_id, ref)
    pa.orders.modify_order(order_id, limit_price=101.0)
    pa.wrapper.error(order_id, 0, 110, "The price does not conform to the minimum price variation", "")
    status = pa.orders.get_order_status(order_id)
    assert status.status is OrderState.SUBMITTED and "110" in status.last_error
    assert pa.orders.get_order(order_id).request.limit_price == 100.0
    pa.orders.cancel_order(order_id)
    pa.wrapper.error(order_id, 0, 10148, "cannot be cancelled", "")
    assert pa.orders.get_order_status(order_id).status is OrderState.SUBMITTED
    pa.wrapper.error(order_id, 0, 202, "Order Canceled - reason:", "")
    assert pa.orders.get_order_status(order_id).status is OrderState.CANCELLED


@pytest.mark.parametrize("failure", ["dropped", "socket"])
def test_modify_or_cancel_when_the_link_drops_while_sending_raise_not_connected(harness: Harness,
                                                                                failure: str) -> None:
    pa, fake = harness
    order_id, ref = placed(pa)
    ack(pa, order_id, ref)
    if failure == "dropped":  # ibapi finds the link closed and sends nothing
        fake.isConnected = lambda: False  # type: ignore[method-assign]
    else:
        def broken(*_: Any) -> None:
            raise OSError("broken pipe")
        fake.on_call["placeOrder"] = fake.on_call["cancelOrder"] = broken
    with pytest.raises(NotConnected, match="modification may not have reached IB"):
        pa.orders.modify_order(order_id, limit_price=101.0)
    with pytest.raises(NotConnected, match="cancel may not have reached IB"):
        pa.orders.cancel_order(order_id)
    assert not pa.orders._pending
    assert pa.orders.get_order(order_id).request.limit_price == 100.0
    assert pa.orders.get_order_status(order_id).status is OrderState.SUBMITTED


def test_modify_is_applied_when_ib_confirms_it(harness: Harness) -> None:
    pa, fake = harness
    order_id, ref = placed(pa)
    ack(pa, order_id, ref)
    pa.wrapper.orderStatus(order_id, "Submitted", Decimal(4), Decimal(6), 100.0, 77, 0, 100.0, 1, "", 0.0)
    with pytest.raises(ValidationError, match="already filled"):
        pa.orders.modify_order(order_id, quantity=4)
    pa.orders.modify_order(order_id, quantity=20, limit_price=100.5)
    assert pa.orders.get_order(order_id).request.limit_price == 100.0
    confirmed = ib_order(order_id, ref, 77, qty=20, lmt=100.5)
    confirmed.tif = "FOK"
    pa.wrapper.openOrder(order_id, contract(), confirmed, ib_state("Submitted"))
    assert pa.orders.get_order(order_id).request.limit_price == 100.5
    assert pa.orders.get_order(order_id).request.tif.value == "DAY"  # from the ack; FOK is not ours
    assert pa.orders.get_order(order_id).request.quantity == Decimal(20)


def test_final_states_are_never_left(harness: Harness) -> None:
    pa, _ = harness
    order_id, ref = placed(pa)
    ack(pa, order_id, ref)
    pa.wrapper.orderStatus(order_id, "Cancelled", Decimal(0), Decimal(0), 0.0, 77, 0, 0.0, 1, "", 0.0)
    pa.wrapper.orderStatus(order_id, "Submitted", Decimal(0), Decimal(10), 0.0, 77, 0, 0.0, 1, "", 0.0)
    pa.wrapper.orderStatus(order_id, "Submitted", Decimal(0), Decimal(10), 100.0, 77, 0, 0.0, 1, "", 0.0)
    pa.orders.set_state(order_id, OrderState.SUBMITTED)
    status = pa.orders.get_order_status(order_id)
    assert status.status is OrderState.CANCELLED and status.avg_fill_price == 100.0
    with pytest.raises(OrderStateError):
        pa.orders.modify_order(order_id, limit_price=99.0)


def test_foreign_orders_are_listed_but_not_ours(harness: Harness) -> None:
    pa, _ = harness
    pa.wrapper.openOrder(0, contract(), ib_order(0, "tws", perm=555, client=0, qty=3), ib_state("Submitted"))
    pa.wrapper.openOrder(0, contract(), ib_order(0, "tws", perm=556, client=0, action="SSHORT"), ib_state("Submitted"))
    pa.wrapper.openOrder(42, contract(), ib_order(42, "other-ref"), ib_state("Submitted"))
    (foreign,) = [o for o in pa.orders.get_open_orders() if o.perm_id == 555]
    assert foreign.request.quantity == Decimal(3) and foreign.order_ref == "tws"
    assert not pa.state.has_trade(42)
    assert pa.orders.match(0, 0, 0, "") is None
    pa.wrapper.orderStatus(43, "Filled", Decimal(1), Decimal(0), 1.0, 0, 0, 1.0, 1, "", 0.0)
    with pytest.raises(OrderStateError, match="unknown"):
        pa.orders.get_order_status(43)


def test_fills_join_commissions_and_corrections_count_once(harness: Harness, recorder: Any) -> None:
    pa, _ = harness
    pa.orders.on_fill(recorder)
    order_id, ref = placed(pa)
    ack(pa, order_id, ref)
    pa.wrapper.commissionAndFeesReport(commission("e1.01", 1.5))  # before its execution
    pa.wrapper.execDetails(-1, contract(), execution("e1.01", order_id, ref, shares=4))
    pa.wrapper.execDetails(-1, contract(), execution("e1.01", order_id, ref, shares=4))  # repeat
    pa.wrapper.execDetails(-1, contract(), execution("e1.02", order_id, ref, shares=5))  # correction
    pa.wrapper.commissionAndFeesReport(commission("e1.02", 2.0))
    pa.wrapper.execDetails(-1, contract(), execution("zz.01", 5000, "someone-else", perm=999))
    pa.wrapper.commissionAndFeesReport(commission("zz.01"))
    pa.events.wait_idle(2)
    (call,) = recorder.wait(1)
    assert call[0].exec_id == "e1.01" and call[0].commission == 1.5
    fills = pa.orders.get_order_status(order_id).fills
    assert [(f.exec_id, f.quantity, f.commission) for f in fills] == [("e1.02", Decimal(5), 2.0)]
    assert pa.orders.get_order_status(order_id).perm_id == 77
    assert not call[0].possible_duplicate
    journal = pa.orders.journal
    assert journal is not None
    wait_for(lambda: journal.rows("SELECT exec_id, notified FROM fills") == [("e1.02", 1)], timeout=2)


def test_a_fill_after_the_journal_closed_still_reaches_the_callbacks(harness: Harness, recorder: Any) -> None:
    """Nothing to record it in (the adapter is stopping): delivered at once rather than lost."""
    pa, _ = harness
    pa.orders.on_fill(recorder)
    order_id, ref = placed(pa)
    ack(pa, order_id, ref)
    pa.orders.stop()
    pa.wrapper.execDetails(-1, contract(), execution("e9.01", order_id, ref, shares=10))
    pa.wrapper.commissionAndFeesReport(commission("e9.01", 1.0))
    (call,) = recorder.wait(1)
    assert call[0].exec_id == "e9.01" and not call[0].possible_duplicate


def test_wait_and_subscription_arguments_are_checked(harness: Harness) -> None:
    pa, _ = harness
    order_id, ref = placed(pa)
    bad: Any
    for bad in ("Nonsense", []):
        with pytest.raises(ValidationError, match="statuses"):
            pa.orders.wait_for_status(order_id, bad, timeout=0.1)
    bad_id: Any
    for bad_id in (0, -1, "1", True):
        with pytest.raises(ValidationError, match="order_id"):
            pa.orders.get_order_status(bad_id)
    with pytest.raises(ValidationError, match="callback"):
        pa.orders.on_fill("not callable")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="callback"):
        pa.orders.on_order_status(None)  # type: ignore[arg-type]
    pa.wrapper.orderStatus(order_id, "Filled", Decimal(10), Decimal(0), 100.0, 77, 0, 100.0, 1, "", 0.0)
    assert pa.orders.wait_for_status(order_id, timeout=0.1).status is OrderState.FILLED


@pytest.mark.parametrize(("wait_for", "timeout", "field"), [
    ("Nonsense", 1.0, "statuses"), ([], 1.0, "statuses"), ("Submitted", -1, "timeout"),
    ("Submitted", float("nan"), "timeout"), ("Submitted", float("inf"), "timeout"), ("Submitted", True, "timeout"),
    ("Submitted", "5", "timeout")])
def test_place_and_wait_refuses_bad_wait_arguments_before_placing(harness: Harness, wait_for: Any, timeout: Any,
                                                                  field: str) -> None:
    pa, fake = harness
    with pytest.raises(ValidationError, match=field):
        pa.orders.place_order_and_wait("AAPL", "BUY", 10, "LMT", wait_for=wait_for, timeout=timeout,
                                       limit_price=100.0)
    assert [c for c in fake.calls if c[0] == "placeOrder"] == []
    assert pa.state.trades_snapshot() == []
    if field == "timeout":  # the same check when waiting for an order placed before
        order_id, _ = placed(pa)
        with pytest.raises(ValidationError, match="timeout"):
            pa.orders.wait_for_status(order_id, "Submitted", timeout)


def test_every_waiter_wakes_and_no_wake_up_is_lost_when_a_status_races_the_wait(harness: Harness) -> None:
    """The decoding thread wakes waiters only when some are counted; a waiter counts itself before
    it reads the status, so one that starts while the status arrives still sees it."""
    pa, _ = harness
    order_id, ref = placed(pa)
    ack(pa, order_id, ref)
    results: list[OrderState] = []
    waiters = [threading.Thread(target=lambda: results.append(pa.orders.wait_for_status(order_id, timeout=5).status))
               for _ in range(6)]
    for t in waiters:
        t.start()
    wait_for(lambda: pa.orders._status_waiters == 6)
    pa.wrapper.orderStatus(order_id, "Filled", Decimal(10), Decimal(0), 100.0, 77, 0, 100.0, 1, "", 0.0)
    for t in waiters:
        t.join(5)
    assert results == [OrderState.FILLED] * 6 and pa.orders._status_waiters == 0
    for _ in range(40):  # the wait and the acknowledgement start together, in either order
        order_id, ref = placed(pa)
        got: list[Any] = []
        waiter = threading.Thread(target=lambda oid=order_id, got=got: got.append(
            pa.orders.wait_for_status(oid, [OrderState.SUBMITTED], timeout=2).status))
        waiter.start()
        ack(pa, order_id, ref)
        waiter.join(3)
        assert got == [OrderState.SUBMITTED]
    assert pa.orders._status_waiters == 0


def test_status_callbacks_see_every_change(harness: Harness, recorder: Any) -> None:
    pa, _ = harness
    pa.orders.on_order_status(recorder)
    order_id, ref = placed(pa)
    ack(pa, order_id, ref)
    pa.wrapper.orderStatus(order_id, "Filled", Decimal(10), Decimal(0), 100.0, 77, 0, 100.0, 1, "", 0.0)
    wait_for(lambda: recorder.calls and recorder.calls[-1][0].status is OrderState.FILLED)
    seen: Callable[[], list[OrderState]] = lambda: [c[0].status for c in recorder.calls]  # noqa: E731
    assert OrderState.SUBMITTED in seen()


def test_a_status_listener_runs_on_the_thread_that_applied_the_change(harness: Harness, recorder: Any) -> None:
    """``listen_status`` (the service's): called where the change is applied; one that raises is
    logged and the others, the callbacks and the waiters go on."""
    pa, _ = harness
    heard: list[tuple[OrderState, str]] = []

    def listener(status: Any) -> None:
        heard.append((status.status, threading.current_thread().name))

    def broken(status: Any) -> None:
        raise RuntimeError("a bug in a listener")

    pa.orders.listen_status(broken)
    pa.orders.listen_status(listener)
    pa.orders.on_order_status(recorder)
    with pytest.raises(ValidationError, match="callable"):
        pa.orders.listen_status("not callable")  # type: ignore[arg-type]
    order_id, ref = placed(pa)
    ack(pa, order_id, ref)  # applied here, on this thread (the decoding thread's role in the test)
    me = threading.current_thread().name
    assert (OrderState.SUBMITTED, me) in heard
    assert pa.orders.wait_for_status(order_id, "Submitted", timeout=2).status is OrderState.SUBMITTED
    wait_for(lambda: any(c[0].status is OrderState.SUBMITTED for c in recorder.calls))
    assert all(thread == me for _, thread in heard)


def test_a_new_order_listener_hears_the_id_before_anything_is_sent(harness: Harness) -> None:
    """``listen_new_orders`` (the service's ownership record): called with each new order's id
    before the order is journalled or sent; what it raises fails the placement, nothing sent."""
    pa, fake = harness
    sent: Callable[[], int] = lambda: sum(c[0] == "placeOrder" for c in fake.calls)  # noqa: E731
    heard: list[tuple[int, int]] = []
    pa.orders.listen_new_orders(lambda order_id: heard.append((order_id, sent())))
    order_id, _ = placed(pa)
    assert heard == [(order_id, 0)] and sent() == 1

    def refuse(order_id: int) -> None:
        raise OSError("the ownership record failed")

    pa.orders.listen_new_orders(refuse)
    before = len(pa.state.trades_snapshot())
    with pytest.raises(OSError, match="ownership record"):
        pa.orders.place_order("AAPL", "BUY", 10, "LMT", limit_price=100.0)
    assert sent() == 1 and len(pa.state.trades_snapshot()) == before  # nothing sent, no trade
    assert len(heard) == 2  # the first listener heard the refused order's id too


def test_a_committed_fill_never_confirmed_delivered_is_delivered_again(tmp_path: Path) -> None:
    """A crash after a fill's commit and before its callbacks were confirmed: the next start hands
    the fill to the callbacks again (flagged ``possible_duplicate``) and then marks it delivered."""
    journal = OrderJournal(tmp_path / "orders.db")
    journal.record_request(12, request("pa-x"), 1)
    fill = Fill("e5.01", 12, "AAPL", "BOT", Decimal(10), 10.0, datetime(2026, 1, 2, tzinfo=timezone.utc),
                commission=1.0, commission_currency="USD")
    journal.record_fill(fill, "20260102 10:00:00")
    journal.close()  # committed; its "notified" mark never written
    pa, _ = make_harness(tmp_path)
    try:
        assert not pa.orders.fills.claim_delivery(fill.exec_key)  # claimed by the redelivery at start
        restored = pa.orders.journal
        assert restored is not None
        wait_for(lambda: restored.rows("SELECT exec_id, notified FROM fills") == [("e5.01", 1)], timeout=2)
    finally:
        pa.orders.stop()
        pa.events.stop()


def test_a_filled_order_stays_filled_whatever_arrives_later(harness: Harness, recorder: Any) -> None:
    """A cancel racing the fill: IB's late Cancelled status or 202 for an order already Filled
    changes nothing and reaches no callback."""
    pa, _ = harness
    pa.orders.on_order_status(recorder)
    order_id, ref = placed(pa)
    ack(pa, order_id, ref)
    pa.wrapper.orderStatus(order_id, "Filled", Decimal(10), Decimal(0), 100.0, 77, 0, 100.0, 1, "", 0.0)
    pa.wrapper.orderStatus(order_id, "Cancelled", Decimal(10), Decimal(0), 100.0, 77, 0, 100.0, 1, "", 0.0)
    pa.wrapper.error(order_id, 0, 202, "Order Canceled - reason:", "")
    pa.orders.set_state(order_id, OrderState.INACTIVE)
    assert pa.events.wait_idle(2)
    assert [c[0].status for c in recorder.calls] == [OrderState.SUBMITTED, OrderState.FILLED]
    assert pa.orders.get_order_status(order_id).status is OrderState.FILLED


def test_a_modification_builds_on_the_one_ib_has_not_confirmed_yet(harness: Harness) -> None:
    """IB replaces the whole order on a modification: the second of two modifications sent back
    to back carries the first's change, and IB's rejection of the second (201, after the first was
    confirmed) leaves the working order as it was instead of marking it Rejected."""
    pa, fake = harness
    order_id, ref = placed(pa)
    ack(pa, order_id, ref)
    pa.orders.modify_order(order_id, limit_price=101.0)
    pa.orders.modify_order(order_id, quantity=20)
    sent = [args[2] for name, args in fake.calls if name == "placeOrder"]
    assert [(o.lmtPrice, o.totalQuantity) for o in sent[1:]] == [(101.0, Decimal(10)), (101.0, Decimal(20))]
    pa.wrapper.openOrder(order_id, contract(), ib_order(order_id, ref, 77, lmt=101.0), ib_state("Submitted"))
    pa.wrapper.error(order_id, 0, 201, "Order rejected - reason: not enough margin", "")
    status = pa.orders.get_order_status(order_id)
    assert status.status is OrderState.SUBMITTED and "201" in status.last_error
    assert pa.orders.get_order(order_id).request.limit_price == 101.0
    pa.orders.modify_order(order_id, limit_price=102.0)  # after the failure: built on the confirmed order
    assert (fake.calls[-1][1][2].lmtPrice, fake.calls[-1][1][2].totalQuantity) == (102.0, Decimal(10))


def test_status_callbacks_follow_the_order_changes_were_applied_across_threads(harness: Harness,
                                                                                recorder: Any) -> None:
    """Reconciliation applies an order's executions on its own thread while the decoding thread
    applies IB's Filled: the callbacks (and the journal) get the two changes in the order they
    were made, so the last status a callback sees is the order's own."""
    pa, _ = harness
    order_id, ref = placed(pa)
    ack(pa, order_id, ref)
    pa.wrapper.execDetails(-1, contract(), execution("e7.01", order_id, ref, shares=4))
    pa.orders.on_order_status(recorder)
    paused, decoded = threading.Event(), threading.Event()

    def hold_reconciler(status: Any) -> None:  # between the reconciler's change and its callbacks
        if threading.current_thread().name == "reconciler":
            paused.set()
            decoded.wait(0.5)  # fixed: the decoding thread's change waits for this one's callbacks

    pa.orders.listen_status(hold_reconciler)
    reconciler = threading.Thread(target=pa.orders.apply_fills, args=(order_id,), name="reconciler")
    reconciler.start()
    assert paused.wait(5)
    decoder = threading.Thread(target=lambda: (pa.wrapper.orderStatus(
        order_id, "Filled", Decimal(10), Decimal(0), 100.0, 77, 0, 100.0, 1, "", 0.0), decoded.set()))
    decoder.start()
    reconciler.join(5)
    decoder.join(5)
    assert pa.events.wait_idle(2)
    assert [(c[0].status, c[0].filled) for c in recorder.calls] == [(OrderState.SUBMITTED, Decimal(4)),
                                                                    (OrderState.FILLED, Decimal(10))]
    journal = pa.orders.journal
    assert journal is not None
    assert journal.rows("SELECT status, filled FROM orders") == [("Filled", "10")]


def test_a_late_status_with_fewer_fills_changes_nothing(harness: Harness, recorder: Any) -> None:
    """IB's statuses of one order arriving out of order (a report of 2 filled after one of 4):
    the filled quantity does not go down, nor does the remaining one go back up with the stale
    report (filled + remaining stays the order's quantity), and no callback hears the stale one."""
    pa, _ = harness
    order_id, ref = placed(pa)
    ack(pa, order_id, ref)
    pa.orders.on_order_status(recorder)
    pa.wrapper.orderStatus(order_id, "Submitted", Decimal(4), Decimal(6), 100.0, 77, 0, 100.0, 1, "", 0.0)
    pa.wrapper.orderStatus(order_id, "Submitted", Decimal(2), Decimal(8), 100.0, 77, 0, 100.0, 1, "", 0.0)
    assert pa.events.wait_idle(2)
    status = pa.orders.get_order_status(order_id)
    assert (status.filled, status.remaining) == (Decimal(4), Decimal(6))
    assert [(c[0].filled, c[0].remaining) for c in recorder.calls] == [(Decimal(4), Decimal(6))]


def test_an_order_the_journal_cannot_record_is_a_typed_error_and_never_sent(harness: Harness) -> None:
    """The journal's database refuses the new row (a full disk, a corrupt file): place_order
    raises JournalError, nothing reaches IB and no order is left behind; the next one goes."""
    pa, fake = harness
    journal = pa.orders.journal
    assert journal is not None
    real = journal.record_request

    def refuse(*args: Any) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    journal.record_request = refuse  # type: ignore[method-assign]
    with pytest.raises(JournalError, match="disk is full"):
        pa.orders.place_order("AAPL", "BUY", 10, "LMT", limit_price=100.0, order_ref="first")
    assert not [c for c in fake.calls if c[0] == "placeOrder"]
    assert pa.state.trades_snapshot() == [] and pa.orders.get_open_orders() == []
    journal.record_request = real  # type: ignore[method-assign]
    order_id, _ = placed(pa, order_ref="first")
    assert [c[1][0] for c in fake.calls if c[0] == "placeOrder"] == [order_id]


def test_fills_wait_in_order_behind_a_blocked_fill_callback(harness: Harness) -> None:
    """A fill callback that blocks past the event thread's threshold: the next fills are held
    until it returns and then reach it in order, one call at a time; before, the next fill's
    task ran on the new worker and called the same callback at once, out of order."""
    pa, _ = harness
    pa.events.block_threshold = 0.2
    release = threading.Event()
    seen: list[str] = []
    entered = threading.Event()

    def on_fill(fill: Any) -> None:
        seen.append(fill.exec_id)
        if fill.exec_id == "f1.01":
            entered.set()
            release.wait(10)

    pa.orders.on_fill(on_fill)
    order_id, ref = placed(pa)
    ack(pa, order_id, ref)
    for n, shares in ((1, 3), (2, 3), (3, 4)):
        pa.wrapper.execDetails(-1, contract(), execution(f"f{n}.01", order_id, ref, shares=shares))
        pa.wrapper.commissionAndFeesReport(commission(f"f{n}.01"))
        if n == 1:
            assert entered.wait(5)
            wait_for(lambda: pa.events.blocked_callbacks == 1, timeout=5)
    assert pa.events.wait_idle(5)  # the later fills are held, not pending
    assert seen == ["f1.01"]
    release.set()
    wait_for(lambda: seen == ["f1.01", "f2.01", "f3.01"], timeout=5)


def test_a_late_error_on_a_filled_order_is_kept_without_a_second_filled_callback(harness: Harness,
                                                                                  recorder: Any) -> None:
    """A cancel that came too late for the fill (IB 10148): the order's text says so, but its
    status callbacks heard Filled once (a strategy acting on Filled acts once); a failed
    modification of a working order is still reported to them."""
    pa, _ = harness
    pa.orders.on_order_status(recorder)
    order_id, ref = placed(pa)
    ack(pa, order_id, ref)
    pa.orders.modify_order(order_id, limit_price=101.0)
    pa.wrapper.error(order_id, 0, 201, "Order rejected - reason: price out of range", "")  # the modify failed
    pa.wrapper.orderStatus(order_id, "Filled", Decimal(10), Decimal(0), 100.0, 77, 0, 100.0, 1, "", 0.0)
    pa.wrapper.error(order_id, 0, 10148, "OrderId that needs to be cancelled cannot be cancelled, state: Filled.", "")
    assert pa.events.wait_idle(2)
    assert [(c[0].status, c[0].last_error[:6]) for c in recorder.calls] == [
        (OrderState.SUBMITTED, ""), (OrderState.SUBMITTED, "IB 201"), (OrderState.FILLED, "IB 201")]
    assert pa.orders.get_order_status(order_id).last_error.startswith("IB 10148")


def test_a_cancelled_order_is_reported_once_whatever_ib_says_of_it_afterwards(harness: Harness,
                                                                              recorder: Any) -> None:
    """IB's Cancelled in orderStatus (the unfilled quantity as remaining), then openOrder, 202, a
    repeated orderStatus with a hold reason, a late average price and a reconciliation: the cache
    takes what is new, the callbacks hear Cancelled once (a strategy acting on it acts once). A
    change of the final state or of the filled quantity is news again."""
    pa, _ = harness
    pa.orders.on_order_status(recorder)
    order_id, ref = placed(pa)
    ack(pa, order_id, ref)
    pa.wrapper.orderStatus(order_id, "Cancelled", Decimal(0), Decimal(10), 0.0, 77, 0, 0.0, 1, "", 0.0)
    pa.wrapper.openOrder(order_id, contract(), ib_order(order_id, ref, 77), ib_state("Cancelled"))
    pa.wrapper.error(order_id, 0, 202, "Order Canceled - reason:", "")
    pa.wrapper.orderStatus(order_id, "Cancelled", Decimal(0), Decimal(10), 0.0, 77, 0, 0.0, 1, "locate", 0.0)
    pa.wrapper.orderStatus(order_id, "Submitted", Decimal(0), Decimal(10), 100.0, 77, 0, 0.0, 1, "", 0.0)
    pa.orders.set_state(order_id, OrderState.CANCELLED)
    assert pa.events.wait_idle(2)
    assert [(c[0].status, c[0].remaining) for c in recorder.calls] == [(OrderState.SUBMITTED, 10),
                                                                     (OrderState.CANCELLED, 0)]
    status = pa.orders.get_order_status(order_id)
    assert (status.why_held, status.avg_fill_price, status.remaining) == ("locate", 100.0, 0)

    other, other_ref = placed(pa)
    ack(pa, other, other_ref)
    pa.orders.set_state(other, OrderState.INACTIVE)  # a reconciliation's inference, then IB's word
    pa.wrapper.orderStatus(other, "Cancelled", Decimal(0), Decimal(10), 0.0, 77, 0, 0.0, 1, "", 0.0)
    pa.wrapper.orderStatus(other, "Cancelled", Decimal(2), Decimal(8), 100.0, 77, 0, 100.0, 1, "", 0.0)
    assert pa.events.wait_idle(2)
    assert [(c[0].status, c[0].filled) for c in recorder.calls if c[0].order_id == other] == [
        (OrderState.SUBMITTED, 0), (OrderState.INACTIVE, 0), (OrderState.CANCELLED, 0), (OrderState.CANCELLED, 2)]
