"""A history request waiting its pacing turn (15 s for an identical request) while the link
drops and comes back gets its answer on the new link; one waiting when the user disconnects
ends at once with NotConnected (it does not sleep out its wait)."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from typing import Any

from platform_adapter import NotConnected
from platform_adapter.log import logger
from tests.resilience.conftest import received, wait_reconnected

END = datetime(2026, 11, 25, 20, 0, tzinfo=timezone.utc)  # a Wednesday, 15:00 New York


def paced_again(pa: Any) -> tuple[threading.Thread, dict[str, Any]]:
    """Fetch once, then the identical request on a thread: it waits ~15 s for IB's rule (this
    returns once the pacer has logged that wait)."""
    assert len(pa.market_data.get_historical_data("AAPL", "600 S", "30 secs", end=END, timeout=5.0)) == 20
    waiting = threading.Event()
    sink = logger.add(lambda m: waiting.set(), filter=lambda r: r["message"].startswith("historical pacing:"))
    out: dict[str, Any] = {}

    def again() -> None:
        try:
            out["frame"] = pa.market_data.get_historical_data("AAPL", "600 S", "30 secs", end=END, timeout=40.0)
        except Exception as exc:  # noqa: BLE001 - reported to the test
            out["error"] = exc
        out["done"] = time.monotonic()

    thread = threading.Thread(target=again, daemon=True)
    thread.start()
    try:
        assert waiting.wait(10.0)
    finally:
        logger.remove(sink)
    return thread, out


def test_a_reconnect_during_a_paced_wait_keeps_the_request(sim_factory: Any, adapter_factory: Any) -> None:
    gw = sim_factory()
    pa = adapter_factory(gw)
    thread, out = paced_again(pa)
    gw.drop_all_connections()
    wait_reconnected(pa, 1)
    thread.join(30.0)
    assert not thread.is_alive()
    assert "error" not in out, out.get("error")
    assert len(out["frame"]) == 20
    assert received(gw, "reqHistoricalData")["reqHistoricalData"] == 2
    assert gw.stats().pacing.count() == 0, gw.stats().pacing.violations


def test_disconnect_ends_a_paced_wait_at_once(sim_factory: Any, adapter_factory: Any) -> None:
    gw = sim_factory()
    pa = adapter_factory(gw)
    thread, out = paced_again(pa)
    started = time.monotonic()
    pa.disconnect()
    thread.join(5.0)
    assert not thread.is_alive()
    assert isinstance(out.get("error"), NotConnected), out
    assert out["done"] - started < 3.0
    assert received(gw, "reqHistoricalData")["reqHistoricalData"] == 1
    assert pa.connect()  # connected again, history is served again (not the identical request: 15 s)
    assert len(pa.market_data.get_historical_data("MSFT", "600 S", "30 secs", end=END, timeout=5.0)) == 20
