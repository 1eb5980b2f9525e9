"""A strategy process for the service tests: a RemoteAdapter driven by JSON lines on stdin, one
JSON reply line per command on stdout. It records every quote, order status and fill it gets.

Usage: python -m tests.service.client_process <commands endpoint> <client name>
Commands: hello, connect, subscribe {symbols}, unsubscribe {symbols}, quotes, wait_quotes
{symbol, count, seconds}, quote_stats {symbol, since}, place {symbol, action, quantity, order_type, kwargs},
cancel {order_id}, events, wait_events {kind, count, seconds}, open_orders, metrics, is_connected,
try_place (a call that must fail fast while the service is away: its error and how long it
took), disconnect.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

from platform_adapter.remote import RemoteAdapter


class Strategy:
    def __init__(self, endpoint: str, name: str) -> None:
        self.pa = RemoteAdapter(endpoint, name=name, connect_timeout=20)
        self.lock = threading.Condition()
        self.quotes: dict[str, list[dict[str, Any]]] = {}
        self.events: list[dict[str, Any]] = []
        self.pa.orders.on_order_status(self.on_status)
        self.pa.orders.on_fill(self.on_fill)

    def on_quote(self, symbol: str, quote: Any) -> None:
        with self.lock:
            self.quotes.setdefault(symbol, []).append({"updates": quote.updates, "bid": quote.bid,
                                                       "received": time.time(),
                                                       "time": quote.time.timestamp() if quote.time else None})
            self.lock.notify_all()

    def on_status(self, status: Any) -> None:
        with self.lock:
            self.events.append({"kind": "status", "order_id": status.order_id, "status": status.status.value})
            self.lock.notify_all()

    def on_fill(self, fill: Any) -> None:
        with self.lock:
            self.events.append({"kind": "fill", "order_id": fill.order_id, "exec_id": fill.exec_id,
                                "possible_duplicate": fill.possible_duplicate})
            self.lock.notify_all()

    def run(self, op: str, a: dict[str, Any]) -> Any:
        pa = self.pa
        if op == "hello":
            return "ready"
        if op == "connect":
            return {"connected": pa.connect(), "error": pa.last_error}
        if op == "subscribe":
            pa.market_data.subscribe_quotes(a["symbols"], self.on_quote)
            return True
        if op == "unsubscribe":
            pa.market_data.unsubscribe_quotes(a["symbols"])
            return True
        if op == "quotes":
            with self.lock:
                return {s: {"count": len(q), "last": q[-1]} for s, q in self.quotes.items()}
        if op == "quote_stats":  # over the quotes received after ``since`` (time.time())
            with self.lock:
                got = [q for q in self.quotes.get(a["symbol"], []) if q["received"] >= a["since"]]
            gaps = [y["received"] - x["received"] for x, y in zip(got, got[1:], strict=False)]
            delays = [q["received"] - q["time"] for q in got if q["time"]]
            return {"count": len(got), "max_gap": max(gaps, default=None), "max_delay": max(delays, default=None)}
        if op == "wait_quotes":
            with self.lock:
                ok = self.lock.wait_for(lambda: len(self.quotes.get(a["symbol"], [])) >= a["count"], a["seconds"])
                return {"ok": ok, "count": len(self.quotes.get(a["symbol"], [])), "at": time.time()}
        if op == "place":
            return pa.orders.place_order(a["symbol"], a["action"], a["quantity"], a["order_type"],
                                         **a.get("kwargs", {}))
        if op == "cancel":
            return pa.orders.cancel_order(a["order_id"])
        if op == "try_place":
            start = time.monotonic()
            try:
                pa.orders.place_order("AAPL", "BUY", 1, "LMT", limit_price=100.0)
            except Exception as exc:  # noqa: BLE001 - reported to the test
                return {"error": type(exc).__name__, "seconds": time.monotonic() - start}
            return {"error": None, "seconds": time.monotonic() - start}
        if op == "events":
            with self.lock:
                return list(self.events)
        if op == "wait_events":
            with self.lock:
                self.lock.wait_for(lambda: sum(e["kind"] == a["kind"] for e in self.events) >= a["count"],
                                   a["seconds"])
                return list(self.events)
        if op == "open_orders":
            return sorted(o.order_id for o in pa.orders.get_open_orders())
        if op == "metrics":
            return {k: v for k, v in pa.metrics().items() if isinstance(v, int | float | str | bool | None)}
        if op == "is_connected":
            return pa.is_connected()
        if op == "wait_connected":
            deadline = time.monotonic() + a["seconds"]
            while not pa.is_connected() and time.monotonic() < deadline:
                time.sleep(0.01)
            return pa.is_connected()
        if op == "disconnect":
            pa.disconnect()
            return True
        raise ValueError(f"unknown op {op}")


def main(endpoint: str, name: str) -> None:
    strategy = Strategy(endpoint, name)
    for line in sys.stdin:
        cmd = json.loads(line)
        op = cmd.pop("op")
        try:
            reply: Any = {"ok": strategy.run(op, cmd)}
        except Exception as exc:  # noqa: BLE001 - reported to the test
            reply = {"error": type(exc).__name__, "message": str(exc)}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
