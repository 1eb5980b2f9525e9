"""Order round trip as a strategy waits for it: from the place call until the calling thread wakes
with the order's status Submitted.

Limit BUY orders far below the market (they rest, no fills), placed one after another by the
main thread. Each order is timed from just before the place call until the calling thread,
blocked on a ``threading.Event`` that the client's status callback sets once it has seen
Submitted for that order, runs again (``perf_counter`` on the calling thread after the wake-up;
not a timestamp inside the callback, not the first status of any kind):

* ``pa``: ``orders.place_order`` + ``orders.on_order_status`` (the callback runs on the event thread);
* ``pa_wait``: ``orders.place_order_and_wait(wait_for=["Submitted"])`` (timed until it returns);
* ``pa_core``: ``IBClient.placeOrder`` through our ConnectionManager, the ``Wrapper``'s
  ``order_status`` event (on the decoding thread) sets the Event;
* ``ibapi``: stock ``EClient.placeOrder``, ``EWrapper.orderStatus`` (on its ``run`` thread) sets the Event;
* ``ib_async``: ``IB.placeOrder`` then its own idiom, ``ib.waitOnUpdate()`` until
  ``trade.orderStatus.status == "Submitted"`` (one thread, asyncio), request throttle off.

The simulator runs in its own process at ``--server-version`` (default ibapi's MAX_CLIENT_VER:
binary ids and protobuf; 176: text); every client negotiates it, ib_async at most 178. Adapter
token bucket raised out of the way (1e9/s) and the simulator's pacing off. Each run starts one
fresh process per client (clients interleaved); every run is reported.

``--switch-interval S`` sets ``sys.setswitchinterval(S)`` in every client process (the GIL
experiment); ``--spacing S`` places one order every S seconds instead of back to back (as a
strategy that trades now and then: every thread and the CPU are idle, caches cold, when the order
comes); ``--name`` names the results file (``<name>_<version>``); ``--baseline SRC`` runs the
clients named ``NAME@before`` (e.g. ``pa@before``) from another source tree (an A/B in one run).

    python scripts/bench_order_rtt.py [--server-version 226] [--orders 2000] [--warmup 100] [--runs 5]
        [--clients pa,pa_wait,pa_core,ibapi,ib_async] [--switch-interval 0.005] [--spacing 0.04]
        [--name order_rtt]
"""

from __future__ import annotations

import argparse
import gc
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
    negotiated,
    percentile,
    protocol,
    ratio,
    run_interleaved,
    sim_process,
    summarize,
    write_results,
)

CLIENT_ORDER = ("pa", "pa_wait", "pa_core", "ibapi", "ib_async")
SUBMITTED = "Submitted"
METRICS = ("p50_us", "p99_us", "max_us", "mean_us", "call_p50_us", "call_p99_us")
TIMEOUT_S = 10.0


def _price(i: int) -> float:
    return 1.0 + (i % 50) / 100  # far below the market: the order rests


def worker(name: str, port: int, client_id: int, orders: int, warmup: int, switch_interval: float,
           spacing: float) -> None:
    if switch_interval:
        sys.setswitchinterval(switch_interval)
    client = connect_client(name, port, client_id)
    submitted: set[int] = set()
    woke = threading.Event()

    def on_status(order_id: int, status: str) -> None:
        if status == SUBMITTED:
            submitted.add(order_id)
            woke.set()

    client.on_status = on_status
    base = name.partition("+")[0]
    next_id = max(client.next_id, 1) + 10
    rtts: list[float] = []
    calls: list[float] = []
    gc_before = [s["collections"] for s in gc.get_stats()]
    perf = time.perf_counter_ns
    for i in range(warmup + orders):
        if spacing:
            time.sleep(spacing)
        if base == "pa_wait":
            t0 = perf()
            client.place_order_and_wait(_price(i), SUBMITTED)
            t1 = t_call = perf()
        elif base == "ib_async":
            t0 = perf()
            trade = client.place_order(0, _price(i))
            t_call = perf()
            client.wait_status(trade, SUBMITTED)
            t1 = perf()
        else:
            t0 = perf()
            order_id = client.place_order(next_id + i, _price(i))
            t_call = perf()
            while order_id not in submitted:
                if not woke.wait(TIMEOUT_S):
                    raise RuntimeError(f"{name}: order {order_id} not Submitted within {TIMEOUT_S:g}s")
                woke.clear()
            t1 = perf()
        if i >= warmup:
            rtts.append((t1 - t0) / 1000)
            calls.append((t_call - t0) / 1000)
    gc_runs = [s["collections"] - b for s, b in zip(gc.get_stats(), gc_before, strict=True)]
    emit({"client": name, "orders": orders, "server_version": client.server_version(),
          "switch_interval": sys.getswitchinterval(),
          "p50_us": percentile(rtts, 50), "p99_us": percentile(rtts, 99), "max_us": max(rtts),
          "mean_us": sum(rtts) / len(rtts), "call_p50_us": percentile(calls, 50),
          "call_p99_us": percentile(calls, 99), "gc_collections": gc_runs})
    client.disconnect()


def limiter_cost() -> dict[str, float]:
    from platform_adapter.utils.rate_limiter import TokenBucket  # noqa: PLC0415

    bucket = TokenBucket(50, 50)
    costs = []
    for _ in range(40):
        t0 = time.perf_counter()
        waited = bucket.acquire()
        costs.append((time.perf_counter() - t0) * 1e6)
        assert waited == 0.0
    return {"p50_us": percentile(costs, 50), "max_us": max(costs), "waits": bucket.waits}


def render(version: int, orders: int, warmup: int, runs: int, clients: list[str],
           per_run: dict[str, list[dict[str, Any]]], stats: dict[str, dict[str, Any]],
           errors: dict[str, str], limiter: dict[str, float], spacing: float = 0.0) -> str:
    ref = stats.get("ibapi", {})
    ref50 = ref.get("p50_us", {}).get("median")
    ref99 = ref.get("p99_us", {}).get("median")
    lines = ["| client | version | p50 us (median of runs) | p99 us | max us | p50 / ibapi | p99 / ibapi "
             "| place call p50 / p99 us |", "|---|---|---|---|---|---|---|---|"]
    for name in clients:
        s = stats.get(name)
        if not s:
            lines.append(f"| {name} | | error | | | | | |")
            continue
        versions = sorted({r["server_version"] for r in per_run[name]})
        p50, p99, mx = s["p50_us"]["median"], s["p99_us"]["median"], s["max_us"]["median"]
        lines.append(f"| {name} | {','.join(map(str, versions))} | {p50:.0f} | {p99:.0f} | {mx:.0f} | "
                     f"{ratio(p50, ref50)} | {ratio(p99, ref99)} | {s['call_p50_us']['median']:.0f} / "
                     f"{s['call_p99_us']['median']:.0f} |")
    every = ["| client | p50 us, each run | p99 us, each run | max us, each run | p50 spread | GC passes "
             "(generation 0/1/2) |",
             "|---|---|---|---|---|---|"]
    for name in clients:
        s = stats.get(name)
        if not s:
            continue
        gcs = ", ".join("/".join(map(str, r["gc_collections"])) for r in per_run[name])
        every.append(f"| {name} | {fmt_runs(s['p50_us']['runs'])} | {fmt_runs(s['p99_us']['runs'])} | "
                     f"{fmt_runs(s['max_us']['runs'])} | {s['p50_us']['spread_pct']:.0f}% | {gcs} |")
    targets = []
    for name in ("pa", "pa_wait"):
        s = stats.get(name)
        if not s or not ref50 or not ref99:
            continue
        p50, p99, mx = s["p50_us"]["median"], s["p99_us"]["median"], s["max_us"]["median"]
        targets.append(f"- {name}: p50 {p50 / ref50:.2f}x stock ibapi (target <= 1.1x: "
                       f"{'met' if p50 <= 1.1 * ref50 else 'MISSED'}), p99 {p99 / ref99:.2f}x "
                       f"(<= 1.5x: {'met' if p99 <= 1.5 * ref99 else 'MISSED'}), max {mx / 1000:.2f} ms "
                       f"(<= 5 ms: {'met' if mx <= 5000 else 'MISSED'})")
    errs = [f"- {name}: {text[-300:]}" for name, text in errors.items()]
    return (f"### Order round trip at server version {version} ({protocol(version)}; ib_async at "
            f"{negotiated('ib_async', version)}): place call -> calling thread awake with Submitted\n\n"
            f"{orders:,} sequential LMT orders ({f'one every {spacing * 1000:g} ms' if spacing else 'back to back'}) "
            f"after {warmup} warm-up, {runs} runs (a fresh process per client "
            f"and run, clients interleaved); figures are medians of the runs.\n\n" + "\n".join(lines) +
            "\n\nEvery run:\n\n" + "\n".join(every) +
            ("\n\nTargets (within this run):\n\n" + "\n".join(targets) if targets else "") +
            ("\n\nErrors:\n\n" + "\n".join(errs) if errs else "") +
            "\n\npa = orders.place_order, its on_order_status callback (event thread) sets the Event the "
            "caller waits on; pa_wait = orders.place_order_and_wait(wait_for=[Submitted]); pa_core = "
            "IBClient.placeOrder through our ConnectionManager, Wrapper order_status event sets the Event; "
            "ibapi = EClient.placeOrder, EWrapper.orderStatus sets the Event; ib_async = IB.placeOrder then "
            "ib.waitOnUpdate() until the trade is Submitted (throttle off). Adapter token bucket at 1e9/s, "
            "simulator pacing off. TokenBucket under its limit (50/s, 40 acquires): p50 "
            f"{limiter['p50_us']:.2f} us, max {limiter['max_us']:.2f} us per acquire, {limiter['waits']} waits.")


def main() -> None:
    parser = argparse.ArgumentParser()
    add_server_version(parser)
    add_cpu_wake(parser)
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--clients", default=",".join(CLIENT_ORDER),
                        help="comma-separated; a variant such as pa+handoff is accepted")
    parser.add_argument("--switch-interval", type=float, default=0.0,
                        help="sys.setswitchinterval in every client process (seconds; default: Python's 0.005)")
    parser.add_argument("--spacing", type=float, default=0.0,
                        help="seconds between orders (default 0: back to back)")
    parser.add_argument("--name", default="order_rtt", help="results file name (the server version is appended)")
    parser.add_argument("--baseline", default="",
                        help="another source tree's src, for clients named NAME@before (e.g. pa@before)")
    parser.add_argument("--worker", nargs=7,
                        metavar=("CLIENT", "PORT", "CLIENT_ID", "ORDERS", "WARMUP", "SWITCH", "SPACING"))
    args = parser.parse_args()
    if args.worker:
        name, port, cid, orders, warmup, switch, spacing = args.worker
        worker(name, int(port), int(cid), int(orders), int(warmup), float(switch), float(spacing))
        return
    apply_cpu_wake(args)
    clients = args.clients.split(",")
    timeout = 120 + args.orders * (0.05 + args.spacing)
    with sim_process(server_version=args.server_version, tick_interval=3600.0, pacing=False, seed=5) as sim:
        per_run, errors = run_interleaved(
            "bench_order_rtt.py", clients, args.runs, 200,
            lambda cid: [str(sim.port), str(cid), str(args.orders), str(args.warmup), str(args.switch_interval),
                         str(args.spacing)],
            args.baseline, timeout,
            lambda res: (f"v{res['server_version']} p50 {res['p50_us']:7.0f} p99 {res['p99_us']:7.0f} max "
                         f"{res['max_us']:7.0f} us (call p50 {res['call_p50_us']:.0f})"))
    stats = {name: {m: summarize([r[m] for r in results]) for m in METRICS}
             for name, results in per_run.items() if results}
    limiter = limiter_cost()
    table = render(args.server_version, args.orders, args.warmup, args.runs, clients, per_run, stats, errors, limiter,
                   args.spacing)
    if args.switch_interval:
        table = table.replace("\n\n", f" (sys.setswitchinterval({args.switch_interval:g}) in every client)\n\n", 1)
    path = write_results(f"{args.name}{cpu_wake_suffix(args)}_{args.server_version}", {
        "server_version": args.server_version, "switch_interval": args.switch_interval or sys.getswitchinterval(),
        "orders": args.orders, "warmup": args.warmup, "runs": args.runs, "spacing": args.spacing,
        "per_run": per_run, "stats": stats, "limiter_under_limit": limiter, "errors": errors}, table)
    print(path.read_text())


if __name__ == "__main__":
    main()
