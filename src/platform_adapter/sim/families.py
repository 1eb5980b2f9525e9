"""From which server version each reply goes out as protobuf, derived from ibapi at import time.

ibapi switches each request family to protobuf at ``getServerVersionForMessage(OUT id)``; the
gateway answers a family in protobuf from that same version. Which request a reply answers is our
own domain fact (``REPLY_REQUEST``). From ``MIN_SERVER_VER_PROTOBUF_REST_MESSAGES_3`` (213) every
reply that has a protobuf form (a handler in ibapi's ``Decoder.msgId2handleInfoProtoBuf``) is
protobuf, whichever request it answers.
"""

from __future__ import annotations

import math

from ibapi.common import getServerVersionForMessage
from ibapi.decoder import Decoder
from ibapi.message import IN, OUT
from ibapi.server_versions import MIN_SERVER_VER_PROTOBUF_REST_MESSAGES_3

ALL_PROTOBUF_FROM = MIN_SERVER_VER_PROTOBUF_REST_MESSAGES_3

# reply (IN id) the simulator sends -> the request (OUT id) it answers
REPLY_REQUEST: dict[int, int] = {
    # market data
    IN.TICK_PRICE: OUT.REQ_MKT_DATA,
    IN.TICK_SIZE: OUT.REQ_MKT_DATA,
    IN.TICK_STRING: OUT.REQ_MKT_DATA,
    IN.TICK_GENERIC: OUT.REQ_MKT_DATA,
    IN.TICK_SNAPSHOT_END: OUT.REQ_MKT_DATA,
    IN.MARKET_DATA_TYPE: OUT.REQ_MARKET_DATA_TYPE,
    IN.TICK_BY_TICK: OUT.REQ_TICK_BY_TICK_DATA,
    IN.REAL_TIME_BARS: OUT.REQ_REAL_TIME_BARS,
    IN.HISTORICAL_DATA: OUT.REQ_HISTORICAL_DATA,
    IN.HISTORICAL_DATA_END: OUT.REQ_HISTORICAL_DATA,
    IN.HISTORICAL_DATA_UPDATE: OUT.REQ_HISTORICAL_DATA,
    IN.HEAD_TIMESTAMP: OUT.REQ_HEAD_TIMESTAMP,
    IN.CONTRACT_DATA: OUT.REQ_CONTRACT_DATA,
    IN.CONTRACT_DATA_END: OUT.REQ_CONTRACT_DATA,
    # orders: an error is most often an order's answer (rejected, cancelled, cannot modify)
    IN.OPEN_ORDER: OUT.PLACE_ORDER,
    IN.ORDER_STATUS: OUT.PLACE_ORDER,
    IN.ERR_MSG: OUT.PLACE_ORDER,
    IN.OPEN_ORDER_END: OUT.REQ_OPEN_ORDERS,
    IN.COMPLETED_ORDER: OUT.REQ_COMPLETED_ORDERS,
    IN.COMPLETED_ORDERS_END: OUT.REQ_COMPLETED_ORDERS,
    IN.EXECUTION_DATA: OUT.REQ_EXECUTIONS,
    IN.EXECUTION_DATA_END: OUT.REQ_EXECUTIONS,
    IN.COMMISSION_AND_FEES_REPORT: OUT.REQ_EXECUTIONS,
    # account and positions
    IN.MANAGED_ACCTS: OUT.REQ_MANAGED_ACCTS,
    IN.ACCT_VALUE: OUT.REQ_ACCT_DATA,
    IN.PORTFOLIO_VALUE: OUT.REQ_ACCT_DATA,
    IN.ACCT_UPDATE_TIME: OUT.REQ_ACCT_DATA,
    IN.ACCT_DOWNLOAD_END: OUT.REQ_ACCT_DATA,
    IN.POSITION_DATA: OUT.REQ_POSITIONS,
    IN.POSITION_END: OUT.REQ_POSITIONS,
    IN.POSITION_MULTI: OUT.REQ_POSITIONS_MULTI,
    IN.POSITION_MULTI_END: OUT.REQ_POSITIONS_MULTI,
    IN.ACCOUNT_SUMMARY: OUT.REQ_ACCOUNT_SUMMARY,
    IN.ACCOUNT_SUMMARY_END: OUT.REQ_ACCOUNT_SUMMARY,
    IN.ACCOUNT_UPDATE_MULTI: OUT.REQ_ACCOUNT_UPDATES_MULTI,
    IN.ACCOUNT_UPDATE_MULTI_END: OUT.REQ_ACCOUNT_UPDATES_MULTI,
    IN.PNL: OUT.REQ_PNL,
    IN.PNL_SINGLE: OUT.REQ_PNL_SINGLE,
    # connection
    IN.NEXT_VALID_ID: OUT.REQ_IDS,
    IN.CURRENT_TIME: OUT.REQ_CURRENT_TIME,
    IN.CURRENT_TIME_IN_MILLIS: OUT.REQ_CURRENT_TIME_IN_MILLIS,
}


def _protobuf_from(reply: int) -> float:
    if reply not in Decoder.msgId2handleInfoProtoBuf:
        return math.inf
    return min(getServerVersionForMessage(REPLY_REQUEST[reply]), ALL_PROTOBUF_FROM)


# reply (IN id) -> first server version at which it is sent as protobuf (inf: never)
PROTOBUF_FROM: dict[int, float] = {reply: _protobuf_from(reply) for reply in REPLY_REQUEST}
