"""CurveZMQ keys and the loopback rule."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import zmq.auth

from platform_adapter.errors import ConfigError
from platform_adapter.service.__main__ import main
from platform_adapter.service.security import ClientCurve, ServerCurve, check_binds, is_loopback, keygen


@pytest.mark.parametrize(("endpoint", "loopback"), [
    ("tcp://127.0.0.1:5555", True), ("tcp://127.0.0.2:0", True), ("tcp://localhost:5555", True),
    ("tcp://[::1]:5555", True), ("ipc:///tmp/pa.sock", True), ("inproc://x", True),
    ("tcp://0.0.0.0:5555", False), ("tcp://*:5555", False), ("tcp://10.1.2.3:5555", False),
    ("tcp://eth0:5555", False), ("tcp://example.com:5555", False),
])
def test_loopback(endpoint: str, loopback: bool) -> None:
    assert is_loopback(endpoint) is loopback


def test_non_loopback_binds_need_keys() -> None:
    check_binds(["tcp://127.0.0.1:0", "ipc:///tmp/x"], None)
    with pytest.raises(ConfigError, match=r"tcp://0\.0\.0\.0:5555.*CurveZMQ"):
        check_binds(["tcp://127.0.0.1:0", "tcp://0.0.0.0:5555"], None)


def test_keygen_writes_zmq_certificates_mode_0600(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keygen", str(tmp_path / "keys"), "--name", "strategy-a"]) == 0
    public, secret = tmp_path / "keys" / "strategy-a.key", tmp_path / "keys" / "strategy-a.key_secret"
    assert "strategy-a.key_secret" in capsys.readouterr().out
    for path in (public, secret):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    pub, sec = zmq.auth.load_certificate(secret)
    assert zmq.auth.load_certificate(public) == (pub, None) and sec is not None and len(pub) == 40


def test_key_loading_errors_are_config_errors(tmp_path: Path) -> None:
    keygen(tmp_path, "svc")
    with pytest.raises(ConfigError, match="no secret key"):
        ServerCurve.load(tmp_path / "svc.key", tmp_path)
    with pytest.raises(ConfigError, match="no client public keys"):
        ServerCurve.load(tmp_path / "svc.key_secret", tmp_path / "nowhere")
    with pytest.raises(ConfigError, match="cannot read"):
        ClientCurve.load(tmp_path / "svc.key", tmp_path / "missing.key_secret")
    keygen(tmp_path, "client")
    curve = ClientCurve.load((tmp_path / "svc.key").read_text().split('"')[1], tmp_path / "client.key_secret")
    assert curve.server_public == zmq.auth.load_certificate(tmp_path / "svc.key")[0]
