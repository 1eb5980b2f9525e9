"""The line book and the order router without IB: reference counts, what a failed subscribe
leaves behind, the late subscriber's snapshot; orders claimed after their first events, numbered
per client, replayed in order at attach."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from platform_adapter.errors import ContractNotFound, IBError, NotConnected, SubscriptionLimitExceeded, ValidationError
from platform_adapter.models import Fill, OrderState, OrderStatus, Quote
from platform_adapter.service.order_routing import OrderRouter
from platform_adapter.service.schema import pack, unpack
from platform_adapter.service.store import ServiceStore
from platform_adapter.service.subscriptions import SubscriptionBook


class FakeMarketData:
    """The facade's market_data as the book uses it: records subscribe/unsubscribe calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.fail: Exception | None = None
        self.quote = Quote("AAPL")
        self.on_quote: Any = None

    def subscribe_quotes(self, symbols: list[str], callback: Any, on_error: Any) -> None:
        self.calls.append(("subscribe", list(symbols)))
        self.on_quote = callback
        self.on_error = on_error
        if self.fail is not None:
            raise self.fail

    def unsubscribe_quotes(self, symbols: list[str], callback: Any) -> None:
        self.calls.append(("unsubscribe", list(symbols)))

    def get_quote(self, symbol: str) -> Quote:
        return self.quote


class FakePublisher:
    def __init__(self) -> None:
        self.quotes: list[tuple[str, Quote, tuple[str, ...]]] = []
        self.events: list[tuple[tuple[str, ...], dict[str, Any]]] = []
        self.raw: list[bytes] = []

    def quote(self, line: str, quote: Quote, tokens: Any) -> None:
        self.quotes.append((line, quote, tuple(sorted(tokens))))

    def event(self, tokens: Any, data: bytes) -> None:
        self.events.append((tuple(tokens), unpack(data)))
        self.raw.append(data)

    def send_now(self, token: str, data: bytes) -> None:
        self.event((token,), data)


@pytest.fixture
def book() -> tuple[SubscriptionBook, FakeMarketData, FakePublisher]:
    md, pub = FakeMarketData(), FakePublisher()
    return SubscriptionBook(md, pub), md, pub  # type: ignore[arg-type]


def test_one_line_for_every_holder(book: Any) -> None:
    lines, md, pub = book
    assert lines.subscribe_quotes("a", ["AAPL", "msft"]) == ["quotes|AAPL", "quotes|MSFT"]
    md.quote = Quote("AAPL", bid=1.0, updates=3)
    assert lines.subscribe_quotes("b", ["AAPL"]) == ["quotes|AAPL"]
    assert md.calls == [("subscribe", ["AAPL", "msft"])]  # b's AAPL needed no new line
    assert pub.quotes == [("quotes|AAPL", md.quote, ("b",))]  # the late subscriber's snapshot, to b only
    md.on_quote("AAPL", Quote("AAPL", bid=2.0))
    assert pub.quotes[-1][2] == ("a", "b")
    lines.unsubscribe("a", ["quotes|AAPL"])
    assert ("unsubscribe", ["AAPL"]) not in md.calls  # b still holds it
    with pytest.raises(ValidationError, match="has no quotes subscription"):
        lines.unsubscribe("a", ["quotes|AAPL"])
    assert lines.release_all("b") == 1 and lines.release_all("a") == 1
    assert md.calls[1:] == [("unsubscribe", ["AAPL"]), ("unsubscribe", ["msft"])]
    assert lines.stats() == {"lines": 0, "line_holders": 0}


def test_a_failed_subscribe_holds_nothing_new(book: Any) -> None:
    lines, md, _ = book
    lines.subscribe_quotes("a", ["AAPL"])
    md.fail = ContractNotFound("NOPE")
    with pytest.raises(ContractNotFound):
        lines.subscribe_quotes("b", ["AAPL", "NOPE"])
    assert lines.held("b") == [] and lines.held("a") == ["quotes|AAPL"]
    md.fail = SubscriptionLimitExceeded("cap", None)
    with pytest.raises(SubscriptionLimitExceeded):
        lines.subscribe_quotes("b", ["AAPL", "MSFT"])
    assert lines.held("b") == []
    md.fail = SubscriptionLimitExceeded("101", 101, ("TSLA",))  # IB refused TSLA only
    with pytest.raises(SubscriptionLimitExceeded):
        lines.subscribe_quotes("b", ["AAPL", "MSFT", "TSLA"])
    assert sorted(lines.held("b")) == ["quotes|AAPL", "quotes|MSFT"]


def test_a_subscribe_that_fails_part_way_lets_go_of_its_new_lines_at_the_facade(book: Any) -> None:
    """The link drops after the facade sent the first of two new lines: the book keeps neither,
    and lets go of both at the facade (one may be subscribed there, and would be requested again
    after every reconnect for no client)."""
    lines, md, _ = book
    lines.subscribe_quotes("a", ["SPY"])
    md.fail = NotConnected("the link dropped")
    with pytest.raises(NotConnected):
        lines.subscribe_quotes("a", ["SPY", "AAPL", "MSFT"])
    assert lines.held("a") == ["quotes|SPY"]
    assert md.calls[1:] == [("subscribe", ["AAPL", "MSFT"]), ("unsubscribe", ["AAPL"]), ("unsubscribe", ["MSFT"])]


def test_a_line_ib_dropped_is_requested_again_by_the_next_subscriber(book: Any) -> None:
    """IB dropped a line (its holders got a line_error); the facade requests a failed line again
    when it is subscribed again. Before, the book only added the next client to the dead line: it
    never got a quote (nor the error, sent before it came)."""
    lines, md, pub = book
    lines.subscribe_quotes("a", ["AAPL"])
    md.on_error("AAPL", IBError(10197, "competing live session", 1))
    assert pub.events[-1][0] == ("a",) and pub.events[-1][1]["ev"] == "line_error"
    lines.subscribe_quotes("b", ["AAPL"])
    assert md.calls == [("subscribe", ["AAPL"]), ("subscribe", ["AAPL"])]  # asked for again, for a and b
    lines.subscribe_quotes("c", ["AAPL"])
    assert len(md.calls) == 2  # held again: c just joins
    md.on_error("AAPL", IBError(10197, "competing live session", 1))
    md.fail = ContractNotFound("AAPL")
    with pytest.raises(ContractNotFound):
        lines.subscribe_quotes("d", ["AAPL"])
    md.fail = None
    assert lines.held("d") == []
    lines.subscribe_quotes("d", ["AAPL"])  # still failed after the refusal: asked for again
    assert len(md.calls) == 4 and lines.held("d") == ["quotes|AAPL"]
    for token in "abcd":
        lines.release_all(token)
    assert md.calls[4:] == [("unsubscribe", ["AAPL"])] and lines.stats()["lines"] == 0


def _status(order_id: int, state: OrderState) -> OrderStatus:
    return OrderStatus(order_id, state, Decimal(0), Decimal(1), 0.0, 0.0)


def test_orders_are_routed_to_their_owner_in_order(tmp_path: Path) -> None:
    pub = FakePublisher()
    router = OrderRouter(ServiceStore(tmp_path / "s.db"), pub)  # type: ignore[arg-type]
    router.on_status(_status(1, OrderState.SUBMITTED))  # before place_order returned: parked
    assert pub.events == []
    router.attach("a", "tok-a", 0, fresh=False)
    router.claim(1, "a")
    router.on_status(_status(1, OrderState.SUBMITTED))  # claimed, not flushed yet: waits behind the first
    assert pub.events == []
    router.flush_claimed()
    fill = Fill("E1", 1, "AAPL", "BOT", Decimal(1), 1.0, datetime.now(timezone.utc))
    router.on_fill(fill)
    router.on_fill(fill)  # reported again (e.g. after a restart): numbered once
    router.on_status(_status(99, OrderState.SUBMITTED))  # never claimed: nobody's
    assert [(t, e["ev"], e["seq"]) for t, e in pub.events] == [
        (("tok-a",), "order_status", 1), (("tok-a",), "order_status", 2), (("tok-a",), "fill", 3)]
    assert pub.raw[1:] == [pack({"ev": "order_status", "seq": 2, "status": _status(1, OrderState.SUBMITTED)}),
                           pack({"ev": "fill", "seq": 3, "fill": fill})]  # the stored body, not packed again
    router.detach("a", "tok-a")
    router.on_status(_status(1, OrderState.FILLED))  # while a is away: recorded, not sent
    assert len(pub.events) == 3
    replay = [unpack(e) for e in router.attach("a", "tok-a2", 2, fresh=True)]
    assert [(e["ev"], e["seq"], e["replay"]) for e in replay] == [("fill", 3, True), ("order_status", 4, True)]
    assert replay[0]["fill"]["possible_duplicate"] is True  # sent to the earlier process
    assert replay[1]["status"]["status"] == "Filled"
    router.ack("a", 4)
    assert router.resume_point("a", None) == (4, True) and router.resume_point("a", 2) == (2, False)
    assert router.resume_point("a", 7) == (4, True)  # beyond what the store knows (a lost store)
    assert router.stats() == {"orders_owned": 1, "order_events_waiting_claim": 1}


def test_an_order_placed_by_a_command_is_its_clients_in_the_store_before_it_is_sent(tmp_path: Path) -> None:
    """Inside ``placing`` the owner is stored as the adapter allocates the id (before the send),
    so a service killed before the place call's answer finds the order its client's when it
    starts again; its events still wait for the claim (the answer goes first)."""
    pub = FakePublisher()
    store = ServiceStore(tmp_path / "s.db")
    router = OrderRouter(store, pub)  # type: ignore[arg-type]
    router.attach("a", "tok-a", 0, fresh=False)
    router.on_new_order(3)  # not placed by a command: nobody's
    with router.placing("a") as ids:
        router.on_new_order(4)
        assert ids == [4] and store.owners() == {4: "a"}  # recorded before the order is sent
    router.on_status(_status(4, OrderState.SUBMITTED))
    assert pub.events == [] and router.owner(4) is None  # not claimed yet: its events wait
    router.claim(4, "a")
    router.flush_claimed()
    assert [e["seq"] for _, e in pub.events] == [1]
    with pytest.raises(ConnectionError), router.placing("a"):  # the place failed after the id: claimed at once
        router.on_new_order(5)
        raise ConnectionError("the link closed while sending")
    assert router.owner(5) == "a" and router.owner(3) is None
    router.on_new_order(6)  # the block is over: nobody's again
    store.close()
    reopened = ServiceStore(tmp_path / "s.db")
    assert reopened.owners() == {4: "a", 5: "a"}  # what a restarted service starts from
    reopened.close()
