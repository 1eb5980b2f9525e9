"""Shared helpers of the ``scripts/bench_*.py`` benchmarks (not part of the test suite).

* ``SimProcess``: the simulated gateway in its own process (so that it never competes for the
  client's GIL), with a small control socket: ``burst CLIENT N`` (the simulator's own burst
  mode: N pre-encoded tick frames, one ``sendall``), ``stream CLIENT RATE SECONDS`` (a steady
  stream of tickPrice frames whose price is the send time in microseconds of
  ``time.monotonic_ns()``, a clock shared by all processes), ``subs CLIENT``, and with the
  option ``probe_orders=True`` ``probes`` (the timeline harness: for each placeOrder, when the
  simulator began handling its frame and when each reply left, in ``perf_counter_ns``, which is
  the same CLOCK_MONOTONIC in every process).
* ``run_worker``: one measurement in a fresh Python process, returning its JSON result.
* ``add_server_version`` / ``protocol``: the ``--server-version`` option every client benchmark
  takes (the simulator process runs at that version; each client negotiates
  ``min(its own maximum, version)``: ib_async 2.x offers at most 178).
* statistics, machine info, and the JSON + markdown result files in ``bench/results/``.

The scripts import ``platform_adapter`` from this checkout's ``src`` (first on the path).
"""

from __future__ import annotations

import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(os.environ.get("PA_BENCH_RESULTS", ROOT / "bench" / "results"))  # another directory for trial runs
LOOPBACK = "127.0.0.1"
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))
IB_ASYNC_MAX_VERSION = 178  # ib_async 2.x offers v157..178


# --- protocol versions -------------------------------------------------------------------------
def default_server_version() -> int:
    """The installed ibapi's MAX_CLIENT_VER (the simulator's and the adapter's default)."""
    from ibapi.server_versions import MAX_CLIENT_VER  # noqa: PLC0415

    return int(MAX_CLIENT_VER)


def add_server_version(parser: Any) -> None:
    """``--server-version N``: the simulator process runs at N; clients negotiate it."""
    parser.add_argument("--server-version", type=int, default=default_server_version(),
                        help="server version of the simulator (default: ibapi's MAX_CLIENT_VER); "
                             "ib_async negotiates min(178, N)")


def add_cpu_wake(parser: Any) -> None:
    """``--cpu-wake-latency-us N``: :func:`apply_cpu_wake` holds idle CPUs within N us of waking."""
    parser.add_argument("--cpu-wake-latency-us", type=int, default=None,
                        help="hold idle CPUs within this many microseconds of waking for the whole run "
                             "(/dev/cpu_dma_latency, as ib_connection.cpu_wake_latency_us does; system-wide, "
                             "so every client and the simulator alike; needs write access to the device)")


def apply_cpu_wake(args: Any) -> None:
    """Hold the request of ``--cpu-wake-latency-us`` in this (the driver's) process for the run;
    the results' machine line then says so."""
    from platform_adapter.utils.cpu_wake import hold_cpu_wake_latency  # noqa: PLC0415

    value = getattr(args, "cpu_wake_latency_us", None)
    if value is not None and not hold_cpu_wake_latency(value):
        raise SystemExit(f"--cpu-wake-latency-us {value}: /dev/cpu_dma_latency cannot be written")


def cpu_wake_suffix(args: Any) -> str:
    """The results name's suffix for a run with ``--cpu-wake-latency-us N`` (``_cpu_wake_<N>us``)."""
    value = getattr(args, "cpu_wake_latency_us", None)
    return "" if value is None else f"_cpu_wake_{value}us"


def protocol(version: int) -> str:
    """What the wire looks like at ``version``."""
    if version < 201:
        return "text"
    return "binary message ids, protobuf" if version >= 213 else "binary message ids, protobuf for some families"


def negotiated(client: str, version: int) -> int:
    """The version ``client`` runs at against a simulator at ``version``."""
    return min(version, IB_ASYNC_MAX_VERSION) if client.startswith("ib_async") else version


# --- statistics --------------------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of ``values`` (0 < q <= 100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[rank]


def summarize(values: Sequence[float]) -> dict[str, Any]:
    """Every run, their median, min, max, the spread ((max - min) / median, percent) and the
    slowest/fastest ratio (min / max)."""
    if not values:
        return {"runs": [], "median": None, "min": None, "max": None, "spread_pct": None, "min_over_max": None}
    med = statistics.median(values)
    return {"runs": list(values), "median": med, "min": min(values), "max": max(values),
            "spread_pct": (max(values) - min(values)) / med * 100 if med else None,
            "min_over_max": min(values) / max(values) if max(values) else None}


def fmt_runs(values: Sequence[float], scale: float = 1.0, digits: int = 0) -> str:
    """``a, b, c`` (each run, in order)."""
    return ", ".join(f"{v / scale:,.{digits}f}" for v in values)


def machine_info() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split(":", 1)[1].strip()
    except (OSError, IndexError):
        pass
    versions = {}
    for name in ("ibapi", "ib_async", "pandas"):
        try:
            from importlib.metadata import version  # noqa: PLC0415

            versions[name] = version({"ibapi": "ibapi-stable"}.get(name, name))
        except Exception:  # noqa: BLE001 - optional information
            versions[name] = "?"
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True, check=False).stdout.strip()
    from platform_adapter.utils.cpu_wake import held_cpu_wake_latency  # noqa: PLC0415

    return {"cpu": cpu, "cores": os.cpu_count(), "memory": mem, "os": platform.platform(),
            "cpu_wake_latency_us": held_cpu_wake_latency(),
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "python": platform.python_version(), "commit": commit, **versions,
            "date_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())}


def machine_line(info: dict[str, Any]) -> str:
    load = "/".join(f"{x:.2f}" for x in info["load_average"])
    return (f"{info['cpu']}, {info['cores']} cores, {info['memory']} RAM, {info['os']}, Python {info['python']}, "
            f"ibapi {info['ibapi']}, ib_async {info['ib_async']}, commit {info['commit']}, {info['date_utc']} UTC, "
            f"load average at the end {load} (1/5/15 min; other work on the machine shows here)"
            + ("" if info.get("cpu_wake_latency_us") is None else
               f"; idle CPUs held within {info['cpu_wake_latency_us']} us of waking for the whole run "
               "(/dev/cpu_dma_latency: every process alike)"))


def write_results(name: str, data: dict[str, Any], table: str) -> Path:
    """``bench/results/<name>.json`` and ``<name>.md`` (table plus machine info)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    data = {"machine": machine_info(), **data}
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=1, default=str) + "\n")
    md = f"{table}\n\nMachine: {machine_line(data['machine'])}\n"
    (RESULTS / f"{name}.md").write_text(md)
    return RESULTS / f"{name}.md"


# --- fresh-process workers -----------------------------------------------------------------------
def run_worker(script: str, args: Sequence[str], timeout: float = 180.0,
               env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``python scripts/<script> --worker ...`` in a fresh process (``env``: its environment,
    default ours); its last stdout line is JSON."""
    cmd = [sys.executable, str(ROOT / "scripts" / script), "--worker", *args]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False, cwd=ROOT, env=env)
    except subprocess.TimeoutExpired as exc:
        return {"error": f"worker {' '.join(args)} timed out after {timeout:g}s: {str(exc.stderr or '')[-2000:]}"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout)[-2000:]
        return {"error": f"worker {' '.join(args)} failed (rc {proc.returncode}): {tail}"}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def other_tree(name: str, baseline: str) -> tuple[str, dict[str, str] | None]:
    """A client named ``NAME@before`` runs as ``NAME`` from the source tree ``baseline`` (its
    ``src``): the worker's name and environment (``None``: ours) for :func:`run_worker`."""
    worker_name, _, tree = name.partition("@")
    if not tree:
        return name, None
    if not baseline:
        raise SystemExit(f"client {name}: give the other tree with --baseline SRC")
    return worker_name, {**os.environ, "PYTHONPATH": str(Path(baseline).resolve())}


def run_interleaved(script: str, clients: Sequence[str], runs: int, first_client_id: int,
                    worker_args: Callable[[int], list[str]], baseline: str = "", timeout: float = 180.0,
                    describe: Callable[[dict[str, Any]], str] = lambda _res: "") -> tuple[
                        dict[str, list[dict[str, Any]]], dict[str, str]]:
    """Every client ``runs`` times, the clients interleaved, each run a fresh worker process:
    ``python scripts/<script> --worker NAME *worker_args(client_id)`` (a ``NAME@before`` client
    runs from ``baseline``, see :func:`other_tree`). Returns each client's results and the last
    error of each client that failed; ``describe(result)`` ends each run's progress line."""
    per_run: dict[str, list[dict[str, Any]]] = {name: [] for name in clients}
    errors: dict[str, str] = {}
    client_id = first_client_id
    for run in range(runs):
        for name in clients:
            client_id += 1
            worker_name, env = other_tree(name, baseline)
            res = run_worker(script, [worker_name, *worker_args(client_id)], timeout=timeout, env=env)
            if "error" in res:
                errors[name] = res["error"]
                print(name, "ERROR", res["error"][-400:], file=sys.stderr)
                continue
            per_run[name].append(res)
            print(f"run {run + 1} {name:9s} {describe(res)}", file=sys.stderr, flush=True)
    return per_run, errors


def ratio(value: float | None, ref: float | None) -> str:
    """``value / ref`` to two places, ``n/a`` when either is missing."""
    return f"{value / ref:.2f}" if value and ref else "n/a"


def emit(result: dict[str, Any]) -> None:
    """A worker's result (the last stdout line)."""
    print(json.dumps(result), flush=True)


# --- the simulator in its own process ------------------------------------------------------------
class SimProcess:
    """``SimulatedGateway(**options)`` in a child process, with the bench control socket."""

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.proc = subprocess.Popen([sys.executable, __file__, "sim", json.dumps(options)],
                                     stdout=subprocess.PIPE, text=True, cwd=ROOT)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().split()
        if len(line) != 4:
            self.proc.kill()
            raise RuntimeError(f"simulator did not start: {line}")
        self.port, self.control_port = int(line[1]), int(line[3])

    def command(self, line: str, timeout: float = 120.0) -> str:
        return control(self.control_port, line, timeout)

    def stop(self) -> None:
        try:
            self.command("quit", 5.0)
        except OSError:
            pass
        try:
            self.proc.wait(5.0)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5.0)


@contextmanager
def sim_process(**options: Any) -> Iterator[SimProcess]:
    sim = SimProcess(**options)
    try:
        yield sim
    finally:
        sim.stop()


def control(port: int, line: str, timeout: float = 120.0) -> str:
    """One command to a simulator's bench control socket; returns the reply line."""
    with socket.create_connection((LOOPBACK, port), timeout=timeout) as sock:
        sock.sendall(line.encode() + b"\n")
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
    text = reply.decode().strip()
    if not text.startswith("ok"):
        raise RuntimeError(f"simulator: {line!r} -> {text!r}")
    return text


def wait_subscribed(control_port: int, client_id: int, timeout: float = 20.0) -> None:
    """Wait until the simulator holds a market-data line of ``client_id``."""
    deadline = time.monotonic() + timeout
    while control(control_port, f"subs {client_id}").split()[1] == "0":
        if time.monotonic() > deadline:
            raise RuntimeError("subscription never reached the simulator")
        time.sleep(0.02)


def _probe_orders() -> list[tuple[str, int, int]]:
    """Stamp, per placeOrder, when the simulator's session began handling its frame (``gw_recv``)
    and when each reply it sends while handling it goes to the socket (``gw_sent``, just before
    the ``sendall``: a stamp after it may come late, when the woken client preempts the sender);
    benchmark only."""
    from platform_adapter.sim.session import Session  # noqa: PLC0415

    stamps: list[tuple[str, int, int]] = []
    local = threading.local()
    dispatch, place, send_raw = Session._dispatch, Session.h_placeOrder, Session.send_raw

    def probed_dispatch(self: Any, payload: bytes) -> None:
        local.t_in = time.perf_counter_ns()
        dispatch(self, payload)

    def probed_place(self: Any, q: Any) -> None:
        stamps.append(("gw_recv", q.order_id, local.t_in))
        local.order = q.order_id
        try:
            place(self, q)
        finally:
            local.order = None

    def probed_send_raw(self: Any, data: bytes) -> None:
        order = getattr(local, "order", None)
        if order is not None:
            stamps.append(("gw_sent", order, time.perf_counter_ns()))
        send_raw(self, data)

    Session._dispatch, Session.h_placeOrder, Session.send_raw = (  # type: ignore[method-assign]
        probed_dispatch, probed_place, probed_send_raw)
    return stamps


def _sim_main(options: dict[str, Any]) -> None:
    from platform_adapter.sim import SimulatedGateway  # noqa: PLC0415
    from platform_adapter.sim import messages as m  # noqa: PLC0415
    from platform_adapter.utils.heap import freeze_survivors  # noqa: PLC0415

    probes = _probe_orders() if options.pop("probe_orders", False) else None
    gw = SimulatedGateway(host=LOOPBACK, port=0, **options)
    gw.start()
    freeze_survivors()  # full GC passes stay short however many orders rest (utils/heap.py)
    srv = socket.socket()
    srv.bind((LOOPBACK, 0))
    srv.listen(8)
    done = threading.Event()

    def first_sub(client_id: int) -> int:
        session = gw.sessions[client_id]
        return next(iter(session.subs.mkt))

    def stream(client_id: int, rate: float, seconds: float) -> str:
        """tickPrice BID frames at ``rate``/s in 1 ms batches; price = send time (us, monotonic)."""
        session = gw.sessions[client_id]
        req_id = first_sub(client_id)
        per_batch = max(1, int(rate / 1000))
        interval = per_batch / rate
        start = time.monotonic()
        next_at = start
        sent = 0
        while next_at - start < seconds:
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            stamp = time.monotonic_ns() / 1000.0
            session.send_raw(m.tick_price(req_id, 1, stamp, 100).encode(session.sv) * per_batch)
            sent += per_batch
            next_at += interval
        return f"ok {sent} {time.monotonic() - start:.3f}"

    def handle(line: str) -> str:
        parts = line.split()
        cmd, args = parts[0], [int(float(a)) if a.replace(".", "", 1).isdigit() else a for a in parts[1:]]
        if cmd == "burst":
            client_id, n = int(args[0]), int(args[1])
            gw.burst(first_sub(client_id), n, client_id)
            return "ok"
        if cmd == "stream":
            return stream(int(args[0]), float(parts[2]), float(parts[3]))
        if cmd == "subs":
            session = gw.sessions.get(int(args[0]))
            return f"ok {len(session.subs.mkt) if session else 0}"
        if cmd == "probes" and probes is not None:
            taken = probes[:]
            del probes[:len(taken)]
            return "ok " + json.dumps(taken)
        if cmd == "quit":
            done.set()
            return "ok"
        return f"error unknown command {cmd}"

    def serve(conn: socket.socket) -> None:
        with conn, conn.makefile("rw", encoding="ascii", newline="\n") as f:
            for line in f:
                try:
                    reply = handle(line)
                except Exception as exc:  # noqa: BLE001 - report to the bench
                    reply = f"error {exc!r}"
                f.write(reply + "\n")
                f.flush()

    def accept() -> None:
        while not done.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    print(f"port {gw.port} control {srv.getsockname()[1]}", flush=True)
    done.wait()
    srv.close()
    gw.stop()


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "sim":
    _sim_main(json.loads(sys.argv[2]))
