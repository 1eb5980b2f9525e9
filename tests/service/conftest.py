"""Fixtures for the service: an in-process service on the simulator with RemoteAdapters, and the
service and clients as real processes (``ServiceProcess``, ``ClientProcess``). 127.0.0.1 and
ephemeral ports only."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from platform_adapter import PlatformAdapter
from platform_adapter.config.settings import ENV_KEYS
from platform_adapter.remote import RemoteAdapter
from platform_adapter.service import Service, ServiceConfig
from platform_adapter.sim import SimulatedGateway
from tests.conftest import LOOPBACK, adapter_settings

ROOT = Path(__file__).resolve().parents[2]
ANY_PORT = f"tcp://{LOOPBACK}:0"
SERVICE_CLIENT_ID = 9
FAST = {"heartbeat_interval": 0.2, "heartbeat_timeout": 1.5}


# --- in process -------------------------------------------------------------------------------------
class Running:
    """A service in this process: ``pa`` (its facade), ``service``."""

    def __init__(self, pa: PlatformAdapter, service: Service) -> None:
        self.pa = pa
        self.service = service

    def stop(self) -> None:
        self.service.stop()
        self.pa.disconnect()


@pytest.fixture
def service_factory(tmp_path: Path) -> Iterator[Callable[..., Running]]:
    """``service_factory(gateway, **ServiceConfig fields)``: a started service (stopped at teardown)."""
    made: list[Running] = []

    def factory(gw: SimulatedGateway, **config: Any) -> Running:
        pa = PlatformAdapter(settings=adapter_settings(tmp_path, gw.port, SERVICE_CLIENT_ID), configure_logging=False)
        service = Service(pa, ServiceConfig(ANY_PORT, ANY_PORT, **{**FAST, **config}), tmp_path / "service.db")
        assert pa.connect(), pa.connection.last_error
        running = Running(pa, service.start())
        made.append(running)
        return running

    yield factory
    for running in made:
        running.stop()


@pytest.fixture
def remote_factory() -> Iterator[Callable[..., RemoteAdapter]]:
    """``remote_factory(running, name)``: a connected RemoteAdapter (disconnected at teardown)."""
    made: list[RemoteAdapter] = []

    def factory(running: Running | str, name: str, connect: bool = True, **kwargs: Any) -> RemoteAdapter:
        endpoint = running if isinstance(running, str) else running.service.commands_endpoint
        remote = RemoteAdapter(endpoint, name=name, **kwargs)
        made.append(remote)
        if connect:
            assert remote.connect(), remote.last_error
        return remote

    yield factory
    for remote in made:
        remote.disconnect()


@pytest.fixture
def served(gateway: SimulatedGateway, service_factory: Callable[..., Running]) -> Running:
    """A service on the ``gateway`` fixture (ticks every 50 ms)."""
    return service_factory(gateway)


# --- processes ---------------------------------------------------------------------------------------------
def child_env() -> dict[str, str]:
    """The environment for child processes: no IB settings from the outside."""
    return {k: v for k, v in os.environ.items() if k not in ENV_KEYS}


def write_config(tmp_path: Path, port: int, client_id: int = SERVICE_CLIENT_ID) -> Path:
    """A config.yaml for a service process on the simulator at ``port`` (logs and journal in tmp_path)."""
    config = {
        "ib_connection": {"host": LOOPBACK, "port": port, "client_id": client_id, "timeout": 10,
                          "request_timeout": 15, "reconnect_backoff": 0.1, "reconnect_max_delay": 1.0},
        "logging": {"level": "INFO", "log_dir": str(tmp_path / "logs"), "console": False},
        "orders": {"journal_path": str(tmp_path / "orders.db")},
        "monitoring": {"health_check_interval_seconds": 5},
        "environment": "test",
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


class ServiceProcess:
    """``python -m platform_adapter.service`` in a child process; ``commands`` and ``events`` once ready."""

    def __init__(self, *args: str, ready_timeout: float = 60.0, code: str | None = None) -> None:
        """``code``: run this Python text (given ``args`` in ``sys.argv[1:]``) instead of the module."""
        self.args = args
        entry = ["-c", code] if code is not None else ["-m", "platform_adapter.service"]
        self.proc = subprocess.Popen([sys.executable, *entry, *args], cwd=ROOT,
                                     env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=_pump, args=(self.proc.stdout, lines), daemon=True).start()
        self.stderr: list[str] = []
        threading.Thread(target=_collect, args=(self.proc.stderr, self.stderr), daemon=True).start()
        try:
            line = lines.get(timeout=ready_timeout)
        except queue.Empty:
            self.kill()
            raise AssertionError(f"service not ready: {''.join(self.stderr)[-2000:]}") from None
        words = line.split()
        assert words[:3] == ["service", "ready:", "commands"] and words[4] == "events", line
        self.commands, self.events = words[3], words[5]

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)

    def terminate(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        return self.proc.wait(15)


class ClientProcess:
    """``tests/service/client_process.py``: a RemoteAdapter in a child process, driven by JSON lines."""

    def __init__(self, endpoint: str, name: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.service.client_process", endpoint, name],
                                     cwd=ROOT, env=child_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        self._replies: queue.Queue[str] = queue.Queue()
        threading.Thread(target=_pump, args=(self.proc.stdout, self._replies), daemon=True).start()
        self.ready = self.ask("hello", timeout=60)

    def ask(self, op: str, timeout: float = 30.0, **args: Any) -> Any:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.proc.stdin.flush()
        try:
            reply = json.loads(self._replies.get(timeout=timeout))
        except queue.Empty:
            raise AssertionError(f"client process: no answer to {op} within {timeout}s") from None
        return reply

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


def _pump(stream: Any, into: queue.Queue[str]) -> None:
    for line in stream:
        into.put(line)


def _collect(stream: Any, into: list[str]) -> None:
    for line in stream:
        into.append(line)


@pytest.fixture
def processes() -> Iterator[list[Any]]:
    """Child processes to kill at teardown (append ServiceProcess / ClientProcess objects)."""
    made: list[Any] = []
    yield made
    for proc in reversed(made):
        proc.kill()
