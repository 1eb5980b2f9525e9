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
    ("bench_order_rtt.py", ["--runs", "5"], ["--runs", "1", "--orders", "300"]),
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


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def targets() -> list[str]:
    """Each target checked at both levels: pa_core (connection core into Wrapper events) and pa
    (the full PlatformAdapter facade a user calls)."""
    out = []
    burst = _load("tick_burst")
    ib_async = _median(burst, "ib_async")
    for level in ("pa_core", "pa", "pa+reader"):
        rate = _median(burst, level)
        if rate and ib_async:
            runs = burst["stats"][level]
            stable = runs["min"] / runs["max"]
            ratio = rate / ib_async
            out.append(f"- Tick burst >= 3x ib_async, {level}: {ratio:.2f}x -> {_verdict(ratio >= 3)}"
                       f"; stable (slowest >= 0.8 x fastest): {stable:.2f} -> {_verdict(stable >= 0.8)}")
    orders = _load("order_rtt")
    ref50, ref99 = _median(orders, "ibapi", "p50_us"), _median(orders, "ib_async", "p99_us")
    for level in ("pa_core", "pa", "pa + gc.freeze()", "pa_core+reader", "pa+reader"):
        p50, p99 = _median(orders, level, "p50_us"), _median(orders, level, "p99_us")
        if p50 and ref50:
            r50 = p50 / ref50
            out.append(f"- Order p50 <= 1.1x stock ibapi, {level}: {r50:.2f}x -> {_verdict(r50 <= 1.1)}")
        if p99 and ref99:
            r99 = p99 / ref99
            out.append(f"- Order p99 <= 0.6x ib_async, {level}: {r99:.2f}x -> {_verdict(r99 <= 0.6)}")
    memory = _load("memory")
    if memory.get("runs"):
        worst = max(abs(r["growth_pct"]) for r in memory["runs"])
        rng = max(r["range_pct"] for r in memory["runs"])
        out.append(f"- RSS flat within 5% after warm-up (pa, 1,000 lines): growth {worst:.2f}%, range {rng:.2f}% -> "
                   f"{_verdict(worst <= 5 and rng <= 5)}")
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
