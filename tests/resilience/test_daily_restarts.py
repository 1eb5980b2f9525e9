"""A week of daily gateway restarts, compressed (the short version of scripts/soak_restarts.py):
the simulator's clock runs a day in a few seconds and restarts the gateway at its midnight; a
strategy trades throughout. No order lost or duplicated, order ids only grow, every fill once,
positions right, every stream back within 5 s of each reconnect, RSS flat."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from platform_adapter import OrderState
from platform_adapter.sim.__main__ import handle_command
from tests.resilience.conftest import wait_disconnected, wait_reconnected

ROOT = Path(__file__).resolve().parents[2]
SOAK = ROOT / "scripts" / "soak_restarts.py"


def test_three_daily_restarts_while_trading(tmp_path: Path) -> None:
    out, report = tmp_path / "soak.json", tmp_path / "soak.md"
    proc = subprocess.run([sys.executable, str(SOAK), "--restarts", "3", "--day-seconds", "5", "--down", "1",
                           "--json", str(out), "--report", str(report)], cwd=ROOT, capture_output=True, text=True,
                          timeout=180, check=False)
    assert out.exists(), proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["ok"], result["problems"]
    assert proc.returncode == 0
    assert result["restarts_at_gateway"] == result["reconnects"] == 3
    assert result["orders_placed"] > 30 and result["fills"] == result["executions_at_gateway"] > 10
    assert result["placements_refused"] > 0, "orders were refused (never queued) while the gateway was down"
    assert len(result["stream_back_seconds"]) == 3
    assert all(t is not None and t <= 5.0 for row in result["stream_back_seconds"] for t in row.values())
    assert "PASS" in report.read_text()


def test_restart_command_drops_and_refuses_then_keeps_the_book(sim_factory: Any, adapter_factory: Any) -> None:
    gw = sim_factory()
    pa = adapter_factory(gw)
    working = pa.orders.place_order("AAPL", "BUY", 1, "LMT", limit_price=100.0, tif="GTC")
    pa.orders.wait_for_status(working, OrderState.SUBMITTED, timeout=5)  # at the gateway, not in flight
    assert handle_command(gw, "restart 0.5") == "ok"
    wait_disconnected(pa)
    wait_reconnected(pa, 1)
    assert gw.restarts == 1
    book = json.loads(handle_command(gw, "orders")[3:])
    assert book["orders"] == [[pa.connection.client_id, working, "Submitted", 0.0]]
    assert book["restarts"] == 1 and book["received"]["placeOrder"] == 1
