"""Counters and gauges for spec 9.3, filled in by the adapters, and the metrics built from them.

:class:`Metrics` is the raw store (counters, per-day counters, per-second rates, timing
samples, gauges). Each part of spec 9.3 comes from the public interface of the component that
owns it: :func:`connection_metrics` (the connection's status), ``MarketDataAdapter.
monitoring_metrics()``, :func:`performance_metrics` (the event thread's ``stats()`` and the
dispatcher's backlog) and ``OrderExecutionAdapter.monitoring_metrics()`` (:func:`order_metrics`);
``PlatformAdapter.metrics()`` puts them together.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from datetime import datetime, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from platform_adapter.models.connection import ConnectionStatus

RATE_WINDOW_SECONDS = 60
"""Sliding window over which ``Metrics.rate`` averages events per second."""

# Counters the market-data adapter records under (``ctx.metrics.incr(...)``)
TICKS = "md_ticks"
"""Tick values stored into the lines."""
STALE_EPISODES = "md_stale_episodes"
"""A "missing tick" episode: a subscribed quote with no update for ``stale_after_seconds``."""


class Metrics:
    """Thread-safe counters; timings kept as bounded samples; rates over a sliding minute."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.started = time.monotonic()
        self.counters: dict[str, int] = {}
        self.gauges: dict[str, float] = {}
        self._samples: dict[str, deque[float]] = {}
        self._buckets: dict[str, deque[list[int]]] = {}
        self._daily: dict[str, int] = {}
        self._day_ends = _next_midnight()  # time.time() at which today's counts end (UTC midnight)

    def incr(self, name: str, by: int = 1) -> None:
        """Add ``by`` to counter ``name`` (also counted for today and for the per-second rate)."""
        now = int(time.monotonic())
        with self._lock:
            self.counters[name] = self.counters.get(name, 0) + by
            self._roll_day()
            self._daily[name] = self._daily.get(name, 0) + by
            buckets = self._buckets.get(name)
            if buckets is None:
                buckets = self._buckets[name] = deque(maxlen=RATE_WINDOW_SECONDS + 1)
            if buckets and buckets[-1][0] == now:
                buckets[-1][1] += by
            else:
                buckets.append([now, by])

    def observe(self, name: str, value: float) -> None:
        """Record one timing or size sample (the last 1000 are kept)."""
        with self._lock:
            samples = self._samples.get(name)
            if samples is None:
                samples = self._samples[name] = deque(maxlen=1000)
            samples.append(value)

    def set_gauge(self, name: str, value: float) -> None:
        """Set a gauge to its current value."""
        with self._lock:
            self.gauges[name] = value

    def count(self, name: str) -> int:
        with self._lock:
            return self.counters.get(name, 0)

    def count_today(self, name: str) -> int:
        """The counter's increments since UTC midnight."""
        with self._lock:
            self._roll_day()
            return self._daily.get(name, 0)

    def rate(self, name: str, window: int = RATE_WINDOW_SECONDS) -> float:
        """Events per second of counter ``name`` over the last ``window`` seconds (or since the
        store was created, when that is shorter)."""
        now = time.monotonic()
        with self._lock:
            buckets = self._buckets.get(name)
            if not buckets:
                return 0.0
            cutoff = int(now) - window
            total = sum(n for sec, n in buckets if sec > cutoff)
        span = min(float(window), max(now - self.started, 1.0))
        return total / span

    def mean(self, name: str) -> float | None:
        with self._lock:
            samples = self._samples.get(name)
            if not samples:
                return None
            return sum(samples) / len(samples)

    def max(self, name: str) -> float | None:
        with self._lock:
            samples = self._samples.get(name)
            return max(samples) if samples else None

    def snapshot(self) -> dict[str, Any]:
        """Every counter, gauge and sample mean (``<name>_mean``)."""
        with self._lock:
            out: dict[str, Any] = dict(self.counters)
            out.update(self.gauges)
            for name, samples in self._samples.items():
                if samples:
                    out[f"{name}_mean"] = sum(samples) / len(samples)
            return out

    def _roll_day(self) -> None:
        if time.time() >= self._day_ends:
            self._day_ends = _next_midnight()
            self._daily.clear()


def _next_midnight() -> float:
    """``time.time()`` of the next UTC midnight."""
    return (int(time.time()) // 86_400 + 1) * 86_400.0


def memory_rss_bytes() -> int | None:
    """Resident memory of this process (psutil), or ``None`` when psutil is unavailable."""
    try:
        import psutil  # noqa: PLC0415 - optional at import time
    except ImportError:  # pragma: no cover - psutil is a pinned dependency
        return None
    return int(psutil.Process().memory_info().rss)


def order_metrics(orders: list[Any], today: Any | None = None) -> dict[str, Any]:
    """Orders placed today, fill rate, average execution time and rejection rate, from the
    order snapshots (``Order``) the StateManager holds.

    Fill rate and rejection rate are fractions (0..1) of today's orders; ``None`` when no order
    was placed today. Execution time is submit -> last fill, over today's filled orders.
    """
    from platform_adapter.models.order import OrderState  # noqa: PLC0415 - avoid an import cycle

    today = today or datetime.now(timezone.utc).date()
    placed = [o for o in orders if o.status.submitted_at is not None and o.status.submitted_at.date() == today]
    filled = [o for o in placed if o.status.status is OrderState.FILLED]
    rejected = [o for o in placed if o.status.status in (OrderState.REJECTED, OrderState.INACTIVE)]
    times: list[float] = []
    for o in filled:
        fills = o.status.fills
        submitted = o.status.submitted_at
        if fills and submitted is not None:
            done = max(f.time for f in fills)
            times.append(max(0.0, (done - submitted).total_seconds()))
        elif o.status.updated_at is not None and submitted is not None:
            times.append(max(0.0, (o.status.updated_at - submitted).total_seconds()))
    n = len(placed)
    return {
        "orders_placed_today": n,
        "orders_filled_today": len(filled),
        "orders_rejected_today": len(rejected),
        "fill_rate": len(filled) / n if n else None,
        "rejection_rate": len(rejected) / n if n else None,
        "avg_execution_time_seconds": sum(times) / len(times) if times else None,
    }


def connection_metrics(status: ConnectionStatus) -> dict[str, Any]:
    """Spec 9.3 "connection health" from the connection's status."""
    return {
        "connection_state": status.state.value,
        "connection_uptime_seconds": round(status.uptime_seconds, 3),
        "reconnection_count": status.reconnect_count,
        "last_heartbeat": status.last_heartbeat.isoformat() if status.last_heartbeat else None,
        "ib_link_ok": status.ib_link_ok,
    }


def performance_metrics(events: dict[str, Any], dispatcher_backlog: int) -> dict[str, Any]:
    """Spec 9.3 "performance" from the event thread's ``stats()`` and the dispatcher's backlog."""
    mean = events["callback_time_mean_ms"]
    return {
        "callback_processing_time_mean_ms": round(mean, 4) if mean is not None else None,
        "callback_processing_time_max_ms": round(events["callback_time_max_ms"], 4),
        "message_queue_length": events["event_queue_length"] + dispatcher_backlog,
        "dispatcher_backlog": dispatcher_backlog,
        "memory_rss_bytes": memory_rss_bytes(),
    }


def raw_metrics(metrics: Metrics, *parts: dict[str, Any]) -> dict[str, Any]:
    """The parts merged (the first to name a metric gives it), then every raw counter and gauge not
    named yet (floats for Decimals)."""
    out: dict[str, Any] = {}
    for part in parts:
        for name, value in part.items():
            out.setdefault(name, value)
    for name, value in metrics.snapshot().items():
        out.setdefault(name, float(value) if isinstance(value, Decimal) else value)
    return out
