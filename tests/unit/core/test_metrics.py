"""Metrics store, the order-derived rates of spec 9.3 and the exporter (summary + Prometheus)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from platform_adapter.core.metrics import Metrics, order_metrics
from platform_adapter.core.metrics_exporter import numeric_metrics, summary_line
from platform_adapter.models import ContractSpec, Fill, OrderAction, OrderState, OrderType, Trade
from platform_adapter.models.order import OrderRequest


def test_counters_daily_rate_and_samples() -> None:
    m = Metrics()
    m.incr("md_ticks")
    m.incr("md_ticks", 4)
    m.observe("lat", 1.0)
    m.observe("lat", 3.0)
    m.set_gauge("g", 7)
    assert m.count("md_ticks") == 5
    assert m.count_today("md_ticks") == 5
    assert m.mean("lat") == 2.0 and m.max("lat") == 3.0
    assert m.rate("md_ticks") == pytest.approx(5.0)  # one second minimum span
    assert m.rate("unknown") == 0.0
    snap = m.snapshot()
    assert snap["md_ticks"] == 5 and snap["lat_mean"] == 2.0 and snap["g"] == 7


def test_daily_counter_rolls_over_at_midnight() -> None:
    m = Metrics()
    m.incr("orders_placed", 3)
    assert m.count_today("orders_placed") == 3
    assert m._day_ends == (int(time.time()) // 86_400 + 1) * 86_400, "today's counts end at the next UTC midnight"
    m._day_ends = time.time() - 1  # as if the counts were from yesterday
    assert m.count_today("orders_placed") == 0
    assert m.count("orders_placed") == 3


def _trade(order_id: int, state: OrderState, submitted: datetime, fill_after: float | None = None) -> Trade:
    req = OrderRequest(ContractSpec("AAPL"), OrderAction.BUY, Decimal(100), OrderType.MARKET)
    t = Trade(order_id, req, status=state, submitted_at=submitted)
    if fill_after is not None:
        t.filled = Decimal(100)
        t.fills["e1"] = Fill("e1", order_id, "AAPL", "BOT", Decimal(100), 150.0,
                             submitted + timedelta(seconds=fill_after))
    return t


def test_order_metrics_rates_and_execution_time() -> None:
    now = datetime.now(timezone.utc)
    orders = [
        _trade(1, OrderState.FILLED, now, 0.5).snapshot(),
        _trade(2, OrderState.FILLED, now, 1.5).snapshot(),
        _trade(3, OrderState.REJECTED, now).snapshot(),
        _trade(4, OrderState.SUBMITTED, now).snapshot(),
        _trade(5, OrderState.FILLED, now - timedelta(days=2), 9.0).snapshot(),  # not today
    ]
    out = order_metrics(orders)
    assert out["orders_placed_today"] == 4
    assert out["fill_rate"] == 0.5
    assert out["rejection_rate"] == 0.25
    assert out["avg_execution_time_seconds"] == pytest.approx(1.0)
    empty = order_metrics([])
    assert empty["fill_rate"] is None and empty["orders_placed_today"] == 0


def test_summary_line_and_numeric_metrics() -> None:
    values = {"connection_state": "CONNECTED", "reconnection_count": 2, "fill_rate": 0.5,
              "memory_rss_bytes": 3 * 2**20, "last_heartbeat": None, "ib_link_ok": True, "x y": 1,
              "gc_full_pass_max_ms": 12.3456}
    line = summary_line(values)
    assert line.startswith("metrics: state=CONNECTED")
    assert "reconnects=2" in line and "fill_rate=0.5" in line and "rss_mb=3.0" in line and "heartbeat=-" in line
    assert line.endswith("gc_full_max_ms=12.3")
    names = dict(numeric_metrics(values))
    assert names["platform_adapter_connected"] == 1.0
    assert names["platform_adapter_ib_link_ok"] == 1.0
    assert names["platform_adapter_x_y"] == 1.0
    assert "platform_adapter_last_heartbeat" not in names


def test_performance_and_raw_metrics_merge_the_parts_in_order() -> None:
    from platform_adapter.core.metrics import performance_metrics, raw_metrics  # noqa: PLC0415

    events = {"event_queue_length": 2, "callback_time_mean_ms": 0.123456, "callback_time_max_ms": 1.5,
              "callbacks_delivered": 9}
    perf = performance_metrics(events, dispatcher_backlog=3)
    assert perf["message_queue_length"] == 5 and perf["dispatcher_backlog"] == 3
    assert perf["callback_processing_time_mean_ms"] == 0.1235 and perf["callback_processing_time_max_ms"] == 1.5
    assert performance_metrics({**events, "callback_time_mean_ms": None}, 0)["callback_processing_time_mean_ms"] is None
    m = Metrics()
    m.incr("md_ticks", 4)
    m.set_gauge("fill_rate", 9.0)  # a raw name never hides a metric a part already gives
    out = raw_metrics(m, {"fill_rate": 0.5}, {"fill_rate": 0.1, "x": 1}, events)
    assert out["fill_rate"] == 0.5 and out["x"] == 1 and out["md_ticks"] == 4 and out["callbacks_delivered"] == 9
