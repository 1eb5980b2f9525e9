"""The service's command line: the ready line and the embedded simulator, exit codes for what no
retry fixes, and CurveZMQ: required beyond loopback, and only clients with an accepted key get in."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from platform_adapter.remote import RemoteAdapter
from platform_adapter.service.__main__ import main
from platform_adapter.service.security import keygen
from platform_adapter.sim import SimulatedGateway
from tests.conftest import Recorder
from tests.service.conftest import ROOT, ClientProcess, ServiceProcess, child_env, write_config


def run_service(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "platform_adapter.service", *args], cwd=ROOT, env=child_env(),
                          capture_output=True, text=True, timeout=60, check=False)


def test_help_and_the_console_script(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "--commands ENDPOINT" in out and "--sim" in out and "keygen" in out
    assert '"pa-service=platform_adapter.service.__main__:main"' in (ROOT / "setup.py").read_text()


def test_the_embedded_simulator_and_the_ready_line(processes: list[Any]) -> None:
    svc = ServiceProcess("--sim", "--commands", "tcp://127.0.0.1:0", "--events", "tcp://127.0.0.1:0")
    processes.append(svc)
    assert svc.commands.startswith("tcp://127.0.0.1:") and svc.events.startswith("tcp://127.0.0.1:")
    assert svc.commands != svc.events
    client = ClientProcess(svc.commands, "sim-user")
    processes.append(client)
    assert client.ask("connect")["ok"]["connected"] is True
    order_id = client.ask("place", symbol="AAPL", action="BUY", quantity=1, order_type="MKT")["ok"]
    fills = [e for e in client.ask("wait_events", kind="fill", count=1, seconds=10)["ok"] if e["kind"] == "fill"]
    assert [f["order_id"] for f in fills] == [order_id]
    assert svc.terminate() == 0  # SIGTERM: a clean stop


def test_exit_codes(tmp_path: Path) -> None:
    exposed = run_service("--sim", "--commands", "tcp://0.0.0.0:0", "--events", "tcp://127.0.0.1:0")
    assert exposed.returncode == 2 and "CurveZMQ" in exposed.stderr and "keygen" in exposed.stderr
    half = run_service("--sim", "--curve-secret", str(tmp_path / "x.key_secret"))
    assert half.returncode == 2 and "go together" in half.stderr
    nobody = run_service("--config", str(write_config(tmp_path, port=1)), "--commands", "tcp://127.0.0.1:0",
                         "--events", "tcp://127.0.0.1:0")
    assert nobody.returncode == 1 and "cannot connect to the gateway" in nobody.stderr


def test_curve_lets_in_only_accepted_keys(gateway: SimulatedGateway, tmp_path: Path, processes: list[Any]) -> None:
    keys, accepted = tmp_path / "keys", tmp_path / "accepted"
    keygen(keys, "service")
    keygen(keys, "strategy")
    keygen(keys, "stranger")
    accepted.mkdir()
    (accepted / "strategy.key").write_text((keys / "strategy.key").read_text())
    svc = ServiceProcess("--config", str(write_config(tmp_path, gateway.port)), "--commands", "tcp://127.0.0.1:0",
                         "--events", "tcp://127.0.0.1:0", "--curve-secret", str(keys / "service.key_secret"),
                         "--curve-clients", str(accepted))
    processes.append(svc)
    server_key = str(keys / "service.key")
    ok = RemoteAdapter(svc.commands, name="strategy", server_key=server_key,
                       client_key=str(keys / "strategy.key_secret"))
    try:
        assert ok.connect(), ok.last_error
        quotes = Recorder()
        ok.market_data.subscribe_quotes(["AAPL"], quotes)
        quotes.wait(1)
    finally:
        ok.disconnect()
    for name, kwargs in (("stranger", {"server_key": server_key, "client_key": str(keys / "stranger.key_secret")}),
                         ("plain", {})):
        refused = RemoteAdapter(svc.commands, name=name, connect_timeout=1.5, **kwargs)
        assert refused.connect() is False
        assert refused.last_error
    assert gateway.stats().received["placeOrder"] == 0
