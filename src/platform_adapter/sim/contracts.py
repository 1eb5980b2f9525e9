"""Contract definitions: what the simulator knows of each contract, and a request's contract.

The contracts themselves come from the universe file (``universe.py``). ``BY_CONID`` maps the
contract id of every contract any universe in this process has loaded (the default one on first
use) to its definition; ``UNIVERSE`` is the default universe's contracts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

STK_ORDER_TYPES = (
    "ACTIVETIM,AD,ADJUST,ALERT,ALGO,ALLOC,AON,AVGCOST,BASKET,COND,CONDORDER,DAY,DEACT,"
    "DEACTDIS,DEACTEOD,GAT,GTC,GTD,GTT,HID,IOC,LIT,LMT,LOC,MIT,MKT,MOC,MTL,NONALGO,OCA,"
    "OPG,REL,RELPCTOFS,RTH,SCALE,SCALERST,STP,STPLMT,TRAIL,TRAILLIT,TRAILLMT,TRAILMIT,WHATIF"
)
CASH_ORDER_TYPES = (
    "ACTIVETIM,AD,ADJUST,ALERT,ALGO,ALLOC,AVGCOST,BASKET,CASHQTY,COND,CONDORDER,DAY,DEACT,"
    "DEACTDIS,DEACTEOD,GAT,GTC,GTD,GTT,HID,IOC,LIT,LMT,MIT,MKT,NONALGO,OCA,REL,RELPCTOFS,"
    "SCALE,SCALERST,STP,STPLMT,TRAIL,TRAILLIT,TRAILLMT,TRAILMIT,WHATIF"
)
STK_EXCHANGES = "SMART,AMEX,NYSE,CBOE,PHLX,ISE,CHX,ARCA,NASDAQ,DRCTEDGE,BEX,BATS,EDGEA,IEX,EDGX"
STK_HOURS = "20240101:0400-20240101:2000"
STK_LIQUID = "20240101:0930-20240101:1600"
FX_HOURS = "20240101:1715-20240102:1700"

OPT_ORDER_TYPES = (
    "ACTIVETIM,AD,ADJUST,ALERT,ALLOC,AVGCOST,BASKET,COND,CONDORDER,DAY,DEACT,DEACTDIS,DEACTEOD,"
    "GAT,GTC,GTD,GTT,HID,IOC,LIT,LMT,MIT,MKT,NONALGO,OCA,OPENCLOSE,PAON,POSTATS,RELSTK,SCALE,"
    "SCALERST,SNAPMID,SNAPMKT,SNAPREL,STP,STPLMT,TRAIL,TRAILLIT,TRAILLMT,TRAILMIT,VOL,WHATIF"
)
OPT_HOURS = "20240101:0930-20240101:1600"

NO_SECDEF_TEXT = "No security definition has been found for the request"



@dataclass(frozen=True)
class ContractSpec:
    """Static definition of one tradable contract."""

    con_id: int
    symbol: str
    sec_type: str
    exchange: str
    currency: str
    local_symbol: str
    trading_class: str
    market_name: str
    min_tick: float
    min_tick_text: str
    long_name: str
    primary_exchange: str = ""
    last_trade_date: str = ""
    last_trade_time: str = ""  # a future's: when trading ends on its last trade date (HH:MM, in time_zone)
    multiplier: str = ""
    valid_exchanges: str = STK_EXCHANGES
    order_types: str = STK_ORDER_TYPES
    industry: str = ""
    category: str = ""
    subcategory: str = ""
    time_zone: str = "US/Eastern"
    trading_hours: str = STK_HOURS
    liquid_hours: str = STK_LIQUID
    agg_group: int = 1
    market_rule_ids: str = "26"
    stock_type: str = ""
    min_size: str = "1"
    size_increment: str = "1"
    base_price: float = 100.0
    volatility: float = 0.0002
    sec_ids: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    strike: float = 0.0
    right: str = ""  # "C" or "P" for an option
    under_con_id: int = 0
    under_symbol: str = ""
    under_sec_type: str = ""
    implied_vol: float = 0.0  # what an option's quotes are priced at

    @property
    def details_expiry(self) -> str:
        """``lastTradeDateOrContractMonth`` as contract details give it: with a last trade time,
        IB's ``"YYYYMMDD HH:MM:SS zone"`` (ibapi splits off the time as ``lastTradeTime``)."""
        if not self.last_trade_time:
            return self.last_trade_date
        return f"{self.last_trade_date} {self.last_trade_time}:00 {self.time_zone}"

    @property
    def mult(self) -> float:
        """Numeric multiplier (1 when empty)."""
        return float(self.multiplier) if self.multiplier else 1.0

    @property
    def is_option(self) -> bool:
        """True for an option (its quotes follow its underlying's)."""
        return self.sec_type == "OPT"

    @property
    def position_exchange(self) -> str:
        """Exchange shown in position/portfolio messages."""
        return self.primary_exchange if self.sec_type == "STK" else ""


@dataclass(frozen=True, slots=True)
class ContractQuery:
    """The contract fields of a request (the 12 fields of ibapi's contract text layout)."""

    con_id: int = 0
    symbol: str = ""
    sec_type: str = ""
    last_trade_date: str = ""
    strike: float = 0.0
    right: str = ""
    multiplier: str = ""
    exchange: str = ""
    primary_exchange: str = ""
    currency: str = ""
    local_symbol: str = ""
    trading_class: str = ""


def _default_contracts() -> tuple[ContractSpec, ...]:
    from .universe import default_universe  # noqa: PLC0415 - the universe module builds on this one

    return default_universe().contracts


class _Registry(dict[int, ContractSpec]):
    """Contract id -> definition; a missing id first loads the default universe."""

    def __missing__(self, con_id: int) -> ContractSpec:
        if not self:
            _default_contracts()
            if con_id in self:
                return self[con_id]
        raise KeyError(con_id)


BY_CONID: dict[int, ContractSpec] = _Registry()


def register(contracts: tuple[ContractSpec, ...]) -> None:
    """Make a loaded universe's contracts known to ``BY_CONID``."""
    for c in contracts:
        BY_CONID[c.con_id] = c


def __getattr__(name: str) -> Sequence[ContractSpec]:
    """``UNIVERSE``: the default universe's contracts, loaded on first use."""
    if name != "UNIVERSE":
        raise AttributeError(name)
    return _default_contracts()
