"""The service and its clients as real processes on the simulator: lines shared by client
processes and released when one is killed (SIGKILL), a client restarted under its name gets its
open orders and the fills it missed, and the service killed and restarted: clients come back by
themselves, nothing lost or duplicated, calls in between fail fast with NotConnected."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from platform_adapter.sim import SimulatedGateway
from tests.conftest import wait_for
from tests.service.conftest import SERVICE_CLIENT_ID, ClientProcess, ServiceProcess, write_config

ANY = "tcp://127.0.0.1:0"
FAST = ("--heartbeat", "0.2", "--heartbeat-timeout", "1.5")


def start_service(gw: SimulatedGateway, tmp_path: Path, processes: list[Any], commands: str = ANY,
                  events: str = ANY, code: str | None = None) -> ServiceProcess:
    svc = ServiceProcess("--config", str(write_config(tmp_path, gw.port)), "--commands", commands, "--events",
                         events, *FAST, code=code)
    processes.append(svc)
    return svc


def start_client(svc: ServiceProcess, name: str, processes: list[Any]) -> ClientProcess:
    client = ClientProcess(svc.commands, name)
    processes.append(client)
    assert client.ask("connect")["ok"]["connected"] is True
    return client


def service_lines(gw: SimulatedGateway) -> int:
    session = gw.sessions.get(SERVICE_CLIENT_ID)
    return len(session.subs.mkt) if session else 0


def fill_at_sim(gw: SimulatedGateway, order_id: int) -> None:
    """Make a resting limit order of the service marketable inside the simulator."""
    with gw.lock:
        (order,) = [o for o in gw.stats().orders if (o.client_id, o.order_id) == (SERVICE_CLIENT_ID, order_id)]
        order.lmt_price = 1000.0
        gw.apply_events(gw.engine.on_market())
    wait_for(lambda: order.status == "Filled")


def test_processes_share_a_line_and_a_killed_client_releases_it(gateway: SimulatedGateway, tmp_path: Path,
                                                               processes: list[Any]) -> None:
    svc = start_service(gateway, tmp_path, processes)
    clients = [start_client(svc, name, processes) for name in ("a", "b", "c")]
    for client in clients:
        assert client.ask("subscribe", symbols=["AAPL"]) == {"ok": True}
    for client in clients:
        reply = client.ask("wait_quotes", symbol="AAPL", count=3, seconds=10)
        assert reply["ok"]["ok"], reply
    assert gateway.stats().received["reqMktData"] == 1 and service_lines(gateway) == 1
    a, b, c = clients
    metrics = a.ask("metrics")["ok"]
    assert (metrics["service_clients"], metrics["service_lines"], metrics["service_line_holders"]) == (3, 1, 3)

    os.kill(c.proc.pid, signal.SIGKILL)
    wait_for(lambda: a.ask("metrics")["ok"]["service_line_holders"] == 2, timeout=5)
    assert service_lines(gateway) == 1 and a.ask("metrics")["ok"]["service_clients"] == 2
    seen = a.ask("quotes")["ok"]["AAPL"]["count"]
    assert a.ask("wait_quotes", symbol="AAPL", count=seen + 3, seconds=10)["ok"]["ok"]  # still streaming

    for client in (a, b):
        os.kill(client.proc.pid, signal.SIGKILL)
    wait_for(lambda: service_lines(gateway) == 0, timeout=5)
    assert gateway.stats().received["cancelMktData"] == 1


def test_a_restarted_client_gets_its_open_orders_and_the_fills_it_missed(
        gateway: SimulatedGateway, tmp_path: Path, processes: list[Any]) -> None:
    svc = start_service(gateway, tmp_path, processes)
    a, other = start_client(svc, "strategy-a", processes), start_client(svc, "strategy-b", processes)
    kept = a.ask("place", symbol="AAPL", action="BUY", quantity=10, order_type="LMT", kwargs={"limit_price": 100.0})
    missed = a.ask("place", symbol="AAPL", action="BUY", quantity=5, order_type="LMT", kwargs={"limit_price": 101.0})
    filled = a.ask("place", symbol="MSFT", action="BUY", quantity=3, order_type="MKT")
    first_fill = [e for e in a.ask("wait_events", kind="fill", count=1, seconds=10)["ok"] if e["kind"] == "fill"]
    assert [e["order_id"] for e in first_fill] == [filled["ok"]]
    os.kill(a.proc.pid, signal.SIGKILL)
    wait_for(lambda: other.ask("metrics")["ok"]["service_clients"] == 1, timeout=5)  # its session ended

    fill_at_sim(gateway, missed["ok"])  # while strategy-a is dead
    again = start_client(svc, "strategy-a", processes)  # the same name: refused until the old session ends
    events = again.ask("wait_events", kind="fill", count=2, seconds=15)["ok"]
    fills = [e for e in events if e["kind"] == "fill"]
    by_order = {e["order_id"]: e for e in fills}
    assert by_order[missed["ok"]]["possible_duplicate"] is False  # never sent before: not a duplicate
    assert sum(e["order_id"] == missed["ok"] for e in fills) == 1
    if filled["ok"] in by_order:  # delivered before the kill but maybe not acknowledged: flagged
        assert by_order[filled["ok"]]["possible_duplicate"] is True
    assert {e["order_id"] for e in events if e["kind"] == "status"} >= {missed["ok"]}
    assert again.ask("open_orders")["ok"] == [kept["ok"]]
    assert other.ask("events")["ok"] == [] and other.ask("open_orders")["ok"] == []
    assert gateway.stats().received["placeOrder"] == 3


def test_the_service_killed_and_restarted(gateway: SimulatedGateway, tmp_path: Path, processes: list[Any]) -> None:
    svc = start_service(gateway, tmp_path, processes)
    a, b = start_client(svc, "a", processes), start_client(svc, "b", processes)
    a.ask("subscribe", symbols=["AAPL"])
    b.ask("subscribe", symbols=["MSFT"])
    resting = a.ask("place", symbol="AAPL", action="BUY", quantity=10, order_type="LMT",
                    kwargs={"limit_price": 100.0})["ok"]
    assert a.ask("wait_quotes", symbol="AAPL", count=2, seconds=10)["ok"]["ok"]
    before = {c: c.ask("quotes")["ok"] for c in (a, b)}

    svc.kill()  # SIGKILL
    wait_for(lambda: a.ask("is_connected")["ok"] is False, timeout=5)
    outage = a.ask("try_place")["ok"]
    assert outage["error"] == "NotConnected" and outage["seconds"] < 0.5  # fails at once, nothing queued
    fill_at_sim(gateway, resting)  # fills while the service is down
    wait_for(lambda: SERVICE_CLIENT_ID not in gateway.stats().clients, timeout=5)

    restarted = start_service(gateway, tmp_path, processes, svc.commands, svc.events)
    ready = time.time()
    for client, symbol in ((a, "AAPL"), (b, "MSFT")):
        seen = before[client][symbol]["count"]
        back = client.ask("wait_quotes", symbol=symbol, count=seen + 100_000, seconds=0.0)["ok"]["count"]
        streaming = client.ask("wait_quotes", symbol=symbol, count=back + 2, seconds=5)["ok"]
        assert streaming["ok"], f"{symbol} not streaming again within 5 s of the restart"
        assert streaming["at"] - ready < 5.0
    assert a.ask("wait_connected", seconds=5)["ok"] is True
    events = a.ask("wait_events", kind="fill", count=1, seconds=10)["ok"]
    fills = [e for e in events if e["kind"] == "fill"]
    assert [e["order_id"] for e in fills] == [resting]  # the fill made during the outage, once
    assert a.ask("open_orders")["ok"] == []
    assert gateway.stats().received["placeOrder"] == 1  # nothing re-sent, nothing from the outage
    assert b.ask("events")["ok"] == []
    assert restarted.commands == svc.commands


_DIES_AFTER_SENDING = """
import os, signal, sys
from platform_adapter.adapters.orders.encoding import PlaceOrderMessage
send = PlaceOrderMessage.send

def send_and_die(self, client):
    send(self, client)  # the order's bytes are on their way to IB; the place call is not answered yet
    os.kill(os.getpid(), signal.SIGKILL)

PlaceOrderMessage.send = send_and_die
from platform_adapter.service.__main__ import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_service_killed_as_an_order_goes_to_ib_finds_it_its_clients_after_the_restart(
        gateway: SimulatedGateway, tmp_path: Path, processes: list[Any]) -> None:
    """The service dies (SIGKILL) right after an order's bytes leave for IB, before the place call
    is answered: the order is at IB, and once the service is back its client finds it among its
    open orders (its owner was stored before the send) and gets its fill."""
    svc = start_service(gateway, tmp_path, processes, code=_DIES_AFTER_SENDING)
    a = start_client(svc, "a", processes)
    answer = a.ask("place", symbol="AAPL", action="BUY", quantity=10, order_type="LMT", kwargs={"limit_price": 100.0})
    assert answer.get("error") == "NotConnected", answer  # the call never got its answer
    assert svc.proc.wait(10) == -signal.SIGKILL
    wait_for(lambda: [o.order_id for o in gateway.stats().orders if o.client_id == SERVICE_CLIENT_ID], timeout=5)
    (order_id,) = [o.order_id for o in gateway.stats().orders if o.client_id == SERVICE_CLIENT_ID]
    wait_for(lambda: SERVICE_CLIENT_ID not in gateway.stats().clients, timeout=5)

    start_service(gateway, tmp_path, processes, svc.commands, svc.events)
    assert a.ask("wait_connected", seconds=10)["ok"] is True
    wait_for(lambda: a.ask("open_orders")["ok"] == [order_id], timeout=10)
    fill_at_sim(gateway, order_id)
    events = a.ask("wait_events", kind="fill", count=1, seconds=10)["ok"]
    assert [e["order_id"] for e in events if e["kind"] == "fill"] == [order_id]
    assert gateway.stats().received["placeOrder"] == 1  # nothing re-sent
