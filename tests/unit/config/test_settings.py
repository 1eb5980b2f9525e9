"""Configuration loading: layering, validation, errors that name the key."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from ibapi.server_versions import MAX_CLIENT_VER

from platform_adapter.config.settings import DEFAULT_CONFIG_PATH, Settings, load_settings, refuse_simulator
from platform_adapter.errors import ConfigError

SPEC_KEYS = {
    "ib_connection": {"host", "port", "client_id", "timeout", "auto_reconnect", "reconnect_max_attempts",
                      "reconnect_backoff"},
    "market_data": {"max_simultaneous_subscriptions", "rate_limit_requests_per_second",
                    "historical_data_max_requests_per_10min"},
    "orders": {"default_time_in_force", "validate_before_submit"},
    "account": {"update_frequency_seconds"},
    "logging": {"level", "format", "rotation", "retention", "log_dir"},
    "monitoring": {"health_check_interval_seconds", "metrics_enabled"},
}


def write(tmp_path: Path, data: dict, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def test_packaged_config_has_exactly_the_spec_sections_and_keys() -> None:
    raw = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
    assert {k: set(v) for k, v in raw.items()} == SPEC_KEYS


def test_defaults_load_from_packaged_file() -> None:
    s = load_settings(env_file=os.devnull, use_environ=False)
    assert s.ib_connection.port == 7497
    assert s.ib_connection.reconnect_backoff == 2.0
    assert s.market_data.max_simultaneous_subscriptions == 50
    assert s.orders.default_time_in_force == "GTC"
    assert s.logging.rotation == "10 MB"
    assert s.monitoring.health_check_interval_seconds == 30


def test_layering_yaml_then_env_file_then_environ_then_overrides(tmp_path: Path) -> None:
    cfg = write(tmp_path, {"ib_connection": {"port": 4001, "client_id": 3, "host": "127.0.0.1"}})
    env = tmp_path / ".env"
    env.write_text("IB_PORT=4002\nIB_CLIENT_ID=9\nIB_ACCOUNT_ID=DU999999\nLOG_LEVEL=DEBUG\n")
    s = load_settings(cfg, env_file=env, use_environ=False)
    assert (s.ib_connection.port, s.ib_connection.client_id) == (4002, 9)
    assert s.ib_connection.account_id == "DU999999"
    assert s.logging.level == "DEBUG"
    os.environ["IB_PORT"] = "4003"
    try:
        s = load_settings(cfg, env_file=env)
        assert s.ib_connection.port == 4003
        s = load_settings(cfg, env_file=env, overrides={"port": 4004})
        assert s.ib_connection.port == 4004
    finally:
        del os.environ["IB_PORT"]


def test_account_id_is_masked_in_repr() -> None:
    s = load_settings(env_file=os.devnull, use_environ=False, overrides={"account_id": "DU123456"})
    assert "DU123456" not in repr(s)


@pytest.mark.parametrize(
    "data, key",
    [
        ({"ib_connection": {"port": 0}}, "ib_connection.port"),
        ({"ib_connection": {"port": 70000}}, "ib_connection.port"),
        ({"ib_connection": {"port": "7497"}}, "ib_connection.port"),
        ({"ib_connection": {"timeout": -1}}, "ib_connection.timeout"),
        ({"ib_connection": {"inline_decode_max_frames": -1}}, "ib_connection.inline_decode_max_frames"),
        ({"ib_connection": {"reconnect_backoff": -2.0}}, "ib_connection.reconnect_backoff"),
        ({"ib_connection": {"auto_reconnect": "yes"}}, "ib_connection.auto_reconnect"),
        ({"ib_connection": {"gc_freeze_after_connect": "no"}}, "ib_connection.gc_freeze_after_connect"),
        ({"ib_connection": {"cpu_wake_latency_us": -1}}, "ib_connection.cpu_wake_latency_us"),
        ({"ib_connection": {"cpu_wake_latency_us": 2**31}}, "ib_connection.cpu_wake_latency_us"),
        ({"ib_connection": {"cpu_wake_latency_us": 1.5}}, "ib_connection.cpu_wake_latency_us"),
        ({"ib_connection": {"cpu_wake_latency_us": True}}, "ib_connection.cpu_wake_latency_us"),
        ({"ib_connection": {"host": ""}}, "ib_connection.host"),
        ({"ib_connection": {"send_timeout": 0}}, "ib_connection.send_timeout"),
        ({"ib_connection": {"send_timeout": -1}}, "ib_connection.send_timeout"),
        ({"ib_connection": {"send_timeout": 3601}}, "ib_connection.send_timeout"),
        ({"ib_connection": {"send_timeout": float("inf")}}, "ib_connection.send_timeout"),
        ({"ib_connection": {"send_timeout": "10"}}, "ib_connection.send_timeout"),
        ({"ib_connection": {"max_client_version": 99}}, "ib_connection.max_client_version"),
        ({"ib_connection": {"max_client_version": MAX_CLIENT_VER + 1}}, "ib_connection.max_client_version"),
        ({"ib_connection": {"max_client_version": "226"}}, "ib_connection.max_client_version"),
        ({"ib_connection": {"bogus": 1}}, "ib_connection.bogus"),
        ({"logging": {"level": "LOUD"}}, "logging.level"),
        ({"market_data": {"rate_limit_requests_per_second": 80}}, "market_data.rate_limit_requests_per_second"),
        ({"market_data": {"historical_data_max_requests_per_10min": 61}},
         "market_data.historical_data_max_requests_per_10min"),
        ({"market_data": {"historical_large_bar_requests_per_second": 0}},
         "market_data.historical_large_bar_requests_per_second"),
        ({"market_data": {"historical_large_bar_requests_per_second": -1}},
         "market_data.historical_large_bar_requests_per_second"),
        ({"market_data": {"historical_large_bar_requests_per_second": 51}},
         "market_data.historical_large_bar_requests_per_second"),
        ({"market_data": {"historical_large_bar_requests_per_second": "2"}},
         "market_data.historical_large_bar_requests_per_second"),
        ({"market_data": {"historical_large_bar_requests_per_second": float("nan")}},
         "market_data.historical_large_bar_requests_per_second"),
        ({"orders": {"default_time_in_force": "FOREVER"}}, "orders.default_time_in_force"),
        ({"orders": {"journal_writer_nice": 20}}, "orders.journal_writer_nice"),
        ({"account": {"update_frequency_seconds": 0}}, "account.update_frequency_seconds"),
        ({"monitoring": {"health_check_interval_seconds": float("nan")}}, "monitoring.health_check_interval_seconds"),
        ({"monitoring": {"stream_silence_min_seconds": -1}}, "monitoring.stream_silence_min_seconds"),
        ({"monitoring": {"stream_probe_timeout_seconds": -1}}, "monitoring.stream_probe_timeout_seconds"),
        ({"monitoring": {"stream_probe_timeout_seconds": 0}}, "monitoring.stream_probe_timeout_seconds"),
        ({"nonsense": {"a": 1}}, "nonsense"),
        ({"environment": "moon"}, "environment"),
    ],
)
def test_invalid_values_name_the_key(tmp_path: Path, data: dict, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, data), env_file=os.devnull, use_environ=False)
    assert info.value.key == key
    assert key in str(info.value)


def test_max_client_version_defaults_to_ibapis_maximum_and_may_be_pinned_lower(tmp_path: Path) -> None:
    assert load_settings(env_file=os.devnull, use_environ=False).ib_connection.max_client_version == MAX_CLIENT_VER
    for pinned in (100, 176, 200, MAX_CLIENT_VER):
        s = load_settings(write(tmp_path, {"ib_connection": {"max_client_version": pinned}}), env_file=os.devnull,
                          use_environ=False)
        assert s.ib_connection.max_client_version == pinned
    for bad in (99, MAX_CLIENT_VER + 1, 300):
        with pytest.raises(ConfigError) as info:
            load_settings(env_file=os.devnull, use_environ=False, overrides={"ib_connection.max_client_version": bad})
        assert info.value.key == "ib_connection.max_client_version"
        assert f"100..{MAX_CLIENT_VER}" in str(info.value) and f"got {bad}" in str(info.value)


def test_cpu_wake_latency_is_off_unless_set(tmp_path: Path) -> None:
    assert load_settings(env_file=os.devnull, use_environ=False).ib_connection.cpu_wake_latency_us is None
    for value in (0, 20, 2**31 - 1):
        s = load_settings(write(tmp_path, {"ib_connection": {"cpu_wake_latency_us": value}}), env_file=os.devnull,
                          use_environ=False)
        assert s.ib_connection.cpu_wake_latency_us == value
    s = load_settings(write(tmp_path, {"ib_connection": {"cpu_wake_latency_us": None}}), env_file=os.devnull,
                      use_environ=False)
    assert s.ib_connection.cpu_wake_latency_us is None


def test_send_timeout_is_10s_unless_set_and_may_be_lifted(tmp_path: Path) -> None:
    assert load_settings(env_file=os.devnull, use_environ=False).ib_connection.send_timeout == 10.0
    for value, expected in ((0.25, 0.25), (3600, 3600.0), (None, None)):
        s = load_settings(write(tmp_path, {"ib_connection": {"send_timeout": value}}), env_file=os.devnull,
                          use_environ=False)
        assert s.ib_connection.send_timeout == expected


def test_large_bar_soft_limit_is_2_per_second_unless_set_and_may_be_lifted(tmp_path: Path) -> None:
    md = load_settings(env_file=os.devnull, use_environ=False).market_data
    assert md.historical_large_bar_requests_per_second == 2
    for value, expected in ((0.5, 0.5), (50, 50.0), (None, None)):
        s = load_settings(write(tmp_path, {"market_data": {"historical_large_bar_requests_per_second": value}}),
                          env_file=os.devnull, use_environ=False)
        assert s.market_data.historical_large_bar_requests_per_second == expected


def test_bad_env_value_names_the_variable(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("IB_PORT=seventy\n")
    with pytest.raises(ConfigError, match="IB_PORT"):
        load_settings(env_file=env, use_environ=False)


def test_missing_files_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(tmp_path / "absent.yaml")
    with pytest.raises(ConfigError, match="env_file"):
        load_settings(env_file=tmp_path / "absent.env")
    bad = tmp_path / "bad.yaml"
    bad.write_text("ib_connection: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(bad)
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_settings(tmp_path / "list.yaml")


def test_overrides_forms_and_errors() -> None:
    base = load_settings(env_file=os.devnull, use_environ=False)
    s = base.replace(**{"orders.allow_live_trading": True, "ib_connection": {"client_id": 5}, "level": "DEBUG"})
    assert s.orders.allow_live_trading and s.ib_connection.client_id == 5 and s.logging.level == "DEBUG"
    assert base.ib_connection.client_id == 1  # frozen original untouched
    with pytest.raises(ConfigError, match="unknown key"):
        base.replace(nope=1)
    with pytest.raises(ConfigError, match="unknown section"):
        base.replace(**{"nope.port": 1})


def test_settings_are_frozen() -> None:
    s = load_settings(env_file=os.devnull, use_environ=False)
    with pytest.raises(AttributeError):
        s.ib_connection.port = 1  # type: ignore[misc]


def test_production_needs_explicit_live_trading_consent(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, {"environment": "production"}), env_file=os.devnull, use_environ=False)
    assert info.value.key == "orders.allow_live_trading" and "PA_LIVE_TRADING_CONSENT" in str(info.value)
    consented = load_settings(write(tmp_path, {"environment": "production", "orders": {"allow_live_trading": True}}),
                              env_file=os.devnull, use_environ=False)
    assert consented.environment == "production" and consented.orders.allow_live_trading
    env = tmp_path / ".env"
    env.write_text("ENVIRONMENT=production\nPA_LIVE_TRADING_CONSENT=yes\n")
    assert load_settings(env_file=env, use_environ=False).orders.allow_live_trading
    env.write_text("ENVIRONMENT=production\nPA_LIVE_TRADING_CONSENT=perhaps\n")
    with pytest.raises(ConfigError, match="PA_LIVE_TRADING_CONSENT"):
        load_settings(env_file=env, use_environ=False)
    env.write_text("ENVIRONMENT=production\nPA_LIVE_TRADING_CONSENT=no\n")
    with pytest.raises(ConfigError):
        load_settings(env_file=env, use_environ=False)
    assert not load_settings(env_file=os.devnull, use_environ=False).orders.allow_live_trading  # development


def test_production_refuses_the_simulator() -> None:
    refuse_simulator(Settings())  # development
    refuse_simulator(Settings(environment="staging"))
    with pytest.raises(ConfigError) as info:
        refuse_simulator(Settings(environment="production"))
    assert info.value.key == "environment"
