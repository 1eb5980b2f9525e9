"""utils/cpu_wake.py: the PM QoS request held open with its value, one per process, lowered but
never raised, ended on release; a device that cannot be written leaves the system alone (a
regular file stands for /dev/cpu_dma_latency: what the kernel reads is the 32-bit value)."""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from platform_adapter.log import logger
from platform_adapter.utils import cpu_wake


@pytest.fixture(autouse=True)
def no_request() -> Iterator[None]:
    cpu_wake.release_cpu_wake_latency()
    yield
    cpu_wake.release_cpu_wake_latency()


def open_fds() -> set[int]:
    return {int(fd) for fd in os.listdir("/proc/self/fd")}


def values(device: Path) -> list[int]:
    data = device.read_bytes()
    return [v for (v,) in struct.iter_unpack("=i", data)]


def test_the_value_is_written_and_held_until_released(tmp_path: Path) -> None:
    device = tmp_path / "cpu_dma_latency"
    device.touch()
    before = open_fds()
    assert cpu_wake.hold_cpu_wake_latency(20, str(device))
    assert values(device) == [20]
    assert cpu_wake.held_cpu_wake_latency() == 20
    assert len(open_fds() - before) == 1  # the request lasts while the file stays open
    cpu_wake.release_cpu_wake_latency()
    assert cpu_wake.held_cpu_wake_latency() is None
    assert open_fds() == before


def test_a_lower_value_replaces_the_request_a_higher_one_leaves_it(tmp_path: Path) -> None:
    device = tmp_path / "cpu_dma_latency"
    device.touch()
    before = open_fds()
    assert cpu_wake.hold_cpu_wake_latency(50, str(device))
    assert cpu_wake.hold_cpu_wake_latency(100, str(device))  # a second adapter asking for less
    assert values(device) == [50] and cpu_wake.held_cpu_wake_latency() == 50
    assert cpu_wake.hold_cpu_wake_latency(0, str(device))  # a new request (a new open: written from the start)
    assert values(device) == [0] and cpu_wake.held_cpu_wake_latency() == 0
    assert len(open_fds() - before) == 1  # the old request was closed once the new one held


def test_a_device_that_cannot_be_opened_leaves_the_system_alone_with_a_warning(tmp_path: Path) -> None:
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="WARNING", format="{level} {message}")
    try:
        assert not cpu_wake.hold_cpu_wake_latency(0, str(tmp_path / "missing"))
    finally:
        logger.remove(sink)
    assert cpu_wake.held_cpu_wake_latency() is None
    assert len(lines) == 1 and lines[0].startswith("WARNING") and "cpu_wake_latency_us" in lines[0]


@pytest.mark.parametrize("bad", [-1, 2**31, 1.0, True, "0", None])
def test_bad_values_are_refused_before_anything_is_opened(tmp_path: Path, bad: object) -> None:
    device = tmp_path / "cpu_dma_latency"
    device.touch()
    with pytest.raises(ValueError, match="max_us"):
        cpu_wake.hold_cpu_wake_latency(bad, str(device))  # type: ignore[arg-type]
    assert device.read_bytes() == b"" and cpu_wake.held_cpu_wake_latency() is None
