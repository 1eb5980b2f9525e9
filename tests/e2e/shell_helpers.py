"""Start ``python -m platform_adapter.main`` in a pseudo-terminal or as a plain subprocess, with
logs, shell history and the working directory in a temporary folder (no ``.env`` is picked up).

The pseudo-terminal is an ``xterm-256color`` with ``NO_COLOR`` set: the shell redraws its live
views in place with cursor movements but writes no colours; :func:`run_command` returns the text
without the remaining escape codes (bold, cursor)."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import pexpect

ROOT = Path(__file__).resolve().parents[2]
PROMPT = "\r\n> "
PROMPT_RE = re.compile(r"\r\n(?:\x1b\[\?25h)?> ")  # rich shows the cursor again after a live view
ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
COLOUR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-9]|4[0-9]|9[0-7]|10[0-7])[;m]")
TIMEOUT = 30


def child_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IB_", "LOG_", "ENVIRONMENT", "PA_LIVE"))}
    env.update({"LOG_DIR": str(tmp / "logs"), "HOME": str(tmp), "PA_HISTORY_FILE": str(tmp / "history"),
                "PYTHONUNBUFFERED": "1", "TERM": "dumb"})
    return env


def terminal_env(tmp: Path) -> dict[str, str]:
    """:func:`child_env` for a capable terminal without colours."""
    return {**child_env(tmp), "TERM": "xterm-256color", "NO_COLOR": "1"}


def spawn_shell(tmp: Path, *extra: str) -> pexpect.spawn:
    """The interactive shell on the embedded simulator, in a real pseudo-terminal."""
    args = ["-m", "platform_adapter", "--env", "development", "--sim", "--quiet", *extra]
    child = pexpect.spawn(sys.executable, args, cwd=str(tmp), env=terminal_env(tmp), encoding="utf-8",
                          timeout=TIMEOUT, dimensions=(50, 200))
    child.expect_exact("platform_adapter shell")
    child.expect(PROMPT_RE)
    return child


def run_command(child: pexpect.spawn, line: str) -> str:
    """Send one line; return what the shell printed before the next prompt, without escape codes
    and trailing blanks (no colour code may appear: NO_COLOR is set)."""
    child.sendline(line)
    child.expect(PROMPT_RE)
    raw = child.before or ""
    assert not COLOUR.search(raw), f"colour despite NO_COLOR: {raw!r}"
    out = "\r\n".join(part.rstrip() for part in ESCAPES.sub("", raw).split("\r\n"))
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
