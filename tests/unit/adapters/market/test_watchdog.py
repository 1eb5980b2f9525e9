"""The stream watchdog on a clock of its own: rhythms learned, silence judged, probes and
resubscribes, farm holds, backoff for streams that stay quiet."""

from __future__ import annotations

import threading

import pytest

from platform_adapter.adapters.market.lines import LineBook
from platform_adapter.adapters.market.subscriptions import SubKind, Subscription
from platform_adapter.adapters.market.watchdog import RHYTHM_FACTOR, SAMPLE_SECONDS, StreamWatchdog
from platform_adapter.core.connection_manager import Probe
from platform_adapter.models.contract import ContractInfo, ContractSpec, SecType
from tests.conftest import wait_for

INFO = ContractInfo(ContractSpec("AAPL"), 265598, "AAPL", SecType.STOCK, "SMART", "NASDAQ", "USD", "AAPL", "NMS", 0.01,
                    "", "APPLE INC")


class Rig:
    """A watchdog over a LineBook, with a hand-driven clock, a scripted probe and recorded resubscribes."""

    def __init__(self, answer: Probe = Probe.ANSWERED) -> None:
        self.t = 100.0
        self.lines = LineBook()
        self.answer = answer
        self.probes: list[str] = []
        self.resubscribed: list[list[Subscription]] = []
        self.dog = StreamWatchdog(self.lines, self.probe, self.resubscribed.append, 1.0, lambda: self.t)

    def probe(self, reason: str) -> Probe:
        self.probes.append(reason)
        return self.answer

    def line(self, kind: SubKind = SubKind.QUOTES, **extra: object) -> Subscription:
        (sub,) = self.lines.reserve([(kind, INFO, dict(extra))], lambda *a: None, None, 10, self.t).new
        return sub

    def run(self, seconds: float, *flowing: Subscription, every: float = SAMPLE_SECONDS) -> list[Subscription]:
        """Advance the clock in samples; ``flowing`` lines update at each; return all resubscribed."""
        out: list[Subscription] = []
        end = self.t + seconds
        while self.t < end - 1e-9:
            self.t += every
            for sub in flowing:
                sub.last_update = self.t
            out += self.dog.check()
        return out


def test_a_stream_silent_beyond_its_rhythm_is_probed_and_resubscribed_when_the_gateway_answers() -> None:
    rig = Rig()
    quotes = rig.line()
    rig.run(2.0, quotes)  # rhythm learned: an update every sample
    assert rig.dog.limit(quotes) == pytest.approx(1.0)  # the floor (3 x 0.25 s is less)
    assert rig.run(1.0) == [] and rig.probes == []
    assert rig.run(0.25) == [quotes]
    assert rig.probes == ["quotes AAPL went silent"] and rig.resubscribed == [[quotes]]
    assert rig.dog.resubscribed == 1


def test_a_frozen_gateway_is_left_to_the_reconnect() -> None:
    rig = Rig(Probe.DEAD)
    quotes = rig.line()
    rig.run(2.0, quotes)
    assert rig.run(1.25) == [] and len(rig.probes) == 1 and rig.resubscribed == []


def test_a_busy_gateway_is_probed_again_later() -> None:
    rig = Rig(Probe.BUSY)
    quotes = rig.line()
    rig.run(2.0, quotes)
    rig.run(1.5)
    assert len(rig.probes) >= 2 and rig.resubscribed == []


def test_rhythm_and_limit() -> None:
    rig = Rig()
    bars = rig.line(SubKind.BARS)
    never = rig.line(SubKind.TICKS, tbt_kind=None)
    assert rig.dog.limit(bars) == float("inf")  # not learned yet: never judged
    rig.run(20.0, bars, every=5.0)
    assert rig.dog.limit(bars) == pytest.approx(RHYTHM_FACTOR * 5.0)
    assert rig.dog.limit(never) == float("inf")
    assert rig.run(15.0, every=5.0) == []  # a missed bar is within its rhythm
    assert rig.run(5.0, every=5.0) == [bars]


def test_a_stream_that_stays_quiet_waits_twice_as_long_each_time() -> None:
    rig = Rig()
    quotes = rig.line()
    rig.run(2.0, quotes)
    limits = []
    for _ in range(3):
        limit = rig.dog.limit(quotes)
        limits.append(limit)
        assert rig.run(limit) == []
        assert rig.run(SAMPLE_SECONDS) == [quotes]
        quotes.started = rig.t  # resubscribed (new request id)
        rig.t += 0.01
        quotes.last_update = rig.t  # its first answer, then quiet again
    assert limits == [1.0, 2.0, 4.0]
    rig.run(1.0, quotes)  # flowing again: back to its rhythm
    assert rig.dog.limit(quotes) == pytest.approx(1.0)


@pytest.mark.parametrize("down,ok,held", [(2103, 2104, SubKind.QUOTES), (2119, 2104, SubKind.TICKS),
                                          (2105, 2106, SubKind.BARS), (2103, 2108, SubKind.QUOTES),
                                          (2119, 2108, SubKind.TICKS), (2105, 2107, SubKind.BARS)])
def test_streams_of_a_farm_down_are_held_until_its_ok(down: int, ok: int, held: SubKind) -> None:
    rig = Rig()
    sub = rig.line(held, tbt_kind=None)
    rig.run(30.0, sub, every=5.0 if held is SubKind.BARS else SAMPLE_SECONDS)
    limit = rig.dog.limit(sub)
    rig.dog.farm(down, "usfarm" if held is not SubKind.BARS else "ushmds")
    rig.dog.farm(2158, "secdefil")  # not a farm of streams
    assert rig.run(3 * limit) == [] and rig.probes == []
    rig.dog.farm(ok, "usfarm" if held is not SubKind.BARS else "ushmds")
    assert rig.run(limit) == []  # silence counts from the OK
    assert rig.run(SAMPLE_SECONDS) == [sub]


def test_an_idle_farm_that_was_not_down_changes_nothing() -> None:
    """2108/2107 (inactive, available on demand) for a farm not down: its streams' silence is not
    counted again from then (only a farm that was down is OK again with it)."""
    rig = Rig()
    quotes = rig.line()
    rig.run(2.0, quotes)
    rig.run(0.75)
    rig.dog.farm(2108, "cashfarm")
    assert rig.run(0.5) == [quotes]


def test_a_new_link_forgets_the_farms_down() -> None:
    rig = Rig()
    quotes = rig.line()
    rig.run(2.0, quotes)
    rig.dog.farm(2103, "usfarm")
    rig.dog.reset()
    assert rig.run(1.25) == [quotes]


def test_run_checks_until_stopped_and_survives_a_failing_check() -> None:
    rig = Rig()
    calls: list[int] = []

    def failing() -> list[Subscription]:
        calls.append(1)
        raise RuntimeError("boom")

    rig.dog.check = failing  # type: ignore[method-assign]
    stop = threading.Event()
    thread = threading.Thread(target=rig.dog.run, args=(stop,), daemon=True)
    thread.start()
    wait_for(lambda: len(calls) >= 2, timeout=5)
    stop.set()
    thread.join(5)
    assert not thread.is_alive()


def test_nothing_is_judged_while_the_link_is_down() -> None:
    rig = Rig()
    down = [False]
    rig.dog = StreamWatchdog(rig.lines, rig.probe, rig.resubscribed.append, 1.0, lambda: rig.t, lambda: not down[0])
    quotes = rig.line()
    rig.run(2.0, quotes)
    down[0] = True  # the socket closed (or IB 1100): the reconnect (or 1101) requests every line again
    assert rig.run(5.0) == [] and rig.probes == []
    down[0] = False  # e.g. IB 1102: the streams go on by themselves; silence counts from now
    assert rig.run(1.25) == [] and rig.run(SAMPLE_SECONDS) == [quotes]
