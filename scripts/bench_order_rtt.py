"""Benchmark 2: order round trip, placeOrder -> first orderStatus callback, 2,000 sequential orders.

Limit BUY orders far below the market (they rest, no fills). The adapter's token bucket is raised
out of the way (rate and capacity 1e9) and the simulator runs with pacing off; ibapi and ib_async
have no throttle. Each RTT is measured from just before the place call to the status callback
(timestamped inside the callback, so the waiting thread's wake-up is not counted for anyone); for
pa the first status the gateway reported (the adapter's own PendingSubmit after sending is skipped).
"+ gc.freeze()" rows: pa with ``ib_connection.gc_freeze: true``, pa_core with gc.freeze() after connect.
Separately: the TokenBucket's cost per acquire() under the limit (50/s bucket, 40 acquires).

    .venv/bin/python scripts/bench_order_rtt.py [--orders 2000] [--runs 3]
"""

from __future__ import annotations

import argparse
import gc
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_clients import connect_client  # noqa: E402
from bench_common import emit, percentile, run_worker, sim_process, summarize, write_results  # noqa: E402

CLIENT_ORDER = ("pa_core", "pa", "ibapi", "ib_async")


def worker(name: str, port: int, client_id: int, orders: int, freeze: bool) -> None:
    if freeze and name == "pa":  # the facade's own option (ib_connection.gc_freeze)
        client = connect_client(name, port, client_id, **{"ib_connection.gc_freeze": True})
    else:
        client = connect_client(name, port, client_id)
    got = threading.Event()
    first: dict[int, float] = {}

    def on_status(order_id: int, _status: str) -> None:
        if order_id not in first:
            first[order_id] = time.perf_counter()
            got.set()

    client.on_status = on_status
    if freeze and name != "pa":
        gc.collect()
        gc.freeze()
    next_id = max(client.next_id, 1) + 10
    rtts: list[float] = []
    warmup = 50
    for i in range(orders + warmup):
        got.clear()
        t0 = time.perf_counter()
        placed = client.place_order(next_id + i, 1.0 + (i % 50) / 100)
        if name == "ib_async":
            order_id = client.ib.trades()[-1].order.orderId
        else:
            order_id = placed if name.partition("+")[0] == "pa" else next_id + i
        deadline = time.monotonic() + 10
        while order_id not in first:
            if time.monotonic() > deadline:
                raise RuntimeError(f"no orderStatus for order {order_id}")
            client.wait(got, 1)
            got.clear()
        if i >= warmup:
            rtts.append((first[order_id] - t0) * 1e6)
    emit({"client": name, "orders": orders, "gc_freeze": freeze, "p50_us": percentile(rtts, 50),
          "p99_us": percentile(rtts, 99), "max_us": max(rtts), "mean_us": sum(rtts) / len(rtts)})
    client.disconnect()


def limiter_cost() -> dict[str, float]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from platform_adapter.utils.rate_limiter import TokenBucket  # noqa: PLC0415

    bucket = TokenBucket(50, 50)
    costs = []
    for _ in range(40):
        t0 = time.perf_counter()
        waited = bucket.acquire()
        costs.append((time.perf_counter() - t0) * 1e6)
        assert waited == 0.0
    return {"p50_us": percentile(costs, 50), "max_us": max(costs), "waits": bucket.waits}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--clients", default=",".join(CLIENT_ORDER))
    parser.add_argument("--worker", nargs=5, metavar=("CLIENT", "PORT", "CLIENT_ID", "ORDERS", "FREEZE"))
    args = parser.parse_args()
    if args.worker:
        name, port, cid, orders, freeze = args.worker
        worker(name, int(port), int(cid), int(orders), freeze == "1")
        return
    clients = args.clients.split(",")
    variants = [(c, False) for c in clients] + [(c, True) for c in ("pa_core", "pa") if c in clients]
    variants += [(c + "+reader", False) for c in ("pa_core", "pa") if c in clients]
    results: dict[str, dict[str, list[float]]] = {}
    errors: dict[str, str] = {}
    client_id = 200
    with sim_process(tick_interval=3600.0, pacing=False, seed=5) as sim:
        for _ in range(args.runs):
            for name, freeze in variants:
                key = name + (" + gc.freeze()" if freeze else "")
                client_id += 1
                res = run_worker("bench_order_rtt.py", [name, str(sim.port), str(client_id), str(args.orders),
                                                        "1" if freeze else "0"], timeout=300)
                if "error" in res:
                    errors[key] = res["error"]
                    print(key, "ERROR", res["error"][-400:], file=sys.stderr)
                    continue
                slot = results.setdefault(key, {"p50_us": [], "p99_us": [], "max_us": []})
                for metric in slot:
                    slot[metric].append(res[metric])
                print(f"{key:22s} p50 {res['p50_us']:8.1f} p99 {res['p99_us']:8.1f} max {res['max_us']:9.1f} us",
                      file=sys.stderr)
    stats = {k: {m: summarize(v) for m, v in r.items()} for k, r in results.items()}
    limiter = limiter_cost()
    ref_p50 = stats.get("ibapi", {}).get("p50_us", {}).get("median")
    ref_p99 = stats.get("ib_async", {}).get("p99_us", {}).get("median")
    lines = ["| client | p50 us (min-max) | p99 us (min-max) | max us (median) | p50 / ibapi | p99 / ib_async |",
             "|---|---|---|---|---|---|"]
    for key, s in stats.items():
        p50, p99, mx = s["p50_us"], s["p99_us"], s["max_us"]
        r50 = f"{p50['median'] / ref_p50:.2f}" if ref_p50 else "n/a"
        r99 = f"{p99['median'] / ref_p99:.2f}" if ref_p99 else "n/a"
        lines.append(f"| {key} | {p50['median']:.0f} ({p50['min']:.0f}-{p50['max']:.0f}) | {p99['median']:.0f} "
                     f"({p99['min']:.0f}-{p99['max']:.0f}) | {mx['median']:.0f} | {r50} | {r99} |")
    for key in errors:
        if key not in stats:
            lines.append(f"| {key} | error | | | | |")
    table = (f"### Order round trip, placeOrder -> orderStatus, {args.orders:,} sequential orders, "
             f"{args.runs} runs (fresh process each; medians of the runs)\n\n" + "\n".join(lines) +
             "\n\nAdapter token bucket raised to 1e9/s and simulator pacing off for this run (peers have no "
             "throttle). pa_core = IBClient.placeOrder through our ConnectionManager; pa = "
             "PlatformAdapter.orders.place_order (validation, journal, state) to its status callback with the first "
             "gateway-reported status; +reader = ib_connection.decode_on_reader: true. "
             f"TokenBucket under the limit (50/s, 40 acquires): p50 {limiter['p50_us']:.2f} us, max "
             f"{limiter['max_us']:.2f} us per acquire, {limiter['waits']} waits (never sleeps).")
    path = write_results("order_rtt", {"orders": args.orders, "runs": args.runs, "stats": stats,
                                       "limiter_under_limit": limiter, "errors": errors}, table)
    print(path.read_text())


if __name__ == "__main__":
    main()
