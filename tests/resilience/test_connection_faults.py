"""Connection faults: calls while disconnected fail fast with NotConnected and are never queued;
a synchronous call in flight fails at once when the link drops; a client id in use; a stalled
gateway detected by the health check."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from platform_adapter import ConnectionState, NotConnected, OrderState
from platform_adapter.models.connection import ConnectionEventKind as Kind
from tests.conftest import Recorder, wait_for
from tests.resilience.conftest import received, wait_disconnected, wait_reconnected

WATCHED = ("placeOrder", "cancelOrder", "reqMktData", "reqHistoricalData", "reqAccountSummary", "reqRealTimeBars")


def test_calls_while_disconnected_fail_fast_and_are_never_queued(sim_factory: Any, adapter_factory: Any) -> None:
    gw = sim_factory()
    pa = adapter_factory(gw)
    working = pa.orders.place_order("AAPL", "BUY", 10, "LMT", limit_price=100.0, tif="DAY")
    pa.orders.wait_for_status(working, OrderState.SUBMITTED, timeout=5)
    gw.refuse_connections(1.5)
    gw.drop_all_connections()
    wait_disconnected(pa)
    before = received(gw, *WATCHED)

    calls = [
        lambda: pa.orders.place_order("AAPL", "BUY", 1, "LMT", limit_price=100.0),
        lambda: pa.orders.place_order("MSFT", "SELL", 1, "MKT"),
        lambda: pa.orders.modify_order(working, limit_price=99.0),
        lambda: pa.orders.cancel_order(working),
        lambda: pa.market_data.subscribe_quotes("AAPL", lambda *a: None),
        lambda: pa.market_data.subscribe_real_time_bars("AAPL", lambda *a: None),
        lambda: pa.market_data.get_historical_data("AAPL", "1 D", "1 hour"),
        lambda: pa.account.get_account_summary(),
    ]
    for call in calls:
        started = time.monotonic()
        with pytest.raises(NotConnected):
            call()
        assert time.monotonic() - started < 0.5, "fails fast, does not wait for the reconnect"

    wait_reconnected(pa, 1)
    wait_for(lambda: pa.orders.reconciler.runs >= 2, timeout=5)
    assert received(gw, *WATCHED) == before, "nothing refused while disconnected was sent later"
    assert pa.market_data.stats()["lines"] == 0
    assert pa.orders.get_order_status(working).status is OrderState.SUBMITTED
    assert len(gw.stats().orders) == 1


def test_sync_call_in_flight_fails_at_once_when_the_link_drops(sim_factory: Any, adapter_factory: Any) -> None:
    gw = sim_factory()
    pa = adapter_factory(gw)
    pa.contracts.resolve("AAPL")
    outcome: list[BaseException] = []
    gw.stall(10.0)

    def ask() -> None:
        try:
            pa.market_data.get_historical_data("AAPL", "1 D", "1 hour")
        except BaseException as exc:  # noqa: BLE001 - recorded for the test
            outcome.append(exc)

    t = threading.Thread(target=ask, daemon=True)
    t.start()
    wait_for(lambda: "historical" in pa.registry.pending_kinds(), timeout=5)
    dropped_at = time.monotonic()
    gw.drop_all_connections()
    t.join(2.0)
    assert not t.is_alive(), "the pending call did not fail when the link dropped"
    assert time.monotonic() - dropped_at < 1.0
    assert len(outcome) == 1 and isinstance(outcome[0], NotConnected), outcome
    gw.faults.end_stall()
    wait_reconnected(pa, 1)


def test_client_id_in_use(sim_factory: Any, adapter_factory: Any) -> None:
    gw = sim_factory()
    first = adapter_factory(gw, client_id=5)
    quotes = Recorder()
    first.market_data.subscribe_quotes("AAPL", quotes)
    quotes.wait(1, timeout=5)

    second = adapter_factory(gw, connect=False, client_id=5)
    started = time.monotonic()
    assert second.connect() is False
    assert time.monotonic() - started < 5.0
    assert "in use" in second.connection.last_error and "326" in second.connection.last_error
    assert not second.is_connected() and second.connection.state is ConnectionState.DISCONNECTED
    with pytest.raises(NotConnected):
        second.orders.place_order("AAPL", "BUY", 1, "MKT")

    retrying = adapter_factory(gw, connect=False, client_id=5, **{"ib_connection.client_id_retry": True})
    assert retrying.connect(), retrying.connection.last_error
    assert retrying.connection.client_id == 6
    assert sorted(gw.stats().clients) == [5, 6]
    mark = len(quotes.calls)
    quotes.wait(mark + 1, timeout=5)
    assert first.is_connected()


def test_stalled_gateway_is_detected_by_the_health_check(sim_factory: Any, adapter_factory: Any) -> None:
    gw = sim_factory()
    pa = adapter_factory(gw, **{"monitoring.health_check_interval_seconds": 0.3,
                                "monitoring.health_check_timeout_seconds": 0.5})
    quotes, reasons = Recorder(), Recorder()
    pa.market_data.subscribe_quotes("AAPL", quotes)
    quotes.wait(1, timeout=5)
    pa.on_connection_event(lambda event: event.kind is Kind.DISCONNECTED and reasons(event.detail))

    gw.stall(2.0)
    stalled_at = time.monotonic()
    reasons.wait(1, timeout=3)
    assert time.monotonic() - stalled_at < 0.3 + 0.5 + 1.0
    assert "health check" in reasons.calls[0][0]
    assert gw.faults.stalled, "detected while the gateway was still stalled (socket open)"

    wait_reconnected(pa, 1, timeout=10)
    mark = len(quotes.calls)
    wait_for(lambda: any(not q.stale and q.bid for _, q in quotes.calls[mark:]), timeout=5)
