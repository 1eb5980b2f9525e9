"""Counters and gauges for spec 9.3, filled in by the adapters and read by ``pa.metrics()``."""

from __future__ import annotations

import threading
import time
from collections import deque
from datetime import datetime, timezone
from typing import Any


class Metrics:
    """Thread-safe counters; timings kept as bounded samples."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.started = time.monotonic()
        self.counters: dict[str, int] = {}
        self._samples: dict[str, deque[float]] = {}
        self._day = datetime.now(timezone.utc).date()

    def incr(self, name: str, by: int = 1) -> None:
        with self._lock:
            self.counters[name] = self.counters.get(name, 0) + by

    def observe(self, name: str, value: float) -> None:
        with self._lock:
            samples = self._samples.get(name)
            if samples is None:
                samples = self._samples[name] = deque(maxlen=1000)
            samples.append(value)

    def count(self, name: str) -> int:
        with self._lock:
            return self.counters.get(name, 0)

    def mean(self, name: str) -> float | None:
        with self._lock:
            samples = self._samples.get(name)
            if not samples:
                return None
            return sum(samples) / len(samples)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            out: dict[str, Any] = dict(self.counters)
            for name, samples in self._samples.items():
                if samples:
                    out[f"{name}_mean"] = sum(samples) / len(samples)
            return out
