"""Per-request IB errors on market-data lines over TCP (the simulator injects them)."""

from __future__ import annotations

from typing import Any

from platform_adapter.models.market_data import MarketDataType
from tests.conftest import Recorder, wait_for

NOT_SUBSCRIBED = ("Requested market data is not subscribed. Displaying delayed market data.")


def received(gateway: Any, name: str) -> int:
    return int(gateway.stats().received[name])


def test_not_subscribed_falls_back_to_delayed_data(make_adapter: Any, gateway: Any) -> None:
    pa = make_adapter(**{"market_data.delayed_fallback": True})
    gateway.fail_next_request("reqMktData", 354, NOT_SUBSCRIBED)
    rec = Recorder()
    pa.market_data.subscribe_quotes(["AAPL"], rec)
    wait_for(lambda: received(gateway, "reqMktData") == 2, 10)  # re-requested once, as delayed
    wait_for(lambda: any(q.bid for _, q in rec.calls), 10)
    assert received(gateway, "reqMarketDataType") >= 2
    quote = pa.market_data.get_quote("AAPL")
    assert quote is not None and quote.market_data_type in (MarketDataType.DELAYED, MarketDataType.DELAYED_FROZEN)


def test_not_subscribed_without_fallback_reports_the_error(make_adapter: Any, gateway: Any) -> None:
    pa = make_adapter(**{"market_data.delayed_fallback": False})
    gateway.fail_next_request("reqMktData", 354, NOT_SUBSCRIBED)
    errors = Recorder()
    pa.market_data.subscribe_quotes(["AAPL"], Recorder(), on_error=errors)
    symbol, exc = errors.wait(1)[0]
    assert symbol == "AAPL" and "354" in str(exc)
    assert received(gateway, "reqMktData") == 1  # nothing re-sent


def test_stream_disconnected_10182_resubscribes_that_stream(pa: Any, gateway: Any) -> None:
    rec = Recorder()
    pa.market_data.subscribe_quotes(["AAPL", "MSFT"], rec)
    wait_for(lambda: {c[0] for c in rec.calls} == {"AAPL", "MSFT"}, 10)
    assert received(gateway, "reqMktData") == 2
    (aapl,) = [s for s in pa.market_data.lines.all() if s.key == "AAPL"]
    old_id = aapl.req_id
    gateway.send_error(old_id, 10182, "Failed to request live updates (disconnected).")
    wait_for(lambda: received(gateway, "reqMktData") == 3, 10)  # only that line again
    count = sum(1 for c in rec.calls if c[0] == "AAPL")
    wait_for(lambda: sum(1 for c in rec.calls if c[0] == "AAPL") > count + 2, 10)
    assert pa.market_data.stats()["failed"] == 0
