"""Advanced orders with the official, unmodified ibapi EClient over real TCP, text (176) and
protobuf (226): brackets, transmit groups, each order type, conditions, what-if, 321.

The gateway's market stands still (long tick interval); the test moves it with ``set_price``,
runs auctions and moves the clock. ``sync`` is a round trip (reqCurrentTime): everything the
gateway sent before it has arrived, so "nothing happened" can be asserted."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from ibapi.client import EClient
from ibapi.contract import Contract
from ibapi.order import Order
from ibapi.order_cancel import OrderCancel
from ibapi.order_condition import PriceCondition, TimeCondition
from ibapi.wrapper import EWrapper

from platform_adapter.sim import SimulatedGateway, order_types
from tests.sim.ibapi_recorder import run_loop

VERSIONS = [176, 226]


class Recorder(EWrapper):  # type: ignore[misc]
    """Records every callback with its arguments; ``wait`` blocks until a predicate holds."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        self.cond = threading.Condition()

    def __getattribute__(self, name: str) -> Any:
        if not name.startswith("_") and name not in ("calls", "cond", "wait", "status") \
                and callable(getattr(EWrapper, name, None)):
            return lambda *a: self._rec(name, a)
        return super().__getattribute__(name)

    def _rec(self, name: str, args: tuple[Any, ...]) -> None:
        with self.cond:
            self.calls[name].append(args)
            self.cond.notify_all()

    def wait(self, pred: Callable[[dict[str, list[tuple[Any, ...]]]], Any], timeout: float = 5.0) -> None:
        with self.cond:
            assert self.cond.wait_for(lambda: pred(self.calls), timeout), dict(self.calls)

    def status(self, order_id: int) -> str | None:
        """The order's last orderStatus status."""
        with self.cond:
            found = [s[1] for s in self.calls["orderStatus"] if s[0] == order_id]
        return found[-1] if found else None


class Link:
    """A connected EClient, its recorder and the gateway."""

    def __init__(self, gw: SimulatedGateway, client_id: int) -> None:
        self.gw = gw
        self.w = Recorder()
        self.c = EClient(self.w)
        self.c.connect("127.0.0.1", gw.port, client_id)
        self.thread = threading.Thread(target=run_loop, args=(self.c,), daemon=True)
        self.thread.start()
        self.w.wait(lambda k: k["nextValidId"])
        self.next_id = self.w.calls["nextValidId"][0][0]

    def ids(self, n: int) -> list[int]:
        out = list(range(self.next_id, self.next_id + n))
        self.next_id += n
        return out

    def sync(self) -> None:
        n = len(self.w.calls["currentTime"])
        self.c.reqCurrentTime()
        self.w.wait(lambda k: len(k["currentTime"]) > n)

    def wait_status(self, order_id: int, *statuses: str) -> None:
        self.w.wait(lambda k: self.w.status(order_id) in statuses)

    def place(self, order_id: int, order: Order) -> None:
        self.c.placeOrder(order_id, aapl(), order)

    def executions(self) -> list[tuple[Any, ...]]:
        return list(self.w.calls["execDetails"])

    def close(self) -> None:
        self.c.disconnect()
        self.thread.join(timeout=5)


@pytest.fixture(params=VERSIONS, ids=[f"v{v}" for v in VERSIONS])
def link(request: pytest.FixtureRequest) -> Iterator[Link]:
    with SimulatedGateway(server_version=request.param, tick_interval=3600) as gw:
        gw.set_price("AAPL", 190.0)
        ln = Link(gw, 41)
        assert ln.c.serverVersion() == request.param
        yield ln
        ln.close()


def aapl() -> Contract:
    k = Contract()
    k.symbol, k.secType, k.exchange, k.currency = "AAPL", "STK", "SMART", "USD"
    return k


def make(action: str, order_type: str, qty: float = 100, **attrs: Any) -> Order:
    o = Order()
    o.action, o.orderType, o.totalQuantity = action, order_type, Decimal(qty)
    for name, value in attrs.items():
        setattr(o, name, value)
    return o


def bracket(ln: Link) -> list[int]:
    """IB's bracket sample: parent LMT, take-profit LMT, stop-loss STP; only the last transmits."""
    parent, take_profit, stop_loss = ln.ids(3)
    ln.place(parent, make("BUY", "LMT", lmtPrice=189.0, transmit=False))
    ln.place(take_profit, make("SELL", "LMT", lmtPrice=195.0, parentId=parent, transmit=False))
    ln.place(stop_loss, make("SELL", "STP", auxPrice=185.0, parentId=parent, transmit=True))
    return [parent, take_profit, stop_loss]


def test_bracket_children_wait_for_the_parent_then_one_cancels_the_other(link: Link) -> None:
    parent, take_profit, stop_loss = bracket(link)
    link.wait_status(stop_loss, "PreSubmitted")
    link.wait_status(parent, "Submitted")
    assert link.w.status(take_profit) == "PreSubmitted"
    link.gw.set_price("AAPL", 196.0)  # the take profit's limit, the parent not filled
    link.sync()
    assert not link.executions() and link.w.status(take_profit) == "PreSubmitted"
    link.gw.set_price("AAPL", 188.5)
    link.wait_status(parent, "Filled")
    link.wait_status(take_profit, "Submitted")
    assert link.w.status(stop_loss) == "PreSubmitted"
    link.gw.set_price("AAPL", 196.0)
    link.wait_status(take_profit, "Filled")
    link.wait_status(stop_loss, "Cancelled")
    assert [(e[2].orderId, e[2].side) for e in link.executions()] == [(parent, "BOT"), (take_profit, "SLD")]
    link.c.reqPositions()
    link.w.wait(lambda k: k["positionEnd"])
    assert [p[2] for p in link.w.calls["position"] if p[1].conId == 265598] == [Decimal(0)]


def test_cancelling_the_parent_cancels_the_children(link: Link) -> None:
    parent, take_profit, stop_loss = bracket(link)
    link.wait_status(stop_loss, "PreSubmitted")
    link.c.cancelOrder(parent, OrderCancel())
    for oid in (parent, take_profit, stop_loss):
        link.wait_status(oid, "Cancelled")
    link.gw.set_price("AAPL", 150.0)
    link.sync()
    assert not link.executions()


def test_an_untransmitted_order_is_held_then_released(link: Link) -> None:
    (oid,) = link.ids(1)
    link.place(oid, make("BUY", "LMT", lmtPrice=191.0, transmit=False))
    link.wait_status(oid, "PendingSubmit")
    (_, _, order, state), = [x for x in link.w.calls["openOrder"] if x[0] == oid]
    assert state.status == "PendingSubmit" and order.lmtPrice == 191.0
    link.gw.set_price("AAPL", 189.0)
    link.sync()
    assert not link.executions()
    link.place(oid, make("BUY", "LMT", lmtPrice=191.0))
    link.wait_status(oid, "Filled")


# each: the order, the steps that must not fill it, the step that ends it, its final status
Step = tuple[str, tuple[Any, ...]]
ORDER_TYPES: dict[str, tuple[Order, list[Step], Step, str]] = {
    "TRAIL": (make("SELL", "TRAIL", auxPrice=1.0),
              [("price", (192.0,)), ("price", (193.5,)), ("price", (192.6,))], ("price", (192.4,)), "Filled"),
    "TRAIL percent": (make("BUY", "TRAIL", trailingPercent=1.0),
                      [("price", (185.0,)), ("price", (186.8,))], ("price", (186.9,)), "Filled"),
    "TRAIL LIMIT": (make("SELL", "TRAIL LIMIT", auxPrice=1.0, lmtPriceOffset=0.5),
                    [("price", (195.0,)), ("price", (194.5,))], ("price", (193.9,)), "Filled"),
    "MIT": (make("BUY", "MIT", auxPrice=188.0), [("price", (189.0,))], ("price", (188.0,)), "Filled"),
    "LIT": (make("SELL", "LIT", auxPrice=192.0, lmtPrice=191.5), [("price", (191.0,))], ("price", (192.0,)),
            "Filled"),
    "MOC": (make("BUY", "MOC"), [("price", (185.0,)), ("auction", ("open",))], ("auction", ("close",)), "Filled"),
    "LOC": (make("BUY", "LOC", lmtPrice=189.0), [("price", (192.0,))], ("auction", ("close",)), "Cancelled"),
    "MOO": (make("BUY", "MKT", tif="OPG"), [("price", (185.0,)), ("auction", ("close",))], ("auction", ("open",)),
            "Filled"),
    "LOO": (make("SELL", "LMT", lmtPrice=191.0, tif="OPG"), [("auction", ("close",))], ("auction", ("open",)),
            "Cancelled"),
    "MTL": (make("BUY", "MTL"), [], ("price", (190.0,)), "Filled"),
    "REL": (make("BUY", "REL", auxPrice=0.01), [("price", (190.5, 190.4, 190.6))], ("price", (190.4,)), "Filled"),
    "MIDPRICE": (make("SELL", "MIDPRICE"), [("price", (190.0, 189.96, 190.06))], ("price", (190.01,)), "Filled"),
    "IOC": (make("BUY", "LMT", lmtPrice=185.0, tif="IOC"), [], ("price", (190.0,)), "Cancelled"),
    "GTD": (make("BUY", "LMT", lmtPrice=185.0, tif="GTD", goodTillDate="20991231-00:00:00"),
            [("advance", (3600,))], ("advance", (3e9,)), "Cancelled"),
}


def _run(gw: SimulatedGateway, step: Step) -> None:
    kind, args = step
    if kind == "price":
        gw.set_price("AAPL", *args)
    elif kind == "auction":
        gw.run_auction(*args)
    else:
        gw.advance_clock(*args)


@pytest.mark.parametrize("name", list(ORDER_TYPES))
def test_each_order_type(link: Link, name: str) -> None:
    order, holding, ending, final = ORDER_TYPES[name]
    (oid,) = link.ids(1)
    link.place(oid, order)
    link.w.wait(lambda k: link.w.status(oid) is not None)
    for step in holding:
        _run(link.gw, step)
        link.sync()
        assert not link.executions() and link.w.status(oid) in ("PreSubmitted", "Submitted"), step
    _run(link.gw, ending)
    link.wait_status(oid, final)
    assert not [e for e in link.w.calls["error"] if e[0] == oid and e[2] not in (202,)]
    (_, _, echoed, _) = [x for x in link.w.calls["openOrder"] if x[0] == oid][0]
    assert (echoed.orderType, echoed.tif) == (order.orderType, order.tif or "DAY")


def test_a_trailing_stop_starts_at_its_trail_stop_price(link: Link) -> None:
    """ibapi's trailStopPrice (text at 176, protobuf at 226) is the initial stop when it is tighter
    than the market less the trail; openOrder echoes it; the order triggers there."""
    sell, buy = link.ids(2)
    link.place(sell, make("SELL", "TRAIL", auxPrice=1.0, trailStopPrice=189.5))  # 190 - 1 = 189: kept
    link.place(buy, make("BUY", "TRAIL", trailingPercent=1.0, trailStopPrice=195.0))  # 191.9 is tighter
    link.wait_status(sell, "PreSubmitted")
    link.wait_status(buy, "PreSubmitted")
    echoed = {x[0]: x[2].trailStopPrice for x in link.w.calls["openOrder"]}
    assert echoed == {sell: 189.5, buy: 191.9}
    link.gw.set_price("AAPL", 189.6)
    link.sync()
    assert not link.executions()
    link.gw.set_price("AAPL", 189.5)
    link.wait_status(sell, "Filled")
    assert link.w.status(buy) == "PreSubmitted"


def test_a_price_condition_activates_the_order(link: Link) -> None:
    (oid,) = link.ids(1)
    cond = PriceCondition(PriceCondition.TriggerMethodEnum.Last, 265598, "SMART", True, 195.0)
    later = TimeCondition(True, "20000101 00:00:00 US/Eastern")
    link.place(oid, make("BUY", "LMT", lmtPrice=200.0, conditions=[cond, later]))
    link.wait_status(oid, "PreSubmitted")
    link.gw.set_price("AAPL", 194.0)
    link.sync()
    assert not link.executions()
    link.gw.set_price("AAPL", 195.5)
    link.wait_status(oid, "Filled")
    (_, _, echoed, _) = [x for x in link.w.calls["openOrder"] if x[0] == oid][0]
    assert [type(c).__name__ for c in echoed.conditions] == ["PriceCondition", "TimeCondition"]
    assert echoed.conditions[0].price == 195.0 and echoed.conditions[1].time == "20000101 00:00:00 US/Eastern"


def test_what_if_returns_margins_and_changes_nothing(link: Link) -> None:
    (oid,) = link.ids(1)
    link.place(oid, make("BUY", "MKT", whatIf=True))
    link.w.wait(lambda k: k["openOrder"])
    (got_id, contract, order, state), = link.w.calls["openOrder"]
    assert (got_id, contract.conId, order.whatIf) == (oid, 265598, True)
    assert float(state.initMarginChange) == 4750.0 and float(state.maintMarginAfter) == 4750.0
    assert float(state.equityWithLoanBefore) == 1_000_000.0 and float(state.equityWithLoanChange) == -1.0
    assert state.commissionAndFees == 1.0 and state.commissionAndFeesCurrency == "USD"
    link.sync()
    assert not link.w.calls["orderStatus"] and not link.executions()
    link.c.reqOpenOrders()
    link.c.reqPositions()
    link.w.wait(lambda k: k["openOrderEnd"] and k["positionEnd"])
    assert len(link.w.calls["openOrder"]) == 1 and not link.w.calls["position"]
    assert not link.gw.engine.orders


def test_an_order_for_an_unmanaged_account_is_refused_with_321(link: Link) -> None:
    (oid,) = link.ids(1)
    link.place(oid, make("BUY", "MKT", account="U9999999"))
    link.w.wait(lambda k: any(e[0] == oid and e[2] == 321 for e in k["error"]))
    link.sync()
    assert not link.w.calls["openOrder"] and not link.w.calls["orderStatus"] and not link.gw.engine.orders


def test_an_order_that_raises_in_the_market_loop_stops_only_itself_over_tcp(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The gateway's own market loop (every 50 ms): one client's order raises while the engine
    works it; that client hears 322 and Inactive, another client's order still fills."""
    with SimulatedGateway(tick_interval=0.05) as gw:
        a, b = Link(gw, 51), Link(gw, 52)
        try:
            (bad,), (good,) = a.ids(1), b.ids(1)
            a.place(bad, make("BUY", "LMT", lmtPrice=1.0))  # far below the market: they rest
            b.place(good, make("BUY", "LMT", lmtPrice=1.0))
            a.wait_status(bad, "Submitted")
            b.wait_status(good, "Submitted")
            real = order_types.limit

            def limit(o, q, c):  # type: ignore[no-untyped-def]
                if o.client_id == 51:
                    raise ZeroDivisionError("a bug working this order")
                return None if o.client_id == 52 else real(o, q, c)  # b's now matches at market
            monkeypatch.setattr(order_types, "limit", limit)
            b.wait_status(good, "Filled")
            a.wait_status(bad, "Inactive")
            assert [e[2] for e in a.w.calls["error"] if e[0] == bad] == [322]
            assert not [e for e in b.w.calls["error"] if e[0] == good]
        finally:
            a.close()
            b.close()
