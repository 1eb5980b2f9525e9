"""Entry point: ``python -m platform_adapter.main --env development [--sim]``.

Runs the startup sequence of spec 6.1 (one log line per step), then the interactive shell of
appendix A, or the commands of ``--commands FILE`` (``-`` for standard input) for scripting.

Exit codes: 0 everything worked; 1 at least one command failed; 2 bad arguments, invalid
configuration or the simulator could not start; 130 interrupted with Ctrl-C during start-up.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from loguru import logger

from platform_adapter.config.settings import ENVIRONMENTS, LOG_LEVELS, Settings, load_settings
from platform_adapter.errors import ConfigError
from platform_adapter.utils.logger import remove_sinks, setup_logging

EXIT_OK, EXIT_COMMAND_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
HISTORY_ENV = "PA_HISTORY_FILE"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m platform_adapter.main",
        description="Platform Adapter for Interactive Brokers: start-up sequence and operator shell.",
        epilog="Exit codes: 0 ok, 1 a command failed, 2 bad arguments/configuration, 130 interrupted.")
    p.add_argument("--env", choices=ENVIRONMENTS, default=None,
                   help="environment (overrides ENVIRONMENT from .env); default: from the configuration")
    p.add_argument("--config", metavar="PATH", help="config.yaml to load (default: the packaged one)")
    p.add_argument("--env-file", metavar="PATH", help=".env file to load (default: ./.env when present)")
    p.add_argument("--sim", action="store_true",
                   help="start the embedded simulated IB Gateway on a free local port and connect to it")
    p.add_argument("--sim-seed", type=int, default=1, help="random seed of the simulated market (default 1)")
    p.add_argument("--sim-state", metavar="FILE",
                   help="simulator state file (account, positions, orders) loaded at start and saved at exit")
    p.add_argument("--sim-accounts", metavar="ID,ID,...",
                   help="the simulator manages these accounts (the first is the default one)")
    p.add_argument("--host", help="gateway host (overrides the configuration)")
    p.add_argument("--port", type=int, help="gateway port (overrides the configuration)")
    p.add_argument("--client-id", type=int, help="API client id (overrides the configuration)")
    p.add_argument("--no-connect", action="store_true", help="do not connect at start-up (use 'connect' later)")
    p.add_argument("--commands", metavar="FILE",
                   help="run the commands in FILE ('-' = standard input) instead of the interactive shell")
    p.add_argument("--stop-on-error", action="store_true", help="with --commands: stop at the first failure")
    p.add_argument("--no-echo", action="store_true", help="with --commands: do not echo each command")
    verbosity = p.add_mutually_exclusive_group()
    verbosity.add_argument("--quiet", action="store_true", help="console shows errors only (the log file is unchanged)")
    verbosity.add_argument("--verbose", action="store_true", help="console shows INFO logs inside the shell too")
    p.add_argument("--log-level", type=str.upper, choices=LOG_LEVELS, help="log level (overrides LOG_LEVEL)")
    return p


class ConsoleLevel:
    """A loguru filter whose threshold can change while the program runs."""

    def __init__(self, level: str) -> None:
        self.no = logger.level(level).no

    def set(self, level: str) -> None:
        self.no = logger.level(level).no

    def __call__(self, record: Any) -> bool:
        return bool(record["level"].no >= self.no)


class _ToLoguru(logging.Handler):
    """Routes the simulator's stdlib logging into loguru (file and console sinks)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        logger.opt(depth=6).log(level, "sim: {}", record.getMessage())


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if args.env:
        out["environment"] = args.env
    if args.host:
        out["ib_connection.host"] = args.host
    if args.port is not None:
        out["ib_connection.port"] = args.port
    if args.client_id is not None:
        out["ib_connection.client_id"] = args.client_id
    if args.log_level:
        out["logging.level"] = args.log_level
    return out


@contextmanager
def simulator(args: argparse.Namespace) -> Iterator[Any]:
    """The embedded SimulatedGateway on 127.0.0.1 and a free port (or ``None`` without ``--sim``)."""
    if not args.sim:
        yield None
        return
    from platform_adapter.sim import SimulatedGateway  # noqa: PLC0415 - only needed with --sim

    sim_log = logging.getLogger("platform_adapter.sim")
    sim_log.addHandler(_ToLoguru())
    sim_log.setLevel(logging.INFO)
    sim_log.propagate = False
    # the service's command line (service/__main__.py) shares this function without --sim-accounts
    listed = getattr(args, "sim_accounts", None) or ""
    accounts = [a.strip() for a in listed.split(",") if a.strip()] or None
    gw = SimulatedGateway(host="127.0.0.1", port=0, seed=args.sim_seed, state_file=args.sim_state,
                          accounts=accounts)
    gw.start()
    logger.info("Simulated IB Gateway listening on 127.0.0.1:{} (accounts {})", gw.port, gw.managed_accounts)
    try:
        yield gw
    finally:
        gw.stop()


def _sim_journal(args: argparse.Namespace, scratch: str) -> str:
    """Simulated orders never go into the real account's order journal: they are kept next to
    ``--sim-state`` (so a restored simulator and its journal agree) or in a scratch directory."""
    if args.sim_state:
        return str(Path(args.sim_state).with_suffix(".orders.db"))
    return str(Path(scratch) / "orders.db")


def _history_file() -> Path:
    return Path(os.environ.get(HISTORY_ENV) or Path.home() / ".platform_adapter_history")


def run(args: argparse.Namespace) -> int:
    """The startup sequence of spec 6.1, then the shell; returns the exit code."""
    try:
        settings = load_settings(args.config, env_file=args.env_file, overrides=_overrides(args))
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    console = ConsoleLevel("ERROR" if args.quiet else settings.logging.level.upper())
    _setup_logs(settings, console)
    logger.info("Step 1/5 Load configuration: {} parsed, .env loaded, settings validated (environment {})",
                args.config or "packaged config.yaml", settings.environment)
    try:
        with simulator(args) as gw, tempfile.TemporaryDirectory(prefix="pa-sim-") as scratch:
            if gw is not None:
                settings = settings.replace(**{"ib_connection.host": "127.0.0.1", "ib_connection.port": gw.port,
                                               "orders.journal_path": _sim_journal(args, scratch)})
            return _run_with(settings, args, console)
    except OSError as exc:
        logger.error("could not start the simulated gateway: {}", exc)
        print(f"Error: could not start the simulated gateway: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ConfigError as exc:  # the gateway refused us for good (IB 501/503)
        logger.error("Step 3/5 Connect to IB Gateway: {}", exc)
        print(f"Configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        remove_sinks()


def _setup_logs(settings: Settings, console: ConsoleLevel) -> None:
    setup_logging(settings.logging, console=False)
    if settings.logging.console:
        logger.add(sys.stderr, level=0, filter=console, format=settings.logging.format)


def _run_with(settings: Settings, args: argparse.Namespace, console: ConsoleLevel) -> int:
    from platform_adapter.facade import PlatformAdapter  # noqa: PLC0415

    pa = PlatformAdapter(settings=settings, configure_logging=False)
    logger.info("Step 2/5 Initialize components: logger, state manager, connection manager, adapters ready")
    c = settings.ib_connection
    if args.no_connect:
        logger.info("Step 3/5 Connect to IB Gateway: skipped (--no-connect); use 'connect' in the shell")
    elif _connect(pa):
        status = pa.connection.get_connection_status()
        logger.info("Step 3/5 Connect to IB Gateway: connected to {}:{} (server version {}, nextValidId {}, "
                    "accounts {}), account updates subscribed, positions loaded", status.host, status.port,
                    status.server_version, pa.connection.next_valid_id, ",".join(status.accounts))
    else:
        logger.warning("Step 3/5 Connect to IB Gateway: could not connect to {}:{} ({}); the shell starts "
                       "disconnected (use 'connect')", c.host, c.port, pa.connection.last_error)
    mon = settings.monitoring
    pa.start_metrics()  # connect() starts it too; also wanted when the shell starts disconnected
    logger.info("Step 4/5 Start event loop: message dispatcher and event threads running, health check every "
                "{:g}s, metrics every {:g}s", mon.health_check_interval_seconds, mon.metrics_log_interval_seconds)
    try:
        return _shell(pa, args, console)
    finally:
        pa.disconnect()


def _connect(pa: Any) -> bool:
    """``pa.connect()``; a gateway no retry fixes (IB 501/503) stops the adapter and is raised."""
    try:
        return bool(pa.connect())
    except ConfigError:
        pa.disconnect()
        raise


def _shell(pa: Any, args: argparse.Namespace, console: ConsoleLevel) -> int:
    from platform_adapter.cli.shell import Shell  # noqa: PLC0415

    script = args.commands
    if script is None and not sys.stdin.isatty():
        script = "-"
    if script is not None:
        logger.info("Step 5/5 Ready for operations: running commands from {}", "stdin" if script == "-" else script)
        if not args.verbose and not args.quiet:
            console.set("WARNING")
        shell = Shell(pa, interactive=False)
        try:
            if script == "-":
                failures = shell.run_lines(sys.stdin, echo=not args.no_echo, stop_on_error=args.stop_on_error)
            else:
                with open(script, encoding="utf-8") as fh:
                    failures = shell.run_lines(fh, echo=not args.no_echo, stop_on_error=args.stop_on_error)
        except OSError as exc:
            print(f"Error: cannot read commands from {script}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_USAGE
        return EXIT_COMMAND_FAILED if failures else EXIT_OK
    logger.info("Step 5/5 Ready for operations: interactive shell")
    if not args.verbose and not args.quiet:
        console.set("WARNING")  # INFO lines would scribble over the prompt; they stay in the log file
    shell = Shell(pa, interactive=True, history_file=_history_file())
    if pa.is_connected():
        c = pa.connection
        shell.intro = f"{Shell.intro}\nConnected to IB Gateway on {c.host}:{c.port}"
    shell.run_interactive()
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.commands is None and (args.stop_on_error or args.no_echo):
        build_parser().error("--stop-on-error and --no-echo need --commands")
    try:
        return run(args)
    except KeyboardInterrupt:
        print("Interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
