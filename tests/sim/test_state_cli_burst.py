"""State-file restart, standalone CLI with control command, burst mode."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from platform_adapter.sim import SimulatedGateway
from platform_adapter.sim.__main__ import main as sim_main
from platform_adapter.sim.universe import DEFAULT_FILE

from .conftest import AAPL, RawClient
from .test_faults import place, ready

BURST = [0, "BURST", "STK", "", "", "", "", "SMART", "", "USD", "", ""]


def test_state_file_restart(tmp_path: Path) -> None:
    state = tmp_path / "sim_state.json"
    with SimulatedGateway(tick_interval=0.05, state_file=state) as gw:
        c = RawClient(gw.port, 1)
        oid = ready(c)
        place(c, oid, qty=100)
        c.wait_for(lambda m: m[0] == "3" and m[2] == "Filled")
        place(c, oid + 5, otype="LMT", lmt=1.00, qty=10)
        c.wait_for(lambda m: m[0] == "3" and m[1] == str(oid + 5) and m[2] == "Submitted")
        c.close()
    assert state.exists()
    with SimulatedGateway(tick_interval=0.05, state_file=state) as gw2:
        c = RawClient(gw2.port, 1)
        assert ready(c) == oid + 6  # continues from the high-water mark
        c.send(61, 1)
        pos = c.wait_for(lambda m: m[0] == "61")
        assert pos[3] == "265598" and pos[14] == "100"
        c.send(5, 1)
        oo = c.wait_for(lambda m: m[0] == "5")
        assert oo[1] == str(oid + 5) and oo[13] == "BUY" and oo[14] == "10"
        c.send(7, 3, 1, 0, "", "", "", "", "", "")
        ex = c.wait_for(lambda m: m[0] == "11")
        assert ex[2] == str(oid)
        c.close()


def test_standalone_cli_and_control(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    universe = tmp_path / "universe.yaml"  # the package's file without its option chains
    universe.write_text(DEFAULT_FILE.read_text().split("\noptions:")[0])
    p = subprocess.Popen([sys.executable, "-m", "platform_adapter.sim", "--port", "0",
                          "--control-port", "0", "--tick-interval", "0.05", "--position", "MSFT:7@400",
                          "--universe", str(universe)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert p.stdout is not None and p.stderr is not None
        ctl_line = p.stderr.readline().strip()
        line = p.stdout.readline().strip()
        assert line.startswith("listening on 127.0.0.1:")
        port = int(line.rsplit(":", 1)[1])
        ctl_port = int(ctl_line.rsplit(":", 1)[1])
        newest = RawClient(port, 10, versions="v100..226", start=False)
        assert newest.sv == 226  # the default server version: ibapi's MAX_CLIENT_VER
        newest.close()
        c = RawClient(port, 9)
        ready(c)
        c.send(61, 1)  # reqPositions: the --position seed is there
        pos = c.wait_for(lambda m: m[0] == "61")
        assert pos[4] == "MSFT" and float(pos[-2]) == 7 and float(pos[-1]) == 400
        with socket.create_connection(("127.0.0.1", ctl_port), timeout=5) as s:
            f = s.makefile("rw")
            f.write("system 1100\n")
            f.flush()
            assert f.readline().strip() == "ok"
            assert c.wait_error(1100)[4] == "Connectivity between IB and Trader Workstation has been lost."
            f.write("drop\n")
            f.flush()
            assert f.readline().strip() == "ok"
            assert c.wait_closed()
            f.write("stats\n")
            f.flush()
            assert f.readline().startswith("ok {")
    finally:
        p.terminate()
        p.wait(timeout=10)


def test_burst_on_burst_symbol() -> None:
    with SimulatedGateway(tick_interval=10, burst_size=5000) as gw:
        c = RawClient(gw.port, 1)
        ready(c)
        c.send(1, 11, 7, *BURST, 0, "", 0, 0, "")
        for _ in range(5000 + 8):  # initial snapshot (8 price/size ticks) + burst
            c.wait_for(lambda m: m[0] in ("1", "2") and m[2] == "7")


def test_burst_api_and_on_subscribe() -> None:
    with SimulatedGateway(tick_interval=10, burst_on_subscribe=100) as gw:
        c = RawClient(gw.port, 1)
        ready(c)
        c.send(1, 11, 8, *AAPL, 0, "", 0, 0, "")
        for _ in range(100 + 8):
            c.wait_for(lambda m: m[0] in ("1", "2") and m[2] == "8")
        assert gw.burst(8, 2000) == 2000
        for _ in range(2000):
            c.wait_for(lambda m: m[0] in ("1", "2") and m[2] == "8")


def test_seeded_positions_are_reported(raw) -> None:  # type: ignore[no-untyped-def]
    with SimulatedGateway(positions={"AAPL": (100, 149.5)}) as gw:
        c = RawClient(gw.port, 1)
        c.wait_for(lambda m: m[0] == "9")
        c.send(61, 1)  # reqPositions
        pos = c.wait_for(lambda m: m[0] == "61")
        assert pos[4] == "AAPL" and float(pos[-2]) == 100 and float(pos[-1]) == 149.5
        assert gw.account.cash == 1_000_000.0 - 100 * 149.5
    with pytest.raises(ValueError, match="universe"):
        SimulatedGateway(positions={"NOPE": (1, 1.0)})


def test_cli_refuses_a_universe_it_cannot_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("contracts: [{bonds: []}]")
    for path in (bad, tmp_path / "missing.yaml"):
        with pytest.raises(SystemExit):
            sim_main(["--universe", str(path)])
        assert "cannot read universe" in capsys.readouterr().err


@pytest.mark.parametrize("version", ["99", "227", "x"])
def test_cli_refuses_a_server_version_it_cannot_serve(version: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        sim_main(["--server-version", version])
    assert "--server-version" in capsys.readouterr().err
