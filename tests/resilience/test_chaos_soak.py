"""IB's failure modes at random while trading (the short version of scripts/soak_chaos.py): no
order lost or duplicated, order ids only grow, every fill once, positions right, every stream
flowing again within 5 s of each quiet period between the faults. At least six faults however
slow the machine (``--min-faults``: before, a loaded machine fitted five into the 20 s and failed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOAK = ROOT / "scripts" / "soak_chaos.py"


def test_random_faults_while_trading(tmp_path: Path) -> None:
    out, report = tmp_path / "chaos.json", tmp_path / "chaos.md"
    proc = subprocess.run([sys.executable, str(SOAK), "--seconds", "20", "--every", "1.5", "--seed", "3",
                           "--quiet-every", "3", "--min-faults", "6", "--json", str(out), "--report", str(report)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert out.exists(), proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["ok"], result["problems"]
    assert proc.returncode == 0
    assert sum(result["faults"].values()) >= 6 and result["reconnects"] >= 1
    assert result["quiet"], "no quiet period: the streams were never judged"
    assert result["orders_placed"] > 30 and result["fills"] == result["executions_at_gateway"] > 10
    assert "PASS" in report.read_text()
