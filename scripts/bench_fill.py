"""Fill round trip as a strategy waits for it: from the place call of a market order until the
calling thread wakes with the order's fill and its commission.

Market orders of 1 AAPL (buy and sell in turn: the position stays flat), placed one after
another by the main thread; the simulator fills each at once and sends execDetails, then the
commission report. Each order is timed from just before the place call until the calling thread,
blocked on a ``threading.Event``, runs again:

* ``pa``: ``orders.place_order`` + ``orders.on_fill`` (the fill with its commission, on the event
  thread, once the fill is durable in the journal) sets the Event;
* ``pa@before``: the same client from another source tree (``--baseline SRC``, e.g. a worktree
  of an earlier commit), measured in the same run;
* ``ibapi``: stock ``EClient.placeOrder``; ``EWrapper.commissionAndFeesReport`` for the order's
  execution (on its ``run`` thread) sets the Event;
* ``ibapi+account``: the same, subscribed to the account's updates as the facade always is
  (``reqAccountUpdates``: the gateway sends the account's values and portfolio after each fill,
  here about a hundred messages, which its wrapper keeps in a dict).

    python scripts/bench_fill.py [--server-version 226] [--orders 1000] [--warmup 50] [--runs 5]
        [--baseline ../wt-before/src]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_clients import LOOPBACK, _pa_settings, stock  # noqa: E402
from bench_common import (  # noqa: E402
    add_server_version,
    emit,
    fmt_runs,
    percentile,
    protocol,
    ratio,
    run_interleaved,
    sim_process,
    summarize,
    write_results,
)

METRICS = ("p50_us", "p99_us", "max_us")
TIMEOUT_S = 10.0


class PaFills:
    def __init__(self, port: int, client_id: int) -> None:
        from loguru import logger  # noqa: PLC0415

        from platform_adapter import PlatformAdapter  # noqa: PLC0415

        self.filled: set[int] = set()
        self.woke = threading.Event()
        self.pa = PlatformAdapter(settings=_pa_settings(port, client_id), configure_logging=False)
        logger.remove()
        self.pa.bucket.rate = self.pa.bucket.capacity = 1e9  # rate limit raised (stated in the results)
        if not self.pa.connect():
            raise RuntimeError(self.pa.connection.last_error)
        self.pa.orders.on_fill(self._on_fill)

    def _on_fill(self, fill: Any) -> None:
        if fill.commission is not None:
            self.filled.add(fill.order_id)
            self.woke.set()

    def place(self, i: int) -> int:
        return int(self.pa.orders.place_order("AAPL", "SELL" if i % 2 else "BUY", 1, "MKT"))

    def server_version(self) -> int:
        return int(self.pa.connection.client.serverVersion())

    def close(self) -> None:
        self.pa.disconnect()


class IbapiFills:
    def __init__(self, port: int, client_id: int, account_updates: bool = False) -> None:
        from ibapi.client import EClient  # noqa: PLC0415
        from ibapi.order import Order  # noqa: PLC0415
        from ibapi.wrapper import EWrapper  # noqa: PLC0415

        self.filled: set[int] = set()
        self.woke = threading.Event()
        self.order_cls = Order
        ready = threading.Event()
        execs: dict[str, int] = {}
        values: dict[tuple[str, str], str] = {}
        accounts: list[str] = []
        outer = self

        class App(EWrapper, EClient):  # type: ignore[misc]
            def __init__(self) -> None:
                EWrapper.__init__(self)
                EClient.__init__(self, self)

            def nextValidId(self, orderId: int) -> None:  # noqa: N802
                outer.next_id = orderId
                ready.set()

            def managedAccounts(self, accountsList: str) -> None:  # noqa: N802
                accounts[:] = accountsList.split(",")

            def updateAccountValue(self, key: str, val: str, currency: str, accountName: str) -> None:  # noqa: N802
                values[key, currency] = val

            def execDetails(self, reqId: int, contract: Any, execution: Any) -> None:  # noqa: N802
                execs[execution.execId] = execution.orderId

            def commissionAndFeesReport(self, report: Any) -> None:  # noqa: N802
                order_id = execs.get(report.execId)
                if order_id is not None:
                    outer.filled.add(order_id)
                    outer.woke.set()

            def error(self, *args: Any) -> None:
                pass

        self.next_id = 0
        self.app = App()
        self.app.connect(LOOPBACK, port, client_id)
        threading.Thread(target=self.app.run, daemon=True).start()
        if not ready.wait(15):
            raise RuntimeError("ibapi: no nextValidId")
        self.contract = stock("AAPL")
        self.base = self.next_id + 10
        if account_updates:
            self.app.reqAccountUpdates(True, accounts[0] if accounts else "")

    def place(self, i: int) -> int:
        order = self.order_cls()
        order.orderId = order_id = self.base + i
        order.action, order.totalQuantity, order.orderType, order.tif = ("SELL" if i % 2 else "BUY"), 1, "MKT", "DAY"
        self.app.placeOrder(order_id, self.contract, order)
        return order_id

    def server_version(self) -> int:
        return int(self.app.serverVersion())

    def close(self) -> None:
        self.app.disconnect()


def worker(name: str, port: int, client_id: int, orders: int, warmup: int) -> None:
    client: PaFills | IbapiFills = (IbapiFills(port, client_id, name == "ibapi+account") if name.startswith("ibapi")
                                    else PaFills(port, client_id))
    rtts: list[float] = []
    perf = time.perf_counter_ns
    for i in range(warmup + orders):
        t0 = perf()
        order_id = client.place(i)
        while order_id not in client.filled:
            if not client.woke.wait(TIMEOUT_S):
                raise RuntimeError(f"{name}: order {order_id} not filled within {TIMEOUT_S:g}s")
            client.woke.clear()
        t1 = perf()
        if i >= warmup:
            rtts.append((t1 - t0) / 1000)
    emit({"client": name, "orders": orders, "server_version": client.server_version(),
          "p50_us": percentile(rtts, 50), "p99_us": percentile(rtts, 99), "max_us": max(rtts)})
    client.close()


def render(version: int, orders: int, warmup: int, runs: int, clients: list[str],
           stats: dict[str, dict[str, Any]], errors: dict[str, str], baseline: str) -> str:
    ref = stats.get("ibapi", {})
    lines = ["| client | p50 us (median of runs) | p99 us | max us | p50 / ibapi | p99 / ibapi | p50 each run "
             "| p99 each run |", "|---|---|---|---|---|---|---|---|"]
    for name in clients:
        s = stats.get(name)
        if not s:
            lines.append(f"| {name} | error | | | | | | |")
            continue
        p50, p99, mx = (s[m]["median"] for m in METRICS)
        r50, r99 = ref.get("p50_us", {}).get("median"), ref.get("p99_us", {}).get("median")
        lines.append(f"| {name} | {p50:.0f} | {p99:.0f} | {mx:.0f} | {ratio(p50, r50)} | {ratio(p99, r99)} | "
                     f"{fmt_runs(s['p50_us']['runs'])} | {fmt_runs(s['p99_us']['runs'])} |")
    errs = [f"- {name}: {text[-300:]}" for name, text in errors.items()]
    return (f"### Fill round trip at server version {version} ({protocol(version)}): place call of a market "
            "order -> calling thread awake with its fill and commission\n\n"
            f"{orders:,} sequential MKT orders of 1 AAPL (buy and sell in turn) after {warmup} warm-up, {runs} runs "
            "(a fresh process per client and run, clients interleaved); figures are medians of the runs.\n\n"
            + "\n".join(lines)
            + ("\n\nErrors:\n\n" + "\n".join(errs) if errs else "")
            + "\n\npa = orders.place_order, its on_fill callback (event thread; the fill with its commission, "
            "durable in the journal) sets the Event; ibapi = EClient.placeOrder, EWrapper.commissionAndFeesReport "
            "for the order's execution sets the Event; ibapi+account = the same, subscribed to the account's "
            "updates (reqAccountUpdates) as the facade always is"
            + (f"; pa@before = pa at {baseline}" if baseline else "")
            + ". Adapter token bucket at 1e9/s, simulator pacing off.")


def main() -> None:
    parser = argparse.ArgumentParser()
    add_server_version(parser)
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--baseline", default="", help="another source tree's src: adds client pa@before")
    parser.add_argument("--worker", nargs=5, metavar=("CLIENT", "PORT", "CLIENT_ID", "ORDERS", "WARMUP"))
    args = parser.parse_args()
    if args.worker:
        name, port, cid, orders, warmup = args.worker
        worker(name, int(port), int(cid), int(orders), int(warmup))
        return
    clients = ["pa", *(["pa@before"] if args.baseline else []), "ibapi", "ibapi+account"]
    with sim_process(server_version=args.server_version, tick_interval=3600.0, pacing=False, seed=5) as sim:
        per_run, errors = run_interleaved(
            "bench_fill.py", clients, args.runs, 300,
            lambda cid: [str(sim.port), str(cid), str(args.orders), str(args.warmup)], args.baseline,
            120 + args.orders * 0.05,
            lambda res: (f"v{res['server_version']} p50 {res['p50_us']:7.0f} p99 {res['p99_us']:7.0f} max "
                         f"{res['max_us']:7.0f} us"))
    stats = {name: {m: summarize([r[m] for r in results]) for m in METRICS}
             for name, results in per_run.items() if results}
    label = ""
    if args.baseline:
        commit = subprocess.run(["git", "-C", args.baseline, "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=False).stdout.strip()
        label = f"commit {commit}" if commit else args.baseline
    table = render(args.server_version, args.orders, args.warmup, args.runs, clients, stats, errors, label)
    path = write_results(f"fill_rtt_{args.server_version}", {
        "server_version": args.server_version, "orders": args.orders, "warmup": args.warmup, "runs": args.runs,
        "baseline": label, "per_run": per_run, "stats": stats, "errors": errors}, table)
    print(path.read_text())


if __name__ == "__main__":
    main()
