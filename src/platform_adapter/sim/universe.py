"""The contract universe: read from a YAML file (``data/universe.yaml`` by default), with futures
expiries and option chains generated relative to the day it is read, and the lookups requests
need (contract resolution, option chains, market rules, matching symbols)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from . import chains
from .contracts import (
    CASH_ORDER_TYPES,
    FX_HOURS,
    OPT_HOURS,
    OPT_ORDER_TYPES,
    ContractQuery,
    ContractSpec,
    register,
)
from .options import greeks

DEFAULT_FILE = Path(__file__).with_name("data") / "universe.yaml"
FUT_HOURS = "20240101:1700-20240102:1600"
FUT_LIQUID = "20240101:0830-20240101:1515"
# CME's equity index futures (ES, NQ, RTY, YM) stop trading at 9:30 ET on their last trade date
EQUITY_INDEX_LAST_TRADE = "08:30"
RIGHTS = {"C": "C", "CALL": "C", "P": "P", "PUT": "P"}


@dataclass(frozen=True, slots=True)
class OptionChain:
    """The options listed on one underlying (reqSecDefOptParams)."""

    underlying: ContractSpec
    trading_class: str
    multiplier: str
    exchanges: tuple[str, ...]
    expirations: tuple[str, ...]
    strikes: tuple[float, ...]


class Universe:
    """Every contract the simulator knows, and how requests find them."""

    def __init__(self, contracts: Iterable[ContractSpec], market_rules: Mapping[int, list[tuple[float, float]]],
                 chains_: Iterable[OptionChain] = ()) -> None:
        self.contracts = tuple(contracts)
        self.by_con_id = {c.con_id: c for c in self.contracts}
        if len(self.by_con_id) != len(self.contracts):
            raise ValueError("universe: two contracts share a contract id")
        self.market_rules = dict(market_rules)
        self.chains = {ch.underlying.con_id: ch for ch in chains_}
        self._by_symbol: dict[str, list[ContractSpec]] = defaultdict(list)
        self._by_local: dict[str, list[ContractSpec]] = defaultdict(list)
        for c in self.contracts:
            self._by_symbol[c.symbol.upper()].append(c)
            self._by_local[c.local_symbol.upper()].append(c)
        register(self.contracts)

    def resolve(self, q: ContractQuery) -> list[ContractSpec]:
        """All contracts matching the query (IB-like matching rules)."""
        if q.con_id:
            spec = self.by_con_id.get(q.con_id)
            return [spec] if spec else []
        if q.local_symbol:
            candidates = self._by_local.get(q.local_symbol.upper(), [])
        elif q.symbol:
            candidates = self._by_symbol.get(q.symbol.upper(), [])
        else:
            return []
        sec_type = q.sec_type.upper()
        if sec_type == "CONTFUT":  # the continuous future: the front month
            futures = sorted((c for c in candidates if c.sec_type == "FUT"), key=lambda c: c.last_trade_date)
            return futures[:1]
        return [c for c in candidates if _matches(c, q, sec_type)]

    def resolve_one(self, q: ContractQuery) -> ContractSpec | None:
        """The unique match or None."""
        found = self.resolve(q)
        return found[0] if len(found) == 1 else None

    def matching(self, pattern: str, limit: int = 16) -> list[ContractSpec]:
        """reqMatchingSymbols: stocks and ETFs whose symbol starts with the pattern, then those whose
        name contains it."""
        p = pattern.strip().upper()
        if not p:
            return []
        stocks = [c for c in self.contracts if c.sec_type == "STK"]
        first = [c for c in stocks if c.symbol.startswith(p)]
        then = [c for c in stocks if p in c.long_name.upper() and c not in first]
        return (first + then)[:limit]


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _matches(c: ContractSpec, q: ContractQuery, sec_type: str) -> bool:
    if sec_type and sec_type != c.sec_type:
        return False
    if q.symbol and q.symbol.upper() != c.symbol.upper():
        return False
    if q.currency and q.currency.upper() != c.currency:
        return False
    exchange = q.exchange.upper()
    if exchange and exchange not in ("SMART", c.exchange) and exchange not in c.valid_exchanges.split(","):
        return False
    if q.last_trade_date and not c.last_trade_date.startswith(q.last_trade_date):
        return False
    if q.strike and abs(q.strike - c.strike) > 1e-9:
        return False
    if q.right and RIGHTS.get(q.right.upper(), "?") != c.right:
        return False
    if q.multiplier and c.multiplier and _number(q.multiplier) != c.mult:
        return False
    return not (q.trading_class and q.trading_class.upper() != c.trading_class.upper())


# --- reading the file ------------------------------------------------------------------------

def _stock(d: Mapping[str, Any]) -> ContractSpec:
    sym, prim = d["symbol"], d["primary"]
    tc = d.get("trading_class") or ("NMS" if prim == "NASDAQ" else sym)
    return ContractSpec(
        con_id=d["con_id"], symbol=sym, sec_type="STK", exchange="SMART", currency=d.get("currency", "USD"),
        local_symbol=sym, trading_class=tc, market_name=tc, min_tick=0.01, min_tick_text="0.01",
        long_name=d["name"], primary_exchange=prim, industry=d["industry"], category=d["category"],
        subcategory=d["category"], stock_type=d.get("type", "COMMON"), base_price=float(d["price"]),
        sec_ids=(("ISIN", d["isin"]),))


def _forex(d: Mapping[str, Any]) -> ContractSpec:
    base, quote = d["pair"].split(".")
    tick = d.get("min_tick", "0.00005")
    return ContractSpec(
        con_id=d["con_id"], symbol=base, sec_type="CASH", exchange="IDEALPRO", currency=quote,
        local_symbol=d["pair"], trading_class=d["pair"], market_name=d["pair"], min_tick=float(tick),
        min_tick_text=tick, long_name=d["name"], valid_exchanges="IDEALPRO", order_types=CASH_ORDER_TYPES,
        trading_hours=FX_HOURS, liquid_hours=FX_HOURS, agg_group=4,
        market_rule_ids=d.get("market_rule_ids", "3188"), min_size="0.01", size_increment="0.01",
        base_price=float(d["price"]), volatility=0.00005)


def _future(d: Mapping[str, Any], con_id: int, expiry: str, local_symbol: str) -> ContractSpec:
    root = d["root"]
    return ContractSpec(
        con_id=con_id, symbol=root, sec_type="FUT", exchange=d["exchange"], currency="USD",
        local_symbol=local_symbol, trading_class=root, market_name=root, min_tick=float(d["min_tick"]),
        min_tick_text=d["min_tick"], long_name=d["name"], last_trade_date=expiry, multiplier=d["multiplier"],
        valid_exchanges=d["valid_exchanges"], time_zone="US/Central", trading_hours=FUT_HOURS,
        last_trade_time=d.get("last_trade_time", EQUITY_INDEX_LAST_TRADE),
        liquid_hours=FUT_LIQUID, market_rule_ids=d["market_rule_ids"], base_price=float(d["price"]))


def _generated_futures(d: Mapping[str, Any], today: dt.date, taken: set[int]) -> Iterator[ContractSpec]:
    listed = {x["expiry"] for x in d.get("listed", [])}
    for expiry in chains.quarterly_expiries(today, d.get("quarterly", 0)):
        text = expiry.strftime("%Y%m%d")
        if text not in listed:
            local = chains.future_local_symbol(d["root"], expiry)
            yield _future(d, chains.sim_con_id(f"FUT:{d['root']}:{text}", taken), text, local)


def _option_chain(under: ContractSpec, cfg: Mapping[str, Any], today: dt.date, taken: set[int],
                  out: list[ContractSpec]) -> OptionChain:
    expiries = chains.monthly_expiries(today, cfg["expiries"])
    strikes = chains.strike_grid(under.base_price, cfg["strikes_each_side"])
    vol = float(cfg["volatility"])
    for expiry in expiries:
        years = (expiry - today).days / 365.0
        for strike in strikes:
            for right in ("C", "P"):
                text = expiry.strftime("%Y%m%d")
                fair = greeks(right == "C", under.base_price, strike, years, vol).price
                out.append(ContractSpec(
                    con_id=chains.sim_con_id(f"OPT:{under.symbol}:{text}:{right}:{strike}", taken),
                    symbol=under.symbol, sec_type="OPT", exchange="SMART", currency=under.currency,
                    local_symbol=chains.option_local_symbol(under.symbol, expiry, right, strike),
                    trading_class=under.symbol, market_name=under.symbol, min_tick=0.01, min_tick_text="0.01",
                    long_name=under.long_name, last_trade_date=text, multiplier="100",
                    valid_exchanges=cfg["exchanges"], order_types=OPT_ORDER_TYPES, industry=under.industry,
                    category=under.category, subcategory=under.subcategory, trading_hours=OPT_HOURS,
                    liquid_hours=OPT_HOURS, market_rule_ids=cfg["market_rule_ids"], base_price=max(fair, 0.01),
                    strike=strike, right=right, under_con_id=under.con_id, under_symbol=under.symbol,
                    under_sec_type=under.sec_type, implied_vol=vol))
    return OptionChain(under, under.symbol, "100", tuple(cfg["exchanges"].split(",")),
                       tuple(e.strftime("%Y%m%d") for e in expiries), tuple(strikes))


def load_universe(path: str | Path = DEFAULT_FILE, today: dt.date | None = None) -> Universe:
    """Read a universe file; generated expiries start from ``today`` (default: the local date)."""
    today = today or dt.date.today()
    doc = yaml.safe_load(Path(path).read_text())
    listed: list[ContractSpec] = []
    futures: list[Mapping[str, Any]] = []
    for group in doc.get("contracts", []):
        for kind, entries in group.items():
            if kind not in ("stocks", "forex", "futures"):
                raise ValueError(f"universe {path}: unknown contract kind {kind!r}")
            for d in entries:
                if kind == "stocks":
                    listed.append(_stock(d))
                elif kind == "forex":
                    listed.append(_forex(d))
                else:
                    futures.append(d)
                    listed += [_future(d, x["con_id"], x["expiry"], x["local_symbol"]) for x in d.get("listed", [])]
    taken = {c.con_id for c in listed}
    generated = [c for d in futures for c in _generated_futures(d, today, taken)]
    cfg = doc.get("options")
    option_chains = []
    if cfg:
        by_symbol = {c.symbol: c for c in listed if c.sec_type == "STK"}
        unknown = [s for s in cfg["underlyings"] if s not in by_symbol]
        if unknown:
            raise ValueError(f"universe {path}: option underlyings that are not stocks in the file: {unknown}")
        option_chains = [_option_chain(by_symbol[s], cfg, today, taken, generated) for s in cfg["underlyings"]]
    rules = {int(k): [(float(lo), float(inc)) for lo, inc in v] for k, v in doc.get("market_rules", {}).items()}
    return Universe(listed + generated, rules, option_chains)


@cache
def default_universe() -> Universe:
    """The package's universe file, read once per process."""
    return load_universe()

