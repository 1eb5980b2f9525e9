"""``pa.metrics()`` against the simulator: every spec 9.3 metric, with values that follow activity."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from platform_adapter import PlatformAdapter
from tests.conftest import Recorder, wait_for

SPEC_9_3 = (
    "connection_uptime_seconds", "reconnection_count", "last_heartbeat",
    "active_subscriptions", "market_data_update_frequency_per_second", "missing_ticks",
    "orders_placed_today", "fill_rate", "avg_execution_time_seconds", "rejection_rate",
    "callback_processing_time_mean_ms", "message_queue_length", "memory_rss_bytes",
)


def test_metrics_cover_spec_9_3_and_follow_activity(make_adapter: Callable[..., PlatformAdapter],
                                                     recorder: Recorder) -> None:
    pa = make_adapter()
    before = pa.metrics()
    assert set(SPEC_9_3) <= set(before)
    assert before["connection_state"] == "CONNECTED"
    assert before["orders_placed_today"] == 0 and before["fill_rate"] is None
    assert before["memory_rss_bytes"] > 10 * 2**20
    assert before["last_heartbeat"] is not None

    pa.market_data.subscribe_quotes(["AAPL", "MSFT"], recorder)
    recorder.wait(4)
    filled = pa.orders.place_order("AAPL", "BUY", 10, "MKT")
    resting = pa.orders.place_order("MSFT", "BUY", 10, "LMT", limit_price=1.00)

    def order_done() -> Any:
        status = pa.orders.get_order_status(filled)
        return status.status.value == "Filled"

    wait_for(order_done, timeout=15)
    wait_for(lambda: pa.metrics()["market_data_updates_total"] > 0, timeout=15)
    after = pa.metrics()
    assert after["active_subscriptions"] == 2
    assert after["orders_placed_today"] == 2
    assert after["fill_rate"] == 0.5
    assert after["rejection_rate"] == 0.0
    assert after["avg_execution_time_seconds"] is not None and after["avg_execution_time_seconds"] >= 0
    assert after["market_data_update_frequency_per_second"] > 0
    assert after["callback_processing_time_mean_ms"] is not None
    assert after["connection_uptime_seconds"] >= before["connection_uptime_seconds"]
    pa.orders.cancel_order(resting)
