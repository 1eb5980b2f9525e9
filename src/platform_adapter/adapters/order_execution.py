"""Order execution adapter (placeholder wiring; full behaviour lands with issue 5)."""

from __future__ import annotations

from platform_adapter.core.base_adapter import BaseAdapter


class OrderExecutionAdapter(BaseAdapter):
    """Order placement, modification, cancellation and tracking (spec 2.2.3)."""

    def start(self) -> None:
        """Called once the connection is ready."""

    def stop(self) -> None:
        """Called before the connection closes."""
