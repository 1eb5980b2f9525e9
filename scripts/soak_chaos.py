"""Soak: IB's failure modes at random while a strategy trades and streams.

The simulator runs in its own process; a chaos thread injects one fault every ``--every`` seconds
(a random pause around it), drawn at random (``--seed``) from: the link dropped; the gateway
frozen with the socket open for 1-3 s (``stall``); a market data or HMDS farm down for 0.5-2 s,
back with its OK, with its streams lost, or as "inactive" (2108/2107); IB's reset window for 2 s
(1100, reports held, then 1102, or 1101 with data lost); the gateway restarted (down 1 s); the
link dropped as the next placeOrder arrives, before or after the gateway took it; new
connections refused for 1 s after a drop. The strategy of ``soak_restarts.py`` trades
throughout (market orders that fill, resting limit orders, cancels) and streams quotes,
tick-by-tick and 1-second bars. After every ``--quiet-every`` faults comes a quiet period. After
``--seconds`` the faults stop and the checks of ``soak_restarts.py`` run: no order lost or
duplicated, ids only grow, every fill once, positions as the gateway's; every stream flows again
within 5 s of each reconnect that no fault disturbed within that time, and within 5 s of the
start of each quiet period (the last fault's effect over).

    python scripts/soak_chaos.py [--seconds 120] [--every 3] [--seed 1] [--quiet-every 4] [--min-faults 0]
        [--report bench/results/soak_chaos.md] [--json PATH]
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from soak_restarts import (  # noqa: E402
    ROOT,
    STREAM_LIMIT,
    STREAMS,
    Run,
    Simulator,
    adapter,
    check,
    footer,
    reconnects,
    start,
    trade,
    wait,
    write_result,
)

from platform_adapter import PlatformAdapter  # noqa: E402

MIN_FAULTS_GRACE = 120.0  # --min-faults: at most this many seconds of faults after --seconds


def fault(sim: Simulator, rng: random.Random, stop: threading.Event) -> tuple[str, float]:
    """Inject one random fault (waiting out a farm outage); returns its name and how long its effect
    lasts from its start (0 for a drop)."""
    kind = rng.choice(["drop", "stall", "farm", "hmds", "reset", "restart", "drop_on_order", "refuse"])
    started = time.monotonic()
    length = 0.0
    if kind == "drop":
        sim.command("drop")
    elif kind == "stall":
        length = rng.uniform(1.0, 3.0)
        sim.command(f"stall {length:.2f}")
    elif kind in ("farm", "hmds"):
        code = rng.choice([2103, 2119]) if kind == "farm" else 2105
        how = rng.choice(["", " lost", " inactive"])
        kind = f"{kind} {code}{how}"
        sim.command(f"farm_down {code}")
        stop.wait(rng.uniform(0.5, 2.0))
        sim.command(f"farm_up {code}{how}")
        length = time.monotonic() - started
    elif kind == "reset":
        lost = rng.random() < 0.5
        kind += " lost" if lost else ""
        sim.command("reset 2" + (" lost" if lost else ""))
        length = 2.0
    elif kind == "restart":
        sim.command("restart 1")
        length = 1.0
    elif kind == "drop_on_order":
        when = rng.choice(["before", "after"])
        kind += f" {when}"
        sim.command(f"drop_on_next_order {when}")
        length = 0.5  # armed until the strategy's next order
    else:
        sim.command("refuse 1")
        sim.command("drop")
        length = 1.0
    return kind, length


def soak(seconds: float, every: float, seed: int, step_seconds: float = 0.1, quiet_every: int = 4,
         min_faults: int = 0) -> dict[str, Any]:
    import tempfile  # noqa: PLC0415

    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="soak_chaos_") as tmp:
        work = Path(tmp)
        sim = Simulator(work / "gateway.json")
        run = Run()
        pa: PlatformAdapter = adapter(sim.port, work)
        faults: Counter[str] = Counter()
        timeline: list[tuple[float, float, str]] = []  # (start, end of its effect, fault), seconds from the start
        quiet: list[float] = []  # quiet periods' starts: the last fault's effect over
        stop = threading.Event()
        enough = threading.Event()  # min_faults injected: a slow machine injects fewer in the time

        def chaos() -> None:
            count = 0
            while not stop.wait(rng.uniform(0.5, 1.5) * every):
                at = time.monotonic() - started
                kind, length = fault(sim, rng, stop)
                faults[kind] += 1
                timeline.append((round(at, 2), round(at + length, 2), kind))
                count += 1
                if count >= min_faults:
                    enough.set()
                if count % quiet_every == 0:  # a quiet period: every stream must flow again in it
                    end = max(at + length, time.monotonic() - started)
                    stop.wait(end + STREAM_LIMIT + 1.0 - (time.monotonic() - started))
                    if not stop.is_set():
                        quiet.append(round(end, 2))

        try:
            start(pa, run)
            injector = threading.Thread(target=chaos, name="chaos", daemon=True)
            started = time.monotonic()
            injector.start()
            resting: list[int] = []
            step = 0
            while time.monotonic() - started < seconds or not enough.is_set() and min_faults > 0 \
                    and time.monotonic() - started < seconds + MIN_FAULTS_GRACE:
                trade(pa, run, step, resting)
                step += 1
                time.sleep(step_seconds)
            stop.set()
            injector.join(30)
            sim.command("thaw")
            settle_until = time.monotonic() + STREAM_LIMIT + 1.0
            while time.monotonic() < settle_until:  # trading goes on while every stream comes back
                trade(pa, run, step, resting)
                step += 1
                time.sleep(step_seconds)
            if not wait(lambda: pa.is_connected() and pa.connection.ib_link_ok, 20):
                raise RuntimeError("not connected at the end")
            pa.orders.reconcile()
            pa.events.wait_idle(10)
            result = check(pa, sim.book(), run, time.monotonic() - started)
            result["faults"] = dict(sorted(faults.items()))
            result["timeline"] = timeline
            with run.lock:
                result["events"] = [(kind, round(t - started, 2)) for kind, t in run.events]
                stamps = {name: [round(t - started, 3) for t in v] for name, v in run.stamps.items()}
            result["quiet"] = quiet
            judge_streams(result, stamps)
            result["reconnects"] = reconnects(run)
            return result
        finally:
            stop.set()
            pa.disconnect()
            sim.stop()


def judge_streams(result: dict[str, Any], stamps: dict[str, list[float]]) -> None:
    """Replace the stream problem of ``check`` (which judges every reconnect, also one the next
    fault cut short) with two: every stream flows again within ``STREAM_LIMIT`` seconds of a
    reconnect that no fault's effect overlapped within that time (``streams_judged``), and within
    ``STREAM_LIMIT`` seconds of the start of every quiet period (the last fault's effect over)."""
    reconnected = [t for kind, t in result["events"] if kind == "reconnected"]
    judged, slow = [], []
    for i, (t, row) in enumerate(zip(reconnected, result["stream_back_seconds"], strict=False), 1):
        if any(start < t + STREAM_LIMIT and end > t for start, end, _ in result["timeline"]):
            continue  # a fault's effect under way at the reconnect or within the limit after it
        judged.append(i)
        slow += [(i, name, back) for name, back in row.items() if back is None or back > STREAM_LIMIT]
    late = [(q, name) for q in result["quiet"] for name, times in stamps.items()
            if not any(q < x <= q + STREAM_LIMIT for x in times)]
    result["problems"] = [p for p in result["problems"] if not p.startswith("streams not back")]
    if slow:
        result["problems"].append(f"streams not back within {STREAM_LIMIT:g}s of an undisturbed reconnect: {slow}")
    if late:
        result["problems"].append(f"streams silent for {STREAM_LIMIT:g}s after the faults stopped (quiet period "
                                  f"start, stream): {late}")
    result["streams_judged"] = judged
    result["ok"] = not result["problems"]


def report(result: dict[str, Any], seconds: float, every: float, seed: int, step: float, quiet_every: int) -> str:
    lines = [f"# Soak: IB's failure modes at random for {seconds:g} s",
             "",
             f"`python scripts/soak_chaos.py --seconds {seconds:g} --every {every:g} --seed {seed} --step {step:g} "
             f"--quiet-every {quiet_every}`: one fault about every {every:g} s, drawn at random, and after every "
             f"{quiet_every} a quiet period ({STREAM_LIMIT + 1:g} s after the last one's effect); the strategy "
             f"takes a step every {step:g} s "
             "(market orders that fill, resting limit orders, cancels) and streams quotes, tick-by-tick and "
             "1-second bars. The checks of `soak_restarts.py` follow.",
             "",
             f"**Result: {'PASS' if result['ok'] else 'FAIL'}** in {result['seconds']} s.",
             "",
             "| measure | value |",
             "|---|---|",
             f"| faults injected | {', '.join(f'{k} x{v}' for k, v in result['faults'].items())} |",
             f"| adapter reconnects | {result['reconnects']} |",
             f"| quiet periods (every stream flowing again within {STREAM_LIMIT:g} s of each) "
             f"| {len(result['quiet'])} |",
             f"| orders placed / at the gateway | {result['orders_placed']} / {result['orders_at_gateway']} |",
             f"| placements refused while down (NotConnected) | {result['placements_refused']} |",
             f"| placements the gateway never read (found by reconciliation, not re-sent) | {result['never_sent']} |",
             f"| cancels sent | {result['cancels_sent']} |",
             f"| fills delivered / executions at the gateway | {result['fills']} / {result['executions_at_gateway']} |",
             f"| positions (adapter = gateway) | {result['positions']} |",
             f"| drop to reconnected (s) | {', '.join(map(str, result['reconnect_seconds']))} |",
             "",
             "Seconds from each reconnect to the first update of each stream (judged against the 5 s limit only "
             f"after the reconnects no fault disturbed within it: {len(result['streams_judged'])} of "
             f"{len(result['stream_back_seconds'])}, marked *):",
             "",
             "| reconnect | " + " | ".join(STREAMS) + " |",
             "|---|" + "---|" * len(STREAMS)]
    for i, row in enumerate(result["stream_back_seconds"], 1):
        mark = "*" if i in result["streams_judged"] else ""
        lines.append(f"| {i}{mark} | " + " | ".join("-" if row[s] is None else f"{row[s]:.2f}" for s in STREAMS) + " |")
    return "\n".join(lines + footer(result)) + "\n"


def add_fault_args(p: argparse.ArgumentParser, step: float, step_help: str) -> None:
    """The options of the fault schedule and the strategy's pace (this soak's and the remote one's)."""
    p.add_argument("--seconds", type=float, default=120.0, help="how long the faults go on")
    p.add_argument("--every", type=float, default=3.0, help="seconds between faults, on average")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--step", type=float, default=step, help=step_help)
    p.add_argument("--quiet-every", type=int, default=4, help="a quiet period after this many faults")
    p.add_argument("--min-faults", type=int, default=0,
                   help=f"go on after --seconds until this many faults were injected "
                        f"(at most {MIN_FAULTS_GRACE:g} s more)")


def main(argv: list[str] | None = None) -> int:
    from loguru import logger  # noqa: PLC0415

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_fault_args(p, 0.1, "seconds between the strategy's steps")
    p.add_argument("--report", type=Path, default=ROOT / "bench" / "results" / "soak_chaos.md")
    p.add_argument("--json", type=Path, default=None, help="also write the result as JSON here")
    a = p.parse_args(argv)
    logger.remove()  # the adapter's log lines would drown the result
    result = soak(a.seconds, a.every, a.seed, a.step, a.quiet_every, a.min_faults)
    return write_result(result, report(result, a.seconds, a.every, a.seed, a.step, a.quiet_every), a.report, a.json)


if __name__ == "__main__":
    raise SystemExit(main())
