"""Where an order's round trip goes: a per-stage timeline, the thread hand-offs and the background
work that lands on it. Benchmark only: the probes are wrappers put around the adapter's (and
ibapi's) methods in the worker process before it connects; nothing in the library changes.

Each probe appends ``(stage, perf_counter_ns, thread)`` to one list (about 0.3 us per probe). The
simulator (own process, ``probe_orders``) stamps when it began handling each placeOrder frame and
when each reply left; ``perf_counter_ns`` is CLOCK_MONOTONIC in every process, so the stamps of
both processes are on one time line. Per order, each stage is the first stamp of its name after
the previous stage's; the tables give the median (and p90) of each stage's duration over the
measured orders, so the stage medians need not add up to the round trip's median.

Besides the stages, per order: whether a journal commit (the writer thread's transaction) or a
GC pass overlapped its round trip, and the round trip with and without. Per thread over the
measured orders: CPU time and context switches (``/proc/self/task/<tid>/status``): a voluntary
switch is a thread going to sleep (waiting for the GIL, a lock, an Event or the socket), so their
sum per order counts the thread hand-offs; an involuntary one is the OS taking the core away.

    python scripts/bench_order_timeline.py [--server-version 226] [--orders 1000] [--warmup 100]
"""

from __future__ import annotations

import argparse
import bisect
import gc
import json
import os
import sqlite3
import sys
import threading
import time
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
    write_results,
)

CLIENT_ORDER = ("pa", "pa_wait", "pa_core", "ibapi")
SUBMITTED = "Submitted"
perf = time.perf_counter_ns
class Stamps:
    """``(stage, perf_counter_ns, native thread id)`` records, three integers each in one flat
    array (one C call per record, so records of different threads never interleave): no object
    per stamp, so the probes give the garbage collector no work of their own."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.data = array("q")

    def add(self, stage: str, t: int) -> None:
        self.data.extend((self.ids.setdefault(stage, len(self.ids)), t, threading.get_native_id()))

    def clear(self) -> None:
        del self.data[:]

    def records(self) -> list[tuple[str, int, int]]:
        names = {i: name for name, i in self.ids.items()}
        d = self.data
        return [(names[d[k]], d[k + 1], d[k + 2]) for k in range(0, len(d), 3)]

    def last(self, stage: str, since: int) -> bool:
        """True when ``stage`` was stamped at or after ``since`` among the last 8 records."""
        i, d = self.ids.get(stage), self.data
        return any(d[k] == i and d[k + 1] >= since for k in range(max(0, len(d) - 24), len(d), 3))


STAMPS = Stamps()

# Each client's chain of stages: (stage, label of the time from the previous stage to it).
# "gw_recv"/"gw_sent" come from the simulator; "woke" is the calling thread after its wait.
CHAINS: dict[str, list[tuple[str, str]]] = {
    "pa": [("validated", "validation, contract lookup, risk checks"), ("journal_in", "order id, cache, index"),
           ("journal_out", "journal (intent log)"), ("encode_in", "ibapi Contract"),
           ("encode_out", "encode (template)"), ("send_in", "message to client"),
           ("gw_recv", "to the gateway (token bucket, sendall, loopback, its reader)"),
           ("gw_sent", "gateway (parse, engine, reply)"), ("read", "back (loopback, our reader wakes, split)"),
           ("decode", "hand-off to the decoding thread"), ("open_order", "decode (to the order handler)"),
           ("queued", "state (match, update, snapshot)"), ("submitted", "callback queued, event thread woken"),
           ("batch_done", "the rest of the read batch (decoding thread)"),
           ("callback", "event thread wakes, runs the callback"),
           ("woke", "caller wakes (Event)")],
    "pa_core": [("send_in", "Order, ibapi encodes"),
                ("gw_recv", "to the gateway (token bucket, sendall, loopback, its reader)"),
                ("gw_sent", "gateway (parse, engine, reply)"),
                ("read", "back (loopback, our reader wakes, split)"), ("decode", "hand-off to the decoding thread"),
                ("callback", "decode openOrder, then orderStatus (the second reply) to the order handler"),
                ("woke", "caller wakes (Event)")],
    "ibapi": [("send_in", "Order, ibapi encodes"), ("gw_recv", "to the gateway (send, loopback, its reader)"),
              ("gw_sent", "gateway (parse, engine, reply)"),
              ("read", "back (loopback, EReader wakes, reads)"), ("decode", "EReader queue to the run thread"),
              ("callback", "decode openOrder, then orderStatus (the second reply) to EWrapper.orderStatus"),
              ("woke", "caller wakes (Event)")],
}
CHAINS["pa_wait"] = [*CHAINS["pa"][:11], ("updated", "state, callbacks queued, waiters notified"),
                     ("batch_done", "the rest of the read batch (decoding thread)"),
                     ("woke", "caller wakes (Condition), reads the status")]
# Off the chain (the calling thread goes on while the gateway works): until the send call returns
# (``sent``; it may be preempted by the simulator it has just woken on 2 cores) and until the
# place call returns. "gw_sent" is the first reply (openOrder; orderStatus follows in its own
# send): the adapter takes Submitted from openOrder, ibapi's and our Wrapper's orderStatus
# callback comes after both are decoded.


def wrap(owner: Any, attr: str, before: str | None = None, after: str | None = None,
         when: Callable[[Any], bool] | None = None) -> None:
    """Stamp ``before`` on entry and ``after`` on return (if ``when(result)``) of ``owner.attr``."""
    fn = getattr(owner, attr)
    add = STAMPS.add

    def probed(*args: Any, **kwargs: Any) -> Any:
        if before:
            add(before, perf())
        result = fn(*args, **kwargs)
        if after and (when is None or when(result)):
            add(after, perf())
        return result

    setattr(owner, attr, probed)


def install_probes(name: str) -> None:
    base = name.partition("+")[0]
    if base == "ibapi":
        from ibapi.connection import Connection  # noqa: PLC0415
        from ibapi.decoder import Decoder  # noqa: PLC0415

        wrap(Connection, "sendMsg", "send_in", "sent")
        wrap(Connection, "recvMsg", after="read", when=bool)
        wrap(Decoder, "interpret", "decode")
        wrap(Decoder, "processProtoBuf", "decode")
        return
    from platform_adapter.core.connection_manager import IBClient  # noqa: PLC0415
    from platform_adapter.core.transport import Dispatcher, SocketConnection  # noqa: PLC0415

    wrap(IBClient, "sendMsg", "send_in")
    wrap(IBClient, "sendMsgProtoBuf", "send_in")
    wrap(SocketConnection, "sendMsg", after="sent")
    wrap(Dispatcher, "deliver", "read")
    wrap(Dispatcher, "process", "decode", "batch_done")
    if base == "pa_core":
        return
    from platform_adapter.adapters.order_execution import OrderExecutionAdapter  # noqa: PLC0415
    from platform_adapter.adapters.orders.encoding import PlaceOrderEncoder  # noqa: PLC0415
    from platform_adapter.adapters.orders.journal import OrderJournal  # noqa: PLC0415
    from platform_adapter.core.events import EventDispatcher  # noqa: PLC0415

    wrap(OrderExecutionAdapter, "_send_new", "validated")
    wrap(OrderJournal, "record_request", "journal_in", "journal_out")
    wrap(PlaceOrderEncoder, "encode", "encode_in", "encode_out")
    wrap(*_order_handler("open_order"), "open_order")
    wrap(*_order_handler("order_status"), "order_status")
    wrap(OrderExecutionAdapter, "_update", after="updated")
    wrap(EventDispatcher, "submit", "queued", "submitted")
    wrap(OrderJournal, "_flush_locked", "commit_in", "commit_out")
    connect = sqlite3.connect

    class ProbedConnection(sqlite3.Connection):
        """Stamps the journal's WAL checkpoints (its checkpointer thread's own connection)."""

        def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
            if "wal_checkpoint" not in sql:
                return super().execute(sql, *args)
            STAMPS.add("checkpoint_in", perf())
            try:
                return super().execute(sql, *args)
            finally:
                STAMPS.add("checkpoint_out", perf())

    sqlite3.connect = lambda *args, **kwargs: connect(*args, factory=ProbedConnection, **kwargs)  # type: ignore[assignment]


def _order_handler(event: str) -> tuple[type, str]:
    """Where the order adapter handles ``event``: a typed handler class's ``event`` method in
    ``adapters/order_execution.py``, or the adapter's own ``_on_<event>``."""
    from platform_adapter.adapters import order_execution  # noqa: PLC0415

    for value in vars(order_execution).values():
        if isinstance(value, type) and value.__module__ == order_execution.__name__ and event in vars(value):
            return value, event
    return order_execution.OrderExecutionAdapter, f"_on_{event}"


def _gc_probe(phase: str, _info: dict[str, Any]) -> None:
    STAMPS.add("gc_" + phase, perf())


def thread_counters(extra_pid: int | None = None) -> dict[str, dict[str, int]]:
    """Per live thread (by name): CPU ns, voluntary and involuntary context switches; and the
    simulator's process as a whole when ``extra_pid`` is given."""
    out: dict[str, dict[str, int]] = {}
    for t in threading.enumerate():
        if t.native_id is None or t.ident is None:
            continue
        try:
            cpu = time.clock_gettime_ns(time.pthread_getcpuclockid(t.ident))
            status = Path(f"/proc/self/task/{t.native_id}/status").read_text()
        except (OSError, ValueError):
            continue
        out[t.name] = {"cpu_ns": cpu, **_switches(status)}
    if extra_pid is not None:
        total = {"cpu_ns": 0, "voluntary": 0, "involuntary": 0}
        for task in Path(f"/proc/{extra_pid}/task").iterdir():
            try:
                counts = _switches((task / "status").read_text())
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total["voluntary"] += counts["voluntary"]
            total["involuntary"] += counts["involuntary"]
            total["cpu_ns"] += (int(fields[11]) + int(fields[12])) * 10**9 // os.sysconf("SC_CLK_TCK")
        out["(simulator process)"] = total
    return out


def _switches(status: str) -> dict[str, int]:
    values = dict(line.split(":", 1) for line in status.splitlines() if "ctxt_switches" in line)
    return {"voluntary": int(values["voluntary_ctxt_switches"]),
            "involuntary": int(values["nonvoluntary_ctxt_switches"])}


def worker(name: str, port: int, control_port: int, sim_pid: int, client_id: int, orders: int, warmup: int) -> None:
    base = name.partition("+")[0]
    install_probes(name)
    client = connect_client(name, port, client_id)
    if base == "ibapi":  # readable names in the thread table
        from ibapi.reader import EReader  # noqa: PLC0415

        for t in threading.enumerate():
            if isinstance(t, EReader):
                t.name = "ibapi EReader"
        client.thread.name = "ibapi run loop"
    woke = threading.Event()
    submitted: set[int] = set()
    current = [0]

    def on_status(order_id: int, status: str) -> None:
        if status == SUBMITTED:
            if order_id == current[0]:
                STAMPS.add("callback", perf())
            submitted.add(order_id)
            woke.set()

    client.on_status = on_status
    next_id = max(client.next_id, 1) + 10
    starts: list[tuple[int, int]] = []  # (order id, t0) of the measured orders
    ends: list[int] = []
    calls: list[int] = []
    before: dict[str, dict[str, int]] = {}
    for i in range(warmup + orders):
        if i == warmup:
            control(control_port, "probes")  # drop the warm-up's simulator stamps
            STAMPS.clear()
            gc.callbacks.append(_gc_probe)
            before = thread_counters(sim_pid)
        price = 1.0 + (i % 50) / 100
        if base == "pa_wait":
            t0 = perf()
            order_id = client.place_order_and_wait(price, SUBMITTED)
            t_call = t1 = perf()
        else:
            current[0] = next_id + i if base != "pa" else -1
            t0 = perf()
            order_id = client.place_order(next_id + i, price)
            t_call = perf()
            current[0] = order_id
            if order_id in submitted and not STAMPS.last("callback", t0):
                STAMPS.add("callback", t_call)  # the callback ran before the order id was known
            while order_id not in submitted:
                if not woke.wait(10):
                    raise RuntimeError(f"order {order_id} not Submitted")
                woke.clear()
            t1 = perf()
        if i >= warmup:
            starts.append((order_id, t0))
            calls.append(t_call - t0)
            ends.append(t1)
    after = thread_counters(sim_pid)
    gc.callbacks.remove(_gc_probe)
    stamps = STAMPS.records()
    sim = control(control_port, "probes")
    sim_stamps = json.loads(sim[3:])
    names = {t.native_id: t.name for t in threading.enumerate()}
    emit({"client": name, "server_version": client.server_version(),
          **analyse(base, starts, ends, calls, stamps, sim_stamps),
          "threads": {k: {m: after[k][m] - before.get(k, {}).get(m, 0) for m in after[k]} for k in after},
          "stamp_threads": sorted({names.get(tid, str(tid)) for _, _, tid in stamps})})
    client.disconnect()


def analyse(base: str, starts: list[tuple[int, int]], ends: list[int], calls: list[int],
            stamps: list[tuple[str, int, int]], sim_stamps: list[list[Any]]) -> dict[str, Any]:
    """Per order: walk the client's chain of stages; then the background work per order."""
    by_name: dict[str, list[int]] = {}
    for stage, t, _tid in sorted(stamps, key=lambda s: s[1]):
        by_name.setdefault(stage, []).append(t)
    gw: dict[int, dict[str, list[int]]] = {}
    for stage, order_id, t in sim_stamps:
        gw.setdefault(order_id, {}).setdefault(stage, []).append(t)
    chain = CHAINS[base]
    per_order: list[dict[str, float]] = []  # stage label -> duration, us
    send_calls: list[float] = []
    after_send: list[float] = []
    broken: dict[str, int] = {}
    complete = 0
    sends, sents = by_name.get("send_in", []), by_name.get("sent", [])
    for i, (order_id, t0) in enumerate(starts):
        end = ends[i]
        prev = t0
        ok = True
        took: dict[str, float] = {}
        per_order.append(took)
        k = bisect.bisect_left(sends, t0)
        if k < len(sends) and sends[k] <= end:
            j = bisect.bisect_left(sents, sends[k])
            if j < len(sents) and sents[j] <= end:
                send_calls.append((sents[j] - sends[k]) / 1000)
                if base != "pa_wait":
                    after_send.append((t0 + calls[i] - sents[j]) / 1000)
        for stage, label in chain:
            if stage == "woke":
                t = end
            elif stage in ("gw_recv", "gw_sent"):
                times = gw.get(order_id, {}).get(stage, [])
                t = times[0] if times else -1
            else:
                times = by_name.get(stage, [])
                k = bisect.bisect_left(times, prev)
                t = times[k] if k < len(times) and times[k] <= end else -1
            if t < prev:
                ok = False
                broken[stage] = broken.get(stage, 0) + 1
                break
            took[label] = (t - prev) / 1000
            prev = t
        complete += ok
    rtts = [(ends[i] - t0) / 1000 for i, (_, t0) in enumerate(starts)]
    background: dict[str, Any] = {}
    hits: dict[str, list[bool]] = {}
    for kind in ("commit", "checkpoint", "gc"):
        opens = by_name.get(f"{kind}_in" if kind != "gc" else "gc_start", [])
        closes = by_name.get(f"{kind}_out" if kind != "gc" else "gc_stop", [])
        spans = list(zip(opens, closes, strict=False))
        hit = hits[kind] = [any(a < ends[i] and b > t0 for a, b in spans) for i, (_, t0) in enumerate(starts)]
        with_ = [r for r, h in zip(rtts, hit, strict=True) if h]
        without = [r for r, h in zip(rtts, hit, strict=True) if not h]
        background[kind] = {
            "count": len(spans), "p50_us": percentile([(b - a) / 1000 for a, b in spans], 50) if spans else None,
            "max_us": max((b - a) / 1000 for a, b in spans) if spans else None, "orders_hit": sum(hit),
            "rtt_hit_p50_us": percentile(with_, 50) if with_ else None,
            "rtt_clear_p50_us": percentile(without, 50) if without else None,
            "rtt_clear_p99_us": percentile(without, 99) if without else None}
    worst = max(range(len(rtts)), key=rtts.__getitem__) if rtts else None
    stages = []
    for _, label in chain:
        every = [d[label] for d in per_order if label in d]
        hit = [d[label] for d, h in zip(per_order, hits["commit"], strict=True) if h and label in d]
        clear = [d[label] for d, h in zip(per_order, hits["commit"], strict=True) if not h and label in d]
        if every:
            stages.append({"stage": label, "p50_us": percentile(every, 50), "p90_us": percentile(every, 90),
                           "n": len(every), "clear_mean_us": sum(clear) / len(clear) if clear else None,
                           "commit_mean_us": sum(hit) / len(hit) if hit else None})
    return {"orders": len(starts), "complete": complete, "rtt_p50_us": percentile(rtts, 50),
            "rtt_p99_us": percentile(rtts, 99), "call_p50_us": percentile([c / 1000 for c in calls], 50),
            "send_call_p50_us": percentile(send_calls, 50) if send_calls else None,
            "send_call_p90_us": percentile(send_calls, 90) if send_calls else None,
            "after_send_p50_us": percentile(after_send, 50) if after_send else None,
            "stages": stages, "broken_at": broken, "background": background,
            "slowest": {"rtt_us": rtts[worst], "stages": per_order[worst],
                        "background": [kind for kind in hits if hits[kind][worst]]} if worst is not None else None}


def probe_cost() -> float:
    """The cost of one probe (a wrapped no-op against the bare call), in microseconds."""
    class Target:
        def noop(self) -> None:
            return None

    bare = Target()
    t0 = perf()
    for _ in range(100_000):
        bare.noop()
    plain = perf() - t0
    wrap(Target, "noop", "x", "y")
    probed = Target()
    t0 = perf()
    for _ in range(100_000):
        probed.noop()
    cost = (perf() - t0 - plain) / 100_000 / 2 / 1000
    STAMPS.clear()
    return cost


def render(version: int, results: dict[str, dict[str, Any]], orders: int, cost: float) -> str:
    out = [f"### One order's timeline at server version {version} ({protocol(version)}), {orders:,} orders "
           f"after warm-up, one process per client\n",
           f"Medians (p90) of each stage's duration, us; probes cost about {cost:.2f} us each.\n"]
    for name, r in results.items():
        if "error" in r:
            out.append(f"#### {name}: error\n\n{r['error'][-400:]}\n")
            continue
        out.append(f"#### {name}: round trip p50 {r['rtt_p50_us']:.0f} us, p99 {r['rtt_p99_us']:.0f} us; the "
                   f"place call {r['call_p50_us']:.0f} us ({r['complete']} of {r['orders']} orders with every "
                   "stage)\n")
        out.append("| stage | p50 us | p90 us | mean us, no journal commit overlapping | mean us, a commit "
                   "overlapping |\n|---|---|---|---|---|")
        out += [f"| {s['stage']} | {s['p50_us']:.1f} | {s['p90_us']:.1f} | " + " | ".join(
                f"{s[k]:.1f}" if s[k] is not None else "" for k in ("clear_mean_us", "commit_mean_us")) + " |"
                for s in r["stages"]]
        if r["send_call_p50_us"] is not None:
            out.append(f"\nThe send call itself (off the chain) returned after {r['send_call_p50_us']:.0f} us at "
                       f"the median, {r['send_call_p90_us']:.0f} us at p90" + (
                           f"; the place call returned {r['after_send_p50_us']:.0f} us after it (median)."
                           if r["after_send_p50_us"] is not None else "."))
        bg = r["background"]
        lines = []
        for kind, label in (("commit", "journal commits (writer thread)"),
                            ("checkpoint", "WAL checkpoints (checkpointer thread)"), ("gc", "GC passes")):
            b = bg[kind]
            if b["count"]:
                lines.append(f"- {label}: {b['count']}, each {b['p50_us']:.0f} us at the median (max "
                             f"{b['max_us']:.0f}); they overlapped {b['orders_hit']} round trips (p50 "
                             f"{b['rtt_hit_p50_us'] or 0:.0f} us against {b['rtt_clear_p50_us'] or 0:.0f} us for the "
                             f"others, whose p99 is {b['rtt_clear_p99_us'] or 0:.0f} us)")
        if lines:
            out.append("\n" + "\n".join(lines))
        slow = r["slowest"]
        if slow:
            top = sorted(slow["stages"].items(), key=lambda kv: -kv[1])[:3]
            out.append(f"\nThe slowest order took {slow['rtt_us']:,.0f} us: " + ", ".join(
                f"{label} {us:,.0f} us" for label, us in top) + (
                f" (overlapped by: {', '.join(slow['background'])})" if slow["background"] else ""))
        n = r["orders"]
        out.append("\n| thread | CPU us per order | voluntary switches per order | involuntary per order |\n"
                   "|---|---|---|---|")
        total = 0.0
        for thread, c in sorted(r["threads"].items(), key=lambda kv: -kv[1]["cpu_ns"]):
            if c["voluntary"] or c["cpu_ns"]:
                if thread != "(simulator process)":
                    total += c["voluntary"] / n
                out.append(f"| {thread} | {c['cpu_ns'] / n / 1000:.1f} | {c['voluntary'] / n:.2f} | "
                           f"{c['involuntary'] / n:.2f} |")
        out.append(f"\nThread hand-offs (voluntary switches of the client's threads) per order: {total:.2f}\n")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    add_server_version(parser)
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--clients", default=",".join(CLIENT_ORDER))
    parser.add_argument("--worker", nargs=7,
                        metavar=("CLIENT", "PORT", "CONTROL", "SIM_PID", "CLIENT_ID", "ORDERS", "WARMUP"))
    args = parser.parse_args()
    if args.worker:
        name, port, ctl, pid, cid, orders, warmup = args.worker
        worker(name, int(port), int(ctl), int(pid), int(cid), int(orders), int(warmup))
        return
    results: dict[str, dict[str, Any]] = {}
    client_id = 700
    with sim_process(server_version=args.server_version, tick_interval=3600.0, pacing=False, seed=5,
                     probe_orders=True) as sim:
        for name in args.clients.split(","):
            client_id += 1
            res = run_worker("bench_order_timeline.py", [name, str(sim.port), str(sim.control_port),
                                                         str(sim.proc.pid), str(client_id), str(args.orders),
                                                         str(args.warmup)], timeout=300)
            results[name] = res
            if "error" in res:
                print(name, "ERROR", res["error"][-600:], file=sys.stderr)
            else:
                print(f"{name}: p50 {res['rtt_p50_us']:.0f} us, {res['complete']} complete", file=sys.stderr)
    cost = probe_cost()
    table = render(args.server_version, results, args.orders, cost)
    path = write_results(f"order_timeline_{args.server_version}", {
        "server_version": args.server_version, "orders": args.orders, "probe_cost_us": cost,
        "results": results}, table)
    print(path.read_text())


if __name__ == "__main__":
    main()
