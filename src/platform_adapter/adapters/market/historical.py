"""Historical bars to pandas: validation, chunking, pacing and the request/response plumbing."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TypeVar

import pandas as pd
from ibapi.const import UNSET_DECIMAL
from ibapi.contract import Contract

from platform_adapter.adapters.base_adapter import AdapterContext
from platform_adapter.adapters.contracts import ContractResolver, to_spec
from platform_adapter.adapters.market.historical_params import (
    BAR_SIZES,
    Chunk,
    Duration,
    check_bar_size,
    check_end,
    check_what_to_show,
    floor_to,
    is_intraday,
    parse_bar_time,
    parse_duration,
    plan_chunks,
    range_start,
)
from platform_adapter.core import ib_codes
from platform_adapter.errors import (
    HistoricalQueryCancelled,
    IBError,
    NotConnected,
    PacingViolation,
    PartialHistory,
    PlatformAdapterError,
    RequestTimeout,
    ValidationError,
)
from platform_adapter.log import logger
from platform_adapter.models.contract import ContractInfo, ContractSpec
from platform_adapter.utils.rate_limiter import HistoricalKey
from platform_adapter.utils.validators import check_callback

COLUMNS = ["open", "high", "low", "close", "volume", "wap", "bar_count"]
FORMAT_DATE_EPOCH = 2
Progress = Callable[[int, int], Any]


def empty_frame() -> pd.DataFrame:
    """An empty bar frame with the usual columns, dtypes and a UTC index named ``time``."""
    index = pd.DatetimeIndex([], tz="UTC", name="time")
    frame = pd.DataFrame({c: pd.Series(dtype="float64") for c in COLUMNS[:-1]}, index=index)
    frame["bar_count"] = pd.Series(dtype="Int64", index=index)
    return frame


def _num(value: Any) -> float:
    """IB's bar numbers as float; UNSET and IB's -1 "not applicable" become NaN."""
    if value is None or value == UNSET_DECIMAL:
        return float("nan")
    out = float(value)
    return float("nan") if out == -1 else out


def bars_to_frame(bars: list[Any], tz_name: str = "") -> pd.DataFrame:
    """ibapi ``BarData`` objects -> the bar frame (sorted, one row per bar time)."""
    if not bars:
        return empty_frame()
    times = [parse_bar_time(str(b.date), tz_name) for b in bars]
    counts = [None if int(b.barCount) < 0 else int(b.barCount) for b in bars]
    frame = pd.DataFrame(
        {
            "open": [float(b.open) for b in bars],
            "high": [float(b.high) for b in bars],
            "low": [float(b.low) for b in bars],
            "close": [float(b.close) for b in bars],
            "volume": [_num(b.volume) for b in bars],
            "wap": [_num(b.wap) for b in bars],
            "bar_count": pd.array(counts, dtype="Int64"),
        },
        index=pd.DatetimeIndex(times, name="time").tz_convert("UTC"),
    )
    frame = frame[~frame.index.duplicated(keep="last")]
    return frame.sort_index()


def join_frames(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The chunks' frames (newest first) as one frame: sorted, each bar time once (a bar two
    chunks both returned: the newer chunk's)."""
    if not frames:
        return empty_frame()
    out = pd.concat(frames[::-1]) if len(frames) > 1 else frames[0]
    return out[~out.index.duplicated(keep="last")].sort_index()


E = TypeVar("E", bound=PlatformAdapterError)


def with_partial(exc: E, partial: pd.DataFrame, start: datetime, end: datetime, fetched: int, total: int) -> E:
    """A copy of ``exc`` (same class and attributes; ``exc`` itself may be shared by other
    waiters) carrying the bars a history fetch had when it failed (:class:`PartialHistory`), its
    message saying how far it got."""
    new = type(exc).__new__(type(exc))
    new.__dict__.update(vars(exc))
    new.args = (f"{exc} ({fetched} of {total} requests fetched, {len(partial)} bars, before it)",)
    if isinstance(new, PartialHistory):
        new.partial, new.partial_start, new.partial_end = partial, start, end
        new.chunks_fetched, new.chunks_total, new.bars_fetched = fetched, total, len(partial)
    return new


QUERY_SPLITS = 2  # a cancelled query is retried as halves, then quarters; then the error is raised
PACING_RETRIES = 2  # a request IB refuses for pacing is sent again after each of two holds; then it raises


@dataclass(slots=True)
class _Fetched:
    """One chunk's progress: the bars of its requests answered so far (a cancelled query's
    parts, newest first) and the request being sent, whose end is where the bars kept begin."""

    rows: list[Any] = field(default_factory=list)
    trying: Chunk | None = None


@dataclass(frozen=True, slots=True)
class HistoryRequest:
    """``get_historical_data``'s arguments, checked."""

    duration: Duration
    bar: str
    what_to_show: str
    end: datetime | None
    max_chunk: Duration | None
    timeout: float | None
    spec: ContractSpec


def check_request(symbol: Any, duration: Any, bar_size: Any, what_to_show: Any = "TRADES", use_rth: Any = True,
                  end: Any = None, progress: Any = None, max_chunk: Any = None, timeout: Any = None) -> HistoryRequest:
    """``get_historical_data``'s checks of its arguments, in its order (the instrument last); a
    ValidationError names the first bad one. ``timeout`` None or at least ``TIMEOUT_MAX``: no bound."""
    dur = parse_duration(duration)
    bar = check_bar_size(bar_size)
    wts = check_what_to_show(what_to_show)
    if not isinstance(use_rth, bool):
        raise ValidationError("use_rth", use_rth, "must be True or False")
    end_utc = check_end(end)
    if wts == "ADJUSTED_LAST" and end_utc is not None:
        raise ValidationError("end", end, "IB does not accept an end time with ADJUSTED_LAST")
    chunk_cap = None if max_chunk is None else parse_duration(max_chunk, "max_chunk")
    if chunk_cap is not None and chunk_cap.seconds < BAR_SIZES[bar]:
        raise ValidationError("max_chunk", max_chunk, f"must cover at least one {bar} bar")
    check_callback(progress, "progress", optional=True)
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:  # NaN too
            raise ValidationError("timeout", timeout, "must be a positive number of seconds or None")
        timeout = None if timeout >= threading.TIMEOUT_MAX else float(timeout)  # longer: no bound
    spec = to_spec(symbol)
    return HistoryRequest(dur, bar, wts, end_utc, chunk_cap, timeout, spec)


class HistoricalFetcher:
    """``get_historical_data`` for the MarketDataAdapter (same context, own pending requests; their
answers reach the registry through the adapter's market-data handler)."""

    def __init__(self, ctx: AdapterContext, request: Callable[..., list[Any]]) -> None:
        self.ctx = ctx
        self._request = request

    def fetch(self, symbol: Any, duration: Any, bar_size: Any, what_to_show: Any = "TRADES",
              use_rth: Any = True, end: Any = None, *, progress: Progress | None = None,
              max_chunk: Any = None, timeout: float | None = None) -> pd.DataFrame:
        req = check_request(symbol, duration, bar_size, what_to_show, use_rth, end, progress, max_chunk, timeout)
        dur, bar, wts, end_utc, chunk_cap, timeout, spec = (req.duration, req.bar, req.what_to_show, req.end,
                                                            req.max_chunk, req.timeout, req.spec)
        resolver = self.ctx.contracts
        assert resolver is not None
        info = resolver.resolve(spec)
        now = datetime.now(timezone.utc)
        chunks = plan_chunks(dur, bar, end_utc, now=now, max_chunk=chunk_cap)
        if len(chunks) > 1:
            logger.info("history {} {} of {} bars: {} requests (IB allows at most {} per request)",
                        spec.key, dur.ib_text, bar, len(chunks), chunks[0].duration)
        deadline = None if timeout is None else time.monotonic() + timeout
        frames: list[pd.DataFrame] = []
        got = _Fetched()
        for i, chunk in enumerate(chunks, 1):
            got.rows = []
            try:
                self._chunk(info, chunk, bar, wts, use_rth, deadline, now, got)
            except (NotConnected, RequestTimeout, PacingViolation, IBError) as exc:
                if got.rows:  # the newer parts of a chunk IB cancelled and the adapter split
                    frames.append(bars_to_frame(got.rows, info.time_zone_id))
                stop = now.replace(microsecond=0)
                start = got.trying.end if got.trying is not None and got.trying.end is not None else stop
                raise with_partial(exc, join_frames(frames), start, chunks[0].end or stop, i - 1,
                                   len(chunks)) from exc
            if got.rows:
                frames.append(bars_to_frame(got.rows, info.time_zone_id))
            if progress is not None:
                progress(i, len(chunks))
        out = join_frames(frames)
        if len(chunks) > 1 and is_intraday(bar) and not out.empty:
            first = floor_to(range_start(dur, (end_utc or now).replace(microsecond=0)), BAR_SIZES[bar])
            out = out[out.index >= first]
        return out

    def _chunk(self, info: ContractInfo, chunk: Chunk, bar: str, wts: str, use_rth: bool,
               deadline: float | None, now: datetime, got: _Fetched, splits: int = QUERY_SPLITS) -> None:
        """One chunk's bars, added to ``got``. A query IB cancels (162 "query cancelled", typically
        too large for its service) is fetched again as two halves, newer first, each split again
        if cancelled (``splits`` deep)."""
        got.trying = chunk
        try:
            got.rows.extend(self._paced(info, chunk, bar, wts, use_rth, deadline))
        except HistoricalQueryCancelled as exc:
            duration = parse_duration(chunk.duration)
            half = duration.seconds // 2
            if splits <= 0 or half < BAR_SIZES[bar] or wts == "ADJUSTED_LAST":  # no end time for that
                raise
            parts = plan_chunks(duration, bar, chunk.end, now=now, max_chunk=Duration(half, "S"))
            logger.warning("history {}: IB cancelled the {} query ending {} ({}); fetching it as {} requests",
                           info.spec.key, chunk.duration, chunk.end_text or "now", exc.message, len(parts))
            for part in parts:
                self._chunk(info, part, bar, wts, use_rth, deadline, now, got, splits - 1)

    def _paced(self, info: ContractInfo, chunk: Chunk, bar: str, wts: str, use_rth: bool,
               deadline: float | None) -> list[Any]:
        """One request, sent again when IB refuses it for pacing (162): another client on the
        account, TWS or a restart spent IB's count unknown to the pacer (for bars of 1 minute or
        more, IB's soft limit). The pacer holds the history requests that may meet the same count
        until the rules have cleared (:meth:`HistoricalPacer.violated`), within ``deadline``
        (past it the pacer raises); a violation after ``PACING_RETRIES`` holds is raised. A
        single request is retried as a chunk is: the caller would otherwise send it again at
        once, into the same count."""
        contract = ContractResolver.ib_contract(info)
        key = HistoricalKey(contract=info.con_id, exchange=contract.exchange, what_to_show=wts,
                            identity=(info.con_id, chunk.end_text, bar, chunk.duration, wts, use_rth),
                            bar_seconds=BAR_SIZES[bar])
        refused: list[PacingViolation] = []
        while True:
            try:
                return self._one(info, contract, key, chunk, bar, wts, use_rth, deadline)
            except PacingViolation as exc:
                if exc.code not in ib_codes.HISTORICAL_SERVICE:  # our own pacer's: the hold passes the deadline
                    if not refused:
                        raise
                    raise PacingViolation(f"{refused[-1]}; {exc}", refused[-1].code) from exc
                refused.append(exc)
                if len(refused) > PACING_RETRIES:
                    raise PacingViolation(f"{exc}, again after {PACING_RETRIES} waits", exc.code) from exc
                hold = self.ctx.historical.violated(key)
                self.ctx.metrics.incr("md_historical_pacing_violations")
                logger.warning("history {}: IB refused the {} request of {} bars ending {} for pacing; {} wait "
                               "{:.1f}s, then it is sent again", info.spec.key, chunk.duration, bar,
                               chunk.end_text or "now",
                               "small-bar history requests" if key.small else "all history requests", hold)

    def _one(self, info: ContractInfo, contract: Contract, key: HistoricalKey, chunk: Chunk, bar: str, wts: str,
             use_rth: bool, deadline: float | None) -> list[Any]:
        """One paced reqHistoricalData; "no data" answers with ``[]`` (see ConnectionManager)."""
        end_text = chunk.end_text
        pacer = self.ctx.historical
        remaining = None if deadline is None else max(0.001, deadline - time.monotonic())
        pacer.acquire(key, remaining)
        try:
            wait = self.ctx.settings.market_data.historical_timeout_seconds
            if deadline is not None:
                wait = max(0.001, min(wait, deadline - time.monotonic()))
            sent: list[int] = []

            def send(client: Any, req_id: int) -> None:
                sent.append(req_id)
                client.reqHistoricalData(req_id, contract, end_text, chunk.duration, bar, wts, int(use_rth),
                                         FORMAT_DATE_EPOCH, False, [])

            self.ctx.metrics.incr("md_historical_requests")
            try:
                return self._request("historical", send, wait, symbol=info.spec.key)
            except RequestTimeout:
                self._cancel(sent)
                raise
        finally:
            pacer.release()

    def _cancel(self, req_ids: list[int]) -> None:
        for req_id in req_ids:
            self.ctx.registry.discard(req_id)
            try:
                self.ctx.connection.require_connected().cancelHistoricalData(req_id)
            except Exception:  # noqa: BLE001 - best effort on a timed-out request
                logger.debug("cancelHistoricalData({}) not sent", req_id)
