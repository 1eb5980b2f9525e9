"""Non-interactive mode of ``python -m platform_adapter.main``: commands from a file or stdin."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.e2e.shell_helpers import child_env, sim_state_with_position

MAIN = ["-m", "platform_adapter.main", "--env", "development", "--sim"]


def run(tmp: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *MAIN, *args], cwd=str(tmp), env=child_env(tmp), capture_output=True,
                          text=True, timeout=90, input=stdin)


def test_commands_from_file_appendix_a(tmp_path: Path) -> None:
    script = tmp_path / "session.txt"
    script.write_text("# appendix A\nconnect\nsubscribe AAPL MSFT TSLA\n\nplace_order AAPL BUY 100 LMT 150.00\n"
                      "get_positions\norders\nmetrics\ndisconnect\n")
    state = sim_state_with_position(tmp_path / "sim.json")
    r = run(tmp_path, "--quiet", "--sim-state", str(state), "--commands", str(script))
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert re.search(r"^> connect\nConnected to IB Gateway on 127\.0\.0\.1:\d+$", out, re.M), out
    assert "> subscribe AAPL MSFT TSLA\nSubscribed to 3 symbols\n" in out
    order = re.search(r"^Order placed: ID (\d+)$", out, re.M)
    assert order, out
    assert "> get_positions\nAAPL: 100 shares @ $149.50\n" in out
    assert re.search(rf"^ *{order.group(1)} +AAPL +BUY +100 +LMT +150\.00", out, re.M), out
    assert re.search(r"^  orders_placed_today +1$", out, re.M), out
    assert re.search(r"^  active_subscriptions +3$", out, re.M), out
    assert out.endswith("> disconnect\nDisconnected\n")
    assert r.stderr == ""
    assert "\x1b" not in out and not re.search(r" $", out, re.M)  # a pipe gets plain text, no trailing blanks


def test_failed_command_gives_exit_1_and_the_rest_still_runs(tmp_path: Path) -> None:
    r = run(tmp_path, "--quiet", "--commands", "-", stdin="frobnicate\nstatus\n")
    assert r.returncode == 1
    assert "Error: unknown command 'frobnicate'" in r.stdout
    assert "State            CONNECTED" in r.stdout
    r = run(tmp_path, "--quiet", "--commands", "-", "--stop-on-error", stdin="frobnicate\nstatus\n")
    assert r.returncode == 1 and "State" not in r.stdout


def test_startup_sequence_logs_one_line_per_step(tmp_path: Path) -> None:
    r = run(tmp_path, "--commands", "-", stdin="status\n")
    assert r.returncode == 0, r.stderr
    steps = [line for line in r.stderr.splitlines() if "Step " in line]
    assert [re.search(r"Step (\d)/5", s).group(1) for s in steps] == ["1", "2", "3", "4", "5"]  # type: ignore[union-attr]
    assert "Connect to IB Gateway: connected to 127.0.0.1:" in steps[2]
    log_files = list((tmp_path / "logs").glob("pa_*.log"))
    assert log_files and "Step 5/5 Ready for operations" in log_files[0].read_text()


def test_bad_arguments_and_unreachable_gateway(tmp_path: Path) -> None:
    bad = subprocess.run([sys.executable, "-m", "platform_adapter.main", "--env", "nowhere"], cwd=str(tmp_path),
                         env=child_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
    missing = run(tmp_path, "--config", str(tmp_path / "none.yaml"), "--commands", "-", stdin="")
    assert missing.returncode == 2 and "Configuration error: config config_path: file not found" in missing.stderr
    r = subprocess.run([sys.executable, "-m", "platform_adapter.main", "--env", "development", "--port", "1",
                        "--quiet", "--commands", "-"], input="status\nget_positions\n", cwd=str(tmp_path),
                       env=child_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "State            DISCONNECTED" in r.stdout
    assert "Error: not connected to 127.0.0.1:1" in r.stdout


def test_order_management_account_and_market_commands(tmp_path: Path) -> None:
    commands = ("place_order MSFT BUY 10 LMT 1.00 tif=DAY\nmodify {id} limit=1.50 qty=20\norders\ncancel {id}\n"
                "place_order AAPL BUY 5 MKT\naccount\npnl\nbars AAPL\nbars AAPL stop\nhistory TSLA 2D 1h\n"
                "subscribe AAPL\nunsubscribe AAPL\nquotes\n")
    # the first order id is whatever the adapter hands out: run once to learn it, then use it
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = run(tmp_path / "a", "--quiet", "--commands", "-", stdin="place_order MSFT BUY 10 LMT 1.00\n")
    order_id = int(re.search(r"Order placed: ID (\d+)", first.stdout).group(1))  # type: ignore[union-attr]
    r = run(tmp_path / "b", "--quiet", "--commands", "-", stdin=commands.format(id=order_id))
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert f"Order {order_id} modified: limit_price=1.5, quantity=20" in out
    assert re.search(rf"^ *{order_id} +MSFT +BUY +20 +LMT +1\.50 +- +DAY", out, re.M), out
    assert f"Cancel requested for order {order_id}" in out
    assert re.search(r"^Net liquidation +\$[\d,]+\.\d\d$", out, re.M), out
    assert re.search(r"^DU1234567: daily -?\$", out, re.M), out
    assert "Streaming 5-second bars for AAPL" in out and "Stopped 5-second bars for AAPL" in out
    assert re.search(r"^\d+ bars for TSLA: ", out, re.M), out
    assert "Unsubscribed from 1 symbol" in out
    assert "No subscriptions (use: subscribe SYMBOL...)" in out


def test_usage_errors(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "platform_adapter.main", "--stop-on-error"], cwd=str(tmp_path),
                       env=child_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "need --commands" in r.stderr
    r = run(tmp_path, "--quiet", "--commands", str(tmp_path / "missing.txt"))
    assert r.returncode == 2 and "cannot read commands from" in r.stderr


def test_periodic_summary_and_prometheus_endpoint(tmp_path: Path) -> None:
    import socket
    import urllib.request

    import pexpect
    import yaml

    from platform_adapter.config.settings import DEFAULT_CONFIG_PATH
    from tests.conftest import wait_for
    from tests.e2e.shell_helpers import PROMPT, TIMEOUT

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
    config["monitoring"].update({"metrics_log_interval_seconds": 0.2, "prometheus_port": port})
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    child = pexpect.spawn(sys.executable, [*MAIN, "--quiet", "--config", str(path)], cwd=str(tmp_path),
                          env=child_env(tmp_path), encoding="utf-8", timeout=TIMEOUT)
    try:
        child.expect_exact(PROMPT)
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()  # noqa: S310
        assert "platform_adapter_connected 1.0" in body
        assert "platform_adapter_memory_rss_bytes" in body

        def summary_logged() -> bool:
            return any("metrics: state=CONNECTED" in f.read_text() for f in (tmp_path / "logs").glob("pa_*.log"))

        wait_for(summary_logged, timeout=15, interval=0.05)
        child.sendline("quit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0


def test_simulated_orders_stay_out_of_the_real_order_journal(tmp_path: Path) -> None:
    first = run(tmp_path, "--quiet", "--commands", "-", stdin="place_order AAPL BUY 1 MKT\n")
    second = run(tmp_path, "--quiet", "--commands", "-", stdin="orders all\nplace_order AAPL BUY 1 MKT\n")
    assert first.returncode == 0 and second.returncode == 0, first.stdout + second.stdout
    assert "> orders all\nNo orders\n" in second.stdout
    ids = [re.search(r"Order placed: ID (\d+)", r.stdout).group(1) for r in (first, second)]  # type: ignore[union-attr]
    assert ids[0] == ids[1]
    assert not (tmp_path / "logs" / "orders.db").exists()


def test_the_embedded_simulator_with_several_accounts(tmp_path: Path) -> None:
    r = run(tmp_path, "--quiet", "--sim-accounts", "DU111111,DU222222", "--commands", "-", stdin="status\n")
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"^Accounts +DU111111, DU222222$", r.stdout, re.M), r.stdout
