"""Historical requests beyond bars: ticks, histograms, trading schedules and the cancels of
one-shot historical requests (answered already, so nothing is left to stop)."""

from __future__ import annotations

import datetime as dt

from . import info_messages as im
from . import info_requests as iq
from .contracts import ContractSpec
from .history import BAR_SIZES, HistoryError, parse_duration, parse_end
from .schedule import EARLIEST, back_from, sessions
from .service import Service
from .tick_history import bid_ask_ticks, histogram, midpoint_ticks, tick_times, trade_ticks
from .wire import Message

TEXT_SCHEDULE_DAILY = "Only daily resolution supported for Schedule requests"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class HistoricalExtras(Service):
    """reqHistoricalTicks, reqHistogramData, whatToShow SCHEDULE and the historical cancels."""

    def h_reqHistoricalTicks(self, q: iq.ReqHistoricalTicks) -> None:
        spec = self.spec(q.contract, q.req_id)
        if spec is None:
            return
        try:
            now = _now()
            start = parse_end(q.start_date_time, now) if q.start_date_time.strip() else None
            end = parse_end(q.end_date_time, now) if q.end_date_time.strip() else None
            times = tick_times(spec, start, end, q.number_of_ticks, q.what_to_show, q.use_rth, now)
        except HistoryError as e:
            self.error(q.req_id, e.code, e.text)
            return
        seed = self.gw.seed
        msg: Message
        if q.what_to_show == "MIDPOINT":
            msg = im.historical_ticks(q.req_id, midpoint_ticks(spec, seed, times), True)
        elif q.what_to_show == "BID_ASK":
            msg = im.historical_ticks_bid_ask(q.req_id, bid_ask_ticks(spec, seed, times), True)
        else:
            msg = im.historical_ticks_last(q.req_id, trade_ticks(spec, seed, times), True)
        self.send(msg)

    def h_reqHistogramData(self, q: iq.ReqHistogramData) -> None:
        spec = self.spec(q.contract, q.req_id)
        if spec is None:
            return
        try:
            points = histogram(spec, self.gw.seed, q.time_period, q.use_rth, _now())
        except HistoryError as e:
            self.error(q.req_id, e.code, e.text)
            return
        self.send(im.histogram_data(q.req_id, points))

    def schedule(self, req_id: int, spec: ContractSpec, end_text: str, duration: str, bar_size: str,
                 use_rth: bool) -> None:
        """The answer to reqHistoricalData with whatToShow SCHEDULE: the sessions in the period."""
        try:
            if BAR_SIZES.get(bar_size, 0) < BAR_SIZES["1 day"]:
                raise HistoryError(10295, TEXT_SCHEDULE_DAILY)
            end = max(parse_end(end_text, _now()), EARLIEST)
            start = back_from(end, parse_duration(duration))
        except HistoryError as e:
            self.error(req_id, e.code, e.text)
            return
        found = [s.as_session() for s in sessions(spec, start, end, use_rth)]
        first, last = (found[0].start, found[-1].end) if found else ("", "")
        self.send(im.historical_schedule(req_id, first, last, spec.time_zone, found))

    def h_cancelHistoricalTicks(self, q: iq.CancelHistoricalTicks) -> None:
        """Historical ticks are answered in one message: nothing to stop."""

    def h_cancelHistogramData(self, q: iq.CancelHistogramData) -> None:
        """A histogram is answered in one message: nothing to stop."""

    def h_cancelHeadTimeStamp(self, q: iq.CancelHeadTimeStamp) -> None:
        """A head timestamp is answered at once: nothing to stop."""
