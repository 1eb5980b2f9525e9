"""The last hand-off of an order's round trip: from the status callback's ``Event.set`` until the
strategy thread blocked on that Event runs again, split by whether the scheduler woke it on the
CPU the callback ran on or on the other one.

Orders as in ``bench_order_rtt.py`` (sequential LMT orders, back to back); the callback records
the CPU it runs on (``sched_getcpu``) and the time just before ``Event.set``; the caller records
the time and its CPU as it wakes. ``pa``'s callback runs on the adapter's event thread
(``orders.on_order_status``), stock ibapi's on its ``run`` thread (``EWrapper.orderStatus``).
A wake-up across CPUs costs more where an idle virtual CPU must be woken first (a VM's halted
vCPU): this shows how much, and how often each client meets it.

    python scripts/bench_wake.py [--server-version 226] [--orders 2000] [--warmup 200] [--runs 3]
"""

from __future__ import annotations

import argparse
import ctypes
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_clients import connect_client  # noqa: E402
from bench_common import (  # noqa: E402
    add_cpu_wake,
    add_server_version,
    apply_cpu_wake,
    cpu_wake_suffix,
    emit,
    fmt_runs,
    percentile,
    protocol,
    run_interleaved,
    sim_process,
    summarize,
    write_results,
)

CLIENTS = ("pa", "ibapi")
METRICS = ("same_cpu_share", "same_p50_us", "other_p50_us", "all_p50_us")
SUBMITTED = "Submitted"


def worker(name: str, port: int, client_id: int, orders: int, warmup: int) -> None:
    getcpu = ctypes.CDLL(None).sched_getcpu  # Linux (glibc)
    perf = time.perf_counter_ns
    client = connect_client(name, port, client_id)
    woke = threading.Event()
    seen: dict[str, int] = {}

    def on_status(_order_id: int, status: str) -> None:
        if status == SUBMITTED:
            seen["cpu"] = getcpu()
            seen["set"] = perf()
            woke.set()

    client.on_status = on_status
    same: list[float] = []
    other: list[float] = []
    order_id = client.next_id + 10
    for i in range(warmup + orders):
        woke.clear()
        seen.clear()
        order_id += 1
        client.place_order(order_id, 100.0 + (i % 50) * 0.01)
        if not woke.wait(10):
            raise RuntimeError(f"{name}: order {order_id} not acknowledged")
        t, cpu = perf(), getcpu()
        if i >= warmup:
            (same if cpu == seen["cpu"] else other).append((t - seen["set"]) / 1000)
    client.disconnect()
    emit({"client": name, "same_cpu_share": len(same) / orders,
          "same_p50_us": percentile(same, 50) if same else None,
          "other_p50_us": percentile(other, 50) if other else None,
          "all_p50_us": percentile(same + other, 50)})


def render(version: int, orders: int, runs: int, stats: dict[str, dict[str, Any]], errors: dict[str, str]) -> str:
    lines = ["| client | callback thread | caller woken on the same CPU | p50 us, same CPU | p50 us, the other CPU "
             "| p50 us, all |", "|---|---|---|---|---|---|"]
    thread = {"pa": "the adapter's event thread", "ibapi": "ibapi's run thread"}
    for name in CLIENTS:
        s = stats.get(name)
        if not s:
            lines.append(f"| {name} | error | | | | |")
            continue
        share, same_p50, other_p50, all_p50 = (s[m] for m in METRICS)
        lines.append(f"| {name} | {thread[name]} | {fmt_runs(share['runs'], 0.01)}% | "
                     f"{fmt_runs(same_p50['runs'], 1, 1)} | {fmt_runs(other_p50['runs'], 1, 1)} | "
                     f"{fmt_runs(all_p50['runs'], 1, 1)} |")
    errs = [f"- {name}: {text[-300:]}" for name, text in errors.items()]
    return (f"### The caller's wake-up at server version {version} ({protocol(version)}): status callback's "
            "Event.set -> strategy thread running\n\n"
            f"{orders:,} sequential LMT orders (back to back) per run, {runs} runs (a fresh process per client and "
            "run, clients interleaved); each cell lists every run.\n\n" + "\n".join(lines)
            + ("\n\nErrors:\n\n" + "\n".join(errs) if errs else ""))


def main() -> None:
    parser = argparse.ArgumentParser()
    add_server_version(parser)
    add_cpu_wake(parser)
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--worker", nargs=5, metavar=("CLIENT", "PORT", "CLIENT_ID", "ORDERS", "WARMUP"))
    args = parser.parse_args()
    if args.worker:
        name, port, cid, orders, warmup = args.worker
        worker(name, int(port), int(cid), int(orders), int(warmup))
        return
    apply_cpu_wake(args)
    with sim_process(server_version=args.server_version, tick_interval=3600.0, pacing=False, seed=5) as sim:
        per_run, errors = run_interleaved(
            "bench_wake.py", CLIENTS, args.runs, 500,
            lambda cid: [str(sim.port), str(cid), str(args.orders), str(args.warmup)],
            timeout=120 + args.orders * 0.05,
            describe=lambda res: f"same CPU {res['same_cpu_share']:.0%} all p50 {res['all_p50_us']:.1f} us")
    stats = {name: {m: summarize([r[m] for r in results if r[m] is not None]) for m in METRICS}
             for name, results in per_run.items() if results}
    table = render(args.server_version, args.orders, args.runs, stats, errors)
    path = write_results(f"wake_{args.server_version}{cpu_wake_suffix(args)}", {
        "server_version": args.server_version, "orders": args.orders, "runs": args.runs, "per_run": per_run,
        "stats": stats, "errors": errors}, table)
    print(path.read_text())


if __name__ == "__main__":
    main()
