#!/usr/bin/env python3
"""Check a connection end to end: server version, accounts, one quote, one small history request.

    python scripts/test_live_connection.py                 # the configured gateway (config.yaml + .env)
    python scripts/test_live_connection.py --port 4002     # IB Gateway paper port
    python scripts/test_live_connection.py --sim           # the embedded simulated gateway

Exit status 0 when every step worked, 1 with the reason of the first failure otherwise
(2 for bad arguments or configuration).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
from contextlib import ExitStack
from typing import Any

from platform_adapter import PlatformAdapter, PlatformAdapterError
from platform_adapter.config.settings import load_settings
from platform_adapter.errors import ConfigError
from platform_adapter.sim import SimulatedGateway


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Test the connection to an IB Gateway / TWS (or the simulator).")
    p.add_argument("--sim", action="store_true", help="start the embedded simulated gateway and test against it")
    p.add_argument("--config", metavar="PATH", help="config.yaml (default: the packaged one)")
    p.add_argument("--env-file", metavar="PATH", help=".env file (default: ./.env when present)")
    p.add_argument("--host", help="gateway host (overrides the configuration)")
    p.add_argument("--port", type=int, help="gateway port (overrides the configuration)")
    p.add_argument("--client-id", type=int, help="API client id (default: configured id + 90, to stay out of the way)")
    p.add_argument("--symbol", default="AAPL", help="symbol for the quote and the history request (default AAPL)")
    p.add_argument("--timeout", type=float, default=15.0, help="seconds to wait for each step (default 15)")
    return p.parse_args(argv)


def fail(reason: str) -> int:
    print(f"FAILED: {reason}")
    return 1


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with ExitStack() as stack:
        overrides: dict[str, Any] = {"logging.console": False, "ib_connection.auto_reconnect": False,
                                     "ib_connection.timeout": args.timeout}
        if args.sim:
            gw = stack.enter_context(SimulatedGateway(host="127.0.0.1", port=0))
            overrides.update({"ib_connection.host": "127.0.0.1", "ib_connection.port": gw.port})
            overrides["logging.log_dir"] = stack.enter_context(tempfile.TemporaryDirectory(prefix="pa-live-"))
            overrides["orders.journal_path"] = os.path.join(overrides["logging.log_dir"], "orders.db")
        if args.host:
            overrides["ib_connection.host"] = args.host
        if args.port is not None:
            overrides["ib_connection.port"] = args.port
        try:
            settings = load_settings(args.config, env_file=args.env_file, overrides=overrides)
            client_id = args.client_id if args.client_id is not None else settings.ib_connection.client_id + 90
            settings = settings.replace(**{"ib_connection.client_id": client_id})
        except ConfigError as exc:
            print(f"Configuration error: {exc}")
            return 2
        pa = PlatformAdapter(settings=settings)
        c = settings.ib_connection
        print(f"Connecting to {c.host}:{c.port} (client id {c.client_id}) ...")
        if not pa.connect():
            return fail(pa.connection.last_error or f"cannot connect to {c.host}:{c.port}")
        stack.callback(pa.disconnect)
        try:
            return checks(pa, args)
        except PlatformAdapterError as exc:
            return fail(f"{type(exc).__name__}: {exc}")
    return 1


def checks(pa: Any, args: argparse.Namespace) -> int:
    status = pa.connection.get_connection_status()
    print(f"Connected to IB Gateway on {status.host}:{status.port}")
    print(f"Server version: {status.server_version}")
    accounts = ", ".join(status.accounts) or "(none)"
    print(f"Accounts: {accounts}")
    if status.accounts and not all(a.startswith("DU") for a in status.accounts):
        print("WARNING: this is not a paper account (paper accounts start with DU)")
    got = threading.Event()
    quotes: list[Any] = []

    def on_quote(_symbol: str, quote: Any) -> None:
        if quote.bid is not None or quote.last is not None:
            quotes.append(quote)
            got.set()

    pa.market_data.subscribe_quotes([args.symbol], on_quote)
    try:
        if not got.wait(args.timeout):
            return fail(f"no quote for {args.symbol} within {args.timeout:g}s (market data permissions? "
                        "market closed and no frozen data?)")
    finally:
        pa.market_data.unsubscribe_quotes([args.symbol])
    q = quotes[-1]
    print(f"Quote {args.symbol}: bid {q.bid} ask {q.ask} last {q.last}")
    df = pa.market_data.get_historical_data(args.symbol, "5 D", "1 hour")  # five days hold a session, weekend or not
    if len(df) == 0:
        return fail(f"historical request for {args.symbol} returned no bars")
    print(f"History {args.symbol} 5 D of 1 hour: {len(df)} bars, last close {float(df['close'].iloc[-1]):.2f}")
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
