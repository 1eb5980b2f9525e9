"""The interactive shell in a real pseudo-terminal against the embedded simulator (appendix A)."""

from __future__ import annotations

import re
from pathlib import Path

import pexpect
import pytest

from tests.e2e.shell_helpers import PROMPT, run_command, sim_state_with_position, spawn_shell


@pytest.fixture
def shell(tmp_path: Path):  # type: ignore[no-untyped-def]
    child = spawn_shell(tmp_path, "--sim-state", str(sim_state_with_position(tmp_path / "sim.json")))
    yield child
    if child.isalive():
        child.terminate(force=True)


def test_appendix_a_session(shell: pexpect.spawn) -> None:
    out = run_command(shell, "connect")
    assert re.fullmatch(r"Connected to IB Gateway on 127\.0\.0\.1:\d+", out), out
    assert run_command(shell, "subscribe AAPL MSFT TSLA") == "Subscribed to 3 symbols"
    out = run_command(shell, "place_order AAPL BUY 100 LMT 150.00")
    assert re.fullmatch(r"Order placed: ID \d+", out), out
    assert run_command(shell, "get_positions") == "AAPL: 100 shares @ $149.50"
    assert run_command(shell, "disconnect") == "Disconnected"
    shell.sendline("quit")
    shell.expect(pexpect.EOF)
    shell.close()
    assert shell.exitstatus == 0


def test_bad_input_gets_one_line_and_the_shell_keeps_running(shell: pexpect.spawn) -> None:
    for line, expected in (
        ("frobnicate now", "Error: unknown command 'frobnicate'; type 'help' for the list of commands"),
        ("place_order AAPL BUY lots MKT", "Error: quantity must be a number, got 'lots'"),
        ("history AAPL 5X 1min", "Error: bad DURATION '5X': use a number and S, D, W, M or Y (e.g. 5D, 1W, 3600S)"),
        ("cancel abc", "Error: order id must be a whole number, got 'abc'"),
    ):
        out = run_command(shell, line)
        assert out == expected, out
        assert "Traceback" not in out
    status = run_command(shell, "status")
    assert "CONNECTED" in status


def test_quotes_refresh_until_a_key_is_pressed(shell: pexpect.spawn) -> None:
    run_command(shell, "subscribe AAPL MSFT")
    shell.sendline("quotes")
    shell.expect(r"AAPL +\d+\.\d\d +\d+\.\d\d")
    shell.expect_exact("(press any key to stop)")
    shell.expect_exact("(press any key to stop)")  # it redraws
    shell.send("q")
    shell.expect_exact(PROMPT)
    assert "Unsubscribed from 1 symbol" in run_command(shell, "unsubscribe MSFT")


def test_history_with_progress_and_csv(shell: pexpect.spawn, tmp_path: Path) -> None:
    csv = tmp_path / "aapl.csv"
    out = run_command(shell, f"history AAPL 2D 1h --csv {csv}")
    assert re.search(r"AAPL 2 D of 1 hour \[#+\] 1/1", out), out
    match = re.search(r"(\d+) bars for AAPL", out)
    assert match, out
    assert f"Wrote {match.group(1)} bars to {csv}" in out
    assert len(csv.read_text().strip().splitlines()) == int(match.group(1)) + 1


def test_tab_completion_and_history(shell: pexpect.spawn, tmp_path: Path) -> None:
    shell.send("place_ord\t")
    shell.expect_exact("place_order")  # only "place_ord" was typed: readline completed the rest
    shell.send("\x15")  # clear the line
    run_command(shell, "status")
    shell.sendline("quit")
    shell.expect(pexpect.EOF)
    shell.close()
    assert "status" in (tmp_path / "history").read_text()


def test_long_history_shows_a_progress_bar_per_chunk(shell: pexpect.spawn) -> None:
    shell.sendline("history AAPL 3D 1min")
    shell.expect(r"\[#*\.+\] 1/(\d+)")
    total = int(shell.match.group(1))
    assert total > 1
    shell.expect_exact(f"] {total}/{total}")
    shell.expect(r"(\d+) bars for AAPL")
    assert int(shell.match.group(1)) > 390  # more than one session of minute bars
    shell.expect_exact(PROMPT)


def test_readme_demo_command_brings_up_the_shell(tmp_path: Path) -> None:
    """Exactly the README's demo invocation (no --quiet): start-up steps logged, then the prompt."""
    import sys

    from tests.e2e.shell_helpers import TIMEOUT, child_env

    child = pexpect.spawn(sys.executable, ["-m", "platform_adapter.main", "--env", "development", "--sim"],
                          cwd=str(tmp_path), env=child_env(tmp_path), encoding="utf-8", timeout=TIMEOUT)
    try:
        for step in range(1, 6):
            child.expect(rf"Step {step}/5 ")
        child.expect(r"Connected to IB Gateway on 127\.0\.0\.1:\d+")
        child.expect_exact(PROMPT)
        child.sendline("quit")
        child.expect_exact("Disconnected")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
