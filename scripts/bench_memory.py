"""Benchmark 4: RSS of a PlatformAdapter with 1,000 streaming market-data lines over 60 s.

The simulator (own process; market-data line cap raised to 2,000, pacing off, a tick step every
0.25 s) streams quotes on 1,000 lines: ``subscribe_quotes`` for the simulator's stock, ETF and
forex symbols plus raw ``reqMktData`` lines through the adapter's connection for the rest (the
simulator's universe has only a few contracts). The adapter's max_simultaneous_subscriptions
and token bucket are raised for this run. RSS is sampled once a second; after the warm-up it
must stay within 5%.

    .venv/bin/python scripts/bench_memory.py [--seconds 60] [--lines 1000] [--runs 1]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_clients import PaClient, stock  # noqa: E402
from bench_common import emit, run_worker, sim_process, summarize, write_results  # noqa: E402

WARMUP_S = 10.0
SYMBOLS = ["AAPL", "MSFT", "TSLA", "SPY"]


def rss_bytes() -> int:
    import os  # noqa: PLC0415

    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def worker(port: int, client_id: int, lines: int, seconds: float) -> None:
    client = PaClient()
    client.connect(port, client_id, **{"market_data.max_simultaneous_subscriptions": lines + 10})
    pa = client.pa
    pa.market_data.subscribe_quotes(SYMBOLS, client.on_quote)
    conn = pa.connection.client
    for i in range(lines - len(SYMBOLS)):
        conn.reqMktData(900_000 + i, stock(SYMBOLS[i % len(SYMBOLS)]), "", False, False, [])
    samples: list[tuple[float, int]] = []
    start = time.monotonic()
    pause = threading.Event()
    while (elapsed := time.monotonic() - start) < seconds:
        samples.append((round(elapsed, 1), rss_bytes()))
        pause.wait(1.0)
    after = [rss for t, rss in samples if t >= WARMUP_S]
    first, last, low, high = after[0], after[-1], min(after), max(after)
    emit({"lines": lines, "seconds": seconds, "tick_values": pa.metrics_registry.count("md_ticks"),
          "rss_first_mb": first / 2**20,
          "rss_last_mb": last / 2**20, "rss_max_mb": high / 2**20, "growth_pct": (last - first) / first * 100,
          "range_pct": (high - low) / low * 100, "samples": samples,
          "event_stats": pa.events.stats(), "md_stats": pa.market_data.stats()})
    client.disconnect()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--lines", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--worker", nargs=4, metavar=("PORT", "CLIENT_ID", "LINES", "SECONDS"))
    args = parser.parse_args()
    if args.worker:
        port, cid, lines, seconds = args.worker
        worker(int(port), int(cid), int(lines), float(seconds))
        return
    runs = []
    errors = []
    with sim_process(tick_interval=0.25, pacing=False, seed=13, max_market_data_lines=args.lines + 1000) as sim:
        for r in range(args.runs):
            res = run_worker("bench_memory.py", [str(sim.port), str(600 + r), str(args.lines), str(args.seconds)],
                             timeout=args.seconds + 120)
            if "error" in res:
                errors.append(res["error"])
                print("ERROR", res["error"][-600:], file=sys.stderr)
                continue
            runs.append(res)
            print(f"RSS {res['rss_first_mb']:.1f} -> {res['rss_last_mb']:.1f} MB (max {res['rss_max_mb']:.1f}), "
                  f"growth {res['growth_pct']:+.2f}%, range {res['range_pct']:.2f}%, {res['ticks']:,} ticks",
                  file=sys.stderr)
    growth = summarize([r["growth_pct"] for r in runs])
    rng = summarize([r["range_pct"] for r in runs])
    lines = ["| run | lines | tick messages | RSS after warm-up (MB) | RSS at end (MB) | max (MB) | growth | range |",
             "|---|---|---|---|---|---|---|---|"]
    for i, run in enumerate(runs, 1):
        lines.append(f"| {i} | {run['lines']} | {run['ticks']:,} | {run['rss_first_mb']:.1f} | "
                     f"{run['rss_last_mb']:.1f} | {run['rss_max_mb']:.1f} | {run['growth_pct']:+.2f}% | "
                     f"{run['range_pct']:.2f}% |")
    if errors:
        lines.append(f"| error | {errors[-1][-200:]!r} | | | | | | |")
    table = (f"### Memory: RSS with {args.lines:,} streaming lines over {args.seconds:g} s (first {WARMUP_S:g} s "
             "= warm-up)\n\n" + "\n".join(lines) +
             "\n\nSimulator line cap and the adapter's max_simultaneous_subscriptions raised for this run; "
             "simulator pacing off, adapter token bucket raised (1,000 requests at start-up).")
    path = write_results("memory", {"lines": args.lines, "seconds": args.seconds, "runs": runs,
                                    "growth_pct": growth, "range_pct": rng, "errors": errors}, table)
    print(path.read_text())


if __name__ == "__main__":
    main()
