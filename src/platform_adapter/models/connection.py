"""Connection state values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class ConnectionState(StrEnum):
    DISCONNECTED = "DISCONNECTED"
    CONNECTING = "CONNECTING"
    CONNECTED = "CONNECTED"
    RECONNECTING = "RECONNECTING"
    FAILED = "FAILED"


@dataclass(frozen=True, slots=True)
class ConnectionStatus:
    """Where the connection stands, for ``get_connection_status()``. ``broken_farms`` names the
    gateway's data farms reported broken (2103/2105/2157) and not reported OK since."""

    state: ConnectionState
    host: str
    port: int
    client_id: int
    server_version: int | None = None
    accounts: tuple[str, ...] = ()
    connected_since: datetime | None = None
    uptime_seconds: float = 0.0
    reconnect_count: int = 0
    last_heartbeat: datetime | None = None
    ib_link_ok: bool = True
    last_error: str = ""
    broken_farms: tuple[str, ...] = ()

    @property
    def is_connected(self) -> bool:
        return self.state is ConnectionState.CONNECTED
