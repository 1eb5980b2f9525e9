"""Publishing the spec 9.3 metrics: a periodic INFO summary line and an optional Prometheus
endpoint (``prometheus_client``) bound to 127.0.0.1 only.

    exporter = MetricsExporter(pa.metrics, interval=60.0, prometheus_port=9108)
    exporter.start()
    ...
    exporter.stop()
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from platform_adapter.log import logger

PROMETHEUS_HOST = "127.0.0.1"
PREFIX = "platform_adapter_"

SUMMARY_KEYS: tuple[tuple[str, str], ...] = (
    ("connection_state", "state"),
    ("connection_uptime_seconds", "uptime_s"),
    ("reconnection_count", "reconnects"),
    ("last_heartbeat", "heartbeat"),
    ("active_subscriptions", "subs"),
    ("market_data_update_frequency_per_second", "updates_per_s"),
    ("missing_ticks", "missing_ticks"),
    ("orders_placed_today", "orders_today"),
    ("fill_rate", "fill_rate"),
    ("avg_execution_time_seconds", "avg_exec_s"),
    ("rejection_rate", "reject_rate"),
    ("callback_processing_time_mean_ms", "cb_ms"),
    ("message_queue_length", "queue"),
    ("memory_rss_bytes", "rss_mb"),
    ("gc_full_pass_max_ms", "gc_full_max_ms"),
)


def summary_line(values: Mapping[str, Any]) -> str:
    """One compact line with every spec 9.3 metric and the longest full GC pass (for the periodic
    INFO log)."""
    parts = []
    for key, label in SUMMARY_KEYS:
        value = values.get(key)
        if key == "memory_rss_bytes" and isinstance(value, (int, float)):
            value = f"{value / 2**20:.1f}"
        elif isinstance(value, float):
            value = f"{value:.3g}"
        elif value is None:
            value = "-"
        parts.append(f"{label}={value}")
    return "metrics: " + " ".join(parts)


def numeric_metrics(values: Mapping[str, Any]) -> Iterator[tuple[str, float]]:
    """The numeric entries of a metrics dict (booleans as 0/1), with Prometheus-safe names."""
    for key, value in values.items():
        if isinstance(value, bool):
            yield _metric_name(key), float(value)
        elif isinstance(value, (int, float)):
            yield _metric_name(key), float(value)
        elif key == "connection_state" and isinstance(value, str):
            yield _metric_name("connected"), 1.0 if value == "CONNECTED" else 0.0


def _metric_name(key: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in key)
    return PREFIX + safe


class _Collector:
    """A prometheus_client collector that reads the metrics dict at scrape time."""

    def __init__(self, source: Callable[[], Mapping[str, Any]]) -> None:
        self._source = source

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily  # noqa: PLC0415 - optional dependency

        try:
            values = self._source()
        except Exception:  # noqa: BLE001 - a scrape must never crash the server thread
            logger.opt(exception=True).warning("metrics collection failed")
            return
        for name, value in numeric_metrics(values):
            yield GaugeMetricFamily(name, f"platform_adapter metric {name[len(PREFIX):]}", value=value)


class MetricsExporter:
    """Logs a metrics summary every ``interval`` seconds; serves Prometheus on
    ``127.0.0.1:prometheus_port`` when that port is not 0."""

    def __init__(self, source: Callable[[], Mapping[str, Any]], interval: float = 60.0,
                 prometheus_port: int = 0) -> None:
        if interval <= 0:
            from platform_adapter.errors import ValidationError  # noqa: PLC0415

            raise ValidationError("interval", interval, "must be > 0 seconds")
        self.source = source
        self.interval = interval
        self.prometheus_port = prometheus_port
        self.bound_port: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._server: Any = None

    def start(self) -> None:
        """Start the summary thread and, if configured, the HTTP endpoint."""
        if self._thread is not None:
            return
        if self.prometheus_port:
            self._start_prometheus()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="pa-metrics", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(2.0)
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def log_once(self) -> str:
        """Log (and return) one summary line now."""
        line = summary_line(self.source())
        logger.info(line)
        return line

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.log_once()
            except Exception:  # noqa: BLE001 - keep summarising after a transient failure
                logger.opt(exception=True).warning("metrics summary failed")

    def _start_prometheus(self) -> None:
        from prometheus_client import CollectorRegistry, start_http_server  # noqa: PLC0415

        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Collector(self.source))  # type: ignore[arg-type]
        server, _thread = start_http_server(self.prometheus_port, addr=PROMETHEUS_HOST, registry=registry)
        self._server = server
        self.bound_port = int(server.server_address[1])
        logger.info("Prometheus metrics on http://{}:{}/metrics", PROMETHEUS_HOST, self.bound_port)
