"""Historical bars: IB parameter validation, chunk planning, frames, "no data" and pacing,
with a FakeClient answering as IB's historical data service would."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from ibapi.common import BarData

from platform_adapter.adapters.market.historical import COLUMNS, check_request, empty_frame
from platform_adapter.adapters.market.historical_params import (
    BAR_SIZES,
    parse_duration,
)
from platform_adapter.core.ib_pacing import is_small_bar
from platform_adapter.errors import (
    ContractNotFound,
    HistoricalQueryCancelled,
    IBError,
    NotConnected,
    PacingViolation,
    PartialHistory,
    RequestTimeout,
    ValidationError,
)
from platform_adapter.sim.pacing import HistoricalPacer as GatewayPacingRules
from platform_adapter.sim.pacing import PacingConfig
from platform_adapter.utils.rate_limiter import HistoricalKey, HistoricalPacer
from tests.fakes import FakeClient
from tests.unit.adapters.test_market_data import Env, make_pa

UTC = timezone.utc
END = datetime(2026, 1, 7, 21, 0, tzinfo=UTC)  # a Wednesday, bar-aligned
NO_DATA = "Historical Market Data Service error message:HMDS query returned no data: AAPL@SMART Trades"


def bar(date: str, t: float, volume: Any = None, count: int | None = None) -> BarData:
    b = BarData()
    b.date = date
    b.open, b.high, b.low, b.close = 100 + t % 7, 101 + t % 7, 99 + t % 7, 100.5 + t % 7
    b.volume = Decimal(int(t) % 1000) if volume is None else volume
    b.wap = Decimal("100.25")
    b.barCount = int(t) % 50 if count is None else count
    return b


class FakeHMDS:
    """Answers reqHistoricalData with epoch-stamped bars of [end - duration, end), like IB."""

    def __init__(self, env: Env, now: datetime = END) -> None:
        self.env = env
        self.now = now
        self.requests: list[tuple[Any, ...]] = []
        env.client.on_call["reqHistoricalData"] = self.answer

    def answer(self, req_id: int, contract: Any, end: str, duration: str, bar_size: str, wts: str, rth: int,
               fmt: int, keep: bool, options: list[Any]) -> None:
        self.requests.append((contract.conId, end, duration, bar_size, wts, rth, fmt))
        stop = datetime.strptime(end, "%Y%m%d-%H:%M:%S").replace(tzinfo=UTC) if end else self.now
        step = BAR_SIZES[bar_size]
        start = stop.timestamp() - parse_duration(duration).seconds
        t = math.floor(start / step) * step
        while t + step <= stop.timestamp():
            self.env.wrapper.historicalData(req_id, bar(str(int(t)), t))
            t += step
        self.env.wrapper.historicalDataEnd(req_id, "", "")


class FakeClock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Env, FakeClient]]:
    pa, client = make_pa(tmp_path, monkeypatch)
    clock = FakeClock()  # pacing waits pass in fake time
    pa.ctx.historical = HistoricalPacer(50, 50, clock=clock, sleep=clock.sleep, margin=0.1)
    yield pa, client


@pytest.mark.parametrize("kwargs, field", [
    ({"duration": "1 X"}, "duration"), ({"duration": 3}, "duration"), ({"duration": "0 D"}, "duration"),
    ({"bar_size": "1 mins"}, "bar_size"), ({"bar_size": "7 mins"}, "bar_size"), ({"bar_size": None}, "bar_size"),
    ({"what_to_show": "TRADEZ"}, "what_to_show"), ({"what_to_show": "SCHEDULE"}, "what_to_show"),
    ({"use_rth": "yes"}, "use_rth"), ({"end": datetime(2026, 1, 7)}, "end"), ({"end": "20260107"}, "end"),
    ({"what_to_show": "ADJUSTED_LAST", "end": END}, "end"), ({"max_chunk": "10 S", "bar_size": "1 min"}, "max_chunk"),
    ({"progress": "bar"}, "progress"), ({"timeout": -1}, "timeout"), ({"symbol": ""}, "symbol"),
])
def test_bad_arguments_name_the_argument_and_send_nothing(env: Any, kwargs: dict[str, Any], field: str) -> None:
    pa, client = env
    args: dict[str, Any] = {"symbol": "AAPL", "duration": "1 D", "bar_size": "1 min"}
    args.update(kwargs)
    with pytest.raises(ValidationError) as info:
        pa.market_data.get_historical_data(**args)
    assert info.value.field == field
    assert client.calls == []


def test_unknown_symbol_sends_no_history_request(env: Any) -> None:
    pa, client = env
    with pytest.raises(ContractNotFound):
        pa.market_data.get_historical_data("NOPE", "1 D", "1 min")
    assert client.names() == ["reqContractDetails"]


def test_frame_shape_and_request_fields(env: Any) -> None:
    pa, client = env
    hmds = FakeHMDS(pa)
    df = pa.market_data.get_historical_data("AAPL", "3600 S", "5 mins", end=END, use_rth=False)
    assert list(df.columns) == COLUMNS
    assert df.index.name == "time" and str(df.index.tz) == "UTC"
    assert len(df) == 12 and df.index[0] == END - timedelta(hours=1) and df.index.is_monotonic_increasing
    assert df["bar_count"].dtype == "Int64" and df["volume"].dtype == "float64"
    assert hmds.requests == [(265598, "20260107-21:00:00", "3600 S", "5 mins", "TRADES", 0, 2)]


def test_daily_bars_are_stamped_midnight_utc_and_missing_values_are_nan(env: Any) -> None:
    pa, client = env

    def answer(req_id: int, *_: Any) -> None:
        for day in ("20260105", "20260106", "20260107"):
            pa.wrapper.historicalData(req_id, bar(day, 1.0, volume=Decimal(-1), count=-1))
        pa.wrapper.historicalDataEnd(req_id, "", "")

    client.on_call["reqHistoricalData"] = answer
    df = pa.market_data.get_historical_data("AAPL", "1 W", "1 day", what_to_show="MIDPOINT")
    assert list(df.index) == [pd.Timestamp(f"2026-01-0{d}", tz="UTC") for d in (5, 6, 7)]
    assert df["volume"].isna().all() and df["bar_count"].isna().all()


def test_no_data_is_an_empty_frame_with_the_same_columns(env: Any) -> None:
    pa, client = env
    client.on_call["reqHistoricalData"] = lambda req_id, *_: pa.wrapper.error(req_id, 0, 162, NO_DATA, "")
    df = pa.market_data.get_historical_data("AAPL", "1 D", "1 min")
    assert df.empty and list(df.columns) == COLUMNS
    assert str(df.index.tz) == "UTC" and df.index.name == "time"
    pd.testing.assert_frame_equal(df, empty_frame())


def test_chunked_fetch_equals_one_request_and_reports_progress(env: Any) -> None:
    pa, client = env
    hmds = FakeHMDS(pa)
    single = pa.market_data.get_historical_data("AAPL", "2 D", "5 mins", end=END)
    progress: list[tuple[int, int]] = []
    chunked = pa.market_data.get_historical_data("AAPL", "2 D", "5 mins", end=END, max_chunk="14400 S",
                                                 progress=lambda done, total: progress.append((done, total)))
    assert len(hmds.requests) == 1 + 12
    assert progress == [(i, 12) for i in range(1, 13)]
    pd.testing.assert_frame_equal(chunked, single)
    assert len(single) == 2 * 288


def test_too_long_for_one_request_is_split_by_the_step_table(env: Any) -> None:
    pa, client = env
    hmds = FakeHMDS(pa)
    df = pa.market_data.get_historical_data("AAPL", "3 D", "1 min", end=END + timedelta(seconds=30))
    # inner boundaries fall on bars, so a misaligned end costs one small extra request
    assert [r[2] for r in hmds.requests] == ["86370 S", "86400 S", "86400 S", "30 S"]
    assert len(df) == 3 * 1440 and not df.index.duplicated().any()
    assert (df.index.to_series().diff().dropna() == pd.Timedelta(minutes=1)).all()


def loop_against_gateway_rules(env: Any, bar_size: str, durations: list[str],
                               large_per_second: float | None = None) -> tuple[list[float], list[str], Any]:
    """200 histories in a loop through the adapter's pacer, on a fake clock, against the
    simulator's own rule checker (applied as the simulator applies it: to small bars only).
    Returns the send times, IB's violations and the pacer."""
    pa, client = env
    clock = FakeClock()
    pacer = pa.ctx.historical = HistoricalPacer(50, 50, clock=clock, sleep=clock.sleep, margin=0.1,
                                                large_per_second=large_per_second)
    rules = GatewayPacingRules(PacingConfig())
    violations: list[str] = []
    sent: list[float] = []

    def answer(req_id: int, contract: Any, end: str, duration: str, bar_size: str, wts: str, rth: int,
               *_: Any) -> None:
        ident = "|".join([str(contract.conId), end, bar_size, duration, wts, str(bool(rth))])
        if is_small_bar(BAR_SIZES[bar_size]):
            rule = rules.check(ident, f"{contract.conId}|{contract.exchange}|{wts}", now=clock())
            if rule:
                violations.append(rule)
        sent.append(clock())
        pa.wrapper.historicalData(req_id, bar(str(int(END.timestamp())), 1.0))
        pa.wrapper.historicalDataEnd(req_id, "", "")

    client.on_call["reqHistoricalData"] = answer
    for i in range(200):
        symbol = ("AAPL", "MSFT", "SPY")[i % 3]
        duration = durations[(i // 3) % len(durations)]  # repeats identical requests now and then
        pa.market_data.get_historical_data(symbol, duration, bar_size, end=END)
    return sent, violations, pacer


def test_200_small_bar_histories_in_a_loop_never_break_ibs_pacing_rules(env: Any) -> None:
    sent, violations, pacer = loop_against_gateway_rules(env, "30 secs", ["3600 S", "7200 S", "10800 S", "14400 S"])
    assert len(sent) == 200 and violations == []
    assert sent[-1] - sent[0] >= 3 * 600  # 200 requests at 50 per 10 minutes
    waits = pacer.wait_counts()
    assert waits["identical"] > 0 and waits["ten_minutes"] > 0 and "soft_limit" not in waits


def test_200_large_bar_histories_keep_only_the_soft_limit(env: Any) -> None:
    """Bars of 1 hour: IB lifted its hard rules for 1 minute and more. Before, these 200 were held
    by the ten-minute count (at least 30 minutes) and identical ones 15 s apart; now only the
    soft limit paces them: a burst of 5 seconds' worth (10), then 2 per second."""
    sent, violations, pacer = loop_against_gateway_rules(env, "1 hour", ["1 D", "2 D", "3 D", "4 D"],
                                                         large_per_second=2.0)
    assert len(sent) == 200 and violations == []
    assert sent[:10] == [sent[0]] * 10
    assert sent[-1] - sent[0] == pytest.approx((200 - 10) / 2.0)
    assert set(pacer.wait_counts()) == {"soft_limit"}


PACING_TEXT = "Historical Market Data Service error message:Historical data request pacing violation"


@pytest.mark.parametrize("bar_size, other_size", [("1 min", "30 secs"), ("30 secs", "1 min")])
def test_a_pacing_refusal_is_waited_out_and_sent_again_for_any_bar_size(env: Any, bar_size: str,
                                                                        other_size: str) -> None:
    """IB refuses a request for pacing (162): for 1-minute bars its soft limit, for 30-second bars
    its hard rules. Either is held (15 s and the margin) and sent again; the hold is the one of
    its bar size (refused again after it, the same kind's next hold is the whole ten minutes,
    the other kind's a first one)."""
    pa, client = env
    hmds = FakeHMDS(pa)
    refused: list[int] = []

    def answer(req_id: int, *args: Any) -> None:
        if not refused:
            refused.append(req_id)
            pa.wrapper.error(req_id, 0, 162, PACING_TEXT, "")
        else:
            hmds.answer(req_id, *args)

    client.on_call["reqHistoricalData"] = answer
    pacer = pa.ctx.historical
    df = pa.market_data.get_historical_data("AAPL", "1800 S", bar_size, end=END)
    assert len(refused) == 1 and len(hmds.requests) == 1 and len(df) == 1800 // BAR_SIZES[bar_size]
    assert pacer._clock() - 5000.0 == pytest.approx(15.1)
    assert pacer.wait_counts() == {"ib_hold": 1}

    def kind(size: str) -> HistoricalKey:
        return HistoricalKey(1, "SMART", "TRADES", size, BAR_SIZES[size])

    assert pacer.violated(kind(other_size)) == pytest.approx(15.1)
    assert pacer.violated(kind(bar_size)) == pytest.approx(600.1)


@pytest.mark.parametrize(("args", "field"), [
    (("", "1 X", "7 hours"), "duration"), (("", "1 D", "7 hours"), "bar_size"),
    (("", "1 D", "1 hour", 5), "what_to_show"),
    (("", "1 D", "1 hour", "TRADES", 1), "use_rth"), (("", "1 D", "1 hour", "TRADES", True, 5), "end"),
    (("", "1 D", "1 hour", "TRADES", True, None, 5), "progress"),
    (("", "1 D", "1 hour", "TRADES", True, None, None, "1 S"), "max_chunk"),
    (("", "1 D", "1 hour", "TRADES", True, None, None, None, -1), "timeout"),
    (("", "1 D", "1 hour"), "symbol")])
def test_a_requests_checks_name_its_first_bad_argument(args: tuple[Any, ...], field: str) -> None:
    """``check_request`` (the facade's, also run by the remote adapter for a progress it cannot
    send): the first bad argument in get_historical_data's order, the instrument last."""
    with pytest.raises(ValidationError) as info:
        check_request(*args)
    assert info.value.field == field


QUERY_CANCELLED = "Historical Market Data Service error message:API historical data query cancelled: 1"


@pytest.mark.parametrize("failure, error", [
    ("ib_error", IBError), ("cancelled", HistoricalQueryCancelled), ("dropped", NotConnected),
    ("pacing", PacingViolation), ("silent", RequestTimeout)])
def test_a_fetch_failing_part_way_raises_the_bars_it_had(env: Any, failure: str, error: type[Exception]) -> None:
    """Twelve 4-hour chunks, newest first; the third fails (IB's error, a query IB cancels at
    every size, the link dropping, IB's pacing refusal three times, no answer within the
    timeout). The error carries the two newest chunks' bars as the frame the call returns for
    that range, and where the range fetched starts."""
    pa, client = env
    hmds = FakeHMDS(pa)
    whole = pa.market_data.get_historical_data("AAPL", "2 D", "5 mins", end=END)
    served: list[int] = []

    def answer(req_id: int, *args: Any) -> None:
        if len(served) < 2:
            served.append(req_id)
            hmds.answer(req_id, *args)
        elif failure == "ib_error":
            pa.wrapper.error(req_id, 0, 321, "Error validating request", "")
        elif failure == "cancelled":
            pa.wrapper.error(req_id, 0, 162, QUERY_CANCELLED, "")
        elif failure == "dropped":
            pa.registry.fail_all(NotConnected("link dropped"))
        elif failure == "pacing":
            pa.wrapper.error(req_id, 0, 162, PACING_TEXT, "")

    client.on_call["reqHistoricalData"] = answer
    with pytest.raises(error) as caught:
        pa.market_data.get_historical_data("AAPL", "2 D", "5 mins", end=END, max_chunk="14400 S",
                                           timeout=0.5 if failure == "silent" else None)
    exc = caught.value
    assert isinstance(exc, PartialHistory) and exc.partial is not None
    assert (exc.partial_start, exc.partial_end) == (END - timedelta(hours=8), END)
    assert (exc.chunks_fetched, exc.chunks_total, exc.bars_fetched) == (2, 12, 96)
    pd.testing.assert_frame_equal(exc.partial, whole[whole.index >= exc.partial_start])
    assert "(2 of 12 requests fetched, 96 bars, before it)" in str(exc)


def test_a_single_request_failing_carries_an_empty_partial_frame(env: Any) -> None:
    """Nothing fetched: the frame is empty, in the call's shape, and the range fetched is empty
    (it starts where it ends: the call's end, or the "now" it used)."""
    pa, client = env
    client.on_call["reqHistoricalData"] = lambda req_id, *args: pa.wrapper.error(req_id, 0, 321, "bad", "")
    with pytest.raises(IBError) as caught:
        pa.market_data.get_historical_data("AAPL", "1 D", "5 mins", end=END)
    exc = caught.value
    assert exc.partial is not None and (exc.partial_start, exc.partial_end) == (END, END)
    pd.testing.assert_frame_equal(exc.partial, empty_frame())
    before = datetime.now(UTC).replace(microsecond=0)
    with pytest.raises(IBError) as caught:
        pa.market_data.get_historical_data("AAPL", "1 D", "5 mins")
    exc = caught.value
    assert exc.partial_start == exc.partial_end and exc.partial_end is not None
    assert before <= exc.partial_end <= datetime.now(UTC)


def test_the_newer_half_of_a_cancelled_chunk_is_kept_when_its_older_half_fails(env: Any) -> None:
    """The third chunk is cancelled and fetched as halves, newer first; the older half fails.
    The newer half's bars are kept too: the range kept starts at the failed half's end."""
    pa, client = env
    hmds = FakeHMDS(pa)
    whole = pa.market_data.get_historical_data("AAPL", "2 D", "5 mins", end=END)
    answers = iter(["serve", "serve", "cancel", "serve", "fail"])

    def answer(req_id: int, *args: Any) -> None:
        what = next(answers)
        if what == "serve":
            hmds.answer(req_id, *args)
        else:
            pa.wrapper.error(req_id, 0, *((162, QUERY_CANCELLED) if what == "cancel" else (321, "bad")), "")

    client.on_call["reqHistoricalData"] = answer
    with pytest.raises(IBError) as caught:
        pa.market_data.get_historical_data("AAPL", "2 D", "5 mins", end=END, max_chunk="14400 S")
    exc = caught.value
    assert exc.code == 321 and exc.partial is not None
    assert (exc.partial_start, exc.partial_end) == (END - timedelta(hours=10), END)
    assert (exc.chunks_fetched, exc.chunks_total, exc.bars_fetched) == (2, 12, 96 + 24)
    pd.testing.assert_frame_equal(exc.partial, whole[whole.index >= exc.partial_start])
    assert [r[1:3] for r in hmds.requests[1:]] == [
        ("20260107-21:00:00", "14400 S"), ("20260107-17:00:00", "14400 S"), ("20260107-13:00:00", "7200 S")]
