"""The market-data handler called directly: ticks reach only quote lines and known tick types,
bars and tick-by-tick records fan out to their line's callbacks, pending requests collect their
answers, and IB's errors for a line fail it once (or only log a notice)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from platform_adapter.adapters.market.events import MarketDataEvents
from platform_adapter.errors import ContractNotFound, IBError
from platform_adapter.models.market_data import Bar, MarketDataType, TickByTick, TickByTickKind
from tests.conftest import Recorder
from tests.fakes import FakeClient
from tests.unit.adapters.test_market_data import Env, make_pa, req_ids


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Env, FakeClient, MarketDataEvents]]:
    pa, client = make_pa(tmp_path, monkeypatch)
    pa.events.start()
    yield pa, client, pa.market_data.handler
    pa.market_data._stop.set()
    pa.events.stop()


def test_ticks_reach_quote_lines_only(env: Any) -> None:
    pa, client, handler = env
    pa.market_data.subscribe_quotes("AAPL", print)
    pa.market_data.subscribe_real_time_bars("MSFT", print)
    quote_id, bar_id = req_ids(client, "reqMktData")[0], req_ids(client, "reqRealTimeBars")[0]
    handler.tick_price(quote_id, 1, 10.5, None)
    handler.tick_price(quote_id, 9999, 11.0, None)  # a tick type quotes do not keep
    handler.tick_price(bar_id, 1, 99.0, None)  # not a quote line
    handler.tick_price(424242, 1, 99.0, None)  # no line
    handler.tick_string(quote_id, 45, "not a time")  # unparsable timestamp: skipped
    q = pa.market_data.get_quote("AAPL")
    assert q.bid == 10.5 and q.last_timestamp is None and q.updates == 1
    handler.market_data_type(quote_id, 3)
    handler.market_data_type(quote_id, 9)  # not a type: ignored
    assert pa.market_data.get_quote("AAPL").market_data_type is MarketDataType.DELAYED


def test_bars_and_tick_by_tick_fan_out_to_their_callbacks(env: Any) -> None:
    pa, client, handler = env
    bars, ticks = Recorder(), Recorder()
    pa.market_data.subscribe_real_time_bars("AAPL", bars)
    pa.market_data.subscribe_tick_by_tick("AAPL", "BidAsk", ticks)
    bar_id, tbt_id = req_ids(client, "reqRealTimeBars")[0], req_ids(client, "reqTickByTickData")[0]
    handler.realtime_bar(bar_id, 1767225600, 1.0, 2.0, 0.5, 1.5, Decimal(100), Decimal("1.2"), 7)
    handler.tick_by_tick_bid_ask(tbt_id, 1767225600, 1.0, 1.1, Decimal(5), Decimal(6), None)
    handler.realtime_bar(tbt_id, 1767225600, 1.0, 2.0, 0.5, 1.5, Decimal(100), Decimal("1.2"), 7)  # wrong kind
    bars.wait(1)
    ticks.wait(1)
    (symbol, bar), = bars.calls
    assert symbol == "AAPL" and isinstance(bar, Bar) and (bar.close, bar.volume, bar.bar_count) == (1.5, 100, 7)
    (_, tick), = ticks.calls
    assert isinstance(tick, TickByTick) and tick.kind is TickByTickKind.BID_ASK and tick.ask_size == 6


def test_pending_requests_collect_their_answers(env: Any) -> None:
    pa, _, handler = env
    pending = pa.registry.start("historical_data")
    handler.historical_data(pending.req_id, "bar 1")
    handler.historical_data(pending.req_id, "bar 2")
    handler.historical_data_end(pending.req_id, "", "")
    assert pending.wait(1) == ["bar 1", "bar 2"]
    chain = pa.registry.start("option_chain")
    handler.option_chain(chain.req_id, "CBOE", 265598, "AAPL", "100", {"20270115"}, {190.0})
    handler.option_chain_end(chain.req_id)
    assert chain.wait(1) == [("CBOE", 265598, "AAPL", "100", {"20270115"}, {190.0})]


def test_errors_fail_a_line_once_and_notices_fail_nothing(env: Any) -> None:
    pa, client, handler = env
    errors = Recorder()
    pa.market_data.subscribe_quotes(["AAPL", "MSFT"], print, on_error=errors)
    aapl, msft = req_ids(client, "reqMktData")
    assert handler.owns_request(aapl) and not handler.owns_request(424242)
    handler.error(aapl, 10167, "Displaying delayed market data", "")
    assert pa.market_data.get_quote("AAPL").market_data_type is MarketDataType.DELAYED
    handler.error(aapl, 2104, "Market data farm connection is OK", "")  # a notice
    assert handler.owns_request(aapl)
    handler.error(aapl, 200, "No security definition", "")
    handler.error(aapl, 200, "again", "")  # the line holds no IB line any more
    handler.error(msft, 322, "Error processing request", "")
    errors.wait(2)
    got = dict(errors.calls)
    assert isinstance(got["AAPL"], ContractNotFound) and isinstance(got["MSFT"], IBError)
    assert len(errors.calls) == 2 and not handler.owns_request(aapl)
