"""Requests in the text protocol: the fields after the message id, read at a server version.

Layouts are those of ibapi's ``EClient`` encoder (``client.py``) for server versions from the
simulator's minimum (100) up; every version test below that minimum always holds and is left out.
A request with too few fields, too many, or a number that does not parse is a ``ParseError``.
"""

from __future__ import annotations

from collections.abc import Sequence

from ibapi.message import OUT
from ibapi.server_versions import (
    MIN_SERVER_VER_BOND_ISSUERID,
    MIN_SERVER_VER_CME_TAGGING_FIELDS,
    MIN_SERVER_VER_MANUAL_ORDER_TIME,
    MIN_SERVER_VER_PARAMETRIZED_DAYS_OF_EXECUTIONS,
    MIN_SERVER_VER_REQ_SMART_COMPONENTS,
    MIN_SERVER_VER_RFQ_FIELDS,
    MIN_SERVER_VER_SYNT_REALTIME_BARS,
    MIN_SERVER_VER_UNDO_RFQ_FIELDS,
)

from . import requests as r
from .request_info_text import INFO_TEXT_PARSERS
from .request_order_text import place_order
from .text_cursor import Cursor, TextParser, plain, versioned


def _start_api(c: Cursor, sv: int) -> r.StartApi:
    c.skip()  # version
    return r.StartApi(client_id=c.integer(), optional_capabilities=c.string())


def _req_mkt_data(c: Cursor, sv: int) -> r.ReqMktData:
    c.skip()
    req_id, contract = c.integer(), c.contract()
    if contract.sec_type == "BAG":
        c.skip(4 * c.integer())  # combo legs: conId, ratio, action, exchange
    if c.flag():  # delta neutral contract: conId, delta, price
        c.skip(3)
    generic_tick_list, snapshot = c.string(), c.flag()
    regulatory_snapshot = c.flag() if sv >= MIN_SERVER_VER_REQ_SMART_COMPONENTS else False
    req = r.ReqMktData(req_id, contract, generic_tick_list, snapshot, regulatory_snapshot)
    c.skip()  # market data options (always empty)
    return req


def _cancel_order(c: Cursor, sv: int) -> r.CancelOrder:
    # from CME_TAGGING_FIELDS (192) ibapi no longer sends the version field
    if sv < MIN_SERVER_VER_CME_TAGGING_FIELDS:
        c.skip()
    order_id = c.integer()
    cancel_time = c.string() if sv >= MIN_SERVER_VER_MANUAL_ORDER_TIME else ""
    if MIN_SERVER_VER_RFQ_FIELDS <= sv < MIN_SERVER_VER_UNDO_RFQ_FIELDS:
        c.skip(3)
    if sv >= MIN_SERVER_VER_CME_TAGGING_FIELDS:
        return r.CancelOrder(order_id, cancel_time, c.string(), c.opt_integer())
    return r.CancelOrder(order_id, cancel_time)


def _req_global_cancel(c: Cursor, sv: int) -> r.ReqGlobalCancel:
    if sv < MIN_SERVER_VER_CME_TAGGING_FIELDS:
        c.skip()
        return r.ReqGlobalCancel()
    return r.ReqGlobalCancel(c.string(), c.opt_integer())


def _req_contract_details(c: Cursor, sv: int) -> r.ReqContractDetails:
    c.skip()
    req_id, contract, include_expired = c.integer(), c.contract(), c.flag()
    sec_id_type, sec_id = c.string(), c.string()
    issuer_id = c.string() if sv >= MIN_SERVER_VER_BOND_ISSUERID else ""
    return r.ReqContractDetails(req_id, contract, include_expired, sec_id_type, sec_id, issuer_id)


def _req_historical_data(c: Cursor, sv: int) -> r.ReqHistoricalData:
    if sv < MIN_SERVER_VER_SYNT_REALTIME_BARS:
        c.skip()  # version
    req_id, contract, include_expired = c.integer(), c.contract(), c.flag()
    end, bar_size, duration = c.string(), c.string(), c.string()
    use_rth, what_to_show, format_date = c.flag(), c.string(), c.integer()
    if contract.sec_type == "BAG":
        c.skip(4 * c.integer())
    keep_up_to_date = c.flag() if sv >= MIN_SERVER_VER_SYNT_REALTIME_BARS else False
    c.skip()  # chart options
    return r.ReqHistoricalData(req_id, contract, end, duration, bar_size, what_to_show, use_rth,
                               format_date, keep_up_to_date, include_expired)


def _req_head_timestamp(c: Cursor, sv: int) -> r.ReqHeadTimeStamp:
    req_id, contract, include_expired = c.integer(), c.contract(), c.flag()
    use_rth, what_to_show, format_date = c.flag(), c.string(), c.integer()
    return r.ReqHeadTimeStamp(req_id, contract, what_to_show, use_rth, format_date, include_expired)


def _req_real_time_bars(c: Cursor, sv: int) -> r.ReqRealTimeBars:
    c.skip()
    req = r.ReqRealTimeBars(req_id=c.integer(), contract=c.contract(), bar_size=c.integer(),
                            what_to_show=c.string(), use_rth=c.flag())
    c.skip()  # real-time bars options
    return req


def _req_tick_by_tick(c: Cursor, sv: int) -> r.ReqTickByTickData:
    return r.ReqTickByTickData(req_id=c.integer(), contract=c.contract(), tick_type=c.string(),
                               number_of_ticks=c.integer(), ignore_size=c.flag())


def _req_executions(c: Cursor, sv: int) -> r.ReqExecutions:
    c.skip()
    req_id, client_id = c.integer(), c.integer()
    acct, time, symbol, sec_type, exchange, side = (c.string() for _ in range(6))
    if sv < MIN_SERVER_VER_PARAMETRIZED_DAYS_OF_EXECUTIONS:
        return r.ReqExecutions(req_id, client_id, acct, time, symbol, sec_type, exchange, side)
    last_n_days = c.opt_integer()
    dates = tuple(c.integer() for _ in range(c.integer()))
    return r.ReqExecutions(req_id, client_id, acct, time, symbol, sec_type, exchange, side,
                           last_n_days, dates)


TEXT_PARSERS: dict[int, TextParser] = {
    OUT.START_API: _start_api,
    OUT.REQ_MKT_DATA: _req_mkt_data,
    OUT.CANCEL_MKT_DATA: versioned(lambda c: r.CancelMktData(c.integer())),
    OUT.PLACE_ORDER: place_order,
    OUT.CANCEL_ORDER: _cancel_order,
    OUT.REQ_GLOBAL_CANCEL: _req_global_cancel,
    OUT.REQ_OPEN_ORDERS: versioned(lambda c: r.ReqOpenOrders()),
    OUT.REQ_ALL_OPEN_ORDERS: versioned(lambda c: r.ReqAllOpenOrders()),
    OUT.REQ_AUTO_OPEN_ORDERS: versioned(lambda c: r.ReqAutoOpenOrders(c.flag())),
    OUT.REQ_COMPLETED_ORDERS: plain(lambda c: r.ReqCompletedOrders(c.flag())),
    OUT.REQ_IDS: versioned(lambda c: r.ReqIds(c.integer())),
    OUT.REQ_CONTRACT_DATA: _req_contract_details,
    OUT.REQ_MANAGED_ACCTS: versioned(lambda c: r.ReqManagedAccts()),
    OUT.REQ_CURRENT_TIME: versioned(lambda c: r.ReqCurrentTime()),
    OUT.REQ_CURRENT_TIME_IN_MILLIS: plain(lambda c: r.ReqCurrentTimeInMillis()),
    OUT.REQ_HISTORICAL_DATA: _req_historical_data,
    OUT.CANCEL_HISTORICAL_DATA: versioned(lambda c: r.CancelHistoricalData(c.integer())),
    OUT.REQ_HEAD_TIMESTAMP: _req_head_timestamp,
    OUT.REQ_REAL_TIME_BARS: _req_real_time_bars,
    OUT.CANCEL_REAL_TIME_BARS: versioned(lambda c: r.CancelRealTimeBars(c.integer())),
    OUT.REQ_TICK_BY_TICK_DATA: _req_tick_by_tick,
    OUT.CANCEL_TICK_BY_TICK_DATA: plain(lambda c: r.CancelTickByTickData(c.integer())),
    OUT.REQ_MARKET_DATA_TYPE: versioned(lambda c: r.ReqMarketDataType(c.integer())),
    OUT.REQ_POSITIONS: versioned(lambda c: r.ReqPositions()),
    OUT.CANCEL_POSITIONS: versioned(lambda c: r.CancelPositions()),
    OUT.REQ_ACCOUNT_SUMMARY: versioned(
        lambda c: r.ReqAccountSummary(c.integer(), c.string(), c.string())),
    OUT.CANCEL_ACCOUNT_SUMMARY: versioned(lambda c: r.CancelAccountSummary(c.integer())),
    OUT.REQ_ACCT_DATA: versioned(lambda c: r.ReqAccountUpdates(c.flag(), c.string())),
    OUT.REQ_EXECUTIONS: _req_executions,
    OUT.REQ_POSITIONS_MULTI: versioned(
        lambda c: r.ReqPositionsMulti(c.integer(), c.string(), c.string())),
    OUT.CANCEL_POSITIONS_MULTI: versioned(lambda c: r.CancelPositionsMulti(c.integer())),
    OUT.REQ_ACCOUNT_UPDATES_MULTI: versioned(
        lambda c: r.ReqAccountUpdatesMulti(c.integer(), c.string(), c.string(), c.flag())),
    OUT.CANCEL_ACCOUNT_UPDATES_MULTI: versioned(lambda c: r.CancelAccountUpdatesMulti(c.integer())),
    OUT.REQ_PNL: plain(lambda c: r.ReqPnL(c.integer(), c.string(), c.string())),
    OUT.CANCEL_PNL: plain(lambda c: r.CancelPnL(c.integer())),
    OUT.REQ_PNL_SINGLE: plain(
        lambda c: r.ReqPnLSingle(c.integer(), c.string(), c.string(), c.integer())),
    OUT.CANCEL_PNL_SINGLE: plain(lambda c: r.CancelPnLSingle(c.integer())),
    **INFO_TEXT_PARSERS,
}


def parse_text(msg_id: int, fields: Sequence[str], sv: int) -> r.Request | None:
    """The typed request of message ``msg_id`` from its text fields (without the id), or None
    for a message the simulator does not serve."""
    parser = TEXT_PARSERS.get(msg_id)
    if parser is None:
        return None
    cursor = Cursor(fields)
    request = parser(cursor, sv)
    cursor.end()
    return request
