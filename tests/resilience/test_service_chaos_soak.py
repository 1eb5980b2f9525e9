"""IB's failure modes and the service's own at random while two strategy processes trade through
the service (the short version of scripts/soak_chaos_remote.py): the service and a strategy
killed (SIGKILL) and started again among IB's faults; every order at the gateway owned by one
strategy and known to it with the gateway's status and filled quantity, none duplicated, every
fill delivered to its owner (a repeat only flagged, after a restart), positions right, every
stream flowing again within 5 s of each quiet period. At least six faults however slow the
machine (``--min-faults``: before, a loaded machine fitted five into the 20 s and failed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOAK = ROOT / "scripts" / "soak_chaos_remote.py"


def test_random_faults_of_ib_and_the_service_while_strategies_trade(tmp_path: Path) -> None:
    out, report = tmp_path / "chaos.json", tmp_path / "chaos.md"
    proc = subprocess.run([sys.executable, str(SOAK), "--clients", "2", "--seconds", "20", "--every", "1.5",
                           "--seed", "4", "--quiet-every", "3", "--min-faults", "6", "--service-share", "0.5", "--work",
                           str(tmp_path / "work"), "--json", str(out), "--report", str(report)], cwd=ROOT,
                          capture_output=True, text=True, timeout=360, check=False)
    assert out.exists(), proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["ok"], result["problems"]
    assert proc.returncode == 0
    faults = result["faults"]
    assert faults.get("service_kill", 0) >= 1 and faults.get("client_kill", 0) >= 1, faults
    assert sum(faults.values()) >= 6
    assert result["quiet"], "no quiet period: the streams were never judged"
    assert result["orders_placed"] > 30 and result["executions_at_gateway"] > 10
    assert result["fills_delivered"] >= result["executions_at_gateway"]
    assert "PASS" in report.read_text()
