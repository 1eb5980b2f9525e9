"""MarketDataAdapter streaming lines with a FakeClient and the real Wrapper (no socket); connection
events through the Lifecycle."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from loguru import logger

from platform_adapter.adapters.base_adapter import AdapterContext
from platform_adapter.adapters.contracts import ContractResolver
from platform_adapter.adapters.market_data import MarketDataAdapter
from platform_adapter.config.settings import Settings, load_settings
from platform_adapter.core.connection_manager import ConnectionManager
from platform_adapter.core.events import EventDispatcher
from platform_adapter.core.handlers import Handlers
from platform_adapter.core.lifecycle import Lifecycle
from platform_adapter.core.metrics import Metrics
from platform_adapter.core.request_registry import RequestRegistry
from platform_adapter.core.state_manager import StateManager
from platform_adapter.core.wrapper import Wrapper
from platform_adapter.errors import (
    ContractNotFound,
    IBError,
    NotConnected,
    SubscriptionLimitExceeded,
    ValidationError,
)
from platform_adapter.models.connection import ConnectionEventKind as Kind
from platform_adapter.models.contract import ContractInfo, ContractSpec, SecType
from platform_adapter.models.market_data import Bar, MarketDataType, OptionGreeks, Quote, TickByTick, TickByTickKind
from platform_adapter.utils.rate_limiter import HistoricalPacer, TokenBucket
from tests.conftest import FailsOnce, Recorder, wait_for
from tests.fakes import FakeClient

CON_IDS = {"AAPL": 265598, "MSFT": 272093, "SPY": 756733}


def contract_info(symbol: str) -> ContractInfo:
    return ContractInfo(spec=ContractSpec(symbol), con_id=CON_IDS[symbol], symbol=symbol, sec_type=SecType.STOCK,
                        exchange="SMART", primary_exchange="NASDAQ", currency="USD", local_symbol=symbol,
                        trading_class=symbol, min_tick=0.01, multiplier="", long_name=symbol)


class Env:
    """A MarketDataAdapter on its own context (the only adapter bound to the wrapper)."""

    def __init__(self, settings: Settings, client_factory: Any) -> None:
        self.settings = settings
        self.wrapper = Wrapper()
        self.registry = RequestRegistry()
        self.state = StateManager()
        self.events = EventDispatcher()
        self.metrics_registry = Metrics()
        bucket = TokenBucket(40, 10)
        self.historical = HistoricalPacer(50, 50)
        self.connection = ConnectionManager(settings.ib_connection, settings.monitoring, self.wrapper,
                                            self.registry, bucket)
        self.ctx = AdapterContext(settings, self.wrapper, self.connection, self.registry, self.state, bucket,
                                  self.historical, self.events, self.metrics_registry)
        self.contracts = self.ctx.contracts = ContractResolver(self.ctx)
        self.market_data = MarketDataAdapter(self.ctx)
        self.lifecycle = Lifecycle(self.connection, self.events, market_data=self.market_data)
        self.wrapper.bind(Handlers(market_data=self.market_data.handler, lifecycle=self.lifecycle,
                                   requests=self.registry))
        self.client = client_factory(self)


def make_pa(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **overrides: Any) -> tuple[Env, FakeClient]:
    opts = {"logging.log_dir": str(tmp_path), "logging.console": False, "environment": "test"}
    opts.update(overrides)
    settings = load_settings(None, env_file=os.devnull, overrides=opts, use_environ=False)
    pa = Env(settings, lambda e: FakeClient(e.wrapper))
    client = pa.client
    monkeypatch.setattr(pa.connection, "require_connected", lambda: client)

    def no_such_contract(req_id: int, contract: Any) -> None:
        pa.wrapper.error(req_id, 0, 200, "No security definition has been found for the request", "")

    client.on_call["reqContractDetails"] = no_such_contract
    for symbol in CON_IDS:
        pa.contracts.remember(contract_info(symbol))
    return pa, client


def ignore(*_: Any) -> None:
    """A callback that does nothing."""


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Env, FakeClient]]:
    pa, client = make_pa(tmp_path, monkeypatch)
    pa.events.start()
    yield pa, client
    pa.market_data._stop.set()
    pa.events.stop()


@pytest.fixture
def warnings() -> Iterator[list[str]]:
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="WARNING", format="{message}")
    yield lines
    logger.remove(sink)


def req_ids(client: FakeClient, method: str) -> list[int]:
    return [args[0] for name, args in client.calls if name == method]


def test_subscribe_quotes_one_line_per_symbol_and_callbacks_share_it(env: Any) -> None:
    pa, client = env
    first, second = Recorder(), Recorder()
    pa.market_data.subscribe_quotes(["AAPL", "msft"], first)
    pa.market_data.subscribe_quotes("AAPL", second)
    lines = req_ids(client, "reqMktData")
    assert len(lines) == 2
    contract = next(args[1] for name, args in client.calls if name == "reqMktData")
    assert (contract.conId, contract.symbol) == (CON_IDS["AAPL"], "AAPL")
    pa.wrapper.tickPrice(lines[0], 1, 189.5, None)
    pa.events.wait_idle()
    assert first.calls[-1][0] == "AAPL" and first.calls[-1][1].bid == 189.5
    assert second.calls[-1][1].bid == 189.5
    assert pa.state.get_quote("AAPL").bid == 189.5
    assert pa.market_data.stats()["quotes"] == 2


def test_unknown_symbol_raises_before_any_market_data_request(env: Any) -> None:
    pa, client = env
    with pytest.raises(ContractNotFound):
        pa.market_data.subscribe_quotes(["AAPL", "NOPE"], Recorder())
    assert "reqContractDetails" in client.names()
    assert "reqMktData" not in client.names()
    assert pa.market_data.stats()["lines"] == 0


@pytest.mark.parametrize("symbols, callback, field", [
    ("", ignore, "symbols"), ([], ignore, "symbols"), (["AAPL", 7], ignore, "symbols"),
    ("AAPL", "not callable", "callback"), ("BAD SYMBOL WITH A VERY LONG NAME", ignore, "symbols"),
])
def test_bad_arguments_are_validation_errors_and_nothing_is_sent(env: Any, symbols: Any, callback: Any,
                                                                 field: str) -> None:
    pa, client = env
    with pytest.raises(ValidationError) as info:
        pa.market_data.subscribe_quotes(symbols, callback)
    assert info.value.field == field
    assert client.calls == []


def test_line_cap_counts_quotes_bars_and_tick_by_tick(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pa, client = make_pa(tmp_path, monkeypatch, **{"market_data.max_simultaneous_subscriptions": 3})
    md = pa.market_data
    md.subscribe_quotes(["AAPL"], ignore)
    md.subscribe_real_time_bars("MSFT", ignore)
    md.subscribe_tick_by_tick("SPY", "BidAsk", ignore)
    sent = list(client.calls)
    with pytest.raises(SubscriptionLimitExceeded, match="max_simultaneous_subscriptions=3"):
        md.subscribe_quotes(["MSFT"], ignore)
    with pytest.raises(SubscriptionLimitExceeded):
        md.subscribe_tick_by_tick("AAPL", TickByTickKind.LAST, ignore)
    md.subscribe_quotes("AAPL", Recorder())  # an existing line takes more callbacks
    assert client.calls == sent
    md.unsubscribe_real_time_bars("MSFT")
    md.subscribe_quotes(["MSFT"], ignore)
    assert len(req_ids(client, "reqMktData")) == 2
    assert md.monitoring_metrics()["active_subscriptions"] == 3


def test_unsubscribe_cancels_when_no_callback_is_left(env: Any) -> None:
    pa, client = env
    md = pa.market_data
    a, b = Recorder(), Recorder()
    md.subscribe_quotes("AAPL", a)
    md.subscribe_quotes("AAPL", b)
    line = req_ids(client, "reqMktData")[0]
    md.unsubscribe_quotes("AAPL", a)
    assert "cancelMktData" not in client.names()
    pa.wrapper.tickPrice(line, 2, 190.0, None)
    pa.events.wait_idle()
    assert a.calls == [] and len(b.calls) == 1
    with pytest.raises(ValidationError, match="callback"):
        md.unsubscribe_quotes("AAPL", a)
    md.unsubscribe_quotes(["AAPL"])
    assert req_ids(client, "cancelMktData") == [line]
    with pytest.raises(ValidationError, match="AAPL"):
        md.unsubscribe_quotes(["AAPL"])
    with pytest.raises(ValidationError):
        md.get_quote("AAPL")
    pa.wrapper.tickPrice(line, 2, 191.0, None)  # late tick for a cancelled line: ignored
    pa.events.wait_idle()
    assert len(b.calls) == 1 and pa.state.get_quote("AAPL") is None


def test_unknown_symbol_in_unsubscribe_changes_nothing(env: Any) -> None:
    pa, client = env
    pa.market_data.subscribe_quotes("AAPL", ignore)
    with pytest.raises(ValidationError, match="MSFT"):
        pa.market_data.unsubscribe_quotes(["AAPL", "MSFT"])
    assert "cancelMktData" not in client.names()
    assert pa.market_data.stats()["quotes"] == 1


def test_ticks_map_to_quote_fields(env: Any) -> None:
    pa, client = env
    md = pa.market_data
    md.subscribe_quotes("AAPL", ignore)
    assert md.get_quote("AAPL") == Quote("AAPL")
    rid = req_ids(client, "reqMktData")[0]
    w = pa.wrapper
    w.tickPrice(rid, 1, 189.5, None)
    w.tickSize(rid, 0, Decimal(300))
    w.tickPrice(rid, 2, 189.52, None)
    w.tickSize(rid, 3, Decimal(200))
    w.tickPrice(rid, 4, 189.51, None)
    w.tickSize(rid, 5, Decimal(100))
    w.tickSize(rid, 8, Decimal(123456))
    w.tickPrice(rid, 6, 191.0, None)
    w.tickPrice(rid, 7, 188.0, None)
    w.tickPrice(rid, 9, 187.0, None)
    w.tickPrice(rid, 14, 187.5, None)
    w.tickString(rid, 45, "1767225600")
    q = md.get_quote("AAPL")
    assert (q.bid, q.ask, q.last, q.high, q.low, q.close, q.open) == (189.5, 189.52, 189.51, 191.0, 188.0, 187.0,
                                                                      187.5)
    assert (q.bid_size, q.ask_size, q.last_size, q.volume) == (300, 200, 100, 123456)
    assert q.last_timestamp is not None and q.last_timestamp.isoformat() == "2026-01-01T00:00:00+00:00"
    assert q.time is not None and q.time.utcoffset().total_seconds() == 0
    assert q.age < 5 and not q.stale and q.mid == pytest.approx(189.51)
    w.tickPrice(rid, 66, -1.0, None)  # delayed bid, "no value"
    w.marketDataType(rid, 3)
    w.tickSize(rid, 69, Decimal(2**127 - 1))
    q = md.get_quote("AAPL")
    assert q.bid is None and q.bid_size is None and q.market_data_type is MarketDataType.DELAYED


def test_option_computations_map_to_the_quote_greeks(env: Any) -> None:
    pa, client = env
    md = pa.market_data
    rec = Recorder()
    md.subscribe_quotes("AAPL", rec)
    rid = req_ids(client, "reqMktData")[0]
    w = pa.wrapper
    # (reqId, tickType, tickAttrib, impliedVol, delta, optPrice, pvDividend, gamma, vega, theta, undPrice)
    w.tickOptionComputation(rid, 13, 0, 0.3, -0.45, 4.2, 0.0, 0.03, 0.2, -0.05, 190.0)
    w.tickOptionComputation(rid, 10, 1, None, None, 4.1, None, None, None, None, 190.0)  # ibapi's "not computed"
    w.tickOptionComputation(rid, 81, 0, 0.31, 0.5, 4.3, 1.7976931348623157e308, -2.0, 0.2, -0.05, -1.0)
    w.tickOptionComputation(rid, 53, 0, 0.5, 0.5, 9.9, 0.0, 0.03, 0.2, -0.05, 190.0)  # a calculation's: not a line's
    w.tickOptionComputation(rid + 99, 12, 0, 0.5, 0.5, 9.9, 0.0, 0.03, 0.2, -0.05, 190.0)  # another line's
    q = md.get_quote("AAPL")
    assert q.model_greeks == OptionGreeks(implied_vol=0.3, delta=-0.45, gamma=0.03, vega=0.2, theta=-0.05,
                                          option_price=4.2, underlying_price=190.0, pv_dividend=0.0)
    assert q.bid_greeks == OptionGreeks(option_price=4.1, underlying_price=190.0)
    assert q.ask_greeks == OptionGreeks(implied_vol=0.31, delta=0.5, vega=0.2, theta=-0.05, option_price=4.3)
    assert q.last_greeks is None and q.updates == 3
    pa.events.wait_idle()
    assert rec.calls[-1][1].model_greeks == q.model_greeks


def test_callbacks_are_conflated_per_symbol(env: Any) -> None:
    pa, client = env
    pa.events.stop()
    rec = Recorder()
    pa.market_data.subscribe_quotes("AAPL", rec)
    rid = req_ids(client, "reqMktData")[0]
    for i in range(100):
        pa.wrapper.tickPrice(rid, 1, 100.0 + i, None)
    pa.events.start()
    pa.events.wait_idle()
    assert len(rec.calls) == 1 and rec.calls[0][1].bid == 199.0
    assert pa.state.get_quote("AAPL").bid == 199.0


def test_every_tick_when_conflation_is_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pa, client = make_pa(tmp_path, monkeypatch, **{"market_data.conflate_callbacks": False})
    rec = Recorder()
    pa.market_data.subscribe_quotes("AAPL", rec)
    rid = req_ids(client, "reqMktData")[0]
    for i in range(100):
        pa.wrapper.tickPrice(rid, 1, 100.0 + i, None)
    pa.events.start()
    try:
        rec.wait(100)
        assert [c[1].bid for c in rec.calls] == [100.0 + i for i in range(100)]
    finally:
        pa.events.stop()


def test_stale_after_silence_warns_once_per_episode(env: Any, warnings: list[str]) -> None:
    pa, client = env
    md = pa.market_data
    clock = [1000.0]
    md._now = lambda: clock[0]
    rec = Recorder()
    md.subscribe_quotes("AAPL", rec)
    rid = req_ids(client, "reqMktData")[0]
    pa.wrapper.tickPrice(rid, 1, 10.0, None)
    stale_after = pa.settings.market_data.stale_after_seconds
    clock[0] += stale_after / 2
    assert md.check_stale() == 0 and not md.get_quote("AAPL").stale
    clock[0] += stale_after
    assert md.get_quote("AAPL").stale  # readers see it even before the monitor runs
    assert md.check_stale() == 1
    assert md.check_stale() == 0
    assert sum("AAPL is stale" in line for line in warnings) == 1
    assert pa.state.get_quote("AAPL").stale
    pa.events.wait_idle()
    assert rec.calls[-1][1].stale
    pa.wrapper.tickPrice(rid, 1, 10.5, None)
    assert not md.get_quote("AAPL").stale
    clock[0] += stale_after + 1
    assert md.check_stale() == 1
    assert sum("AAPL is stale" in line for line in warnings) == 2
    assert pa.metrics_registry.count("md_stale_episodes") == 2


def test_a_stale_check_that_raises_does_not_end_the_monitor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug in one turn of the monitor (its stale check raises once) is logged; the checks go on."""
    pa, _ = make_pa(tmp_path, monkeypatch, **{"market_data.stale_after_seconds": 0.04})
    md = pa.market_data
    check = FailsOnce(md.check_stale)
    monkeypatch.setattr(md, "check_stale", check)
    pa.events.start()
    md.start()
    try:
        wait_for(lambda: len(check.calls) >= 3)
    finally:
        md._stop.set()
        pa.events.stop()


def test_quotes_are_stale_while_the_ib_link_is_lost(env: Any, warnings: list[str]) -> None:
    pa, client = env
    md = pa.market_data
    md.subscribe_quotes(["AAPL", "MSFT"], ignore)
    rid = req_ids(client, "reqMktData")[0]
    pa.wrapper.tickPrice(rid, 1, 10.0, None)
    pa.lifecycle.run(Kind.IB_LINK_LOST)
    assert md.get_quote("AAPL").stale and md.get_quote("MSFT").stale
    pa.wrapper.tickPrice(rid, 1, 10.1, None)
    assert md.get_quote("AAPL").stale
    pa.lifecycle.run(Kind.IB_LINK_LOST)
    assert sum("link lost" in line for line in warnings) == 1
    pa.lifecycle.run(Kind.IB_LINK_RESTORED_DATA_KEPT)
    assert not md.get_quote("AAPL").stale
    pa.wrapper.tickPrice(rid, 1, 10.2, None)
    assert not md.get_quote("AAPL").stale


def test_reconnect_replays_every_line_with_the_same_callbacks(env: Any) -> None:
    pa, client = env
    md = pa.market_data
    quotes, bars, ticks = Recorder(), Recorder(), Recorder()
    md.subscribe_quotes("AAPL", quotes)
    md.subscribe_real_time_bars("MSFT", bars, what_to_show="MIDPOINT")
    md.subscribe_tick_by_tick("SPY", "Last", ticks)
    old = {m: req_ids(client, m) for m in ("reqMktData", "reqRealTimeBars", "reqTickByTickData")}
    client.calls.clear()
    pa.lifecycle.disconnected("socket closed")
    assert md.get_quote("AAPL").stale
    pa.lifecycle.reconnected()
    assert client.names()[0] == "reqMarketDataType"
    new = {m: req_ids(client, m) for m in old}
    for method in old:
        assert len(new[method]) == 1 and new[method] != old[method]
    assert "cancelMktData" not in client.names()
    bar_args = next(args for name, args in client.calls if name == "reqRealTimeBars")
    assert bar_args[2:4] == (5, "MIDPOINT")
    pa.wrapper.tickPrice(old["reqMktData"][0], 1, 1.0, None)
    pa.wrapper.tickPrice(new["reqMktData"][0], 1, 2.0, None)
    pa.wrapper.realtimeBar(new["reqRealTimeBars"][0], 1767225600, 1, 2, 0.5, 1.5, Decimal(10), Decimal("1.2"), 3)
    pa.wrapper.tickByTickAllLast(new["reqTickByTickData"][0], 1, 1767225601, 400.0, Decimal(5), None, "ARCA", "")
    pa.events.wait_idle()
    assert quotes.calls[-1][1].bid == 2.0 and not quotes.calls[-1][1].stale
    assert all(c[1].bid != 1.0 for c in quotes.calls)  # the old request id is dead
    assert len(bars.calls) == 1 and len(ticks.calls) == 1
    assert pa.metrics_registry.count("md_resubscriptions") == 3


def test_ib_restored_data_lost_cancels_and_rerequests(env: Any) -> None:
    pa, client = env
    pa.market_data.subscribe_quotes("AAPL", ignore)
    old = req_ids(client, "reqMktData")[0]
    pa.lifecycle.run(Kind.IB_LINK_RESTORED_DATA_LOST)
    wait_for(lambda: len(req_ids(client, "reqMktData")) == 2, 5)
    assert req_ids(client, "cancelMktData") == [old]


def test_10182_resubscribes_only_that_stream(env: Any) -> None:
    pa, client = env
    md = pa.market_data
    md.subscribe_quotes("AAPL", ignore)
    md.subscribe_real_time_bars("MSFT", ignore)
    bar_line = req_ids(client, "reqRealTimeBars")[0]
    pa.wrapper.error(bar_line, 0, 10182, "Failed to request live updates (disconnected).", "")
    wait_for(lambda: len(req_ids(client, "reqRealTimeBars")) == 2, 5)
    assert req_ids(client, "cancelRealTimeBars") == [bar_line]
    assert len(req_ids(client, "reqMktData")) == 1


def test_ib_errors_on_a_line_are_reported_not_raised(env: Any) -> None:
    pa, client = env
    md = pa.market_data
    errors = Recorder()
    md.subscribe_quotes(["AAPL", "MSFT"], ignore, on_error=errors)
    aapl, msft = req_ids(client, "reqMktData")
    pa.wrapper.error(aapl, 0, 354, "Requested market data is not subscribed.", "")
    pa.wrapper.error(msft, 0, 101, "Max number of tickers has been reached", "")
    pa.wrapper.error(msft, 0, 101, "Max number of tickers has been reached", "")
    errors.wait(2)
    pa.events.wait_idle()
    assert len(errors.calls) == 2
    got = dict(errors.calls)
    assert isinstance(got["AAPL"], IBError) and got["AAPL"].code == 354
    assert isinstance(got["MSFT"], SubscriptionLimitExceeded) and got["MSFT"].code == 101  # a line refused later
    assert got["MSFT"].symbols == ("MSFT",)
    assert {e.code for e in md.subscription_errors().values()} == {354, 101}
    assert md.stats()["lines"] == 0 and md.stats()["failed"] == 2
    md.subscribe_quotes("AAPL", ignore)  # a failed line may be requested again
    assert len(req_ids(client, "reqMktData")) == 3


def test_delayed_fallback_rerequests_as_delayed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pa, client = make_pa(tmp_path, monkeypatch, **{"market_data.delayed_fallback": True})
    md = pa.market_data
    errors = Recorder()
    md.subscribe_quotes("AAPL", ignore, on_error=errors)
    first = req_ids(client, "reqMktData")[0]
    pa.wrapper.error(first, 0, 10089, "Requested market data requires additional subscription", "")
    wait_for(lambda: len(req_ids(client, "reqMktData")) == 2, 5)
    assert ("reqMarketDataType", (3,)) in client.calls
    assert md.market_data_type is MarketDataType.DELAYED
    assert errors.calls == [] and md.stats()["lines"] == 1


@pytest.mark.parametrize(("code", "text"), [
    (10090, "Part of requested market data is not subscribed. Subscription-independent ticks are still active."
            "Delayed market data is not available."),
    (10091, "Part of requested market data requires additional subscription for API. See link in 'Market Data "
            "Connections' dialog for more details.Delayed market data is available."),
])
def test_partly_subscribed_keeps_the_line_and_does_not_fall_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  warnings: list[str], code: int, text: str) -> None:
    """10090/10091: part of the data is not subscribed, the rest keeps flowing: a warning, the
    line stays as it is (no delayed re-request, which would lose the subscribed part)."""
    pa, client = make_pa(tmp_path, monkeypatch, **{"market_data.delayed_fallback": True})
    md = pa.market_data
    errors = Recorder()
    md.subscribe_quotes("AAPL", ignore, on_error=errors)
    (line,) = md.lines.all()
    pa.wrapper.error(line.req_id, 0, code, text, "")
    assert any(str(code) in w and "AAPL" in w for w in warnings)
    pa.events.wait_idle()
    assert not line.fallback_done and line.active and errors.calls == []
    assert md.market_data_type is MarketDataType.LIVE and ("reqMarketDataType", (3,)) not in client.calls
    assert len(req_ids(client, "reqMktData")) == 1


def test_market_data_type_from_config_and_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pa, client = make_pa(tmp_path, monkeypatch, **{"market_data.market_data_type": "delayed_frozen"})
    md = pa.market_data
    md.start()
    try:
        assert client.calls[0] == ("reqMarketDataType", (4,))
        md.set_market_data_type("frozen")
        md.set_market_data_type(MarketDataType.LIVE)
        assert client.calls[1:] == [("reqMarketDataType", (2,)), ("reqMarketDataType", (1,))]
        with pytest.raises(ValidationError, match="market_data_type"):
            md.set_market_data_type("realtime")
        assert len(client.calls) == 3
    finally:
        md.stop()


def test_real_time_bars_and_tick_by_tick(env: Any) -> None:
    pa, client = env
    md = pa.market_data
    bars, last, bidask, mid = Recorder(), Recorder(), Recorder(), Recorder()
    md.subscribe_real_time_bars("AAPL", bars)
    md.subscribe_tick_by_tick("AAPL", "AllLast", last)
    md.subscribe_tick_by_tick("AAPL", TickByTickKind.BID_ASK, bidask)
    md.subscribe_tick_by_tick("AAPL", "mid_point", mid)
    tbt = req_ids(client, "reqTickByTickData")
    kinds = [args[2] for name, args in client.calls if name == "reqTickByTickData"]
    assert kinds == ["AllLast", "BidAsk", "MidPoint"]
    w = pa.wrapper
    w.realtimeBar(req_ids(client, "reqRealTimeBars")[0], 1767225600, 1.0, 2.0, 0.5, 1.5, Decimal(700),
                  Decimal("1.25"), 12)
    w.tickByTickAllLast(tbt[0], 2, 1767225601, 189.5, Decimal(100), None, "NASDAQ", "")
    w.tickByTickBidAsk(tbt[1], 1767225602, 189.4, 189.6, Decimal(3), Decimal(4), None)
    w.tickByTickMidPoint(tbt[2], 1767225603, 189.5)
    for rec in (bars, last, bidask, mid):
        rec.wait(1)
    bar = bars.calls[0][1]
    assert isinstance(bar, Bar) and bar.time.isoformat() == "2026-01-01T00:00:00+00:00"
    assert (bar.open, bar.high, bar.low, bar.close, bar.volume, bar.bar_count) == (1.0, 2.0, 0.5, 1.5, 700, 12)
    tick = last.calls[0][1]
    assert isinstance(tick, TickByTick) and tick.kind is TickByTickKind.ALL_LAST
    assert (tick.price, tick.size, tick.exchange) == (189.5, 100, "NASDAQ")
    assert bidask.calls[0][1].bid_size == 3 and bidask.calls[0][1].ask == 189.6
    assert mid.calls[0][1].mid == 189.5 and mid.calls[0][1].time.second == 3
    md.unsubscribe_tick_by_tick("AAPL", "BidAsk")
    assert req_ids(client, "cancelTickByTickData") == [tbt[1]]
    md.unsubscribe_tick_by_tick("AAPL")
    md.unsubscribe_real_time_bars("AAPL")
    assert len(req_ids(client, "cancelTickByTickData")) == 3 and len(req_ids(client, "cancelRealTimeBars")) == 1
    with pytest.raises(ValidationError):
        md.unsubscribe_real_time_bars("AAPL")


@pytest.mark.parametrize("call", [
    lambda md: md.subscribe_real_time_bars("AAPL", ignore, what_to_show="TRADEZ"),
    lambda md: md.subscribe_real_time_bars("AAPL", ignore, use_rth="yes"),
    lambda md: md.subscribe_tick_by_tick("AAPL", "Bid", ignore),
    lambda md: md.subscribe_tick_by_tick("AAPL", "Last", None),
])
def test_stream_argument_errors_send_nothing(env: Any, call: Any) -> None:
    pa, client = env
    with pytest.raises(ValidationError):
        call(pa.market_data)
    assert client.calls == []


# --- IB codes on market data lines (ib_codes) ----------------------------------------------------
TEXT_101 = "Max number of tickers has been reached"


def refuse(pa: Env, *symbols: str) -> Any:
    """A reqMktData answer: IB's 101 for the lines of ``symbols`` (sent before reqCurrentTime's answer)."""
    def answer(req_id: int, contract: Any, *_: Any) -> None:
        if contract.symbol in symbols:
            pa.wrapper.error(req_id, 0, 101, TEXT_101, "")
    return answer


def test_101_for_a_subscribe_call_raises_there(env: Any) -> None:
    pa, client = env
    md = pa.market_data
    client.on_call["reqMktData"] = refuse(pa, "MSFT", "SPY")
    errors = Recorder()
    md.subscribe_quotes("AAPL", ignore)
    with pytest.raises(SubscriptionLimitExceeded) as info:
        md.subscribe_quotes(["MSFT", "AAPL", "SPY"], ignore, on_error=errors)
    exc = info.value
    assert exc.code == 101 and exc.symbols == ("MSFT", "SPY") and TEXT_101 in str(exc)
    assert client.names().count("reqCurrentTime") == 2  # one round trip per call that made new lines
    assert [s.key for s in md.lines.all()] == ["AAPL"], "the refused lines are not kept"
    assert md.stats()["lines"] == 1 and md.subscription_errors() == {}
    with pytest.raises(ValidationError):
        md.get_quote("MSFT")
    pa.events.wait_idle()
    assert errors.calls == [], "raised, not also reported"
    client.on_call.pop("reqMktData")
    md.subscribe_quotes("MSFT", ignore)  # a refused symbol may be requested again
    assert md.stats()["lines"] == 2


def test_101_for_a_real_time_bar_or_tick_by_tick_call_raises_too(env: Any) -> None:
    pa, client = env
    md = pa.market_data
    for method in ("reqRealTimeBars", "reqTickByTickData"):
        client.on_call[method] = lambda req_id, *_: pa.wrapper.error(req_id, 0, 101, TEXT_101, "")
    with pytest.raises(SubscriptionLimitExceeded):
        md.subscribe_real_time_bars("AAPL", ignore)
    with pytest.raises(SubscriptionLimitExceeded):
        md.subscribe_tick_by_tick("AAPL", "Last", ignore)
    assert md.lines.all() == []


def test_subscribe_without_an_answer_returns_and_later_errors_go_to_on_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, warnings: list[str]) -> None:
    pa, client = make_pa(tmp_path, monkeypatch, **{"ib_connection.request_timeout": 0.05})
    client.on_call.pop("reqCurrentTime")  # the gateway does not answer in time
    pa.events.start()
    try:
        errors = Recorder()
        pa.market_data.subscribe_quotes("AAPL", ignore, on_error=errors)
        assert any("no answer from IB" in w for w in warnings)
        pa.wrapper.error(req_ids(client, "reqMktData")[0], 0, 101, TEXT_101, "")
        ((symbol, exc),) = errors.wait(1)
        assert symbol == "AAPL" and isinstance(exc, SubscriptionLimitExceeded) and exc.code == 101
    finally:
        pa.events.stop()


def test_subscribe_when_the_link_drops_before_the_answer(env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The line was sent, then the link went down: the call returns, the line stays for the replay
    after the reconnect."""
    pa, client = env

    def down() -> Any:
        raise NotConnected("connection lost")

    client.on_call["reqMktData"] = lambda *_: monkeypatch.setattr(pa.connection, "require_connected", down)
    pa.market_data.subscribe_quotes("AAPL", ignore)
    assert "reqCurrentTime" not in client.names() and pa.market_data.stats()["lines"] == 1


def test_504_on_a_line_keeps_it_for_the_replay(env: Any) -> None:
    """ibapi reports 504 (not connected) for the id of a request it could not send: the line is
    requested again after the reconnect, not failed."""
    pa, client = env
    md = pa.market_data
    errors = Recorder()
    md.subscribe_quotes("AAPL", ignore, on_error=errors)
    (line,) = md.lines.all()
    pa.wrapper.error(line.req_id, 0, 504, "Not connected", "")
    pa.events.wait_idle()
    assert line.active and errors.calls == [] and md.subscription_errors() == {}
    pa.lifecycle.reconnected()
    assert len(req_ids(client, "reqMktData")) == 2


FARMS = {2103: "Market data farm connection is broken:usfarm", 2104: "Market data farm connection is OK:usfarm",
         2105: "HMDS data farm connection is broken:ushmds", 2106: "HMDS data farm connection is OK:ushmds",
         2157: "Sec-def data farm connection is broken:secdefil"}


def farm(pa: Env, code: int, text: str | None = None) -> None:
    pa.wrapper.error(-1, 0, code, text or FARMS[code], "")


def test_a_broken_market_data_farm_degrades_every_quote_until_it_is_ok(env: Any) -> None:
    pa, client = env
    md = pa.market_data
    rec = Recorder()
    md.subscribe_quotes(["AAPL", "MSFT"], rec)
    aapl = req_ids(client, "reqMktData")[0]
    pa.wrapper.tickPrice(aapl, 1, 10.0, None)
    pa.events.wait_idle()
    assert not rec.calls[-1][1].degraded
    farm(pa, 2105)  # HMDS (historical data) and sec-def farms do not feed quotes
    farm(pa, 2157)
    assert not md.get_quote("AAPL").degraded and not md.get_quote("MSFT").degraded
    assert pa.connection.get_connection_status().broken_farms == ("ushmds", "secdefil")
    farm(pa, 2103)
    assert md.get_quote("AAPL").degraded and md.get_quote("MSFT").degraded
    assert pa.state.get_quote("AAPL").degraded
    pa.events.wait_idle()
    assert {s for s, q in rec.calls if q.degraded} == {"AAPL", "MSFT"}, "callbacks hear about it"
    pa.wrapper.tickPrice(aapl, 1, 10.1, None)
    assert md.get_quote("AAPL").degraded and md.get_quote("AAPL").bid == 10.1
    md.subscribe_quotes("SPY", ignore)  # a line made while the farm is broken starts degraded
    assert md.get_quote("SPY").degraded
    farm(pa, 2103, "Market data farm connection is broken:cashfarm")
    farm(pa, 2104)
    assert md.get_quote("AAPL").degraded, "cashfarm is still broken"
    farm(pa, 2104, "Market data farm connection is OK:cashfarm")
    assert not any(md.get_quote(s).degraded for s in ("AAPL", "MSFT", "SPY"))
    pa.events.wait_idle()
    assert not rec.calls[-1][1].degraded
    assert pa.connection.get_connection_status().broken_farms == ("ushmds", "secdefil")
    farm(pa, 2106)
    assert pa.connection.get_connection_status().broken_farms == ("secdefil",)


def test_a_lost_connection_forgets_the_broken_farms(env: Any) -> None:
    """The gateway reports its farms again at the next start-up."""
    pa, _ = env
    md = pa.market_data
    md.subscribe_quotes("AAPL", ignore)
    farm(pa, 2103)
    assert md.get_quote("AAPL").degraded
    pa.connection._close("socket closed", report=True)
    assert not md.get_quote("AAPL").degraded
    assert pa.connection.get_connection_status().broken_farms == ()


# --- a reconnect's replay racing subscribe and unsubscribe calls --------------------------------------
def open_lines(client: FakeClient) -> list[int]:
    """The quote lines IB holds after ``client``'s calls: requested and not cancelled after."""
    held: list[int] = []
    for name, args in client.calls:
        if name == "reqMktData":
            held.append(args[0])
        elif name == "cancelMktData" and args[0] in held:
            held.remove(args[0])
    return held


def test_a_reconnect_while_a_subscribe_call_sends_requests_each_line_once(env: Any) -> None:
    """The link drops and comes back while subscribe_quotes is sending its lines: the replay sends
    every booked line with a new id, and the call does not send a replayed line again (IB would
    answer the duplicate ticker id with an error and the line would fail)."""
    pa, client = env
    md = pa.market_data

    def reconnect_once(*_: Any) -> None:
        client.on_call.pop("reqMktData")
        pa.lifecycle.disconnected("socket closed")
        pa.lifecycle.reconnected()

    client.on_call["reqMktData"] = reconnect_once
    md.subscribe_quotes(["AAPL", "MSFT"], ignore)
    sent = req_ids(client, "reqMktData")
    assert len(sent) == len(set(sent)), f"a request id sent twice: {sent}"
    assert sorted(sent[1:]) == sorted(s.req_id for s in md.lines.all()), "each line once on the new link"
    assert md.stats()["lines"] == 2 and md.subscription_errors() == {}


def test_a_line_unsubscribed_during_a_replay_is_not_left_open_at_ib(env: Any) -> None:
    """unsubscribe_quotes runs while the reconnect's replay is sending: the unsubscribed line is
    not requested after its cancel (IB would stream it, and count it, for good)."""
    pa, client = env
    md = pa.market_data
    md.subscribe_quotes(["AAPL", "MSFT"], ignore)
    client.calls.clear()

    def unsubscribe_msft(req_id: int, contract: Any, *_: Any) -> None:
        if contract.symbol == "AAPL":
            client.on_call.pop("reqMktData")
            md.unsubscribe_quotes("MSFT")

    client.on_call["reqMktData"] = unsubscribe_msft
    pa.lifecycle.disconnected("socket closed")
    pa.lifecycle.reconnected()
    (aapl,) = md.lines.all()
    assert open_lines(client) == [aapl.req_id]


def test_a_line_unsubscribed_during_a_1101_replay_is_not_left_open_at_ib(env: Any) -> None:
    """The same on IB's 1101 (the replay cancels each old id first, on the same socket)."""
    pa, client = env
    md = pa.market_data
    md.subscribe_quotes(["AAPL", "MSFT"], ignore)
    done = threading.Event()

    def unsubscribe_msft(req_id: int, contract: Any, *_: Any) -> None:
        if contract.symbol == "AAPL":
            client.on_call.pop("reqMktData")
            md.unsubscribe_quotes("MSFT")
            done.set()

    client.on_call["reqMktData"] = unsubscribe_msft
    pa.lifecycle.run(Kind.IB_LINK_RESTORED_DATA_LOST)
    assert done.wait(5)
    wait_for(lambda: pa.metrics_registry.count("md_resubscriptions") == 2, 5)
    (aapl,) = md.lines.all()
    assert open_lines(client) == [aapl.req_id]


def test_real_time_bars_with_and_without_rth_are_two_lines(env: Any) -> None:
    """use_rth=True asks IB for other bars (regular trading hours only): its own line, not the
    callback added to the all-hours line of the same whatToShow."""
    pa, client = env
    md = pa.market_data
    all_hours, rth = Recorder(), Recorder()
    md.subscribe_real_time_bars("AAPL", all_hours)
    md.subscribe_real_time_bars("AAPL", rth, use_rth=True)
    sent = [args for name, args in client.calls if name == "reqRealTimeBars"]
    assert [args[4] for args in sent] == [False, True]
    pa.wrapper.realtimeBar(sent[0][0], 1767225600, 1, 2, 0.5, 1.5, Decimal(10), Decimal("1.2"), 3)
    all_hours.wait(1)
    pa.events.wait_idle()
    assert rth.calls == []
    md.unsubscribe_real_time_bars("AAPL", rth, what_to_show="TRADES")  # only the line it is on
    assert req_ids(client, "cancelRealTimeBars") == [sent[1][0]]
    md.subscribe_real_time_bars("AAPL", rth, use_rth=True)
    md.unsubscribe_real_time_bars("AAPL", what_to_show="TRADES")  # both lines
    assert len(req_ids(client, "cancelRealTimeBars")) == 3 and md.lines.all() == []


def test_an_ib_link_lost_before_the_socket_closed_ends_with_that_socket(env: Any) -> None:
    """IB 1100, then the gateway restarts (the socket closes; the new session's link is up and no
    1101/1102 ever comes): after the reconnect quotes are fresh again and the watchdog watches."""
    pa, client = env
    md = pa.market_data
    md.subscribe_quotes("AAPL", ignore)
    pa.lifecycle.run(Kind.IB_LINK_LOST)
    assert md.get_quote("AAPL").stale
    pa.lifecycle.disconnected("socket closed")
    pa.lifecycle.reconnected()
    (line,) = md.lines.all()
    pa.wrapper.tickPrice(line.req_id, 1, 10.0, None)
    assert md.get_quote("AAPL").bid == 10.0 and not md.get_quote("AAPL").stale
    assert md.watchdog._watching(), "the frozen-gateway check is not left paused"
