"""The version from which each reply is protobuf follows ibapi (an ibapi upgrade that moves a
request family to protobuf moves its replies too)."""

from __future__ import annotations

import pytest
from ibapi.client import EClient
from ibapi.decoder import Decoder
from ibapi.message import IN
from ibapi.server_versions import MAX_CLIENT_VER, MIN_SERVER_VER_PROTOBUF, MIN_SERVER_VER_PROTOBUF_REST_MESSAGES_3
from ibapi.wrapper import EWrapper

from platform_adapter.sim.families import PROTOBUF_FROM, REPLY_REQUEST
from tests.sim.wire_oracle import catalogue


def test_every_message_the_simulator_sends_has_a_family_and_no_other_has() -> None:
    assert {msg.msg_id for _, msg in catalogue(MAX_CLIENT_VER)} == set(REPLY_REQUEST) == set(PROTOBUF_FROM)


def test_a_message_has_a_protobuf_builder_exactly_where_ibapi_has_a_protobuf_form() -> None:
    for name, msg in catalogue(MAX_CLIENT_VER):
        assert (msg.proto is not None) == (msg.msg_id in Decoder.msgId2handleInfoProtoBuf), name


@pytest.mark.parametrize("sv", range(MIN_SERVER_VER_PROTOBUF - 2, MAX_CLIENT_VER + 1))
def test_a_reply_is_protobuf_where_stock_ibapi_sends_its_request_as_protobuf(sv: int) -> None:
    """From 213 every reply with a protobuf form is protobuf; before, a reply switches at the
    version where stock EClient starts sending the request it answers as protobuf."""
    client = EClient(EWrapper())
    client.serverVersion_ = sv
    for reply, request in REPLY_REQUEST.items():
        expected = reply in Decoder.msgId2handleInfoProtoBuf and (
            client.useProtoBuf(request) or sv >= MIN_SERVER_VER_PROTOBUF_REST_MESSAGES_3)
        assert (sv >= PROTOBUF_FROM[reply]) == expected, (reply, sv)


@pytest.mark.parametrize("together", [
    (IN.TICK_PRICE, IN.TICK_SIZE, IN.TICK_STRING, IN.TICK_GENERIC, IN.TICK_SNAPSHOT_END, IN.MARKET_DATA_TYPE,
     IN.TICK_REQ_PARAMS, IN.MARKET_DEPTH, IN.MARKET_DEPTH_L2),
    (IN.OPEN_ORDER, IN.ORDER_STATUS),
    (IN.COMPLETED_ORDER, IN.COMPLETED_ORDERS_END),
    (IN.EXECUTION_DATA, IN.COMMISSION_AND_FEES_REPORT, IN.EXECUTION_DATA_END),
    (IN.CONTRACT_DATA, IN.CONTRACT_DATA_END),
    (IN.HISTORICAL_DATA, IN.HISTORICAL_DATA_END, IN.HISTORICAL_DATA_UPDATE, IN.HISTORICAL_SCHEDULE,
     IN.HISTOGRAM_DATA, IN.HISTORICAL_TICKS, IN.HISTORICAL_TICKS_BID_ASK, IN.HISTORICAL_TICKS_LAST, IN.HEAD_TIMESTAMP),
    (IN.NEWS_BULLETINS, IN.NEWS_PROVIDERS, IN.NEWS_ARTICLE, IN.HISTORICAL_NEWS, IN.HISTORICAL_NEWS_END),
    (IN.SCANNER_PARAMETERS, IN.SCANNER_DATA),
    (IN.SECURITY_DEFINITION_OPTION_PARAMETER, IN.SECURITY_DEFINITION_OPTION_PARAMETER_END, IN.SOFT_DOLLAR_TIERS,
     IN.FAMILY_CODES, IN.SYMBOL_SAMPLES, IN.SMART_COMPONENTS, IN.MARKET_RULE, IN.USER_INFO),
    (IN.DISPLAY_GROUP_LIST, IN.DISPLAY_GROUP_UPDATED, IN.MKT_DEPTH_EXCHANGES),
    (IN.POSITION_DATA, IN.POSITION_END, IN.POSITION_MULTI, IN.POSITION_MULTI_END),
    (IN.ACCT_VALUE, IN.PORTFOLIO_VALUE, IN.ACCT_UPDATE_TIME, IN.ACCT_DOWNLOAD_END, IN.ACCOUNT_SUMMARY,
     IN.ACCOUNT_SUMMARY_END, IN.ACCOUNT_UPDATE_MULTI, IN.ACCOUNT_UPDATE_MULTI_END),
    (IN.PNL, IN.PNL_SINGLE),
])
def test_the_messages_of_one_answer_switch_together(together: tuple[int, ...]) -> None:
    assert len({PROTOBUF_FROM[reply] for reply in together}) == 1


def test_nothing_is_protobuf_before_201_and_everything_from_213() -> None:
    assert min(PROTOBUF_FROM.values()) >= MIN_SERVER_VER_PROTOBUF
    assert max(PROTOBUF_FROM.values()) <= MIN_SERVER_VER_PROTOBUF_REST_MESSAGES_3
