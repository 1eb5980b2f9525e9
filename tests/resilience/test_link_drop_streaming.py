"""Link dropped while streaming: quotes flow again within 5 s of the simulator accepting
connections, through the same user callbacks, with no action from the user."""

from __future__ import annotations

import time
from typing import Any

import pytest

from platform_adapter.errors import NotConnected, ValidationError
from tests.conftest import Recorder, wait_for
from tests.resilience.conftest import received, wait_disconnected, wait_reconnected

REFUSE_S = 1.0


def test_quotes_flow_again_within_5s_of_gateway_accepting(sim_factory: Any, adapter_factory: Any) -> None:
    gw = sim_factory()
    pa = adapter_factory(gw)
    quotes, bars_seen = Recorder(), Recorder()
    pa.market_data.subscribe_quotes(["AAPL", "MSFT"], quotes)
    pa.market_data.subscribe_tick_by_tick("AAPL", "BidAsk", bars_seen)
    wait_for(lambda: {s for s, q in quotes.calls if q.bid} == {"AAPL", "MSFT"}, timeout=5)
    bars_seen.wait(1, timeout=5)
    sent_before = received(gw, "reqMktData", "reqTickByTickData")

    gw.refuse_connections(REFUSE_S)
    accepting_at = time.monotonic() + REFUSE_S
    gw.drop_all_connections()
    wait_disconnected(pa)
    wait_for(lambda: pa.market_data.get_quote("AAPL").stale, timeout=5)

    wait_reconnected(pa, 1, timeout=REFUSE_S + 5)
    mark_q, mark_t = len(quotes.calls), len(bars_seen.calls)
    wait_for(lambda: {s for s, q in quotes.calls[mark_q:] if q.bid and not q.stale} == {"AAPL", "MSFT"},
             timeout=5)
    assert time.monotonic() - accepting_at < 5.0
    bars_seen.wait(mark_t + 1, timeout=5)
    after = received(gw, "reqMktData", "reqTickByTickData")
    assert after == {k: n + (2 if k == "reqMktData" else 1) for k, n in sent_before.items()}, \
        "each stream resubscribed exactly once"
    assert not pa.market_data.get_quote("AAPL").stale
    assert pa.market_data.stats()["lines"] == 3


def _drop_after_sends(pa: Any, gw: Any, method: str, count: int) -> list[int]:
    """Make the adapter's ``method`` (``reqMktData``, ...) drop the link right after its ``count``-th
    send (new connections refused for a while, so that the subscribe call goes on without one).
    Returns the list the request ids sent are appended to."""
    client = pa.connection.client
    real = getattr(client, method)
    sent: list[int] = []

    def send(req_id: int, *args: Any) -> None:
        real(req_id, *args)
        sent.append(req_id)
        if len(sent) == count:
            gw.refuse_connections(1.0)
            gw.drop_all_connections()
            wait_disconnected(pa)

    setattr(client, method, send)
    return sent


def _held_at_sim(gw: Any, pa: Any) -> set[str]:
    """The symbols of the quote lines the simulator holds for ``pa`` (every request it sent before
    answered: one round trip)."""
    assert pa.connection.round_trip(5.0)
    session = gw.sessions[pa.connection.client_id]
    symbols = {c.con_id: c.symbol for c in (pa.contracts.resolve(s) for s in ("SPY", "AAPL", "MSFT", "IBM"))}
    return {symbols[con_id] for con_id in session.subs.mkt.values()}


def test_a_subscribe_call_the_link_drop_fails_part_way_keeps_none_of_its_lines(sim_factory: Any,
                                                                               adapter_factory: Any) -> None:
    """subscribe_quotes of four symbols, one already held by another callback: the link drops after
    the first new line was sent, so the call raises NotConnected. All or nothing: none of the
    call's lines is kept or replayed after the reconnect (before, the lines around the one that met
    the drop were), and the line held before the call keeps its own callback only."""
    gw = sim_factory()
    pa = adapter_factory(gw)
    md = pa.market_data
    held, new = Recorder(), Recorder()
    for symbol in ("SPY", "AAPL", "MSFT", "IBM"):
        pa.contracts.resolve(symbol)  # resolved before: the call's sends follow each other
    md.subscribe_quotes("SPY", held)
    sent = _drop_after_sends(pa, gw, "reqMktData", 1)

    with pytest.raises(NotConnected):
        md.subscribe_quotes(["SPY", "AAPL", "MSFT", "IBM"], new, on_error=new)
    assert len(sent) == 1, "AAPL was sent before the link dropped"
    assert md.stats()["lines"] == 1
    for symbol in ("AAPL", "MSFT", "IBM"):
        with pytest.raises(ValidationError):
            md.get_quote(symbol)
    pa.events.wait_idle()
    mark = len(new.calls)

    wait_reconnected(pa, 1, timeout=10)
    wait_for(lambda: _held_at_sim(gw, pa) == {"SPY"}, timeout=5)
    count = len(held.calls)
    held.wait(count + 2, timeout=5)  # SPY flows again, to its own callback only
    pa.events.wait_idle()
    assert new.calls[mark:] == []
    assert _held_at_sim(gw, pa) == {"SPY"} and md.stats()["lines"] == 1


def test_a_failed_subscribe_leaves_a_line_another_call_joined_meanwhile(sim_factory: Any,
                                                                        adapter_factory: Any) -> None:
    """A call whose new line another call joined while it was being sent fails part-way: the line
    stays, as the other call's (whose subscribe returned), and is requested after the reconnect."""
    gw = sim_factory()
    pa = adapter_factory(gw)
    md = pa.market_data
    first, second = Recorder(), Recorder()
    for symbol in ("AAPL", "MSFT"):
        pa.contracts.resolve(symbol)
    client = pa.connection.client
    real = client.reqMktData
    calls: list[int] = []

    def send(req_id: int, *args: Any) -> None:
        real(req_id, *args)
        calls.append(req_id)
        if len(calls) == 1:  # AAPL sent: another caller joins it, then the link drops
            md.subscribe_quotes("AAPL", second)
            gw.refuse_connections(1.0)
            gw.drop_all_connections()
            wait_disconnected(pa)

    client.reqMktData = send
    with pytest.raises(NotConnected):
        md.subscribe_quotes(["AAPL", "MSFT"], first)
    assert md.stats()["lines"] == 1
    wait_reconnected(pa, 1, timeout=10)
    wait_for(lambda: _held_at_sim(gw, pa) == {"AAPL"}, timeout=5)
    wait_for(lambda: any(q.bid and not q.stale for _, q in second.calls), timeout=5)
    pa.events.wait_idle()
    mark = len(first.calls)
    count = len(second.calls)
    second.wait(count + 2, timeout=5)
    pa.events.wait_idle()
    assert first.calls[mark:] == []
