"""Soak: a week of daily gateway restarts, compressed.

The simulator runs in its own process with a fast clock (a day in ``--day-seconds`` of wall time),
restarts daily at midnight of its clock (every connection dropped, new ones refused for ``--down``
seconds, orders, executions and positions kept, as a gateway restarted with its state) and has
IB's nightly reset window at 06:00 (1100, reports held, 1102). A strategy trades throughout:
market orders that fill, resting limit orders, cancels. It streams quotes, tick-by-tick and
5-second bars (every second here). After ``--restarts`` restarts it checks:

* no order lost: every order the gateway has is known to the adapter with the same status and
  filled quantity; an order the adapter could not place (NotConnected) is not at the gateway;
* no order duplicated: the gateway received exactly one placeOrder per order it has;
* order ids only grow;
* every fill delivered exactly once (none flagged ``possible_duplicate``), positions as the gateway's;
* every stream back (a fresh quote, a tick, a bar) within 5 s of each reconnect;
* RSS flat: the adapter's process grows by less than ``RSS_SLACK`` after the first restart.

    python scripts/soak_restarts.py [--restarts 5] [--day-seconds 20] [--down 2]
        [--report bench/results/soak_restarts.md] [--json PATH]
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
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import control  # noqa: E402
from loguru import logger  # noqa: E402

from platform_adapter import NotConnected, OrderState, PlatformAdapter  # noqa: E402
from platform_adapter.adapters.orders.reconciliation import NEVER_SENT  # noqa: E402
from platform_adapter.config.settings import load_settings  # noqa: E402
from platform_adapter.errors import OrderStateError  # noqa: E402
from platform_adapter.models.connection import ConnectionEvent, ConnectionEventKind  # noqa: E402

LOOPBACK = "127.0.0.1"
CLIENT_ID = 1
STREAM_LIMIT = 5.0  # seconds: every stream back within this after a reconnect
RSS_SLACK = 8 * 1024 * 1024  # bytes the adapter may grow after the first restart
STREAMS = ("quotes", "ticks", "bars")


def rss_bytes() -> int:
    """This process's resident set size."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class Simulator:
    """``python -m platform_adapter.sim`` in its own process (``options``: more of its command line)
    and its control socket."""

    def __init__(self, state: Path, *options: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "platform_adapter.sim", "--port", "0", "--control-port", "0", "--seed", "7",
             "--tick-interval", "0.1", "--rt-bar-interval", "1", "--state-file", str(state), "--log-level", "ERROR",
             *options],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
        assert self.proc.stdout is not None and self.proc.stderr is not None
        control_line = self.proc.stderr.readline().split()
        listening = self.proc.stdout.readline().split()
        if len(control_line) != 3 or len(listening) != 3:
            self.proc.kill()
            raise RuntimeError(f"simulator did not start: {control_line} {listening}")
        self.control_port = int(control_line[2].rsplit(":", 1)[1])
        self.port = int(listening[2].rsplit(":", 1)[1])

    def command(self, line: str) -> str:
        return control(self.control_port, line, timeout=30)[3:]

    def book(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.command("orders"))
        return result

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


@dataclass
class Run:
    """What the strategy saw."""

    ids: list[int] = field(default_factory=list)
    refused: int = 0  # placements and cancels refused with NotConnected (link down)
    cancels: int = 0
    fills: list[Any] = field(default_factory=list)
    stamps: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name in STREAMS})
    events: list[tuple[str, float]] = field(default_factory=list)
    rss: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def stamp(self, stream: str) -> Callable[..., None]:
        def record(*args: Any) -> None:
            quote = args[-1]
            if stream == "quotes" and getattr(quote, "stale", False):
                return
            with self.lock:
                self.stamps[stream].append(time.monotonic())
        return record


def daily(day_seconds: float, down: float) -> list[str]:
    """The simulator's options for a fast clock (a day in ``day_seconds``), a restart at its
    midnight (down ``down`` seconds) and IB's reset window at 06:00."""
    return ["--clock-rate", str(86_400.0 / day_seconds), "--clock-start", "2026-12-06T18:00:00+00:00",
            "--daily-restart", f"00:00/{down}", "--daily-reset", "06:00/1800"]


def write_result(result: dict[str, Any], text: str, report_path: Path, json_path: Path | None) -> int:
    """Write the report (and the JSON result if asked), print the result; the exit code."""
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(text)
    if json_path is not None:
        json_path.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result), flush=True)
    return 0 if result["ok"] else 1


def adapter(port: int, work: Path) -> PlatformAdapter:
    settings = load_settings(None, env_file=os.devnull, use_environ=False, overrides={
        "ib_connection.host": LOOPBACK, "ib_connection.port": port, "ib_connection.client_id": CLIENT_ID,
        "ib_connection.timeout": 10.0, "ib_connection.request_timeout": 15.0,
        "ib_connection.reconnect_backoff": 0.2, "ib_connection.reconnect_max_delay": 1.0,
        "ib_connection.reconnect_max_attempts": 1000, "logging.log_dir": str(work / "logs"),
        "logging.console": False, "orders.journal_path": str(work / "orders.db"), "environment": "test"})
    return PlatformAdapter(settings=settings, configure_logging=False)


def trade(pa: PlatformAdapter, run: Run, step: int, resting: list[int]) -> None:
    """One step of the strategy: buy or sell 1 MSFT at market, rest a limit order, cancel the oldest."""
    kind = step % 4
    try:
        if kind == 3 and len(resting) > 3:
            oid = resting.pop(0)
            try:
                pa.orders.cancel_order(oid)
                run.cancels += 1
            except OrderStateError:
                pass
            return
        if kind == 1 or kind == 3:
            oid = pa.orders.place_order("AAPL", "BUY", 1, "LMT", limit_price=100.0, tif="GTC")
            resting.append(oid)
        else:
            oid = pa.orders.place_order("MSFT", "BUY" if kind == 0 else "SELL", 1, "MKT")
        run.ids.append(oid)
    except NotConnected:
        run.refused += 1


def start(pa: PlatformAdapter, run: Run) -> None:
    """Connect the strategy's adapter: its connection events and fills recorded in ``run``, its
    streams (quotes, tick-by-tick, 1-second bars) subscribed."""
    pa.on_connection_event(lambda e: on_event(run, e))
    pa.orders.on_fill(lambda fill: run.fills.append(fill))
    if not pa.connect():
        raise RuntimeError(f"connect failed: {pa.connection.last_error}")
    pa.market_data.subscribe_quotes(["AAPL", "MSFT"], run.stamp("quotes"))
    pa.market_data.subscribe_tick_by_tick("SPY", "MidPoint", run.stamp("ticks"))
    pa.market_data.subscribe_real_time_bars("TSLA", run.stamp("bars"))


def soak(restarts: int, day_seconds: float, down: float, step_seconds: float = 0.1) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="soak_restarts_") as tmp:
        work = Path(tmp)
        sim = Simulator(work / "gateway.json", *daily(day_seconds, down))
        run = Run()
        pa = adapter(sim.port, work)
        try:
            start(pa, run)
            started = time.monotonic()
            resting: list[int] = []
            step = 0
            settle_until = None
            while settle_until is None or time.monotonic() < settle_until:
                trade(pa, run, step, resting)
                step += 1
                time.sleep(step_seconds)
                if settle_until is None and reconnects(run) >= restarts:
                    sim.command("clock_rate 1")  # the week is over: no restart during the checks
                    settle_until = time.monotonic() + STREAM_LIMIT + 1.0
                if time.monotonic() - started > (restarts + 2) * day_seconds + 60:
                    raise RuntimeError(f"only {reconnects(run)} of {restarts} restarts seen")
            if not wait(lambda: pa.is_connected() and pa.connection.ib_link_ok, 10):
                raise RuntimeError("not connected at the end")
            pa.orders.reconcile()
            pa.events.wait_idle(10)
            return check(pa, sim.book(), run, time.monotonic() - started)
        finally:
            pa.disconnect()
            sim.stop()


def on_event(run: Run, event: ConnectionEvent) -> None:
    with run.lock:
        run.events.append((event.kind.value, time.monotonic()))
    if event.kind is ConnectionEventKind.RECONNECTED:
        run.rss.append(rss_bytes())


def reconnects(run: Run) -> int:
    with run.lock:
        return sum(kind == ConnectionEventKind.RECONNECTED.value for kind, _ in run.events)


def wait(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def check(pa: PlatformAdapter, book: dict[str, Any], run: Run, seconds: float) -> dict[str, Any]:
    """Compare the adapter with the gateway; the soak's result (``ok`` and every measure)."""
    problems: list[str] = []
    at_gw = {oid: (status, Decimal(str(filled))) for cid, oid, status, filled in book["orders"] if cid == CLIENT_ID}
    ours = {o.order_id: o for o in pa.orders.state.trades_snapshot() if o.client_id == CLIENT_ID}
    for oid, order in ours.items():
        st = order.status
        if st.status is OrderState.REJECTED and st.reject_reason == NEVER_SENT:
            if oid in at_gw:
                problems.append(f"order {oid} marked never sent but the gateway has it")
        elif at_gw.get(oid) != (st.status.value, st.filled):
            problems.append(f"order {oid}: adapter {st.status.value} {st.filled}, gateway {at_gw.get(oid)}")
    lost = sorted(set(at_gw) - set(ours))
    if lost:
        problems.append(f"orders at the gateway the adapter does not know: {lost}")
    placed = book["received"].get("placeOrder", 0)
    if placed != len(at_gw):
        problems.append(f"{placed} placeOrder received for {len(at_gw)} orders (duplicates)")
    if any(b <= a for a, b in zip(run.ids, run.ids[1:], strict=False)):
        problems.append("order ids did not only grow")
    gw_execs = sorted(e for cid, _, e in book["executions"] if cid == CLIENT_ID)
    delivered = sorted(f.exec_id for f in run.fills)
    if delivered != gw_execs:
        problems.append(f"fills delivered {len(delivered)} ({len(set(delivered))} distinct), "
                        f"gateway executions {len(gw_execs)}")
    if any(f.possible_duplicate for f in run.fills):
        problems.append("a fill was flagged possible_duplicate without a crash")
    positions = {p.symbol: float(p.quantity) for p in pa.account.get_positions() if p.quantity}
    if positions != book["positions"]:
        problems.append(f"positions: adapter {positions}, gateway {book['positions']}")
    back = stream_recovery(run)
    slow = [(i, name, t) for i, row in enumerate(back, 1) for name, t in row.items() if t is None or t > STREAM_LIMIT]
    if slow:
        problems.append(f"streams not back within {STREAM_LIMIT:g}s: {slow}")
    growth = run.rss[-1] - run.rss[0] if len(run.rss) > 1 else 0
    if growth > RSS_SLACK:
        problems.append(f"RSS grew {growth / 2**20:.1f} MiB after the first restart")
    return {"ok": not problems, "problems": problems, "seconds": round(seconds, 1),
            "restarts_at_gateway": book["restarts"], "reset_windows": book["reset_windows"],
            "reconnects": reconnects(run), "orders_placed": len(run.ids), "orders_at_gateway": len(at_gw),
            "placements_refused": run.refused, "cancels_sent": run.cancels, "fills": len(delivered),
            "executions_at_gateway": len(gw_execs), "positions": positions,
            "never_sent": sum(o.status.reject_reason == NEVER_SENT for o in ours.values()),
            "stream_back_seconds": back, "reconnect_seconds": reconnect_times(run),
            "rss_mib": [round(x / 2**20, 1) for x in run.rss]}


def reconnect_times(run: Run) -> list[float]:
    """Per restart: seconds from the drop to the adapter ready again (the gateway's down time included)."""
    with run.lock:
        events = list(run.events)
    out, dropped = [], None
    for kind, t in events:
        if kind == ConnectionEventKind.DISCONNECTED.value:
            dropped = t
        elif kind == ConnectionEventKind.RECONNECTED.value and dropped is not None:
            out.append(round(t - dropped, 2))
            dropped = None
    return out


def stream_recovery(run: Run) -> list[dict[str, float | None]]:
    """Per reconnect: seconds from the reconnect to each stream's first update after it."""
    with run.lock:
        marks = [t for kind, t in run.events if kind == ConnectionEventKind.RECONNECTED.value]
        stamps = {name: list(v) for name, v in run.stamps.items()}
    rows = []
    for t in marks:
        row: dict[str, float | None] = {}
        for name in STREAMS:
            first = next((s for s in stamps[name] if s >= t), None)
            row[name] = round(first - t, 3) if first is not None else None
        rows.append(row)
    return rows


def report(result: dict[str, Any], restarts: int, day_seconds: float, down: float, step: float) -> str:
    lines = [f"# Soak: {restarts} daily gateway restarts, compressed",
             "",
             f"`python scripts/soak_restarts.py --restarts {restarts} --day-seconds {day_seconds:g} --down {down:g} "
             f"--step {step:g}`: "
             f"the simulator's day lasts {day_seconds:g} s; it restarts at midnight of its clock (down {down:g} s) "
             "and has IB's reset window at 06:00 (30 minutes of its clock). The strategy takes a step every "
             f"{step:g} s (market orders that fill, resting limit orders, cancels) and streams quotes, tick-by-tick "
             "and 1-second bars.",
             "",
             f"**Result: {'PASS' if result['ok'] else 'FAIL'}** in {result['seconds']} s.",
             "",
             "| measure | value |",
             "|---|---|",
             f"| gateway restarts / adapter reconnects | {result['restarts_at_gateway']} / {result['reconnects']} |",
             f"| IB reset windows (1100 ... 1102) | {result['reset_windows']} |",
             f"| orders placed / at the gateway | {result['orders_placed']} / {result['orders_at_gateway']} |",
             f"| placements refused while down (NotConnected) | {result['placements_refused']} |",
             "| placements sent as the gateway restarted, never read by it (found by reconciliation, not re-sent) "
             f"| {result['never_sent']} |",
             f"| cancels sent | {result['cancels_sent']} |",
             f"| fills delivered / executions at the gateway | {result['fills']} / {result['executions_at_gateway']} |",
             f"| positions (adapter = gateway) | {result['positions']} |",
             f"| drop to reconnected, per restart (s) | {', '.join(map(str, result['reconnect_seconds']))} |",
             f"| RSS at each reconnect (MiB) | {', '.join(map(str, result['rss_mib']))} |",
             "",
             "Seconds from each reconnect to the first update of each stream, and from the drop (the "
             f"gateway's {down:g} s down included) to every stream back:",
             "",
             "| restart | " + " | ".join(STREAMS) + " | drop to all back |",
             "|---|" + "---|" * (len(STREAMS) + 1)]
    drops = result["reconnect_seconds"]
    for i, row in enumerate(result["stream_back_seconds"], 1):
        cells = ["-" if row[s] is None else f"{row[s]:.2f}" for s in STREAMS]
        times = [row[s] for s in STREAMS]
        whole = drops[i - 1] + max(t for t in times if t is not None) \
            if i <= len(drops) and None not in times else None
        cells.append("-" if whole is None else f"{whole:.2f}")
        lines.append(f"| {i} | " + " | ".join(cells) + " |")
    return "\n".join(lines + footer(result)) + "\n"


def footer(result: dict[str, Any]) -> list[str]:
    """A soak report's last lines: its problems and the machine it ran on."""
    return ["", "Problems: " + ("; ".join(result["problems"]) if result["problems"] else "none"), "",
            f"Machine: {os.cpu_count()} cores, load average {'/'.join(f'{x:.2f}' for x in os.getloadavg())} "
            f"at the end (shared machine: timings are noisy), {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}."]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--restarts", type=int, default=5)
    p.add_argument("--day-seconds", type=float, default=20.0, help="wall seconds per simulated day")
    p.add_argument("--down", type=float, default=2.0, help="seconds the gateway stays down at each restart")
    p.add_argument("--step", type=float, default=0.1, help="seconds between the strategy's steps")
    p.add_argument("--report", type=Path, default=ROOT / "bench" / "results" / "soak_restarts.md")
    p.add_argument("--json", type=Path, default=None, help="also write the result as JSON here")
    a = p.parse_args(argv)
    logger.remove()  # the adapter's log lines would drown the result
    result = soak(a.restarts, a.day_seconds, a.down, a.step)
    return write_result(result, report(result, a.restarts, a.day_seconds, a.down, a.step), a.report, a.json)


if __name__ == "__main__":
    raise SystemExit(main())
