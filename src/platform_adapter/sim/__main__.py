"""Standalone simulator: ``python -m platform_adapter.sim --port PORT``.

Control interface (``--control-port``): a line-based text protocol on 127.0.0.1.
Commands: ``drop``, ``refuse SECONDS``, ``stall SECONDS``, ``freeze``, ``thaw``,
``wedge handshake|start_api|off``, ``farm_down 2119|2103|2105``, ``farm_up 2119|2103|2105 [lost]``,
``system CODE``, ``reject_next_order [REASON]``, ``drop_on_next_order before|after``, ``stats``,
``burst REQID N``. Each command is answered with one line (``ok ...`` or ``error ...``).
``--wedge handshake|start_api`` starts the gateway wedged.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import socket
import sys
import threading

import yaml

from .faults import Wedge
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
            gw.farm_restored(int(args[0]), resume=args[1:] != ["lost"])
        elif cmd == "system":
            gw.send_system_code(int(args[0]))
        elif cmd == "reject_next_order":
            gw.reject_next_order(" ".join(args) or "Simulated rejection")
        elif cmd == "drop_on_next_order":
            gw.drop_on_next_place_order(after_ack=bool(args) and args[0] == "after")
        elif cmd == "burst":
            gw.burst(int(args[0]), int(args[1]))
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
    a = p.parse_args(argv)
    logging.basicConfig(level=a.log_level.upper(), stream=sys.stderr)
    gw = SimulatedGateway(host=a.host, port=a.port, seed=a.seed, server_version=a.server_version,
                          account=a.account, starting_cash=a.starting_cash,
                          state_file=a.state_file, tick_interval=a.tick_interval,
                          pacing=not a.no_pacing, positions=dict(a.position),
                          max_market_data_lines=a.max_market_data_lines, burst_size=a.burst_size,
                          universe=a.universe)
    gw.wedge(a.wedge)
    gw.start()
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
