"""Run every benchmark (each measurement in a fresh process) and write ``bench/results/summary.md``
with the tables, the machine and the targets checked (ratios within this run).

Tick burst and order round trip run at every ``--server-versions`` (default: ibapi's
MAX_CLIENT_VER, then 176, the text protocol); the other benchmarks at the first of them.

    python scripts/bench_all.py [--quick] [--server-versions 226,176] [--summary-only]
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

from bench_common import RESULTS, ROOT, default_server_version, machine_info, machine_line  # noqa: E402

# (script, results name, full-run arguments, quick-run arguments, at every version)
BENCHES = (
    ("bench_tick_burst.py", "tick_burst", ["--runs", "5"], ["--runs", "2", "--n", "50000"], True),
    ("bench_order_rtt.py", "order_rtt", ["--runs", "5"], ["--runs", "1", "--orders", "300", "--warmup", "50"], True),
    ("bench_fill.py", "fill_rtt", ["--runs", "5"], ["--runs", "1", "--orders", "200", "--warmup", "20"], True),
    ("bench_historical.py", "historical", ["--runs", "3"], ["--runs", "1", "--days", "10"], False),
    ("bench_memory.py", "memory", ["--seconds", "60"], ["--seconds", "15"], False),
    ("bench_latency.py", "latency", ["--runs", "3"], ["--runs", "1", "--seconds", "3"], False),
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


def targets(versions: list[int]) -> list[str]:
    """The targets at each server version: tick burst >= 3x ib_async at the median and stable
    (slowest run >= 0.8x the fastest); order round trip p50 <= 1.1x and p99 <= 1.5x stock
    ibapi's, max <= 5 ms; the fill round trip's p99 no worse than the baseline's (when
    ``bench_fill.py --baseline`` ran); RSS flat within 5%."""
    out = []
    for version in versions:
        burst = _load(f"tick_burst_{version}")
        ib_async = _median(burst, "ib_async")
        for level in ("pa_core", "pa"):
            rate = _median(burst, level)
            if rate and ib_async:
                stable = burst["stats"][level]["min_over_max"]
                ratio = rate / ib_async
                out.append(f"- {version}: tick burst >= 3x ib_async, {level}: {ratio:.2f}x -> {_verdict(ratio >= 3)}"
                           f"; stable (slowest >= 0.8 x fastest): {stable:.2f} -> {_verdict(stable >= 0.8)}")
        orders = _load(f"order_rtt_{version}")
        ref50, ref99 = _median(orders, "ibapi", "p50_us"), _median(orders, "ibapi", "p99_us")
        for level in ("pa", "pa_wait", "pa_core"):
            p50, p99 = _median(orders, level, "p50_us"), _median(orders, level, "p99_us")
            worst = _median(orders, level, "max_us")
            if p50 and p99 and worst and ref50 and ref99:
                out.append(f"- {version}: order round trip, {level}: p50 {p50 / ref50:.2f}x stock ibapi -> "
                           f"{_verdict(p50 <= 1.1 * ref50)}; p99 {p99 / ref99:.2f}x -> {_verdict(p99 <= 1.5 * ref99)}"
                           f"; max {worst / 1000:.2f} ms -> {_verdict(worst <= 5000)}")
        fills = _load(f"fill_rtt_{version}")
        p99, before = _median(fills, "pa", "p99_us"), _median(fills, "pa@before", "p99_us")
        if p99 and before:
            out.append(f"- {version}: fill round trip (to on_fill), pa p99 {p99:.0f} us against {before:.0f} us at "
                       f"{fills.get('baseline', 'the baseline')} -> {_verdict(p99 <= before)}")
    memory = _load(f"memory_{versions[0]}")
    if memory.get("runs"):
        worst_growth = max(abs(r["growth_pct"]) for r in memory["runs"])
        rng = max(r["range_pct"] for r in memory["runs"])
        out.append(f"- {versions[0]}: RSS flat within 5% after warm-up (pa, 1,000 lines): growth {worst_growth:.2f}%, "
                   f"range {rng:.2f}% -> {_verdict(worst_growth <= 5 and rng <= 5)}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="short runs (smoke test of the scripts)")
    parser.add_argument("--server-versions", default=f"{default_server_version()},176")
    parser.add_argument("--summary-only", action="store_true", help="rebuild summary.md from the results there")
    args = parser.parse_args()
    versions = [int(v) for v in args.server_versions.split(",")]
    started = time.monotonic()
    names = []
    for script, name, full, quick, every_version in BENCHES:
        for version in versions if every_version else versions[:1]:
            names.append(f"{name}_{version}")
            if args.summary_only:
                continue
            print(f"== {script} at {version}", file=sys.stderr, flush=True)
            subprocess.run([sys.executable, str(ROOT / "scripts" / script), "--server-version", str(version),
                            *(quick if args.quick else full)], cwd=ROOT, check=False, stdout=subprocess.DEVNULL)
    elapsed = time.monotonic() - started
    kind = "summary of the results in bench/results" if args.summary_only else (
        f"{'quick' if args.quick else 'full'} run, {elapsed:.0f} s")
    parts = [f"## Benchmark results ({kind})\n",
             ("Each table below has the machine line of its own run.\n" if args.summary_only else
              f"Machine: {machine_line(machine_info())}\n"), "Targets (ratios within this run):\n",
             *targets(versions), ""]
    for name in names:
        path = RESULTS / f"{name}.md"
        if path.exists():
            table, _, machine = path.read_text().partition("\n\nMachine:")
            parts.append(table + "\n\nMachine:" + machine if args.summary_only else table + "\n")
    (RESULTS / "summary.md").write_text("\n".join(parts))
    print((RESULTS / "summary.md").read_text())


if __name__ == "__main__":
    main()
