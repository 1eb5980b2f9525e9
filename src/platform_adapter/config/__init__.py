"""Configuration: frozen dataclasses loaded from YAML, .env and the environment."""

from platform_adapter.config.settings import (
    DEFAULT_CONFIG_PATH,
    AccountConfig,
    IBConnectionConfig,
    LoggingConfig,
    MarketDataConfig,
    MonitoringConfig,
    OrdersConfig,
    Settings,
    load_settings,
)

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "AccountConfig",
    "IBConnectionConfig",
    "LoggingConfig",
    "MarketDataConfig",
    "MonitoringConfig",
    "OrdersConfig",
    "Settings",
    "load_settings",
]
