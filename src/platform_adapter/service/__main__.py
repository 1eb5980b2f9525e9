"""``python -m platform_adapter.service [--sim] [--config FILE] [--commands EP] [--events EP]``
(console script ``pa-service``): one IB session served to many processes over ZeroMQ.

Prints ``service ready: commands tcp://127.0.0.1:PORT events tcp://127.0.0.1:PORT`` once it is
connected to the gateway and listening; runs until SIGTERM or Ctrl-C. ``keygen DIR [--name N]``
writes a CurveZMQ keypair (``N.key``, ``N.key_secret``, mode 0600) instead.

Exit codes: 0 stopped by a signal; 1 the gateway could not be reached; 2 bad arguments,
configuration or keys, an endpoint that cannot be bound, or the simulator could not start.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

import zmq
from loguru import logger

from platform_adapter.config.settings import LOG_LEVELS, Settings, load_settings
from platform_adapter.errors import ConfigError
from platform_adapter.main import simulator
from platform_adapter.service.security import ServerCurve, check_binds, keygen
from platform_adapter.service.server import Service, ServiceConfig
from platform_adapter.utils.logger import remove_sinks, setup_logging

EXIT_OK, EXIT_NO_GATEWAY, EXIT_USAGE = 0, 1, 2
SWITCH_INTERVAL = 0.0005
"""The service process's thread switch interval: a command or reply thread woken while the IB
reader decodes a burst (an order's openOrder and orderStatus) gets the interpreter within this,
not Python's default 5 ms (measured on 2 loaded cores: the remote place_order call -300 us p50)."""


def build_parser() -> argparse.ArgumentParser:
    defaults = ServiceConfig()
    p = argparse.ArgumentParser(
        prog="python -m platform_adapter.service",
        description="Serve one IB session to many processes (RemoteAdapter) over ZeroMQ. "
                    "'keygen DIR [--name NAME]' writes CurveZMQ keys instead.",
        epilog="Exit codes: 0 stopped, 1 gateway unreachable, 2 bad arguments/configuration/keys/endpoints.")
    p.add_argument("--config", metavar="FILE", help="config.yaml to load (default: the packaged one)")
    p.add_argument("--env-file", metavar="FILE", help=".env file to load (default: ./.env when present)")
    p.add_argument("--sim", action="store_true", help="start the embedded simulated IB Gateway and serve it")
    p.add_argument("--sim-seed", type=int, default=1, help="random seed of the simulated market (default 1)")
    p.add_argument("--sim-state", metavar="FILE", help="simulator state file loaded at start and saved at exit")
    p.add_argument("--commands", metavar="ENDPOINT", default=defaults.commands,
                   help="ZeroMQ endpoint for commands (default %(default)s; port 0 picks a free port)")
    p.add_argument("--events", metavar="ENDPOINT", default=defaults.events,
                   help="ZeroMQ endpoint for events (default %(default)s; port 0 picks a free port)")
    p.add_argument("--heartbeat", type=float, default=defaults.heartbeat_interval, metavar="SECONDS",
                   help="heartbeat interval (default %(default)s)")
    p.add_argument("--heartbeat-timeout", type=float, default=defaults.heartbeat_timeout, metavar="SECONDS",
                   help="a client silent this long loses its session and lines (default %(default)s)")
    p.add_argument("--curve-secret", metavar="FILE", help="the service's CurveZMQ .key_secret file")
    p.add_argument("--curve-clients", metavar="DIR", help="directory of the accepted clients' public .key files")
    p.add_argument("--log-level", type=str.upper, choices=LOG_LEVELS, help="log level (overrides LOG_LEVEL)")
    p.add_argument("--switch-interval", type=float, default=SWITCH_INTERVAL, metavar="SECONDS",
                   help="Python's thread switch interval in this process (default %(default)s; Python's own is "
                        "0.005): a thread woken by a reply waits at most this long for the interpreter")
    return p


def keygen_main(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m platform_adapter.service keygen",
                                description="Write a CurveZMQ keypair: NAME.key (public) and NAME.key_secret.")
    p.add_argument("directory")
    p.add_argument("--name", default="service", help="file name stem (default %(default)s)")
    args = p.parse_args(argv)
    public, secret = keygen(args.directory, args.name)
    print(f"wrote {public} and {secret} (mode 0600)")
    return EXIT_OK


def _curve(args: argparse.Namespace) -> ServerCurve | None:
    if bool(args.curve_secret) != bool(args.curve_clients):
        raise ConfigError("curve", "--curve-secret and --curve-clients go together")
    return ServerCurve.load(args.curve_secret, args.curve_clients) if args.curve_secret else None


def serve(args: argparse.Namespace, settings: Settings, stop: threading.Event) -> int:
    """Connect to the gateway, serve until ``stop`` is set; returns the exit code."""
    from platform_adapter.facade import PlatformAdapter  # noqa: PLC0415 - the heavy import after argument checks

    config = ServiceConfig(args.commands, args.events, args.heartbeat, args.heartbeat_timeout, curve=_curve(args))
    if args.switch_interval <= 0:
        raise ConfigError("switch_interval", f"must be above 0, not {args.switch_interval}")
    sys.setswitchinterval(args.switch_interval)
    check_binds([config.commands, config.events], config.curve)
    pa = PlatformAdapter(settings=settings, configure_logging=False)
    journal = Path(settings.orders.journal_path)
    try:
        service = Service(pa, config, journal.with_name(journal.stem + ".service.db"))
    except zmq.ZMQError as exc:
        print(f"Error: cannot bind {config.commands} / {config.events}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if not pa.connect():
            print(f"Error: cannot connect to the gateway: {pa.connection.last_error}", file=sys.stderr)
            return EXIT_NO_GATEWAY
        service.start()
        print(f"service ready: commands {service.commands_endpoint} events {service.events_endpoint}", flush=True)
        stop.wait()
        logger.info("service stopping")
        return EXIT_OK
    finally:
        service.stop()
        pa.disconnect()


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["keygen"]:
        return keygen_main(argv[1:])
    args = build_parser().parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        overrides = {"logging.level": args.log_level} if args.log_level else {}
        settings = load_settings(args.config, env_file=args.env_file, overrides=overrides)
        setup_logging(settings.logging)
        with simulator(args) as gw, tempfile.TemporaryDirectory(prefix="pa-service-") as scratch:
            if gw is not None:
                state = args.sim_state
                journal = Path(state).with_suffix(".orders.db") if state else Path(scratch, "orders.db")
                settings = settings.replace(**{"ib_connection.host": "127.0.0.1", "ib_connection.port": gw.port,
                                               "orders.journal_path": str(journal)})
            return serve(args, settings, stop)
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        remove_sinks()


if __name__ == "__main__":
    sys.exit(main())
