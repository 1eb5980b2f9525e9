#!/usr/bin/env python3
"""Write ``.env`` for a paper IB account, after checking that the gateway answers.

    python scripts/setup_paper_account.py                       # asks for each value
    python scripts/setup_paper_account.py --port 4002 --account DU1234567 --force

Values come from flags, else from prompts (on a terminal), else from the defaults of spec 5.3.
Checks: the account id is a paper account (``DU...``); the port answers a TCP connect and the
TWS API handshake, and the gateway lists the account (skip with ``--no-check``). An existing file
is only replaced with ``--force`` or a "yes" typed at the prompt. The file is written with mode
0600 (readable by its owner only).

Exit status: 0 written; 1 a check failed or the file exists and was kept; 2 bad arguments.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

from loguru import logger

from platform_adapter.config.settings import IBConnectionConfig, MonitoringConfig
from platform_adapter.core.connection_manager import ConnectionManager
from platform_adapter.core.handlers import Handlers
from platform_adapter.core.lifecycle import Lifecycle
from platform_adapter.core.request_registry import RequestRegistry
from platform_adapter.core.wrapper import Wrapper
from platform_adapter.utils.rate_limiter import TokenBucket

DEFAULTS = {"IB_HOST": "127.0.0.1", "IB_PORT": "7497", "IB_CLIENT_ID": "1", "IB_ACCOUNT_ID": "",
            "LOG_LEVEL": "INFO", "LOG_DIR": "logs", "ENVIRONMENT": "development"}
FLAGS = {"IB_HOST": "host", "IB_PORT": "port", "IB_CLIENT_ID": "client_id", "IB_ACCOUNT_ID": "account",
         "LOG_LEVEL": "log_level", "LOG_DIR": "log_dir", "ENVIRONMENT": "environment"}
PROMPTS = {"IB_HOST": "Gateway host", "IB_PORT": "Gateway port (7497 TWS paper, 4002 IB Gateway paper)",
           "IB_CLIENT_ID": "API client id", "IB_ACCOUNT_ID": "Paper account id (DU...)", "LOG_LEVEL": "Log level",
           "LOG_DIR": "Log directory", "ENVIRONMENT": "Environment (development, staging, production)"}
PAPER_ACCOUNT = re.compile(r"^DU\d{3,}$")
LEVELS = ("TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL")
ENVIRONMENTS = ("development", "staging", "production")


class SetupError(Exception):
    """A value or check failed; the message says which and why."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Write .env for a paper IB account (spec 5.3).")
    p.add_argument("--host")
    p.add_argument("--port")
    p.add_argument("--client-id", dest="client_id")
    p.add_argument("--account", help="paper account id, e.g. DU1234567")
    p.add_argument("--log-level", dest="log_level")
    p.add_argument("--log-dir", dest="log_dir")
    p.add_argument("--environment")
    p.add_argument("--output", default=".env", help="file to write (default ./.env)")
    p.add_argument("--force", action="store_true", help="replace an existing file without asking")
    p.add_argument("--no-check", action="store_true", help="do not contact the gateway")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds for the gateway check (default 10)")
    return p.parse_args(argv)


def collect(args: argparse.Namespace, interactive: bool) -> dict[str, str]:
    values: dict[str, str] = {}
    for key, default in DEFAULTS.items():
        given = getattr(args, FLAGS[key])
        if given is None and interactive:
            shown = f" [{default}]" if default else ""
            given = input(f"{PROMPTS[key]}{shown}: ").strip() or default
        values[key] = (given if given is not None else default).strip()
    return values


def validate(v: dict[str, str]) -> None:
    if not v["IB_HOST"] or any(ch.isspace() for ch in v["IB_HOST"]):
        raise SetupError(f"IB_HOST must be a host name or address, got {v['IB_HOST']!r}")
    if not v["IB_PORT"].isdigit() or not 1 <= int(v["IB_PORT"]) <= 65535:
        raise SetupError(f"IB_PORT must be 1-65535, got {v['IB_PORT']!r}")
    if not v["IB_CLIENT_ID"].isdigit():
        raise SetupError(f"IB_CLIENT_ID must be a whole number >= 0, got {v['IB_CLIENT_ID']!r}")
    if not v["IB_ACCOUNT_ID"]:
        raise SetupError("IB_ACCOUNT_ID is required (--account DU...)")
    if not PAPER_ACCOUNT.match(v["IB_ACCOUNT_ID"]):
        raise SetupError(f"IB_ACCOUNT_ID {v['IB_ACCOUNT_ID']!r} is not a paper account "
                         "(paper accounts are DU + digits)")
    if v["IB_PORT"] == "7496":
        raise SetupError("port 7496 is TWS's live-trading port; use 7497 (TWS paper) or 4002 (IB Gateway paper)")
    v["LOG_LEVEL"] = v["LOG_LEVEL"].upper()
    if v["LOG_LEVEL"] not in LEVELS:
        raise SetupError(f"LOG_LEVEL must be one of {', '.join(LEVELS)}, got {v['LOG_LEVEL']!r}")
    if v["ENVIRONMENT"] not in ENVIRONMENTS:
        raise SetupError(f"ENVIRONMENT must be one of {', '.join(ENVIRONMENTS)}, got {v['ENVIRONMENT']!r}")


def check_gateway(v: dict[str, str], timeout: float) -> tuple[int | None, tuple[str, ...]]:
    """TCP connect and TWS API handshake; returns (server version, managed accounts)."""
    config = IBConnectionConfig(host=v["IB_HOST"], port=int(v["IB_PORT"]), client_id=int(v["IB_CLIENT_ID"]),
                                timeout=timeout, auto_reconnect=False)
    wrapper = Wrapper()
    manager = ConnectionManager(config, MonitoringConfig(), wrapper, RequestRegistry(), TokenBucket(40, 10))
    wrapper.bind(Handlers(lifecycle=Lifecycle(manager)))
    if not manager.connect():
        raise SetupError(f"the gateway at {v['IB_HOST']}:{v['IB_PORT']} did not answer: {manager.last_error}")
    try:
        return manager.server_version, manager.accounts
    finally:
        manager.disconnect()


def write_env(path: Path, values: dict[str, str]) -> None:
    """Write atomically with mode 0600."""
    text = ("# IB Configuration\n"
            f"IB_HOST={values['IB_HOST']}\nIB_PORT={values['IB_PORT']}\nIB_CLIENT_ID={values['IB_CLIENT_ID']}\n\n"
            "# Paper Trading Account\n"
            f"IB_ACCOUNT_ID={values['IB_ACCOUNT_ID']}\n\n"
            "# Logging\n"
            f"LOG_LEVEL={values['LOG_LEVEL']}\nLOG_DIR={values['LOG_DIR']}\n\n"
            "# Environment\n"
            f"ENVIRONMENT={values['ENVIRONMENT']}\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".env.", dir=str(path.parent))  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def confirm_overwrite(path: Path, force: bool, interactive: bool) -> bool:
    if not path.exists() or force:
        return True
    if not interactive:
        print(f"{path} exists; not replaced (use --force to replace it)")
        return False
    answer = input(f"{path} exists. Replace it? [y/N]: ").strip().lower()
    if answer in ("y", "yes"):
        return True
    print(f"{path} kept")
    return False


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logger.remove()  # the library's INFO lines would drown the prompts; problems are printed below
    logger.add(sys.stderr, level="CRITICAL")
    interactive = sys.stdin.isatty()
    path = Path(args.output)
    try:
        values = collect(args, interactive)
        validate(values)
    except SetupError as exc:
        print(f"Error: {exc}")
        return 2
    except EOFError:
        print("Error: input ended before every value was given")
        return 2
    if not args.no_check:
        try:
            version, accounts = check_gateway(values, args.timeout)
        except SetupError as exc:
            print(f"Error: {exc}")
            return 1
        print(f"Gateway {values['IB_HOST']}:{values['IB_PORT']} answered (server version {version}, "
              f"accounts {', '.join(accounts) or 'none'})")
        if accounts and values["IB_ACCOUNT_ID"] not in accounts:
            print(f"Error: the gateway does not manage account {values['IB_ACCOUNT_ID']} "
                  f"(it manages {', '.join(accounts)})")
            return 1
        live = [a for a in accounts if not PAPER_ACCOUNT.match(a)]
        if live:
            print(f"Error: the gateway is logged in to a live account ({', '.join(live)}); log in to paper trading")
            return 1
    try:
        if not confirm_overwrite(path, args.force, interactive):
            return 1
    except EOFError:
        print(f"{path} kept")
        return 1
    write_env(path, values)
    print(f"Wrote {path} (mode 0600)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
