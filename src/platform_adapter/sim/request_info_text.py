"""The text layouts of the families in ``info_requests``, as ibapi's ``EClient`` writes them from
server version 100 (version tests below that always hold and are left out). ``cancelContractData``,
``cancelHistoricalTicks``, ``reqConfig`` and ``updateConfig`` exist only as protobuf."""

from __future__ import annotations

from ibapi.const import NO_VALID_ID
from ibapi.message import OUT
from ibapi.server_versions import (
    MIN_SERVER_VER_CUSTOMER_ACCOUNT,
    MIN_SERVER_VER_MANUAL_ORDER_TIME_EXERCISE_OPTIONS,
    MIN_SERVER_VER_MKT_DEPTH_PRIM_EXCHANGE,
    MIN_SERVER_VER_NEWS_QUERY_ORIGINS,
    MIN_SERVER_VER_PROFESSIONAL_CUSTOMER,
    MIN_SERVER_VER_REPLACE_FA_END,
    MIN_SERVER_VER_SCANNER_GENERIC_OPTS,
    MIN_SERVER_VER_SMART_DEPTH,
    MIN_SERVER_VER_WSH_EVENT_DATA_FILTERS,
    MIN_SERVER_VER_WSH_EVENT_DATA_FILTERS_DATE,
)

from . import info_requests as r
from .text_cursor import Cursor, TextParser, plain, versioned


def _req_mkt_depth(c: Cursor, sv: int) -> r.ReqMktDepth:
    """Without the primary exchange below MKT_DEPTH_PRIM_EXCHANGE (149), without the SMART flag
    below SMART_DEPTH (146)."""
    c.skip()
    req_id = c.integer()
    contract = c.contract() if sv >= MIN_SERVER_VER_MKT_DEPTH_PRIM_EXCHANGE else c.contract_without_primary()
    num_rows = c.integer()
    smart = c.flag() if sv >= MIN_SERVER_VER_SMART_DEPTH else False
    c.skip()  # market depth options (always empty)
    return r.ReqMktDepth(req_id, contract, num_rows, smart)


def _cancel_mkt_depth(c: Cursor, sv: int) -> r.CancelMktDepth:
    c.skip()
    return r.CancelMktDepth(c.integer(), c.flag() if sv >= MIN_SERVER_VER_SMART_DEPTH else False)


def _req_histogram(c: Cursor) -> r.ReqHistogramData:
    req_id, contract, include_expired = c.integer(), c.contract(), c.flag()
    return r.ReqHistogramData(req_id, contract, use_rth=c.flag(), time_period=c.string(),
                              include_expired=include_expired)


def _req_historical_ticks(c: Cursor) -> r.ReqHistoricalTicks:
    req_id, contract, include_expired = c.integer(), c.contract(), c.flag()
    req = r.ReqHistoricalTicks(req_id, contract, start_date_time=c.string(), end_date_time=c.string(),
                               number_of_ticks=c.integer(), what_to_show=c.string(), use_rth=c.flag(),
                               ignore_size=c.flag(), include_expired=include_expired)
    c.skip()  # misc options
    return req


def _req_news_article(c: Cursor, sv: int) -> r.ReqNewsArticle:
    req = r.ReqNewsArticle(c.integer(), c.string(), c.string())
    if sv >= MIN_SERVER_VER_NEWS_QUERY_ORIGINS:
        c.skip()  # news article options
    return req


def _req_historical_news(c: Cursor, sv: int) -> r.ReqHistoricalNews:
    req = r.ReqHistoricalNews(c.integer(), c.integer(), c.string(), c.string(), c.string(), c.integer())
    if sv >= MIN_SERVER_VER_NEWS_QUERY_ORIGINS:
        c.skip()  # historical news options
    return req


def _req_wsh_event_data(c: Cursor, sv: int) -> r.ReqWshEventData:
    req_id, con_id = c.integer(), c.opt_integer()
    if sv < MIN_SERVER_VER_WSH_EVENT_DATA_FILTERS:
        return r.ReqWshEventData(req_id, con_id)
    filters = (c.string(), c.flag(), c.flag(), c.flag())
    if sv < MIN_SERVER_VER_WSH_EVENT_DATA_FILTERS_DATE:
        return r.ReqWshEventData(req_id, con_id, *filters)
    return r.ReqWshEventData(req_id, con_id, *filters, c.string(), c.string(), c.opt_integer())


def _req_scanner_subscription(c: Cursor, sv: int) -> r.ReqScannerSubscription:
    """Below SCANNER_GENERIC_OPTS (143) after a version field and without filter options."""
    generic = sv >= MIN_SERVER_VER_SCANNER_GENERIC_OPTS
    if not generic:
        c.skip()  # version
    req_id, rows = c.integer(), c.opt_integer()
    instrument, location, scan_code = c.string(), c.string(), c.string()
    above_price, below_price, above_volume = c.opt_number(), c.opt_number(), c.opt_integer()
    cap_above, cap_below = c.opt_number(), c.opt_number()
    c.skip(8)  # moody, S&P ratings, maturity dates, coupon rates
    c.skip(3)  # exclude convertible, average option volume, scanner setting pairs
    stock_type = c.string()
    req = r.ReqScannerSubscription(req_id, rows, instrument, location, scan_code, above_price, below_price,
                                   above_volume, cap_above, cap_below, stock_type, c.tag_values() if generic else ())
    c.skip()  # scanner subscription options
    return req


def _exercise_options(c: Cursor, sv: int) -> r.ExerciseOptions:
    c.skip()
    req_id, contract = c.integer(), c.contract_without_primary()
    action, quantity, account, override = c.integer(), c.integer(), c.string(), c.flag()
    manual_time = c.string() if sv >= MIN_SERVER_VER_MANUAL_ORDER_TIME_EXERCISE_OPTIONS else ""
    customer = c.string() if sv >= MIN_SERVER_VER_CUSTOMER_ACCOUNT else ""
    professional = c.flag() if sv >= MIN_SERVER_VER_PROFESSIONAL_CUSTOMER else False
    return r.ExerciseOptions(req_id, contract, action, quantity, account, override, manual_time, customer,
                             professional)


def _replace_fa(c: Cursor, sv: int) -> r.ReplaceFA:
    """The request id comes last, from REPLACE_FA_END (157); before, there is none (NO_VALID_ID)."""
    c.skip()
    fa_data_type, xml = c.integer(), c.string()
    return r.ReplaceFA(c.integer() if sv >= MIN_SERVER_VER_REPLACE_FA_END else NO_VALID_ID, fa_data_type, xml)


def _calc(build: type[r.ReqCalcImpliedVolat] | type[r.ReqCalcOptionPrice]) -> TextParser:
    """calculateImpliedVolatility / calculateOptionPrice: the contract and two prices."""
    def parse(c: Cursor) -> r.ReqCalcImpliedVolat | r.ReqCalcOptionPrice:
        req = build(c.integer(), c.contract(), c.number(), c.number())
        c.skip()  # options
        return req
    return versioned(parse)


INFO_TEXT_PARSERS: dict[int, TextParser] = {
    OUT.REQ_MKT_DEPTH: _req_mkt_depth,
    OUT.CANCEL_MKT_DEPTH: _cancel_mkt_depth,
    OUT.REQ_MKT_DEPTH_EXCHANGES: plain(lambda c: r.ReqMktDepthExchanges()),
    OUT.REQ_SMART_COMPONENTS: plain(lambda c: r.ReqSmartComponents(c.integer(), c.string())),
    OUT.REQ_MARKET_RULE: plain(lambda c: r.ReqMarketRule(c.integer())),
    OUT.REQ_MATCHING_SYMBOLS: plain(lambda c: r.ReqMatchingSymbols(c.integer(), c.string())),
    OUT.REQ_SEC_DEF_OPT_PARAMS: plain(
        lambda c: r.ReqSecDefOptParams(c.integer(), c.string(), c.string(), c.string(), c.integer())),
    OUT.REQ_FAMILY_CODES: plain(lambda c: r.ReqFamilyCodes()),
    OUT.REQ_SOFT_DOLLAR_TIERS: plain(lambda c: r.ReqSoftDollarTiers(c.integer())),
    OUT.REQ_USER_INFO: plain(lambda c: r.ReqUserInfo(c.integer())),
    OUT.CANCEL_HEAD_TIMESTAMP: plain(lambda c: r.CancelHeadTimeStamp(c.integer())),
    OUT.REQ_HISTOGRAM_DATA: plain(_req_histogram),
    OUT.CANCEL_HISTOGRAM_DATA: plain(lambda c: r.CancelHistogramData(c.integer())),
    OUT.REQ_HISTORICAL_TICKS: plain(_req_historical_ticks),
    OUT.REQ_NEWS_BULLETINS: versioned(lambda c: r.ReqNewsBulletins(c.flag())),
    OUT.CANCEL_NEWS_BULLETINS: versioned(lambda c: r.CancelNewsBulletins()),
    OUT.REQ_NEWS_PROVIDERS: plain(lambda c: r.ReqNewsProviders()),
    OUT.REQ_NEWS_ARTICLE: _req_news_article,
    OUT.REQ_HISTORICAL_NEWS: _req_historical_news,
    OUT.REQ_WSH_META_DATA: plain(lambda c: r.ReqWshMetaData(c.integer())),
    OUT.CANCEL_WSH_META_DATA: plain(lambda c: r.CancelWshMetaData(c.integer())),
    OUT.REQ_WSH_EVENT_DATA: _req_wsh_event_data,
    OUT.CANCEL_WSH_EVENT_DATA: plain(lambda c: r.CancelWshEventData(c.integer())),
    OUT.REQ_SCANNER_PARAMETERS: versioned(lambda c: r.ReqScannerParameters()),
    OUT.REQ_SCANNER_SUBSCRIPTION: _req_scanner_subscription,
    OUT.CANCEL_SCANNER_SUBSCRIPTION: versioned(lambda c: r.CancelScannerSubscription(c.integer())),
    OUT.REQ_CALC_IMPLIED_VOLAT: _calc(r.ReqCalcImpliedVolat),
    OUT.REQ_CALC_OPTION_PRICE: _calc(r.ReqCalcOptionPrice),
    OUT.CANCEL_CALC_IMPLIED_VOLAT: versioned(lambda c: r.CancelCalcImpliedVolat(c.integer())),
    OUT.CANCEL_CALC_OPTION_PRICE: versioned(lambda c: r.CancelCalcOptionPrice(c.integer())),
    OUT.EXERCISE_OPTIONS: _exercise_options,
    OUT.REQ_FA: versioned(lambda c: r.RequestFA(c.integer())),
    OUT.REPLACE_FA: _replace_fa,
    OUT.QUERY_DISPLAY_GROUPS: versioned(lambda c: r.QueryDisplayGroups(c.integer())),
    OUT.SUBSCRIBE_TO_GROUP_EVENTS: versioned(lambda c: r.SubscribeToGroupEvents(c.integer(), c.integer())),
    OUT.UPDATE_DISPLAY_GROUP: versioned(lambda c: r.UpdateDisplayGroup(c.integer(), c.string())),
    OUT.UNSUBSCRIBE_FROM_GROUP_EVENTS: versioned(lambda c: r.UnsubscribeFromGroupEvents(c.integer())),
    OUT.VERIFY_REQUEST: versioned(lambda c: r.VerifyRequest(c.string(), c.string())),
    OUT.VERIFY_MESSAGE: versioned(lambda c: r.VerifyMessage(c.string())),
    OUT.VERIFY_AND_AUTH_REQUEST: versioned(lambda c: r.VerifyAndAuthRequest(c.string(), c.string(), c.string())),
    OUT.VERIFY_AND_AUTH_MESSAGE: versioned(lambda c: r.VerifyAndAuthMessage(c.string(), c.string())),
    OUT.SET_SERVER_LOGLEVEL: versioned(lambda c: r.SetServerLogLevel(c.integer())),
}
