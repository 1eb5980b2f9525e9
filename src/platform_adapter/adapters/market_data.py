"""Market data adapter (placeholder wiring; full behaviour lands with issue 4)."""

from __future__ import annotations

from platform_adapter.core.base_adapter import BaseAdapter


class MarketDataAdapter(BaseAdapter):
    """Quotes, historical bars, real-time bars and tick-by-tick data (spec 2.2.2)."""

    def start(self) -> None:
        """Called once the connection is ready."""

    def stop(self) -> None:
        """Called before the connection closes."""
