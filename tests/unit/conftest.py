"""Fixtures of the unit tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from platform_adapter.adapters.orders import journal as journal_module
from tests.unit.adapters.test_order_execution import Harness, make_harness


@pytest.fixture
def slow_writer(monkeypatch: pytest.MonkeyPatch) -> None:
    """The journal's writer thread waits a minute before a background commit: what is committed
    when is decided by the test (a later write, a read, close)."""
    monkeypatch.setattr(journal_module, "BACKGROUND_DELAY", 60.0)


@pytest.fixture
def harness_settings() -> dict[str, Any]:
    """Setting overrides of the ``harness`` fixture: a module redefines this fixture to change them."""
    return {}


@pytest.fixture
def harness(tmp_path: Path, harness_settings: dict[str, Any]) -> Iterator[Harness]:
    """A PlatformAdapter on a fake client (``make_harness``), stopped afterwards."""
    pa, fake = make_harness(tmp_path, **harness_settings)
    yield pa, fake
    pa.orders.stop()
    pa.events.stop()
