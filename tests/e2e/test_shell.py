"""The interactive shell in a real pseudo-terminal against the embedded simulator (appendix A):
commands and errors, live views redrawn in place, progress, completion and history."""

from __future__ import annotations

import re
from pathlib import Path

import pexpect
import pytest

from tests.e2e.shell_helpers import (
    COLOUR,
    ESCAPES,
    PROMPT_RE,
    run_command,
    sim_state_with_position,
    spawn_shell,
)

REDRAW = "\x1b[1A\x1b[2K"  # cursor one line up, erase it: rich redraws a live view in place


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


def _screen_until(child: pexpect.spawn, text: str) -> str:
    child.expect_exact(text)
    return (child.before or "") + text


def test_quotes_refresh_in_place_until_a_key_is_pressed(shell: pexpect.spawn) -> None:
    run_command(shell, "subscribe AAPL MSFT")
    shell.sendline("quotes")
    first = _screen_until(shell, "(press any key to stop)")
    second = _screen_until(shell, "(press any key to stop)")
    shell.send("q")
    shell.expect(PROMPT_RE)
    assert re.search(r"^AAPL +\d+\.\d\d +\d+\.\d\d", ESCAPES.sub("", first), re.M), first
    assert REDRAW in second and "Symbol" in second  # the same table again, over the first one
    assert not COLOUR.search(first + second)  # NO_COLOR
    assert "Unsubscribed from 1 symbol" in run_command(shell, "unsubscribe MSFT")


def test_bars_view_redraws_until_a_key_is_pressed(shell: pexpect.spawn) -> None:
    shell.sendline("bars AAPL")
    shell.expect_exact("Streaming 5-second bars for AAPL")
    _screen_until(shell, "press any key to stop)")
    assert REDRAW in _screen_until(shell, "press any key to stop)")
    shell.send("x")
    shell.expect(PROMPT_RE)
    assert run_command(shell, "bars AAPL stop") == "Stopped 5-second bars for AAPL"


def test_history_with_progress_and_csv(shell: pexpect.spawn, tmp_path: Path) -> None:
    csv = tmp_path / "aapl.csv"
    out = run_command(shell, f"history AAPL 2D 1h --csv {csv}")
    assert re.search(r"AAPL 2 D of 1 hour [━ ]+ 1/1", out), out
    match = re.search(r"(\d+) bars for AAPL", out)
    assert match, out
    assert f"Wrote {match.group(1)} bars to {csv}" in out
    assert len(csv.read_text().strip().splitlines()) == int(match.group(1)) + 1


def test_tab_completion_and_history(shell: pexpect.spawn, tmp_path: Path) -> None:
    shell.send("place_ord\t")
    shell.expect_exact("place_order")  # only "place_ord" was typed: readline completed the rest
    shell.send("\x15")  # clear the line
    assert run_command(shell, "subscribe MS\t") == "Subscribed to 1 symbol"  # completed to MSFT
    run_command(shell, "status")
    shell.sendline("quit")
    shell.expect(pexpect.EOF)
    shell.close()
    assert (tmp_path / "history").read_text().splitlines()[-3:] == ["subscribe MSFT", "status", "quit"]


def test_long_history_shows_a_progress_bar_per_chunk(shell: pexpect.spawn) -> None:
    shell.sendline("history AAPL 3D 1min")
    shell.expect(r"AAPL 3 D of 1 min [━ ]+ 1/(\d+)")
    total = int(shell.match.group(1))
    assert total > 1
    shell.expect_exact(f" {total}/{total}")
    shell.expect(r"(\d+) bars for AAPL")
    assert int(shell.match.group(1)) > 390  # more than one session of minute bars
    shell.expect(PROMPT_RE)


def test_history_is_kept_in_the_home_directory_not_the_working_one(tmp_path: Path) -> None:
    import sys

    from tests.e2e.shell_helpers import TIMEOUT, terminal_env

    work = tmp_path / "work"
    work.mkdir()
    env = terminal_env(tmp_path)
    del env["PA_HISTORY_FILE"]
    child = pexpect.spawn(sys.executable, ["-m", "platform_adapter", "--env", "development", "--no-connect",
                                           "--quiet"], cwd=str(work), env=env, encoding="utf-8", timeout=TIMEOUT)
    try:
        child.expect(PROMPT_RE)
        child.sendline("help status")
        child.expect(PROMPT_RE)
        child.sendline("quit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert "help status" in (tmp_path / ".platform_adapter_history").read_text()
    assert list(work.iterdir()) == []


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
        child.expect(PROMPT_RE)
        child.sendline("quit")
        child.expect_exact("Disconnected")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
