"""Benchmark 1: tick burst throughput (messages delivered to user-level callbacks per second).

The simulator (own process) sends N pre-encoded tickPrice/tickSize frames in one ``sendall``
(its burst mode); each client, in a fresh process, counts every tick message at its callback
level. Throughput = (N - 1) / (time of the N-th message - time of the first). ``pa`` delivers
conflated quotes to its user callback, so it counts messages with ``Quote.updates``: the messages
between the first delivery that shows part of the burst and the one that shows all of it, over
the time between those two callbacks. Runs of the clients are interleaved (a fresh process per
client and run); every run is reported, with the median and the slowest/fastest ratio.

The simulator process runs at ``--server-version`` (default ibapi's MAX_CLIENT_VER: binary ids,
protobuf ticks; 176: text); every client negotiates it, ib_async at most 178.

    python scripts/bench_tick_burst.py [--server-version 226] [--n 200000] [--runs 5]
"""

from __future__ import annotations

import argparse
import gc
import resource
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
    fmt_runs,
    negotiated,
    protocol,
    run_interleaved,
    sim_process,
    summarize,
    wait_subscribed,
    write_results,
)

from platform_adapter.utils.heap import GcWatch  # noqa: E402

CLIENT_ORDER = ("pa_core", "pa", "ibapi", "ib_async")


def burst_updates(k: int) -> int:
    """Tick values in the first ``k`` burst messages: the simulator alternates tickPrice (a price
    and its size: two values) and tickSize (one), starting with a tickPrice."""
    return k + (k + 1) // 2


def burst_messages(updates: int) -> int:
    """The number of burst messages whose values make up ``updates`` (the inverse of burst_updates,
    rounded down to whole messages)."""
    k = (2 * updates) // 3
    while burst_updates(k + 1) <= updates:
        k += 1
    while k and burst_updates(k) > updates:
        k -= 1
    return k


def cpu_probe() -> float:
    """Milliseconds for a fixed piece of pure-Python work: how fast this CPU runs the interpreter
    just now (a vCPU shared with other guests slows down at times; its burst then does too)."""
    started = time.perf_counter()
    x = 0
    for i in range(300_000):
        x += i & 7
    return (time.perf_counter() - started) * 1000


def worker(name: str, port: int, control_port: int, client_id: int, n: int) -> None:
    client = connect_client(name, port, client_id)
    pa = name.startswith("pa+") or name == "pa"
    client.subscribe("AAPL")
    wait_subscribed(control_port, client_id)
    settled = threading.Event()
    progress = (lambda: client.updates) if pa else (lambda: client.counter.n)
    last = -1
    while last != progress():  # wait until the initial snapshot has been delivered
        last = progress()
        client.wait(settled, 0.3)
    counter = client.counter
    counter.arm(n)
    if pa:
        base, target = client.updates, client.updates + burst_updates(n)
        client.seen = []
    errors: list[str] = []

    def burst() -> None:
        try:
            control(control_port, f"burst {client_id} {n}")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))

    probe_before = cpu_probe()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    collector = GcWatch()  # the passes during the burst
    gc.callbacks.append(collector)
    sender = threading.Thread(target=burst, daemon=True)
    sender.start()
    if pa:
        # Conflated deliveries: count messages by Quote.updates, from the first delivery that shows
        # part of the burst to the one that shows all of it (both timed in the user callback).
        deadline = time.monotonic() + 120
        while client.updates < target:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {client.updates - base} of {target - base} tick values arrived {errors}")
            client.wait(settled, 0.05)
        t_first, first_updates = next((t, u) for t, u in client.seen if u > base)
        t_end = next(t for t, u in client.seen if u >= target)
        done_before = burst_messages(first_updates - base)
        count = n - done_before
    else:
        if not client.wait(counter.done, 120):
            raise RuntimeError(f"only {counter.n} messages arrived {errors}")
        t_first, t_end, count = counter.t_first, counter.t_last, n - 1
    sender.join(30)
    gc.callbacks.remove(collector)
    after = resource.getrusage(resource.RUSAGE_SELF)
    probe_after = cpu_probe()
    seconds = t_end - t_first
    emit({"client": name, "n": n, "seconds": seconds, "msg_per_s": count / seconds,
          "server_version": client.server_version(), "user_callbacks": len(client.seen) if pa else None,
          "gc_collections": collector.passes, "gc_pause_ms": collector.total_ms,
          "cpu_s": after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime,
          "switches": [after.ru_nvcsw - usage.ru_nvcsw, after.ru_nivcsw - usage.ru_nivcsw],
          "cpu_probe_ms": [probe_before, probe_after]})
    client.disconnect()


def main() -> None:
    parser = argparse.ArgumentParser()
    add_server_version(parser)
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--clients", default=",".join(CLIENT_ORDER))
    parser.add_argument("--baseline", default="",
                        help="another source tree's src, for clients named NAME@before (e.g. pa@before)")
    parser.add_argument("--worker", nargs=5, metavar=("CLIENT", "PORT", "CONTROL", "CLIENT_ID", "N"))
    args = parser.parse_args()
    if args.worker:
        name, port, ctl, cid, n = args.worker
        worker(name, int(port), int(ctl), int(cid), int(n))
        return
    clients = args.clients.split(",")
    with sim_process(server_version=args.server_version, tick_interval=3600.0, pacing=False, seed=3) as sim:
        per_run, errors = run_interleaved(
            "bench_tick_burst.py", clients, args.runs, 100,
            lambda cid: [str(sim.port), str(sim.control_port), str(cid), str(args.n)], args.baseline,
            describe=lambda res: f"v{res['server_version']} {res['msg_per_s']:>12,.0f} msg/s")
    runs = {name: [res["msg_per_s"] for res in results] for name, results in per_run.items()}
    stats = {name: summarize(values) for name, values in runs.items()}
    base = stats.get("ib_async", {}).get("median")
    lines = ["| client | median msg/s | every run, msg/s | slowest/fastest | x ib_async (median) |",
             "|---|---|---|---|---|"]
    targets = []
    for name in clients:
        s = stats[name]
        if not s["runs"]:
            lines.append(f"| {name} | error | | | |")
            continue
        ratio = s["median"] / base if base else None
        lines.append(f"| {name} | {s['median']:,.0f} | {fmt_runs(s['runs'])} | {s['min_over_max']:.2f} | "
                     f"{f'{ratio:.2f}' if ratio else 'n/a'} |")
        if name.startswith("pa") and ratio:
            targets.append(f"- {name}: {ratio:.2f}x ib_async at the median (target >= 3x: "
                           f"{'met' if ratio >= 3 else 'MISSED'}); slowest run {s['min_over_max']:.2f}x the "
                           f"fastest (>= 0.8: {'met' if s['min_over_max'] >= 0.8 else 'MISSED'})")
    gc_lines = [f"- {name}: " + ", ".join(f"{'/'.join(map(str, res['gc_collections']))} ({res['gc_pause_ms']:.1f} ms)"
                                          for res in per_run[name]) for name in clients if per_run.get(name)]
    cpu_lines = [f"- {name}: " + ", ".join(
        f"{res['cpu_s'] * 1e6 / res['n']:.2f} ({res['cpu_probe_ms'][0]:.0f}/{res['cpu_probe_ms'][1]:.0f})"
        for res in per_run[name]) for name in clients if per_run.get(name)]
    version = args.server_version
    table = (f"### Tick burst at server version {version} ({protocol(version)}; ib_async at "
             f"{negotiated('ib_async', version)}), N = {args.n:,} tickPrice/tickSize messages, {args.runs} runs "
             f"per client (a fresh process per client and run, clients interleaved)\n\n" + "\n".join(lines) +
             ("\n\nTargets (within this run):\n\n" + "\n".join(targets) if targets else "") +
             "\n\nGarbage collector passes during the burst, each run (generation 0/1/2, their time in all):\n\n" +
             "\n".join(gc_lines) +
             "\n\nThe client process's CPU time per message during the burst, us, each run (in brackets: a fixed "
             "piece of pure-Python work just before and just after the burst, ms: how fast the vCPU ran then; a "
             "slow run that costs more CPU per message with no more GC passes is a slower CPU, not more work):"
             "\n\n" + "\n".join(cpu_lines) +
             "\n\nSimulator burst mode in its own process (pre-encoded, one sendall); rate = (N-1) / "
             "(last - first message at the client's callback level). pa_core = our ConnectionManager "
             "(reader, dispatcher, fast path) into Wrapper events; pa = full PlatformAdapter with "
             "subscribe_quotes and its conflated user callback: messages are counted with "
             "Quote.updates between the first user callback that shows part of the burst and the one "
             "that shows all of it (both timed inside the user callback).")
    path = write_results(f"tick_burst_{version}", {"server_version": version, "n": args.n, "runs": args.runs,
                                                    "stats": stats, "errors": errors, "per_run": per_run}, table)
    print(path.read_text())


if __name__ == "__main__":
    main()
