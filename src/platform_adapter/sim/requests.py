"""Typed client requests, one frozen dataclass per request family the simulator serves.

The parsers in ``request_text`` (text fields at a server version) and ``request_proto``
(protobuf bodies) both produce these, so a handler never looks at wire positions. Values keep
ibapi's meaning; an "unset" number (ibapi's UNSET_INTEGER / UNSET_DOUBLE, an empty text field or
an absent protobuf field) is ``None`` where the field is optional.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .contracts import ContractQuery
from .info_requests import InfoRequest


class ParseError(ValueError):
    """A request whose fields or body cannot be read at the negotiated server version;
    ``value`` is the text of a field that is not the number it must be, ``field`` names it (its
    position in a text request, its name in a protobuf one); both None otherwise."""

    def __init__(self, message: str, value: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.value = value
        self.field = field


@dataclass(frozen=True, slots=True)
class StartApi:
    client_id: int
    optional_capabilities: str = ""


@dataclass(frozen=True, slots=True)
class ReqMktData:
    req_id: int
    contract: ContractQuery
    generic_tick_list: str = ""
    snapshot: bool = False
    regulatory_snapshot: bool = False


@dataclass(frozen=True, slots=True)
class CancelMktData:
    req_id: int


@dataclass(frozen=True, slots=True)
class OrderCondition:
    """One order condition, kept raw: ibapi's condition type (1 price, 3 time, 4 margin,
    5 execution, 6 volume, 7 percent change) and its text fields after the type, conjunction
    ("a"/"o") first, as ibapi's ``OrderCondition.make_fields`` renders them."""

    kind: int
    fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    order_id: int
    contract: ContractQuery
    action: str
    total_quantity: Decimal
    order_type: str
    lmt_price: float | None = None
    aux_price: float | None = None
    tif: str = ""
    oca_group: str = ""
    account: str = ""
    order_ref: str = ""
    transmit: bool = True
    parent_id: int = 0
    outside_rth: bool = False
    good_till_date: str = ""
    oca_type: int = 0
    trail_stop_price: float | None = None
    trailing_percent: float | None = None
    what_if: bool = False
    conditions: tuple[OrderCondition, ...] = ()
    conditions_ignore_rth: bool = False
    conditions_cancel_order: bool = False
    lmt_price_offset: float | None = None


@dataclass(frozen=True, slots=True)
class CancelOrder:
    order_id: int
    manual_order_cancel_time: str = ""
    ext_operator: str = ""
    manual_order_indicator: int | None = None


@dataclass(frozen=True, slots=True)
class ReqGlobalCancel:
    ext_operator: str = ""
    manual_order_indicator: int | None = None


@dataclass(frozen=True, slots=True)
class ReqOpenOrders:
    pass


@dataclass(frozen=True, slots=True)
class ReqAllOpenOrders:
    pass


@dataclass(frozen=True, slots=True)
class ReqAutoOpenOrders:
    auto_bind: bool


@dataclass(frozen=True, slots=True)
class ReqCompletedOrders:
    api_only: bool


@dataclass(frozen=True, slots=True)
class ReqIds:
    num_ids: int


@dataclass(frozen=True, slots=True)
class ReqContractDetails:
    req_id: int
    contract: ContractQuery
    include_expired: bool = False
    sec_id_type: str = ""
    sec_id: str = ""
    issuer_id: str = ""


@dataclass(frozen=True, slots=True)
class ReqManagedAccts:
    pass


@dataclass(frozen=True, slots=True)
class ReqCurrentTime:
    pass


@dataclass(frozen=True, slots=True)
class ReqCurrentTimeInMillis:
    pass


@dataclass(frozen=True, slots=True)
class ReqHistoricalData:
    req_id: int
    contract: ContractQuery
    end_date_time: str
    duration: str
    bar_size: str
    what_to_show: str
    use_rth: bool
    format_date: int
    keep_up_to_date: bool
    include_expired: bool = False


@dataclass(frozen=True, slots=True)
class CancelHistoricalData:
    req_id: int


@dataclass(frozen=True, slots=True)
class ReqHeadTimeStamp:
    req_id: int
    contract: ContractQuery
    what_to_show: str
    use_rth: bool
    format_date: int
    include_expired: bool = False


@dataclass(frozen=True, slots=True)
class ReqRealTimeBars:
    req_id: int
    contract: ContractQuery
    bar_size: int
    what_to_show: str
    use_rth: bool


@dataclass(frozen=True, slots=True)
class CancelRealTimeBars:
    req_id: int


@dataclass(frozen=True, slots=True)
class ReqTickByTickData:
    req_id: int
    contract: ContractQuery
    tick_type: str
    number_of_ticks: int = 0
    ignore_size: bool = False


@dataclass(frozen=True, slots=True)
class CancelTickByTickData:
    req_id: int


@dataclass(frozen=True, slots=True)
class ReqMarketDataType:
    market_data_type: int


@dataclass(frozen=True, slots=True)
class ReqPositions:
    pass


@dataclass(frozen=True, slots=True)
class CancelPositions:
    pass


@dataclass(frozen=True, slots=True)
class ReqAccountSummary:
    req_id: int
    group: str
    tags: str


@dataclass(frozen=True, slots=True)
class CancelAccountSummary:
    req_id: int


@dataclass(frozen=True, slots=True)
class ReqAccountUpdates:
    subscribe: bool
    acct_code: str = ""


@dataclass(frozen=True, slots=True)
class ReqExecutions:
    """reqExecutions with its ExecutionFilter (empty text / 0 = no filter on that field)."""

    req_id: int
    client_id: int = 0
    acct_code: str = ""
    time: str = ""
    symbol: str = ""
    sec_type: str = ""
    exchange: str = ""
    side: str = ""
    last_n_days: int | None = None
    specific_dates: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class ReqPositionsMulti:
    req_id: int
    account: str = ""
    model_code: str = ""


@dataclass(frozen=True, slots=True)
class CancelPositionsMulti:
    req_id: int


@dataclass(frozen=True, slots=True)
class ReqAccountUpdatesMulti:
    req_id: int
    account: str = ""
    model_code: str = ""
    ledger_and_nlv: bool = False


@dataclass(frozen=True, slots=True)
class CancelAccountUpdatesMulti:
    req_id: int


@dataclass(frozen=True, slots=True)
class ReqPnL:
    req_id: int
    account: str = ""
    model_code: str = ""


@dataclass(frozen=True, slots=True)
class CancelPnL:
    req_id: int


@dataclass(frozen=True, slots=True)
class ReqPnLSingle:
    req_id: int
    account: str = ""
    model_code: str = ""
    con_id: int = 0


@dataclass(frozen=True, slots=True)
class CancelPnLSingle:
    req_id: int


Request = (
    StartApi | ReqMktData | CancelMktData | PlaceOrder | CancelOrder | ReqGlobalCancel
    | ReqOpenOrders | ReqAllOpenOrders | ReqAutoOpenOrders | ReqCompletedOrders | ReqIds
    | ReqContractDetails | ReqManagedAccts | ReqCurrentTime | ReqCurrentTimeInMillis
    | ReqHistoricalData | CancelHistoricalData | ReqHeadTimeStamp | ReqRealTimeBars
    | CancelRealTimeBars | ReqTickByTickData | CancelTickByTickData | ReqMarketDataType
    | ReqPositions | CancelPositions | ReqAccountSummary | CancelAccountSummary
    | ReqAccountUpdates | ReqExecutions | ReqPositionsMulti | CancelPositionsMulti
    | ReqAccountUpdatesMulti | CancelAccountUpdatesMulti | ReqPnL | CancelPnL | ReqPnLSingle
    | CancelPnLSingle | InfoRequest
)


def req_id_of(request: Request) -> int | None:
    """The request id a request carries (its answers and errors are addressed to it), if any."""
    value = getattr(request, "req_id", None)
    return value if isinstance(value, int) else None
