"""Who may talk to the service: loopback by default; any other interface only with CurveZMQ.

Keys are ZeroMQ certificate files (the format of ``zmq.auth``): ``NAME.key`` holds the public key,
``NAME.key_secret`` both keys; :func:`keygen` writes them with mode 0600. The service is given its
own secret file and a directory of the public key files of the clients it accepts; a client is
given the service's public key and its own secret file.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

from platform_adapter.errors import ConfigError


def is_loopback(endpoint: str) -> bool:
    """True for ``ipc://``/``inproc://`` and for TCP on 127.0.0.0/8, ``::1`` or ``localhost``."""
    scheme, _, rest = endpoint.partition("://")
    if scheme in ("ipc", "inproc"):
        return True
    host = rest.rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # "*", an interface name or a host name
        return False


def keygen(directory: str | os.PathLike[str], name: str) -> tuple[Path, Path]:
    """Write ``NAME.key`` and ``NAME.key_secret`` (mode 0600) in ``directory``; returns their paths."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    public, secret = zmq.curve_keypair()
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    paths = folder / f"{name}.key", folder / f"{name}.key_secret"
    for path, secret_key in ((paths[0], None), (paths[1], secret)):
        lines = [f"#   ****  CurveZMQ certificate written by platform_adapter.service keygen, {stamp}  ****",
                 "metadata", "curve", f'    public-key = "{public.decode()}"']
        if secret_key is not None:
            lines.append(f'    secret-key = "{secret_key.decode()}"')
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write("\n".join(lines) + "\n")
        os.chmod(path, 0o600)  # also when the file existed with other bits
    return paths


def load_keypair(path: str | os.PathLike[str]) -> tuple[bytes, bytes]:
    """(public, secret) from a ``.key_secret`` file; ConfigError when it has no secret key."""
    try:
        public, secret = zmq.auth.load_certificate(path)
    except (OSError, ValueError) as exc:
        raise ConfigError("curve", f"cannot read key file {path}: {exc}") from None
    if not secret:
        raise ConfigError("curve", f"{path} holds no secret key (use the .key_secret file)")
    return public, secret


def load_public(value: str | bytes | os.PathLike[str]) -> bytes:
    """A public key given as its 40-character Z85 text or as a ``.key`` file."""
    if isinstance(value, bytes) and len(value) == 40:
        return value
    if isinstance(value, str) and len(value) == 40 and not Path(value).exists():
        return value.encode()
    if isinstance(value, bytes):
        value = value.decode()
    try:
        return zmq.auth.load_certificate(value)[0]
    except (OSError, ValueError) as exc:
        raise ConfigError("curve", f"cannot read public key {value!r}: {exc}") from None


@dataclass(frozen=True)
class ServerCurve:
    """The service's keypair and the directory of accepted clients' public keys."""

    public: bytes
    secret: bytes
    clients_dir: Path

    @classmethod
    def load(cls, secret_file: str | os.PathLike[str], clients_dir: str | os.PathLike[str]) -> ServerCurve:
        public, secret = load_keypair(secret_file)
        folder = Path(clients_dir)
        if not folder.is_dir() or not any(folder.glob("*.key")):
            raise ConfigError("curve", f"{folder} holds no client public keys (*.key)")
        return cls(public, secret, folder)

    def authenticator(self, ctx: zmq.Context[Any]) -> ThreadAuthenticator:
        """Start the ZAP handler that accepts only the keys in ``clients_dir``."""
        auth = ThreadAuthenticator(ctx)
        auth.start()
        auth.configure_curve(domain="*", location=str(self.clients_dir))
        return auth

    def apply(self, sock: zmq.Socket[Any]) -> None:
        sock.curve_secretkey = self.secret
        sock.curve_publickey = self.public
        sock.curve_server = True


@dataclass(frozen=True)
class ClientCurve:
    """The service's public key and the client's own keypair."""

    server_public: bytes
    public: bytes
    secret: bytes

    @classmethod
    def load(cls, server_key: str | bytes | os.PathLike[str],
             client_secret_file: str | os.PathLike[str]) -> ClientCurve:
        public, secret = load_keypair(client_secret_file)
        return cls(load_public(server_key), public, secret)

    def apply(self, sock: zmq.Socket[Any]) -> None:
        sock.curve_serverkey = self.server_public
        sock.curve_publickey = self.public
        sock.curve_secretkey = self.secret


def check_binds(endpoints: list[str], curve: ServerCurve | None) -> None:
    """ConfigError when an endpoint leaves the machine without CurveZMQ keys."""
    exposed = [e for e in endpoints if not is_loopback(e)]
    if exposed and curve is None:
        raise ConfigError("service", f"binding {', '.join(exposed)} (not loopback) needs CurveZMQ keys: "
                                     "--curve-secret FILE and --curve-clients DIR (make them with the keygen command)")
