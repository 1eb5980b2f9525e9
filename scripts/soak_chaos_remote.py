"""Soak: IB's failure modes and the service's own at random, strategies trading through the service.

The simulator, the service (``python -m platform_adapter.service``) and ``--clients`` strategy
processes (``RemoteAdapter``, names ``strategy-0``, ``strategy-1``, ...) each run as their own
process. Every strategy runs the strategy of ``soak_restarts.py`` (market orders that fill,
resting limit orders, cancels) and streams quotes, tick-by-tick and 1-second bars through the
service. A chaos thread injects, about every ``--every`` seconds (``--seed``), one of the IB
faults of ``soak_chaos.py`` (drops, freezes, farm flaps, reset windows, gateway restarts, a drop
as an order arrives, refused connections) or one of the service's own: the service killed
(SIGKILL) and started again on the same endpoints, or a strategy killed (SIGKILL) and started
again under the same name. After every ``--quiet-every`` faults comes a quiet period.

Each strategy writes what it sees to its own log (one ``write`` per line, so a kill loses none
that was written): the ids its place calls returned, every order status and fill its callbacks
got, a mark per stream update. After ``--seconds`` the faults stop, the strategies stop trading
and each reports what the service tells it about the gateway's orders. The checks:

* every order at the gateway is owned by exactly one strategy: that one gets its status from
  the service, every other one is told it is unknown; no strategy saw an event of another's;
* the owner knows it with the gateway's status and filled quantity, from the service and from
  the last status event its callbacks got (over all its processes);
* an order a strategy placed and the gateway does not have ended ``Rejected`` for it (never
  reached IB), not lost silently; no order duplicated (one placeOrder per order at the gateway,
  at most one for each order it does not have); each strategy's order ids only grow;
* every execution at the gateway reached its owner's ``on_fill`` at least once; a fill delivered
  again is flagged ``possible_duplicate`` and only in a process started after a kill; no fill of
  an execution the gateway does not have;
* positions as the gateway's; no call failed with anything but ``NotConnected``;
* every strategy's streams flow again within 5 s of the start of each quiet period.

    python scripts/soak_chaos_remote.py [--clients 3] [--seconds 120] [--every 3] [--seed 1]
        [--quiet-every 4] [--min-faults 0] [--step 0.2] [--report bench/results/soak_chaos_remote.md] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from soak_chaos import MIN_FAULTS_GRACE, add_fault_args, fault  # noqa: E402
from soak_restarts import LOOPBACK, ROOT, STREAM_LIMIT, STREAMS, Run, Simulator, footer, trade, write_result  # noqa: E402

CLIENT_ID = 1  # the service's IB client id
SERVICE_FAULTS = ("service_kill", "client_kill")
STAMP_EVERY = 0.1  # a strategy logs at most one mark per stream this often
HEARTBEAT = ("--heartbeat", "0.2", "--heartbeat-timeout", "1.5")


def _env() -> dict[str, str]:
    from platform_adapter.config.settings import ENV_KEYS  # noqa: PLC0415

    return {**{k: v for k, v in os.environ.items() if k not in ENV_KEYS}, "PYTHONPATH": str(ROOT / "src")}


def _pump(stream: Any, into: queue.Queue[str]) -> None:
    for line in stream:
        into.put(line)


# --- the service process ------------------------------------------------------------------------------
def write_config(work: Path, port: int) -> Path:
    import yaml  # noqa: PLC0415

    config = {
        "ib_connection": {"host": LOOPBACK, "port": port, "client_id": CLIENT_ID, "timeout": 10.0,
                          "request_timeout": 15.0, "reconnect_backoff": 0.2, "reconnect_max_delay": 1.0,
                          "reconnect_max_attempts": 1000},
        "logging": {"level": "WARNING", "log_dir": str(work / "logs"), "console": False},
        "orders": {"journal_path": str(work / "orders.db")},
        "environment": "test",
    }
    path = work / "service.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


class ServiceProcess:
    """``python -m platform_adapter.service`` on ``config``; ``commands`` / ``events`` once ready."""

    def __init__(self, config: Path, work: Path, commands: str = f"tcp://{LOOPBACK}:0",
                 events: str = f"tcp://{LOOPBACK}:0") -> None:
        self.stderr = open(work / "service.stderr", "a")  # noqa: SIM115 - closed in kill/stop
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "platform_adapter.service", "--config", str(config), "--env-file", os.devnull,
             "--commands", commands, "--events", events, *HEARTBEAT],
            stdout=subprocess.PIPE, stderr=self.stderr, text=True, cwd=ROOT, env=_env())
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=_pump, args=(self.proc.stdout, lines), daemon=True).start()
        try:
            words = lines.get(timeout=60).split()
        except queue.Empty:
            self.kill()
            raise RuntimeError("the service did not start within 60 s") from None
        if words[:3] != ["service", "ready:", "commands"]:
            self.kill()
            raise RuntimeError(f"the service did not start: {words}")
        self.commands, self.events = words[3], words[5]

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.stderr.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.stderr.close()


# --- a strategy process ------------------------------------------------------------------------------------
class StrategyProcess:
    """This script with ``--strategy``: one strategy under ``name``, driven by JSON lines."""

    def __init__(self, endpoint: str, name: str, log: Path, step: float) -> None:
        self.name = name
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--strategy", endpoint, name, str(log), str(step)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT,
            env=_env())
        self._replies: queue.Queue[str] = queue.Queue()
        threading.Thread(target=_pump, args=(self.proc.stdout, self._replies), daemon=True).start()

    def ready(self, timeout: float = 60.0) -> bool:
        """Connected, subscribed and trading (its first line)."""
        return bool(self._reply(timeout))

    def ask(self, op: str, timeout: float = 60.0, **args: Any) -> Any:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            raise RuntimeError(f"{self.name} exited ({self.proc.poll()}); see its log") from None
        return self._reply(timeout)

    def _reply(self, timeout: float) -> Any:
        try:
            reply = json.loads(self._replies.get(timeout=timeout))
        except queue.Empty:
            raise RuntimeError(f"{self.name}: no answer within {timeout:g}s") from None
        if "error" in reply:
            raise RuntimeError(f"{self.name}: {reply['error']}")
        return reply["ok"]

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


class Log:
    """A strategy's log: one JSON array per line, each line one ``write`` (whole after a kill)."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self.lock = threading.Lock()

    def write(self, *item: Any) -> None:
        line = (json.dumps([*item, round(time.monotonic(), 4)]) + "\n").encode()
        with self.lock:
            os.write(self.fd, line)


def read_log(path: Path) -> list[list[Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def strategy_main(endpoint: str, name: str, log_path: str, step_seconds: float) -> int:
    """One strategy process (see the module): trades until told to stop, then reports."""
    from loguru import logger  # noqa: PLC0415

    from platform_adapter.errors import NotConnected, OrderStateError, PlatformAdapterError  # noqa: PLC0415
    from platform_adapter.remote import RemoteAdapter  # noqa: PLC0415

    logger.remove()
    log = Log(Path(log_path))
    log.write("start")
    pa = RemoteAdapter(endpoint, name=name, connect_timeout=60)
    last: dict[int, tuple[str, str]] = {}  # this process's last status event per order
    lock = threading.Lock()

    def on_status(s: Any) -> None:
        log.write("status", s.order_id, s.status.value, str(s.filled))
        with lock:
            last[s.order_id] = (s.status.value, str(s.filled))

    pa.orders.on_order_status(on_status)
    pa.orders.on_fill(lambda f: log.write("fill", f.order_id, f.exec_id, f.possible_duplicate))
    marks = dict.fromkeys(STREAMS, 0.0)

    def stamp(stream: str) -> Any:
        def record(*args: Any) -> None:
            if stream == "quotes" and getattr(args[-1], "stale", False):
                return
            now = time.monotonic()
            if now - marks[stream] >= STAMP_EVERY:
                marks[stream] = now
                log.write("mark", stream)
        return record

    if not pa.connect():
        log.write("error", "connect", pa.last_error)
        return 3
    log.write("connected")
    pa.market_data.subscribe_quotes(["AAPL", "MSFT"], stamp("quotes"))
    pa.market_data.subscribe_tick_by_tick("SPY", "MidPoint", stamp("ticks"))
    pa.market_data.subscribe_real_time_bars("TSLA", stamp("bars"))
    resting: list[int] = []
    while True:  # a strategy that comes back takes its resting orders over
        try:
            resting = sorted(o.order_id for o in pa.orders.get_open_orders())
            break
        except NotConnected:
            time.sleep(0.1)
    run = Run()
    stop = threading.Event()

    def trading() -> None:
        step = 0
        while not stop.is_set():
            before = len(run.ids)
            try:
                trade(pa, run, step, resting)  # type: ignore[arg-type] - the facade's interface
            except PlatformAdapterError as exc:
                log.write("error", type(exc).__name__, str(exc))
            for oid in run.ids[before:]:
                log.write("placed", oid)
            step += 1
            stop.wait(step_seconds)

    trader = threading.Thread(target=trading, name="trading", daemon=True)
    trader.start()
    print(json.dumps({"ok": "ready"}), flush=True)

    def report(ids: list[int]) -> dict[str, Any]:
        """What the service says of each of ``ids`` for this client, once none of its orders is
        still waiting for IB's first word and the last status event of each is the service's
        answer (the service reconciled first; at most 20 s)."""
        pa.orders.reconcile()
        deadline = time.monotonic() + 20
        while True:
            answers: dict[str, Any] = {}
            for oid in ids:
                try:
                    s = pa.orders.get_order_status(oid)
                    answers[str(oid)] = [s.status.value, str(s.filled)]
                except OrderStateError:
                    answers[str(oid)] = "unknown"
            with lock:
                behind = [o for o, a in answers.items() if a != "unknown" and (
                    a[0] in ("PendingSubmit", "ApiPending") or int(o) in last and last[int(o)] != tuple(a))]
            if not behind or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        positions = {p.symbol: float(p.quantity) for p in pa.account.get_positions() if p.quantity}
        return {"answers": answers, "open": sorted(o.order_id for o in pa.orders.get_open_orders()),
                "positions": positions, "refused": run.refused, "cancels": run.cancels}

    for line in sys.stdin:
        cmd = json.loads(line)
        try:
            if cmd["op"] == "stop":
                stop.set()
                trader.join(30)
                reply: Any = {"ok": True}
            elif cmd["op"] == "wait_connected":
                deadline = time.monotonic() + cmd["seconds"]
                while not pa.is_connected() and time.monotonic() < deadline:
                    time.sleep(0.05)
                reply = {"ok": pa.is_connected()}
            elif cmd["op"] == "report":
                reply = {"ok": report(cmd["ids"])}
            else:
                reply = {"error": f"unknown op {cmd['op']}"}
        except Exception as exc:  # noqa: BLE001 - reported to the soak
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(reply), flush=True)
    pa.disconnect()
    return 0


# --- the soak ----------------------------------------------------------------------------------------------
class Cluster:
    """The service and the strategies, and the faults that kill them."""

    def __init__(self, work: Path, sim: Simulator, clients: int, step: float) -> None:
        self.work = work
        self.step = step
        self.config = write_config(work, sim.port)
        self.service = ServiceProcess(self.config, work)
        self.names = [f"strategy-{i}" for i in range(clients)]
        self.strategies: dict[str, StrategyProcess] = {}
        self.lock = threading.Lock()
        for name in self.names:
            self.strategies[name] = self._start(name)
        for name in self.names:
            if not self.strategies[name].ready():
                raise RuntimeError(f"{name} did not start")

    def log(self, name: str) -> Path:
        return self.work / f"{name}.log"

    def _start(self, name: str) -> StrategyProcess:
        return StrategyProcess(self.service.commands, name, self.log(name), self.step)

    def kill_service(self, down: float) -> None:
        """SIGKILL the service, then start it again after ``down`` seconds on the same endpoints."""
        self.service.kill()
        time.sleep(down)
        self.service = ServiceProcess(self.config, self.work, self.service.commands, self.service.events)

    def kill_client(self, name: str) -> None:
        """SIGKILL one strategy and start it again under its name (connected and trading on return)."""
        with self.lock:
            self.strategies[name].kill()
            self.strategies[name] = self._start(name)
        if not self.strategies[name].ready():
            raise RuntimeError(f"{name} did not come back")

    def stop(self) -> None:
        for strategy in self.strategies.values():
            strategy.kill()
        self.service.stop()


def service_fault(cluster: Cluster, rng: random.Random) -> tuple[str, float]:
    """Kill the service or a strategy (and start it again); returns its name and how long its
    effect lasted (until the process was back)."""
    started = time.monotonic()
    if rng.random() < 0.5:
        cluster.kill_service(rng.uniform(0.0, 1.0))
        kind = "service_kill"
    else:
        name = rng.choice(cluster.names)
        cluster.kill_client(name)
        kind = "client_kill"
    return kind, time.monotonic() - started


def soak(clients: int, seconds: float, every: float, seed: int, step: float = 0.2, quiet_every: int = 4,
         service_share: float = 0.3, work_dir: Path | None = None, min_faults: int = 0) -> dict[str, Any]:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="soak_chaos_remote_") as tmp:
        work = work_dir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        sim = Simulator(work / "gateway.json")
        cluster: Cluster | None = None
        faults: Counter[str] = Counter()
        timeline: list[tuple[float, float, str]] = []
        quiet: list[float] = []
        stop = threading.Event()
        enough = threading.Event()  # min_faults injected
        failure: list[str] = []
        try:
            cluster = Cluster(work, sim, clients, step)
            started = time.monotonic()

            def chaos() -> None:
                assert cluster is not None
                count = 0
                try:
                    while not stop.wait(rng.uniform(0.5, 1.5) * every):
                        at = time.monotonic() - started
                        if rng.random() < service_share:
                            kind, length = service_fault(cluster, rng)
                        else:
                            kind, length = fault(sim, rng, stop)
                        faults[kind] += 1
                        timeline.append((round(at, 2), round(at + length, 2), kind))
                        count += 1
                        if count >= min_faults:
                            enough.set()
                        if count % quiet_every == 0:
                            end = max(at + length, time.monotonic() - started)
                            stop.wait(end + STREAM_LIMIT + 1.0 - (time.monotonic() - started))
                            if not stop.is_set():
                                quiet.append(round(end, 2))
                except Exception as exc:  # noqa: BLE001 - the soak fails with it
                    failure.append(f"chaos: {type(exc).__name__}: {exc}")

            injector = threading.Thread(target=chaos, name="chaos", daemon=True)
            injector.start()
            stop.wait(seconds)
            enough.wait(MIN_FAULTS_GRACE if min_faults > 0 else 0)  # a slow machine injects fewer in the time
            stop.set()
            injector.join(120)
            sim.command("thaw")
            time.sleep(STREAM_LIMIT + 1.0)  # trading goes on while every stream comes back
            for strategy in cluster.strategies.values():
                strategy.ask("stop")
            for strategy in cluster.strategies.values():
                if not strategy.ask("wait_connected", seconds=30):
                    failure.append(f"{strategy.name} not connected at the end")
            elapsed = time.monotonic() - started
            book = sim.book()
            ids = sorted(oid for cid, oid, _, _ in book["orders"] if cid == CLIENT_ID)
            placed = {name: [oid for kind, oid, *_ in read_log(cluster.log(name)) if kind == "placed"]
                      for name in cluster.names}
            asked = sorted(set(ids).union(*placed.values()))
            reports = {name: s.ask("report", timeout=120, ids=asked) for name, s in cluster.strategies.items()}
            book = sim.book()  # after the reports: every status the service had by then
            logs = {name: read_log(cluster.log(name)) for name in cluster.names}
            result = check(book, reports, logs, started, elapsed)
            result["problems"][:0] = failure
            result["faults"] = dict(sorted(faults.items()))
            result["timeline"] = timeline
            result["quiet"] = quiet
            judge_quiet(result, logs, started)
            return result
        finally:
            stop.set()
            if cluster is not None:
                cluster.stop()
            sim.stop()


def check(book: dict[str, Any], reports: dict[str, Any], logs: dict[str, list[list[Any]]], started: float,
          seconds: float) -> dict[str, Any]:
    """Compare what every strategy saw and was told with the gateway (see the module)."""
    problems: list[str] = []
    at_gw = {oid: (status, str(float(filled))) for cid, oid, status, filled in book["orders"] if cid == CLIENT_ID}
    seen: dict[int, set[str]] = {}  # order id -> strategies whose logs name it
    last: dict[tuple[str, int], tuple[str, str]] = {}
    placed: dict[str, list[int]] = {}
    fills: dict[str, list[tuple[str, int, bool, int]]] = {}  # name -> (exec id, order id, flagged, process)
    errors: Counter[str] = Counter()
    starts: Counter[str] = Counter()
    for name, lines in logs.items():
        process = 0
        for kind, *rest in lines:
            if kind == "start":
                process += 1
                starts[name] += 1
            elif kind == "placed":
                placed.setdefault(name, []).append(rest[0])
                seen.setdefault(rest[0], set()).add(name)
            elif kind == "status":
                oid, status, filled = rest[0], rest[1], rest[2]
                seen.setdefault(oid, set()).add(name)
                last[(name, oid)] = (status, str(float(filled)))
            elif kind == "fill":
                seen.setdefault(rest[0], set()).add(name)
                fills.setdefault(name, []).append((rest[1], rest[0], bool(rest[2]), process))
            elif kind == "error":
                errors[f"{rest[0]}"] += 1
    for name, count in errors.items():
        problems.append(f"a call failed with {name} ({count} times): only NotConnected is expected")
    owners: dict[int, str] = {}
    for oid in sorted(set(at_gw) | set(seen)):
        told = [n for n, r in reports.items() if r["answers"].get(str(oid), "unknown") != "unknown"]
        names = seen.get(oid, set())
        if len(told) != 1:
            problems.append(f"order {oid}: the service gives its status to {told or 'nobody'}")
            continue
        owner = told[0]
        owners[oid] = owner
        if names - {owner}:
            problems.append(f"order {oid} of {owner}: seen by {sorted(names - {owner})}")
        answer = reports[owner]["answers"][str(oid)]
        said = (answer[0], str(float(answer[1])))
        if oid in at_gw:
            if said != at_gw[oid]:
                problems.append(f"order {oid} of {owner}: the service says {said}, the gateway {at_gw[oid]}")
            if last.get((owner, oid)) != at_gw[oid]:
                problems.append(f"order {oid} of {owner}: last status event {last.get((owner, oid))}, "
                                f"the gateway {at_gw[oid]}")
        elif said[0] != "Rejected" or last.get((owner, oid), ("",))[0] != "Rejected":
            problems.append(f"order {oid} of {owner} is not at the gateway: the service says {said}, its last "
                            f"event {last.get((owner, oid))}")
    for name, ids in placed.items():
        if any(b <= a for a, b in zip(ids, ids[1:], strict=False)):
            problems.append(f"{name}: order ids did not only grow")
        mine = [o for o in ids if owners.get(o) not in (None, name)]
        if mine:
            problems.append(f"{name}: its place calls returned ids the service gives to others: {mine[:10]}")
    open_at_gw = {oid for oid, (status, _) in at_gw.items() if status in ("Submitted", "PreSubmitted",
                                                                           "PendingSubmit", "ApiPending")}
    for name, r in reports.items():
        expected = sorted(o for o in open_at_gw if owners.get(o) == name)
        if r["open"] != expected:
            problems.append(f"{name}: open orders {len(r['open'])}, its open orders at the gateway "
                            f"{len(expected)} (differ: {sorted(set(r['open']) ^ set(expected))[:10]})")
    n_placed = book["received"].get("placeOrder", 0)
    refused = sum(1 for o in owners if o not in at_gw)  # each may have been read by the gateway once
    if not len(at_gw) <= n_placed <= len(at_gw) + refused:
        problems.append(f"{n_placed} placeOrder received for {len(at_gw)} orders and {refused} the gateway "
                        "does not have (duplicates)")
    gw_execs = {e: oid for cid, oid, e in book["executions"] if cid == CLIENT_ID}
    delivered = 0
    flagged = 0
    for name, got in fills.items():
        seen_exec: set[str] = set()
        for exec_id, oid, dup, process in got:
            if exec_id not in gw_execs:
                problems.append(f"{name}: a fill {exec_id} of an execution the gateway does not have")
            elif owners.get(gw_execs[exec_id]) != name:
                problems.append(f"{name}: a fill of order {oid}, not its own")
            if dup:
                flagged += 1
                if process < 2:
                    problems.append(f"{name}: fill {exec_id} flagged possible_duplicate in its first process")
            elif exec_id in seen_exec:
                problems.append(f"{name}: fill {exec_id} delivered again without possible_duplicate")
            seen_exec.add(exec_id)
            delivered += 1
    missing = [e for e, oid in gw_execs.items()
               if not any(x == e for x, *_ in fills.get(owners.get(oid, ""), []))]
    if missing:
        problems.append(f"{len(missing)} executions at the gateway never reached their owner: {missing[:5]}")
    positions = next(iter(reports.values()))["positions"] if reports else {}
    if positions != book["positions"]:
        problems.append(f"positions: the service {positions}, the gateway {book['positions']}")
    return {"ok": not problems, "problems": problems, "seconds": round(seconds, 1),
            "clients": len(logs), "processes": dict(starts), "orders_placed": sum(map(len, placed.values())),
            "orders_at_gateway": len(at_gw), "orders_by_owner": dict(Counter(owners.values())),
            "placements_refused": sum(r["refused"] for r in reports.values()),
            "cancels_sent": sum(r["cancels"] for r in reports.values()),
            "never_sent": sum(1 for o in owners if o not in at_gw),
            "fills_delivered": delivered, "fills_flagged": flagged,
            "executions_at_gateway": len(gw_execs), "positions": positions,
            "restarts_at_gateway": book["restarts"], "reset_windows": book["reset_windows"]}


def judge_quiet(result: dict[str, Any], logs: dict[str, list[list[Any]]], started: float) -> None:
    """Every stream of every strategy flows within ``STREAM_LIMIT`` of each quiet period's start."""
    late = []
    for name, lines in logs.items():
        marks: dict[str, list[float]] = {s: [] for s in STREAMS}
        for kind, *rest in lines:
            if kind == "mark":
                marks[rest[0]].append(rest[1] - started)
        for q in result["quiet"]:
            late += [(q, name, s) for s, times in marks.items() if not any(q < x <= q + STREAM_LIMIT for x in times)]
    if late:
        result["problems"].append(f"streams silent for {STREAM_LIMIT:g}s after a quiet period's start "
                                  f"(start, strategy, stream): {late}")
    result["ok"] = not result["problems"]


def report(result: dict[str, Any], a: argparse.Namespace) -> str:
    lines = [f"# Soak: IB's and the service's failure modes at random, {a.clients} strategies through the service",
             "",
             f"`python scripts/soak_chaos_remote.py --clients {a.clients} --seconds {a.seconds:g} --every {a.every:g} "
             f"--seed {a.seed} --step {a.step:g} --quiet-every {a.quiet_every} --service-share {a.service_share:g}`: "
             f"the simulator, the service and {a.clients} strategy processes (RemoteAdapter); one fault about every "
             f"{a.every:g} s, {a.service_share:.0%} of them the service's own (the service or a strategy killed "
             "and started again), the others IB's (as `soak_chaos.py`); a quiet period after every "
             f"{a.quiet_every}. Each strategy takes a step every {a.step:g} s (market orders that fill, resting "
             "limit orders, cancels) and streams quotes, tick-by-tick and 1-second bars.",
             "",
             f"**Result: {'PASS' if result['ok'] else 'FAIL'}** in {result['seconds']} s.",
             "",
             "| measure | value |",
             "|---|---|",
             f"| faults injected | {', '.join(f'{k} x{v}' for k, v in result['faults'].items())} |",
             f"| strategy processes started, per name | {result['processes']} |",
             f"| quiet periods (every stream of every strategy flowing within {STREAM_LIMIT:g} s) "
             f"| {len(result['quiet'])} |",
             f"| orders placed (ids returned) / at the gateway | {result['orders_placed']} / "
             f"{result['orders_at_gateway']} |",
             f"| orders per owner | {result['orders_by_owner']} |",
             f"| placements refused (NotConnected) | {result['placements_refused']} |",
             f"| orders that never reached IB (Rejected for their owner) | {result['never_sent']} |",
             f"| cancels sent | {result['cancels_sent']} |",
             f"| fills delivered (flagged possible_duplicate) / executions at the gateway | "
             f"{result['fills_delivered']} ({result['fills_flagged']}) / {result['executions_at_gateway']} |",
             f"| positions (service = gateway) | {result['positions']} |",
             f"| gateway restarts / reset windows | {result['restarts_at_gateway']} / {result['reset_windows']} |"]
    return "\n".join(lines + footer(result)) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--strategy"]:
        return strategy_main(argv[1], argv[2], argv[3], float(argv[4]))
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--clients", type=int, default=3, help="strategy processes")
    add_fault_args(p, 0.2, "seconds between each strategy's steps")
    p.add_argument("--service-share", type=float, default=0.3, help="the share of faults that are the service's")
    p.add_argument("--work", type=Path, default=None, help="keep the logs here (default: a scratch directory)")
    p.add_argument("--report", type=Path, default=ROOT / "bench" / "results" / "soak_chaos_remote.md")
    p.add_argument("--json", type=Path, default=None, help="also write the result as JSON here")
    a = p.parse_args(argv)
    result = soak(a.clients, a.seconds, a.every, a.seed, a.step, a.quiet_every, a.service_share, a.work,
                  a.min_faults)
    return write_result(result, report(result, a), a.report, a.json)


if __name__ == "__main__":
    raise SystemExit(main())
