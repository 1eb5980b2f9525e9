"""Thread-safety stress: several threads place, modify, cancel and read orders at once for a
bounded time; no unexpected exception, no deadlock, and at the end the adapter's view of every
order (status, filled) equals the simulator's."""

from __future__ import annotations

import random
import time
from decimal import Decimal
from typing import Any

from platform_adapter import OrderStateError, ValidationError
from tests.conftest import wait_for
from tests.resilience.conftest import run_threads, sim_orders

RUN_SECONDS = 3.0
SYMBOLS = ("AAPL", "MSFT", "TSLA")


def test_concurrent_place_modify_cancel_read(sim_factory: Any, adapter_factory: Any) -> None:
    gw = sim_factory()
    pa = adapter_factory(gw)
    for symbol in SYMBOLS:
        pa.contracts.resolve(symbol)
    quotes = {c.symbol: gw.market.quote(c.con_id) for c in gw.market.specs.values() if c.symbol in SYMBOLS}
    deadline = time.monotonic() + RUN_SECONDS
    placed: list[int] = []
    counts = {"place": 0, "modify": 0, "cancel": 0, "read": 0, "raced": 0}

    def working(rng: random.Random) -> int | None:
        open_ids = [o.order_id for o in pa.orders.get_open_orders()]
        return rng.choice(open_ids) if open_ids else None

    def placer(seed: int) -> None:
        rng = random.Random(seed)
        while time.monotonic() < deadline:
            symbol = rng.choice(SYMBOLS)
            ask = quotes[symbol].ask
            price = round(ask * (1.05 if rng.random() < 0.3 else 0.8), 2)  # some marketable, most resting
            placed.append(pa.orders.place_order(symbol, rng.choice(["BUY", "SELL"]) if price < ask else "BUY",
                                                rng.randint(1, 20), "LMT", limit_price=price, tif="DAY"))
            counts["place"] += 1

    def modifier(seed: int) -> None:
        rng = random.Random(seed)
        while time.monotonic() < deadline:
            oid = working(rng)
            if oid is None:
                time.sleep(0.005)
                continue
            try:
                order = pa.orders.get_order(oid)
                limit = order.request.limit_price or 1.0
                pa.orders.modify_order(oid, quantity=int(order.request.quantity) + rng.randint(1, 5),
                                       limit_price=round(limit * rng.choice([0.99, 1.01]), 2))
                counts["modify"] += 1
            except (OrderStateError, ValidationError):
                counts["raced"] += 1  # finished (or filled beyond the new size) meanwhile

    def canceller(seed: int) -> None:
        rng = random.Random(seed)
        while time.monotonic() < deadline:
            oid = working(rng)
            if oid is None:
                time.sleep(0.005)
                continue
            try:
                pa.orders.cancel_order(oid)
                counts["cancel"] += 1
            except OrderStateError:
                counts["raced"] += 1
            time.sleep(0.02)

    def reader() -> None:
        while time.monotonic() < deadline:
            for order in pa.orders.get_open_orders():
                pa.orders.get_order_status(order.order_id)
            pa.account.get_positions()
            pa.connection.get_connection_status()
            counts["read"] += 1

    targets = [lambda: placer(1), lambda: placer(2), lambda: modifier(3), lambda: modifier(4),
               lambda: canceller(5), reader, reader]
    errors = run_threads(targets, timeout=RUN_SECONDS + 20)
    assert errors == [], errors
    assert counts["place"] >= 10 and counts["modify"] >= 5 and counts["cancel"] >= 3 and counts["read"] >= 10, counts
    cid = pa.connection.client_id

    def views_agree() -> bool:
        sim = sim_orders(gw, cid)
        if set(sim) != set(placed):
            return False
        return all((pa.orders.get_order_status(oid).status.value, pa.orders.get_order_status(oid).filled)
                   == (o.status, Decimal(str(o.filled))) for oid, o in sim.items())

    wait_for(views_agree, timeout=10)
    sim = sim_orders(gw, cid)
    assert len(placed) == len(set(placed)) == len(sim), "every order id used once, every order at the gateway"
    assert {o.status for o in sim.values()} >= {"Cancelled", "Filled"}
    resting = {oid for oid, o in sim.items() if o.status == "Submitted"}
    assert {o.order_id for o in pa.orders.get_open_orders()} == resting
    for oid, o in sim.items():
        assert pa.orders.get_order(oid).request.quantity == Decimal(str(o.total_qty)), oid
