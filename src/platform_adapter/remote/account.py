"""``RemoteAdapter.account``: the facade's account interface, served by the service. The account
is shared: every client sees the same positions, summary, PnL and account updates."""

from __future__ import annotations

from typing import Any

from platform_adapter.adapters.account.updates import AccountValue
from platform_adapter.core.events import EventDispatcher
from platform_adapter.errors import NotConnected, ValidationError
from platform_adapter.models.account import AccountSummary, PnL
from platform_adapter.models.position import Position
from platform_adapter.remote.transport import Transport
from platform_adapter.service.schema import decode

_UPDATES: dict[str, type] = {"AccountValue": AccountValue, "Position": Position, "PnL": PnL}


class RemoteAccount:
    """Account summary, positions, PnL and account updates through the service."""

    def __init__(self, transport: Transport, events: EventDispatcher) -> None:
        self._t = transport
        self._events = events
        self._callbacks: list[Any] = []

    def get_account_summary(self, account: str | None = None) -> AccountSummary:
        return decode(AccountSummary, self._t.call("account.get_account_summary", {"account": account}))

    def get_account_summaries(self) -> dict[str, AccountSummary]:
        """Every managed account's summary, by account id."""
        return {a: decode(AccountSummary, v)
                for a, v in self._t.call("account.get_account_summaries").items()}

    def get_positions(self, account: str | None = None) -> list[Position]:
        return [decode(Position, p) for p in self._t.call("account.get_positions", {"account": account})]

    def get_pnl(self, account: str | None = None) -> PnL:
        return decode(PnL, self._t.call("account.get_pnl", {"account": account}))

    def refresh(self) -> None:
        self._t.call("account.refresh")

    def refresh_positions(self) -> list[Position]:
        return [decode(Position, p) for p in self._t.call("account.refresh_positions")]

    def subscribe_account_updates(self, callback: Any) -> None:
        """Call ``callback(AccountValue | Position | PnL)`` on every account update."""
        if not callable(callback):
            raise ValidationError("callback", callback, "must be callable")
        self._callbacks.append(callback)
        try:
            self._t.call("account.subscribe_account_updates")
        except NotConnected:
            pass  # asked for when the session opens

    def resync(self) -> None:
        if self._callbacks:
            self._t.call("account.subscribe_account_updates")

    def on_event(self, ev: dict[str, Any]) -> None:
        cls = _UPDATES.get(ev.get("kind", ""))
        if cls is None:
            return
        update: Any = decode(cls, ev["update"])
        for cb in tuple(self._callbacks):
            self._events.submit(cb, update)
