"""The replies to the families in ``info_requests``: market depth, reference data, option chains,
historical ticks, histograms and schedules, news, the scanner, option calculations, display groups
and configuration.

As in ``messages.py``, each function returns a ``wire.Message``: its text fields laid out as
ibapi's ``decoder.py`` reads them at the session's server version (``wire.Versioned`` fields where
the layout changed), and its protobuf builder
(``info_protobufs.py``). ``config_response`` and ``update_config_response`` exist only as
protobuf: they answer requests ibapi sends only as protobuf, from versions where every reply is.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from ibapi.server_versions import MIN_SERVER_VER_BOND_ISSUERID

from . import info_protobufs as pb
from .contracts import ContractSpec
from .info_types import BidAskTick, DepthExchange, LastTick, Session, Tick
from .options import Greeks
from .protocol import Field
from .protocol import qty as _qty
from .wire import Message, Versioned, versioned

# ibapi.server_versions.MIN_SERVER_VER_*: where a reply's text layout changes
SV_SERVICE_DATA_TYPE = 120
# tickReqParams (msg 81) has no version constant of its own: its bboExchange is the key of
# reqSmartComponents, and message ids 81 and 82 (smartComponents) came together, so a gateway sends
# it from REQ_SMART_COMPONENTS (114)
SV_TICK_REQ_PARAMS = 114
SV_SMART_DEPTH = 146
SV_PRICE_BASED_VOLATILITY = 156

# ibapi.message.IN
MARKET_DEPTH, MARKET_DEPTH_L2, NEWS_BULLETINS, SCANNER_PARAMETERS, SCANNER_DATA = 12, 13, 14, 19, 20
TICK_OPTION_COMPUTATION, DISPLAY_GROUP_LIST, DISPLAY_GROUP_UPDATED = 21, 67, 68
SECURITY_DEFINITION_OPTION_PARAMETER, SECURITY_DEFINITION_OPTION_PARAMETER_END = 75, 76
SOFT_DOLLAR_TIERS, FAMILY_CODES, SYMBOL_SAMPLES, MKT_DEPTH_EXCHANGES, TICK_REQ_PARAMS = 77, 78, 79, 80, 81
SMART_COMPONENTS, NEWS_ARTICLE, NEWS_PROVIDERS, HISTORICAL_NEWS, HISTORICAL_NEWS_END = 82, 83, 85, 86, 87
HISTOGRAM_DATA, MARKET_RULE, HISTORICAL_TICKS, HISTORICAL_TICKS_BID_ASK, HISTORICAL_TICKS_LAST = 89, 93, 96, 97, 98
HISTORICAL_SCHEDULE, USER_INFO, CONFIG_RESPONSE, UPDATE_CONFIG_RESPONSE = 106, 107, 110, 111


# --- market depth -------------------------------------------------------------------

def market_depth(req_id: int, position: int, operation: int, side: int, price: float, size: float) -> Message:
    """updateMktDepth (msg 12): operation 0 insert, 1 update, 2 delete; side 0 ask, 1 bid."""
    return Message(MARKET_DEPTH, (1, req_id, position, operation, side, float(price), _qty(size)),
                   partial(pb.market_depth, req_id, position, operation, side, price, size))


def market_depth_l2(req_id: int, position: int, market_maker: str, operation: int, side: int, price: float,
                    size: float, smart: bool) -> Message:
    """updateMktDepthL2 (msg 13), with the market maker (or exchange, for smart depth)."""
    return versioned(MARKET_DEPTH_L2, (1, req_id, position, market_maker, operation, side, float(price), _qty(size),
                                       Versioned(smart, SV_SMART_DEPTH)),
                   partial(pb.market_depth_l2, req_id, position, market_maker, operation, side, price, size, smart))


def mkt_depth_exchanges(descriptions: Sequence[DepthExchange]) -> Message:
    """mktDepthExchanges (msg 80): below SERVICE_DATA_TYPE (120) each exchange's L2 flag ("Deep2")
    in place of its listing exchange, service data type and aggregation group."""
    out: list[Field | Versioned] = [len(descriptions)]
    for d in descriptions:
        out += [d.exchange, d.sec_type, Versioned(d.service_data_type == "Deep2", before=SV_SERVICE_DATA_TYPE),
                *(Versioned(x, SV_SERVICE_DATA_TYPE) for x in (d.listing_exchange, d.service_data_type, d.agg_group))]
    return versioned(MKT_DEPTH_EXCHANGES, tuple(out), partial(pb.mkt_depth_exchanges, tuple(descriptions)))


def smart_components(req_id: int, components: Sequence[tuple[int, str, str]]) -> Message:
    """smartComponents (msg 82): (bit number, exchange, exchange letter) per component."""
    out: list[Field] = [req_id, len(components)]
    for bit, exchange, letter in components:
        out += [bit, exchange, letter]
    return Message(SMART_COMPONENTS, tuple(out), partial(pb.smart_components, req_id, tuple(components)))


def tick_req_params(req_id: int, min_tick: str, bbo_exchange: str, snapshot_permissions: int) -> Message:
    """tickReqParams (msg 81), sent right after a market data request is accepted."""
    return Message(TICK_REQ_PARAMS, (req_id, float(min_tick), bbo_exchange, snapshot_permissions),
                   partial(pb.tick_req_params, req_id, min_tick, bbo_exchange, snapshot_permissions))


# --- reference data ------------------------------------------------------------------

def market_rule(rule_id: int, increments: Sequence[tuple[float, float]]) -> Message:
    out: list[Field] = [rule_id, len(increments)]
    for low, increment in increments:
        out += [float(low), float(increment)]
    return Message(MARKET_RULE, tuple(out), partial(pb.market_rule, rule_id, tuple(increments)))


def symbol_samples(sv: int, req_id: int, found: Sequence[tuple[ContractSpec, Sequence[str]]]) -> Message:
    """symbolSamples (msg 79): contracts with their derivative security types."""
    out: list[Field] = [req_id, len(found)]
    for c, derivatives in found:
        out += [c.con_id, c.symbol, c.sec_type, c.primary_exchange, c.currency, len(derivatives), *derivatives]
        if sv >= MIN_SERVER_VER_BOND_ISSUERID:
            out += ["", ""]  # description, issuer id (bonds)
    return Message(SYMBOL_SAMPLES, tuple(out), partial(pb.symbol_samples, req_id, tuple(found)))


def sec_def_opt_params(req_id: int, exchange: str, under_con_id: int, trading_class: str, multiplier: str,
                       expirations: Sequence[str], strikes: Sequence[float]) -> Message:
    """securityDefinitionOptionParameter (msg 75): one exchange's expirations and strikes."""
    out: list[Field] = [req_id, exchange, under_con_id, trading_class, multiplier, len(expirations), *expirations,
                        len(strikes), *(float(s) for s in strikes)]
    return Message(SECURITY_DEFINITION_OPTION_PARAMETER, tuple(out),
                   partial(pb.sec_def_opt_params, req_id, exchange, under_con_id, trading_class, multiplier,
                           tuple(expirations), tuple(strikes)))


def sec_def_opt_params_end(req_id: int) -> Message:
    return Message(SECURITY_DEFINITION_OPTION_PARAMETER_END, (req_id,), partial(pb.sec_def_opt_params_end, req_id))


def soft_dollar_tiers(req_id: int) -> Message:
    """softDollarTiers (msg 77) with no tier: IB defines none for an individual account."""
    return Message(SOFT_DOLLAR_TIERS, (req_id, 0), partial(pb.soft_dollar_tiers, req_id))


def family_codes(codes: Sequence[tuple[str, str]]) -> Message:
    """familyCodes (msg 78): (account, family code) pairs."""
    out: list[Field] = [len(codes)]
    for account, code in codes:
        out += [account, code]
    return Message(FAMILY_CODES, tuple(out), partial(pb.family_codes, tuple(codes)))


def user_info(req_id: int, white_branding_id: str) -> Message:
    return Message(USER_INFO, (req_id, white_branding_id), partial(pb.user_info, req_id, white_branding_id))


# --- historical ----------------------------------------------------------------------

def histogram_data(req_id: int, points: Sequence[tuple[float, float]]) -> Message:
    """histogramData (msg 89): (price, size) points."""
    out: list[Field] = [req_id, len(points)]
    for price, size in points:
        out += [float(price), _qty(size)]
    return Message(HISTOGRAM_DATA, tuple(out), partial(pb.histogram_data, req_id, tuple(points)))


def historical_ticks(req_id: int, ticks: Sequence[Tick], done: bool) -> Message:
    """historicalTicks (msg 96), whatToShow MIDPOINT; an empty field stands for the attribute mask."""
    out: list[Field] = [req_id, len(ticks)]
    for t in ticks:
        out += [t.time, "", float(t.price), _qty(t.size)]
    return Message(HISTORICAL_TICKS, (*out, done), partial(pb.historical_ticks, req_id, tuple(ticks), done))


def historical_ticks_bid_ask(req_id: int, ticks: Sequence[BidAskTick], done: bool) -> Message:
    out: list[Field] = [req_id, len(ticks)]
    for t in ticks:
        out += [t.time, t.mask, float(t.bid), float(t.ask), _qty(t.bid_size), _qty(t.ask_size)]
    return Message(HISTORICAL_TICKS_BID_ASK, (*out, done),
                   partial(pb.historical_ticks_bid_ask, req_id, tuple(ticks), done))


def historical_ticks_last(req_id: int, ticks: Sequence[LastTick], done: bool) -> Message:
    out: list[Field] = [req_id, len(ticks)]
    for t in ticks:
        out += [t.time, t.mask, float(t.price), _qty(t.size), t.exchange, t.conditions]
    return Message(HISTORICAL_TICKS_LAST, (*out, done), partial(pb.historical_ticks_last, req_id, tuple(ticks), done))


def historical_schedule(req_id: int, start: str, end: str, time_zone: str, sessions: Sequence[Session]) -> Message:
    """historicalSchedule (msg 106): the answer to whatToShow SCHEDULE."""
    out: list[Field] = [req_id, start, end, time_zone, len(sessions)]
    for s in sessions:
        out += [s.start, s.end, s.ref_date]
    return Message(HISTORICAL_SCHEDULE, tuple(out),
                   partial(pb.historical_schedule, req_id, start, end, time_zone, tuple(sessions)))


# --- news ---------------------------------------------------------------------------

def news_bulletin(msg_id: int, msg_type: int, message: str, origin: str) -> Message:
    """updateNewsBulletin (msg 14): type 1 regular, 2 exchange unavailable, 3 exchange available."""
    return Message(NEWS_BULLETINS, (1, msg_id, msg_type, message, origin),
                   partial(pb.news_bulletin, msg_id, msg_type, message, origin))


def news_providers(providers: Sequence[tuple[str, str]]) -> Message:
    out: list[Field] = [len(providers)]
    for code, name in providers:
        out += [code, name]
    return Message(NEWS_PROVIDERS, tuple(out), partial(pb.news_providers, tuple(providers)))


def news_article(req_id: int, article_type: int, text: str) -> Message:
    """newsArticle (msg 83): type 0 plain text or HTML, 1 binary (base64 PDF)."""
    return Message(NEWS_ARTICLE, (req_id, article_type, text), partial(pb.news_article, req_id, article_type, text))


def historical_news(req_id: int, time: str, provider: str, article_id: str, headline: str) -> Message:
    return Message(HISTORICAL_NEWS, (req_id, time, provider, article_id, headline),
                   partial(pb.historical_news, req_id, time, provider, article_id, headline))


def historical_news_end(req_id: int, has_more: bool) -> Message:
    return Message(HISTORICAL_NEWS_END, (req_id, has_more), partial(pb.historical_news_end, req_id, has_more))


# --- scanner, option calculations, display groups, configuration ---------------------

def scanner_parameters(xml: str) -> Message:
    return Message(SCANNER_PARAMETERS, (1, xml), partial(pb.scanner_parameters, xml))


def scanner_data(req_id: int, rows: Sequence[ContractSpec]) -> Message:
    """scannerData (msg 20): the rows by rank, then (in the same message) its end."""
    out: list[Field] = [3, req_id, len(rows)]
    for rank, c in enumerate(rows):
        out += [rank, c.con_id, c.symbol, c.sec_type, c.last_trade_date, c.strike, c.right, c.exchange, c.currency,
                c.local_symbol, c.market_name, c.trading_class, "", "", "", ""]
    return Message(SCANNER_DATA, tuple(out), partial(pb.scanner_data, req_id, tuple(rows)))


def tick_option_computation(req_id: int, tick_type: int, attrib: int, g: Greeks) -> Message:
    """tickOptionComputation (msg 21); below PRICE_BASED_VOLATILITY (156) with a version field (6)
    and without the attribute."""
    return versioned(TICK_OPTION_COMPUTATION, (Versioned(6, before=SV_PRICE_BASED_VOLATILITY), req_id, tick_type,
                                               Versioned(attrib, SV_PRICE_BASED_VOLATILITY), g.implied_vol, g.delta,
                                               g.price, g.pv_dividend, g.gamma, g.vega, g.theta, g.und_price),
                   partial(pb.tick_option_computation, req_id, tick_type, attrib, g))


def display_group_list(req_id: int, groups: str) -> Message:
    return Message(DISPLAY_GROUP_LIST, (1, req_id, groups), partial(pb.display_group_list, req_id, groups))


def display_group_updated(req_id: int, contract_info: str) -> Message:
    return Message(DISPLAY_GROUP_UPDATED, (1, req_id, contract_info),
                   partial(pb.display_group_updated, req_id, contract_info))


def config_response(req_id: int, port: int) -> Message:
    """configResponse (msg 110, protobuf only): the API settings a client may read."""
    return Message(CONFIG_RESPONSE, (), partial(pb.config_response, req_id, port))


def update_config_response(req_id: int, status: str, message: str) -> Message:
    """updateConfigResponse (msg 111, protobuf only)."""
    return Message(UPDATE_CONFIG_RESPONSE, (), partial(pb.update_config_response, req_id, status, message))

