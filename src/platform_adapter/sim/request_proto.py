"""Requests in the protobuf protocol: a body parsed with ibapi's generated ``*_pb2`` classes.

ibapi's ``client_utils`` leaves a field out of the message when it has its default or unset
value (0, "", False, UNSET_*), so an absent field reads as the protobuf default here, and as
``None`` where the typed request has an optional number.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from google.protobuf.message import DecodeError
from ibapi.decoder_utils import decodeConditions
from ibapi.message import OUT
from ibapi.protobuf.AccountDataRequest_pb2 import AccountDataRequest
from ibapi.protobuf.AccountSummaryRequest_pb2 import AccountSummaryRequest
from ibapi.protobuf.AccountUpdatesMultiRequest_pb2 import AccountUpdatesMultiRequest
from ibapi.protobuf.AllOpenOrdersRequest_pb2 import AllOpenOrdersRequest
from ibapi.protobuf.AutoOpenOrdersRequest_pb2 import AutoOpenOrdersRequest
from ibapi.protobuf.CancelAccountSummary_pb2 import CancelAccountSummary
from ibapi.protobuf.CancelAccountUpdatesMulti_pb2 import CancelAccountUpdatesMulti
from ibapi.protobuf.CancelHistoricalData_pb2 import CancelHistoricalData
from ibapi.protobuf.CancelMarketData_pb2 import CancelMarketData
from ibapi.protobuf.CancelOrderRequest_pb2 import CancelOrderRequest
from ibapi.protobuf.CancelPnL_pb2 import CancelPnL
from ibapi.protobuf.CancelPnLSingle_pb2 import CancelPnLSingle
from ibapi.protobuf.CancelPositions_pb2 import CancelPositions
from ibapi.protobuf.CancelPositionsMulti_pb2 import CancelPositionsMulti
from ibapi.protobuf.CancelRealTimeBars_pb2 import CancelRealTimeBars
from ibapi.protobuf.CancelTickByTick_pb2 import CancelTickByTick
from ibapi.protobuf.CompletedOrdersRequest_pb2 import CompletedOrdersRequest
from ibapi.protobuf.ContractDataRequest_pb2 import ContractDataRequest
from ibapi.protobuf.CurrentTimeInMillisRequest_pb2 import CurrentTimeInMillisRequest
from ibapi.protobuf.CurrentTimeRequest_pb2 import CurrentTimeRequest
from ibapi.protobuf.ExecutionRequest_pb2 import ExecutionRequest
from ibapi.protobuf.GlobalCancelRequest_pb2 import GlobalCancelRequest
from ibapi.protobuf.HeadTimestampRequest_pb2 import HeadTimestampRequest
from ibapi.protobuf.HistoricalDataRequest_pb2 import HistoricalDataRequest
from ibapi.protobuf.IdsRequest_pb2 import IdsRequest
from ibapi.protobuf.ManagedAccountsRequest_pb2 import ManagedAccountsRequest
from ibapi.protobuf.MarketDataRequest_pb2 import MarketDataRequest
from ibapi.protobuf.MarketDataTypeRequest_pb2 import MarketDataTypeRequest
from ibapi.protobuf.OpenOrdersRequest_pb2 import OpenOrdersRequest
from ibapi.protobuf.PlaceOrderRequest_pb2 import PlaceOrderRequest
from ibapi.protobuf.PnLRequest_pb2 import PnLRequest
from ibapi.protobuf.PnLSingleRequest_pb2 import PnLSingleRequest
from ibapi.protobuf.PositionsMultiRequest_pb2 import PositionsMultiRequest
from ibapi.protobuf.PositionsRequest_pb2 import PositionsRequest
from ibapi.protobuf.RealTimeBarsRequest_pb2 import RealTimeBarsRequest
from ibapi.protobuf.StartApiRequest_pb2 import StartApiRequest
from ibapi.protobuf.TickByTickRequest_pb2 import TickByTickRequest

from . import requests as r
from .proto_fields import ProtoParser, contract_query, opt
from .request_info_proto import INFO_PROTO_PARSERS


def _conditions(order: Any) -> tuple[r.OrderCondition, ...]:
    """Order conditions as ibapi's text encoder renders them (see ``OrderCondition``)."""
    return tuple(r.OrderCondition(c.type(), tuple(f.rstrip("\0") for f in c.make_fields()))
                 for c in decodeConditions(order))


def _place_order(p: Any) -> r.PlaceOrder:
    o = p.order
    try:
        quantity = Decimal(o.totalQuantity or "0")
    except InvalidOperation:
        raise r.ParseError(f"totalQuantity {o.totalQuantity!r} is not a decimal", str(o.totalQuantity),
                           "totalQuantity") from None
    conditions = _conditions(o)
    return r.PlaceOrder(
        order_id=p.orderId, contract=contract_query(p), action=o.action, total_quantity=quantity,
        order_type=o.orderType, lmt_price=opt(o, "lmtPrice"), aux_price=opt(o, "auxPrice"),
        tif=o.tif, oca_group=o.ocaGroup, account=o.account, order_ref=o.orderRef,
        transmit=o.transmit, parent_id=o.parentId, outside_rth=o.outsideRth,
        good_till_date=o.goodTillDate, oca_type=o.ocaType,
        trail_stop_price=opt(o, "trailStopPrice"), trailing_percent=opt(o, "trailingPercent"),
        what_if=o.whatIf, conditions=conditions,
        # the text layout carries the two condition flags only with conditions; so does this
        conditions_ignore_rth=bool(conditions) and o.conditionsIgnoreRth,
        conditions_cancel_order=bool(conditions) and o.conditionsCancelOrder,
        lmt_price_offset=opt(o, "lmtPriceOffset"))


def _executions(p: Any) -> r.ReqExecutions:
    f = p.executionFilter
    return r.ReqExecutions(p.reqId, f.clientId, f.acctCode, f.time, f.symbol, f.secType,
                           f.exchange, f.side, opt(f, "lastNDays"), tuple(f.specificDates))


def _cancel(p: Any) -> tuple[str, str, int | None]:
    c = p.orderCancel
    return c.manualOrderCancelTime, c.extOperator, opt(c, "manualOrderIndicator")


PROTO_PARSERS: dict[int, ProtoParser] = {
    OUT.START_API: (StartApiRequest, lambda p: r.StartApi(p.clientId, p.optionalCapabilities)),
    OUT.REQ_MKT_DATA: (MarketDataRequest, lambda p: r.ReqMktData(
        p.reqId, contract_query(p), p.genericTickList, p.snapshot, p.regulatorySnapshot)),
    OUT.CANCEL_MKT_DATA: (CancelMarketData, lambda p: r.CancelMktData(p.reqId)),
    OUT.PLACE_ORDER: (PlaceOrderRequest, _place_order),
    OUT.CANCEL_ORDER: (CancelOrderRequest, lambda p: r.CancelOrder(p.orderId, *_cancel(p))),
    OUT.REQ_GLOBAL_CANCEL: (GlobalCancelRequest, lambda p: r.ReqGlobalCancel(*_cancel(p)[1:])),
    OUT.REQ_OPEN_ORDERS: (OpenOrdersRequest, lambda p: r.ReqOpenOrders()),
    OUT.REQ_ALL_OPEN_ORDERS: (AllOpenOrdersRequest, lambda p: r.ReqAllOpenOrders()),
    OUT.REQ_AUTO_OPEN_ORDERS: (AutoOpenOrdersRequest, lambda p: r.ReqAutoOpenOrders(p.autoBind)),
    OUT.REQ_COMPLETED_ORDERS: (CompletedOrdersRequest, lambda p: r.ReqCompletedOrders(p.apiOnly)),
    OUT.REQ_IDS: (IdsRequest, lambda p: r.ReqIds(p.numIds)),
    OUT.REQ_CONTRACT_DATA: (ContractDataRequest, lambda p: r.ReqContractDetails(
        p.reqId, contract_query(p), p.contract.includeExpired, p.contract.secIdType, p.contract.secId,
        p.contract.issuerId)),
    OUT.REQ_MANAGED_ACCTS: (ManagedAccountsRequest, lambda p: r.ReqManagedAccts()),
    OUT.REQ_CURRENT_TIME: (CurrentTimeRequest, lambda p: r.ReqCurrentTime()),
    OUT.REQ_CURRENT_TIME_IN_MILLIS: (CurrentTimeInMillisRequest, lambda p: r.ReqCurrentTimeInMillis()),
    OUT.REQ_HISTORICAL_DATA: (HistoricalDataRequest, lambda p: r.ReqHistoricalData(
        p.reqId, contract_query(p), p.endDateTime, p.duration, p.barSizeSetting, p.whatToShow,
        p.useRTH, p.formatDate, p.keepUpToDate, p.contract.includeExpired)),
    OUT.CANCEL_HISTORICAL_DATA: (CancelHistoricalData, lambda p: r.CancelHistoricalData(p.reqId)),
    OUT.REQ_HEAD_TIMESTAMP: (HeadTimestampRequest, lambda p: r.ReqHeadTimeStamp(
        p.reqId, contract_query(p), p.whatToShow, p.useRTH, p.formatDate, p.contract.includeExpired)),
    OUT.REQ_REAL_TIME_BARS: (RealTimeBarsRequest, lambda p: r.ReqRealTimeBars(
        p.reqId, contract_query(p), p.barSize, p.whatToShow, p.useRTH)),
    OUT.CANCEL_REAL_TIME_BARS: (CancelRealTimeBars, lambda p: r.CancelRealTimeBars(p.reqId)),
    OUT.REQ_TICK_BY_TICK_DATA: (TickByTickRequest, lambda p: r.ReqTickByTickData(
        p.reqId, contract_query(p), p.tickType, p.numberOfTicks, p.ignoreSize)),
    OUT.CANCEL_TICK_BY_TICK_DATA: (CancelTickByTick, lambda p: r.CancelTickByTickData(p.reqId)),
    OUT.REQ_MARKET_DATA_TYPE: (MarketDataTypeRequest, lambda p: r.ReqMarketDataType(p.marketDataType)),
    OUT.REQ_POSITIONS: (PositionsRequest, lambda p: r.ReqPositions()),
    OUT.CANCEL_POSITIONS: (CancelPositions, lambda p: r.CancelPositions()),
    OUT.REQ_ACCOUNT_SUMMARY: (AccountSummaryRequest, lambda p: r.ReqAccountSummary(
        p.reqId, p.group, p.tags)),
    OUT.CANCEL_ACCOUNT_SUMMARY: (CancelAccountSummary, lambda p: r.CancelAccountSummary(p.reqId)),
    OUT.REQ_ACCT_DATA: (AccountDataRequest, lambda p: r.ReqAccountUpdates(p.subscribe, p.acctCode)),
    OUT.REQ_EXECUTIONS: (ExecutionRequest, _executions),
    OUT.REQ_POSITIONS_MULTI: (PositionsMultiRequest, lambda p: r.ReqPositionsMulti(
        p.reqId, p.account, p.modelCode)),
    OUT.CANCEL_POSITIONS_MULTI: (CancelPositionsMulti, lambda p: r.CancelPositionsMulti(p.reqId)),
    OUT.REQ_ACCOUNT_UPDATES_MULTI: (AccountUpdatesMultiRequest, lambda p: r.ReqAccountUpdatesMulti(
        p.reqId, p.account, p.modelCode, p.ledgerAndNLV)),
    OUT.CANCEL_ACCOUNT_UPDATES_MULTI: (CancelAccountUpdatesMulti,
                                       lambda p: r.CancelAccountUpdatesMulti(p.reqId)),
    OUT.REQ_PNL: (PnLRequest, lambda p: r.ReqPnL(p.reqId, p.account, p.modelCode)),
    OUT.CANCEL_PNL: (CancelPnL, lambda p: r.CancelPnL(p.reqId)),
    OUT.REQ_PNL_SINGLE: (PnLSingleRequest, lambda p: r.ReqPnLSingle(
        p.reqId, p.account, p.modelCode, p.conId)),
    OUT.CANCEL_PNL_SINGLE: (CancelPnLSingle, lambda p: r.CancelPnLSingle(p.reqId)),
    **INFO_PROTO_PARSERS,
}


def parse_proto(msg_id: int, body: bytes) -> r.Request | None:
    """The typed request of message ``msg_id`` (the real id, wire id - 200) from its protobuf
    body, or None for a message the simulator does not serve."""
    entry = PROTO_PARSERS.get(msg_id)
    if entry is None:
        return None
    cls, build = entry
    msg = cls()
    try:
        msg.ParseFromString(body)
        return build(msg)
    except DecodeError as e:
        raise r.ParseError(f"protobuf body does not parse: {e}") from None
    except r.ParseError:
        raise
    except Exception as e:  # noqa: BLE001 - ibapi's converters fail in their own ways
        raise r.ParseError(f"protobuf body not usable: {e!r}") from None
