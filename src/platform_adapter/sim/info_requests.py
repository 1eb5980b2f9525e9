"""Typed requests of the families beyond trading and streaming quotes: market depth, reference
data, option chains, historical ticks and histograms, news, the scanner, option calculations and
exercise, financial-advisor data, display groups, API verification, configuration and WSH.

Same conventions as ``requests.py``: values keep ibapi's meaning, an unset number is ``None``."""

from __future__ import annotations

from dataclasses import dataclass

from .contracts import ContractQuery

TagValues = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class ReqMktDepth:
    req_id: int
    contract: ContractQuery
    num_rows: int
    is_smart_depth: bool = False


@dataclass(frozen=True, slots=True)
class CancelMktDepth:
    req_id: int
    is_smart_depth: bool = False


@dataclass(frozen=True, slots=True)
class ReqMktDepthExchanges:
    pass


@dataclass(frozen=True, slots=True)
class ReqSmartComponents:
    req_id: int
    bbo_exchange: str


@dataclass(frozen=True, slots=True)
class ReqMarketRule:
    market_rule_id: int


@dataclass(frozen=True, slots=True)
class ReqMatchingSymbols:
    req_id: int
    pattern: str


@dataclass(frozen=True, slots=True)
class ReqSecDefOptParams:
    req_id: int
    underlying_symbol: str
    fut_fop_exchange: str
    underlying_sec_type: str
    underlying_con_id: int


@dataclass(frozen=True, slots=True)
class ReqFamilyCodes:
    pass


@dataclass(frozen=True, slots=True)
class ReqSoftDollarTiers:
    req_id: int


@dataclass(frozen=True, slots=True)
class ReqUserInfo:
    req_id: int


@dataclass(frozen=True, slots=True)
class CancelHeadTimeStamp:
    req_id: int


@dataclass(frozen=True, slots=True)
class ReqHistogramData:
    req_id: int
    contract: ContractQuery
    use_rth: bool
    time_period: str
    include_expired: bool = False


@dataclass(frozen=True, slots=True)
class CancelHistogramData:
    req_id: int


@dataclass(frozen=True, slots=True)
class ReqHistoricalTicks:
    req_id: int
    contract: ContractQuery
    start_date_time: str
    end_date_time: str
    number_of_ticks: int
    what_to_show: str
    use_rth: bool
    ignore_size: bool
    include_expired: bool = False


@dataclass(frozen=True, slots=True)
class CancelHistoricalTicks:
    req_id: int


@dataclass(frozen=True, slots=True)
class CancelContractData:
    req_id: int


@dataclass(frozen=True, slots=True)
class ReqNewsBulletins:
    all_messages: bool


@dataclass(frozen=True, slots=True)
class CancelNewsBulletins:
    pass


@dataclass(frozen=True, slots=True)
class ReqNewsProviders:
    pass


@dataclass(frozen=True, slots=True)
class ReqNewsArticle:
    req_id: int
    provider_code: str
    article_id: str


@dataclass(frozen=True, slots=True)
class ReqHistoricalNews:
    req_id: int
    con_id: int
    provider_codes: str
    start_date_time: str
    end_date_time: str
    total_results: int


@dataclass(frozen=True, slots=True)
class ReqWshMetaData:
    req_id: int


@dataclass(frozen=True, slots=True)
class CancelWshMetaData:
    req_id: int


@dataclass(frozen=True, slots=True)
class ReqWshEventData:
    req_id: int
    con_id: int | None = None
    filter: str = ""
    fill_watchlist: bool = False
    fill_portfolio: bool = False
    fill_competitors: bool = False
    start_date: str = ""
    end_date: str = ""
    total_limit: int | None = None


@dataclass(frozen=True, slots=True)
class CancelWshEventData:
    req_id: int


@dataclass(frozen=True, slots=True)
class ReqScannerParameters:
    pass


@dataclass(frozen=True, slots=True)
class ReqScannerSubscription:
    """The subscription's fields the simulator filters on; ``filter_options`` sorted by tag."""

    req_id: int
    number_of_rows: int | None
    instrument: str
    location_code: str
    scan_code: str
    above_price: float | None = None
    below_price: float | None = None
    above_volume: int | None = None
    market_cap_above: float | None = None
    market_cap_below: float | None = None
    stock_type_filter: str = ""
    filter_options: TagValues = ()


@dataclass(frozen=True, slots=True)
class CancelScannerSubscription:
    req_id: int


@dataclass(frozen=True, slots=True)
class ReqCalcImpliedVolat:
    req_id: int
    contract: ContractQuery
    option_price: float
    under_price: float


@dataclass(frozen=True, slots=True)
class ReqCalcOptionPrice:
    req_id: int
    contract: ContractQuery
    volatility: float
    under_price: float


@dataclass(frozen=True, slots=True)
class CancelCalcImpliedVolat:
    req_id: int


@dataclass(frozen=True, slots=True)
class CancelCalcOptionPrice:
    req_id: int


@dataclass(frozen=True, slots=True)
class ExerciseOptions:
    req_id: int
    contract: ContractQuery
    exercise_action: int
    exercise_quantity: int
    account: str
    override: bool
    manual_order_time: str = ""
    customer_account: str = ""
    professional_customer: bool = False


@dataclass(frozen=True, slots=True)
class RequestFA:
    fa_data_type: int


@dataclass(frozen=True, slots=True)
class ReplaceFA:
    req_id: int
    fa_data_type: int
    xml: str


@dataclass(frozen=True, slots=True)
class QueryDisplayGroups:
    req_id: int


@dataclass(frozen=True, slots=True)
class SubscribeToGroupEvents:
    req_id: int
    group_id: int


@dataclass(frozen=True, slots=True)
class UpdateDisplayGroup:
    req_id: int
    contract_info: str


@dataclass(frozen=True, slots=True)
class UnsubscribeFromGroupEvents:
    req_id: int


@dataclass(frozen=True, slots=True)
class VerifyRequest:
    api_name: str
    api_version: str


@dataclass(frozen=True, slots=True)
class VerifyMessage:
    api_data: str


@dataclass(frozen=True, slots=True)
class VerifyAndAuthRequest:
    api_name: str
    api_version: str
    opaque_isv_key: str


@dataclass(frozen=True, slots=True)
class VerifyAndAuthMessage:
    api_data: str
    xyz_response: str


@dataclass(frozen=True, slots=True)
class SetServerLogLevel:
    log_level: int


@dataclass(frozen=True, slots=True)
class ReqConfig:
    req_id: int


@dataclass(frozen=True, slots=True)
class UpdateConfig:
    req_id: int


InfoRequest = (
    ReqMktDepth | CancelMktDepth | ReqMktDepthExchanges | ReqSmartComponents | ReqMarketRule
    | ReqMatchingSymbols | ReqSecDefOptParams | ReqFamilyCodes | ReqSoftDollarTiers | ReqUserInfo
    | CancelHeadTimeStamp | ReqHistogramData | CancelHistogramData | ReqHistoricalTicks
    | CancelHistoricalTicks | CancelContractData | ReqNewsBulletins | CancelNewsBulletins
    | ReqNewsProviders | ReqNewsArticle | ReqHistoricalNews | ReqWshMetaData | CancelWshMetaData
    | ReqWshEventData | CancelWshEventData | ReqScannerParameters | ReqScannerSubscription
    | CancelScannerSubscription | ReqCalcImpliedVolat | ReqCalcOptionPrice | CancelCalcImpliedVolat
    | CancelCalcOptionPrice | ExerciseOptions | RequestFA | ReplaceFA | QueryDisplayGroups
    | SubscribeToGroupEvents | UpdateDisplayGroup | UnsubscribeFromGroupEvents | VerifyRequest
    | VerifyMessage | VerifyAndAuthRequest | VerifyAndAuthMessage | SetServerLogLevel | ReqConfig
    | UpdateConfig
)
