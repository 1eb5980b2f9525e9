"""IB codes of DESIGN section 5 not covered by the other scenarios: 10197 (competing session:
alert, no resubscribe loop), 10182 (resubscribe that stream), 102/386 (duplicate ticker id:
logged ERROR), 103 (duplicate order id: id resynced, never reused), 101 (max number of tickers:
SubscriptionLimitExceeded), 2103/2105/2157 and 2104/2106/2158 (data farm broken / OK: quotes
degraded while a market data farm is broken)."""

from __future__ import annotations

from typing import Any

import pytest

from platform_adapter import IBError, OrderRejected, OrderState, SubscriptionLimitExceeded
from platform_adapter.sim import PacingConfig
from tests.conftest import Recorder, wait_for
from tests.resilience.conftest import received, sim_orders

TEXT_10197 = "No market data during competing live session"
TEXT_10182 = "Failed to request live updates (disconnected)."
TEXT_103 = "Duplicate order id"


def req_id_of(pa: Any, kind: str, symbol: str) -> int:
    return next(s.req_id for s in pa.market_data.lines.all() if s.kind.value == kind and s.key == symbol)


def never(predicate: Any, within: float = 0.5) -> bool:
    """True when ``predicate`` stays false for ``within`` seconds."""
    try:
        wait_for(predicate, timeout=within)
    except AssertionError:
        return True
    return False


def test_10197_competing_session_alerts_without_resubscribe_loop(sim_factory: Any, adapter_factory: Any,
                                                                  error_logs: list[str]) -> None:
    gw = sim_factory()
    pa = adapter_factory(gw)
    quotes, errors, other = Recorder(), Recorder(), Recorder()
    pa.market_data.subscribe_quotes("AAPL", quotes, on_error=errors)
    pa.market_data.subscribe_quotes("MSFT", other)
    quotes.wait(1, timeout=5)
    other.wait(1, timeout=5)
    before = received(gw, "reqMktData")["reqMktData"]

    gw.send_error(req_id_of(pa, "quotes", "AAPL"), 10197, TEXT_10197, client_id=pa.connection.client_id)
    (symbol, exc), = errors.wait(1, timeout=5)
    assert symbol == "AAPL" and isinstance(exc, IBError) and exc.code == 10197
    assert list(pa.market_data.subscription_errors()) == ["quotes:AAPL"]
    wait_for(lambda: any("10197" in line and "competing" in line for line in error_logs), timeout=5)
    assert never(lambda: received(gw, "reqMktData")["reqMktData"] > before), "no resubscribe loop"
    mark = len(other.calls)
    other.wait(mark + 1, timeout=5)
    assert pa.market_data.stats()["failed"] == 1


@pytest.mark.parametrize("kind", ["quotes", "real_time_bars"])
def test_10182_resubscribes_that_stream_only(sim_factory: Any, adapter_factory: Any, kind: str) -> None:
    gw = sim_factory(rt_bar_interval=0.2)
    pa = adapter_factory(gw)
    quotes, bars = Recorder(), Recorder()
    pa.market_data.subscribe_quotes(["AAPL", "MSFT"], quotes)
    pa.market_data.subscribe_real_time_bars("AAPL", bars)
    wait_for(lambda: {args[0] for args in quotes.calls} == {"AAPL", "MSFT"}, timeout=5)
    bars.wait(1, timeout=5)
    msgs = ("reqMktData", "reqRealTimeBars")
    before = received(gw, *msgs)
    old = req_id_of(pa, kind, "AAPL")

    gw.send_error(old, 10182, TEXT_10182, client_id=pa.connection.client_id)
    name = "reqMktData" if kind == "quotes" else "reqRealTimeBars"
    wait_for(lambda: received(gw, *msgs) == {**before, name: before[name] + 1}, timeout=5)
    new = req_id_of(pa, kind, "AAPL")
    subs = gw.sessions[pa.connection.client_id].subs
    live = subs.mkt if kind == "quotes" else subs.rtb
    assert new != old and new in live
    recorder = quotes if kind == "quotes" else bars
    mark = len(recorder.calls)
    wait_for(lambda: any(args[0] == "AAPL" for args in recorder.calls[mark:]), timeout=5)
    assert pa.market_data.stats()["failed"] == 0 and pa.market_data.stats()["lines"] == 3


@pytest.mark.parametrize("code", [102, 386])
def test_duplicate_ticker_id_is_logged_as_error(sim_factory: Any, adapter_factory: Any, error_logs: list[str],
                                                code: int) -> None:
    gw = sim_factory()
    pa = adapter_factory(gw)
    errors, other = Recorder(), Recorder()
    pa.market_data.subscribe_quotes("AAPL", lambda *a: None, on_error=errors)
    pa.market_data.subscribe_quotes("MSFT", other)
    gw.send_error(req_id_of(pa, "quotes", "AAPL"), code, "Duplicate ticker id", client_id=pa.connection.client_id)
    (_, exc), = errors.wait(1, timeout=5)
    assert isinstance(exc, IBError) and exc.code == code
    wait_for(lambda: any(line.startswith("ERROR") and str(code) in line and "duplicate ticker" in line.lower()
                         for line in error_logs), timeout=5)
    mark = len(other.calls)
    other.wait(mark + 1, timeout=5)
    assert pa.is_connected()


def test_103_duplicate_order_id_resyncs_and_never_reuses(sim_factory: Any, adapter_factory: Any) -> None:
    gw = sim_factory()
    pa = adapter_factory(gw)
    first = pa.orders.place_order("AAPL", "BUY", 1, "LMT", limit_price=100.0, tif="DAY")
    pa.orders.wait_for_status(first, OrderState.SUBMITTED, timeout=5)
    cid = pa.connection.client_id
    gw.stall(10.0)  # the gateway reads nothing: the next order stays unacknowledged
    try:
        dup = pa.orders.place_order("AAPL", "BUY", 2, "LMT", limit_price=100.0, tif="DAY")
        gw.send_error(dup, 103, TEXT_103, client_id=cid)
        with pytest.raises(OrderRejected) as info:
            pa.orders.wait_for_status(dup, OrderState.SUBMITTED, timeout=5)
        assert info.value.code == 103
        assert pa.orders.get_order_status(dup).status is OrderState.REJECTED
        ids_requests = received(gw, "reqIds")["reqIds"]
    finally:
        gw.faults.end_stall()
    wait_for(lambda: received(gw, "reqIds")["reqIds"] == ids_requests + 1, timeout=5)
    later = pa.orders.place_order("AAPL", "BUY", 3, "LMT", limit_price=100.0, tif="DAY")
    assert later > dup > first, "the rejected id is never handed out again"
    pa.orders.wait_for_status(later, OrderState.SUBMITTED, timeout=5)
    assert sim_orders(gw, cid)[later].total_qty == 3


def test_101_refuses_the_subscribe_call(sim_factory: Any, adapter_factory: Any) -> None:
    """The gateway holds 2 lines (the adapter's own cap is 50): the call that passes IB's limit
    raises; the lines IB accepted stream on."""
    gw = sim_factory(pacing=PacingConfig(max_market_data_lines=2))
    pa = adapter_factory(gw)
    md = pa.market_data
    quotes, errors = Recorder(), Recorder()
    md.subscribe_quotes("AAPL", quotes)
    with pytest.raises(SubscriptionLimitExceeded) as info:
        md.subscribe_quotes(["MSFT", "TSLA"], quotes, on_error=errors)
    assert info.value.code == 101 and info.value.symbols == ("TSLA",)
    assert md.stats()["lines"] == 2 and md.subscription_errors() == {}
    wait_for(lambda: {s for s, q in quotes.calls if q.bid} == {"AAPL", "MSFT"}, timeout=5)
    with pytest.raises(SubscriptionLimitExceeded):
        md.subscribe_tick_by_tick("SPY", "MidPoint", quotes)  # tick-by-tick uses a line too
    md.unsubscribe_quotes("AAPL")
    md.subscribe_quotes("TSLA", quotes)  # a line is free again
    wait_for(lambda: any(s == "TSLA" and q.bid for s, q in quotes.calls), timeout=5)
    assert errors.calls == [] and gw.lines_in_use() == 2


def test_101_for_a_line_refused_on_the_replay(sim_factory: Any, adapter_factory: Any) -> None:
    """While the adapter was away another client took a line: of the lines it replays after
    reconnecting, the one past IB's limit reaches on_error as SubscriptionLimitExceeded."""
    gw = sim_factory(pacing=PacingConfig(max_market_data_lines=2))
    pa = adapter_factory(gw, **{"ib_connection.auto_reconnect": False})
    quotes, errors = Recorder(), Recorder()
    pa.market_data.subscribe_quotes(["AAPL", "MSFT"], quotes, on_error=errors)
    gw.drop_all_connections()
    wait_for(lambda: not pa.is_connected() and gw.lines_in_use() == 0, timeout=5)
    other = adapter_factory(gw, client_id=2)
    other.market_data.subscribe_quotes("SPY", Recorder())
    assert pa.connect()  # replays AAPL and MSFT
    ((symbol, exc),) = errors.wait(1, timeout=5)
    assert isinstance(exc, SubscriptionLimitExceeded) and exc.code == 101 and exc.symbols == (symbol,)
    assert list(pa.market_data.subscription_errors()) == [f"quotes:{symbol}"]
    kept = ({"AAPL", "MSFT"} - {symbol}).pop()
    mark = len(quotes.calls)
    wait_for(lambda: any(s == kept for s, _ in quotes.calls[mark:]), timeout=5)
    assert pa.market_data.stats()["lines"] == 1 and gw.lines_in_use() == 2


def test_broken_data_farms_degrade_quotes_until_ok(sim_factory: Any, adapter_factory: Any) -> None:
    gw = sim_factory()
    pa = adapter_factory(gw)
    md = pa.market_data
    quotes = Recorder()
    md.subscribe_quotes(["AAPL", "MSFT"], quotes)
    wait_for(lambda: {s for s, q in quotes.calls if q.bid} == {"AAPL", "MSFT"}, timeout=5)

    def farms() -> tuple[str, ...]:
        return pa.connection.get_connection_status().broken_farms

    def delivered(degraded: bool) -> None:
        mark = len(quotes.calls)
        wait_for(lambda: {s for s, q in quotes.calls[mark:] if q.degraded is degraded} == {"AAPL", "MSFT"}, 5)

    gw.send_system_code(2105)  # HMDS: historical data, not quotes
    wait_for(lambda: farms() == ("ushmds",), timeout=5)
    delivered(False)
    gw.send_system_code(2103)
    wait_for(lambda: md.get_quote("AAPL").degraded and md.get_quote("MSFT").degraded, timeout=5)
    assert farms() == ("ushmds", "usfarm") and pa.is_connected()
    delivered(True)
    gw.send_system_code(2157)
    gw.send_system_code(2104)
    wait_for(lambda: not md.get_quote("AAPL").degraded and not md.get_quote("MSFT").degraded, timeout=5)
    delivered(False)
    assert farms() == ("ushmds", "secdefil")
    gw.send_system_code(2106)
    gw.send_system_code(2158)
    wait_for(lambda: farms() == (), timeout=5)
