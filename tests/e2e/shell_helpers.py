"""Start ``python -m platform_adapter.main`` in a pseudo-terminal or as a plain subprocess, with
logs, shell history and the working directory in a temporary folder (no ``.env`` is picked up)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pexpect

ROOT = Path(__file__).resolve().parents[2]
PROMPT = "\r\n> "
TIMEOUT = 30


def child_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IB_", "LOG_", "ENVIRONMENT", "PA_LIVE"))}
    env.update({"LOG_DIR": str(tmp / "logs"), "HOME": str(tmp), "PA_HISTORY_FILE": str(tmp / "history"),
                "PYTHONUNBUFFERED": "1", "TERM": "dumb"})
    return env


def spawn_shell(tmp: Path, *extra: str) -> pexpect.spawn:
    """The interactive shell on the embedded simulator, in a real pseudo-terminal."""
    args = ["-m", "platform_adapter.main", "--env", "development", "--sim", "--quiet", *extra]
    child = pexpect.spawn(sys.executable, args, cwd=str(tmp), env=child_env(tmp), encoding="utf-8",
                          timeout=TIMEOUT, dimensions=(50, 200))
    child.expect_exact("platform_adapter shell")
    child.expect_exact(PROMPT)
    return child


def run_command(child: pexpect.spawn, line: str) -> str:
    """Send one line; return what the shell printed before the next prompt."""
    child.sendline(line)
    child.expect_exact(PROMPT)
    out = child.before or ""
    return out.split("\r\n", 1)[1] if "\r\n" in out else ""  # drop the echoed command


def sim_state_with_position(path: Path, con_id: int = 265598, qty: float = 100.0, avg_cost: float = 149.5) -> Path:
    """A simulator state file whose paper account already holds one stock position."""
    state: dict[str, Any] = {
        "version": 1,
        "account": {"account_id": "DU1234567", "starting_cash": 1_000_000.0, "cash": 1_000_000.0 - qty * avg_cost,
                    "realized": 0.0, "commissions": 0.0, "positions": {str(con_id): [qty, avg_cost, 0.0]}},
        "order_id_high_water": 0, "orders": [], "executions": [],
    }
    path.write_text(json.dumps(state))
    return path
