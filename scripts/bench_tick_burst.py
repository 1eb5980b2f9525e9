"""Benchmark 1: tick burst throughput (messages delivered to user-level callbacks per second).

The simulator (own process) sends N pre-encoded tickPrice/tickSize frames in one ``sendall``
(its burst mode); each client, in a fresh process, counts every tick message at its callback
level. Throughput = (N - 1) / (time of the N-th message - time of the first). Runs of the
clients are interleaved; the result is the median of the runs with the spread.

    .venv/bin/python scripts/bench_tick_burst.py [--n 200000] [--runs 5]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_clients import CLIENTS  # noqa: E402
from bench_common import control, emit, run_worker, sim_process, summarize, write_results  # noqa: E402

CLIENT_ORDER = ("pa_core", "pa", "ibapi", "ib_async")


def worker(name: str, port: int, control_port: int, client_id: int, n: int) -> None:
    client = CLIENTS[name]()
    client.connect(port, client_id)
    client.subscribe("AAPL")
    deadline = time.monotonic() + 20
    while control(control_port, f"subs {client_id}").split()[1] == "0":
        if time.monotonic() > deadline:
            raise RuntimeError("subscription never reached the simulator")
        time.sleep(0.02)
    settled = threading.Event()
    last = -1
    while last != client.counter.n:  # wait until the initial snapshot has been delivered
        last = client.counter.n
        client.wait(settled, 0.3)
    counter = client.counter
    counter.arm(n)
    errors: list[str] = []

    def burst() -> None:
        try:
            control(control_port, f"burst {client_id} {n}")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))

    sender = threading.Thread(target=burst, daemon=True)
    sender.start()
    if not client.wait(counter.done, 120):
        raise RuntimeError(f"only {counter.n} messages arrived {errors}")
    t_end = counter.t_last
    if name == "pa":
        client.pa.events.wait_idle(10)
        t_end = max(t_end, client.last_quote_at)
    sender.join(30)
    seconds = t_end - counter.t_first
    emit({"client": name, "n": n, "seconds": seconds, "msg_per_s": (n - 1) / seconds,
          "user_callbacks": getattr(client, "quotes", None)})
    client.disconnect()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--clients", default=",".join(CLIENT_ORDER))
    parser.add_argument("--worker", nargs=5, metavar=("CLIENT", "PORT", "CONTROL", "CLIENT_ID", "N"))
    args = parser.parse_args()
    if args.worker:
        name, port, ctl, cid, n = args.worker
        worker(name, int(port), int(ctl), int(cid), int(n))
        return
    clients = args.clients.split(",")
    runs: dict[str, list[float]] = {c: [] for c in clients}
    errors: dict[str, str] = {}
    client_id = 100
    with sim_process(tick_interval=3600.0, pacing=False, seed=3) as sim:
        for _ in range(args.runs):
            for name in clients:
                client_id += 1
                res = run_worker("bench_tick_burst.py", [name, str(sim.port), str(sim.control_port),
                                                         str(client_id), str(args.n)])
                if "error" in res:
                    errors[name] = res["error"]
                    print(name, "ERROR", res["error"][-300:], file=sys.stderr)
                    continue
                runs[name].append(res["msg_per_s"])
                print(f"{name:9s} {res['msg_per_s']:>12,.0f} msg/s", file=sys.stderr)
    stats = {name: summarize(values) for name, values in runs.items()}
    base = stats.get("ib_async", {}).get("median")
    lines = ["| client | median msg/s | min | max | slowest/fastest | x ib_async |", "|---|---|---|---|---|---|"]
    for name in clients:
        s = stats[name]
        if not s["runs"]:
            lines.append(f"| {name} | error | | | | |")
            continue
        ratio = f"{s['median'] / base:.2f}" if base else "n/a"
        lines.append(f"| {name} | {s['median']:,.0f} | {s['min']:,.0f} | {s['max']:,.0f} | "
                     f"{s['min'] / s['max']:.2f} | {ratio} |")
    table = (f"### Tick burst, N = {args.n:,} tickPrice/tickSize messages, {args.runs} runs per client "
             f"(fresh process each)\n\n" + "\n".join(lines) +
             "\n\nSimulator burst mode in its own process (pre-encoded, one sendall); rate = (N-1) / "
             "(last - first message at the client's callback level). pa_core = our ConnectionManager "
             "(reader, dispatcher, fast path) into Wrapper events; pa = full PlatformAdapter with "
             "subscribe_quotes (conflated user callback; the time includes the last user callback).")
    path = write_results("tick_burst", {"n": args.n, "runs": args.runs, "stats": stats, "errors": errors}, table)
    print(path.read_text())


if __name__ == "__main__":
    main()
