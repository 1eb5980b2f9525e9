"""Protobuf bodies of the replies in ``info_messages.py`` (ibapi's generated classes), set so that
ibapi's ``Decoder.process...ProtoBuf`` gives the callbacks the text form gives."""

from __future__ import annotations

from collections.abc import Sequence

from ibapi.protobuf.ApiConfig_pb2 import ApiConfig
from ibapi.protobuf.ApiSettingsConfig_pb2 import ApiSettingsConfig
from ibapi.protobuf.ConfigResponse_pb2 import ConfigResponse
from ibapi.protobuf.Contract_pb2 import Contract
from ibapi.protobuf.ContractDescription_pb2 import ContractDescription
from ibapi.protobuf.DepthMarketDataDescription_pb2 import DepthMarketDataDescription
from ibapi.protobuf.DisplayGroupList_pb2 import DisplayGroupList
from ibapi.protobuf.DisplayGroupUpdated_pb2 import DisplayGroupUpdated
from ibapi.protobuf.FamilyCode_pb2 import FamilyCode
from ibapi.protobuf.FamilyCodes_pb2 import FamilyCodes
from ibapi.protobuf.HistogramData_pb2 import HistogramData
from ibapi.protobuf.HistogramDataEntry_pb2 import HistogramDataEntry
from ibapi.protobuf.HistoricalNews_pb2 import HistoricalNews
from ibapi.protobuf.HistoricalNewsEnd_pb2 import HistoricalNewsEnd
from ibapi.protobuf.HistoricalSchedule_pb2 import HistoricalSchedule
from ibapi.protobuf.HistoricalSession_pb2 import HistoricalSession
from ibapi.protobuf.HistoricalTick_pb2 import HistoricalTick
from ibapi.protobuf.HistoricalTickBidAsk_pb2 import HistoricalTickBidAsk
from ibapi.protobuf.HistoricalTickLast_pb2 import HistoricalTickLast
from ibapi.protobuf.HistoricalTicks_pb2 import HistoricalTicks
from ibapi.protobuf.HistoricalTicksBidAsk_pb2 import HistoricalTicksBidAsk
from ibapi.protobuf.HistoricalTicksLast_pb2 import HistoricalTicksLast
from ibapi.protobuf.MarketDepth_pb2 import MarketDepth
from ibapi.protobuf.MarketDepthData_pb2 import MarketDepthData
from ibapi.protobuf.MarketDepthExchanges_pb2 import MarketDepthExchanges
from ibapi.protobuf.MarketDepthL2_pb2 import MarketDepthL2
from ibapi.protobuf.MarketRule_pb2 import MarketRule
from ibapi.protobuf.NewsArticle_pb2 import NewsArticle
from ibapi.protobuf.NewsBulletin_pb2 import NewsBulletin
from ibapi.protobuf.NewsProvider_pb2 import NewsProvider
from ibapi.protobuf.NewsProviders_pb2 import NewsProviders
from ibapi.protobuf.PriceIncrement_pb2 import PriceIncrement
from ibapi.protobuf.ScannerData_pb2 import ScannerData
from ibapi.protobuf.ScannerDataElement_pb2 import ScannerDataElement
from ibapi.protobuf.ScannerParameters_pb2 import ScannerParameters
from ibapi.protobuf.SecDefOptParameter_pb2 import SecDefOptParameter
from ibapi.protobuf.SecDefOptParameterEnd_pb2 import SecDefOptParameterEnd
from ibapi.protobuf.SmartComponent_pb2 import SmartComponent
from ibapi.protobuf.SmartComponents_pb2 import SmartComponents
from ibapi.protobuf.SoftDollarTiers_pb2 import SoftDollarTiers
from ibapi.protobuf.SymbolSamples_pb2 import SymbolSamples
from ibapi.protobuf.TickOptionComputation_pb2 import TickOptionComputation
from ibapi.protobuf.TickReqParams_pb2 import TickReqParams
from ibapi.protobuf.UpdateConfigResponse_pb2 import UpdateConfigResponse
from ibapi.protobuf.UserInfo_pb2 import UserInfo

from .contracts import ContractSpec
from .info_types import BidAskTick, DepthExchange, LastTick, Session, Tick
from .options import Greeks
from .protobufs import size


def market_depth(req_id: int, position: int, operation: int, side: int, price: float, sz: float) -> MarketDepth:
    return MarketDepth(reqId=req_id, marketDepthData=MarketDepthData(
        position=position, operation=operation, side=side, price=float(price), size=size(sz)))


def market_depth_l2(req_id: int, position: int, market_maker: str, operation: int, side: int, price: float,
                    sz: float, smart: bool) -> MarketDepthL2:
    return MarketDepthL2(reqId=req_id, marketDepthData=MarketDepthData(
        position=position, marketMaker=market_maker, operation=operation, side=side, price=float(price),
        size=size(sz), isSmartDepth=smart))


def news_bulletin(msg_id: int, msg_type: int, message: str, origin: str) -> NewsBulletin:
    return NewsBulletin(newsMsgId=msg_id, newsMsgType=msg_type, newsMessage=message, originatingExch=origin)


def scanner_parameters(xml: str) -> ScannerParameters:
    return ScannerParameters(xml=xml)


def scanner_data(req_id: int, rows: Sequence[ContractSpec]) -> ScannerData:
    return ScannerData(reqId=req_id, scannerDataElement=[
        ScannerDataElement(rank=rank, marketName=c.market_name, distance="", benchmark="", projection="",
                           comboKey="",
                           contract=Contract(conId=c.con_id, symbol=c.symbol, secType=c.sec_type,
                                             lastTradeDateOrContractMonth=c.last_trade_date, strike=c.strike,
                                             right=c.right, exchange=c.exchange, currency=c.currency,
                                             localSymbol=c.local_symbol, tradingClass=c.trading_class))
        for rank, c in enumerate(rows)])


def tick_option_computation(req_id: int, tick_type: int, attrib: int, g: Greeks) -> TickOptionComputation:
    return TickOptionComputation(reqId=req_id, tickType=tick_type, tickAttrib=attrib, impliedVol=g.implied_vol,
                                 delta=g.delta, optPrice=g.price, pvDividend=g.pv_dividend, gamma=g.gamma,
                                 vega=g.vega, theta=g.theta, undPrice=g.und_price)


def display_group_list(req_id: int, groups: str) -> DisplayGroupList:
    return DisplayGroupList(reqId=req_id, groups=groups)


def display_group_updated(req_id: int, contract_info: str) -> DisplayGroupUpdated:
    return DisplayGroupUpdated(reqId=req_id, contractInfo=contract_info)


def sec_def_opt_params(req_id: int, exchange: str, under_con_id: int, trading_class: str, multiplier: str,
                       expirations: Sequence[str], strikes: Sequence[float]) -> SecDefOptParameter:
    return SecDefOptParameter(reqId=req_id, exchange=exchange, underlyingConId=under_con_id,
                              tradingClass=trading_class, multiplier=multiplier, expirations=expirations,
                              strikes=strikes)


def sec_def_opt_params_end(req_id: int) -> SecDefOptParameterEnd:
    return SecDefOptParameterEnd(reqId=req_id)


def soft_dollar_tiers(req_id: int) -> SoftDollarTiers:
    return SoftDollarTiers(reqId=req_id)


def family_codes(codes: Sequence[tuple[str, str]]) -> FamilyCodes:
    return FamilyCodes(familyCodes=[FamilyCode(accountId=a, familyCode=f) for a, f in codes])


def symbol_samples(req_id: int, found: Sequence[tuple[ContractSpec, Sequence[str]]]) -> SymbolSamples:
    return SymbolSamples(reqId=req_id, contractDescriptions=[
        ContractDescription(contract=Contract(conId=c.con_id, symbol=c.symbol, secType=c.sec_type,
                                              primaryExch=c.primary_exchange, currency=c.currency),
                            derivativeSecTypes=derivatives)
        for c, derivatives in found])


def mkt_depth_exchanges(descriptions: Sequence[DepthExchange]) -> MarketDepthExchanges:
    return MarketDepthExchanges(depthMarketDataDescriptions=[
        DepthMarketDataDescription(exchange=d.exchange, secType=d.sec_type, listingExch=d.listing_exchange,
                                   serviceDataType=d.service_data_type, aggGroup=d.agg_group)
        for d in descriptions])


def tick_req_params(req_id: int, min_tick: str, bbo_exchange: str, snapshot_permissions: int) -> TickReqParams:
    return TickReqParams(reqId=req_id, minTick=min_tick, bboExchange=bbo_exchange,
                         snapshotPermissions=snapshot_permissions)


def smart_components(req_id: int, components: Sequence[tuple[int, str, str]]) -> SmartComponents:
    return SmartComponents(reqId=req_id, smartComponents=[
        SmartComponent(bitNumber=bit, exchange=exchange, exchangeLetter=letter)
        for bit, exchange, letter in components])


def news_article(req_id: int, article_type: int, text: str) -> NewsArticle:
    return NewsArticle(reqId=req_id, articleType=article_type, articleText=text)


def news_providers(providers: Sequence[tuple[str, str]]) -> NewsProviders:
    return NewsProviders(newsProviders=[NewsProvider(providerCode=c, providerName=n) for c, n in providers])


def historical_news(req_id: int, time: str, provider: str, article_id: str, headline: str) -> HistoricalNews:
    return HistoricalNews(reqId=req_id, time=time, providerCode=provider, articleId=article_id, headline=headline)


def historical_news_end(req_id: int, has_more: bool) -> HistoricalNewsEnd:
    return HistoricalNewsEnd(reqId=req_id, hasMore=has_more)


def histogram_data(req_id: int, points: Sequence[tuple[float, float]]) -> HistogramData:
    return HistogramData(reqId=req_id, histogramDataEntries=[
        HistogramDataEntry(price=float(p), size=size(s)) for p, s in points])


def market_rule(rule_id: int, increments: Sequence[tuple[float, float]]) -> MarketRule:
    return MarketRule(marketRuleId=rule_id, priceIncrements=[
        PriceIncrement(lowEdge=float(lo), increment=float(inc)) for lo, inc in increments])


def historical_ticks(req_id: int, ticks: Sequence[Tick], done: bool) -> HistoricalTicks:
    return HistoricalTicks(reqId=req_id, isDone=done, historicalTicks=[
        HistoricalTick(time=t.time, price=float(t.price), size=size(t.size)) for t in ticks])


def historical_ticks_bid_ask(req_id: int, ticks: Sequence[BidAskTick], done: bool) -> HistoricalTicksBidAsk:
    out = HistoricalTicksBidAsk(reqId=req_id, isDone=done)
    for t in ticks:
        tick = HistoricalTickBidAsk(time=t.time, priceBid=float(t.bid), priceAsk=float(t.ask),
                                    sizeBid=size(t.bid_size), sizeAsk=size(t.ask_size))
        # the text form's mask: 1 = ask past high, 2 = bid past low
        tick.tickAttribBidAsk.askPastHigh, tick.tickAttribBidAsk.bidPastLow = bool(t.mask & 1), bool(t.mask & 2)
        out.historicalTicksBidAsk.append(tick)
    return out


def historical_ticks_last(req_id: int, ticks: Sequence[LastTick], done: bool) -> HistoricalTicksLast:
    out = HistoricalTicksLast(reqId=req_id, isDone=done)
    for t in ticks:
        tick = HistoricalTickLast(time=t.time, price=float(t.price), size=size(t.size), exchange=t.exchange,
                                  specialConditions=t.conditions)
        tick.tickAttribLast.pastLimit, tick.tickAttribLast.unreported = bool(t.mask & 1), bool(t.mask & 2)
        out.historicalTicksLast.append(tick)
    return out


def historical_schedule(req_id: int, start: str, end: str, time_zone: str,
                        sessions: Sequence[Session]) -> HistoricalSchedule:
    return HistoricalSchedule(reqId=req_id, startDateTime=start, endDateTime=end, timeZone=time_zone,
                              historicalSessions=[HistoricalSession(startDateTime=s.start, endDateTime=s.end,
                                                                    refDate=s.ref_date) for s in sessions])


def user_info(req_id: int, white_branding_id: str) -> UserInfo:
    return UserInfo(reqId=req_id, whiteBrandingId=white_branding_id)


def config_response(req_id: int, port: int) -> ConfigResponse:
    """The gateway's API settings as the simulator runs them: read-write, on its port, paced (it
    rejects messages above the maximum rate), localhost only."""
    settings = ApiSettingsConfig(readOnlyApi=False, socketPort=port, masterClientId=0,
                                 downloadOpenOrdersOnConnection=True, rejectMessagesAboveMaxRate=True,
                                 allowLocalhostOnly=True, sendInstrumentTimezone="UTC")
    return ConfigResponse(reqId=req_id, api=ApiConfig(settings=settings))


def update_config_response(req_id: int, status: str, message: str) -> UpdateConfigResponse:
    return UpdateConfigResponse(reqId=req_id, status=status, message=message)
