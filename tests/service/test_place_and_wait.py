"""``place_order_and_wait`` through the service: answered by the order router when the status that
ends the wait comes, by the command loop at the deadline; the order is claimed with the answer and
its events follow it; a wait armed after its status came is answered at once; stopping the
service drops the waits without hanging."""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from typing import Any

import pytest

from platform_adapter import OrderRejected, OrderState, RequestTimeout
from platform_adapter.errors import NotConnected, OrderStateError
from platform_adapter.models.order import OrderStatus
from platform_adapter.service.order_routing import OrderRouter, StatusWait
from platform_adapter.sim import SimulatedGateway
from tests.conftest import Recorder, wait_for
from tests.service.conftest import Running

FAR = 1.0  # a limit price far below the market: the order rests


def test_a_wait_that_ends_is_answered_and_the_events_follow(served: Running, remote_factory: Any) -> None:
    a = remote_factory(served, "a")
    seen = Recorder()
    a.orders.on_order_status(seen)
    status = a.orders.place_order_and_wait("AAPL", "BUY", 1, "LMT", wait_for="Submitted", limit_price=FAR)
    assert status.status is OrderState.SUBMITTED and served.service.router.owner(status.order_id) == "a"
    wait_for(lambda: any(s.order_id == status.order_id and s.status is OrderState.SUBMITTED for (s,) in seen.calls))
    assert served.service.router.next_deadline() is None  # nothing left armed


def test_the_deadline_answers_with_request_timeout_and_claims_the_order(served: Running, remote_factory: Any) -> None:
    a = remote_factory(served, "a")
    seen = Recorder()
    a.orders.on_order_status(seen)
    started = time.monotonic()
    with pytest.raises(RequestTimeout, match=r"still Submitted after 0\.3s"):
        a.orders.place_order_and_wait("AAPL", "BUY", 1, "LMT", wait_for="Filled", timeout=0.3, limit_price=FAR)
    assert 0.3 <= time.monotonic() - started < 3.0  # answered by the command loop at the deadline
    (order,) = a.orders.get_open_orders()  # the order is the client's: claimed with the answer
    wait_for(lambda: any(s.order_id == order.order_id for (s,) in seen.calls))  # its events followed
    assert served.service.router.next_deadline() is None


def test_a_final_state_that_is_not_wanted_raises_what_the_facade_raises(served: Running, gateway: SimulatedGateway,
                                                                         remote_factory: Any) -> None:
    a = remote_factory(served, "a")
    gateway.reject_next_order("not today")
    with pytest.raises(OrderRejected) as info:
        a.orders.place_order_and_wait("AAPL", "BUY", 1, "LMT", wait_for=["Filled"], limit_price=FAR)
    assert info.value.code == 201 and "not today" in str(info.value)


def test_a_command_run_by_a_worker_arms_its_wait_with_the_command_loop(served: Running, remote_factory: Any) -> None:
    a = remote_factory(served, "a")
    assert served.pa.contracts.cached("IBM") is None  # its contract details first: not a quick command
    started = time.monotonic()
    with pytest.raises(RequestTimeout):
        a.orders.place_order_and_wait("IBM", "BUY", 1, "LMT", wait_for="Filled", timeout=0.3, limit_price=FAR)
    assert time.monotonic() - started < 3.0  # the loop learnt the deadline (not its next heartbeat turn)
    status = a.orders.place_order_and_wait("MSFT", "BUY", 1, "LMT", wait_for="Submitted", limit_price=FAR)
    assert status.status is OrderState.SUBMITTED


def test_stopping_the_service_drops_the_waits(gateway: SimulatedGateway, service_factory: Any,
                                              remote_factory: Any) -> None:
    running = service_factory(gateway)
    a = remote_factory(running, "a")
    errors: list[BaseException] = []

    def wait() -> None:
        try:
            a.orders.place_order_and_wait("AAPL", "BUY", 1, "LMT", wait_for="Filled", timeout=30, limit_price=FAR)
        except BaseException as exc:  # noqa: BLE001 - recorded for the assertion
            errors.append(exc)

    thread = threading.Thread(target=wait)
    thread.start()
    wait_for(lambda: running.service.router.next_deadline() is not None)
    started = time.monotonic()
    running.stop()
    assert time.monotonic() - started < 10
    assert running.service.router.next_deadline() is None
    thread.join(15)
    assert not thread.is_alive() and isinstance(errors[0], NotConnected)


class _Orders:
    """The facade's order interface as a wait sees it: one order at ``status``."""

    def __init__(self, status: OrderState) -> None:
        self.status = status

    def get_order_status(self, order_id: int) -> OrderStatus:
        return OrderStatus(order_id, self.status, Decimal(0), Decimal(1), 0.0, 0.0)

    def wait_for_status(self, order_id: int, wanted: Any, timeout: float) -> OrderStatus:
        raise AssertionError("not asked: the status is wanted")


class _Store:
    def owners(self) -> dict[int, str]:
        return {}

    def set_owner(self, order_id: int, client: str) -> None:
        pass


def test_a_wait_armed_after_its_status_came_is_answered_at_once() -> None:
    router = OrderRouter(_Store(), None)  # type: ignore[arg-type]
    wait = StatusWait(7, "a", frozenset({OrderState.SUBMITTED}), 10.0, _Orders(OrderState.SUBMITTED))
    answers: list[Any] = []
    wait.reply = lambda produce: answers.append((produce(), router.owner(7)))
    router.expect(wait)
    assert [(s.status, owner) for s, owner in answers] == [(OrderState.SUBMITTED, "a")]  # claimed as answered
    assert router.next_deadline() is None and not wait.take()  # answered once, nothing left armed


class _Unknown(_Orders):
    """An order the facade does not know (yet)."""

    def get_order_status(self, order_id: int) -> OrderStatus:
        raise OrderStateError(order_id, "unknown order")

    def wait_for_status(self, order_id: int, wanted: Any, timeout: float) -> OrderStatus:
        raise OrderStateError(order_id, "unknown order")


def test_a_wait_for_an_order_not_known_yet_is_answered_at_its_deadline() -> None:
    router = OrderRouter(_Store(), None)  # type: ignore[arg-type]
    wait = StatusWait(8, "a", frozenset({OrderState.SUBMITTED}), 0.0, _Unknown(OrderState.SUBMITTED))
    errors: list[BaseException] = []

    def reply(produce: Any) -> None:
        try:
            produce()
        except OrderStateError as exc:
            errors.append(exc)

    wait.reply = reply
    router.expect(wait)  # the status could not be read: armed, not answered
    assert errors == [] and router.next_deadline() is not None
    router.expired(time.monotonic())
    assert len(errors) == 1 and router.next_deadline() is None and router.owner(8) == "a"


def test_a_wait_is_answered_where_its_status_is_applied_and_the_event_thread_sends_its_events(tmp_path: Any) -> None:
    """``on_applied`` (the adapter's decoding thread) answers the wait, the order claimed first; the
    events the order kept waiting go out, numbered in the order they came, when ``on_status`` (the
    event thread) sees the next status: after the answer, never before."""
    from platform_adapter.service.store import ServiceStore  # noqa: PLC0415
    from tests.service.test_lines_and_routing import FakePublisher  # noqa: PLC0415

    pub = FakePublisher()
    router = OrderRouter(ServiceStore(tmp_path / "s.db"), pub)  # type: ignore[arg-type]
    router.attach("a", "tok-a", 0, fresh=False)
    orders = _Orders(OrderState.PRE_SUBMITTED)
    wait = StatusWait(7, "a", frozenset({OrderState.SUBMITTED}), 10.0, orders)
    answers: list[Any] = []
    wait.reply = lambda produce: answers.append((produce().status, router.owner(7), list(pub.events)))
    router.on_status(_status(7, OrderState.PRE_SUBMITTED))  # before the wait was armed: parked, nobody's yet
    router.expect(wait)
    assert answers == [] and router.next_deadline() is not None  # PreSubmitted does not end it
    router.on_applied(_status(7, OrderState.PRE_SUBMITTED))  # another change that does not end it
    assert answers == []
    router.on_applied(_status(7, OrderState.SUBMITTED))
    assert answers == [(OrderState.SUBMITTED, "a", [])]  # claimed before the answer; no event before it
    assert router.next_deadline() is None and pub.events == []  # the decoding thread sent no event
    router.on_status(_status(7, OrderState.SUBMITTED))  # the event thread: not answered again; events in order
    assert len(answers) == 1
    assert [(e["seq"], e["status"]["status"]) for _, e in pub.events] == [(1, "PreSubmitted"), (2, "Submitted")]
    router.on_applied(_status(8, OrderState.SUBMITTED))  # no wait armed for it: nothing
    router.on_status(_status(7, OrderState.CANCELLED))
    assert [e["seq"] for _, e in pub.events] == [1, 2, 3] and len(answers) == 1


def _status(order_id: int, state: OrderState) -> OrderStatus:
    return OrderStatus(order_id, state, Decimal(0), Decimal(1), 0.0, 0.0)


def test_every_placing_command_stores_its_orders_owner_before_the_order_is_sent(
        served: Running, remote_factory: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """At the moment an order's bytes go to IB its owner is in the service store already (a kill
    after that point leaves the order its client's): place_order, place_order_and_wait, a
    bracket's three orders (two of them sent by ibapi's own placeOrder) and an OCA group's two."""
    a = remote_factory(served, "a")
    store, orders = served.service.store, served.pa.orders
    client = served.pa.connection.require_connected()
    seen: list[tuple[int, str | None]] = []
    for name in ("sendMsg", "sendMsgProtoBuf"):
        def spy(msg_id: int, msg: Any, send: Any = getattr(client, name)) -> None:
            seen.extend((order_id, store.owners().get(order_id)) for order_id in sorted(orders._sending))
            send(msg_id, msg)

        monkeypatch.setattr(client, name, spy)
    ids = [a.orders.place_order("AAPL", "BUY", 1, "LMT", limit_price=FAR)]
    ids.append(a.orders.place_order_and_wait("AAPL", "BUY", 1, "LMT", wait_for="Submitted", limit_price=FAR).order_id)
    ids += a.orders.place_bracket_order("AAPL", "BUY", 1, FAR, 195.0, 0.5).order_ids
    ids += a.orders.place_oca_group([
        {"symbol": "AAPL", "action": "BUY", "quantity": 1, "order_type": "LMT", "limit_price": FAR},
        {"symbol": "AAPL", "action": "BUY", "quantity": 1, "order_type": "LMT", "limit_price": FAR + 0.01}]).order_ids
    assert [order_id for order_id, _ in seen] == ids  # every order's send seen (7 of them)
    assert seen == [(order_id, "a") for order_id in ids]
