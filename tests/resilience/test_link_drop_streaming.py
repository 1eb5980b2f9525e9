"""Link dropped while streaming: quotes flow again within 5 s of the simulator accepting
connections, through the same user callbacks, with no action from the user."""

from __future__ import annotations

import time
from typing import Any

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
