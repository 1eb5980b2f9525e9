"""Standalone simulator: ``python -m platform_adapter.sim --port PORT``.

Control interface (``--control-port``): a line-based text protocol on 127.0.0.1.
Commands: ``drop``, ``refuse SECONDS``, ``stall SECONDS``, ``freeze``, ``thaw``,
``wedge handshake|start_api|off``, ``farm_down 2119|2103|2105``, ``farm_up 2119|2103|2105 [lost] [inactive]``,
``system CODE``, ``reject_next_order [REASON]``, ``drop_on_next_order before|after``, ``stats``,
``burst REQID N``, ``reset SECONDS [lost]`` (IB's reset window: 1100, reports held, then 1102 or
1101), ``reset begin`` / ``reset end [lost]``, ``restart [SECONDS]`` (a gateway restart, down that
long), ``clock_rate RATE``, ``orders`` (every order, execution and position, JSON). Each command
is answered with one line (``ok ...`` or ``error ...``). ``--wedge handshake|start_api`` starts the
gateway wedged.

``--daily-reset HH:MM/SECONDS[/lost]`` and ``--daily-restart HH:MM/SECONDS`` schedule IB's nightly
reset window (SECONDS of the simulator's clock) and the gateway's daily restart (down SECONDS) at a
time of the simulator's clock (in ``--timezone``); ``--clock-rate`` runs that clock fast.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import signal
import socket
import sys
import threading

import yaml

from platform_adapter.utils.heap import freeze_survivors

from .faults import Daily, Wedge, parse_daily
from .server import SimulatedGateway
from .universe import Universe, load_universe
from .versions import MAX_SUPPORTED_VERSION, MIN_SUPPORTED_VERSION, check_server_version


def handle_command(gw: SimulatedGateway, line: str) -> str:
    """Execute one control command and return the reply line."""
    parts = line.strip().split()
    if not parts:
        return "error empty command"
    cmd, args = parts[0].lower(), parts[1:]
    try:
        if cmd == "drop":
            gw.drop_all_connections()
        elif cmd == "refuse":
            gw.refuse_connections(float(args[0]))
        elif cmd == "stall":
            gw.stall(float(args[0]))
        elif cmd == "freeze":
            gw.freeze()
        elif cmd == "thaw":
            gw.thaw()
        elif cmd == "wedge":
            gw.wedge(None if args[0] == "off" else args[0])
        elif cmd == "farm_down":
            gw.farm_outage(int(args[0]))
        elif cmd == "farm_up":
            gw.farm_restored(int(args[0]), resume="lost" not in args[1:], inactive="inactive" in args[1:])
        elif cmd == "system":
            gw.send_system_code(int(args[0]))
        elif cmd == "reject_next_order":
            gw.reject_next_order(" ".join(args) or "Simulated rejection")
        elif cmd == "drop_on_next_order":
            gw.drop_on_next_place_order(after_ack=bool(args) and args[0] == "after")
        elif cmd == "reset":
            _reset(gw, args)
        elif cmd == "restart":
            gw.restart(float(args[0]) if args else 2.0)
        elif cmd == "clock_rate":
            gw.engine.clock.set_rate(float(args[0]))
        elif cmd == "burst":
            gw.burst(int(args[0]), int(args[1]))
        elif cmd == "orders":
            return "ok " + json.dumps(book(gw))
        elif cmd == "stats":
            st = gw.stats()
            return "ok " + json.dumps({"received": dict(st.received), "clients": st.clients,
                                       "orders": len(st.orders), "connections": st.connections,
                                       "pacing": {f"{k[0]}:{k[1]}": v
                                                  for k, v in st.pacing.violations.items()}})
        else:
            return f"error unknown command {cmd}"
    except (IndexError, ValueError, KeyError) as e:
        return f"error {e!r}"
    return "ok"


def book(gw: SimulatedGateway) -> dict[str, object]:
    """The gateway's orders, executions and positions (for soak checks), its restarts and reset windows."""
    st = gw.stats()
    return {"orders": [[o.client_id, o.order_id, o.status, o.filled] for o in st.orders],
            "executions": [[e.client_id, e.order_id, e.exec_id] for e in st.executions],
            "positions": {gw.market.specs[cid].symbol: p.qty for cid, p in gw.account.positions.items() if p.qty},
            "received": dict(st.received), "restarts": gw.restarts, "reset_windows": gw.faults.reset.windows}


def _reset(gw: SimulatedGateway, args: list[str]) -> None:
    """``reset SECONDS [lost]``, ``reset begin``, ``reset end [lost]``."""
    lost = args[-1:] == ["lost"]
    if args[0] == "begin":
        gw.begin_reset()
    elif args[0] == "end":
        gw.end_reset(data_lost=lost)
    else:
        gw.reset_window(float(args[0]), data_lost=lost)


def serve_control(gw: SimulatedGateway, port: int) -> socket.socket:
    """Start the control socket on 127.0.0.1:port; returns the listening socket."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(4)

    def client(conn: socket.socket) -> None:
        with conn, conn.makefile("rw", encoding="ascii", newline="\n") as f:
            for line in f:
                f.write(handle_command(gw, line) + "\n")
                f.flush()

    def loop() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=client, args=(conn,), daemon=True).start()

    threading.Thread(target=loop, name="sim-control", daemon=True).start()
    return srv


def _position(text: str) -> tuple[str, tuple[float, float]]:
    """``AAPL:100@149.50`` -> ("AAPL", (100.0, 149.5))."""
    try:
        symbol, rest = text.split(":", 1)
        qty, price = rest.split("@", 1)
        return symbol.upper(), (float(qty), float(price))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected SYMBOL:QTY@PRICE, got {text!r}") from None


def _server_version(text: str) -> int:
    """``--server-version``: an integer the simulator can serve."""
    try:
        return check_server_version(int(text))
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _daily(text: str) -> Daily:
    """``--daily-reset`` / ``--daily-restart``: HH:MM/SECONDS[/lost]."""
    try:
        return parse_daily(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _when(text: str) -> dt.datetime:
    """``--clock-start``: an ISO date-time (UTC unless it has a zone)."""
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def _universe(path: str) -> Universe:
    """``--universe``: a contract universe file the simulator can read."""
    try:
        return load_universe(path)
    except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError) as e:
        raise argparse.ArgumentTypeError(f"cannot read universe {path}: {e!r}") from None


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    p = argparse.ArgumentParser(prog="python -m platform_adapter.sim")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7497)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--server-version", type=_server_version, default=MAX_SUPPORTED_VERSION,
                   help=f"highest server version served ({MIN_SUPPORTED_VERSION}.."
                        f"{MAX_SUPPORTED_VERSION}, default %(default)s)")
    p.add_argument("--account", default="DU1234567")
    p.add_argument("--accounts", type=lambda v: [a.strip() for a in v.split(",") if a.strip()], default=None,
                   metavar="ID,ID,...", help="manage several accounts (the first is the default one)")
    p.add_argument("--starting-cash", type=float, default=1_000_000.0)
    p.add_argument("--state-file", default=None)
    p.add_argument("--tick-interval", type=float, default=0.25)
    p.add_argument("--control-port", type=int, default=None)
    p.add_argument("--no-pacing", action="store_true")
    p.add_argument("--log-level", default="WARNING")
    p.add_argument("--position", action="append", default=[], type=_position, metavar="SYMBOL:QTY@PRICE",
                   help="start the account with this position (repeatable), e.g. AAPL:100@149.50")
    p.add_argument("--max-market-data-lines", type=int, default=100)
    p.add_argument("--burst-size", type=int, default=10_000)
    p.add_argument("--wedge", choices=[w.value for w in Wedge], default=None,
                   help="start wedged: no version reply (handshake) or no nextValidId (start_api)")
    p.add_argument("--universe", type=_universe, default=None, metavar="FILE",
                   help="the contracts to serve (YAML; default: the package's universe file)")
    p.add_argument("--timezone", default="UTC", help="the gateway's zone (its clock's times of day)")
    p.add_argument("--clock-rate", type=float, default=1.0,
                   help="the simulator's clock runs this many times as fast as the wall clock")
    p.add_argument("--clock-start", type=_when, default=None, metavar="ISO",
                   help="start the simulator's clock at this date-time (it runs on from there)")
    p.add_argument("--rt-bar-interval", type=float, default=5.0, help="seconds between real-time bars")
    p.add_argument("--daily-reset", type=_daily, default=None, metavar="HH:MM/SECONDS[/lost]",
                   help="IB's nightly reset window at this time of the simulator's clock")
    p.add_argument("--daily-restart", type=_daily, default=None, metavar="HH:MM/SECONDS",
                   help="restart (down SECONDS of wall time) daily at this time of the simulator's clock")
    a = p.parse_args(argv)
    logging.basicConfig(level=a.log_level.upper(), stream=sys.stderr)
    gw = SimulatedGateway(host=a.host, port=a.port, seed=a.seed, server_version=a.server_version,
                          account=a.account, accounts=a.accounts, starting_cash=a.starting_cash,
                          state_file=a.state_file, tick_interval=a.tick_interval,
                          pacing=not a.no_pacing, positions=dict(a.position),
                          max_market_data_lines=a.max_market_data_lines, burst_size=a.burst_size,
                          universe=a.universe, conn_time_tz=a.timezone, clock_rate=a.clock_rate,
                          daily_reset=a.daily_reset, daily_restart=a.daily_restart,
                          rt_bar_interval=a.rt_bar_interval)
    if a.clock_start is not None:
        gw.set_clock(a.clock_start, trading_hours=False)
    gw.wedge(a.wedge)
    gw.start()
    freeze_survivors()  # full GC passes stay short however many orders rest (utils/heap.py)
    if a.control_port is not None:
        ctl = serve_control(gw, a.control_port)
        print(f"control on 127.0.0.1:{ctl.getsockname()[1]}", file=sys.stderr, flush=True)
    print(f"listening on {a.host}:{gw.port}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    gw.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
