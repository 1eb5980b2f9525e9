"""scripts/test_live_connection.py and scripts/setup_paper_account.py against the simulator."""

from __future__ import annotations

import socket
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pexpect
from ibapi.server_versions import MAX_CLIENT_VER

from tests.e2e.shell_helpers import ROOT, child_env

LIVE = str(ROOT / "scripts" / "test_live_connection.py")
SETUP = str(ROOT / "scripts" / "setup_paper_account.py")


def run(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=str(tmp), env=child_env(tmp), capture_output=True,
                          text=True, timeout=90, stdin=subprocess.DEVNULL)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once the socket is closed


def test_live_connection_against_embedded_simulator(tmp_path: Path) -> None:
    r = run(tmp_path, LIVE, "--sim")
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert any(line.startswith(f"Server version: {MAX_CLIENT_VER}") for line in lines), r.stdout
    assert "Accounts: DU1234567" in lines
    assert any(line.startswith("Quote AAPL: bid ") for line in lines), r.stdout
    assert any(line.startswith("History AAPL 5 D of 1 hour: ") for line in lines), r.stdout
    assert lines[-1] == "OK"


def test_live_connection_against_running_gateway(tmp_path: Path, gateway: Any) -> None:
    r = run(tmp_path, LIVE, "--host", "127.0.0.1", "--port", str(gateway.port), "--symbol", "MSFT")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"Connected to IB Gateway on 127.0.0.1:{gateway.port}" in r.stdout
    assert "Quote MSFT: bid " in r.stdout


def test_live_connection_closed_port_exits_1(tmp_path: Path) -> None:
    port = closed_port()
    r = run(tmp_path, LIVE, "--host", "127.0.0.1", "--port", str(port))
    assert r.returncode == 1
    assert r.stdout.splitlines()[-1].startswith(f"FAILED: cannot connect to 127.0.0.1:{port}")
    assert "Traceback" not in r.stdout + r.stderr


def test_setup_writes_env_0600_and_never_overwrites(tmp_path: Path, gateway: Any) -> None:
    env = tmp_path / ".env"
    args = [SETUP, "--host", "127.0.0.1", "--port", str(gateway.port), "--client-id", "55", "--account",
            "DU1234567", "--output", str(env)]
    r = run(tmp_path, *args)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"answered (server version {MAX_CLIENT_VER}, accounts DU1234567)" in r.stdout
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    text = env.read_text()
    for line in (f"IB_PORT={gateway.port}", "IB_CLIENT_ID=55", "IB_ACCOUNT_ID=DU1234567", "IB_HOST=127.0.0.1",
                 "LOG_LEVEL=INFO", "LOG_DIR=logs", "ENVIRONMENT=development"):
        assert line in text.splitlines()
    env.write_text("KEEP=1\n")
    r = run(tmp_path, *args)
    assert r.returncode == 1 and "use --force" in r.stdout
    assert env.read_text() == "KEEP=1\n"
    r = run(tmp_path, *args, "--force", "--log-level", "debug")
    assert r.returncode == 0, r.stdout
    assert "LOG_LEVEL=DEBUG" in env.read_text().splitlines()
    assert stat.S_IMODE(env.stat().st_mode) == 0o600


def test_setup_refuses_live_accounts_wrong_accounts_and_closed_ports(tmp_path: Path, gateway: Any) -> None:
    env = tmp_path / ".env"
    base = ["--host", "127.0.0.1", "--output", str(env)]
    r = run(tmp_path, SETUP, *base, "--port", str(gateway.port), "--account", "U1234567")
    assert r.returncode == 2 and "is not a paper account" in r.stdout
    r = run(tmp_path, SETUP, *base, "--port", str(gateway.port), "--account", "DU7654321")
    assert r.returncode == 1 and "does not manage account DU7654321" in r.stdout
    r = run(tmp_path, SETUP, *base, "--port", str(closed_port()), "--account", "DU1234567")
    assert r.returncode == 1 and "did not answer" in r.stdout
    assert not env.exists()


def test_setup_interactive_prompts_and_confirmation(tmp_path: Path, gateway: Any) -> None:
    env = tmp_path / ".env"
    env.write_text("OLD=1\n")
    child = pexpect.spawn(sys.executable, [SETUP, "--output", str(env)], cwd=str(tmp_path), env=child_env(tmp_path),
                          encoding="utf-8", timeout=30)
    answers = [("Gateway host", ""), ("Gateway port", str(gateway.port)), ("API client id", "9"),
               ("Paper account id", "DU1234567"), ("Log level", ""), ("Log directory", ""), ("Environment", "")]
    for prompt, answer in answers:
        child.expect_exact(prompt)
        child.sendline(answer)
    child.expect_exact("Replace it? [y/N]")
    child.sendline("n")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1
    assert env.read_text() == "OLD=1\n"
