"""The protobuf bodies of the families in ``info_requests`` (ibapi's ``*_pb2`` classes)."""

from __future__ import annotations

from typing import Any

from ibapi.message import OUT
from ibapi.protobuf.CalculateImpliedVolatilityRequest_pb2 import CalculateImpliedVolatilityRequest
from ibapi.protobuf.CalculateOptionPriceRequest_pb2 import CalculateOptionPriceRequest
from ibapi.protobuf.CancelCalculateImpliedVolatility_pb2 import CancelCalculateImpliedVolatility
from ibapi.protobuf.CancelCalculateOptionPrice_pb2 import CancelCalculateOptionPrice
from ibapi.protobuf.CancelContractData_pb2 import CancelContractData
from ibapi.protobuf.CancelHeadTimestamp_pb2 import CancelHeadTimestamp
from ibapi.protobuf.CancelHistogramData_pb2 import CancelHistogramData
from ibapi.protobuf.CancelHistoricalTicks_pb2 import CancelHistoricalTicks
from ibapi.protobuf.CancelMarketDepth_pb2 import CancelMarketDepth
from ibapi.protobuf.CancelNewsBulletins_pb2 import CancelNewsBulletins
from ibapi.protobuf.CancelScannerSubscription_pb2 import CancelScannerSubscription
from ibapi.protobuf.CancelWshEventData_pb2 import CancelWshEventData
from ibapi.protobuf.CancelWshMetaData_pb2 import CancelWshMetaData
from ibapi.protobuf.ConfigRequest_pb2 import ConfigRequest
from ibapi.protobuf.ExerciseOptionsRequest_pb2 import ExerciseOptionsRequest
from ibapi.protobuf.FamilyCodesRequest_pb2 import FamilyCodesRequest
from ibapi.protobuf.FAReplace_pb2 import FAReplace
from ibapi.protobuf.FARequest_pb2 import FARequest
from ibapi.protobuf.HistogramDataRequest_pb2 import HistogramDataRequest
from ibapi.protobuf.HistoricalNewsRequest_pb2 import HistoricalNewsRequest
from ibapi.protobuf.HistoricalTicksRequest_pb2 import HistoricalTicksRequest
from ibapi.protobuf.MarketDepthExchangesRequest_pb2 import MarketDepthExchangesRequest
from ibapi.protobuf.MarketDepthRequest_pb2 import MarketDepthRequest
from ibapi.protobuf.MarketRuleRequest_pb2 import MarketRuleRequest
from ibapi.protobuf.MatchingSymbolsRequest_pb2 import MatchingSymbolsRequest
from ibapi.protobuf.NewsArticleRequest_pb2 import NewsArticleRequest
from ibapi.protobuf.NewsBulletinsRequest_pb2 import NewsBulletinsRequest
from ibapi.protobuf.NewsProvidersRequest_pb2 import NewsProvidersRequest
from ibapi.protobuf.QueryDisplayGroupsRequest_pb2 import QueryDisplayGroupsRequest
from ibapi.protobuf.ScannerParametersRequest_pb2 import ScannerParametersRequest
from ibapi.protobuf.ScannerSubscriptionRequest_pb2 import ScannerSubscriptionRequest
from ibapi.protobuf.SecDefOptParamsRequest_pb2 import SecDefOptParamsRequest
from ibapi.protobuf.SetServerLogLevelRequest_pb2 import SetServerLogLevelRequest
from ibapi.protobuf.SmartComponentsRequest_pb2 import SmartComponentsRequest
from ibapi.protobuf.SoftDollarTiersRequest_pb2 import SoftDollarTiersRequest
from ibapi.protobuf.SubscribeToGroupEventsRequest_pb2 import SubscribeToGroupEventsRequest
from ibapi.protobuf.UnsubscribeFromGroupEventsRequest_pb2 import UnsubscribeFromGroupEventsRequest
from ibapi.protobuf.UpdateConfigRequest_pb2 import UpdateConfigRequest
from ibapi.protobuf.UpdateDisplayGroupRequest_pb2 import UpdateDisplayGroupRequest
from ibapi.protobuf.UserInfoRequest_pb2 import UserInfoRequest
from ibapi.protobuf.VerifyMessageRequest_pb2 import VerifyMessageRequest
from ibapi.protobuf.VerifyRequest_pb2 import VerifyRequest
from ibapi.protobuf.WshEventDataRequest_pb2 import WshEventDataRequest
from ibapi.protobuf.WshMetaDataRequest_pb2 import WshMetaDataRequest

from . import info_requests as r
from .proto_fields import ProtoParser, contract_query, opt, tag_values


def _scanner(p: Any) -> r.ReqScannerSubscription:
    s = p.scannerSubscription
    return r.ReqScannerSubscription(
        p.reqId, opt(s, "numberOfRows"), s.instrument, s.locationCode, s.scanCode, opt(s, "abovePrice"),
        opt(s, "belowPrice"), opt(s, "aboveVolume"), opt(s, "marketCapAbove"), opt(s, "marketCapBelow"),
        s.stockTypeFilter, tag_values(s.scannerSubscriptionFilterOptions))


def _wsh_event_data(p: Any) -> r.ReqWshEventData:
    return r.ReqWshEventData(p.reqId, opt(p, "conId"), p.filter, p.fillWatchlist, p.fillPortfolio,
                             p.fillCompetitors, p.startDate, p.endDate, opt(p, "totalLimit"))


INFO_PROTO_PARSERS: dict[int, ProtoParser] = {
    OUT.REQ_MKT_DEPTH: (MarketDepthRequest, lambda p: r.ReqMktDepth(
        p.reqId, contract_query(p), p.numRows, p.isSmartDepth)),
    OUT.CANCEL_MKT_DEPTH: (CancelMarketDepth, lambda p: r.CancelMktDepth(p.reqId, p.isSmartDepth)),
    OUT.REQ_MKT_DEPTH_EXCHANGES: (MarketDepthExchangesRequest, lambda p: r.ReqMktDepthExchanges()),
    OUT.REQ_SMART_COMPONENTS: (SmartComponentsRequest, lambda p: r.ReqSmartComponents(p.reqId, p.bboExchange)),
    OUT.REQ_MARKET_RULE: (MarketRuleRequest, lambda p: r.ReqMarketRule(p.marketRuleId)),
    OUT.REQ_MATCHING_SYMBOLS: (MatchingSymbolsRequest, lambda p: r.ReqMatchingSymbols(p.reqId, p.pattern)),
    OUT.REQ_SEC_DEF_OPT_PARAMS: (SecDefOptParamsRequest, lambda p: r.ReqSecDefOptParams(
        p.reqId, p.underlyingSymbol, p.futFopExchange, p.underlyingSecType, p.underlyingConId)),
    OUT.REQ_FAMILY_CODES: (FamilyCodesRequest, lambda p: r.ReqFamilyCodes()),
    OUT.REQ_SOFT_DOLLAR_TIERS: (SoftDollarTiersRequest, lambda p: r.ReqSoftDollarTiers(p.reqId)),
    OUT.REQ_USER_INFO: (UserInfoRequest, lambda p: r.ReqUserInfo(p.reqId)),
    OUT.CANCEL_HEAD_TIMESTAMP: (CancelHeadTimestamp, lambda p: r.CancelHeadTimeStamp(p.reqId)),
    OUT.REQ_HISTOGRAM_DATA: (HistogramDataRequest, lambda p: r.ReqHistogramData(
        p.reqId, contract_query(p), p.useRTH, p.timePeriod, p.contract.includeExpired)),
    OUT.CANCEL_HISTOGRAM_DATA: (CancelHistogramData, lambda p: r.CancelHistogramData(p.reqId)),
    OUT.REQ_HISTORICAL_TICKS: (HistoricalTicksRequest, lambda p: r.ReqHistoricalTicks(
        p.reqId, contract_query(p), p.startDateTime, p.endDateTime, p.numberOfTicks, p.whatToShow, p.useRTH,
        p.ignoreSize, p.contract.includeExpired)),
    OUT.CANCEL_HISTORICAL_TICKS: (CancelHistoricalTicks, lambda p: r.CancelHistoricalTicks(p.reqId)),
    OUT.CANCEL_CONTRACT_DATA: (CancelContractData, lambda p: r.CancelContractData(p.reqId)),
    OUT.REQ_NEWS_BULLETINS: (NewsBulletinsRequest, lambda p: r.ReqNewsBulletins(p.allMessages)),
    OUT.CANCEL_NEWS_BULLETINS: (CancelNewsBulletins, lambda p: r.CancelNewsBulletins()),
    OUT.REQ_NEWS_PROVIDERS: (NewsProvidersRequest, lambda p: r.ReqNewsProviders()),
    OUT.REQ_NEWS_ARTICLE: (NewsArticleRequest, lambda p: r.ReqNewsArticle(p.reqId, p.providerCode, p.articleId)),
    OUT.REQ_HISTORICAL_NEWS: (HistoricalNewsRequest, lambda p: r.ReqHistoricalNews(
        p.reqId, p.conId, p.providerCodes, p.startDateTime, p.endDateTime, p.totalResults)),
    OUT.REQ_WSH_META_DATA: (WshMetaDataRequest, lambda p: r.ReqWshMetaData(p.reqId)),
    OUT.CANCEL_WSH_META_DATA: (CancelWshMetaData, lambda p: r.CancelWshMetaData(p.reqId)),
    OUT.REQ_WSH_EVENT_DATA: (WshEventDataRequest, _wsh_event_data),
    OUT.CANCEL_WSH_EVENT_DATA: (CancelWshEventData, lambda p: r.CancelWshEventData(p.reqId)),
    OUT.REQ_SCANNER_PARAMETERS: (ScannerParametersRequest, lambda p: r.ReqScannerParameters()),
    OUT.REQ_SCANNER_SUBSCRIPTION: (ScannerSubscriptionRequest, _scanner),
    OUT.CANCEL_SCANNER_SUBSCRIPTION: (CancelScannerSubscription, lambda p: r.CancelScannerSubscription(p.reqId)),
    OUT.REQ_CALC_IMPLIED_VOLAT: (CalculateImpliedVolatilityRequest, lambda p: r.ReqCalcImpliedVolat(
        p.reqId, contract_query(p), p.optionPrice, p.underPrice)),
    OUT.REQ_CALC_OPTION_PRICE: (CalculateOptionPriceRequest, lambda p: r.ReqCalcOptionPrice(
        p.reqId, contract_query(p), p.volatility, p.underPrice)),
    OUT.CANCEL_CALC_IMPLIED_VOLAT: (CancelCalculateImpliedVolatility, lambda p: r.CancelCalcImpliedVolat(p.reqId)),
    OUT.CANCEL_CALC_OPTION_PRICE: (CancelCalculateOptionPrice, lambda p: r.CancelCalcOptionPrice(p.reqId)),
    OUT.EXERCISE_OPTIONS: (ExerciseOptionsRequest, lambda p: r.ExerciseOptions(
        p.orderId, contract_query(p), p.exerciseAction, p.exerciseQuantity, p.account, p.override,
        p.manualOrderTime, p.customerAccount, p.professionalCustomer)),
    OUT.REQ_FA: (FARequest, lambda p: r.RequestFA(p.faDataType)),
    OUT.REPLACE_FA: (FAReplace, lambda p: r.ReplaceFA(p.reqId, p.faDataType, p.xml)),
    OUT.QUERY_DISPLAY_GROUPS: (QueryDisplayGroupsRequest, lambda p: r.QueryDisplayGroups(p.reqId)),
    OUT.SUBSCRIBE_TO_GROUP_EVENTS: (SubscribeToGroupEventsRequest, lambda p: r.SubscribeToGroupEvents(
        p.reqId, p.groupId)),
    OUT.UPDATE_DISPLAY_GROUP: (UpdateDisplayGroupRequest, lambda p: r.UpdateDisplayGroup(p.reqId, p.contractInfo)),
    OUT.UNSUBSCRIBE_FROM_GROUP_EVENTS: (UnsubscribeFromGroupEventsRequest,
                                        lambda p: r.UnsubscribeFromGroupEvents(p.reqId)),
    OUT.VERIFY_REQUEST: (VerifyRequest, lambda p: r.VerifyRequest(p.apiName, p.apiVersion)),
    OUT.VERIFY_MESSAGE: (VerifyMessageRequest, lambda p: r.VerifyMessage(p.apiData)),
    OUT.SET_SERVER_LOGLEVEL: (SetServerLogLevelRequest, lambda p: r.SetServerLogLevel(p.logLevel)),
    OUT.REQ_CONFIG: (ConfigRequest, lambda p: r.ReqConfig(p.reqId)),
    OUT.UPDATE_CONFIG: (UpdateConfigRequest, lambda p: r.UpdateConfig(p.reqId)),
}
