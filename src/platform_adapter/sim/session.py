"""One client connection: handshake, startApi and the request handlers."""

from __future__ import annotations

import datetime as dt
import logging
import math
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NoReturn
from zoneinfo import ZoneInfo

from ibapi.server_versions import MIN_SERVER_VER_HISTORICAL_SCHEDULE

from platform_adapter.core.ib_pacing import is_small_bar
from platform_adapter.core.tick_types import DELAYED_TWIN

from . import info_messages as im
from . import messages as m
from . import requests as rq
from .account_service import AccountRequests
from .admin import Administration
from .contracts import NO_SECDEF_TEXT, ContractQuery, ContractSpec
from .depth import MarketDepth, bbo_exchange
from .engine import EXEC_TZ
from .faults import Wedge, system_text
from .history import BAR_SIZES, TEXT_BAD_WHAT_TO_SHOW, HistoryError, HistRequest, bars, no_data_text
from .history_service import HistoricalExtras
from .inbound import MSG_NAMES, split_frame
from .market import (
    ASK,
    ASK_GREEKS,
    BID,
    BID_GREEKS,
    CLOSE,
    HIGH,
    LAST,
    LAST_GREEKS,
    LAST_TIMESTAMP,
    LOW,
    MODEL_GREEKS,
    OPEN,
    VOLUME,
)
from .news import News
from .option_calcs import OptionCalculations
from .orders import SimOrder
from .pacing import TEXT_100, TEXT_101, TEXT_162_PACING, TEXT_420_PACING, ClientPacer
from .protocol import FrameReader
from .refdata import ReferenceData
from .scanner import Scanner
from .trading_hours import parse_ib_time
from .versions import connect_options, negotiate
from .wire import Message, Outgoing

if TYPE_CHECKING:
    from .server import SimulatedGateway

log = logging.getLogger("platform_adapter.sim")

TBT_KINDS = {"Last": 1, "AllLast": 2, "BidAsk": 3, "MidPoint": 4}
FROZEN_SERVES = {2: 1, 4: 3}  # requested frozen type -> type served while the market is open
DUP_CLIENT_TEXT = ("Unable to connect as the client id is already in use. "
                   "Retry with a unique client id.")
PACE_API = "+PACEAPI"
# a cancel of market data or tick-by-tick data for an id without a subscription (a real gateway's text)
TEXT_300 = "Can't find EId with tickerId:{}"
# a request whose handler failed: IB's code for a request it read but could not process (simulator text)
TEXT_322 = "Error processing request:-'bW' : cause - the simulated gateway could not serve {name}"
# a request frame the gateway cannot read: error 320 to id -1, and the session goes on (a 10.37
# gateway's text for a field that is not a number, wboayue/rust-ibapi#259; the older form for
# the rest, as TWS 963 wrote it in erdewit/ib_insync#12 and blampe/IbPy#48)
TEXT_320_FIELD = "Error reading request. Unable to parse field: '{field}' for input string: '{value}'"
TEXT_320 = "Error reading request:Message type {msg_id}.  Unable to parse data. {detail}"
SNAPSHOT_PERMISSIONS = 3  # tickReqParams: snapshots allowed (the value IB sends a paper account)


def _size(quantity: Decimal) -> float:
    """An order's quantity as the engine holds it: a signalling NaN (which ``float`` refuses) is a
    NaN, refused with the other quantities that are not finite numbers."""
    return math.nan if quantity.is_snan() else float(quantity)


@dataclass
class RtBar:
    """Real-time bar accumulator."""

    con_id: int
    next_emit: float
    bar_time: int
    prices: list[float] = field(default_factory=list)
    volume: float = 0.0


@dataclass
class Subs:
    """Everything a client is subscribed to."""

    mkt: dict[int, int] = field(default_factory=dict)  # reqId -> conId
    tbt: dict[int, tuple[int, int]] = field(default_factory=dict)  # reqId -> (conId, kind)
    rtb: dict[int, RtBar] = field(default_factory=dict)
    hist_live: dict[int, tuple[ContractSpec, int]] = field(default_factory=dict)
    pnl: dict[int, str] = field(default_factory=dict)  # reqId -> account
    pnl_single: dict[int, tuple[str, int]] = field(default_factory=dict)  # reqId -> (account, conId)
    # reqId -> (tags, "account:tag:currency" -> value last sent): a refresh re-sends only what changed
    acct_summary: dict[int, tuple[list[str], dict[str, str]]] = field(default_factory=dict)
    acct_updates: str = ""  # the account whose updates stream ("" = none)
    positions: bool = False
    auto_open: bool = False


class Session(threading.Thread):
    """Serves one TCP client."""

    def __init__(self, gw: SimulatedGateway, sock: socket.socket, addr: tuple[str, int]) -> None:
        super().__init__(name=f"sim-session-{addr[1]}", daemon=True)
        self.gw = gw
        self.sock = sock
        self.addr = addr
        self.sv = gw.server_version
        self.client_id: int | None = None
        self.md_type = 1
        self.subs = Subs()
        self.pacer = ClientPacer(gw.pacing)
        self.paced = False  # connected with +PACEAPI: requests wait their turn instead of error 100
        self._send_lock = threading.Lock()
        self.closed = threading.Event()
        self.ready = threading.Event()
        # the request handlers of the other domains, by request name like the session's own
        self.depth = MarketDepth(self)
        self.history = HistoricalExtras(self)
        self.admin = Administration(self)
        services = (self, self.depth, self.history, self.admin, AccountRequests(self), ReferenceData(self),
                    News(self), Scanner(self), OptionCalculations(self))
        self.handlers: dict[str, Callable[[Any], None]] = {
            name[2:]: getattr(service, name) for service in services for name in dir(type(service))
            if name.startswith("h_")}

    # --- sending -------------------------------------------------------------------
    def send(self, *msgs: Outgoing) -> None:
        """Encode messages for this session's server version and send them (one sendall)."""
        sv = self.sv
        self.send_raw(b"".join(x.encode(sv) for x in msgs))

    def send_raw(self, data: bytes) -> None:
        """Send pre-encoded frames; closes the session on socket errors."""
        if self.closed.is_set():
            return
        try:
            with self._send_lock:
                self.sock.sendall(data)
        except OSError:
            self.close()

    def error(self, req_id: int, code: int, text: str) -> None:
        """Send an error / notice message."""
        self.send(m.error(self.sv, req_id, code, text, "", int(time.time() * 1000)))

    def close(self) -> None:
        """Close the socket and unregister."""
        if self.closed.is_set():
            return
        self.closed.set()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.gw._unregister(self)

    # --- main loop -------------------------------------------------------------------
    def run(self) -> None:
        reader = FrameReader(self.sock)
        try:
            if not self._handshake(reader):
                return
            while not self.closed.is_set():
                payload = reader.read_frame()
                self.gw.faults.wait_running()
                if self.closed.is_set():
                    break
                self._dispatch(payload)
        except (ConnectionError, OSError):
            pass
        except Exception:  # noqa: BLE001 - a session must never kill the gateway
            log.exception("session %s crashed", self.client_id)
        finally:
            self.close()

    def _handshake(self, reader: FrameReader) -> bool:
        if reader.read_exact(4) != b"API\0":
            return False
        offer = reader.read_frame().decode("ascii", "replace")
        sv = negotiate(offer, self.gw.server_version)
        if sv is None:
            return False
        self.sv = sv
        self.paced = PACE_API in connect_options(offer)
        faults = self.gw.faults
        if faults.wedge is Wedge.HANDSHAKE:
            self._hang(reader)
        faults.wait_running()  # a frozen gateway does not answer the handshake either
        now = dt.datetime.now(dt.timezone.utc)
        self.send(m.server_hello(self.sv, now.strftime("%Y%m%d %H:%M:%S ") + self.gw.conn_time_tz))
        while True:
            name, request = self._receive(reader.read_frame())
            if isinstance(request, rq.StartApi):
                break
            log.info("message before startApi ignored: %s", name)
        cid = request.client_id
        if faults.wedge is Wedge.START_API:
            self._hang(reader)
        faults.wait_running()
        if not self.gw._register(self, cid):
            self.send(m.error(self.sv, -1, 326, DUP_CLIENT_TEXT, "", int(time.time() * 1000)))
            time.sleep(0.05)
            return False
        self.send(m.managed_accounts(self.gw.managed_accounts), m.next_valid_id(self.gw.next_order_id()))
        self.send(*[m.error(self.sv, -1, c, system_text(c), "", int(time.time() * 1000))
                    for c in (2104, 2107, 2158)])
        if self.gw.faults.reset.open:  # connected while IB resets: the link to IB is down
            self.error(-1, 1100, system_text(1100))
        self.ready.set()
        return True

    @staticmethod
    def _hang(reader: FrameReader) -> NoReturn:
        """A wedged gateway: read and ignore everything until the client closes the socket."""
        while True:
            reader.read_frame()

    def _receive(self, payload: bytes, answer: bool = False) -> tuple[str, rq.Request | None]:
        """Count one frame by request name and read it; None for a frame that is malformed, not
        readable at the negotiated version or of a message the simulator does not know (each
        logged, never fatal; with ``answer`` the client hears error 320, as from IB)."""
        try:
            inbound = split_frame(payload, self.sv)
        except rq.ParseError as e:
            self.gw.count_message("malformed")
            log.warning("client %s: malformed frame of %d bytes: %s", self.client_id, len(payload), e)
            if answer:
                self.error(-1, 320, TEXT_320.format(msg_id=-1, detail=e))
            return "malformed", None
        self.gw.count_message(inbound.name)
        try:
            request = inbound.parse(self.sv)
        except rq.ParseError as e:
            log.warning("client %s: %s request %s (id %d) not read at server version %d: %s",
                        self.client_id, inbound.form, inbound.name, inbound.msg_id, self.sv, e)
            if answer:
                self.error(-1, 320, self._text_320(inbound.msg_id, e))
            return inbound.name, None
        if request is None:
            log.info("client %s: unhandled %s message %d", self.client_id, inbound.form,
                     inbound.msg_id)
            if answer:
                known = inbound.msg_id in MSG_NAMES  # a request ibapi sends only in the other form
                detail = f"{inbound.name} is not read as {inbound.form}." if known else "Unknown message id."
                self.error(-1, 320, TEXT_320.format(msg_id=inbound.msg_id, detail=detail))
        return inbound.name, request

    @staticmethod
    def _text_320(msg_id: int, e: rq.ParseError) -> str:
        if e.value is not None and e.field is not None:
            return TEXT_320_FIELD.format(field=e.field, value=e.value)
        return TEXT_320.format(msg_id=msg_id, detail=e)

    def _dispatch(self, payload: bytes) -> None:
        gw = self.gw
        name, request = self._receive(payload, answer=True)
        rate = None
        if self.paced:  # the request waits its turn (the client's later ones queue behind it)
            delay = self.pacer.pace(time.monotonic())
            if delay and self.closed.wait(delay):
                return
        else:
            rate = self.pacer.on_message(time.monotonic())
        if rate is not None:
            gw.record_violation(self.client_id or 0, "msg_rate")
            self.error(-1, 100, TEXT_100.format(max=gw.pacing.max_msgs_per_sec, rec=rate))
            if self.pacer.must_disconnect:
                log.warning("client %s disconnected for pacing", self.client_id)
                self.close()
                return
        if request is None:
            return
        handler = self.handlers.get(name)
        if handler is None:
            log.info("client %s: %s is not served", self.client_id, name)
            gw.count_unserved(name)
            return
        req_id = rq.req_id_of(request)
        injected = gw.faults.take_request_error(name) if req_id is not None else None
        if injected is not None and req_id is not None:
            self.error(req_id, *injected)
            return
        with gw.lock:
            try:
                handler(request)
            except Exception:  # noqa: BLE001 - a request it cannot serve must not end the session
                log.exception("client %s: %s failed", self.client_id, name)
                self.error(-1 if req_id is None else req_id, 322, TEXT_322.format(name=name))

    # --- simple requests --------------------------------------------------------------
    def h_startApi(self, q: rq.StartApi) -> None:
        log.info("duplicate startApi ignored")

    def h_reqIds(self, q: rq.ReqIds) -> None:
        self.send(m.next_valid_id(self.gw.next_order_id()))

    def h_reqCurrentTime(self, q: rq.ReqCurrentTime) -> None:
        self.send(m.current_time(int(time.time())))

    def h_reqCurrentTimeInMillis(self, q: rq.ReqCurrentTimeInMillis) -> None:
        self.send(m.current_time_in_millis(int(time.time() * 1000)))

    def h_reqManagedAccts(self, q: rq.ReqManagedAccts) -> None:
        self.send(m.managed_accounts(self.gw.managed_accounts))

    def h_reqMarketDataType(self, q: rq.ReqMarketDataType) -> None:
        self.md_type = q.market_data_type
        self.send(*[m.market_data_type(r, self.served_type) for r in self.subs.mkt])

    @property
    def served_type(self) -> int:
        """The market data type IB reports for what it serves: frozen data (2, 4) is only served
        while a market is closed, and the simulated market never closes, so frozen requests get
        live (1) and delayed-frozen ones delayed (3) data."""
        return FROZEN_SERVES.get(self.md_type, self.md_type)

    def h_reqContractDetails(self, q: rq.ReqContractDetails) -> None:
        req_id = q.req_id
        found = self.gw.universe.resolve(q.contract)
        if not found:
            self.error(req_id, 200, NO_SECDEF_TEXT)
            return
        self.send(*[m.contract_data(self.sv, req_id, c) for c in found], m.contract_data_end(req_id))

    def _spec(self, q: ContractQuery, req_id: int) -> ContractSpec | None:
        spec = self.gw.universe.resolve_one(q)
        if spec is None:
            self.error(req_id, 200, NO_SECDEF_TEXT)
        return spec

    # --- market data ------------------------------------------------------------------
    def _tid(self, t: int) -> int:
        return DELAYED_TWIN.get(t, t) if self.served_type == 3 else t

    def quote_msgs(self, req_id: int, con_id: int, full: bool) -> list[Message]:
        """Tick messages for one subscription (full = initial snapshot); an option's line also
        carries its bid, ask, model and (when it traded) last greeks."""
        market = self.gw.market
        q = market.quote(con_id)
        t = self._tid
        out = [m.tick_price(req_id, t(BID), q.bid, q.bid_size),
               m.tick_price(req_id, t(ASK), q.ask, q.ask_size)]
        traded = full or q.traded
        if traded:
            out.append(m.tick_price(req_id, t(LAST), q.last, q.last_size))
            out.append(m.tick_size(req_id, t(VOLUME), q.volume))
            out.append(m.tick_string(req_id, t(LAST_TIMESTAMP), str(q.last_time)))
        if full:
            out += [m.tick_price(req_id, t(HIGH), q.high, 0), m.tick_price(req_id, t(LOW), q.low, 0),
                    m.tick_price(req_id, t(CLOSE), q.close, 0), m.tick_price(req_id, t(OPEN), q.open, 0)]
        if market.specs[con_id].is_option:
            kinds = (BID_GREEKS, ASK_GREEKS, LAST_GREEKS, MODEL_GREEKS) if traded else (BID_GREEKS, ASK_GREEKS,
                                                                                      MODEL_GREEKS)
            out += [im.tick_option_computation(req_id, t(k), 0, market.option_greeks(con_id, k)) for k in kinds]
        return out

    def _lines_ok(self, req_id: int) -> bool:
        if self.gw.pacing.enabled and self.gw.lines_in_use() >= self.gw.pacing.max_market_data_lines:
            self.gw.record_violation(self.client_id or 0, "mkt_data_lines")
            self.error(req_id, 101, TEXT_101)
            return False
        return True

    def h_reqMktData(self, q: rq.ReqMktData) -> None:
        req_id = q.req_id
        spec = self._spec(q.contract, req_id)
        if spec is None:
            return
        snapshot = q.snapshot
        if not snapshot and req_id in self.subs.mkt:
            self.error(req_id, 322, "Error processing request:-'bW' : cause - Duplicate ticker id")
            return
        if not snapshot and not self._lines_ok(req_id):
            return
        params = [im.tick_req_params(req_id, spec.min_tick_text, bbo_exchange(spec), SNAPSHOT_PERMISSIONS)
                  ] if self.sv >= im.SV_TICK_REQ_PARAMS else []
        self.send(m.market_data_type(req_id, self.served_type), *params, *self.quote_msgs(req_id, spec.con_id, True))
        if snapshot:
            self.send(m.tick_snapshot_end(req_id))
            return
        self.subs.mkt[req_id] = spec.con_id
        n = self.gw.burst_size if spec.symbol == "BURST" else self.gw.burst_on_subscribe
        if n:
            self.gw.burst(req_id, n, self.client_id)

    def h_cancelMktData(self, q: rq.CancelMktData) -> None:
        if self.subs.mkt.pop(q.req_id, None) is None:  # never requested, a snapshot, cancelled
            self.error(q.req_id, 300, TEXT_300.format(q.req_id))

    def h_reqTickByTickData(self, q: rq.ReqTickByTickData) -> None:
        req_id = q.req_id
        spec = self._spec(q.contract, req_id)
        if spec is None or not self._lines_ok(req_id):
            return
        kind = TBT_KINDS.get(q.tick_type, 0)
        if not kind:
            self.error(req_id, 321, "Error validating request.-'bY' : cause - Invalid tick type")
            return
        self.subs.tbt[req_id] = (spec.con_id, kind)
        msg = self.tbt_msg(req_id, spec.con_id, kind, True)
        if msg:
            self.send(msg)

    def tbt_msg(self, req_id: int, con_id: int, kind: int, force: bool) -> Message | None:
        """Tick-by-tick message for the current quote."""
        q = self.gw.market.quote(con_id)
        now = int(time.time())
        if kind in (1, 2):
            if not (q.traded or force):
                return None
            ex = self.gw.market.specs[con_id].primary_exchange or "IDEALPRO"
            return m.tick_by_tick_last(req_id, kind, q.last_time, q.last, q.last_size, 0, ex, "")
        if kind == 3:
            return m.tick_by_tick_bid_ask(req_id, now, q.bid, q.ask, q.bid_size, q.ask_size)
        return m.tick_by_tick_mid(req_id, now, round(q.mid, 10))

    def h_cancelTickByTickData(self, q: rq.CancelTickByTickData) -> None:
        if self.subs.tbt.pop(q.req_id, None) is None:
            self.error(q.req_id, 300, TEXT_300.format(q.req_id))

    def h_reqRealTimeBars(self, q: rq.ReqRealTimeBars) -> None:
        req_id = q.req_id
        spec = self._spec(q.contract, req_id)
        if spec is None:
            return
        rule = self.gw.hist_pacer.check_new_stream()
        if rule:
            self.gw.record_violation(self.client_id or 0, rule)
            self.error(req_id, 420, TEXT_420_PACING)
            return
        now = time.time()
        self.subs.rtb[req_id] = RtBar(spec.con_id, time.monotonic() + self.gw.rt_bar_interval,
                                      int(now // 5 * 5))

    def h_cancelRealTimeBars(self, q: rq.CancelRealTimeBars) -> None:
        self.subs.rtb.pop(q.req_id, None)

    def h_reqHistoricalData(self, q: rq.ReqHistoricalData) -> None:
        req_id = q.req_id
        spec = self._spec(q.contract, req_id)
        if spec is None:
            return
        req = HistRequest(end=q.end_date_time, bar_size=q.bar_size, duration=q.duration,
                          use_rth=q.use_rth, what_to_show=q.what_to_show,
                          format_date=q.format_date, keep_up_to_date=q.keep_up_to_date)
        key = "|".join([str(spec.con_id), req.end, req.bar_size, req.duration, req.what_to_show,
                        str(req.use_rth)])
        # IB's pacing rules are for bars of 30 seconds or less (an unknown size too: its 321 comes
        # after this check); BID_ASK counts twice
        small = is_small_bar(BAR_SIZES.get(req.bar_size, 0))
        rule = self.gw.hist_pacer.check(key, f"{spec.con_id}|{q.contract.exchange}|{req.what_to_show}",
                                        weight=2 if req.what_to_show == "BID_ASK" else 1) if small else None
        if rule:
            self.gw.record_violation(self.client_id or 0, rule)
            self.error(req_id, 162, TEXT_162_PACING)
            return
        if req.what_to_show == "SCHEDULE":  # a schedule, from the version that has one
            if self.sv < MIN_SERVER_VER_HISTORICAL_SCHEDULE:
                self.error(req_id, 321, TEXT_BAD_WHAT_TO_SHOW.format(what=req.what_to_show))
            else:
                self.history.schedule(req_id, spec, req.end, req.duration, req.bar_size, req.use_rth)
            return
        try:
            quote = self.gw.market.quote(spec.con_id)  # history ends at the live price
            anchor = quote.last if req.what_to_show in ("TRADES", "ADJUSTED_LAST") else quote.mid
            rows, start, end = bars(spec, self.gw.seed, req, dt.datetime.now(dt.timezone.utc), anchor=anchor)
        except HistoryError as e:
            self.error(req_id, e.code, e.text)
            return
        if not rows and not req.keep_up_to_date:  # IB answers an empty window with error 162
            self.error(req_id, 162, no_data_text(spec, q.contract.exchange, req.what_to_show))
            return
        msgs = [m.historical_data(self.sv, req_id, start, end, rows)]
        if self.sv >= m.SV_HISTORICAL_DATA_END:
            msgs.append(m.historical_data_end(req_id, start, end))
        self.send(*msgs)
        if req.keep_up_to_date:
            self.subs.hist_live[req_id] = (spec, BAR_SIZES[req.bar_size])

    def h_cancelHistoricalData(self, q: rq.CancelHistoricalData) -> None:
        self.subs.hist_live.pop(q.req_id, None)

    def h_reqHeadTimeStamp(self, q: rq.ReqHeadTimeStamp) -> None:
        req_id = q.req_id
        if self._spec(q.contract, req_id) is not None:
            self.send(m.head_timestamp(req_id, "20040102 14:30:00"))

    # --- orders -------------------------------------------------------------------
    def h_placeOrder(self, q: rq.PlaceOrder) -> None:
        order_id = q.order_id
        spec = self._spec(q.contract, order_id)
        if spec is None:
            return
        o = SimOrder(order_id=order_id, client_id=self.client_id or 0, perm_id=0,
                     con_id=spec.con_id, action=q.action.upper(), total_qty=_size(q.total_quantity),
                     order_type=q.order_type.upper(), lmt_price=q.lmt_price or None,
                     aux_price=q.aux_price or None, tif=(q.tif or "DAY").upper(),
                     account=q.account, order_ref=q.order_ref, outside_rth=q.outside_rth,
                     parent_id=q.parent_id, oca_group=q.oca_group, oca_type=q.oca_type,
                     good_till_date=q.good_till_date, trailing_percent=q.trailing_percent,
                     trail_stop_price=q.trail_stop_price, lmt_price_offset=q.lmt_price_offset,
                     conditions=q.conditions, conditions_ignore_rth=q.conditions_ignore_rth,
                     conditions_cancel_order=q.conditions_cancel_order, what_if=q.what_if,
                     transmit=q.transmit)
        drop = self.gw.faults.take_drop_on_place()
        self.gw.place_order(o, silent=drop is not None and not drop.after_ack)
        if drop is not None:
            log.warning("fault: dropping client %s after placeOrder %d", self.client_id, order_id)
            self.close()

    def h_cancelOrder(self, q: rq.CancelOrder) -> None:
        self.gw.apply_events(self.gw.engine.cancel(self.client_id or 0, q.order_id))

    def h_reqGlobalCancel(self, q: rq.ReqGlobalCancel) -> None:
        self.gw.apply_events(self.gw.engine.global_cancel())

    def _send_open(self, orders: list[SimOrder]) -> None:
        msgs: list[Message] = []
        for o in orders:
            spec = self.gw.market.specs[o.con_id]
            msgs += [m.open_order(self.sv, o, spec), m.order_status(o)]
        self.send(*msgs, m.open_order_end())

    def h_reqOpenOrders(self, q: rq.ReqOpenOrders) -> None:
        self._send_open(self.gw.engine.open_orders(self.client_id))

    def h_reqAllOpenOrders(self, q: rq.ReqAllOpenOrders) -> None:
        self._send_open(self.gw.engine.open_orders())

    def h_reqAutoOpenOrders(self, q: rq.ReqAutoOpenOrders) -> None:
        self.subs.auto_open = q.auto_bind

    def h_reqCompletedOrders(self, q: rq.ReqCompletedOrders) -> None:
        done = [o for o in self.gw.engine.orders.values() if o.is_done]
        self.send(*[m.completed_order(self.sv, o, self.gw.market.specs[o.con_id]) for o in done],
                  m.completed_orders_end())

    def h_reqExecutions(self, q: rq.ReqExecutions) -> None:
        req_id, cid, acct, sym, sec, exch, side = (
            q.req_id, q.client_id, q.acct_code, q.symbol.upper(), q.sec_type.upper(),
            q.exchange.upper(), q.side.upper())
        # "yyyymmdd hh:mm:ss [zone]" (the gateway's zone when none) or "yyyymmdd-hh:mm:ss" (UTC),
        # compared as instants with the executions' times (US/Eastern)
        since = parse_ib_time(q.time, self.gw.engine.local_tz) if q.time.strip() else None
        on_day = self._execution_days(q)
        msgs: list[Message] = []
        for e in self.gw.engine.executions:
            spec = self.gw.market.specs[e.con_id]
            at = e.epoch or parse_ib_time(e.time, EXEC_TZ) or 0.0
            if (cid and e.client_id != cid) or (acct and acct != e.account) \
                    or (sym and sym != spec.symbol) or (sec and sec != spec.sec_type) \
                    or (exch and exch not in (e.exchange, spec.exchange)) \
                    or (side and side[:1] != {"BOT": "B", "SLD": "S"}[e.side]) \
                    or (since is not None and at < since) or not on_day(at):
                continue
            msgs += [m.execution(self.sv, req_id, e, spec),
                     m.commission_report(e.exec_id, e.commission, spec.currency, e.realized_pnl)]
        self.send(*msgs, m.execution_end(req_id))

    def _execution_days(self, q: rq.ReqExecutions) -> Callable[[float], bool]:
        """The filter's days (from server version 200): ``lastNDays`` N keeps the executions of
        the last N days, today included (0 or unset: no filter); ``specificDates`` (yyyymmdd) keeps
        those of the dates listed (none: no filter). Days are the gateway's calendar days (its
        zone, its clock); both given, an execution must pass both."""
        n = q.last_n_days if q.last_n_days is not None and q.last_n_days > 0 else 0
        dates = frozenset(q.specific_dates)
        if not n and not dates:
            return lambda at: True
        engine = self.gw.engine
        zone = ZoneInfo(engine.local_tz)
        today = dt.datetime.fromtimestamp(engine.clock.now(), zone).date()
        first = today - dt.timedelta(days=n - 1) if n else dt.date.min

        def keep(at: float) -> bool:
            day = dt.datetime.fromtimestamp(at, zone).date()
            return first <= day and (not dates or day.year * 10000 + day.month * 100 + day.day in dates)
        return keep
