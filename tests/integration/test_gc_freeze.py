"""ib_connection.gc_freeze_after_connect: the facade's first connect freezes the start-up heap."""

from __future__ import annotations

import gc
from collections.abc import Callable

import pytest

from platform_adapter import PlatformAdapter
from platform_adapter.utils import heap

pytestmark = pytest.mark.usefixtures("unfrozen_heap")


def test_connect_freezes_the_start_up_heap_by_default(make_adapter: Callable[..., PlatformAdapter]) -> None:
    pa = make_adapter()
    assert pa.settings.ib_connection.gc_freeze_after_connect
    frozen = gc.get_freeze_count()
    assert frozen > 1000  # ibapi, protobuf, pandas, the adapter itself
    assert pa.orders.place_order("AAPL", "BUY", 1, "LMT", limit_price=1.0) > 0
    other = make_adapter(client_id=9)  # a second adapter in the process does not freeze again
    assert other.is_connected()
    assert gc.get_freeze_count() <= frozen  # frozen objects may die; none were added


def test_the_freeze_can_be_switched_off(make_adapter: Callable[..., PlatformAdapter]) -> None:
    pa = make_adapter(**{"ib_connection.gc_freeze_after_connect": False})
    assert pa.is_connected()
    assert gc.get_freeze_count() == 0
    assert heap.freeze_start_up_heap() is not None  # nobody froze it meanwhile


def test_metrics_report_the_collectors_passes(make_adapter: Callable[..., PlatformAdapter]) -> None:
    pa = make_adapter()
    before = pa.metrics()
    gc.collect()
    after = pa.metrics()
    assert after["gc_full_passes"] >= before["gc_full_passes"] + 1
    assert after["gc_passes"] >= before["gc_passes"] + 1
    assert after["gc_pause_total_ms"] > before["gc_pause_total_ms"]
    assert after["gc_full_pass_max_ms"] > 0 and after["gc_pause_max_ms"] >= after["gc_full_pass_max_ms"]
