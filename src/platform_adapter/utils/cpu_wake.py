"""Idle CPUs kept quick to wake: a Linux PM QoS request on ``/dev/cpu_dma_latency``.

An order's answer wakes threads that sleep: the socket reader, the event thread, the strategy's
waiting thread. A thread woken on an idle CPU first waits for that CPU to leave its idle state;
on the project's benchmark VM (idle state: a halt, an exit to the hypervisor) that took 50-70 us
per wake-up, several times per order (``docs/performance.md``, "Idle CPUs and their wake-up").
While a process holds ``/dev/cpu_dma_latency`` open with a value written to it (microseconds),
the kernel keeps every CPU in idle states that it can leave within that time (0: idle CPUs poll
instead of halting). It is system-wide, it costs power (idle CPUs spin), and it needs write
access to the device (root, or a udev rule for the trading user); the request ends when the file
is closed, at the latest when the process exits. Opt-in: ``ib_connection.cpu_wake_latency_us``.
"""

from __future__ import annotations

import os
import struct
import threading

from platform_adapter.log import logger

DEVICE = "/dev/cpu_dma_latency"
MAX_US = 2**31 - 1  # the kernel's largest request (a signed 32-bit value)

_lock = threading.Lock()
_held: tuple[int, int] | None = None  # (file descriptor, microseconds) of this process's request


def hold_cpu_wake_latency(max_us: int, device: str | None = None) -> bool:
    """Ask the kernel to keep every CPU able to wake within ``max_us`` microseconds, for as long as
    this process runs (or until :func:`release_cpu_wake_latency`). A process holds one request: a
    lower value replaces a higher one, a higher one leaves it. False (logged as a warning) when
    the device (default :data:`DEVICE`) cannot be written: the system's idle states stay as they are."""
    global _held
    device = device or DEVICE
    if isinstance(max_us, bool) or not isinstance(max_us, int) or not 0 <= max_us <= MAX_US:
        raise ValueError(f"max_us must be an integer 0..{MAX_US}, got {max_us!r}")
    with _lock:
        if _held is not None and _held[1] <= max_us:
            return True
        try:
            fd = os.open(device, os.O_WRONLY | os.O_CLOEXEC)
        except OSError as exc:
            logger.warning("idle CPUs left as they are: cannot open {} ({}; ib_connection.cpu_wake_latency_us "
                           "needs write access to it: root, or a udev rule)", device, exc.strerror or exc)
            return False
        try:
            os.write(fd, struct.pack("=i", max_us))
        except OSError as exc:
            os.close(fd)
            logger.warning("idle CPUs left as they are: {} refused the request ({})", device, exc.strerror or exc)
            return False
        if _held is not None:
            os.close(_held[0])  # the new request is in place before the old one ends
        _held = (fd, max_us)
    logger.info("idle CPUs kept within {} us of waking while this process runs ({}; "
                "ib_connection.cpu_wake_latency_us)", max_us, device)
    return True


def held_cpu_wake_latency() -> int | None:
    """The microseconds this process's request holds (``None``: no request)."""
    held = _held
    return None if held is None else held[1]


def release_cpu_wake_latency() -> None:
    """End this process's request (the idle states the system would choose come back)."""
    global _held
    with _lock:
        if _held is not None:
            os.close(_held[0])
            _held = None
