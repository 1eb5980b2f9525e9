"""Connection state values and the connection events users may subscribe to."""

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


class ConnectionEventKind(StrEnum):
    """What happened to the connection (``PlatformAdapter.on_connection_event``); the order of the
    library's reactions to each is in ``core/lifecycle.py``."""

    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    RECONNECTED = "reconnected"
    IB_LINK_LOST = "ib_link_lost"  # IB 1100/2110: the gateway lost its link to IB; the socket stays
    IB_LINK_RESTORED_DATA_LOST = "ib_link_restored_data_lost"  # IB 1101
    IB_LINK_RESTORED_DATA_KEPT = "ib_link_restored_data_kept"  # IB 1102


IB_LINK_EVENTS = frozenset({ConnectionEventKind.IB_LINK_LOST, ConnectionEventKind.IB_LINK_RESTORED_DATA_LOST,
                            ConnectionEventKind.IB_LINK_RESTORED_DATA_KEPT})


@dataclass(frozen=True, slots=True)
class ConnectionEvent:
    """One connection event, delivered after the library's own reactions to it have run.
    ``detail`` is the reason of a disconnect or IB's message of a link code."""

    kind: ConnectionEventKind
    time: datetime
    detail: str = ""
