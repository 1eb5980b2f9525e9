"""The Prometheus exporter serves the metrics on loopback and checks its interval."""

from __future__ import annotations

import socket
import urllib.request

import pytest

from platform_adapter.core.metrics_exporter import MetricsExporter
from platform_adapter.errors import ValidationError


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_prometheus_endpoint_serves_metrics_on_loopback() -> None:
    values = {"connection_state": "CONNECTED", "reconnection_count": 4, "fill_rate": None}
    exporter = MetricsExporter(lambda: values, interval=3600, prometheus_port=_free_port())
    exporter.start()
    try:
        assert exporter.bound_port is not None
        url = f"http://127.0.0.1:{exporter.bound_port}/metrics"
        body = urllib.request.urlopen(url, timeout=5).read().decode()  # noqa: S310 - loopback only
        assert "platform_adapter_reconnection_count 4.0" in body
        assert "platform_adapter_connected 1.0" in body
        assert "fill_rate" not in body
        assert exporter.log_once().startswith("metrics: state=CONNECTED")
    finally:
        exporter.stop()
    with pytest.raises(OSError):
        urllib.request.urlopen(url, timeout=2)  # noqa: S310


def test_exporter_rejects_bad_interval() -> None:
    with pytest.raises(ValidationError, match="interval"):
        MetricsExporter(dict, interval=0)
