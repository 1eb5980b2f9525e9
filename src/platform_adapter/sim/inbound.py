"""Inbound frames: which request a frame carries, in which form, and its typed request.

Below server version 201 a frame's payload is NUL-terminated text fields, the message id first.
From 201 (ibapi's MIN_SERVER_VER_PROTOBUF) it starts with a 4-byte big-endian message id: above
200 the rest is a protobuf body of message id - 200, else the text fields without the id. Both
forms are accepted for every request at any version from 201, whichever ibapi itself would send.
"""

from __future__ import annotations

from dataclasses import dataclass

from ibapi.common import PROTOBUF_MSG_ID
from ibapi.message import OUT
from ibapi.server_versions import MIN_SERVER_VER_PROTOBUF

from .protocol import split_fields
from .request_proto import parse_proto
from .request_text import parse_text
from .requests import ParseError, Request

MSG_NAMES: dict[int, str] = {
    OUT.REQ_MKT_DATA: "reqMktData", OUT.CANCEL_MKT_DATA: "cancelMktData",
    OUT.PLACE_ORDER: "placeOrder", OUT.CANCEL_ORDER: "cancelOrder",
    OUT.REQ_OPEN_ORDERS: "reqOpenOrders", OUT.REQ_ACCT_DATA: "reqAccountUpdates",
    OUT.REQ_EXECUTIONS: "reqExecutions", OUT.REQ_IDS: "reqIds",
    OUT.REQ_CONTRACT_DATA: "reqContractDetails", OUT.REQ_AUTO_OPEN_ORDERS: "reqAutoOpenOrders",
    OUT.REQ_ALL_OPEN_ORDERS: "reqAllOpenOrders", OUT.REQ_MANAGED_ACCTS: "reqManagedAccts",
    OUT.REQ_HISTORICAL_DATA: "reqHistoricalData", OUT.CANCEL_HISTORICAL_DATA: "cancelHistoricalData",
    OUT.REQ_CURRENT_TIME: "reqCurrentTime", OUT.REQ_REAL_TIME_BARS: "reqRealTimeBars",
    OUT.CANCEL_REAL_TIME_BARS: "cancelRealTimeBars", OUT.REQ_GLOBAL_CANCEL: "reqGlobalCancel",
    OUT.REQ_MARKET_DATA_TYPE: "reqMarketDataType", OUT.REQ_POSITIONS: "reqPositions",
    OUT.REQ_ACCOUNT_SUMMARY: "reqAccountSummary", OUT.CANCEL_ACCOUNT_SUMMARY: "cancelAccountSummary",
    OUT.CANCEL_POSITIONS: "cancelPositions", OUT.START_API: "startApi",
    OUT.REQ_POSITIONS_MULTI: "reqPositionsMulti", OUT.CANCEL_POSITIONS_MULTI: "cancelPositionsMulti",
    OUT.REQ_ACCOUNT_UPDATES_MULTI: "reqAccountUpdatesMulti",
    OUT.CANCEL_ACCOUNT_UPDATES_MULTI: "cancelAccountUpdatesMulti",
    OUT.REQ_HEAD_TIMESTAMP: "reqHeadTimeStamp", OUT.REQ_PNL: "reqPnL", OUT.CANCEL_PNL: "cancelPnL",
    OUT.REQ_PNL_SINGLE: "reqPnLSingle", OUT.CANCEL_PNL_SINGLE: "cancelPnLSingle",
    OUT.REQ_TICK_BY_TICK_DATA: "reqTickByTickData",
    OUT.CANCEL_TICK_BY_TICK_DATA: "cancelTickByTickData",
    OUT.REQ_COMPLETED_ORDERS: "reqCompletedOrders",
    OUT.REQ_CURRENT_TIME_IN_MILLIS: "reqCurrentTimeInMillis",
    OUT.REQ_MKT_DEPTH: "reqMktDepth", OUT.CANCEL_MKT_DEPTH: "cancelMktDepth",
    OUT.REQ_MKT_DEPTH_EXCHANGES: "reqMktDepthExchanges", OUT.REQ_SMART_COMPONENTS: "reqSmartComponents",
    OUT.REQ_MARKET_RULE: "reqMarketRule", OUT.REQ_MATCHING_SYMBOLS: "reqMatchingSymbols",
    OUT.REQ_SEC_DEF_OPT_PARAMS: "reqSecDefOptParams", OUT.REQ_FAMILY_CODES: "reqFamilyCodes",
    OUT.REQ_SOFT_DOLLAR_TIERS: "reqSoftDollarTiers", OUT.REQ_USER_INFO: "reqUserInfo",
    OUT.CANCEL_HEAD_TIMESTAMP: "cancelHeadTimeStamp", OUT.REQ_HISTOGRAM_DATA: "reqHistogramData",
    OUT.CANCEL_HISTOGRAM_DATA: "cancelHistogramData", OUT.REQ_HISTORICAL_TICKS: "reqHistoricalTicks",
    OUT.CANCEL_HISTORICAL_TICKS: "cancelHistoricalTicks", OUT.CANCEL_CONTRACT_DATA: "cancelContractData",
    OUT.REQ_NEWS_BULLETINS: "reqNewsBulletins", OUT.CANCEL_NEWS_BULLETINS: "cancelNewsBulletins",
    OUT.REQ_NEWS_PROVIDERS: "reqNewsProviders", OUT.REQ_NEWS_ARTICLE: "reqNewsArticle",
    OUT.REQ_HISTORICAL_NEWS: "reqHistoricalNews", OUT.REQ_WSH_META_DATA: "reqWshMetaData",
    OUT.CANCEL_WSH_META_DATA: "cancelWshMetaData", OUT.REQ_WSH_EVENT_DATA: "reqWshEventData",
    OUT.CANCEL_WSH_EVENT_DATA: "cancelWshEventData", OUT.REQ_SCANNER_PARAMETERS: "reqScannerParameters",
    OUT.REQ_SCANNER_SUBSCRIPTION: "reqScannerSubscription",
    OUT.CANCEL_SCANNER_SUBSCRIPTION: "cancelScannerSubscription",
    OUT.REQ_CALC_IMPLIED_VOLAT: "calculateImpliedVolatility", OUT.REQ_CALC_OPTION_PRICE: "calculateOptionPrice",
    OUT.CANCEL_CALC_IMPLIED_VOLAT: "cancelCalculateImpliedVolatility",
    OUT.CANCEL_CALC_OPTION_PRICE: "cancelCalculateOptionPrice", OUT.EXERCISE_OPTIONS: "exerciseOptions",
    OUT.REQ_FA: "requestFA", OUT.REPLACE_FA: "replaceFA", OUT.QUERY_DISPLAY_GROUPS: "queryDisplayGroups",
    OUT.SUBSCRIBE_TO_GROUP_EVENTS: "subscribeToGroupEvents", OUT.UPDATE_DISPLAY_GROUP: "updateDisplayGroup",
    OUT.UNSUBSCRIBE_FROM_GROUP_EVENTS: "unsubscribeFromGroupEvents", OUT.VERIFY_REQUEST: "verifyRequest",
    OUT.VERIFY_MESSAGE: "verifyMessage", OUT.VERIFY_AND_AUTH_REQUEST: "verifyAndAuthRequest",
    OUT.VERIFY_AND_AUTH_MESSAGE: "verifyAndAuthMessage", OUT.SET_SERVER_LOGLEVEL: "setServerLogLevel",
    OUT.REQ_CONFIG: "reqConfig", OUT.UPDATE_CONFIG: "updateConfig",
}


@dataclass(frozen=True, slots=True)
class Inbound:
    """One received frame: the (real) message id and its body in either form."""

    msg_id: int
    proto: bool
    body: bytes = b""  # the protobuf body
    fields: tuple[str, ...] = ()  # the text fields after the message id

    @property
    def name(self) -> str:
        """The request's name (``msgN`` for a message the simulator does not know)."""
        return MSG_NAMES.get(self.msg_id, f"msg{self.msg_id}")

    @property
    def form(self) -> str:
        """"protobuf" or "text", for log lines."""
        return "protobuf" if self.proto else "text"

    def parse(self, sv: int) -> Request | None:
        """The typed request (None for a message the simulator does not serve); raises
        ``ParseError`` for a body that cannot be read at server version ``sv``."""
        if self.proto:
            return parse_proto(self.msg_id, self.body)
        return parse_text(self.msg_id, self.fields, sv)


def split_frame(payload: bytes, sv: int) -> Inbound:
    """The message id and body of one frame's payload at server version ``sv``."""
    if sv >= MIN_SERVER_VER_PROTOBUF:
        if len(payload) < 4:
            raise ParseError(f"frame of {len(payload)} bytes has no message id")
        wire_id = int.from_bytes(payload[:4], "big")
        if wire_id > PROTOBUF_MSG_ID:
            return Inbound(wire_id - PROTOBUF_MSG_ID, True, body=payload[4:])
        return Inbound(wire_id, False, fields=tuple(split_fields(payload[4:])))
    fields = split_fields(payload)
    if not fields or not fields[0].isdigit():
        raise ParseError(f"text frame without a message id: {fields[:3]}")
    return Inbound(int(fields[0]), False, fields=tuple(fields[1:]))
