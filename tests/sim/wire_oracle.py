"""ibapi as the oracle for what the simulator puts on the wire.

``decode_frame`` decodes one frame the way stock ``EClient.run`` does (the wire id picks
``Decoder.processProtoBuf`` or ``Decoder.interpret``) into a ``Recorder``; ``catalogue`` builds
every message the simulator sends from the simulator's own objects.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from ibapi import comm
from ibapi.common import PROTOBUF_MSG_ID
from ibapi.decoder import Decoder
from ibapi.server_versions import (
    MIN_SERVER_VER_COMPLETED_ORDERS,
    MIN_SERVER_VER_PAST_LIMIT,
    MIN_SERVER_VER_PRE_OPEN_BID_ASK,
    MIN_SERVER_VER_PROTOBUF,
    MIN_SERVER_VER_PROTOBUF_REST_MESSAGES_3,
)
from ibapi.wrapper import EWrapper

from platform_adapter.sim import info_messages as im
from platform_adapter.sim import messages as m
from platform_adapter.sim.account import MarginPreview
from platform_adapter.sim.admin import DISPLAY_GROUPS
from platform_adapter.sim.contracts import BY_CONID
from platform_adapter.sim.depth import DEPTH_EXCHANGES, SMART_COMPONENTS, US_STOCK_BBO
from platform_adapter.sim.history import HistRequest, bars
from platform_adapter.sim.market import ASK, BID, DELAYED, HIGH, LAST_TIMESTAMP, MODEL_GREEKS, VOLUME
from platform_adapter.sim.news import BULLETIN, PROVIDERS, article_id
from platform_adapter.sim.option_calcs import CUST_OPTION_COMPUTATION, NOT_COMPUTED
from platform_adapter.sim.options import greeks, greeks_at_price
from platform_adapter.sim.orders import SimExecution, SimOrder
from platform_adapter.sim.protocol import UNSET_DOUBLE_STR
from platform_adapter.sim.requests import OrderCondition
from platform_adapter.sim.scanner import parameters_xml
from platform_adapter.sim.schedule import sessions
from platform_adapter.sim.server import SimulatedGateway
from platform_adapter.sim.tick_history import bid_ask_ticks, histogram, midpoint_ticks, tick_times, trade_ticks
from platform_adapter.sim.wire import Message

AAPL, SPY, ES, EUR = BY_CONID[265598], BY_CONID[756733], BY_CONID[649180695], BY_CONID[12087792]

Call = tuple[str, tuple[Any, ...]]


@dataclass(frozen=True)
class Obj:
    """A decoded object as its class name and sorted, normalised attributes."""

    cls: str
    attrs: tuple[tuple[str, Any], ...]


def norm(value: Any) -> Any:
    """A comparable form of a callback argument: objects by their attributes (``vars``), numbers
    with their type (a Decimal size must stay a Decimal, a float price a float)."""
    if isinstance(value, Enum):
        return type(value).__name__, value.name
    if isinstance(value, (list, tuple, set)):
        return type(value).__name__, tuple(norm(v) for v in value)
    if isinstance(value, dict):
        return "dict", tuple(sorted((k, norm(v)) for k, v in value.items()))
    if hasattr(value, "__dict__"):
        return Obj(type(value).__name__, tuple(sorted((k, norm(v)) for k, v in vars(value).items())))
    return type(value).__name__, value


class Recorder(EWrapper):  # type: ignore[misc]
    """Records every EWrapper callback as (name, normalised args). The ``...ProtoBuf`` callbacks
    (ibapi hands them the raw protobuf object before the decoded callback, on the protobuf path
    only) are named in ``protobuf``, their objects kept in ``raw``: they carry nothing decoded."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[Call] = []
        self.protobuf: list[str] = []
        self.raw: list[tuple[Any, ...]] = []  # the protobuf objects handed to each ...ProtoBuf callback
        self.changed = threading.Condition()


def _recorder(name: str) -> Callable[..., None]:
    def record(self: Recorder, *args: Any) -> None:
        with self.changed:
            if name.endswith("ProtoBuf"):
                self.protobuf.append(name)
                self.raw.append(args)
            else:
                self.calls.append((name, tuple(norm(a) for a in args)))
            self.changed.notify_all()
    return record


for _name in dir(EWrapper):
    if not _name.startswith("_") and callable(getattr(EWrapper, _name)):
        setattr(Recorder, _name, _recorder(_name))


def decode_frame(frame: bytes, sv: int) -> tuple[bool, list[Call]]:
    """(went the protobuf way, callbacks) for one length-prefixed frame, decoded as EClient.run
    decodes it at server version ``sv``."""
    protobuf, calls, _ = decode_all(frame, sv)
    return protobuf, calls


def decode_all(frame: bytes, sv: int) -> tuple[bool, list[Call], list[tuple[Any, ...]]]:
    """``decode_frame`` and the raw protobuf objects handed to the ``...ProtoBuf`` callbacks."""
    assert int.from_bytes(frame[:4], "big") == len(frame) - 4
    text = frame[4:]
    if sv >= MIN_SERVER_VER_PROTOBUF:
        msg_id, text = int.from_bytes(text[:4], "big"), text[4:]
    else:
        cut = text.index(b"\0")
        msg_id, text = int(text[:cut]), text[cut + 1:]
    rec = Recorder()
    decoder = Decoder(rec, sv)
    if msg_id > PROTOBUF_MSG_ID:
        decoder.processProtoBuf(text, msg_id - PROTOBUF_MSG_ID)
        assert rec.protobuf, "the protobuf path always hands the raw object over first"
        return True, rec.calls, rec.raw
    fields = comm.read_fields(text)
    process = Decoder.msgId2handleInfo[msg_id].processMeth
    if process is None:  # decoded by signature: interpret checks the field count itself
        decoder.interpret(fields, msg_id)
        return False, rec.calls, rec.raw
    unread = iter(fields)
    process(decoder, unread)
    left = list(unread)
    assert not left, f"message {msg_id} at server version {sv}: ibapi's decoder leaves {left} unread"
    return False, rec.calls, rec.raw


def text_calls(msg: Message, sv: int) -> list[Call]:
    """The callbacks of the message's text form (the layout below server version 201)."""
    text_sv = min(sv, MIN_SERVER_VER_PROTOBUF - 1)
    return decode_frame(msg.encode(text_sv), text_sv)[1]


# --- what ibapi's protobuf decoder cannot make equal ---------------------------------------

_NO_LIST = (("list", ()), ("NoneType", None))
_MARGINS = [f"{kind}{when}" for kind in ("initMargin", "maintMargin", "equityWithLoan")
            for when in ("Before", "Change", "After")]

# (class, attribute) -> ((value decoded from protobuf, value decoded from text), why they differ)
DIFFERENCES: dict[tuple[str, str], tuple[tuple[Any, Any], str]] = {
    ("ContractDetails", "secIdList"): (
        _NO_LIST, "ibapi's protobuf decoder always makes a list (decodeTagValueList); its text decoder "
                  "leaves None when the count is 0 (the future and the forex pair have no sec ids)"),
    ("Order", "smartComboRoutingParams"): (
        _NO_LIST, "the same: a list from protobuf, None from a text count of 0"),
    ("Order", "usePriceMgmtAlgo"): (
        (("int", 0), ("bool", False)), "an int32 in the protobuf Order; the text decoder reads a bool"),
    ("Order", "routeMarketableToBbo"): (
        (("int", 0), ("bool", False)), "an int32 in the protobuf Order; the text decoder reads a bool"),
    **{("OrderState", name): (
        (("str", ""), ("str", UNSET_DOUBLE_STR)),
        "no what-if margins: TWS's text form sends the UNSET double as text, which the text decoder "
        "keeps as a string; the protobuf field is a double that ibapi renders with decimalMaxString, so "
        "'unset' can only be sent by leaving it out, which decodes to OrderState's default ''")
       for name in _MARGINS},
}


def _component_map(args: tuple[Any, ...]) -> tuple[Any, ...]:
    req_id, (_, components) = args
    return req_id, ("dict", tuple(sorted((d["bitNumber"][1], ("tuple", (d["exchange"], d["exchangeLetter"])))
                                         for d in (dict(c.attrs) for c in components))))


# callback -> (the text form's arguments as the protobuf form gives them, why they differ)
CALL_DIFFERENCES: dict[str, tuple[Callable[[tuple[Any, ...]], tuple[Any, ...]], str]] = {
    "smartComponents": (_component_map, "ibapi's text decoder gives a list of SmartComponent objects, its "
                                         "protobuf decoder (decodeSmartComponents) a dict bit -> (exchange, letter)"),
}


def as_protobuf_gives(calls: list[Call], used: set[str]) -> list[Call]:
    """The text form's callbacks with each listed call difference applied."""
    out = []
    for name, args in calls:
        if name in CALL_DIFFERENCES:
            used.add(name)
            args = CALL_DIFFERENCES[name][0](args)
        out.append((name, args))
    return out


def reconcile(got: Any, want: Any, used: set[tuple[str, str]]) -> Any:
    """``got`` (decoded from protobuf) with each listed difference from ``want`` replaced by the
    text value; any other difference is left for the comparison to report."""
    if isinstance(got, Obj) and isinstance(want, Obj) and got.cls == want.cls:
        wanted = dict(want.attrs)
        out = []
        for name, value in got.attrs:
            listed = DIFFERENCES.get((got.cls, name))
            if listed and (value, wanted.get(name)) == listed[0]:
                used.add((got.cls, name))
                value = wanted[name]
            else:
                value = reconcile(value, wanted.get(name), used)
            out.append((name, value))
        return Obj(got.cls, tuple(out))
    if isinstance(got, (tuple, list)) and isinstance(want, (tuple, list)) and len(got) == len(want):
        return type(got)(reconcile(g, w, used) for g, w in zip(got, want, strict=True))
    return got


# --- the simulator's own objects ---------------------------------------------------------

def orders() -> list[tuple[SimOrder, Any]]:
    """A partly filled LMT on a stock, a working STP LMT on a future, a filled forex MKT, a
    cancelled STP child on an ETF, a filled fractional stock order."""
    return [
        (SimOrder(order_id=11, client_id=3, perm_id=1351823011, con_id=AAPL.con_id, action="BUY",
                  total_qty=1000, order_type="LMT", lmt_price=189.52, tif="DAY", account="DU1234567",
                  order_ref="pa-0001", status="Submitted", filled=300, avg_fill_price=189.5066666666667,
                  last_fill_price=189.51), AAPL),
        (SimOrder(order_id=12, client_id=3, perm_id=1351823012, con_id=ES.con_id, action="SELL", total_qty=2,
                  order_type="STP LMT", lmt_price=5288.5, aux_price=5289.25, tif="GTC", account="DU1234567",
                  order_ref="pa-0002", outside_rth=True, status="PreSubmitted"), ES),
        (SimOrder(order_id=13, client_id=0, perm_id=1351823013, con_id=EUR.con_id, action="BUY",
                  total_qty=20000, order_type="MKT", tif="IOC", account="DU1234567", status="Filled",
                  filled=20000, avg_fill_price=1.08735, last_fill_price=1.08735,
                  completed_time="20261204 15:01:02 America/New_York", completed_status="Filled"), EUR),
        (SimOrder(order_id=14, client_id=3, perm_id=1351823014, con_id=SPY.con_id, action="SELL", total_qty=50,
                  order_type="STP", aux_price=512.1, parent_id=11, account="DU1234567", status="Cancelled",
                  completed_time="20261204 15:03:00 America/New_York", completed_status="Cancelled by Trader"),
         SPY),
        (SimOrder(order_id=15, client_id=3, perm_id=1351823015, con_id=AAPL.con_id, action="BUY", total_qty=0.5,
                  order_type="MKT", account="DU1234567", status="Filled", filled=0.5, avg_fill_price=190.02,
                  last_fill_price=190.02, completed_time="20261204 15:04:00 America/New_York",
                  completed_status="Filled"), AAPL),
        (SimOrder(order_id=17, client_id=3, perm_id=1351823017, con_id=AAPL.con_id, action="SELL", total_qty=100,
                  order_type="TRAIL LIMIT", aux_price=1.5, tif="GTD", good_till_date="20261231 16:00:00 US/Eastern",
                  account="DU1234567", parent_id=11, parent_perm_id=1351823011, oca_group="bracket-11", oca_type=2,
                  trail_stop_price=188.02, lmt_price_offset=0.25, status="PreSubmitted", awaiting_parent=True,
                  conditions=CONDITIONS, conditions_cancel_order=True), AAPL),
        (SimOrder(order_id=18, client_id=3, perm_id=1351823018, con_id=SPY.con_id, action="BUY", total_qty=10,
                  order_type="TRAIL", trailing_percent=0.5, trail_stop_price=522.61, account="DU1234567",
                  parent_perm_id=1351823011, status="Cancelled", completed_time="20261204 15:05:00 US/Eastern",
                  completed_status="Cancelled by System", conditions=CONDITIONS[:2], conditions_ignore_rth=True),
         SPY),
    ]


def what_if() -> tuple[SimOrder, MarginPreview]:
    """A what-if order and the preview the simulator answers it with."""
    o = SimOrder(order_id=19, client_id=3, perm_id=0, con_id=AAPL.con_id, action="BUY", total_qty=100,
                 order_type="LMT", lmt_price=189.5, account="DU1234567", what_if=True, status="PreSubmitted")
    return o, MarginPreview(init_before=12345.675, maint_before=11000.1, equity_before=1_000_000.0,
                            init_after=17095.675, maint_after=15750.1, equity_after=999_999.0, commission=1.0,
                            min_commission=1.0, max_commission=1.0)


# a price (or), time, execution, volume and percent-change condition as ibapi sends them
CONDITIONS = (
    OrderCondition(1, ("o", "1", "195.5", str(AAPL.con_id), "SMART", "2")),
    OrderCondition(3, ("a", "0", "20261204 15:30:00 US/Eastern")),
    OrderCondition(5, ("a", "STK", "SMART", "MSFT")),
    OrderCondition(6, ("a", "1", "1000000", str(SPY.con_id), "SMART")),
    OrderCondition(7, ("a", "0", "-2.5", str(SPY.con_id), "SMART")),
)


def executions() -> list[tuple[SimExecution, Any]]:
    """A stock partial fill (no realized P&L yet), a closing forex fill, a future fill."""
    return [
        (SimExecution("0000e215.656d0001.01.01", 11, 3, 1351823011, AAPL.con_id, "BOT", 300, 189.51, 300,
                      189.5066666666667, "20261204 15:00:01 US/Eastern", "DU1234567", "ISLAND", "pa-0001", 1.5,
                      None), AAPL),
        (SimExecution("0000e215.656d0002.01.01", 13, 0, 1351823013, EUR.con_id, "SLD", 20000, 1.08735, 20000,
                      1.08735, "20261204 15:01:02 US/Eastern", "DU1234567", "IDEALPRO", "", 2.0, 41.7),
         EUR),
        (SimExecution("0000e215.656d0003.01.01", 16, 3, 1351823016, ES.con_id, "BOT", 1, 5290.25, 1, 5290.25,
                      "20261204 15:02:03 US/Eastern", "DU1234567", "CME", "pa-0003", 0.85, -12.5), ES),
    ]


def gateway() -> SimulatedGateway:
    """A gateway (not started) with positions on a stock, a future and a forex pair, after a few
    market steps, so account and P&L values are the simulator's own."""
    gw = SimulatedGateway(positions={"AAPL": (100, 149.5), "ES": (-2, 5301.75), "EUR": (25000, 1.0812)})
    for _ in range(5):
        gw.market.step()
    return gw


def attr_mask(sv: int, mask: int) -> int:
    """The tick attribute bits of ``mask`` a gateway at ``sv`` sends: canAutoExecute (1) always,
    pastLimit (2) from 109, preOpen (4) from 132."""
    if sv < MIN_SERVER_VER_PAST_LIMIT:
        return mask & 1
    return mask if sv >= MIN_SERVER_VER_PRE_OPEN_BID_ASK else mask & 3


def catalogue(sv: int) -> list[tuple[str, Message]]:
    """(name, message) for every message function in ``messages.py`` and ``info_messages.py``, with
    realistic values."""
    gw = gateway()
    q = gw.market.quote(AAPL.con_id)
    fx = gw.market.quote(EUR.con_id)
    hist = HistRequest(end="", bar_size="1 hour", duration="2 D", use_rth=True, what_to_show="TRADES",
                       format_date=1, keep_up_to_date=False)
    rows, start, end = bars(ES, 1, hist, dt.datetime(2026, 12, 4, 18, 0, tzinfo=dt.timezone.utc))
    out: list[tuple[str, Message]] = [
        ("next_valid_id", m.next_valid_id(574)),
        ("managed_accounts", m.managed_accounts("DU1234567,DU7654321")),
        ("current_time", m.current_time(1764860400)),
        ("current_time_in_millis", m.current_time_in_millis(1764860400123)),
        ("error", m.error(sv, -1, 2104, "Market data farm connection is OK:usfarm", "", 1764860400123)),
        ("error", m.error(sv, 12, 201, "Order rejected - reason:Simulated rejection",
                          '{"rejectReason":"sim"}', 1764860400456)),
        ("error", m.error(sv, 7, 10090, "Part of requested market data is not subscribed. café")),
        ("tick_price", m.tick_price(1, BID, q.bid, q.bid_size)),
        ("tick_price", m.tick_price(1, ASK, q.ask, q.ask_size, attr_mask(sv, 2))),
        ("tick_price", m.tick_price(1, HIGH, q.high, 0)),
        ("tick_price", m.tick_price(2, 66, fx.bid, None)),  # delayed bid without a size
        ("tick_price", m.tick_price(2, BID, fx.bid, 2500000.5, attr_mask(sv, 7))),
        ("tick_size", m.tick_size(1, VOLUME, q.volume)),
        ("tick_size", m.tick_size(2, 0, 1.25)),
        ("tick_string", m.tick_string(1, LAST_TIMESTAMP, str(q.last_time))),
        ("tick_generic", m.tick_generic(1, 49, 0.0)),
        ("tick_snapshot_end", m.tick_snapshot_end(1)),
        ("market_data_type", m.market_data_type(1, 3)),
        ("tick_by_tick_last", m.tick_by_tick_last(5, 1, q.last_time, q.last, q.last_size, 0, "NASDAQ", "")),
        ("tick_by_tick_last", m.tick_by_tick_last(5, 2, q.last_time, q.last, 0.01, 3, "ARCA", "T I")),
        ("tick_by_tick_bid_ask", m.tick_by_tick_bid_ask(6, 1764860400, fx.bid, fx.ask, fx.bid_size,
                                                          fx.ask_size, 1)),
        ("tick_by_tick_mid", m.tick_by_tick_mid(7, 1764860400, round((fx.bid + fx.ask) / 2, 10))),
        ("real_time_bar", m.real_time_bar(8, 1764860400, 189.5, 189.62, 189.41, 189.6, 1234.5, 189.5123456789, 17)),
        ("historical_data", m.historical_data(sv, 9, start, end, rows)),
        ("historical_data_end", m.historical_data_end(9, start, end)),
        ("historical_data_update", m.historical_data_update(9, 3, "1764860400", 5290.25, 5291.0, 5291.5, 5289.75,
                                                            5290.6123, 17.0)),
        ("head_timestamp", m.head_timestamp(10, "20040102 14:30:00")),
        ("contract_data_end", m.contract_data_end(4)),
        ("open_order_end", m.open_order_end()),
        ("completed_orders_end", m.completed_orders_end()),
        ("execution_end", m.execution_end(-1)),
        ("position_end", m.position_end()),
        ("position_multi_end", m.position_multi_end(21)),
        ("account_summary_end", m.account_summary_end(22)),
        ("account_time", m.account_time("15:04")),
        ("account_download_end", m.account_download_end(gw.account_id)),
        ("account_update_multi_end", m.account_update_multi_end(23)),
        ("pnl", gw.pnl_msg(24)),
    ]
    out += [("contract_data", m.contract_data(sv, 4, c)) for c in (AAPL, SPY, ES, EUR)]
    for o, c in orders():
        out += [("open_order", m.open_order(sv, o, c)), ("order_status", m.order_status(o)),
                ("order_status", m.order_status(o, "locate"))]
        if o.completed_status and sv >= MIN_SERVER_VER_COMPLETED_ORDERS:  # ibapi asks from 150
            out.append(("completed_order", m.completed_order(sv, o, c)))
    wi, preview = what_if()
    out += [("open_order", m.open_order(sv, wi, AAPL, preview=preview))]
    for e, c in executions():
        out += [("execution", m.execution(sv, -1, e, c)), ("execution", m.execution(sv, 17, e, c)),
                ("commission_report", m.commission_report(e.exec_id, e.commission, c.currency, e.realized_pnl))]
    out += [("position", x) for x in gw.position_msgs()]
    out += [("position_multi", m.position_multi(21, gw.account_id, BY_CONID[cid], p.qty, p.avg_cost, "M1"))
            for cid, p in gw.account.positions.items()]
    out += [("account_summary", x) for x in gw.summary_msgs(22, ["All"])]
    out += [("account_value" if x.msg_id == m.ACCT_VALUE else "portfolio_value", x)
            for x in gw.account_update_msgs()]
    out += [("account_update_multi", m.account_update_multi(23, gw.account_id, "", k, v, c))
            for k, v, c in gw.account_value_triples()[:8]]
    out += [("pnl_single", gw.pnl_single_msg(25, cid)) for cid in gw.account.positions]
    return out + info_catalogue(sv, gw)


NOW = dt.datetime(2026, 12, 4, 18, 0, tzinfo=dt.timezone.utc)


def info_catalogue(sv: int, gw: SimulatedGateway) -> list[tuple[str, Message]]:
    """The replies of ``info_messages.py``, built from the simulator's own data."""
    q, fx = gw.market.quote(AAPL.con_id), gw.market.quote(EUR.con_id)
    u = gw.universe
    ibm = u.by_con_id[8314]
    chain = u.chains[AAPL.con_id]
    option = next(c for c in u.contracts if c.under_con_id == AAPL.con_id and c.right == "P")
    start = NOW - dt.timedelta(hours=30)
    times = tick_times(AAPL, start, None, 5, "TRADES", True, NOW)
    fx_times = tick_times(EUR, None, NOW, 4, "BID_ASK", False, NOW)
    schedule = [s.as_session() for s in sessions(ES, NOW - dt.timedelta(days=5), NOW, False)]
    when = NOW.replace(minute=0)
    out: list[tuple[str, Message]] = [
        ("market_depth", im.market_depth(30, 0, 0, 1, fx.bid, 2_000_000)),
        ("market_depth", im.market_depth(30, 4, 1, 0, fx.ask + 4 * EUR.min_tick, 500_000)),
        ("market_depth_l2", im.market_depth_l2(31, 0, "NSDQ", 0, 1, q.bid, 300, True)),
        ("market_depth_l2", im.market_depth_l2(31, 2, "ARCA", 1, 0, q.ask + 0.02, 1200, False)),
        ("mkt_depth_exchanges", im.mkt_depth_exchanges(DEPTH_EXCHANGES)),
        ("smart_components", im.smart_components(32, SMART_COMPONENTS[US_STOCK_BBO])),
        ("smart_components", im.smart_components(33, ())),
        ("tick_req_params", im.tick_req_params(1, AAPL.min_tick_text, US_STOCK_BBO, 3)),
        ("tick_req_params", im.tick_req_params(2, EUR.min_tick_text, "", 3)),
        ("symbol_samples", im.symbol_samples(sv, 34, [(c, ("OPT",) if c.con_id in u.chains else ())
                                                        for c in u.matching("A")])),
        ("sec_def_opt_params", im.sec_def_opt_params(35, "CBOE", AAPL.con_id, chain.trading_class, chain.multiplier,
                                                     chain.expirations, chain.strikes)),
        ("sec_def_opt_params_end", im.sec_def_opt_params_end(35)),
        ("soft_dollar_tiers", im.soft_dollar_tiers(36)),
        ("family_codes", im.family_codes([(gw.account_id, "")])),
        ("user_info", im.user_info(37, "")),
        ("histogram_data", im.histogram_data(38, histogram(ibm, 1, "2 days", True, NOW))),
        ("historical_ticks", im.historical_ticks(39, midpoint_ticks(AAPL, 1, times), True)),
        ("historical_ticks_bid_ask", im.historical_ticks_bid_ask(40, bid_ask_ticks(EUR, 1, fx_times), True)),
        ("historical_ticks_last", im.historical_ticks_last(41, trade_ticks(AAPL, 1, times), False)),
        ("historical_schedule", im.historical_schedule(42, schedule[0].start, schedule[-1].end, ES.time_zone,
                                                       schedule)),
        ("news_bulletin", im.news_bulletin(*BULLETIN)),
        ("news_providers", im.news_providers(PROVIDERS)),
        ("news_article", im.news_article(43, 0, "Briefing.com - article BRFG$0001\n\nNo market information.")),
        ("historical_news", im.historical_news(44, when.strftime("%Y-%m-%d %H:%M:%S.0"), "BRFG",
                                               article_id("BRFG", ibm.con_id, when), "IBM shares active")),
        ("historical_news_end", im.historical_news_end(44, True)),
        ("scanner_parameters", im.scanner_parameters(parameters_xml())),
        ("scanner_data", im.scanner_data(45, [AAPL, SPY, ibm, option])),
        ("tick_option_computation", im.tick_option_computation(
            46, CUST_OPTION_COMPUTATION, 0, greeks(False, q.mid, option.strike, 0.2, 0.35))),
        ("tick_option_computation", im.tick_option_computation(47, CUST_OPTION_COMPUTATION, 0, NOT_COMPUTED)),
        # an option line's bid, ask, last and model greeks, a delayed model and a price no volatility fits
        *[("tick_option_computation", im.tick_option_computation(53, k, 0, gw.market.option_greeks(option.con_id, k)))
          for k in (10, 11, 12, MODEL_GREEKS)],
        ("tick_option_computation", im.tick_option_computation(
            53, DELAYED[MODEL_GREEKS], 0, gw.market.option_greeks(option.con_id, MODEL_GREEKS))),
        ("tick_option_computation", im.tick_option_computation(
            53, 10, 0, greeks_at_price(False, 0.0, q.mid, option.strike, 0.2))),
        ("display_group_list", im.display_group_list(48, "|".join(map(str, DISPLAY_GROUPS)))),
        ("display_group_updated", im.display_group_updated(49, "8314@SMART")),
        ("display_group_updated", im.display_group_updated(49, "")),
        ("contract_data", m.contract_data(sv, 50, option)),
    ]
    out += [("market_rule", im.market_rule(rule_id, increments)) for rule_id, increments in u.market_rules.items()]
    if sv >= MIN_SERVER_VER_PROTOBUF_REST_MESSAGES_3:  # protobuf only, answering protobuf-only requests
        out += [("config_response", im.config_response(51, 7497)),
                ("update_config_response", im.update_config_response(52, "FAILED", "read-only"))]
    return out
