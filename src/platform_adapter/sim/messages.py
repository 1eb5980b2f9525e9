"""Every message the simulated gateway sends.

Each function returns a ``wire.Message``: its text fields laid out for the negotiated server
version ``sv`` exactly as ibapi's ``decoder.py`` / ``orderdecoder.py`` read them (text protocol,
server versions 100..200; the same layout after the 4-byte id from 201; a reply that takes no ``sv``
holds ``wire.Versioned`` fields where its layout changed), and, for the replies that
have a protobuf form, the builder of that form (``protobufs.py``), called only for a session whose
version has switched the reply's family to protobuf (``families.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import partial

from google.protobuf.message import Message as ProtoMessage

from . import protobufs as pb
from .account import MarginPreview
from .contracts import ContractSpec
from .orders import SimExecution, SimOrder
from .protocol import UNSET_DOUBLE, UNSET_DOUBLE_STR, UNSET_INTEGER, Field
from .protocol import qty as _qty
from .wire import HandshakeReply, Message, Versioned, versioned

# incoming/outgoing ids (ibapi.message.IN)
TICK_PRICE, TICK_SIZE, ORDER_STATUS, ERR_MSG, OPEN_ORDER = 1, 2, 3, 4, 5
ACCT_VALUE, PORTFOLIO_VALUE, ACCT_UPDATE_TIME, NEXT_VALID_ID = 6, 7, 8, 9
CONTRACT_DATA, EXECUTION_DATA, MANAGED_ACCTS, HISTORICAL_DATA = 10, 11, 15, 17
TICK_GENERIC, TICK_STRING, CURRENT_TIME, REAL_TIME_BARS = 45, 46, 49, 50
CONTRACT_DATA_END, OPEN_ORDER_END, ACCT_DOWNLOAD_END, EXECUTION_DATA_END = 52, 53, 54, 55
TICK_SNAPSHOT_END, MARKET_DATA_TYPE, COMMISSION_REPORT = 57, 58, 59
POSITION_DATA, POSITION_END, ACCOUNT_SUMMARY, ACCOUNT_SUMMARY_END = 61, 62, 63, 64
POSITION_MULTI, POSITION_MULTI_END, ACCOUNT_UPDATE_MULTI, ACCOUNT_UPDATE_MULTI_END = 71, 72, 73, 74
HEAD_TIMESTAMP, HISTORICAL_DATA_UPDATE, PNL, PNL_SINGLE = 88, 90, 94, 95
TICK_BY_TICK, COMPLETED_ORDER, COMPLETED_ORDERS_END, HISTORICAL_DATA_END = 99, 101, 102, 108
CURRENT_TIME_IN_MILLIS = 109

# ibapi.server_versions.MIN_SERVER_VER_*: where a reply's text layout changes
SV_PAST_LIMIT = 109
SV_PEGGED_TO_BENCHMARK = 102
SV_MODELS_SUPPORT = 103
SV_SOFT_DOLLAR_TIER = 106
SV_MD_SIZE_MULTIPLIER = 110
SV_CASH_QTY = 111
SV_AGG_GROUP = 121
SV_UNDERLYING_INFO = 122
SV_SYNT_REALTIME_BARS = 124
SV_MARKET_RULES = 126
SV_UNREALIZED_PNL = 129
SV_MARKET_CAP_PRICE = 131
SV_PRE_OPEN_BID_ASK = 132
SV_REAL_EXPIRATION_DATE = 134
SV_REALIZED_PNL = 135
SV_LAST_LIQUIDITY = 136
SV_AUTO_PRICE_FOR_HEDGE = 141
SV_WHAT_IF_EXT_FIELDS = 142
SV_ORDER_CONTAINER = 145
SV_D_PEG_ORDERS = 148
SV_PRICE_MGMT_ALGO = 151
SV_STOCK_TYPE = 152
SV_DURATION = 158
SV_POST_TO_ATS = 160
SV_AUTO_CANCEL_PARENT = 162
SV_FRACTIONAL_SIZE_SUPPORT = 163
SV_SIZE_RULES = 164
SV_ADVANCED_ORDER_REJECT = 166
SV_PEGBEST_PEGMID_OFFSETS = 170
SV_FA_PROFILE_DESUPPORT = 177
SV_PENDING_PRICE_REVISION = 178
SV_LAST_TRADE_DATE = 182
SV_CUSTOMER_ACCOUNT = 183
SV_PROFESSIONAL_CUSTOMER = 184
SV_BOND_ACCRUED_INTEREST = 185
SV_INELIGIBILITY_REASONS = 186
SV_INCLUDE_OVERNIGHT = 189
SV_CME_TAGGING_IN_OPEN_ORDER = 193
SV_ERROR_TIME = 194
SV_FULL_ORDER_PREVIEW = 195
SV_HISTORICAL_DATA_END = 196
SV_SUBMITTER = 198
SV_IMBALANCE_ONLY = 199

Fields = list[Field]


def _since(sv: int, fields: Sequence[tuple[int, Field]]) -> Fields:
    """The fields a gateway at ``sv`` sends: those added at or below it."""
    return [value for added, value in fields if sv >= added]



# --- connection -------------------------------------------------------------

def _msg(text: Fields, proto: Callable[[], ProtoMessage]) -> Message:
    """A message from its text fields (message id first) and its protobuf builder."""
    msg_id = text[0]
    assert isinstance(msg_id, int)
    return Message(msg_id, tuple(text[1:]), proto)


def server_hello(sv: int, conn_time: str) -> HandshakeReply:
    """Handshake reply: exactly two fields."""
    return HandshakeReply((sv, conn_time))


def next_valid_id(order_id: int) -> Message:
    return Message(NEXT_VALID_ID, (1, order_id), partial(pb.next_valid_id, order_id))


def managed_accounts(accounts: str) -> Message:
    return Message(MANAGED_ACCTS, (1, accounts), partial(pb.managed_accounts, accounts))


def current_time(epoch: int) -> Message:
    return Message(CURRENT_TIME, (1, epoch), partial(pb.current_time, epoch))


def current_time_in_millis(epoch_ms: int) -> Message:
    """currentTimeInMillis (msg 109): no version field."""
    return Message(CURRENT_TIME_IN_MILLIS, (epoch_ms,), partial(pb.current_time_in_millis, epoch_ms))


def error(sv: int, req_id: int, code: int, text: str, advanced_json: str = "",
          err_time_ms: int = 0) -> Message:
    """Error / notice (msg 4)."""
    out: Fields = [ERR_MSG]
    if sv < SV_ERROR_TIME:
        out.append(2)
    out += [req_id, code, text]
    if sv >= SV_ADVANCED_ORDER_REJECT:
        out.append(advanced_json)
    if sv >= SV_ERROR_TIME:
        out.append(err_time_ms)
    return _msg(out, partial(pb.error, req_id, code, text, advanced_json, err_time_ms))


# --- contracts ----------------------------------------------------------------

def contract_data(sv: int, req_id: int, c: ContractSpec) -> Message:
    """contractDetails (msg 10); below SIZE_RULES (164) with a version field, the market data size
    multiplier (from 110) and (from 163) the size tick in place of the size rules; the aggregation
    group, underlying, market rules, real expiry and stock type from the versions that added them."""
    out: Fields = [CONTRACT_DATA]
    if sv < SV_SIZE_RULES:
        out.append(8)
    out += [req_id, c.symbol, c.sec_type, c.details_expiry]
    if sv >= SV_LAST_TRADE_DATE:
        out.append(c.last_trade_date)
    out += [_num(c.strike), c.right, c.exchange, c.currency, c.local_symbol, c.market_name, c.trading_class,
            c.con_id, c.min_tick_text]
    if SV_MD_SIZE_MULTIPLIER <= sv < SV_SIZE_RULES:
        out.append(1)  # market data size multiplier
    out += [c.multiplier, c.order_types, c.valid_exchanges, 1, c.under_con_id,
            c.long_name, c.primary_exchange, c.last_trade_date[:6], c.industry, c.category,
            c.subcategory, c.time_zone, c.trading_hours, c.liquid_hours, "", None,
            len(c.sec_ids)]
    for tag, val in c.sec_ids:
        out += [tag, val]
    out += _since(sv, ((SV_AGG_GROUP, c.agg_group), (SV_UNDERLYING_INFO, c.under_symbol),
                       (SV_UNDERLYING_INFO, c.under_sec_type), (SV_MARKET_RULES, c.market_rule_ids),
                       (SV_REAL_EXPIRATION_DATE, c.last_trade_date), (SV_STOCK_TYPE, c.stock_type)))
    if sv >= SV_SIZE_RULES:
        out += [c.min_size, c.size_increment, c.size_increment]
    elif sv >= SV_FRACTIONAL_SIZE_SUPPORT:
        out.append(c.size_increment)  # size min tick
    if sv >= SV_INELIGIBILITY_REASONS:
        out.append(0)
    return _msg(out, partial(pb.contract_data, req_id, c))


def contract_data_end(req_id: int) -> Message:
    return Message(CONTRACT_DATA_END, (1, req_id), partial(pb.contract_data_end, req_id))


# --- market data ----------------------------------------------------------------

def tick_price(req_id: int, tick_type: int, price: float, size: float | None,
               attr_mask: int = 0) -> Message:
    return Message(TICK_PRICE, (6, req_id, tick_type, float(price), None if size is None else _qty(size),
                                attr_mask), partial(pb.tick_price, req_id, tick_type, price, size, attr_mask))


def tick_size(req_id: int, tick_type: int, size: float) -> Message:
    return Message(TICK_SIZE, (6, req_id, tick_type, _qty(size)), partial(pb.tick_size, req_id, tick_type, size))


def tick_string(req_id: int, tick_type: int, value: str) -> Message:
    return Message(TICK_STRING, (6, req_id, tick_type, value), partial(pb.tick_string, req_id, tick_type, value))


def tick_generic(req_id: int, tick_type: int, value: float) -> Message:
    return Message(TICK_GENERIC, (6, req_id, tick_type, float(value)),
                   partial(pb.tick_generic, req_id, tick_type, value))


def tick_snapshot_end(req_id: int) -> Message:
    return Message(TICK_SNAPSHOT_END, (1, req_id), partial(pb.tick_snapshot_end, req_id))


def market_data_type(req_id: int, md_type: int) -> Message:
    return Message(MARKET_DATA_TYPE, (1, req_id, md_type), partial(pb.market_data_type, req_id, md_type))


def tick_by_tick_last(req_id: int, kind: int, t: int, price: float, size: float,
                      mask: int = 0, exchange: str = "", conditions: str = "") -> Message:
    return Message(TICK_BY_TICK, (req_id, kind, t, float(price), _qty(size), mask, exchange, conditions),
                   partial(pb.tick_by_tick_last, req_id, kind, t, price, size, mask, exchange, conditions))


def tick_by_tick_bid_ask(req_id: int, t: int, bid: float, ask: float, bid_size: float,
                         ask_size: float, mask: int = 0) -> Message:
    return Message(TICK_BY_TICK, (req_id, 3, t, float(bid), float(ask), _qty(bid_size), _qty(ask_size), mask),
                   partial(pb.tick_by_tick_bid_ask, req_id, t, bid, ask, bid_size, ask_size, mask))


def tick_by_tick_mid(req_id: int, t: int, mid: float) -> Message:
    return Message(TICK_BY_TICK, (req_id, 4, t, float(mid)), partial(pb.tick_by_tick_mid, req_id, t, mid))


def real_time_bar(req_id: int, t: int, o: float, h: float, lo: float, c: float,
                  volume: float, wap: float, count: int) -> Message:
    return Message(REAL_TIME_BARS, (3, req_id, t, o, h, lo, c, _qty(volume), Decimal(repr(round(wap, 6))), count),
                   partial(pb.real_time_bar, req_id, t, o, h, lo, c, volume, wap, count))


def historical_data(sv: int, req_id: int, start: str, end: str,
                    bars: Sequence[tuple[str, float, float, float, float, float, float, int]]) -> Message:
    """historicalData (msg 17) with all bars; start/end only before sv 196; below SYNT_REALTIME_BARS
    (124) with a version field (3) and each bar's hasGaps flag."""
    out: Fields = [HISTORICAL_DATA]
    if sv < SV_SYNT_REALTIME_BARS:
        out.append(3)
    out.append(req_id)
    if sv < SV_HISTORICAL_DATA_END:
        out += [start, end]
    out.append(len(bars))
    gaps: Fields = ["false"] if sv < SV_SYNT_REALTIME_BARS else []
    for date, o, h, lo, c, vol, wap, count in bars:
        out += [date, o, h, lo, c, _qty(vol), Decimal(repr(round(wap, 6))), *gaps, count]
    return _msg(out, partial(pb.historical_data, req_id, tuple(bars)))


def historical_data_end(req_id: int, start: str, end: str) -> Message:
    return Message(HISTORICAL_DATA_END, (req_id, start, end), partial(pb.historical_data_end, req_id, start, end))


def historical_data_update(req_id: int, count: int, date: str, o: float, c: float, h: float,
                           lo: float, wap: float, volume: float) -> Message:
    return Message(HISTORICAL_DATA_UPDATE, (req_id, count, date, o, c, h, lo, Decimal(repr(round(wap, 6))),
                                            _qty(volume)),
                   partial(pb.historical_data_update, req_id, count, date, o, c, h, lo, wap, volume))


def head_timestamp(req_id: int, stamp: str) -> Message:
    return Message(HEAD_TIMESTAMP, (req_id, stamp), partial(pb.head_timestamp, req_id, stamp))


# --- orders -----------------------------------------------------------------------

def _num(x: float) -> Field:
    """Price as orderStatus renders it: integral values without '.0' (recordings)."""
    return int(x) if float(x).is_integer() else float(x)


def order_status(o: SimOrder, why_held: str = "") -> Message:
    """orderStatus (msg 3): below MARKET_CAP_PRICE (131) with a version field (6) and without the
    market cap price."""
    return versioned(ORDER_STATUS, (Versioned(6, before=SV_MARKET_CAP_PRICE), o.order_id, o.status, _qty(o.filled),
                                    _qty(o.remaining), _num(o.avg_fill_price), o.perm_id, o.parent_id,
                                    _num(o.last_fill_price), o.client_id, why_held, Versioned(0, SV_MARKET_CAP_PRICE)),
                   partial(pb.order_status, o.snapshot(), why_held))


def _order_contract(c: ContractSpec, exchange: str) -> Fields:
    return [c.con_id, c.symbol, c.sec_type, c.last_trade_date, 0, "?", c.multiplier,
            exchange, c.currency, c.local_symbol, c.trading_class]


def _price(x: float | None) -> Field:
    return 0.0 if x is None else float(x)


def _opt_price(x: float | None) -> Field:
    """An optional order price in the order's trail / offset fields ("" when unset)."""
    return "" if x is None else float(x)


def _opt_double(x: float | None) -> float:
    """An optional double where TWS sends UNSET_DOUBLE when there is none."""
    return UNSET_DOUBLE if x is None else float(x)


def _conditions(o: SimOrder) -> Fields:
    """The order's conditions as ibapi reads them: count, each type and its fields, then
    conditionsIgnoreRth and conditionsCancelOrder (only with at least one condition)."""
    out: Fields = [len(o.conditions)]
    for c in o.conditions:
        out += [c.kind, *c.fields]
    if o.conditions:
        out += [o.conditions_ignore_rth, o.conditions_cancel_order]
    return out


def _margin_text(x: float) -> str:
    """A what-if margin or equity figure as text, as ibapi's protobuf decoder renders the double."""
    return f"{Decimal(repr(round(x, 2))):f}"


def _what_if_state(sv: int, p: MarginPreview | None) -> Fields:
    """The what-if part of the order state: margins before/change (from sv 142) and after, the
    commission estimate and, from sv 195, the margin currency and the rest of the full preview."""
    out: Fields
    shown = 9 if sv >= SV_WHAT_IF_EXT_FIELDS else 3
    if p is None:
        out = [*[UNSET_DOUBLE_STR] * shown, None, None, None, ""]
    else:
        figures = (p.init_before, p.maint_before, p.equity_before, p.init_change, p.maint_change,
                   p.equity_change, p.init_after, p.maint_after, p.equity_after)
        out = [_margin_text(x) for x in figures[-shown:]]
        out += [float(p.commission), float(p.min_commission), float(p.max_commission), p.currency]
    if sv >= SV_FULL_ORDER_PREVIEW:
        out += ["" if p is None else p.currency] + [None] * 9 + [None, "", 0]
    return out


# the version field of openOrder below ORDER_CONTAINER (145): its last text version, which passes
# every version test in orderdecoder.py
OPEN_ORDER_VERSION = 34

# openOrder's fields after the soft dollar tier: (the server version that added it, its value)
_OPEN_ORDER_TAIL: tuple[tuple[int, Field], ...] = (
    (SV_CASH_QTY, 0), (SV_AUTO_PRICE_FOR_HEDGE, 1), (SV_ORDER_CONTAINER, 0), (SV_D_PEG_ORDERS, 0),
    (SV_PRICE_MGMT_ALGO, 0), (SV_DURATION, None), (SV_POST_TO_ATS, None), (SV_AUTO_CANCEL_PARENT, 0),
    *((SV_PEGBEST_PEGMID_OFFSETS, None),) * 5)  # peg best / peg mid


def open_order(sv: int, o: SimOrder, c: ContractSpec, exchange: str = "",
               preview: MarginPreview | None = None) -> Message:
    """openOrder (msg 5) in orderdecoder.py order (136 fields at 176; below ORDER_CONTAINER, 145,
    after a version field); a what-if answer carries the ``preview``."""
    out: Fields = [OPEN_ORDER]
    if sv < SV_ORDER_CONTAINER:
        out.append(OPEN_ORDER_VERSION)
    out.append(o.order_id)
    out += _order_contract(c, exchange or c.exchange)
    out += [o.action, _qty(o.total_qty), o.order_type, _price(o.lmt_price), _price(o.aux_price),
            o.tif, o.oca_group, o.account, "", 0, o.order_ref, o.client_id, o.perm_id,
            o.outside_rth, 0, 0, "", f"{o.perm_id}.0/{o.account}/100", "", "", ""]
    if sv < SV_FA_PROFILE_DESUPPORT:
        out.append("")  # faProfile
    if sv >= SV_MODELS_SUPPORT:
        out.append("")  # modelCode
    out += [o.good_till_date, "", "", "",  # goodTillDate, rule80A, percentOffset, settlingFirm
            0, "", -1,  # shortSaleSlot, designatedLocation, exemptCode
            0, "", "", "", "", "",  # auctionStrategy, box params, stock range
            UNSET_INTEGER, 0, 0, 0, "", o.oca_type or 3, 0, 0, "",  # displaySize .. nbboPriceCap
            o.parent_id, 0,  # parentId, triggerMethod
            "", 0, "None", "", 0, "", "", "", "?", 0, 0, "",  # volatility / delta neutral
            0, 0,  # continuousUpdate, referencePriceType
            _opt_price(o.trail_stop_price), _opt_price(o.trailing_percent),
            "", "",  # basis points, basis points type
            "", 0, 0, 0,  # combo legs descr, combo legs, order combo legs, smart combo params
            UNSET_INTEGER, UNSET_INTEGER, "",  # scale init/subs level, price increment
            "", 0, "", "IB", 0, 0, "", 0,  # hedge, optOutSmart, clearing, notHeld, dnContract, algo, solicited
            o.what_if, o.status]
    out += _what_if_state(sv, preview)
    out += [""]  # warningText
    out += [0, 0]  # randomizeSize, randomizePrice
    if sv >= SV_PEGGED_TO_BENCHMARK:
        out += _conditions(o)
        out += ["None", UNSET_DOUBLE, _opt_double(o.trail_stop_price), _opt_double(o.lmt_price_offset)]
        out += [UNSET_DOUBLE] * 3 + [0]  # adjusted stop, stop limit, trailing amount, trailing unit
    if sv >= SV_SOFT_DOLLAR_TIER:
        out += ["", "", ""]
    out += _since(sv, _OPEN_ORDER_TAIL)
    if sv >= SV_CUSTOMER_ACCOUNT:
        out.append("")
    if sv >= SV_PROFESSIONAL_CUSTOMER:
        out.append(0)
    if sv >= SV_BOND_ACCRUED_INTEREST:
        out.append("")
    if sv >= SV_INCLUDE_OVERNIGHT:
        out.append(0)
    if sv >= SV_CME_TAGGING_IN_OPEN_ORDER:
        out += ["", None]
    if sv >= SV_SUBMITTER:
        out.append("")
    if sv >= SV_IMBALANCE_ONLY:
        out.append(0)
    return _msg(out, partial(pb.open_order, o.snapshot(), c, exchange or c.exchange, preview))


def open_order_end() -> Message:
    return Message(OPEN_ORDER_END, (1,), pb.open_order_end)


def completed_order(sv: int, o: SimOrder, c: ContractSpec) -> Message:
    """completedOrder (msg 101) in processCompletedOrderMsg order (it answers reqCompletedOrders,
    which ibapi sends from COMPLETED_ORDERS, 150)."""
    out: Fields = [COMPLETED_ORDER]
    out += _order_contract(c, c.exchange)
    out += [o.action, _qty(o.total_qty), o.order_type, _price(o.lmt_price), _price(o.aux_price),
            o.tif, o.oca_group, o.account, "", 0, o.order_ref, o.perm_id, o.outside_rth, 0, 0, "",
            "", "", ""]
    if sv < SV_FA_PROFILE_DESUPPORT:
        out.append("")
    out += ["", o.good_till_date, "", "", "", 0, "", -1,  # model .. exemptCode
            "", "", "", "", "",  # box + stock range
            UNSET_INTEGER, 0, 0, "", o.oca_type or 3, 0,  # displaySize, sweep, aon, minQty, ocaType, trigger
            # vol params without open-order attribs: with a delta-neutral type ("None", as TWS
            # sends) ibapi reads conId, shortSale, shortSaleSlot, designatedLocation too
            "", 0, "None", "", 0, 0, 0, "", 0, 0,  # ..., continuousUpdate, referencePriceType
            _opt_price(o.trail_stop_price), _opt_price(o.trailing_percent),  # trail params
            "", 0, 0, 0,  # combo
            UNSET_INTEGER, UNSET_INTEGER, "",  # scale
            "", "", "IB", 0, 0, "", 0,  # hedge, clearing, notHeld, dn contract, algo, solicited
            o.status, 0, 0]  # status, randomize x2
    out += _conditions(o)
    out += [_opt_double(o.trail_stop_price), _opt_double(o.lmt_price_offset),
            0, 1, 0,  # cashQty, dontUseAutoPriceForHedge, isOmsContainer
            "", _qty(o.filled), 0, 0, "", 0, 0,  # autoCancelDate .. routeMarketableToBbo
            o.parent_perm_id, o.completed_time, o.completed_status]  # parentPermId, time, status
    if sv >= SV_PEGBEST_PEGMID_OFFSETS:
        out += [None] * 5
    if sv >= SV_CUSTOMER_ACCOUNT:
        out.append("")
    if sv >= SV_PROFESSIONAL_CUSTOMER:
        out.append(0)
    if sv >= SV_SUBMITTER:
        out.append("")
    return _msg(out, partial(pb.completed_order, o.snapshot(), c))


def completed_orders_end() -> Message:
    return Message(COMPLETED_ORDERS_END, (), pb.completed_orders_end)


def execution(sv: int, req_id: int, e: SimExecution, c: ContractSpec) -> Message:
    """execDetails (msg 11); below LAST_LIQUIDITY (136) with a version field (10) and without the
    last liquidity, below MODELS_SUPPORT (103) without the model code."""
    out: Fields = [EXECUTION_DATA]
    if sv < SV_LAST_LIQUIDITY:
        out.append(10)
    out += [req_id, e.order_id, c.con_id, c.symbol, c.sec_type,
                   c.last_trade_date, 0.0, "", c.multiplier, e.exchange, c.currency,
                   c.local_symbol, c.trading_class, e.exec_id, e.time, e.account, e.exchange,
                   e.side, _qty(e.shares), float(e.price), e.perm_id, e.client_id, 0,
                   _qty(e.cum_qty), float(e.avg_price), e.order_ref, "", None]
    if sv >= SV_MODELS_SUPPORT:
        out.append("")  # modelCode
    if sv >= SV_LAST_LIQUIDITY:
        out.append(2)  # lastLiquidity: removed
    if sv >= SV_PENDING_PRICE_REVISION:
        out.append(0)
    if sv >= SV_SUBMITTER:
        out.append("")
    return _msg(out, partial(pb.execution, req_id, e.snapshot(), c))


def execution_end(req_id: int) -> Message:
    return Message(EXECUTION_DATA_END, (1, req_id), partial(pb.execution_end, req_id))


def commission_report(exec_id: str, commission: float, currency: str,
                      realized_pnl: float | None) -> Message:
    return Message(COMMISSION_REPORT, (1, exec_id, float(commission), currency,
                                       UNSET_DOUBLE if realized_pnl is None else float(realized_pnl), UNSET_DOUBLE,
                                       None),
                   partial(pb.commission_report, exec_id, commission, currency, realized_pnl))


# --- account / positions ------------------------------------------------------------

def position(account: str, c: ContractSpec, qty: float, avg_cost: float) -> Message:
    return Message(POSITION_DATA, (3, account, c.con_id, c.symbol, c.sec_type, c.last_trade_date, c.strike, c.right,
                                   c.multiplier, c.position_exchange, c.currency, c.local_symbol,
                                   c.trading_class, _qty(qty), float(avg_cost)),
                   partial(pb.position, account, c, qty, avg_cost))


def position_end() -> Message:
    return Message(POSITION_END, (1,), pb.position_end)


def position_multi(req_id: int, account: str, c: ContractSpec, qty: float, avg_cost: float,
                   model_code: str = "") -> Message:
    return Message(POSITION_MULTI, (1, req_id, account, c.con_id, c.symbol, c.sec_type, c.last_trade_date,
                                    c.strike, c.right, c.multiplier, c.position_exchange, c.currency, c.local_symbol,
                                    c.trading_class, _qty(qty), float(avg_cost), model_code),
                   partial(pb.position_multi, req_id, account, c, qty, avg_cost, model_code))


def position_multi_end(req_id: int) -> Message:
    return Message(POSITION_MULTI_END, (1, req_id), partial(pb.position_multi_end, req_id))


def account_summary(req_id: int, account: str, tag: str, value: str, currency: str) -> Message:
    return Message(ACCOUNT_SUMMARY, (1, req_id, account, tag, value, currency),
                   partial(pb.account_summary, req_id, account, tag, value, currency))


def account_summary_end(req_id: int) -> Message:
    return Message(ACCOUNT_SUMMARY_END, (1, req_id), partial(pb.account_summary_end, req_id))


def account_value(key: str, value: str, currency: str, account: str) -> Message:
    return Message(ACCT_VALUE, (2, key, value, currency, account),
                   partial(pb.account_value, key, value, currency, account))


def portfolio_value(c: ContractSpec, qty: float, mkt_price: float, mkt_value: float,
                    avg_cost: float, unrealized: float, realized: float, account: str) -> Message:
    return Message(PORTFOLIO_VALUE, (8, c.con_id, c.symbol, c.sec_type, c.last_trade_date, c.strike, c.right,
                                     c.multiplier, c.primary_exchange, c.currency, c.local_symbol,
                                     c.trading_class, _qty(qty), float(mkt_price), float(mkt_value),
                                     float(avg_cost), float(unrealized), float(realized), account),
                   partial(pb.portfolio_value, c, qty, mkt_price, mkt_value, avg_cost, unrealized, realized,
                           account))


def account_time(hhmm: str) -> Message:
    return Message(ACCT_UPDATE_TIME, (1, hhmm), partial(pb.account_time, hhmm))


def account_download_end(account: str) -> Message:
    return Message(ACCT_DOWNLOAD_END, (1, account), partial(pb.account_download_end, account))


def account_update_multi(req_id: int, account: str, model_code: str, key: str, value: str,
                         currency: str) -> Message:
    return Message(ACCOUNT_UPDATE_MULTI, (1, req_id, account, model_code, key, value, currency),
                   partial(pb.account_update_multi, req_id, account, model_code, key, value, currency))


def account_update_multi_end(req_id: int) -> Message:
    return Message(ACCOUNT_UPDATE_MULTI_END, (1, req_id), partial(pb.account_update_multi_end, req_id))


def pnl(req_id: int, daily: float, unrealized: float, realized: float) -> Message:
    return versioned(PNL, (req_id, float(daily), Versioned(float(unrealized), SV_UNREALIZED_PNL),
                           Versioned(float(realized), SV_REALIZED_PNL)),
                   partial(pb.pnl, req_id, daily, unrealized, realized))


def pnl_single(req_id: int, pos: float, daily: float, unrealized: float, realized: float,
               value: float) -> Message:
    return versioned(PNL_SINGLE, (req_id, _qty(pos), float(daily), Versioned(float(unrealized), SV_UNREALIZED_PNL),
                                  Versioned(float(realized), SV_REALIZED_PNL), float(value)),
                   partial(pb.pnl_single, req_id, pos, daily, unrealized, realized, value))
