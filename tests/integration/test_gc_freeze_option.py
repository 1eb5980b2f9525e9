"""``ib_connection.gc_freeze``: off by default; on, connect() moves start-up objects out of the
collector's generations (gc.freeze)."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from typing import Any

import pytest


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_gc_freeze_is_off_by_default(make_adapter: Callable[..., Any], unfrozen: None) -> None:
    pa = make_adapter()
    assert pa.settings.ib_connection.gc_freeze is False
    assert gc.get_freeze_count() == 0


def test_gc_freeze_after_connect(make_adapter: Callable[..., Any], unfrozen: None) -> None:
    pa = make_adapter(connect=False, **{"ib_connection.gc_freeze": True})
    assert gc.get_freeze_count() == 0
    assert pa.connect()
    assert gc.get_freeze_count() > 0
    assert pa.orders.place_order("AAPL", "BUY", 1, "LMT", limit_price=1.0) > 0  # still works as usual
