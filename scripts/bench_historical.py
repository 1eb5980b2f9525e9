"""Benchmark 3: 100,000 historical bars into a pandas DataFrame.

AAPL 1-minute bars, outside regular hours included, 100 days back (about 100k bars from the
simulator). pa: ``market_data.get_historical_data`` (chunks by IB's step table itself; its
historical pacer is relaxed for this run, simulator pacing off). ibapi and ib_async: the same
1-day chunks requested one after another, bars collected and turned into a DataFrame
(ibapi: ``pd.DataFrame`` of the BarData fields with parsed times; ib_async: ``util.df``).

    python scripts/bench_historical.py [--server-version 226] [--days 100] [--runs 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_clients import CLIENTS, stock  # noqa: E402
from bench_common import (  # noqa: E402
    add_server_version,
    emit,
    protocol,
    run_worker,
    sim_process,
    summarize,
    write_results,
)

CLIENT_ORDER = ("pa", "ibapi", "ib_async")


def _ends(days: int) -> list[str]:
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    return [(now - timedelta(days=k)).strftime("%Y%m%d-%H:%M:%S") for k in range(days)]


def worker(name: str, port: int, client_id: int, days: int) -> None:
    import pandas as pd  # noqa: PLC0415

    client = CLIENTS[name]()
    client.connect(port, client_id)
    t0 = time.perf_counter()
    df: Any
    if name == "pa":
        from platform_adapter.utils.rate_limiter import HistoricalPacer  # noqa: PLC0415

        relaxed = HistoricalPacer(10**6, 50, identical_window=0.0, same_contract_max=10**6)
        client.pa.ctx.historical = client.pa.historical = relaxed
        t0 = time.perf_counter()
        df = client.pa.market_data.get_historical_data("AAPL", f"{days} D", "1 min", use_rth=False, timeout=300)
    elif name == "ibapi":
        for k, end in enumerate(_ends(days)):
            client.bars_done.clear()
            client.app.reqHistoricalData(5000 + k, stock("AAPL"), end, "1 D", "1 min", "TRADES", 0, 2, False, [])
            if not client.bars_done.wait(30):
                raise RuntimeError(f"chunk {k} timed out")
        rows = [{"date": b.date, "open": b.open, "high": b.high, "low": b.low, "close": b.close,
                 "volume": b.volume, "wap": b.wap, "bar_count": b.barCount} for b in client.bars]
        df = pd.DataFrame(rows)
        df["date"] = pd.to_datetime(df["date"].astype("int64"), unit="s", utc=True)
        df = df.drop_duplicates("date").set_index("date").sort_index()
    else:
        from ib_async import Stock, util  # noqa: PLC0415

        contract = Stock("AAPL", "SMART", "USD")
        client.ib.qualifyContracts(contract)
        t0 = time.perf_counter()
        bars: list[Any] = []
        for end in _ends(days):
            end_dt = datetime.strptime(end, "%Y%m%d-%H:%M:%S").replace(tzinfo=timezone.utc)
            bars += client.ib.reqHistoricalData(contract, end_dt, "1 D", "1 min", "TRADES", False, 2, timeout=30)
        df = util.df(bars).drop_duplicates("date").set_index("date").sort_index()
    seconds = time.perf_counter() - t0
    emit({"client": name, "bars": len(df), "seconds": seconds, "bars_per_s": len(df) / seconds})
    client.disconnect()


def main() -> None:
    parser = argparse.ArgumentParser()
    add_server_version(parser)
    parser.add_argument("--days", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--clients", default=",".join(CLIENT_ORDER))
    parser.add_argument("--worker", nargs=4, metavar=("CLIENT", "PORT", "CLIENT_ID", "DAYS"))
    args = parser.parse_args()
    if args.worker:
        name, port, cid, days = args.worker
        worker(name, int(port), int(cid), int(days))
        return
    clients = args.clients.split(",")
    results: dict[str, dict[str, list[float]]] = {}
    errors: dict[str, str] = {}
    client_id = 800
    with sim_process(server_version=args.server_version, tick_interval=3600.0, pacing=False, seed=17) as sim:
        for _ in range(args.runs):
            for name in clients:
                client_id += 1
                res = run_worker("bench_historical.py", [name, str(sim.port), str(client_id), str(args.days)],
                                 timeout=600)
                if "error" in res:
                    errors[name] = res["error"]
                    print(name, "ERROR", res["error"][-400:], file=sys.stderr)
                    continue
                slot = results.setdefault(name, {"seconds": [], "bars": []})
                slot["seconds"].append(res["seconds"])
                slot["bars"].append(res["bars"])
                print(f"{name:9s} {res['bars']:,} bars in {res['seconds']:.2f} s", file=sys.stderr)
    stats = {k: {m: summarize(v) for m, v in r.items()} for k, r in results.items()}
    lines = ["| client | bars | seconds, median (min-max) | bars/s |", "|---|---|---|---|"]
    for key, s in stats.items():
        sec, bars = s["seconds"], s["bars"]
        lines.append(f"| {key} | {bars['median']:,.0f} | {sec['median']:.2f} ({sec['min']:.2f}-{sec['max']:.2f}) | "
                     f"{bars['median'] / sec['median']:,.0f} |")
    table = (f"### Historical at server version {args.server_version} ({protocol(args.server_version)}): AAPL "
             f"1-min bars, {args.days} days (~100k bars) to a DataFrame, {args.runs} runs\n\n"
             + "\n".join(lines) + "\n\nSimulator pacing off; pa's historical pacer relaxed for this run; the peers "
             "send the same 1-day chunks sequentially.")
    path = write_results(f"historical_{args.server_version}",
                         {"server_version": args.server_version, "days": args.days, "runs": args.runs, "stats": stats,
                          "errors": errors},
                         table)
    print(path.read_text())


if __name__ == "__main__":
    main()
