"""Bad input and slow readers, against a service process: every malformed frame, unknown command,
wrongly typed argument and oversized message gets a typed error reply, nothing reaches IB and the
service goes on; a client that stops reading gets conflated quotes, loses no order event, and
slows no one else."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from platform_adapter.service.protocol import MAX_MESSAGE_BYTES
from platform_adapter.service.schema import pack
from platform_adapter.sim import SimulatedGateway
from tests.conftest import LOOPBACK, wait_for
from tests.service.conftest import ClientProcess
from tests.service.raw_client import RawClient
from tests.service.test_processes import start_service


def _error(reply: dict[str, Any]) -> tuple[str, Any]:
    assert reply["ok"] is False, reply
    err = reply["error"]
    return err["type"], err["attributes"].get("code") or err["attributes"].get("field")


BAD_FRAMES = [
    ((b"\xc1\x00garbage",), ("ProtocolError", "malformed"), None),
    ((pack([1, 2]),), ("ProtocolError", "malformed"), None),
    ((pack({"v": 1, "cmd": "ping"}),), ("ProtocolError", "malformed"), None),
    ((pack({"v": 2, "id": 5, "cmd": "ping"}),), ("ProtocolError", "unsupported_version"), 5),
    ((pack({"v": 1, "id": 6, "cmd": "ping", "args": "x"}),), ("ProtocolError", "malformed"), 6),
    ((b"one", b"two"), ("ProtocolError", "malformed"), None),
    ((b"\x00" * (MAX_MESSAGE_BYTES + 1),), ("ProtocolError", "too_large"), None),
]


def test_bad_input_gets_typed_errors_and_nothing_reaches_ib(gateway: SimulatedGateway, tmp_path: Path,
                                                           processes: list[Any]) -> None:
    svc = start_service(gateway, tmp_path, processes)
    raw = RawClient(svc.commands)
    try:
        for frames, expected, req_id in BAD_FRAMES:
            reply = raw.send_raw(*frames)
            assert _error(reply) == expected and reply["id"] == req_id, frames[0][:20]
        place = {"symbol": "AAPL", "action": "BUY", "quantity": 1, "order_type": "MKT"}
        assert _error(raw.call("orders.place_order", place)) == ("ProtocolError", "not_identified")
        assert _error(raw.call("orders.place_order", place, session="forged")) == ("ProtocolError",
                                                                                    "not_identified")
        assert _error(raw.call("hello", {"name": "no spaces allowed"})) == ("ValidationError", "name")
        raw.hello("raw")
        assert _error(raw.call("orders.launch_rocket")) == ("ProtocolError", "unknown_command")
        for args, field in ((dict(place, quantity={"n": 1}), "quantity"), (dict(place, symbol=5), "symbol"),
                            (dict(place, symbol={"sec_type": "STK"}), "symbol"), (dict(place, action=None), "action"),
                            ({k: v for k, v in place.items() if k != "quantity"}, "quantity"),
                            (dict(place, rocket=True), "rocket"), (dict(place, kwargs={"limit_price": [1]}),
                                                                  "limit_price"),
                            (dict(place, quantity=-1), "quantity"), (dict(place, order_type="SOON"), "order_type")):
            assert _error(raw.call("orders.place_order", args)) == ("ValidationError", field), args
        assert _error(raw.call("orders.cancel_order", {"order_id": "7"})) == ("ValidationError", "order_id")
        assert _error(raw.call("market_data.unsubscribe", {"lines": "quotes|AAPL"})) == ("ValidationError",
                                                                                           "lines")
        assert gateway.stats().received["placeOrder"] == 0
        assert raw.call("ping")["ok"] is True  # still serving
        assert isinstance(raw.call("orders.place_order", place)["result"], int)
        wait_for(lambda: gateway.stats().received["placeOrder"] == 1)
        unknown = RawClient(svc.commands)
        unknown.session = "forged"
        (refused,) = unknown.attach(svc.events) or [{}]
        assert refused.get("ev") == "error" and refused["error"]["attributes"]["code"] == "not_identified"
        unknown.close()
    finally:
        raw.close()


def test_a_slow_reader_gets_conflated_quotes_and_every_order_event(tmp_path: Path, processes: list[Any]) -> None:
    with SimulatedGateway(host=LOOPBACK, port=0, seed=11, tick_interval=0.002) as busy:
        svc = start_service(busy, tmp_path, processes)
        fast = ClientProcess(svc.commands, "fast")
        processes.append(fast)
        assert fast.ask("connect")["ok"]["connected"]
        fast.ask("subscribe", symbols=["AAPL"])
        slow = RawClient(svc.commands)
        try:
            slow.hello("slow")
            slow.attach(svc.events, rcvhwm=1)
            slow.keep_alive()
            assert slow.call("market_data.subscribe_quotes", {"symbols": ["AAPL"]})["ok"]
            since = time.time()
            orders = [slow.call("orders.place_order", {"symbol": "MSFT", "action": "BUY", "quantity": 1,
                                                       "order_type": "LMT", "kwargs": {"limit_price": 300.0 + i / 100}})
                      ["result"] for i in range(20)]
            # the slow client reads nothing until its pipe is full and its quotes are being merged
            behind = wait_for(lambda: (m := slow.call("metrics")["result"])["client_quotes_conflated"] > 100
                              and m["client_events_waiting"] > 0 and m, timeout=20)
            stats = fast.ask("quote_stats", symbol="AAPL", since=since)["ok"]
            assert stats["count"] > 50 and stats["max_gap"] < 0.25, stats  # the fast client never waited
            assert fast.ask("metrics")["ok"]["client_quotes_conflated"] < behind["client_quotes_conflated"]
            events = slow.read_events(seconds=3.0)
        finally:
            slow.close()
    numbered = [e for e in events if "seq" in e]
    assert [e["seq"] for e in numbered] == list(range(1, len(numbered) + 1))  # none lost, in order
    assert {e["status"]["order_id"] for e in numbered if e["ev"] == "order_status"} == set(orders)
    updates = [e["quote"]["updates"] for e in events if e["ev"] == "quote"]
    jumps = [b - a for a, b in zip(updates, updates[1:], strict=False)]
    assert min(jumps) > 0 and max(jumps) > 100  # in order; the stall's quotes were merged, not queued


@pytest.mark.parametrize("oversized", [MAX_MESSAGE_BYTES + 1, 16 * MAX_MESSAGE_BYTES + 1])
def test_oversized_messages_never_stop_the_service(gateway: SimulatedGateway, tmp_path: Path,
                                                   processes: list[Any], oversized: int) -> None:
    svc = start_service(gateway, tmp_path, processes)
    raw = RawClient(svc.commands)
    try:
        raw.cmd.send(b"\x00" * oversized)
        if oversized <= 16 * MAX_MESSAGE_BYTES:
            assert raw.cmd.poll(10_000)
        other = RawClient(svc.commands)
        wait_for(lambda: other.call("ping")["ok"], timeout=10)
        other.close()
    finally:
        raw.close()
