"""Benchmark 5: tick-to-callback latency at a steady 20,000 msg/s.

The simulator process streams tickPrice(BID) frames in 1 ms batches whose price is the send time
(``time.monotonic_ns() / 1000``, a clock shared by all processes); each client computes
``now - price`` in its callback. pa_core: our Wrapper event on the dispatcher thread; pa: the
user's quote callback (``subscribe_quotes``, conflated, on the event thread); ibapi: its
EWrapper.tickPrice; ib_async: its wrapper tick (the ticker update).

    python scripts/bench_latency.py [--server-version 226] [--rate 20000] [--seconds 6] [--runs 3]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_clients import connect_client  # noqa: E402
from bench_common import (  # noqa: E402
    add_server_version,
    control,
    emit,
    percentile,
    protocol,
    run_worker,
    sim_process,
    summarize,
    wait_subscribed,
    write_results,
)

CLIENT_ORDER = ("pa_core", "pa", "ibapi", "ib_async")
WARMUP_S = 1.0


def worker(name: str, port: int, control_port: int, client_id: int, rate: int, seconds: float) -> None:
    client = connect_client(name, port, client_id)
    samples: list[float] = []
    start_at = [float("inf")]

    def record(price: float) -> None:
        now = time.monotonic_ns() / 1000.0
        if price > 1e6 and now >= start_at[0]:
            samples.append(now - price)

    if name.partition("+")[0] == "pa":
        client.on_quote_bid = record
    else:
        client.on_tick_price = lambda _req, tick_type, price: record(price) if tick_type == 1 else None
    client.subscribe("AAPL")
    wait_subscribed(control_port, client_id)
    start_at[0] = time.monotonic_ns() / 1000.0 + WARMUP_S * 1e6
    done = threading.Event()
    reply: list[str] = []

    def stream() -> None:
        reply.append(control(control_port, f"stream {client_id} {rate} {seconds}", timeout=seconds + 60))
        done.set()

    threading.Thread(target=stream, daemon=True).start()
    client.wait(done, seconds + 60)
    settle = threading.Event()
    client.wait(settle, 0.3)
    sent = int(reply[0].split()[1]) if reply else 0
    emit({"client": name, "rate": rate, "sent": sent, "samples": len(samples), "p50_us": percentile(samples, 50),
          "p99_us": percentile(samples, 99), "max_us": max(samples) if samples else None})
    client.disconnect()


def main() -> None:
    parser = argparse.ArgumentParser()
    add_server_version(parser)
    parser.add_argument("--rate", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--clients", default=",".join(CLIENT_ORDER))
    parser.add_argument("--worker", nargs=6, metavar=("CLIENT", "PORT", "CONTROL", "CLIENT_ID", "RATE", "SECONDS"))
    args = parser.parse_args()
    if args.worker:
        name, port, ctl, cid, rate, seconds = args.worker
        worker(name, int(port), int(ctl), int(cid), int(rate), float(seconds))
        return
    clients = args.clients.split(",")
    results: dict[str, dict[str, list[float]]] = {}
    errors: dict[str, str] = {}
    client_id = 400
    with sim_process(server_version=args.server_version, tick_interval=3600.0, pacing=False, seed=9) as sim:
        for _ in range(args.runs):
            for name in clients:
                client_id += 1
                res = run_worker("bench_latency.py", [name, str(sim.port), str(sim.control_port), str(client_id),
                                                      str(args.rate), str(args.seconds)], timeout=args.seconds + 120)
                if "error" in res or not res.get("samples"):
                    errors[name] = res.get("error", "no samples")
                    print(name, "ERROR", errors[name][-400:], file=sys.stderr)
                    continue
                slot = results.setdefault(name, {"p50_us": [], "p99_us": [], "max_us": []})
                for metric in slot:
                    slot[metric].append(res[metric])
                print(f"{name:9s} p50 {res['p50_us']:8.1f} p99 {res['p99_us']:8.1f} us ({res['samples']} samples)",
                      file=sys.stderr)
    stats = {k: {m: summarize(v) for m, v in r.items()} for k, r in results.items()}
    lines = ["| client | p50 us (min-max) | p99 us (min-max) | max us (median) |", "|---|---|---|---|"]
    for key, s in stats.items():
        p50, p99, mx = s["p50_us"], s["p99_us"], s["max_us"]
        lines.append(f"| {key} | {p50['median']:.0f} ({p50['min']:.0f}-{p50['max']:.0f}) | {p99['median']:.0f} "
                     f"({p99['min']:.0f}-{p99['max']:.0f}) | {mx['median']:.0f} |")
    table = (f"### Tick-to-callback latency at server version {args.server_version} ({protocol(args.server_version)}), "
             f"a steady {args.rate:,} msg/s ({args.seconds:g} s per run, first "
             f"{WARMUP_S:g} s discarded, {args.runs} runs, fresh process each)\n\n" + "\n".join(lines) +
             "\n\nSender: simulator process, 1 ms batches stamped with the send time (CLOCK_MONOTONIC). "
             "pa = the user's conflated quote callback on the event thread.")
    path = write_results(f"latency_{args.server_version}",
                         {"server_version": args.server_version, "rate": args.rate, "seconds": args.seconds,
                          "runs": args.runs, "stats": stats, "errors": errors}, table)
    print(path.read_text())


if __name__ == "__main__":
    main()
