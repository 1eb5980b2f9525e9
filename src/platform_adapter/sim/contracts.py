"""Built-in contract universe with real IB contract ids."""

from __future__ import annotations

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

    @property
    def mult(self) -> float:
        """Numeric multiplier (1 when empty)."""
        return float(self.multiplier) if self.multiplier else 1.0

    @property
    def position_exchange(self) -> str:
        """Exchange shown in position/portfolio messages."""
        return self.primary_exchange if self.sec_type == "STK" else ""


def _stock(con_id: int, sym: str, name: str, prim: str, price: float, ind: str, cat: str,
           isin: str, stock_type: str = "COMMON", trading_class: str | None = None) -> ContractSpec:
    tc = trading_class or ("NMS" if prim == "NASDAQ" else sym)
    return ContractSpec(
        con_id=con_id, symbol=sym, sec_type="STK", exchange="SMART", currency="USD",
        local_symbol=sym, trading_class=tc, market_name=tc, min_tick=0.01, min_tick_text="0.01",
        long_name=name, primary_exchange=prim, industry=ind, category=cat, subcategory=cat,
        stock_type=stock_type, base_price=price, sec_ids=(("ISIN", isin),),
    )


UNIVERSE: tuple[ContractSpec, ...] = (
    _stock(265598, "AAPL", "APPLE INC", "NASDAQ", 190.0, "Technology", "Computers", "US0378331005"),
    _stock(272093, "MSFT", "MICROSOFT CORP", "NASDAQ", 410.0, "Technology", "Software", "US5949181045"),
    _stock(76792991, "TSLA", "TESLA INC", "NASDAQ", 240.0, "Consumer, Cyclical", "Auto Manufacturers",
           "US88160R1014"),
    _stock(756733, "SPY", "SPDR S&P 500 ETF TRUST", "ARCA", 520.0, "Funds", "Equity Fund", "US78462F1030",
           stock_type="ETF"),
    ContractSpec(
        con_id=649180695, symbol="ES", sec_type="FUT", exchange="CME", currency="USD",
        local_symbol="ESH7", trading_class="ES", market_name="ES", min_tick=0.25, min_tick_text="0.25",
        long_name="E-mini S&P 500", last_trade_date="20270319", multiplier="50",
        valid_exchanges="CME,QBALGO", time_zone="US/Central",
        trading_hours="20240101:1700-20240102:1600", liquid_hours="20240101:0830-20240101:1515",
        market_rule_ids="67", base_price=5300.0,
    ),
    ContractSpec(
        con_id=12087792, symbol="EUR", sec_type="CASH", exchange="IDEALPRO", currency="USD",
        local_symbol="EUR.USD", trading_class="EUR.USD", market_name="EUR.USD",
        min_tick=0.00005, min_tick_text="0.00005", long_name="European Monetary Union Euro",
        valid_exchanges="IDEALPRO", order_types=CASH_ORDER_TYPES, trading_hours=FX_HOURS,
        liquid_hours=FX_HOURS, agg_group=4, market_rule_ids="3188", min_size="0.01",
        size_increment="0.01", base_price=1.0875, volatility=0.00005,
    ),
    _stock(999999001, "BURST", "SIMULATED BURST TEST STOCK", "NASDAQ", 100.0, "Test", "Test", "XX0000000000"),
)

BY_CONID = {c.con_id: c for c in UNIVERSE}


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


def resolve(q: ContractQuery) -> list[ContractSpec]:
    """All universe contracts matching the query (IB-like matching rules)."""
    if q.con_id:
        spec = BY_CONID.get(q.con_id)
        return [spec] if spec else []
    out = []
    for c in UNIVERSE:
        if q.local_symbol and q.local_symbol.upper() != c.local_symbol.upper():
            continue
        if q.symbol and q.symbol.upper() != c.symbol.upper():
            continue
        if not q.symbol and not q.local_symbol:
            continue
        if q.sec_type and q.sec_type.upper() != c.sec_type:
            continue
        if q.currency and q.currency.upper() != c.currency:
            continue
        if q.exchange and q.exchange.upper() not in ("SMART", c.exchange) \
                and q.exchange.upper() not in c.valid_exchanges.split(","):
            continue
        if q.last_trade_date and not c.last_trade_date.startswith(q.last_trade_date):
            continue
        out.append(c)
    return out


def resolve_one(q: ContractQuery) -> ContractSpec | None:
    """The unique match or None."""
    found = resolve(q)
    return found[0] if len(found) == 1 else None
