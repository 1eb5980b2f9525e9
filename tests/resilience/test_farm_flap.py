"""Data farm flaps (2119 -> 2104, 2103 -> 2104, 2105 -> 2106): the farm's streams pause during the
outage and are not judged while IB says the farm is down; after its OK a stream still silent is
resubscribed by the stream watchdog (the gateway answers its probe). Quote, real-time bar and
tick-by-tick streams deliver correct values afterwards, and streams that flow are left alone."""

from __future__ import annotations

import time
from typing import Any

import pytest

from platform_adapter import PlatformAdapter
from platform_adapter.adapters.market.subscriptions import SubKind
from platform_adapter.sim import SimulatedGateway
from tests.conftest import Recorder, wait_for

SPEC_HEALTH = {"monitoring.health_check_interval_seconds": 30.0, "monitoring.health_check_timeout_seconds": 10.0}
FEEDS = {2119: {SubKind.QUOTES, SubKind.TICKS}, 2103: {SubKind.QUOTES, SubKind.TICKS}, 2105: {SubKind.BARS}}


class Streams:
    """AAPL quotes, AAPL real-time bars and MSFT bid/ask tick-by-tick data of one adapter."""

    def __init__(self, pa: PlatformAdapter) -> None:
        self.pa = pa
        self.quotes, self.bars, self.ticks = Recorder(), Recorder(), Recorder()
        md = pa.market_data
        md.subscribe_quotes("AAPL", self.quotes)
        md.subscribe_real_time_bars("AAPL", self.bars)
        md.subscribe_tick_by_tick("MSFT", "BidAsk", self.ticks)
        self.quotes.wait(1, timeout=10)
        self.bars.wait(1, timeout=10)
        self.ticks.wait(1, timeout=10)
        # every stream's rhythm learned (the watchdog judges only streams it knows)
        wait_for(lambda: all(md.watchdog.limit(sub) < 10 for sub in md.lines.all()), timeout=15)

    def marks(self) -> tuple[int, int, int]:
        return len(self.quotes.calls), len(self.bars.calls), len(self.ticks.calls)

    def req_ids(self) -> dict[SubKind, int]:
        return {sub.kind: sub.req_id for sub in self.pa.market_data.lines.all()}

    def assert_correct_after(self, gw: SimulatedGateway, marks: tuple[int, int, int]) -> None:
        """Each stream delivers values the gateway's market holds now (polled: the market moves)."""
        aapl, msft = gw._con_id("AAPL"), gw._con_id("MSFT")

        def quote_matches() -> bool:
            q = self.pa.market_data.get_quote("AAPL")
            m = gw.market.quote(aapl)
            return len(self.quotes.calls) > marks[0] and not q.stale and (q.bid, q.ask) == (m.bid, m.ask)

        def tick_matches() -> bool:
            new = self.ticks.calls[marks[2]:]
            m = gw.market.quote(msft)
            return bool(new) and (new[-1][1].bid, new[-1][1].ask) == (m.bid, m.ask)

        def bar_matches() -> bool:
            new = self.bars.calls[marks[1]:]
            return bool(new) and new[-1][1].close == gw.market.quote(aapl).last

        wait_for(quote_matches, timeout=15)
        wait_for(tick_matches, timeout=15)
        wait_for(bar_matches, timeout=15)
        times = [bar.time for _, bar in self.bars.calls]
        assert times == sorted(times) and all(sym == "AAPL" for sym, _ in self.bars.calls)
        assert all(sym == "MSFT" for sym, _ in self.ticks.calls)


@pytest.fixture
def flap_gateway(sim_factory: Any) -> SimulatedGateway:
    return sim_factory(tick_interval=0.2, rt_bar_interval=1.0)  # type: ignore[no-any-return]


@pytest.mark.parametrize(("code", "inactive"), [(2119, False), (2103, False), (2105, False), (2119, True),
                                               (2105, True)],
                         ids=["2119", "2103", "2105", "2119-then-2108", "2105-then-2107"])
def test_streams_lost_in_a_farm_flap_are_resubscribed(flap_gateway: SimulatedGateway, adapter_factory: Any,
                                                      code: int, inactive: bool) -> None:
    """``inactive``: IB ends the outage with the farm's 2108/2107 (inactive but available upon
    demand: fine, idle) instead of 2104/2106; the same follows (before, the farm stayed down for
    the watchdog and its dead streams were never resubscribed)."""
    gw = flap_gateway
    pa = adapter_factory(gw, **SPEC_HEALTH)
    streams = Streams(pa)
    watchdog = pa.market_data.watchdog
    before = streams.req_ids()
    affected = [sub for sub in pa.market_data.lines.all() if sub.kind in FEEDS[code]]

    gw.farm_outage(code)
    down_at = time.monotonic()
    # held while IB says the farm is down: silent well beyond the streams' limits, not resubscribed
    wait_for(lambda: all(time.monotonic() - max(sub.last_update, down_at) > 2 * watchdog.limit(sub)
                         for sub in affected), timeout=30)
    assert watchdog.resubscribed == 0 and streams.req_ids() == before
    assert pa.is_connected(), "a farm outage is no frozen gateway"

    marks = streams.marks()
    gw.farm_restored(code, resume=False, inactive=inactive)  # the farm is back; its streams were lost
    wait_for(lambda: watchdog.resubscribed >= len(affected), timeout=20)
    after = streams.req_ids()
    assert {kind for kind in before if after[kind] != before[kind]} == FEEDS[code], "only the lost streams"
    streams.assert_correct_after(gw, marks)
    assert pa.connection.reconnect_count == 0 and pa.is_connected()
    if code in (2119, 2103):
        assert not pa.market_data.get_quote("AAPL").degraded


def test_streams_that_resume_after_a_flap_are_left_alone(flap_gateway: SimulatedGateway, adapter_factory: Any) -> None:
    gw = flap_gateway
    pa = adapter_factory(gw, **SPEC_HEALTH)
    streams = Streams(pa)
    before = streams.req_ids()
    for code in (2119, 2103, 2105):
        affected = [sub for sub in pa.market_data.lines.all() if sub.kind in FEEDS[code]]
        gw.farm_outage(code)
        wait_for(lambda subs=affected: all(time.monotonic() - sub.last_update > 1.5 for sub in subs),
                 timeout=10)  # the farm's streams pause
        marks = streams.marks()
        gw.farm_restored(code)
        streams.assert_correct_after(gw, marks)
    assert streams.req_ids() == before and pa.market_data.watchdog.resubscribed == 0
