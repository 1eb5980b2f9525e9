"""The contract universe file: the original contracts unchanged, generated expiries and option
chains relative to the day it is read, IB-like resolution, and another file per gateway."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from platform_adapter.sim import SimulatedGateway
from platform_adapter.sim.chains import monthly_expiries, quarterly_expiries, third_friday
from platform_adapter.sim.contracts import BY_CONID, UNIVERSE, ContractQuery
from platform_adapter.sim.info_types import Session
from platform_adapter.sim.market import Market
from platform_adapter.sim.schedule import sessions
from platform_adapter.sim.universe import DEFAULT_FILE, default_universe, load_universe

from .conftest import RawClient

LEGACY = json.loads(Path(__file__).with_name("legacy_contracts.json").read_text())
TODAY = dt.date(2026, 12, 4)


def test_the_original_contracts_keep_their_ids_fields_and_places() -> None:
    for i, fields in enumerate(LEGACY):
        fields["sec_ids"] = tuple(tuple(x) for x in fields["sec_ids"])
        spec = UNIVERSE[i]
        assert {k: getattr(spec, k) for k in fields} == fields


def test_the_default_universe_has_what_ibs_samples_ask_for() -> None:
    u = load_universe(today=TODAY)
    symbols = {c.symbol for c in u.contracts if c.sec_type == "STK"}
    assert {"AAPL", "MSFT", "IBM", "SPY", "QQQ", "TSLA", "AMZN", "GOOG", "META", "NVDA"} <= symbols
    pairs = {c.local_symbol for c in u.contracts if c.sec_type == "CASH"}
    assert {"EUR.USD", "GBP.USD", "USD.JPY", "EUR.GBP", "EUR.JPY", "AUD.USD"} <= pairs
    es = sorted(c.local_symbol for c in u.contracts if c.symbol == "ES")
    assert es == ["ESH7", "ESM7", "ESU7", "ESZ6"]  # ESH7 is listed (its id kept), the others generated
    assert {c.con_id for c in u.contracts if c.local_symbol == "ESH7"} == {649180695}
    assert sorted(c.local_symbol for c in u.contracts if c.symbol == "NQ") == ["NQH7", "NQM7", "NQU7", "NQZ6"]
    assert len(u.chains) == 10 and all(c.sec_type != "OPT" or c.under_con_id in u.chains for c in u.contracts)


def test_expiries_follow_the_calendar() -> None:
    assert third_friday(2026, 12) == dt.date(2026, 12, 18)
    assert quarterly_expiries(TODAY, 2) == [dt.date(2026, 12, 18), dt.date(2027, 3, 19)]
    assert quarterly_expiries(dt.date(2026, 12, 19), 1) == [dt.date(2027, 3, 19)]
    assert monthly_expiries(TODAY, 3) == [dt.date(2026, 12, 18), dt.date(2027, 1, 15), dt.date(2027, 2, 19)]
    later = load_universe(today=dt.date(2027, 7, 1))
    assert sorted(c.local_symbol for c in later.contracts if c.symbol == "ES") == ["ESH7", "ESH8", "ESM8", "ESU7",
                                                                                    "ESZ7"]


def test_an_option_chain() -> None:
    u = load_universe(today=TODAY)
    chain = u.chains[265598]
    assert chain.expirations == ("20261218", "20270115", "20270219")
    assert chain.strikes == (165.0, 170.0, 175.0, 180.0, 185.0, 190.0, 195.0, 200.0, 205.0, 210.0, 215.0)
    assert chain.exchanges[0] == "SMART" and chain.multiplier == "100" and chain.trading_class == "AAPL"
    call = u.resolve_one(ContractQuery(symbol="AAPL", sec_type="OPT", last_trade_date="20270115", strike=200.0,
                                       right="CALL", exchange="SMART", currency="USD"))
    assert call is not None
    assert (call.local_symbol, call.right, call.multiplier, call.under_con_id) == ("AAPL  270115C00200000", "C",
                                                                                   "100", 265598)
    assert u.resolve_one(ContractQuery(local_symbol="AAPL  270115C00200000")) == call
    assert len(u.resolve(ContractQuery(symbol="AAPL", sec_type="OPT"))) == 66
    ids = [c.con_id for c in u.contracts]
    assert len(ids) == len(set(ids)) and load_universe(today=TODAY).contracts == u.contracts  # stable ids


def test_resolution() -> None:
    u = default_universe()
    assert [c.local_symbol for c in u.resolve(ContractQuery(symbol="EUR", sec_type="CASH", currency="GBP",
                                                            exchange="IDEALPRO"))] == ["EUR.GBP"]
    assert len(u.resolve(ContractQuery(symbol="EUR", sec_type="CASH"))) == 4  # ambiguous without a currency
    assert u.resolve_one(ContractQuery(symbol="AAPL", sec_type="STK", exchange="SMART", currency="USD")) == UNIVERSE[0]
    front = u.resolve(ContractQuery(symbol="ES", sec_type="CONTFUT", exchange="CME"))
    assert [c.last_trade_date for c in front] == [min(c.last_trade_date for c in u.contracts if c.symbol == "ES")]
    assert u.resolve_one(ContractQuery(symbol="ES", sec_type="FUT", last_trade_date="202703")) == BY_CONID[649180695]
    assert [c.symbol for c in u.matching("AM")] == ["AMZN", "AMD", "BAC"]  # BANK OF AMERICA
    assert [c.symbol for c in u.matching("micro")] == ["MSFT", "AMD"]


def test_an_option_is_quoted_from_its_underlying() -> None:
    u = load_universe(today=dt.date.today())
    market = Market(3, u.contracts)
    under = market.quote(265598)
    calls = sorted((c for c in u.contracts if c.under_con_id == 265598 and c.right == "C"),
                   key=lambda c: (c.last_trade_date, c.strike))[:11]
    quotes = [market.quote(c.con_id) for c in calls]
    assert all(0 < q.bid < q.ask for q in quotes)
    assert [q.bid for q in quotes] == sorted((q.bid for q in quotes), reverse=True)  # dearer below the price
    deep = quotes[0]
    assert deep.bid <= under.mid - calls[0].strike + 1.0 <= deep.ask + 1.0  # near intrinsic value
    assert market.quote(calls[0].con_id) is deep  # priced once per market step
    market.step()
    assert market.quote(calls[0].con_id) is not deep


def test_a_gateway_reads_another_universe_file(tmp_path: Path) -> None:
    doc = {"market_rules": {"26": [[0, 0.01]]},
           "contracts": [{"stocks": [{"con_id": 4242, "symbol": "ZZZ", "name": "ZED CORP", "primary": "NYSE",
                                      "price": 12.5, "industry": "Test", "category": "Test",
                                      "isin": "US0000004242"}]}]}
    path = tmp_path / "small.yaml"
    path.write_text(json.dumps(doc))  # JSON is YAML
    with SimulatedGateway(universe=path, positions={"ZZZ": (10, 12.0)}) as gw:
        assert [c.symbol for c in gw.universe.contracts] == ["ZZZ"]
        c = RawClient(gw.port, versions="v100..176")
        c.wait_for(lambda m: m[0] == "9")
        c.send(9, 8, 1, 0, "ZZZ", "STK", "", "", "", "", "SMART", "", "USD", "", "", 0, "", "", "")
        details = c.wait_for(lambda m: m[0] == "10")
        assert details[1:3] == ["1", "ZZZ"] and "4242" in details
        c.send(9, 8, 2, 265598, "", "", "", "", "", "", "", "", "", "", "", 0, "", "", "")  # not in this file
        assert c.wait_error(200)[2] == "2"
        c.close()


def test_a_bad_universe_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(DEFAULT_FILE.read_text().replace("- forex:", "- bonds:", 1))
    with pytest.raises(ValueError, match="unknown contract kind 'bonds'"):
        load_universe(path)
    dup = {"contracts": [{"stocks": [dict(con_id=1, symbol=s, name=s, primary="NYSE", price=1, industry="",
                                          category="", isin="") for s in ("A", "B")]}]}
    path.write_text(json.dumps(dup))
    with pytest.raises(ValueError, match="share a contract id"):
        load_universe(path)
    path.write_text(DEFAULT_FILE.read_text().replace("underlyings: [AAPL,", "underlyings: [EUR, AAPL,"))
    with pytest.raises(ValueError, match=r"not stocks in the file: \['EUR'\]"):
        load_universe(path)


def test_a_multiplier_that_is_not_a_number_matches_nothing() -> None:
    q = ContractQuery(symbol="AAPL", sec_type="OPT", multiplier="x100")
    assert default_universe().resolve(q) == []



def test_futures_and_forex_sessions_open_the_evening_before() -> None:
    u = load_universe(today=TODAY)
    es, fx = u.by_con_id[649180695], u.by_con_id[12087792]
    monday = dt.datetime(2026, 11, 30, 15, 0, tzinfo=dt.timezone.utc)  # 9:00 in Chicago
    (s,) = sessions(es, monday, monday + dt.timedelta(hours=1), use_rth=False)
    assert s.as_session() == Session("20261129-17:00:00", "20261130-16:00:00", "20261130")
    (rth,) = sessions(es, monday, monday + dt.timedelta(hours=1), use_rth=True)
    assert rth.as_session() == Session("20261130-08:30:00", "20261130-15:15:00", "20261130")
    (f,) = sessions(fx, monday, monday + dt.timedelta(hours=1), use_rth=False)
    assert (f.start.strftime("%a %H:%M"), f.end.strftime("%a %H:%M")) == ("Sun 17:15", "Mon 17:00")
