"""New real-time bar lines count in IB's ten-minute window with small-bar history. When IB shows
that its count is fuller than the adapter's (another client on the account spent it), the hold
the adapter starts covers new bar lines too: after a history request's 162, and after a bar
line's own 420. A subscribe call during the hold raises PacingViolation with nothing sent; a
reconnect's replay waits the hold out and sends the line after it.

The simulator's ten-minute window is shortened (PacingConfig) and so is the adapter's pacer's, to
match: the holds are a few seconds."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from platform_adapter import IBError, PacingViolation
from platform_adapter.sim import PacingConfig
from platform_adapter.utils.rate_limiter import HistoricalPacer
from tests.conftest import Recorder, wait_for
from tests.resilience.conftest import received, wait_reconnected

SESSION_END = datetime(2026, 11, 25, 20, 0, tzinfo=timezone.utc)  # a Wednesday, 15:00 New York
WINDOW = 3.0  # IB's ten minutes, at the simulator and in the adapter's pacer
SHORT = 0.2  # the identical-request and per-contract windows
MARGIN = 0.05
FILLERS = [("MSFT", 600), ("TSLA", 600), ("SPY", 600), ("MSFT", 630), ("TSLA", 630), ("SPY", 630)]


def start(sim_factory: Any, adapter_factory: Any, limit: int) -> tuple[Any, Any, Any, HistoricalPacer]:
    """The simulator with IB's count of ``limit``, our adapter (its pacer with the simulator's
    windows) and another client on the account."""
    gw = sim_factory(pacing=PacingConfig(hist_max_requests=limit, hist_window_s=WINDOW,
                                         hist_identical_window_s=SHORT, hist_same_contract_window_s=SHORT),
                     rt_bar_interval=0.2)
    config = {"market_data.historical_data_max_requests_per_10min": limit}
    pa = adapter_factory(gw, **config)
    other = adapter_factory(gw, client_id=2, **config)
    pacer = HistoricalPacer(limit, identical_window=SHORT, same_contract_window=SHORT, window=WINDOW, margin=MARGIN)
    pa.historical = pa.ctx.historical = pacer
    pa.contracts.resolve("AAPL")
    for symbol in ("MSFT", "TSLA", "SPY"):
        other.contracts.resolve(symbol)
    return gw, pa, other, pacer


def fill_ibs_count(other: Any, count: int = len(FILLERS)) -> None:
    """The other client's small-bar requests (three contracts: its own pacer never waits)."""
    for symbol, seconds in FILLERS[:count]:
        other.market_data.get_historical_data(symbol, f"{seconds} S", "30 secs", end=SESSION_END, timeout=5.0)


def test_a_162_hold_refuses_new_bar_lines_until_it_ends(sim_factory: Any, adapter_factory: Any) -> None:
    """The other client fills IB's count; our history request is refused twice (162), the second
    time holding the whole window, longer than the call's timeout. A bar subscription during that
    hold raises at once, nothing sent; once the hold is over (IB's count has emptied), it streams."""
    gw, pa, other, pacer = start(sim_factory, adapter_factory, len(FILLERS))
    fill_ibs_count(other)
    with pytest.raises(PacingViolation) as refused:
        pa.market_data.get_historical_data("AAPL", "600 S", "30 secs", end=SESSION_END, timeout=1.0)
    assert refused.value.code == 162
    assert gw.stats().pacing.count(client_id=1) == 2, gw.stats().pacing.violations
    bars, errors = Recorder(), Recorder()
    with pytest.raises(PacingViolation, match=r"IB reported a pacing violation.*held for another \d+\.\ds") as held:
        pa.market_data.subscribe_real_time_bars("AAPL", bars, on_error=errors)
    assert held.value.code is None
    assert pa.connection.round_trip(5.0)
    assert received(gw, "reqRealTimeBars")["reqRealTimeBars"] == 0
    assert pa.market_data.stats()["lines"] == 0
    wait_for(lambda: pacer.stream_room_in() == 0, timeout=WINDOW + 2)
    pa.market_data.subscribe_real_time_bars("AAPL", bars, on_error=errors)
    bars.wait(1, timeout=5)
    assert received(gw, "reqRealTimeBars")["reqRealTimeBars"] == 1
    assert gw.stats().pacing.count(client_id=1) == 2 and errors.calls == []


def test_a_420_raises_from_the_subscribe_call_and_holds_new_lines(sim_factory: Any, adapter_factory: Any) -> None:
    """IB's count is full though the adapter's is empty: IB answers the new bar line with 420. The
    call raises PacingViolation (code 420), keeps no line, and new lines are held for the window:
    the next subscribe raises at once, nothing sent, until the hold ends; then it streams."""
    gw, pa, other, pacer = start(sim_factory, adapter_factory, len(FILLERS))
    fill_ibs_count(other)
    bars, errors = Recorder(), Recorder()
    with pytest.raises(PacingViolation, match="IB 420: Invalid Real-time Query") as refused:
        pa.market_data.subscribe_real_time_bars("AAPL", bars, on_error=errors)
    assert refused.value.code == 420 and "not subscribed" in str(refused.value)
    assert (pa.market_data.stats()["lines"], pa.market_data.stats()["failed"]) == (0, 0)
    assert pacer.stream_room_in() > WINDOW - 1.0
    with pytest.raises(PacingViolation, match="held for another"):
        pa.market_data.subscribe_real_time_bars("MSFT", bars, on_error=errors)
    assert pa.connection.round_trip(5.0)
    assert received(gw, "reqRealTimeBars")["reqRealTimeBars"] == 1
    wait_for(lambda: pacer.stream_room_in() == 0, timeout=WINDOW + 2)
    pa.market_data.subscribe_real_time_bars("AAPL", bars, on_error=errors)
    bars.wait(1, timeout=5)
    assert received(gw, "reqRealTimeBars")["reqRealTimeBars"] == 2
    assert gw.stats().pacing.count(client_id=1) == 1 and errors.calls == []


def test_a_replayed_line_refused_with_420_is_sent_again_after_the_hold(sim_factory: Any,
                                                                      adapter_factory: Any) -> None:
    """A reconnect replays our bar line into IB's count, which the other client filled meanwhile:
    IB answers 420. The line is not failed (on_error hears nothing): it is held for the window and
    sent again after it, and streams."""
    gw, pa, other, pacer = start(sim_factory, adapter_factory, len(FILLERS))
    bars, errors = Recorder(), Recorder()
    pa.market_data.subscribe_real_time_bars("AAPL", bars, on_error=errors)
    bars.wait(1, timeout=5)
    fill_ibs_count(other, len(FILLERS) - 1)
    gw.drop_all_connections()
    wait_reconnected(pa, 1)
    wait_for(lambda: gw.stats().pacing.count(client_id=1) == 1, timeout=5)
    wait_for(lambda: pacer.stream_room_in() > 1.0, timeout=5)  # once the 420 has reached the adapter
    assert received(gw, "reqRealTimeBars")["reqRealTimeBars"] == 2
    wait_for(lambda: received(gw, "reqRealTimeBars")["reqRealTimeBars"] == 3, timeout=WINDOW + 3)
    mark = len(bars.calls)
    bars.wait(mark + 1, timeout=5)
    assert pa.market_data.stats()["lines"] == 1 and pa.market_data.subscription_errors() == {}
    assert errors.calls == [] and gw.stats().pacing.count(client_id=1) == 1


def test_a_420_for_another_reason_fails_the_line_without_a_hold(sim_factory: Any, adapter_factory: Any) -> None:
    """420 is IB's code for any invalid real-time query: without "pacing violation" in its text
    the line fails (on_error gets IBError 420) and nothing is held."""
    gw, pa, _, pacer = start(sim_factory, adapter_factory, len(FILLERS))
    bars, errors = Recorder(), Recorder()
    pa.market_data.subscribe_real_time_bars("AAPL", bars, on_error=errors)
    req_id = next(s.req_id for s in pa.market_data.lines.all() if s.key == "AAPL")
    gw.send_error(req_id, 420, "Invalid Real-time Query:No market data permissions", client_id=pa.connection.client_id)
    (symbol, exc), = errors.wait(1, timeout=5)
    assert symbol == "AAPL" and isinstance(exc, IBError) and not isinstance(exc, PacingViolation) and exc.code == 420
    assert list(pa.market_data.subscription_errors()) == ["real_time_bars:AAPL"]
    assert pacer.stream_room_in() == 0
