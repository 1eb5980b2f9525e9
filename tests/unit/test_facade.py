"""The facade: construction from files and overrides, wiring, exports."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

import platform_adapter
from platform_adapter import ConfigError, PlatformAdapter
from platform_adapter.config.settings import load_settings


def test_package_root_exports_the_public_api() -> None:
    for name in ("PlatformAdapter", "PlatformAdapterError", "ValidationError", "NotConnected", "RequestTimeout",
                 "ContractNotFound", "OrderRejected", "PacingViolation", "IBError", "ConfigError", "Quote", "Bar",
                 "Order", "OrderStatus", "Position", "AccountSummary", "PnL", "ConnectionStatus", "ContractSpec"):
        assert hasattr(platform_adapter, name), name
    assert issubclass(platform_adapter.ValidationError, platform_adapter.PlatformAdapterError)
    assert issubclass(platform_adapter.OrderRejected, platform_adapter.IBError)


def test_config_path_and_overrides(tmp_path: Path) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump({"ib_connection": {"port": 4002, "client_id": 9},
                                   "logging": {"log_dir": str(tmp_path / "logs")}}))
    pa = PlatformAdapter(config_path=cfg, env_file=os.devnull, configure_logging=False, client_id=11)
    assert pa.settings.ib_connection.port == 4002
    assert pa.settings.ib_connection.client_id == 11
    assert pa.connection.client_id == 11
    for part in (pa.connection, pa.market_data, pa.orders, pa.account, pa.state, pa.contracts):
        assert part is not None
    assert not pa.is_connected()


def test_settings_object_with_overrides(tmp_path: Path) -> None:
    settings = load_settings(env_file=os.devnull, use_environ=False,
                             overrides={"logging.log_dir": str(tmp_path), "logging.console": False})
    pa = PlatformAdapter(settings=settings, port=4001)
    assert pa.settings.ib_connection.port == 4001
    assert pa.bucket.rate == settings.market_data.rate_limit_requests_per_second
    assert pa.bucket.capacity == 50 - settings.market_data.rate_limit_requests_per_second


def test_bad_config_names_the_key(tmp_path: Path) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump({"ib_connection": {"port": 99999}}))
    with pytest.raises(ConfigError, match="ib_connection.port"):
        PlatformAdapter(config_path=cfg, env_file=os.devnull, configure_logging=False)


def test_metrics_before_connecting(tmp_path: Path) -> None:
    pa = PlatformAdapter(env_file=os.devnull, configure_logging=False, **{"logging.log_dir": str(tmp_path)})
    metrics = pa.metrics()
    assert metrics["reconnection_count"] == 0
    assert metrics["connection_uptime_seconds"] == 0
    assert metrics["active_subscriptions"] == 0 and metrics["market_data_updates_total"] == 0
    assert metrics["missing_ticks"] == 0 and metrics["stale_quotes"] == 0
    assert metrics["message_queue_length"] == 0 and metrics["orders_placed_today"] == 0


def test_metrics_exporter_started_once_and_stopped(tmp_path: Path) -> None:
    pa = PlatformAdapter(env_file=os.devnull, configure_logging=False,
                         **{"logging.log_dir": str(tmp_path), "monitoring.metrics_log_interval_seconds": 60.0})
    exporter = pa.start_metrics()
    assert exporter is not None and pa.start_metrics() is exporter
    assert "uptime_s=0 reconnects=0" in exporter.log_once()
    pa.disconnect()
    assert pa.exporter is None
    off = PlatformAdapter(env_file=os.devnull, configure_logging=False,
                          **{"logging.log_dir": str(tmp_path), "monitoring.metrics_enabled": False})
    assert off.start_metrics() is None


def test_history_pacer_takes_the_large_bar_soft_limit_from_the_config(tmp_path: Path) -> None:
    """``market_data.historical_large_bar_requests_per_second``: 2 by default; empty lifts it."""
    logs = {"logging.log_dir": str(tmp_path)}
    pa = PlatformAdapter(env_file=os.devnull, configure_logging=False, **logs)
    assert pa.historical.large is not None and pa.historical.large.rate == 2.0
    pa = PlatformAdapter(env_file=os.devnull, configure_logging=False,
                         **{"market_data.historical_large_bar_requests_per_second": None}, **logs)
    assert pa.historical.large is None
