"""Run every benchmark (each measurement in a fresh process) and write ``bench/results/summary.md``
with the tables, the machine and the issue-8 targets checked (ratios within this run).

    .venv/bin/python scripts/bench_all.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import RESULTS, ROOT, machine_info, machine_line  # noqa: E402

BENCHES = (
    ("bench_tick_burst.py", ["--runs", "5"], ["--runs", "2", "--n", "50000"]),
    ("bench_order_rtt.py", ["--runs", "3"], ["--runs", "1", "--orders", "300"]),
    ("bench_historical.py", ["--runs", "3"], ["--runs", "1", "--days", "10"]),
    ("bench_memory.py", ["--seconds", "60"], ["--seconds", "15"]),
    ("bench_latency.py", ["--runs", "3"], ["--runs", "1", "--seconds", "3"]),
)


def _load(name: str) -> dict[str, Any]:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _median(data: dict[str, Any], *keys: str) -> float | None:
    node: Any = data.get("stats", {})
    for key in keys:
        node = node.get(key, {}) if isinstance(node, dict) else {}
    value = node.get("median") if isinstance(node, dict) else None
    return float(value) if value is not None else None


def targets() -> list[str]:
    out = []
    burst = _load("tick_burst")
    pa, ib_async = _median(burst, "pa_core"), _median(burst, "ib_async")
    if pa and ib_async:
        runs = burst["stats"]["pa_core"]
        stable = runs["min"] / runs["max"]
        out.append(f"- Tick burst >= 3x ib_async: pa_core {pa / ib_async:.2f}x -> "
                   f"{'met' if pa / ib_async >= 3 else 'MISSED'}; stable (slowest >= 0.8 x fastest): "
                   f"{stable:.2f} -> {'met' if stable >= 0.8 else 'MISSED'}")
    orders = _load("order_rtt")
    p50, ref50 = _median(orders, "pa_core", "p50_us"), _median(orders, "ibapi", "p50_us")
    p99, ref99 = _median(orders, "pa_core", "p99_us"), _median(orders, "ib_async", "p99_us")
    if p50 and ref50:
        out.append(f"- Order p50 <= 1.1x stock ibapi: pa_core {p50 / ref50:.2f}x -> "
                   f"{'met' if p50 / ref50 <= 1.1 else 'MISSED'}")
    if p99 and ref99:
        out.append(f"- Order p99 <= 0.6x ib_async: pa_core {p99 / ref99:.2f}x -> "
                   f"{'met' if p99 / ref99 <= 0.6 else 'MISSED'}")
    full50 = _median(orders, "pa", "p50_us")
    if full50 and ref50:
        out.append(f"- (full facade place_order, for information: p50 {full50 / ref50:.2f}x stock ibapi)")
    memory = _load("memory")
    if memory.get("runs"):
        worst = max(abs(r["growth_pct"]) for r in memory["runs"])
        rng = max(r["range_pct"] for r in memory["runs"])
        out.append(f"- RSS flat within 5% after warm-up: growth {worst:.2f}%, range {rng:.2f}% -> "
                   f"{'met' if worst <= 5 and rng <= 5 else 'MISSED'}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="short runs (smoke test of the scripts)")
    args = parser.parse_args()
    started = time.monotonic()
    for script, full, quick in BENCHES:
        print(f"== {script}", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, str(ROOT / "scripts" / script), *(quick if args.quick else full)],
                       cwd=ROOT, check=False, stdout=subprocess.DEVNULL)
    elapsed = time.monotonic() - started
    parts = [f"## Benchmark results ({'quick' if args.quick else 'full'} run, {elapsed:.0f} s)\n",
             f"Machine: {machine_line(machine_info())}\n", "Targets of issue 8 (ratios within this run):\n",
             *targets(), ""]
    for name in ("tick_burst", "order_rtt", "historical", "memory", "latency"):
        path = RESULTS / f"{name}.md"
        if path.exists():
            parts.append(path.read_text().split("\n\nMachine:")[0] + "\n")
    (RESULTS / "summary.md").write_text("\n".join(parts))
    print((RESULTS / "summary.md").read_text())


if __name__ == "__main__":
    main()
