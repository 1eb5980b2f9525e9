"""Fixtures for the fault-injection suite: simulators built per test (state file, pacing limits)
and adapters pointed at them. 127.0.0.1 and ephemeral ports only."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from platform_adapter import PlatformAdapter
from platform_adapter.sim import SimulatedGateway
from tests.conftest import LOOPBACK, adapter_settings

GatewayFactory = Callable[..., SimulatedGateway]
AdapterFactory = Callable[..., PlatformAdapter]


@pytest.fixture
def sim_factory() -> Iterator[GatewayFactory]:
    """Start simulated gateways with any options; every one is stopped at teardown."""
    made: list[SimulatedGateway] = []

    def factory(**kwargs: Any) -> SimulatedGateway:
        kwargs.setdefault("seed", 7)
        kwargs.setdefault("tick_interval", 0.05)
        gw = SimulatedGateway(host=LOOPBACK, **kwargs)
        gw.start()
        made.append(gw)
        return gw

    yield factory
    for gw in made:
        gw.stop()


@pytest.fixture
def adapter_factory(tmp_path: Path) -> Iterator[AdapterFactory]:
    """``adapter_factory(gateway, connect=True, client_id=1, **overrides)``; disconnected at teardown."""
    made: list[PlatformAdapter] = []

    def factory(gw: SimulatedGateway, connect: bool = True, client_id: int = 1, **overrides: Any) -> PlatformAdapter:
        pa = PlatformAdapter(settings=adapter_settings(tmp_path, gw.port, client_id, **overrides),
                             configure_logging=False)
        made.append(pa)
        if connect:
            assert pa.connect(), pa.connection.last_error
        return pa

    yield factory
    for pa in made:
        try:
            pa.disconnect()
        except Exception:  # noqa: BLE001 - teardown goes on
            pass


def received(gw: SimulatedGateway, *names: str) -> dict[str, int]:
    """How many of each named message the simulator has received."""
    counts = gw.stats().received
    return {name: counts[name] for name in names}


def sim_orders(gw: SimulatedGateway, client_id: int | None = None) -> dict[int, Any]:
    """The simulator's orders by order id (of one client, or all)."""
    return {o.order_id: o for o in gw.stats().orders if client_id is None or o.client_id == client_id}


def wait_reconnected(pa: PlatformAdapter, count: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not (pa.connection.reconnect_count >= count and pa.is_connected()):
        if time.monotonic() > deadline:
            raise AssertionError(f"no reconnect #{count} within {timeout}s (state {pa.connection.state})")
        time.sleep(0.01)


def wait_disconnected(pa: PlatformAdapter, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while pa.is_connected():
        if time.monotonic() > deadline:
            raise AssertionError(f"still connected after {timeout}s")
        time.sleep(0.005)


def run_threads(targets: list[Callable[[], None]], timeout: float) -> list[BaseException]:
    """Run each target on its own thread; join with ``timeout``; return what they raised.
    A thread still alive after the timeout is a deadlock and fails the test."""
    errors: list[BaseException] = []
    lock = threading.Lock()

    def wrap(fn: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                fn()
            except BaseException as exc:  # noqa: BLE001 - reported to the test
                with lock:
                    errors.append(exc)
        return run

    threads = [threading.Thread(target=wrap(t), daemon=True) for t in targets]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    alive = [t.name for t in threads if t.is_alive()]
    assert not alive, f"threads still running after {timeout}s (deadlock?): {alive}"
    return errors


@pytest.fixture
def error_logs() -> Iterator[list[str]]:
    """Messages logged at ERROR or above while the test runs."""
    from loguru import logger

    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), level="ERROR", format="{level} {message}")
    yield lines
    logger.remove(sink)
