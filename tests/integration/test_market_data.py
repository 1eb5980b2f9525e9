"""Market data over TCP against the simulated gateway: quotes, real-time bars, tick-by-tick,
the line cap, staleness during 1100, and replay after 1101 and after a dropped connection."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from platform_adapter.adapters.market.subscriptions import SubKind
from platform_adapter.errors import ContractNotFound, SubscriptionLimitExceeded, ValidationError
from platform_adapter.models.contract import ContractSpec, SecType
from platform_adapter.models.market_data import Bar, Quote, TickByTick, TickByTickKind
from tests.conftest import LOOPBACK, Recorder, wait_for

SimulatedGateway = pytest.importorskip("platform_adapter.sim.server").SimulatedGateway


@pytest.fixture
def gateway() -> Iterator[Any]:
    """The simulator with fast ticks and a real-time bar every 0.2 s (instead of 5 s)."""
    with SimulatedGateway(host=LOOPBACK, port=0, seed=7, tick_interval=0.05, rt_bar_interval=0.2) as gw:
        yield gw


def received(gateway: Any, name: str) -> int:
    return int(gateway.stats().received[name])


def symbols_seen(rec: Recorder) -> set[str]:
    return {call[0] for call in rec.calls}


def test_quotes_stream_to_callbacks_and_the_cache(pa: Any, gateway: Any) -> None:
    md = pa.market_data
    rec, other = Recorder(), Recorder()
    md.subscribe_quotes(["AAPL", "MSFT"], rec)
    md.subscribe_quotes(["AAPL"], other)
    wait_for(lambda: symbols_seen(rec) == {"AAPL", "MSFT"}, 10)
    other.wait(1)
    assert received(gateway, "reqMktData") == 2  # the second callback shares the AAPL line
    quote = wait_for(lambda: (q := md.get_quote("AAPL")).bid and q.ask and q.last and q.volume and q)
    assert isinstance(quote, Quote) and quote.bid < quote.ask
    assert quote.time is not None and quote.time.utcoffset().total_seconds() == 0
    assert not quote.stale and pa.state.get_quote("AAPL") is not None
    md.unsubscribe_quotes(["AAPL", "MSFT"])
    wait_for(lambda: received(gateway, "cancelMktData") == 2, 5)
    assert md.stats()["lines"] == 0


def test_forex_quotes_through_a_contract_spec(pa: Any) -> None:
    rec = Recorder()
    pa.market_data.subscribe_quotes(ContractSpec("EUR", SecType.FOREX, "IDEALPRO", "USD"), rec)
    symbol, quote = rec.wait(1)[0]
    assert symbol == "EUR.USD" and quote.symbol == "EUR.USD"


def test_unknown_symbol_raises_and_sends_no_market_data_request(pa: Any, gateway: Any) -> None:
    with pytest.raises(ContractNotFound):
        pa.market_data.subscribe_quotes(["AAPL", "ZZZZQ"], Recorder())
    assert received(gateway, "reqContractDetails") >= 1
    assert received(gateway, "reqMktData") == 0


def test_line_cap_is_enforced_before_anything_is_sent(make_adapter: Any, gateway: Any) -> None:
    pa = make_adapter(**{"market_data.max_simultaneous_subscriptions": 2})
    md = pa.market_data
    md.subscribe_quotes(["AAPL"], Recorder())
    md.subscribe_tick_by_tick("MSFT", "MidPoint", Recorder())
    with pytest.raises(SubscriptionLimitExceeded):
        md.subscribe_real_time_bars("SPY", Recorder())
    assert received(gateway, "reqRealTimeBars") == 0


def test_real_time_bars_are_utc_bar_models(pa: Any, gateway: Any) -> None:
    rec = Recorder()
    pa.market_data.subscribe_real_time_bars("AAPL", rec)
    calls = rec.wait(2)
    first, second = calls[0][1], calls[1][1]
    assert isinstance(first, Bar) and first.symbol == "AAPL"
    assert first.time.tzinfo is not None and first.time.utcoffset().total_seconds() == 0
    assert (second.time - first.time).total_seconds() == 5
    assert first.low <= first.open <= first.high
    pa.market_data.unsubscribe_real_time_bars("AAPL")
    wait_for(lambda: received(gateway, "cancelRealTimeBars") == 1, 5)


@pytest.mark.parametrize("kind, field", [("Last", "price"), ("BidAsk", "bid"), ("MidPoint", "mid")])
def test_tick_by_tick(pa: Any, gateway: Any, kind: str, field: str) -> None:
    rec = Recorder()
    pa.market_data.subscribe_tick_by_tick("MSFT", kind, rec)
    symbol, tick = rec.wait(1)[0]
    assert symbol == "MSFT" and isinstance(tick, TickByTick)
    assert tick.kind is TickByTickKind(kind) and getattr(tick, field) is not None
    pa.market_data.unsubscribe_tick_by_tick("MSFT")
    wait_for(lambda: received(gateway, "cancelTickByTickData") == 1, 5)


def test_bad_stream_arguments_send_nothing(pa: Any, gateway: Any) -> None:
    with pytest.raises(ValidationError):
        pa.market_data.subscribe_real_time_bars("AAPL", Recorder(), what_to_show="VOLUME")
    with pytest.raises(ValidationError):
        pa.market_data.subscribe_tick_by_tick("AAPL", "Trades", Recorder())
    pa.contracts.resolve("TSLA")  # a round trip: whatever was sent before has been read
    stats = gateway.stats().received
    assert stats["reqRealTimeBars"] == stats["reqTickByTickData"] == stats["reqContractDetails"] - 1 == 0


def test_1100_flags_quotes_stale_and_1102_clears_it(pa: Any, gateway: Any) -> None:
    md = pa.market_data
    md.subscribe_quotes(["AAPL"], Recorder())
    wait_for(lambda: md.get_quote("AAPL").bid is not None)
    gateway.send_system_code(1100)
    wait_for(lambda: md.get_quote("AAPL").stale, 5)
    gateway.send_system_code(1102)
    wait_for(lambda: not md.get_quote("AAPL").stale, 5)


def test_1101_resubscribes_every_line(pa: Any, gateway: Any) -> None:
    md = pa.market_data
    quotes, bars = Recorder(), Recorder()
    md.subscribe_quotes(["AAPL"], quotes)
    md.subscribe_real_time_bars("MSFT", bars)
    bars.wait(1)
    gateway.send_system_code(1101)
    wait_for(lambda: received(gateway, "reqMktData") == 2 and received(gateway, "reqRealTimeBars") == 2, 5)
    assert received(gateway, "cancelMktData") == 1
    seen = len(bars.calls)
    bars.wait(seen + 2)
    assert md.stats()["lines"] == 2


def test_dropped_connection_replays_subscriptions_with_the_same_callbacks(pa: Any, gateway: Any) -> None:
    md = pa.market_data
    quotes, ticks = Recorder(), Recorder()
    md.subscribe_quotes(["AAPL", "MSFT"], quotes)
    md.subscribe_tick_by_tick("SPY", "BidAsk", ticks)
    wait_for(lambda: symbols_seen(quotes) == {"AAPL", "MSFT"})
    ticks.wait(1)  # every first request has reached the gateway
    gateway.drop_all_connections()
    wait_for(lambda: pa.connection.reconnect_count >= 1 and pa.is_connected(), 15)
    wait_for(lambda: received(gateway, "reqMktData") == 4 and received(gateway, "reqTickByTickData") == 2, 10)
    quotes_before, ticks_before = len(quotes.calls), len(ticks.calls)
    wait_for(lambda: len(quotes.calls) > quotes_before + 2 and len(ticks.calls) > ticks_before, 10)
    wait_for(lambda: not md.get_quote("AAPL").stale and not md.get_quote("MSFT").stale, 10)
    assert md.stats()["lines"] == 3


@pytest.mark.parametrize(("requested", "served"), [("frozen", "LIVE"), ("delayed_frozen", "DELAYED"),
                                                     ("delayed", "DELAYED"), ("live", "LIVE")])
def test_frozen_types_are_served_live_or_delayed_while_the_market_is_open(pa: Any, requested: str,
                                                                          served: str) -> None:
    """IB serves frozen data only while a market is closed (the simulated one never closes) and
    says which type it serves in marketDataType: the quote carries that type and keeps moving."""
    md = pa.market_data
    md.set_market_data_type(requested)
    rec = Recorder()
    md.subscribe_quotes(["AAPL"], rec)
    first = wait_for(lambda: (q := md.get_quote("AAPL")) and q.bid and q, 10)
    assert first.market_data_type.name == served
    wait_for(lambda: md.get_quote("AAPL").updates > first.updates + 3, 10)  # streaming, not a frozen snapshot
    assert md.get_quote("AAPL").market_data_type.name == served


class Blocker:
    """A quote callback that holds the event thread on its first call until ``release`` is set."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, *_: Any) -> None:
        if not self.entered.is_set():
            self.entered.set()
            self.release.wait(10)


def _hold_the_event_thread(md: Any) -> Blocker:
    blocker = Blocker()
    md.subscribe_quotes("MSFT", blocker)
    assert blocker.entered.wait(10)
    return blocker


@pytest.mark.parametrize("conflate", [True, False], ids=["conflated", "every_tick"])
def test_no_quote_reaches_a_callback_once_unsubscribe_returned(make_adapter: Any, conflate: bool) -> None:
    """Quote deliveries already queued on the event thread when unsubscribe_quotes (without a
    callback) is called are not made: each checks the line's callbacks as it runs (before, the
    queued ones still reached the callback after unsubscribe had returned)."""
    pa = make_adapter(**{"market_data.conflate_callbacks": conflate,
                         "monitoring.callback_block_threshold_seconds": 30.0})
    md = pa.market_data
    rec = Recorder()
    md.subscribe_quotes("AAPL", rec)
    rec.wait(1)
    blocker = _hold_the_event_thread(md)
    line = md.lines.get((SubKind.QUOTES, "AAPL", ""))
    updates = line.updates
    wait_for(lambda: line.updates >= updates + 2, 10)  # deliveries of AAPL are queued behind the blocker
    assert pa.events.queue_length >= 1
    md.unsubscribe_quotes("AAPL")
    mark = len(rec.calls)
    blocker.release.set()
    assert pa.events.wait_idle(10)
    assert rec.calls[mark:] == []


@pytest.mark.parametrize("kind", ["ticks", "bars"])
def test_no_tick_or_bar_reaches_a_callback_once_unsubscribe_returned(make_adapter: Any, kind: str) -> None:
    """The same for tick-by-tick data and real-time bars: every queued call is checked as it runs."""
    pa = make_adapter(**{"monitoring.callback_block_threshold_seconds": 30.0})
    md = pa.market_data
    rec = Recorder()
    if kind == "ticks":
        md.subscribe_tick_by_tick("AAPL", "BidAsk", rec)
        key = (SubKind.TICKS, "AAPL", "BidAsk")
    else:
        md.subscribe_real_time_bars("AAPL", rec)
        key = (SubKind.BARS, "AAPL", "TRADES")
    rec.wait(1)
    blocker = _hold_the_event_thread(md)
    line = md.lines.get(key)
    updates = line.updates
    wait_for(lambda: line.updates >= updates + 2, 10)  # the first one's call is queued by now
    if kind == "ticks":
        md.unsubscribe_tick_by_tick("AAPL")
    else:
        md.unsubscribe_real_time_bars("AAPL")
    mark = len(rec.calls)
    blocker.release.set()
    assert pa.events.wait_idle(10)
    assert rec.calls[mark:] == []


def test_no_line_error_reaches_on_error_once_unsubscribe_returned(make_adapter: Any, gateway: Any) -> None:
    """An IB error on a line whose on_error call is queued on the event thread when the line is
    unsubscribed: that call is not made either (the handler is checked as it runs)."""
    pa = make_adapter(**{"monitoring.callback_block_threshold_seconds": 30.0})
    md = pa.market_data
    rec, errors = Recorder(), Recorder()
    md.subscribe_quotes("AAPL", rec, on_error=errors)
    rec.wait(1)
    blocker = _hold_the_event_thread(md)
    line = md.lines.get((SubKind.QUOTES, "AAPL", ""))
    queued = pa.events.queue_length
    gateway.send_error(line.req_id, 10197, "No market data during competing live session")
    wait_for(lambda: line.failed is not None and pa.events.queue_length > queued, 10)
    md.unsubscribe_quotes("AAPL")
    blocker.release.set()
    assert pa.events.wait_idle(10)
    assert errors.calls == []
