"""Many clients of one service share its adapter's historical pacing. A history request waiting
its pacing turn (up to minutes: 15 s for an identical request, 10 minutes when the window is
full) must not hold the workers that serve every other command (cancels, modifies, lookups)."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from typing import Any

from platform_adapter.sim import SimulatedGateway
from tests.service.conftest import Running

END = datetime(2026, 11, 25, 20, 0, tzinfo=timezone.utc)  # a Wednesday, 15:00 New York
WORKERS = 2


def test_history_waiting_for_its_pacing_turn_does_not_hold_the_command_workers(
        gateway: SimulatedGateway, service_factory: Any, remote_factory: Any) -> None:
    running: Running = service_factory(gateway, workers=WORKERS)
    pacer = running.pa.historical
    sleeping = threading.Semaphore(0)
    real_sleep = pacer._sleep

    def observed_sleep(seconds: float) -> None:  # tells the test a request is in its paced wait
        sleeping.release()
        real_sleep(seconds)

    pacer._sleep = observed_sleep
    quant = [remote_factory(running, f"quant{i}") for i in range(WORKERS)]
    trader = remote_factory(running, "trader")
    windows = [f"{600 + 30 * i} S" for i in range(WORKERS)]
    for remote, window in zip(quant, windows, strict=True):  # once each: the same again must wait 15 s
        assert len(remote.market_data.get_historical_data("AAPL", window, "30 secs", end=END, timeout=10.0)) > 0
    frames: dict[int, Any] = {}

    def again(i: int) -> None:
        frames[i] = quant[i].market_data.get_historical_data("AAPL", windows[i], "30 secs", end=END, timeout=30.0)

    threads = [threading.Thread(target=again, args=(i,), daemon=True) for i in range(WORKERS)]
    for t in threads:
        t.start()
    for _ in range(WORKERS):
        assert sleeping.acquire(timeout=10.0)
    started = time.monotonic()
    info = trader.contracts.resolve("MSFT", timeout=10.0)  # a command for a worker
    waited = time.monotonic() - started
    assert info.spec.symbol == "MSFT"
    assert waited < 5.0, f"a lookup waited {waited:.1f}s behind history requests in their pacing wait"
    for t in threads:
        t.join(40.0)
        assert not t.is_alive()
    assert sorted(frames) == list(range(WORKERS)) and all(len(f) > 0 for f in frames.values())
    assert gateway.stats().pacing.count() == 0, gateway.stats().pacing.violations
