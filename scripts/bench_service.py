"""Benchmark: the adapter as a service (issue 17).

Every party is its own process: the simulator (quiet market, pacing off), the service
(``python -m platform_adapter.service``), and the clients.

1. Quote fan-out to 1, 8 and 32 subscriber processes (RemoteAdapter, one AAPL line at IB for all):
   the simulator streams tickPrice(BID) frames at ``--rate``/s whose price is the send time
   (``time.monotonic_ns() / 1000``, a clock every process shares); each subscriber's quote
   callback records (receive time, price). Reported per subscriber, over the stream after a
   0.5 s warm-up: deliveries/s (conflated: each delivery is the latest quote), delivery latency
   (receive - send) p50/p99, and staleness: how old its latest quote is just before the next one
   arrives (max and p99; the target says never older than 50 ms). Worst subscriber per run.
2. ``place_order`` round trip, remote (RemoteAdapter -> service -> IB) against direct
   (PlatformAdapter in its own process), alternating in the same run: limit BUYs far below the
   market (they rest), at two paces (``--spacing``): one every 40 ms (as a strategy places them,
   under IB's 50 messages/s: every process wakes from idle for each order) and back to back
   (as bench_order_rtt.py measures: the next order as soon as the last one's wait ended). The
   adapter's token bucket is raised out of the way in the direct client and in this run's service
   (at 40 ms it is never reached either way). ``call``: until place_order returns the order id;
   ``status``: until the first gateway-reported status reaches the user callback (the adapter's
   own PendingSubmit skipped); ``wait``: place_order_and_wait(Submitted) until the waiting
   thread wakes. ``ping``: the service's own round trip (answered by its command loop, no
   adapter call) and ``zmq``: a bare ZeroMQ DEALER/ROUTER echo between two fresh processes, both
   at the same pace: the floors of any remote call on this machine.
   ``--baseline SRC`` adds ``remote@before``: a second service and its clients run from another
   source tree (its ``src``), interleaved with the others (an A/B in one run). Every round starts
   its own service processes (a fresh journal and store each): one service process keeps an
   offset of its own through all its rounds (up to ~75 us seen), which only new processes
   average out.
3. Service restart: the service is killed (SIGKILL) and started again on the same endpoints
   while the simulator streams 1,000 ticks/s; a subscriber process measures when its quotes
   flow again, from the new service's start and from its ready line.

    .venv/bin/python scripts/bench_service.py [--subscribers 1,8,32] [--rate 20000] [--seconds 5]
                                              [--runs 3] [--orders 300] [--rounds 3] [--spacing 0.04,0]
                                              [--baseline SRC]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import (  # noqa: E402
    ROOT,
    add_cpu_wake,
    apply_cpu_wake,
    control,
    cpu_wake_suffix,
    emit,
    other_tree,
    percentile,
    run_worker,
    sim_process,
    summarize,
    write_results,
)

SERVICE_CLIENT_ID = 9
RTT_WARMUP = 30  # round trips of each kind before the measured ones
WARMUP_S = 0.5


def _quiet_logs() -> None:
    from loguru import logger  # noqa: PLC0415

    logger.remove()


# --- workers (fresh processes) ---------------------------------------------------------------------
def subscriber(endpoint: str, name: str) -> None:
    """Subscribe AAPL; print READY at the first quote; on a ``stop START END`` line (monotonic us
    of the stream) print the stats of the deliveries sent inside it, after the warm-up."""
    _quiet_logs()
    from platform_adapter.remote import RemoteAdapter  # noqa: PLC0415

    seen: list[tuple[float, float]] = []
    ready = threading.Event()

    def on_quote(_symbol: str, quote: Any) -> None:
        seen.append((time.monotonic_ns() / 1000.0, quote.bid or 0.0))
        ready.set()

    pa = RemoteAdapter(endpoint, name=name, connect_timeout=60)
    if not pa.connect():
        raise RuntimeError(pa.last_error)
    pa.market_data.subscribe_quotes(["AAPL"], on_quote)
    if not ready.wait(60):
        raise RuntimeError("no first quote")
    print("READY", flush=True)
    start, end = (float(x) for x in sys.stdin.readline().split()[1:3])
    window = [(r, s) for r, s in seen if start + WARMUP_S * 1e6 <= s <= end]
    latency = [(r - s) / 1000.0 for r, s in window]
    stale = [(window[i][0] - window[i - 1][1]) / 1000.0 for i in range(1, len(window))]
    span = (end - start) / 1e6 - WARMUP_S
    metrics = pa.metrics()
    emit({"deliveries": len(window), "per_second": len(window) / span if span > 0 else 0.0,
          "latency_p50_ms": percentile(latency, 50), "latency_p99_ms": percentile(latency, 99),
          "stale_max_ms": max(stale, default=float("nan")), "stale_p99_ms": percentile(stale, 99),
          "conflated_at_service": metrics.get("client_quotes_conflated")})
    pa.disconnect()


def comeback(endpoint: str) -> None:
    """Subscribe AAPL; on each ``mark`` line wait for the first quote after it and print its
    receive time (time.time())."""
    _quiet_logs()
    from platform_adapter.remote import RemoteAdapter  # noqa: PLC0415

    last = [0.0]
    fresh = threading.Condition()

    def on_quote(_symbol: str, _quote: Any) -> None:
        with fresh:
            last[0] = time.time()
            fresh.notify_all()

    pa = RemoteAdapter(endpoint, name="comeback", connect_timeout=60)
    if not pa.connect():
        raise RuntimeError(pa.last_error)
    pa.market_data.subscribe_quotes(["AAPL"], on_quote)
    print("READY", flush=True)
    for line in sys.stdin:
        mark = float(line.split()[1])
        with fresh:
            fresh.wait_for(lambda m=mark: last[0] > m, 60)  # type: ignore[misc]
        print(json.dumps({"back": last[0]}), flush=True)
    pa.disconnect()


def rtt(kind: str, target: str, name: str, orders: int, spacing: float) -> None:
    """place_order round trips of ``kind`` ``direct`` (target: gateway port) or ``remote`` (target:
    the service's commands endpoint), one every ``spacing`` seconds (0: back to back)."""
    _quiet_logs()
    got = threading.Event()
    first: dict[int, float] = {}

    def on_status(status: Any) -> None:
        if status.status.value != "PendingSubmit" and status.order_id not in first:
            first[status.order_id] = time.perf_counter()
            got.set()

    if kind == "direct":
        from platform_adapter import PlatformAdapter  # noqa: PLC0415
        from platform_adapter.config.settings import load_settings  # noqa: PLC0415

        journal = Path(tempfile.mkdtemp(prefix="pa-bench-"))
        pa: Any = PlatformAdapter(settings=load_settings(None, env_file=os.devnull, use_environ=False, overrides={
            "ib_connection.host": "127.0.0.1", "ib_connection.port": int(target), "ib_connection.client_id": int(name),
            "logging.console": False, "logging.level": "WARNING", "logging.log_dir": str(journal),
            "orders.journal_path": str(journal / "orders.db")}), configure_logging=False)
        pa.bucket.rate = pa.bucket.capacity = 1e9  # as the service of this run (stated in the results)
        _quiet_logs()
    else:
        from platform_adapter.remote import RemoteAdapter  # noqa: PLC0415

        pa = RemoteAdapter(target, name=name, connect_timeout=60)
    pa.orders.on_order_status(on_status)
    if not pa.connect():
        raise RuntimeError(f"{kind} did not connect")
    calls: list[float] = []
    statuses: list[float] = []
    waits: list[float] = []
    pings: list[float] = []
    warmup = RTT_WARMUP
    for i in range(warmup + orders // 2 if kind == "remote" else 0):
        t0 = time.perf_counter()
        pa.transport.call("ping")
        if i >= warmup:
            pings.append((time.perf_counter() - t0) * 1e6)
        _pause(spacing, t0)
    for i in range(warmup + orders // 2):  # place_order_and_wait: until the waiting thread wakes
        t0 = time.perf_counter()
        pa.orders.place_order_and_wait("AAPL", "BUY", 1, "LMT", wait_for="Submitted", limit_price=50.0 + i % 50 / 100)
        if i >= warmup:
            waits.append((time.perf_counter() - t0) * 1e6)
        _pause(spacing, t0)
    for i in range(orders + warmup):
        got.clear()
        t0 = time.perf_counter()
        order_id = pa.orders.place_order("AAPL", "BUY", 1, "LMT", limit_price=50.0 + (i % 50) / 100)
        t1 = time.perf_counter()
        deadline = time.monotonic() + 10
        while order_id not in first:
            if time.monotonic() > deadline:
                raise RuntimeError(f"no status for order {order_id}")
            got.wait(1)
            got.clear()
        if i >= warmup:
            calls.append((t1 - t0) * 1e6)
            statuses.append((first[order_id] - t0) * 1e6)
        _pause(spacing, t0)
    emit({"kind": kind, "orders": orders, "call_p50_us": percentile(calls, 50), "call_p99_us": percentile(calls, 99),
          "status_p50_us": percentile(statuses, 50), "status_p99_us": percentile(statuses, 99),
          "wait_p50_us": percentile(waits, 50), "wait_p99_us": percentile(waits, 99),
          "ping_p50_us": percentile(pings, 50) if pings else None})
    pa.disconnect()


def _pause(spacing: float, t0: float) -> None:
    if spacing > 0:
        time.sleep(max(0.0, spacing - (time.perf_counter() - t0)))


def zmq_echo(spacing: float, count: int) -> None:
    """A bare DEALER -> ROUTER echo between this process and a fresh one, ``count`` round trips one
    every ``spacing`` seconds: what ZeroMQ itself costs at that pace."""
    import zmq  # noqa: PLC0415

    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    port = sock.bind_to_random_port("tcp://127.0.0.1")
    peer = subprocess.Popen([sys.executable, __file__, "--worker", "echo", str(port)], cwd=ROOT)
    try:
        sock.send(b"warm")
        sock.recv()
        trips = []
        for i in range(count + 30):
            t0 = time.perf_counter()
            sock.send(b"x" * 64)
            sock.recv()
            if i >= 30:
                trips.append((time.perf_counter() - t0) * 1e6)
            _pause(spacing, t0)
        sock.send(b"")
    finally:
        peer.wait(30)
        ctx.destroy(linger=0)
    emit({"zmq_p50_us": percentile(trips, 50), "zmq_p99_us": percentile(trips, 99)})


def echo(port: int) -> None:
    import zmq  # noqa: PLC0415

    ctx = zmq.Context()
    sock = ctx.socket(zmq.ROUTER)
    sock.connect(f"tcp://127.0.0.1:{port}")
    while True:
        frames = sock.recv_multipart()
        if not frames[-1]:
            break
        sock.send_multipart(frames)
    ctx.destroy(linger=0)


def serve(argv: list[str]) -> None:
    """The service of the round-trip rounds: ``python -m platform_adapter.service ARGV`` itself, with
    the adapter's token bucket raised out of the way."""
    import platform_adapter.facade as facade  # noqa: PLC0415
    from platform_adapter.service import __main__ as service_main  # noqa: PLC0415

    class Raised(facade.PlatformAdapter):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.bucket.rate = self.bucket.capacity = 1e9

    facade.PlatformAdapter = Raised  # type: ignore[misc]  # the service's serve() imports it when called
    sys.exit(service_main.main(argv))


# --- the driver -----------------------------------------------------------------------------------------
class Service:
    """The service process on the simulator at ``port``."""

    def __init__(self, port: int, work: Path, commands: str = "tcp://127.0.0.1:0",
                 events: str = "tcp://127.0.0.1:0", raised: bool = False, tree: str = "",
                 env: dict[str, str] | None = None, client_id: int | None = None, tag: str = "") -> None:
        """``tree``: a name for a service run from another source tree (``env`` its environment);
        ``tag``: a suffix for its files (a fresh journal and store), ``client_id`` its IB client id."""
        tag = "-raised" * raised + (f"-{tree}" if tree else "") + tag
        config = work / f"service{tag}.yaml"
        config.write_text(json.dumps({  # JSON is YAML
            "ib_connection": {"host": "127.0.0.1", "port": port,
                              "client_id": client_id or SERVICE_CLIENT_ID - raised - 2 * bool(tree),
                              "reconnect_backoff": 0.1},
            "logging": {"level": "WARNING", "console": False, "log_dir": str(work / f"logs{tag}")},
            "orders": {"journal_path": str(work / f"orders{tag}.db")}}))
        self.started = time.time()
        entry = [__file__, "--worker", "serve"] if raised else ["-m", "platform_adapter.service"]
        self.proc = subprocess.Popen([sys.executable, *entry, "--config", str(config), "--commands", commands,
                                      "--events", events], cwd=ROOT, stdout=subprocess.PIPE, text=True, env=env)
        assert self.proc.stdout is not None
        words = self.proc.stdout.readline().split()
        if words[:2] != ["service", "ready:"]:
            self.proc.kill()
            raise RuntimeError(f"service did not start: {words}")
        self.ready = time.time()
        self.commands, self.events = words[3], words[5]

    def cpu_seconds(self) -> float:
        """The service process's CPU time so far (user and system, all its threads)."""
        times = psutil.Process(self.proc.pid).cpu_times()
        return float(times.user + times.system)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def fan_out(service: Service, control_port: int, n: int, rate: int, seconds: float) -> dict[str, Any]:
    procs = [subprocess.Popen([sys.executable, __file__, "--worker", "sub", service.commands, f"sub-{n}-{i}"],
                              cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for i in range(n)]
    try:
        for proc in procs:
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            if line != "READY":
                raise RuntimeError(f"subscriber did not start: {line!r}")
        start = time.monotonic_ns() / 1000.0
        sent, elapsed = control(control_port, f"stream {SERVICE_CLIENT_ID} {rate} {seconds}").split()[1:3]
        end = time.monotonic_ns() / 1000.0
        time.sleep(0.5)  # the last deliveries land
        results = []
        for proc in procs:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(f"stop {start} {end}\n")
            proc.stdin.flush()
        for proc in procs:
            assert proc.stdout is not None
            lines = [ln for ln in proc.stdout.read().splitlines() if ln.startswith("{")]
            results.append(json.loads(lines[-1]))
    finally:
        for proc in procs:
            proc.wait(30)
    worst = {"per_second": min(r["per_second"] for r in results),
             "latency_p50_ms": max(r["latency_p50_ms"] for r in results),
             "latency_p99_ms": max(r["latency_p99_ms"] for r in results),
             "stale_max_ms": max(r["stale_max_ms"] for r in results),
             "stale_p99_ms": max(r["stale_p99_ms"] for r in results)}
    return {"subscribers": n, "ticks_sent": int(sent), "ticks_per_second": int(sent) / float(elapsed),
            "worst": worst, "each": results}


def restarts(service: Service, port: int, control_port: int, work: Path, times: int) -> tuple[Service, list[Any]]:
    """Kill and restart the service ``times`` times; when the subscriber's quotes flow again."""
    proc = subprocess.Popen([sys.executable, __file__, "--worker", "comeback", service.commands], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    if proc.stdout.readline().strip() != "READY":
        raise RuntimeError("restart subscriber did not start")
    out = []

    def stream() -> None:
        try:
            control(control_port, f"stream {SERVICE_CLIENT_ID} 1000 3600", 7200)
        except (OSError, RuntimeError):  # the simulator stops at the end of the bench
            pass

    streamer = threading.Thread(target=stream, daemon=True)
    streamer.start()
    try:
        for _ in range(times):
            time.sleep(1.0)
            service.proc.kill()
            service.proc.wait(10)
            service = Service(port, work, service.commands, service.events)
            proc.stdin.write(f"mark {service.ready}\n")
            proc.stdin.flush()
            back = json.loads(proc.stdout.readline())["back"]
            out.append({"from_start_s": back - service.started, "from_ready_s": back - service.ready})
            print(f"restart: {out[-1]}", flush=True)
    finally:
        proc.stdin.close()
        proc.wait(30)
    return service, out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--subscribers", default="1,8,32")
    add_cpu_wake(p)
    p.add_argument("--rate", type=int, default=20_000)
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--orders", type=int, default=300)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--restarts", type=int, default=3)
    p.add_argument("--spacing", default="0.04,0", help="seconds between orders, comma-separated (0: back to back)")
    p.add_argument("--baseline", default="", help="another source tree's src: adds remote@before (its service and "
                                                 "clients) to the round trips")
    args = p.parse_args()
    apply_cpu_wake(args)
    counts = [int(x) for x in args.subscribers.split(",") if x]
    spacings = [float(x) for x in args.spacing.split(",") if x]
    fan: dict[int, list[dict[str, Any]]] = {n: [] for n in counts}
    remotes = ["remote", "remote@before"] if args.baseline else ["remote"]
    trips: dict[float, dict[str, list[dict[str, Any]]]] = {sp: {"direct": [], **{r: [] for r in remotes}, "zmq": []}
                                                           for sp in spacings}
    comebacks: list[Any] = []
    with sim_process(tick_interval=3600.0, pacing=False) as sim, tempfile.TemporaryDirectory() as work:
        service = Service(sim.port, Path(work))
        try:
            for run in range(args.runs):
                for n in counts:
                    fan[n].append(fan_out(service, sim.control_port, n, args.rate, args.seconds))
                    print(f"run {run + 1} fan-out {n}: {fan[n][-1]['worst']}", flush=True)
            for rnd in range(args.rounds if spacings else 0):
                # fresh service processes every round: a service process carries an offset of its own
                # (tens of microseconds, the same for all its rounds), which only new processes average out
                services = {"remote": Service(sim.port, Path(work), raised=True, client_id=100 + 2 * rnd,
                                              tag=f"-r{rnd}")}
                try:
                    if args.baseline:
                        services["remote@before"] = Service(sim.port, Path(work), raised=True, tree="before",
                                                            env=other_tree("remote@before", args.baseline)[1],
                                                            client_id=101 + 2 * rnd, tag=f"-r{rnd}")
                    for sp in spacings:
                        # the two services take turns at going first (one alive and idle while the other is measured)
                        order = remotes if rnd % 2 == 0 else remotes[::-1]
                        clients = [("direct", str(sim.port), str(30 + rnd))] + [
                            (r, services[r].commands, f"rtt-{rnd}") for r in order]
                        for kind, target, name in clients:
                            worker, env = other_tree(kind, args.baseline)
                            used = services[kind].cpu_seconds() if kind in services else 0.0
                            result = run_worker("bench_service.py", ["rtt", worker, target, name, str(args.orders),
                                                                     str(sp)], 600, env=env)
                            if "error" in result:
                                raise RuntimeError(result["error"])
                            if kind in services:  # its CPU over the whole run (pings too), per order placed
                                placed = result["orders"] + result["orders"] // 2 + 2 * RTT_WARMUP
                                spent = services[kind].cpu_seconds() - used
                                result["service_cpu_us_per_order"] = spent / placed * 1e6
                            trips[sp][kind].append(result)
                            print(f"round {rnd + 1} every {sp:g}s {kind}: {result}", flush=True)
                        trips[sp]["zmq"].append(run_worker("bench_service.py",
                                                           ["zmq", str(sp), str(args.orders)], 600))
                finally:
                    for raised in services.values():
                        raised.stop()
            if args.restarts:
                service, comebacks = restarts(service, sim.port, sim.control_port, Path(work), args.restarts)
        finally:
            service.stop()
    keys = ("call_p50_us", "call_p99_us", "status_p50_us", "status_p99_us", "wait_p50_us", "wait_p99_us")
    stats = {
        "fan_out": {n: {key: summarize([r["worst"][key] for r in runs]) for key in runs[0]["worst"]} |
                    {"ticks_per_second": summarize([r["ticks_per_second"] for r in runs])}
                    for n, runs in fan.items() if runs},
        "restart": {key: summarize([c[key] for c in comebacks]) for key in ("from_start_s", "from_ready_s")}
        if comebacks else None,
        "round_trip": {sp: {kind: {key: summarize([r[key] for r in rows])
                                   for key in (*keys, "service_cpu_us_per_order") if key in rows[0]}
                            for kind, rows in by_kind.items() if kind != "zmq" and rows} |
                       {"ping_p50_us": summarize([r["ping_p50_us"] for r in by_kind["remote"]]),
                        "zmq_p50_us": summarize([r["zmq_p50_us"] for r in by_kind["zmq"]])}
                       for sp, by_kind in trips.items() if by_kind["direct"]},
    }
    path = write_results(f"service{cpu_wake_suffix(args)}", {"args": vars(args), "stats": stats, "fan_out_runs": fan,
                                     "round_trips": {str(sp): t for sp, t in trips.items()}, "restarts": comebacks},
                         _table(stats, args))
    print(path.read_text())


def _cell(s: dict[str, Any], digits: int = 1) -> str:
    return f"{s['median']:.{digits}f} ({s['min']:.{digits}f}-{s['max']:.{digits}f})"


def _table(stats: dict[str, Any], args: argparse.Namespace) -> str:
    return "\n\n".join(part for part in (_fan_table(stats, args), _trip_table(stats, args), _restart_table(stats))
                         if part)


def _fan_table(stats: dict[str, Any], args: argparse.Namespace) -> str:
    if not stats["fan_out"]:
        return ""
    lines = [f"### Service quote fan-out: {args.rate:,} tickPrice/s for {args.seconds:g} s, {args.runs} runs "
             "(medians of the runs, min-max; worst subscriber of each run)", "",
             "| subscribers | ticks/s into the service | deliveries/s per subscriber | latency p50 ms | "
             "latency p99 ms | staleness max ms | staleness p99 ms |", "|---|---|---|---|---|---|---|"]
    for n, s in stats["fan_out"].items():
        lines.append(f"| {n} | {_cell(s['ticks_per_second'], 0)} | {_cell(s['per_second'], 0)} | "
                     f"{_cell(s['latency_p50_ms'], 2)} | {_cell(s['latency_p99_ms'], 2)} | "
                     f"{_cell(s['stale_max_ms'], 1)} | {_cell(s['stale_p99_ms'], 1)} |")
    return "\n".join(lines)


def _trip_table(stats: dict[str, Any], args: argparse.Namespace) -> str:
    parts = []
    for sp, rt in stats["round_trip"].items():
        pace = f"one every {sp * 1000:g} ms" if sp > 0 else "back to back"
        lines = [f"### place_order round trip, remote vs direct, {pace}: {args.rounds} alternating rounds of "
                 f"{args.orders} orders, new service processes each round, the two services taking turns at going "
                 "first (medians of the rounds, min-max)", "",
                 "| client | call p50 us | call p99 us | to status callback p50 us | p99 us | "
                 "place_order_and_wait p50 us | p99 us |", "|---|---|---|---|---|---|---|"]
        for kind in ("direct", "remote", "remote@before"):
            if kind not in rt:
                continue
            s = rt[kind]
            lines.append(f"| {kind} | {_cell(s['call_p50_us'], 0)} | {_cell(s['call_p99_us'], 0)} | "
                         f"{_cell(s['status_p50_us'], 0)} | {_cell(s['status_p99_us'], 0)} | "
                         f"{_cell(s['wait_p50_us'], 0)} | {_cell(s['wait_p99_us'], 0)} |")
        extra = {key: rt["remote"][key]["median"] - rt["direct"][key]["median"]
                 for key in ("call_p50_us", "status_p50_us", "wait_p50_us")}
        before = ""
        if "remote@before" in rt:
            was = {key: rt["remote@before"][key]["median"] - rt["direct"][key]["median"] for key in extra}
            before = (f" (the other tree's service: {was['call_p50_us']:+.0f}, {was['status_p50_us']:+.0f}, "
                      f"{was['wait_p50_us']:+.0f} us)")
        cpu = "; ".join(f"{kind} {_cell(rt[kind]['service_cpu_us_per_order'], 0)}"
                        for kind in ("remote", "remote@before") if "service_cpu_us_per_order" in rt.get(kind, {}))
        lines += ["", f"The service process's CPU per order (user and system, all threads, over each client's run): "
                  f"{cpu} us."]
        lines += ["", f"Remote minus direct, p50: call {extra['call_p50_us']:+.0f} us, to the status callback "
                  f"{extra['status_p50_us']:+.0f} us, place_order_and_wait {extra['wait_p50_us']:+.0f} us{before} "
                  "(target: within 300 us). Floors at the same pace, p50: the service's ping (answered by its "
                  f"command loop, no adapter call) {_cell(rt['ping_p50_us'], 0)} us; a bare ZeroMQ echo between "
                  f"two processes {_cell(rt['zmq_p50_us'], 0)} us."]
        parts.append("\n".join(lines))
    parts.append("`call`: place_order until it returns the id. `to status callback`: until the first status the "
                 "gateway reported reaches on_order_status. `place_order_and_wait`: until the waiting thread wakes "
                 "with Submitted. The adapter's token bucket is raised out of the way in both (the paced orders "
                 "never reach it).")
    return "\n\n".join(parts)


def _restart_table(stats: dict[str, Any]) -> str:
    r = stats["restart"]
    if not r:
        return ""
    return (f"### Service killed (SIGKILL) and restarted on the same endpoints, {len(r['from_start_s']['runs'])} "
            f"times\n\nA subscriber's quotes flow again {_cell(r['from_start_s'], 2)} s after the new service "
            f"process started, {_cell(r['from_ready_s'], 2)} s after its ready line (target: within 5 s).")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        if not os.environ.get("PYTHONPATH"):  # else: another tree's src (remote@before)
            sys.path.insert(0, str(ROOT / "src"))
        if sys.argv[2] == "sub":
            subscriber(sys.argv[3], sys.argv[4])
        elif sys.argv[2] == "comeback":
            comeback(sys.argv[3])
        elif sys.argv[2] == "serve":
            serve(sys.argv[3:])
        elif sys.argv[2] == "zmq":
            zmq_echo(float(sys.argv[3]), int(sys.argv[4]))
        elif sys.argv[2] == "echo":
            echo(int(sys.argv[3]))
        else:
            rtt(sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6]), float(sys.argv[7]))
    else:
        main()
