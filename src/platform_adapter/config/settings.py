"""Configuration loader: ``config.yaml`` < ``.env`` < environment variables < keyword overrides.

Every section is a frozen dataclass. The shipped ``config.yaml`` holds exactly the spec's keys;
the optional keys below (with defaults) may be added to any config file. Anything unknown or
invalid fails at load with a :class:`ConfigError` naming the key and the reason.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

import yaml
from dotenv import dotenv_values
from ibapi.server_versions import MAX_CLIENT_VER, MIN_CLIENT_VER

from platform_adapter.errors import ConfigError
from platform_adapter.models.order import PLAIN_TIFS
from platform_adapter.utils.cpu_wake import MAX_US as CPU_WAKE_MAX_US
from platform_adapter.utils.validators import MARKET_DATA_TYPE_NAMES

DEFAULT_CONFIG_PATH = Path(__file__).with_name("config.yaml")
LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL")
ENVIRONMENTS = ("development", "staging", "production", "test")
PRODUCTION = "production"
"""The environment that trades live: it needs explicit consent and refuses the simulator."""
LIVE_TRADING_CONSENT_ENV = "PA_LIVE_TRADING_CONSENT"
_YES, _NO = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
MARKET_DATA_TYPES = tuple(MARKET_DATA_TYPE_NAMES)
TIFS = tuple(t.value for t in PLAIN_TIFS)

MAX_SEND_TIMEOUT = 3600.0  # ib_connection.send_timeout's ceiling (seconds)


@dataclass(frozen=True)
class IBConnectionConfig:
    host: str = "127.0.0.1"
    port: int = 7497
    client_id: int = 1
    timeout: float = 30.0
    auto_reconnect: bool = True
    reconnect_max_attempts: int = 5
    reconnect_backoff: float = 2.0
    reconnect_max_delay: float = 60.0
    reconnect_jitter: float = 0.1
    account_id: str = field(default="", repr=False)
    max_client_version: int = MAX_CLIENT_VER  # offer v100..this; the installed ibapi's maximum unless pinned
    client_id_retry: bool = False
    request_timeout: float = 30.0
    send_timeout: float | None = 10.0  # a send blocked this long (the gateway stopped reading) drops the link
    inline_decode_max_frames: int = 64  # smaller batches are decoded on the reader while the dispatcher is idle
    gc_freeze_after_connect: bool = True  # once per process: start-up objects leave the GC's full passes
    cpu_wake_latency_us: int | None = None  # hold idle CPUs within this of waking (Linux PM QoS); None: leave them


@dataclass(frozen=True)
class MarketDataConfig:
    max_simultaneous_subscriptions: int = 50
    rate_limit_requests_per_second: int = 40
    historical_data_max_requests_per_10min: int = 50
    max_concurrent_historical_requests: int = 50
    # bars of 1 min or more (IB's hard rules are for 30 s or less): a soft limit; empty = none
    historical_large_bar_requests_per_second: float | None = 2.0
    market_data_type: str = "live"
    delayed_fallback: bool = False
    stale_after_seconds: float = 30.0
    conflate_callbacks: bool = True
    historical_timeout_seconds: float = 120.0


@dataclass(frozen=True)
class OrdersConfig:
    default_time_in_force: str = "GTC"
    validate_before_submit: bool = True
    allow_live_trading: bool = False
    live_port: int = 7496
    max_order_quantity: float | None = None
    max_order_notional: float | None = None
    journal_path: str = "logs/orders.db"
    order_ref_prefix: str = "pa"
    journal_writer_nice: int = 0


@dataclass(frozen=True)
class AccountConfig:
    update_frequency_seconds: float = 180.0


@dataclass(frozen=True)
class LoggingConfig:
    level: str = "INFO"
    format: str = "{time:YYYY-MM-DD HH:mm:ss} | {level} | {name}:{function}:{line} - {message}"
    rotation: str = "10 MB"
    retention: str = "7 days"
    log_dir: str = "logs"
    console: bool = True


@dataclass(frozen=True)
class MonitoringConfig:
    health_check_interval_seconds: float = 30.0
    metrics_enabled: bool = True
    health_check_timeout_seconds: float = 10.0
    metrics_log_interval_seconds: float = 60.0
    prometheus_port: int = 0
    callback_block_threshold_seconds: float = 2.0
    # while streams are active, one silent beyond its rhythm (and at least this long) triggers a probe
    stream_silence_min_seconds: float = 1.0
    stream_probe_timeout_seconds: float = 2.0  # that probe unanswered (and nothing read) means a frozen gateway


@dataclass(frozen=True)
class Settings:
    ib_connection: IBConnectionConfig = field(default_factory=IBConnectionConfig)
    market_data: MarketDataConfig = field(default_factory=MarketDataConfig)
    orders: OrdersConfig = field(default_factory=OrdersConfig)
    account: AccountConfig = field(default_factory=AccountConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    monitoring: MonitoringConfig = field(default_factory=MonitoringConfig)
    environment: str = "development"

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``section.key`` style overrides applied and validated."""
        return _build(_merge(self.as_dict(), _expand_overrides(changes)))

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


SECTIONS: dict[str, type] = {f.name: f.type for f in dataclasses.fields(Settings) if f.name != "environment"}  # type: ignore[misc]
SECTIONS = {name: get_type_hints(Settings)[name] for name in SECTIONS}

# .env / environment variable -> (section, key)
ENV_KEYS: dict[str, tuple[str, str]] = {
    "IB_HOST": ("ib_connection", "host"),
    "IB_PORT": ("ib_connection", "port"),
    "IB_CLIENT_ID": ("ib_connection", "client_id"),
    "IB_ACCOUNT_ID": ("ib_connection", "account_id"),
    "LOG_LEVEL": ("logging", "level"),
    "LOG_DIR": ("logging", "log_dir"),
    "ENVIRONMENT": ("", "environment"),
    LIVE_TRADING_CONSENT_ENV: ("orders", "allow_live_trading"),
}


def load_settings(
    config_path: str | os.PathLike[str] | None = None,
    env_file: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    use_environ: bool = True,
) -> Settings:
    """Load, merge and validate the configuration.

    ``config_path`` defaults to the packaged ``config.yaml``; ``env_file`` to ``./.env`` when it
    exists. ``overrides`` take ``section.key``, a bare key that is unique across sections, or a
    section name mapped to a dict.
    """
    path = Path(config_path) if config_path is not None else DEFAULT_CONFIG_PATH
    if not path.is_file():
        raise ConfigError("config_path", f"file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError("config_path", f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError("config_path", f"{path} must hold a mapping of sections")
    data = _merge(Settings().as_dict(), _check_sections(raw))
    env_layers: list[Mapping[str, str | None]] = []
    env_path = Path(env_file) if env_file is not None else Path.cwd() / ".env"
    if env_file is not None and not env_path.exists():
        raise ConfigError("env_file", f"file not found: {env_path}")
    if env_path.exists():
        env_layers.append(dotenv_values(env_path))
    if use_environ:
        env_layers.append(os.environ)
    for layer in env_layers:
        for name, (section, key) in ENV_KEYS.items():
            value = layer.get(name)
            if value is None or value == "":
                continue
            target = data if not section else data[section]
            target[key] = _from_text(value, name)
    if overrides:
        data = _merge(data, _expand_overrides(overrides))
    return _build(data)


def _from_text(value: str, name: str) -> Any:
    """Environment values are text; the integer keys are parsed so that range checks apply."""
    text = value.strip()
    if name in ("IB_PORT", "IB_CLIENT_ID"):
        try:
            return int(text)
        except ValueError:
            raise ConfigError(name, f"must be an integer, got {value!r}") from None
    if name == LIVE_TRADING_CONSENT_ENV:
        if text.lower() not in _YES + _NO:
            raise ConfigError(name, f"must be yes or no, got {value!r}")
        return text.lower() in _YES
    return text


def _check_sections(raw: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for section, body in raw.items():
        if section == "environment":
            out[section] = body
            continue
        if section not in SECTIONS:
            raise ConfigError(str(section), f"unknown section (known: {', '.join(SECTIONS)})")
        if body is None:
            continue
        if not isinstance(body, dict):
            raise ConfigError(str(section), "must be a mapping of keys")
        out[section] = dict(body)
    return out


def _expand_overrides(overrides: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in overrides.items():
        if name in SECTIONS and isinstance(value, Mapping):
            out.setdefault(name, {}).update(value)
        elif name == "environment":
            out[name] = value
        elif "." in name or "__" in name:
            section, _, key = name.replace("__", ".").partition(".")
            if section not in SECTIONS:
                raise ConfigError(name, "unknown section")
            out.setdefault(section, {})[key] = value
        else:
            owners = [s for s, cls in SECTIONS.items() if name in {f.name for f in dataclasses.fields(cls)}]
            if len(owners) != 1:
                reason = "unknown key" if not owners else f"ambiguous key, use one of {[f'{o}.{name}' for o in owners]}"
                raise ConfigError(name, reason)
            out.setdefault(owners[0], {})[name] = value
    return out


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key].update(value)
        else:
            out[key] = value
    return out


def _coerce(section: str, key: str, value: Any, annotation: Any) -> Any:
    name = f"{section}.{key}"
    text = str(annotation)
    optional = "None" in text
    if value is None:
        if optional:
            return None
        raise ConfigError(name, "must not be empty")
    if "bool" in text:
        if not isinstance(value, bool):
            raise ConfigError(name, f"must be true or false, got {value!r}")
        return value
    if isinstance(value, bool):
        raise ConfigError(name, f"must be a number or text, got boolean {value!r}")
    if text.startswith("int") or text == "<class 'int'>":
        if not isinstance(value, int):
            raise ConfigError(name, f"must be an integer, got {value!r}")
        return value
    if "float" in text:
        if not isinstance(value, (int, float)) or not math.isfinite(float(value)):
            raise ConfigError(name, f"must be a finite number, got {value!r}")
        return float(value)
    if not isinstance(value, str):
        raise ConfigError(name, f"must be text, got {value!r}")
    return value


def _build(data: Mapping[str, Any]) -> Settings:
    sections: dict[str, Any] = {}
    for section, cls in SECTIONS.items():
        body = data.get(section, {})
        hints = get_type_hints(cls)
        known = {f.name for f in dataclasses.fields(cls)}
        for key in body:
            if key not in known:
                raise ConfigError(f"{section}.{key}", f"unknown key (known: {', '.join(sorted(known))})")
        values = {k: _coerce(section, k, v, hints[k]) for k, v in body.items()}
        sections[section] = cls(**values)
    unknown = set(data) - set(SECTIONS) - {"environment"}
    if unknown:
        raise ConfigError(sorted(unknown)[0], "unknown section")
    env = data.get("environment", "development")
    settings = Settings(environment=env, **sections)
    _validate(settings)
    return settings


def _require(cond: bool, key: str, reason: str) -> None:
    if not cond:
        raise ConfigError(key, reason)


def _validate(s: Settings) -> None:
    c, m, o, a, lg, mon = s.ib_connection, s.market_data, s.orders, s.account, s.logging, s.monitoring
    _require(isinstance(s.environment, str) and s.environment in ENVIRONMENTS, "environment",
             f"must be one of {ENVIRONMENTS}, got {s.environment!r}")
    _require(s.environment != PRODUCTION or o.allow_live_trading, "orders.allow_live_trading",
             f"environment {PRODUCTION} trades live and needs explicit consent: set orders.allow_live_trading: "
             f"true or {LIVE_TRADING_CONSENT_ENV}=yes")
    _require(bool(c.host.strip()) and all(ch.isprintable() and not ch.isspace() for ch in c.host),
             "ib_connection.host", f"must be a host name or address, got {c.host!r}")
    _require(1 <= c.port <= 65535, "ib_connection.port", f"must be 1-65535, got {c.port}")
    _require(0 <= c.client_id <= 2**31 - 1, "ib_connection.client_id", f"must be 0..2147483647, got {c.client_id}")
    _require(c.timeout > 0, "ib_connection.timeout", f"must be > 0 seconds, got {c.timeout}")
    _require(c.request_timeout > 0, "ib_connection.request_timeout", "must be > 0 seconds")
    _require(c.send_timeout is None or 0 < c.send_timeout <= MAX_SEND_TIMEOUT, "ib_connection.send_timeout",
             f"must be empty (no limit) or 0 < seconds <= {MAX_SEND_TIMEOUT:g}, got {c.send_timeout!r}")
    _require(c.reconnect_max_attempts >= 0, "ib_connection.reconnect_max_attempts", "must be >= 0")
    _require(c.reconnect_backoff >= 0, "ib_connection.reconnect_backoff", f"must be >= 0, got {c.reconnect_backoff}")
    _require(c.reconnect_max_delay >= c.reconnect_backoff, "ib_connection.reconnect_max_delay",
             "must be >= reconnect_backoff")
    _require(0 <= c.reconnect_jitter <= 1, "ib_connection.reconnect_jitter", "must be between 0 and 1")
    _require(MIN_CLIENT_VER <= c.max_client_version <= MAX_CLIENT_VER, "ib_connection.max_client_version",
             f"must be {MIN_CLIENT_VER}..{MAX_CLIENT_VER} (the versions the installed ibapi speaks), "
             f"got {c.max_client_version}")
    _require(isinstance(c.inline_decode_max_frames, int) and c.inline_decode_max_frames >= 0,
             "ib_connection.inline_decode_max_frames", f"must be an integer >= 0, got {c.inline_decode_max_frames!r}")
    _require(c.cpu_wake_latency_us is None or 0 <= c.cpu_wake_latency_us <= CPU_WAKE_MAX_US,
             "ib_connection.cpu_wake_latency_us",
             f"must be empty or 0..{CPU_WAKE_MAX_US} microseconds, got {c.cpu_wake_latency_us!r}")
    _require(m.max_simultaneous_subscriptions > 0, "market_data.max_simultaneous_subscriptions", "must be > 0")
    _require(0 < m.rate_limit_requests_per_second <= 50, "market_data.rate_limit_requests_per_second",
             f"must be 1..50 (IB allows 50 messages/s), got {m.rate_limit_requests_per_second}")
    _require(0 < m.historical_data_max_requests_per_10min <= 60, "market_data.historical_data_max_requests_per_10min",
             f"must be 1..60 (IB allows 60 per 10 minutes), got {m.historical_data_max_requests_per_10min}")
    _require(m.max_concurrent_historical_requests > 0, "market_data.max_concurrent_historical_requests", "must be > 0")
    large = m.historical_large_bar_requests_per_second
    _require(large is None or 0 < large <= 50, "market_data.historical_large_bar_requests_per_second",
             f"must be empty (no limit) or 0 < requests per second <= 50 (IB allows 50 messages/s), got {large!r}")
    _require(m.market_data_type in MARKET_DATA_TYPES, "market_data.market_data_type",
             f"must be one of {MARKET_DATA_TYPES}, got {m.market_data_type!r}")
    _require(m.stale_after_seconds > 0, "market_data.stale_after_seconds", "must be > 0")
    _require(m.historical_timeout_seconds > 0, "market_data.historical_timeout_seconds", "must be > 0")
    _require(o.default_time_in_force in TIFS, "orders.default_time_in_force",
             f"must be one of {TIFS}, got {o.default_time_in_force!r}")
    _require(1 <= o.live_port <= 65535, "orders.live_port", "must be 1-65535")
    _require(o.max_order_quantity is None or o.max_order_quantity > 0, "orders.max_order_quantity", "must be > 0")
    _require(o.max_order_notional is None or o.max_order_notional > 0, "orders.max_order_notional", "must be > 0")
    _require(0 <= o.journal_writer_nice <= 19, "orders.journal_writer_nice", "must be 0..19")
    _require(bool(o.order_ref_prefix) and o.order_ref_prefix.isalnum(), "orders.order_ref_prefix",
             "must be non-empty letters/digits")
    _require(a.update_frequency_seconds > 0, "account.update_frequency_seconds", "must be > 0")
    _require(lg.level.upper() in LOG_LEVELS, "logging.level", f"must be one of {LOG_LEVELS}, got {lg.level!r}")
    _require(bool(lg.log_dir), "logging.log_dir", "must not be empty")
    _require(mon.health_check_interval_seconds > 0, "monitoring.health_check_interval_seconds", "must be > 0")
    _require(mon.health_check_timeout_seconds > 0, "monitoring.health_check_timeout_seconds", "must be > 0")
    _require(mon.metrics_log_interval_seconds > 0, "monitoring.metrics_log_interval_seconds", "must be > 0")
    _require(mon.callback_block_threshold_seconds > 0, "monitoring.callback_block_threshold_seconds", "must be > 0")
    _require(mon.stream_silence_min_seconds >= 0, "monitoring.stream_silence_min_seconds", "must be >= 0")
    _require(mon.stream_probe_timeout_seconds > 0, "monitoring.stream_probe_timeout_seconds", "must be > 0")
    _require(0 <= mon.prometheus_port <= 65535, "monitoring.prometheus_port", "must be 0 (off) or 1-65535")


def refuse_simulator(settings: Settings) -> None:
    """The simulated gateway is for every environment but production (ConfigError there)."""
    _require(settings.environment != PRODUCTION, "environment",
             f"{PRODUCTION} never connects to the simulated gateway (use development, staging or test)")
