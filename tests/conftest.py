"""Shared fixtures: the simulated gateway on 127.0.0.1 and an ephemeral port, and adapters
connected to it. Integration tests never target any other address."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from platform_adapter import PlatformAdapter
from platform_adapter.config.settings import load_settings
from platform_adapter.sim import SimulatedGateway

LOOPBACK = "127.0.0.1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("IB_LIVE_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="needs a real IB paper gateway; set IB_LIVE_TESTS=1")
    for item in items:
        if "live" in item.keywords:
            item.add_marker(skip)


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.01) -> Any:
    """Poll ``predicate`` until it returns a truthy value or ``timeout`` passes (then fail)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: {predicate}")
        time.sleep(interval)


class Recorder:
    """A callback that records its calls and lets a test wait for them."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self._cond = threading.Condition()

    def __call__(self, *args: Any) -> None:
        with self._cond:
            self.calls.append(args)
            self._cond.notify_all()

    def wait(self, count: int = 1, timeout: float = 10.0) -> list[tuple[Any, ...]]:
        with self._cond:
            ok = self._cond.wait_for(lambda: len(self.calls) >= count, timeout)
        if not ok:
            raise AssertionError(f"expected {count} calls within {timeout}s, got {len(self.calls)}")
        return list(self.calls)


class FailsOnce:
    """Stands in for ``real`` (None: nothing): its first call raises ``error`` (a bug injected into
    a library loop), later ones call ``real``. ``calls`` holds each call's arguments; ``failed`` is
    set once the error has been raised."""

    def __init__(self, real: Callable[..., Any] | None = None, error: BaseException | None = None) -> None:
        self.real = real
        self.error = error if error is not None else RuntimeError("a bug")
        self.calls: list[tuple[Any, ...]] = []
        self.failed = threading.Event()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append(args)
        if len(self.calls) == 1:
            self.failed.set()
            raise self.error
        return None if self.real is None else self.real(*args, **kwargs)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@contextmanager
def still_gateway(version: int) -> Iterator[SimulatedGateway]:
    """A simulator at server ``version`` whose market moves only when the test sets it (AAPL at
    190): the order tests' gateway, one fixture per module over its versions."""
    with SimulatedGateway(host=LOOPBACK, port=0, seed=7, tick_interval=3600, server_version=version) as gw:
        gw.set_price("AAPL", 190.0)
        yield gw


def sim_order(gateway: SimulatedGateway, pa: Any, order_id: int) -> Any:
    """The simulator's record of ``pa``'s order ``order_id``."""
    return next(o for o in gateway.stats().orders if o.order_id == order_id and o.client_id == pa.connection.client_id)


def sim_overrides(tmp_path: Path) -> dict[str, Any]:
    """Settings for tests: fast timeouts, quick reconnects, logs and journal in ``tmp_path``."""
    return {
        "ib_connection.host": LOOPBACK,
        "ib_connection.timeout": 10.0,
        "ib_connection.request_timeout": 15.0,
        "ib_connection.reconnect_backoff": 0.1,
        "ib_connection.reconnect_max_delay": 1.0,
        "ib_connection.reconnect_max_attempts": 50,
        "logging.log_dir": str(tmp_path / "logs"),
        "logging.console": False,
        "orders.journal_path": str(tmp_path / "orders.db"),
        "monitoring.health_check_interval_seconds": 5.0,
        "environment": "test",
    }


def adapter_settings(tmp_path: Path, port: int, client_id: int, **overrides: Any) -> Any:
    """Settings for an adapter on the simulator at ``port`` (``sim_overrides`` plus ``overrides``)."""
    opts = sim_overrides(tmp_path)
    opts["ib_connection.port"] = port
    opts["ib_connection.client_id"] = client_id
    opts.update(overrides)
    return load_settings(None, env_file=os.devnull, overrides=opts, use_environ=False)


@pytest.fixture
def gateway() -> Iterator[Any]:
    """A simulated IB Gateway on 127.0.0.1 and a free port."""
    from platform_adapter.sim import SimulatedGateway

    with SimulatedGateway(host=LOOPBACK, port=0, seed=7, tick_interval=0.05) as gw:
        yield gw


@pytest.fixture
def make_adapter(tmp_path: Path, gateway: Any) -> Iterator[Callable[..., PlatformAdapter]]:
    """Factory for PlatformAdapters pointed at the simulator (disconnected at teardown)."""
    made: list[PlatformAdapter] = []

    def factory(connect: bool = True, **overrides: Any) -> PlatformAdapter:
        client_id = overrides.pop("client_id", len(made) + 1)
        pa = PlatformAdapter(settings=adapter_settings(tmp_path, gateway.port, client_id, **overrides),
                             configure_logging=False)
        made.append(pa)
        if connect:
            assert pa.connect(), pa.connection.last_error
        return pa

    yield factory
    for pa in made:
        try:
            pa.disconnect()
        except Exception:
            pass


@pytest.fixture
def pa(make_adapter: Callable[..., PlatformAdapter]) -> PlatformAdapter:
    """A PlatformAdapter connected to the simulator."""
    return make_adapter()


@pytest.fixture
def unfrozen_heap() -> Iterator[None]:
    """Nothing frozen and no freeze remembered (``utils/heap.py``), before and after the test."""
    import gc

    from platform_adapter.utils import heap

    gc.unfreeze()
    heap.reset_for_tests()
    yield
    gc.unfreeze()
    heap.reset_for_tests()


class KilledAdapter:
    """A Python ``script`` in a child process, given the settings of an adapter on ``gateway`` (client
    id 9, the test's journal: a restart in the test reads what it left) and ``args``: it prints a
    line when ready, and on ``go`` kills itself (SIGKILL) at the point the test is about."""

    CLIENT_ID = 9

    def __init__(self, script: str, gateway: SimulatedGateway, tmp_path: Path, *args: str) -> None:
        opts = {**sim_overrides(tmp_path), "ib_connection.port": gateway.port,
                "ib_connection.client_id": self.CLIENT_ID, "logging.log_dir": str(tmp_path / "killed-logs")}
        self.gateway = gateway
        self.proc = subprocess.Popen([sys.executable, "-c", script, json.dumps(opts), *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def __enter__(self) -> KilledAdapter:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def ready(self) -> str:
        """The line the script prints when ready (its stderr's tail in the failure when none)."""
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line.strip(), self._stderr()
        return line

    def go(self) -> None:
        """Tell it to go on, and wait for it to be killed."""
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        assert self.proc.wait(timeout=60) == -9, self._stderr()

    def orders(self) -> dict[int, Any]:
        """The simulator's orders of the child's client id, by order id."""
        return {o.order_id: o for o in self.gateway.stats().orders if o.client_id == self.CLIENT_ID}

    def _stderr(self) -> str:
        return self.proc.stderr.read()[-2000:] if self.proc.stderr else ""
