"""Connection state values, the status snapshot and the events users subscribe to."""

from __future__ import annotations

from datetime import datetime, timezone

from platform_adapter.models.connection import (
    IB_LINK_EVENTS,
    ConnectionEvent,
    ConnectionEventKind,
    ConnectionState,
    ConnectionStatus,
)


def test_is_connected_only_in_the_connected_state() -> None:
    assert [s for s in ConnectionState if ConnectionStatus(s, "127.0.0.1", 4002, 1).is_connected] == \
        [ConnectionState.CONNECTED]


def test_status_defaults() -> None:
    st = ConnectionStatus(ConnectionState.DISCONNECTED, "h", 1, 2)
    assert (st.server_version, st.accounts, st.ib_link_ok, st.broken_farms, st.last_error) == (None, (), True, (), "")


def test_ib_link_events_are_the_three_link_codes() -> None:
    assert IB_LINK_EVENTS == {ConnectionEventKind.IB_LINK_LOST, ConnectionEventKind.IB_LINK_RESTORED_DATA_LOST,
                              ConnectionEventKind.IB_LINK_RESTORED_DATA_KEPT}
    event = ConnectionEvent(ConnectionEventKind.CONNECTED, datetime(2026, 1, 2, tzinfo=timezone.utc))
    assert event.detail == "" and str(event.kind) == "connected"
