"""The Python examples of README.md and docs/*.md: every ``python`` block compiles, and a block
marked ``<!-- doc-test: sim -->`` on the line before it runs as written against the simulated
gateway. The marked blocks of one file run in order in one namespace (a later block may use an
earlier one's names), in a scratch directory whose ``config.yaml`` points at the simulator, with
``pa`` already a connected ``PlatformAdapter`` (for the examples that start from one); the
simulator manages two accounts, ``DU111`` and ``DU222``. ``<!-- doc-test: run -->`` runs a block
alone, as it is. The others are compiled only (say why next to them if they cannot run: e.g. one
that waits for a fill for an hour)."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from platform_adapter import PlatformAdapter
from platform_adapter.config.settings import ENV_KEYS
from platform_adapter.sim import SimulatedGateway
from tests.conftest import LOOPBACK, adapter_settings, wait_for
from tests.docs.markdown import DOCS, ROOT, Block, code_blocks

PYTHON = [b for path in DOCS for b in code_blocks(path) if b.lang == "python"]
MARKERS = ("doc-test: sim", "doc-test: run")
CONFIG = """\
ib_connection:
  host: "127.0.0.1"
  port: {port}
  timeout: 10
logging:
  log_dir: "logs"
  console: false
environment: test
"""


@pytest.mark.parametrize("block", PYTHON, ids=[b.where for b in PYTHON])
def test_every_python_block_compiles(block: Block) -> None:
    compile(block.body, block.where, "exec")


def test_markers_are_known() -> None:
    for path in DOCS:
        for block in code_blocks(path):
            if block.marker.startswith("doc-test"):
                assert block.marker in MARKERS, f"{block.where}: unknown marker {block.marker!r}"
                assert block.lang == "python", f"{block.where}: only python blocks run"


RUN = [b for b in PYTHON if b.marker == "doc-test: run"]


@pytest.mark.parametrize("block", RUN, ids=[b.where for b in RUN])
def test_a_run_block_runs(block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(block.body, block.where, "exec"), {})  # noqa: S102 - our own documentation


SIM_FILES = sorted({b.path for b in PYTHON if b.marker == "doc-test: sim"})


@pytest.fixture
def two_accounts() -> Iterator[SimulatedGateway]:
    with SimulatedGateway(host=LOOPBACK, port=0, seed=7, tick_interval=0.05, accounts=["DU111", "DU222"]) as gw:
        yield gw


@pytest.mark.parametrize("path", SIM_FILES, ids=[p.relative_to(ROOT).as_posix() for p in SIM_FILES])
def test_the_sim_blocks_run_against_the_simulator(path: Path, two_accounts: SimulatedGateway, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_KEYS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.yaml").write_text(CONFIG.format(port=two_accounts.port), encoding="utf-8")
    pa = PlatformAdapter(settings=adapter_settings(tmp_path, two_accounts.port, 2), configure_logging=False)
    assert pa.connect(), pa.connection.last_error
    try:
        namespace: dict[str, Any] = {"pa": pa}
        out = io.StringIO()
        for block in [b for b in PYTHON if b.path == path and b.marker == "doc-test: sim"]:
            with contextlib.redirect_stdout(out):
                exec(compile(block.body, block.where, "exec"), namespace)  # noqa: S102 - our own documentation
        delivered = pa.events.stats()["callbacks_delivered"] or 0
        if pa.market_data.stats()["lines"]:  # the examples' callbacks run (and raise nothing) too
            wait_for(lambda: (pa.events.stats()["callbacks_delivered"] or 0) > delivered + 5)
        pa.events.wait_idle(5.0)
        assert pa.events.stats()["callback_errors"] == 0
    finally:
        pa.disconnect()
