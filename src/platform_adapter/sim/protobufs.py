"""Protobuf bodies of the simulator's replies, built with ibapi's generated classes.

Each builder takes what the text encoder of the same name in ``messages.py`` takes and sets the
fields ibapi's ``Decoder.process...ProtoBuf`` reads (``decoder_utils.py``), so that the protobuf
form decodes to the same callback arguments as the text form. Sizes travel as decimal strings;
a field left unset decodes to ibapi's default (``HasField`` is false), which is how "no value"
(an empty text field, IB's UNSET sentinels) is sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from ibapi.protobuf.AccountDataEnd_pb2 import AccountDataEnd
from ibapi.protobuf.AccountSummary_pb2 import AccountSummary
from ibapi.protobuf.AccountSummaryEnd_pb2 import AccountSummaryEnd
from ibapi.protobuf.AccountUpdateMulti_pb2 import AccountUpdateMulti
from ibapi.protobuf.AccountUpdateMultiEnd_pb2 import AccountUpdateMultiEnd
from ibapi.protobuf.AccountUpdateTime_pb2 import AccountUpdateTime
from ibapi.protobuf.AccountValue_pb2 import AccountValue
from ibapi.protobuf.CommissionAndFeesReport_pb2 import CommissionAndFeesReport
from ibapi.protobuf.CompletedOrder_pb2 import CompletedOrder
from ibapi.protobuf.CompletedOrdersEnd_pb2 import CompletedOrdersEnd
from ibapi.protobuf.Contract_pb2 import Contract
from ibapi.protobuf.ContractData_pb2 import ContractData
from ibapi.protobuf.ContractDataEnd_pb2 import ContractDataEnd
from ibapi.protobuf.ContractDetails_pb2 import ContractDetails
from ibapi.protobuf.CurrentTime_pb2 import CurrentTime
from ibapi.protobuf.CurrentTimeInMillis_pb2 import CurrentTimeInMillis
from ibapi.protobuf.ErrorMessage_pb2 import ErrorMessage
from ibapi.protobuf.Execution_pb2 import Execution
from ibapi.protobuf.ExecutionDetails_pb2 import ExecutionDetails
from ibapi.protobuf.ExecutionDetailsEnd_pb2 import ExecutionDetailsEnd
from ibapi.protobuf.HeadTimestamp_pb2 import HeadTimestamp
from ibapi.protobuf.HistoricalData_pb2 import HistoricalData
from ibapi.protobuf.HistoricalDataBar_pb2 import HistoricalDataBar
from ibapi.protobuf.HistoricalDataEnd_pb2 import HistoricalDataEnd
from ibapi.protobuf.HistoricalDataUpdate_pb2 import HistoricalDataUpdate
from ibapi.protobuf.ManagedAccounts_pb2 import ManagedAccounts
from ibapi.protobuf.MarketDataType_pb2 import MarketDataType
from ibapi.protobuf.NextValidId_pb2 import NextValidId
from ibapi.protobuf.OpenOrder_pb2 import OpenOrder
from ibapi.protobuf.OpenOrdersEnd_pb2 import OpenOrdersEnd
from ibapi.protobuf.Order_pb2 import Order
from ibapi.protobuf.OrderCondition_pb2 import OrderCondition
from ibapi.protobuf.OrderState_pb2 import OrderState
from ibapi.protobuf.OrderStatus_pb2 import OrderStatus
from ibapi.protobuf.PnL_pb2 import PnL
from ibapi.protobuf.PnLSingle_pb2 import PnLSingle
from ibapi.protobuf.PortfolioValue_pb2 import PortfolioValue
from ibapi.protobuf.Position_pb2 import Position
from ibapi.protobuf.PositionEnd_pb2 import PositionEnd
from ibapi.protobuf.PositionMulti_pb2 import PositionMulti
from ibapi.protobuf.PositionMultiEnd_pb2 import PositionMultiEnd
from ibapi.protobuf.RealTimeBarTick_pb2 import RealTimeBarTick
from ibapi.protobuf.TickByTickData_pb2 import TickByTickData
from ibapi.protobuf.TickGeneric_pb2 import TickGeneric
from ibapi.protobuf.TickPrice_pb2 import TickPrice
from ibapi.protobuf.TickSize_pb2 import TickSize
from ibapi.protobuf.TickSnapshotEnd_pb2 import TickSnapshotEnd
from ibapi.protobuf.TickString_pb2 import TickString

from .account import MarginPreview
from .contracts import ContractSpec
from .history import Bar
from .order_conditions import EXECUTION, MARGIN, PERCENT_CHANGE, PRICE, TIME, VOLUME
from .orders import SimExecution, SimOrder
from .protocol import UNSET_DOUBLE, UNSET_INTEGER, fmt_decimal, qty
from .requests import OrderCondition as OrderConditionRequest


def size(x: float) -> str:
    """A size as TWS sends it in protobuf: a decimal string."""
    return fmt_decimal(qty(x))


def wap(x: float) -> str:
    """A bar's average price (a decimal string, rounded as in the text form)."""
    return fmt_decimal(Decimal(repr(round(x, 6))))


def contract(c: ContractSpec, exchange: str = "", primary: bool = False, right: str = "",
             strike: float = 0.0) -> Contract:
    """The contract fields that position, portfolio, execution and order messages carry; the text
    forms send a strike (0 when none: a real 0.0, not ibapi's unset strike)."""
    out = Contract(conId=c.con_id, symbol=c.symbol, secType=c.sec_type,
                   lastTradeDateOrContractMonth=c.last_trade_date, strike=strike, right=right,
                   currency=c.currency, localSymbol=c.local_symbol, tradingClass=c.trading_class)
    if c.multiplier:
        out.multiplier = float(c.multiplier)
    if primary:
        out.primaryExch = c.primary_exchange
    else:
        out.exchange = exchange
    return out


def held(c: ContractSpec, exchange: str = "", primary: bool = False) -> Contract:
    """The contract of a position or portfolio message (an option's strike and right included)."""
    return contract(c, exchange, primary, c.right, c.strike)


# --- connection --------------------------------------------------------------------

def next_valid_id(order_id: int) -> NextValidId:
    return NextValidId(orderId=order_id)


def managed_accounts(accounts: str) -> ManagedAccounts:
    return ManagedAccounts(accountsList=accounts)


def current_time(epoch: int) -> CurrentTime:
    return CurrentTime(currentTime=epoch)


def current_time_in_millis(epoch_ms: int) -> CurrentTimeInMillis:
    return CurrentTimeInMillis(currentTimeInMillis=epoch_ms)


def error(req_id: int, code: int, text: str, advanced_json: str, err_time_ms: int) -> ErrorMessage:
    return ErrorMessage(id=req_id, errorCode=code, errorMsg=text, advancedOrderRejectJson=advanced_json,
                        errorTime=err_time_ms)


# --- contracts ---------------------------------------------------------------------

def contract_data(req_id: int, c: ContractSpec) -> ContractData:
    details = ContractDetails(
        marketName=c.market_name, minTick=c.min_tick_text, orderTypes=c.order_types,
        validExchanges=c.valid_exchanges, priceMagnifier=1, underConId=c.under_con_id, longName=c.long_name,
        contractMonth=c.last_trade_date[:6], industry=c.industry, category=c.category,
        subcategory=c.subcategory, timeZoneId=c.time_zone, tradingHours=c.trading_hours,
        liquidHours=c.liquid_hours, evRule="", aggGroup=c.agg_group, underSymbol=c.under_symbol,
        underSecType=c.under_sec_type,
        marketRuleIds=c.market_rule_ids, realExpirationDate=c.last_trade_date, stockType=c.stock_type,
        minSize=c.min_size, sizeIncrement=c.size_increment, suggestedSizeIncrement=c.size_increment)
    details.secIdList.update(dict(c.sec_ids))
    out = Contract(conId=c.con_id, symbol=c.symbol, secType=c.sec_type,
                   lastTradeDateOrContractMonth=c.details_expiry, lastTradeDate=c.last_trade_date,
                   strike=c.strike, right=c.right, exchange=c.exchange, currency=c.currency,
                   localSymbol=c.local_symbol, tradingClass=c.trading_class,
                   primaryExch=c.primary_exchange)
    if c.multiplier:
        out.multiplier = float(c.multiplier)
    return ContractData(reqId=req_id, contract=out, contractDetails=details)


def contract_data_end(req_id: int) -> ContractDataEnd:
    return ContractDataEnd(reqId=req_id)


# --- market data -------------------------------------------------------------------

def tick_price(req_id: int, tick_type: int, price: float, sz: float | None, attr_mask: int) -> TickPrice:
    out = TickPrice(reqId=req_id, tickType=tick_type, price=float(price), attrMask=attr_mask)
    if sz is not None:
        out.size = size(sz)
    return out


def tick_size(req_id: int, tick_type: int, sz: float) -> TickSize:
    return TickSize(reqId=req_id, tickType=tick_type, size=size(sz))


def tick_string(req_id: int, tick_type: int, value: str) -> TickString:
    return TickString(reqId=req_id, tickType=tick_type, value=value)


def tick_generic(req_id: int, tick_type: int, value: float) -> TickGeneric:
    return TickGeneric(reqId=req_id, tickType=tick_type, value=float(value))


def tick_snapshot_end(req_id: int) -> TickSnapshotEnd:
    return TickSnapshotEnd(reqId=req_id)


def market_data_type(req_id: int, md_type: int) -> MarketDataType:
    return MarketDataType(reqId=req_id, marketDataType=md_type)


def tick_by_tick_last(req_id: int, kind: int, t: int, price: float, sz: float, mask: int, exchange: str,
                      conditions: str) -> TickByTickData:
    out = TickByTickData(reqId=req_id, tickType=kind)
    last = out.historicalTickLast
    last.time, last.price, last.size = t, float(price), size(sz)
    last.exchange, last.specialConditions = exchange, conditions
    last.tickAttribLast.pastLimit, last.tickAttribLast.unreported = bool(mask & 1), bool(mask & 2)
    return out


def tick_by_tick_bid_ask(req_id: int, t: int, bid: float, ask: float, bid_size: float, ask_size: float,
                         mask: int) -> TickByTickData:
    out = TickByTickData(reqId=req_id, tickType=3)
    ba = out.historicalTickBidAsk
    ba.time, ba.priceBid, ba.priceAsk, ba.sizeBid, ba.sizeAsk = t, float(bid), float(ask), size(bid_size), \
        size(ask_size)
    ba.tickAttribBidAsk.bidPastLow, ba.tickAttribBidAsk.askPastHigh = bool(mask & 1), bool(mask & 2)
    return out


def tick_by_tick_mid(req_id: int, t: int, mid: float) -> TickByTickData:
    out = TickByTickData(reqId=req_id, tickType=4)
    out.historicalTickMidPoint.time, out.historicalTickMidPoint.price = t, float(mid)
    return out


def real_time_bar(req_id: int, t: int, o: float, h: float, lo: float, c: float, volume: float, avg: float,
                  count: int) -> RealTimeBarTick:
    return RealTimeBarTick(reqId=req_id, time=t, open=o, high=h, low=lo, close=c, volume=size(volume),
                           WAP=wap(avg), count=count)


def _bar(date: str, o: float, h: float, lo: float, c: float, volume: float, avg: float,
         count: int) -> HistoricalDataBar:
    return HistoricalDataBar(date=date, open=o, high=h, low=lo, close=c, volume=size(volume), WAP=wap(avg),
                             barCount=count)


def historical_data(req_id: int, bars: Sequence[Bar]) -> HistoricalData:
    return HistoricalData(reqId=req_id, historicalDataBars=[_bar(*b) for b in bars])


def historical_data_end(req_id: int, start: str, end: str) -> HistoricalDataEnd:
    return HistoricalDataEnd(reqId=req_id, startDateStr=start, endDateStr=end)


def historical_data_update(req_id: int, count: int, date: str, o: float, c: float, h: float, lo: float,
                           avg: float, volume: float) -> HistoricalDataUpdate:
    return HistoricalDataUpdate(reqId=req_id, historicalDataBar=_bar(date, o, h, lo, c, volume, avg, count))


def head_timestamp(req_id: int, stamp: str) -> HeadTimestamp:
    return HeadTimestamp(reqId=req_id, headTimestamp=stamp)


# --- orders ------------------------------------------------------------------------

def _price(x: float | None) -> float:
    return 0.0 if x is None else float(x)


def _condition(c: OrderConditionRequest) -> OrderCondition:
    """One order condition from its raw text fields (see ``requests.OrderCondition``)."""
    f = c.fields
    out = OrderCondition(type=c.kind, isConjunctionConnection=f[0] == "a")
    if c.kind == EXECUTION:
        for name, value in zip(("secType", "exchange", "symbol"), f[1:4], strict=True):
            if value:
                setattr(out, name, value)
        return out
    out.isMore = f[1] == "1"
    if c.kind == TIME:
        out.time = f[2]
    elif c.kind == MARGIN:
        out.percent = int(float(f[2]))
    elif c.kind == VOLUME:
        out.volume = int(f[2])
    elif c.kind == PERCENT_CHANGE:
        out.changePercent = float(f[2])
    else:
        out.price, out.triggerMethod = float(f[2]), int(f[5])
    if c.kind in (PRICE, VOLUME, PERCENT_CHANGE):
        out.conId = int(f[3])
        if f[4]:
            out.exchange = f[4]
    return out


def _order(o: SimOrder) -> Order:
    """The order fields both openOrder and completedOrder carry, valued as in their text forms (the
    fields those leave empty or UNSET stay unset here)."""
    out = Order(
        action=o.action, totalQuantity=size(o.total_qty), orderType=o.order_type,
        lmtPrice=_price(o.lmt_price), auxPrice=_price(o.aux_price), tif=o.tif, account=o.account,
        orderRef=o.order_ref, permId=o.perm_id, outsideRth=o.outside_rth, discretionaryAmt=0.0,
        exemptCode=-1, displaySize=UNSET_INTEGER, ocaType=o.oca_type or 3, volatilityType=0,
        deltaNeutralOrderType="None", referencePriceType=0, clearingIntent="IB", cashQty=0.0,
        dontUseAutoPriceForHedge=True)
    if o.oca_group:
        out.ocaGroup = o.oca_group
    if o.good_till_date:
        out.goodTillDate = o.good_till_date
    for name, value in (("trailStopPrice", o.trail_stop_price), ("trailingPercent", o.trailing_percent),
                        ("lmtPriceOffset", o.lmt_price_offset)):
        if value is not None:
            setattr(out, name, float(value))
    if o.conditions:
        out.conditions.extend(_condition(c) for c in o.conditions)
        out.conditionsIgnoreRth, out.conditionsCancelOrder = o.conditions_ignore_rth, o.conditions_cancel_order
    return out


def _order_state(status: str, p: MarginPreview | None) -> OrderState:
    """The order state, with the what-if margins and commission estimate when previewed."""
    out = OrderState(status=status)
    if p is not None:
        figures = {"initMarginBefore": p.init_before, "maintMarginBefore": p.maint_before,
                   "equityWithLoanBefore": p.equity_before, "initMarginChange": p.init_change,
                   "maintMarginChange": p.maint_change, "equityWithLoanChange": p.equity_change,
                   "initMarginAfter": p.init_after, "maintMarginAfter": p.maint_after,
                   "equityWithLoanAfter": p.equity_after}
        for name, value in figures.items():
            setattr(out, name, round(value, 2))
        out.commissionAndFees, out.minCommissionAndFees = p.commission, p.min_commission
        out.maxCommissionAndFees = p.max_commission
        out.commissionAndFeesCurrency = out.marginCurrency = p.currency
    return out


def order_status(o: SimOrder, why_held: str) -> OrderStatus:
    return OrderStatus(orderId=o.order_id, status=o.status, filled=size(o.filled), remaining=size(o.remaining),
                       avgFillPrice=o.avg_fill_price, permId=o.perm_id, parentId=o.parent_id,
                       lastFillPrice=o.last_fill_price, clientId=o.client_id, whyHeld=why_held,
                       mktCapPrice=0.0)


def open_order(o: SimOrder, c: ContractSpec, exchange: str, preview: MarginPreview | None) -> OpenOrder:
    order = _order(o)
    order.clientId, order.parentId = o.client_id, o.parent_id
    order.deltaNeutralOpenClose, order.adjustedOrderType = "?", "None"
    order.usePriceMgmtAlgo = 0
    if o.what_if:
        order.whatIf = True
    return OpenOrder(orderId=o.order_id, contract=contract(c, exchange, right="?"), order=order,
                     orderState=_order_state(o.status, preview))


def open_order_end() -> OpenOrdersEnd:
    return OpenOrdersEnd()


def completed_order(o: SimOrder, c: ContractSpec) -> CompletedOrder:
    order = _order(o)
    order.filledQuantity = size(o.filled)
    order.routeMarketableToBbo = 0
    if o.parent_perm_id:
        order.parentPermId = o.parent_perm_id
    state = OrderState(status=o.status, completedTime=o.completed_time, completedStatus=o.completed_status)
    return CompletedOrder(contract=contract(c, c.exchange, right="?"), order=order, orderState=state)


def completed_orders_end() -> CompletedOrdersEnd:
    return CompletedOrdersEnd()


def execution(req_id: int, e: SimExecution, c: ContractSpec) -> ExecutionDetails:
    ex = Execution(orderId=e.order_id, execId=e.exec_id, time=e.time, acctNumber=e.account, exchange=e.exchange,
                   side=e.side, shares=size(e.shares), price=float(e.price), permId=e.perm_id,
                   clientId=e.client_id, isLiquidation=False, cumQty=size(e.cum_qty), avgPrice=float(e.avg_price),
                   orderRef=e.order_ref, evRule="", modelCode="", lastLiquidity=2, isPriceRevisionPending=False,
                   submitter="")
    return ExecutionDetails(reqId=req_id, contract=contract(c, e.exchange), execution=ex)


def execution_end(req_id: int) -> ExecutionDetailsEnd:
    return ExecutionDetailsEnd(reqId=req_id)


def commission_report(exec_id: str, commission: float, currency: str,
                      realized_pnl: float | None) -> CommissionAndFeesReport:
    return CommissionAndFeesReport(execId=exec_id, commissionAndFees=float(commission), currency=currency,
                                   realizedPNL=UNSET_DOUBLE if realized_pnl is None else float(realized_pnl),
                                   bondYield=UNSET_DOUBLE)


# --- account / positions -----------------------------------------------------------

def position(account: str, c: ContractSpec, q: float, avg_cost: float) -> Position:
    return Position(account=account, contract=held(c, c.position_exchange), position=size(q),
                    avgCost=float(avg_cost))


def position_end() -> PositionEnd:
    return PositionEnd()


def position_multi(req_id: int, account: str, c: ContractSpec, q: float, avg_cost: float,
                   model_code: str) -> PositionMulti:
    return PositionMulti(reqId=req_id, account=account, contract=held(c, c.position_exchange),
                         position=size(q), avgCost=float(avg_cost), modelCode=model_code)


def position_multi_end(req_id: int) -> PositionMultiEnd:
    return PositionMultiEnd(reqId=req_id)


def account_summary(req_id: int, account: str, tag: str, value: str, currency: str) -> AccountSummary:
    return AccountSummary(reqId=req_id, account=account, tag=tag, value=value, currency=currency)


def account_summary_end(req_id: int) -> AccountSummaryEnd:
    return AccountSummaryEnd(reqId=req_id)


def account_value(key: str, value: str, currency: str, account: str) -> AccountValue:
    return AccountValue(key=key, value=value, currency=currency, accountName=account)


def portfolio_value(c: ContractSpec, q: float, mkt_price: float, mkt_value: float, avg_cost: float,
                    unrealized: float, realized: float, account: str) -> PortfolioValue:
    return PortfolioValue(contract=held(c, primary=True), position=size(q), marketPrice=float(mkt_price),
                          marketValue=float(mkt_value), averageCost=float(avg_cost),
                          unrealizedPNL=float(unrealized), realizedPNL=float(realized), accountName=account)


def account_time(hhmm: str) -> AccountUpdateTime:
    return AccountUpdateTime(timeStamp=hhmm)


def account_download_end(account: str) -> AccountDataEnd:
    return AccountDataEnd(accountName=account)


def account_update_multi(req_id: int, account: str, model_code: str, key: str, value: str,
                         currency: str) -> AccountUpdateMulti:
    return AccountUpdateMulti(reqId=req_id, account=account, modelCode=model_code, key=key, value=value,
                              currency=currency)


def account_update_multi_end(req_id: int) -> AccountUpdateMultiEnd:
    return AccountUpdateMultiEnd(reqId=req_id)


def pnl(req_id: int, daily: float, unrealized: float, realized: float) -> PnL:
    return PnL(reqId=req_id, dailyPnL=float(daily), unrealizedPnL=float(unrealized), realizedPnL=float(realized))


def pnl_single(req_id: int, pos: float, daily: float, unrealized: float, realized: float,
               value: float) -> PnLSingle:
    return PnLSingle(reqId=req_id, position=size(pos), dailyPnL=float(daily), unrealizedPnL=float(unrealized),
                     realizedPnL=float(realized), value=float(value))
