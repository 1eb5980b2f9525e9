"""A user callback that raises or blocks does not stop the data: the other callbacks keep
receiving quotes and the cached quotes stay fresh."""

from __future__ import annotations

import threading
from typing import Any

from tests.conftest import Recorder, wait_for

UPDATES = 20


def test_raising_callback_does_not_stop_other_callbacks(sim_factory: Any, adapter_factory: Any) -> None:
    gw = sim_factory()
    pa = adapter_factory(gw)
    raised = Recorder()

    def bad(symbol: str, quote: Any) -> None:
        raised(symbol, quote)
        raise RuntimeError("user bug")

    good_same, good_other = Recorder(), Recorder()
    pa.market_data.subscribe_quotes("AAPL", bad)
    pa.market_data.subscribe_quotes("AAPL", good_same)
    pa.market_data.subscribe_quotes("MSFT", good_other)
    good_same.wait(UPDATES, timeout=10)
    good_other.wait(UPDATES, timeout=10)
    assert len(raised.calls) >= UPDATES // 2, "the raising callback keeps being called too"
    assert pa.events.stats()["callback_errors"] >= UPDATES // 2


def test_blocking_callback_does_not_stop_other_callbacks(sim_factory: Any, adapter_factory: Any) -> None:
    gw = sim_factory()
    pa = adapter_factory(gw, **{"monitoring.callback_block_threshold_seconds": 0.3})
    release = threading.Event()
    stuck_calls = Recorder()

    def stuck(symbol: str, quote: Any) -> None:
        stuck_calls(symbol, quote)
        release.wait(15)

    other = Recorder()
    try:
        pa.market_data.subscribe_quotes("AAPL", stuck)
        stuck_calls.wait(1, timeout=5)
        pa.market_data.subscribe_quotes("MSFT", other)
        other.wait(UPDATES, timeout=10)
        assert len(stuck_calls.calls) == 1, "the blocked callback is not called again while it blocks"
        assert pa.events.blocked_callbacks == 1
    finally:
        release.set()
    stuck_calls.wait(2, timeout=10)  # once it returns, it gets the latest AAPL quote again


def test_blocking_callback_does_not_stop_the_data(sim_factory: Any, adapter_factory: Any) -> None:
    gw = sim_factory()
    pa = adapter_factory(gw)
    release = threading.Event()
    entered = threading.Event()

    def stuck(symbol: str, quote: Any) -> None:
        entered.set()
        release.wait(15)

    try:
        pa.market_data.subscribe_quotes("AAPL", stuck)
        pa.market_data.subscribe_quotes("MSFT", Recorder())
        assert entered.wait(5)
        stamps: set[Any] = set()

        def fresh_updates() -> bool:
            stamps.add(pa.market_data.get_quote("AAPL").time)
            return len(stamps) > UPDATES // 2

        wait_for(fresh_updates, timeout=5)
        assert not pa.market_data.get_quote("AAPL").stale
        assert pa.connection.check_health(2.0), "the dispatcher and the link are not blocked"
    finally:
        release.set()
