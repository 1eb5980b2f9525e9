"""Fixtures of the unit tests."""

from __future__ import annotations

import pytest

from platform_adapter.adapters.orders import journal as journal_module


@pytest.fixture
def slow_writer(monkeypatch: pytest.MonkeyPatch) -> None:
    """The journal's writer thread waits a minute before a background commit: what is committed
    when is decided by the test (a later write, a read, close)."""
    monkeypatch.setattr(journal_module, "BACKGROUND_DELAY", 60.0)
