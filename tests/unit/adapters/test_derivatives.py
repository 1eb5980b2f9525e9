"""Futures and options with a fake EClient: the front month among expired and unreadable
expiries, chains from several exchanges and trading classes, the contracts sent to IB, and the
spec keys."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from ibapi.contract import Contract, ContractDetails

from platform_adapter import ContractNotFound, ContractSpec, SecType
from platform_adapter.adapters.contracts import ContractResolver
from platform_adapter.adapters.derivatives import expiry_date, front_month, last_trade_moment, tradable_front
from tests.unit.adapters.test_order_execution import Harness


def future_details(expiry: str, local: str, con_id: int, last_time: str = "", zone: str = "") -> ContractDetails:
    d = ContractDetails()
    d.lastTradeTime, d.timeZoneId = last_time, zone
    c = d.contract
    c.conId, c.symbol, c.secType, c.exchange, c.currency = con_id, "ES", "FUT", "CME", "USD"
    c.lastTradeDateOrContractMonth, c.localSymbol, c.multiplier, c.tradingClass = expiry, local, "50", "ES"
    d.minTick, d.longName = 0.25, "E-mini S&P 500"
    return d


def answer_details(pa: Any, fake: Any, details: list[ContractDetails]) -> None:
    def reply(req_id: int, _contract: Contract) -> None:
        for d in details:
            pa.wrapper.contractDetails(req_id, d)
        pa.wrapper.contractDetailsEnd(req_id)

    fake.on_call["reqContractDetails"] = reply


@pytest.mark.parametrize("text, day", [("20270319", date(2027, 3, 19)), ("20270319 13:30 US/Central",
                                                                          date(2027, 3, 19)),
                                       ("202703", date(2027, 3, 1)), ("", None), ("2027-3", None)])
def test_expiry_dates(text: str, day: date | None) -> None:
    assert expiry_date(text) == day


def test_the_front_month_skips_expired_and_unreadable_expiries(harness: Harness) -> None:
    pa, fake = harness
    answer_details(pa, fake, [future_details("20270618", "ESM7", 3), future_details("20261218", "ESZ6", 1),
                              future_details("20260918", "ESU6", 9), future_details("", "ES??", 7),
                              future_details("20270319", "ESH7", 2)])
    info = front_month(pa.contracts, "es", now=datetime(2026, 12, 18, 23, 59, tzinfo=timezone.utc))
    assert (info.con_id, info.local_symbol, info.spec.last_trade_date) == (1, "ESZ6", "20261218")
    (_, (_, sent)), = [c for c in fake.calls if c[0] == "reqContractDetails"]
    assert (sent.symbol, sent.secType, sent.exchange, sent.lastTradeDateOrContractMonth) == ("ES", "FUT", "CME", "")
    assert pa.contracts.resolve(info.spec) == info  # cached: no second request
    assert len([c for c in fake.calls if c[0] == "reqContractDetails"]) == 1
    assert front_month(pa.contracts, "ES", now=datetime(2026, 12, 19, tzinfo=timezone.utc)).local_symbol == "ESH7"
    with pytest.raises(ContractNotFound, match="2027-06-19 00:00 UTC"):
        front_month(pa.contracts, "ES", now=datetime(2027, 6, 19, tzinfo=timezone.utc))


CHICAGO = ZoneInfo("US/Central")
EXPIRING = future_details("20261218", "ESZ6", 1, "08:30", "US/Central")  # CME: trading ends 08:30 CT
NEXT = future_details("20270319", "ESH7", 2, "08:30", "US/Central")


@pytest.mark.parametrize("local, expected", [
    ((2026, 12, 17, 23, 0), "ESZ6"),  # the day before: 05:00 UTC on the expiry day
    ((2026, 12, 18, 8, 29, 59), "ESZ6"),  # a second before the last trade, in Chicago
    ((2026, 12, 18, 8, 30), "ESH7"),  # at the last trade time: no longer tradable
    ((2026, 12, 18, 9, 0), "ESH7"),  # after it, the same day (15:00 UTC)
])
def test_the_front_month_on_its_expiry_day_is_the_next_one_after_the_last_trade_time(
        harness: Harness, local: tuple[int, ...], expected: str) -> None:
    """The expiry day in the exchange's time zone (US/Central, 6 hours behind UTC in December):
    before the last trade time that expiry, from it on the next one."""
    pa, fake = harness
    answer_details(pa, fake, [NEXT, EXPIRING])
    pa.contracts.clock = lambda: datetime(*local, tzinfo=CHICAGO)  # type: ignore[arg-type, misc]
    assert pa.contracts.front_month("ES").local_symbol == expected


def test_last_trade_moments() -> None:
    assert last_trade_moment(EXPIRING) == datetime(2026, 12, 18, 14, 30, tzinfo=timezone.utc)
    with_seconds = future_details("20261218", "ESZ6", 1, "08:30:15", "US/Central")
    assert last_trade_moment(with_seconds) == datetime(2026, 12, 18, 14, 30, 15, tzinfo=timezone.utc)
    whole_day = future_details("20261218", "ESZ6", 1, "", "US/Central")  # no time: the day's end there
    assert last_trade_moment(whole_day) == datetime(2026, 12, 19, 6, 0, tzinfo=timezone.utc)
    no_zone = future_details("20261218", "ESZ6", 1, "08:30", "")  # no zone: UTC
    assert last_trade_moment(no_zone) == datetime(2026, 12, 18, 8, 30, tzinfo=timezone.utc)
    unknown_zone = future_details("20261218", "ESZ6", 1, "08:30", "Mars/Olympus")
    assert last_trade_moment(unknown_zone) == datetime(2026, 12, 18, 8, 30, tzinfo=timezone.utc)
    assert last_trade_moment(future_details("", "ES??", 7, "08:30", "US/Central")) is None
    moment = last_trade_moment(EXPIRING)
    assert moment is not None
    assert tradable_front([NEXT, EXPIRING], moment - timedelta(microseconds=1)) is EXPIRING
    assert tradable_front([NEXT, EXPIRING], moment) is NEXT
    assert tradable_front([NEXT, EXPIRING], datetime(2027, 3, 20, tzinfo=timezone.utc)) is None


def test_option_chains_by_exchange_and_trading_class(harness: Harness) -> None:
    pa, fake = harness

    def reply(req_id: int, symbol: str, fut_fop_exchange: str, sec_type: str, con_id: int) -> None:
        assert (symbol, fut_fop_exchange, sec_type, con_id) == ("AAPL", "", "STK", 265598)
        pa.wrapper.securityDefinitionOptionParameter(req_id, "SMART", 265598, "2AAPL", "100", {"20270115"}, {190.0})
        pa.wrapper.securityDefinitionOptionParameter(req_id, "CBOE", 265598, "AAPL", "100", {"20270115"}, {190.0})
        pa.wrapper.securityDefinitionOptionParameter(req_id, "SMART", 265598, "AAPL", "100",
                                                     {"20270219", "20270115"}, {195.0, 185.0, 190.0})
        pa.wrapper.securityDefinitionOptionParameterEnd(req_id)

    fake.on_call["reqSecDefOptParams"] = reply
    chains = pa.contracts.option_chains("AAPL")
    assert [(c.exchange, c.trading_class) for c in chains] == [("CBOE", "AAPL"), ("SMART", "2AAPL"),
                                                              ("SMART", "AAPL")]
    chain = pa.contracts.option_chain("AAPL")
    assert (chain.trading_class, chain.expirations, chain.strikes) == ("AAPL", ("20270115", "20270219"),
                                                                      (185.0, 190.0, 195.0))
    with pytest.raises(ContractNotFound, match="ISE"):
        pa.contracts.option_chain("AAPL", "ISE")


def test_contracts_sent_for_options_and_continuous_futures(harness: Harness) -> None:
    pa, fake = harness
    d = ContractDetails()
    c = d.contract
    c.conId, c.symbol, c.secType, c.exchange, c.currency = 99, "AAPL", "OPT", "SMART", "USD"
    c.lastTradeDateOrContractMonth, c.strike, c.right, c.multiplier = "20270115", 190.0, "CALL", "100"
    c.localSymbol, c.tradingClass = "AAPL  270115C00190000", "AAPL"
    d.minTick, d.underConId = 0.01, 265598
    answer_details(pa, fake, [d])
    spec = ContractSpec.option("AAPL", "20270115", 190, "call")
    assert (spec.right, spec.key) == ("C", "AAPL:OPT:20270115:190C@SMART")
    info = pa.contracts.resolve(spec)
    (_, (_, asked)), = [c for c in fake.calls if c[0] == "reqContractDetails"]
    assert (asked.secType, asked.strike, asked.right, asked.lastTradeDateOrContractMonth) == (
        "OPT", 190, "C", "20270115")
    assert (info.strike, info.right, info.underlying_con_id) == (190.0, "C", 265598)
    sent = ContractResolver.ib_contract(info)
    assert (sent.conId, sent.secType, sent.strike, sent.right, sent.multiplier, sent.tradingClass) == (
        99, "OPT", 190.0, "C", "100", "AAPL")
    cont = ContractSpec.continuous_future("ES")
    answer_details(pa, fake, [future_details("20270319", "ESH7", 2)])
    cont_info = pa.contracts.resolve(cont)
    sent = ContractResolver.ib_contract(cont_info)
    assert (sent.conId, sent.secType, sent.symbol, sent.exchange, sent.lastTradeDateOrContractMonth) == (
        0, "CONTFUT", "ES", "CME", "")
    assert cont.key == "ES:CONTFUT:@CME" and cont.sec_type is SecType.CONTINUOUS_FUTURE
    assert ContractSpec.future("ES", local_symbol="ESZ6").key == "ES:FUT:ESZ6@CME"
