"""ib_connection.cpu_wake_latency_us: the facade's connect holds the PM QoS request (a regular
file stands for /dev/cpu_dma_latency), and leaves the system alone when it is not set."""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from platform_adapter import PlatformAdapter
from platform_adapter.utils import cpu_wake


@pytest.fixture
def device(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "cpu_dma_latency"
    path.touch()
    cpu_wake.release_cpu_wake_latency()
    monkeypatch.setattr(cpu_wake, "DEVICE", str(path))
    yield path
    cpu_wake.release_cpu_wake_latency()


def test_connect_holds_the_request_when_set(make_adapter: Callable[..., PlatformAdapter], device: Path) -> None:
    pa = make_adapter(**{"ib_connection.cpu_wake_latency_us": 25})
    assert pa.is_connected()
    assert struct.unpack("=i", device.read_bytes()) == (25,)
    assert cpu_wake.held_cpu_wake_latency() == 25 and pa.metrics()["cpu_wake_latency_us"] == 25
    pa.disconnect()  # process-wide: held until the process ends, as documented
    assert cpu_wake.held_cpu_wake_latency() == 25


def test_by_default_idle_cpus_are_left_alone(make_adapter: Callable[..., PlatformAdapter], device: Path) -> None:
    pa = make_adapter()
    assert pa.is_connected() and pa.settings.ib_connection.cpu_wake_latency_us is None
    assert device.read_bytes() == b"" and cpu_wake.held_cpu_wake_latency() is None
    assert pa.metrics()["cpu_wake_latency_us"] is None


def test_a_device_that_cannot_be_written_leaves_the_metric_empty(make_adapter: Callable[..., PlatformAdapter],
                                                                  tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    cpu_wake.release_cpu_wake_latency()
    monkeypatch.setattr(cpu_wake, "DEVICE", str(tmp_path / "missing"))
    pa = make_adapter(**{"ib_connection.cpu_wake_latency_us": 0})
    assert pa.is_connected()  # the setting never stops a connect
    assert pa.metrics()["cpu_wake_latency_us"] is None
