"""Account manager (placeholder wiring; full behaviour lands with issue 5)."""

from __future__ import annotations

from platform_adapter.core.base_adapter import BaseAdapter


class AccountManager(BaseAdapter):
    """Account summary, positions, PnL and account updates (spec 2.2.4)."""

    def start(self) -> None:
        """Called once the connection is ready."""

    def stop(self) -> None:
        """Called before the connection closes."""
