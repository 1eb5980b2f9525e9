"""Each status change of an order reaches its client's ``on_order_status`` once, over real
processes (the simulator here, the service and the strategy each a process of its own): a
resting order cancelled; a service killed after the Cancelled went out and was acknowledged,
whose adapter then hears it again from IB's reconciliation; a strategy restarted under its name
(nothing it acknowledged comes again)."""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path
from typing import Any

from platform_adapter.sim import SimulatedGateway
from tests.conftest import wait_for
from tests.service.conftest import ClientProcess
from tests.service.test_processes import start_client, start_service

RESTING = {"symbol": "AAPL", "action": "BUY", "quantity": 10, "order_type": "LMT", "kwargs": {"limit_price": 100.0}}

# The service's adapter journals IB's status reports in the background (committed in the next
# pause of the flow): a kill before that commit loses them. Here every such report is lost, so
# that the restarted service finds the order as it was before its statuses (deterministically).
_JOURNAL_LOSES_STATUSES = """
import sys
from platform_adapter.adapters.orders.journal import OrderJournal
record = OrderJournal.record_order

def record_order(self, order, kind="status", defer=False, background=False):
    if not background:
        record(self, order, kind, defer, background)

OrderJournal.record_order = record_order
from platform_adapter.service.__main__ import main
sys.exit(main(sys.argv[1:]))
"""


def statuses(client: ClientProcess, order_id: int) -> list[str]:
    """The order's status events once a later order's first status event has reached the client:
    order events are numbered and delivered in order, so none of ``order_id``'s is still on its way."""
    later = client.ask("place", symbol="MSFT", action="BUY", quantity=1, order_type="MKT")["ok"]
    wait_for(lambda: any(e["order_id"] == later for e in client.ask("events")["ok"]), timeout=10)
    return [e["status"] for e in client.ask("events")["ok"] if e["kind"] == "status" and e["order_id"] == order_id]


def cancelled(client: ClientProcess) -> int:
    """A resting order placed and cancelled; returns its id once its Cancelled has been seen."""
    order_id = client.ask("place", **RESTING)["ok"]
    wait_for(lambda: any(e["order_id"] == order_id for e in client.ask("events")["ok"]), timeout=10)
    assert client.ask("cancel", order_id=order_id) == {"ok": True}
    wait_for(lambda: {"kind": "status", "order_id": order_id, "status": "Cancelled"} in client.ask("events")["ok"],
             timeout=10)
    return order_id


def acked(tmp_path: Path, name: str) -> int:
    """What the service's store has committed as acknowledged by ``name``."""
    with sqlite3.connect(tmp_path / "orders.service.db") as db:
        row = db.execute("SELECT acked FROM clients WHERE name = ?", (name,)).fetchone()
    return int(row[0]) if row else 0


def test_a_cancelled_resting_order_reaches_its_client_cancelled_once(gateway: SimulatedGateway, tmp_path: Path,
                                                                     processes: list[Any]) -> None:
    svc = start_service(gateway, tmp_path, processes)
    a = start_client(svc, "a", processes)
    order_id = cancelled(a)
    assert statuses(a, order_id) == ["Submitted", "Cancelled"]


def test_a_restarted_service_does_not_send_an_acknowledged_cancel_again(gateway: SimulatedGateway, tmp_path: Path,
                                                                        processes: list[Any]) -> None:
    """The service is killed after its client acknowledged the order's Cancelled, its adapter's
    journal without the order's statuses: once back, the adapter's reconciliation finds the order
    Cancelled at IB and reports it (news to the adapter). The service has numbered that final
    status for the client before and does not again: the client, which stayed up, and then a new
    process under its name, see Cancelled once (before: again, as a new event)."""
    svc = start_service(gateway, tmp_path, processes, code=_JOURNAL_LOSES_STATUSES)
    a = start_client(svc, "a", processes)
    order_id = cancelled(a)
    seen = len(a.ask("events")["ok"])
    wait_for(lambda: acked(tmp_path, "a") >= seen, timeout=10)  # sent with the client's heartbeats
    svc.proc.send_signal(signal.SIGKILL)
    assert svc.proc.wait(10) == -signal.SIGKILL

    start_service(gateway, tmp_path, processes, svc.commands, svc.events)
    assert a.ask("wait_connected", seconds=10)["ok"] is True
    assert statuses(a, order_id) == ["Submitted", "Cancelled"]

    assert a.ask("disconnect") == {"ok": True}  # says bye with what it acknowledged
    a.kill()
    again = start_client(svc, "a", processes)
    assert statuses(again, order_id) == []  # nothing acknowledged is replayed to a new process
