"""Futures and options over TCP against the simulator: a future by expiry, by local symbol and as
the front month from IB's contract details; its quotes and orders (ticks and multiplier applied);
option chains from reqSecDefOptParams, an option by symbol, expiry, strike and right, streamed,
previewed and traded; a continuous future's history (the simulator's universe,
sim/data/universe.yaml, lists ES quarterly expiries and option chains)."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from platform_adapter import ContractNotFound, ContractSpec, OrderRejected, OrderState, SecType, ValidationError
from platform_adapter.adapters.derivatives import expiry_date
from platform_adapter.sim import contracts as sim_contracts
from tests.conftest import wait_for


def sim_order(gateway: Any, pa: Any, order_id: int) -> Any:
    return next(o for o in gateway.stats().orders if o.order_id == order_id and o.client_id == pa.connection.client_id)


def last_trades(symbol: str) -> list[tuple[datetime, str]]:
    """(last trade moment, local symbol) of the simulator's futures of ``symbol``, soonest first."""
    out = []
    for c in sim_contracts.BY_CONID.values():
        day = expiry_date(c.last_trade_date)
        if c.symbol == symbol and c.sec_type == "FUT" and day is not None:
            at = time.fromisoformat(c.last_trade_time) if c.last_trade_time else time(23, 59, 59)
            out.append((datetime.combine(day, at, ZoneInfo(c.time_zone)), c.local_symbol))
    return sorted(out)


def test_the_front_month_future_streams_and_trades(pa: Any, gateway: Any) -> None:
    now = datetime.now(timezone.utc)
    pa.contracts.clock = lambda: now
    info = pa.contracts.front_month("ES")
    assert (info.sec_type, info.multiplier, info.min_tick) == (SecType.FUTURE, "50", 0.25)
    assert info.local_symbol == next(local for at, local in last_trades("ES") if at > now)
    assert info.spec.sec_type is SecType.FUTURE and info.spec.local_symbol == info.local_symbol
    assert pa.contracts.cached(info.spec) == info
    quotes: list[Any] = []
    pa.market_data.subscribe_quotes(info.spec, lambda _key, q: quotes.append(q))
    wait_for(lambda: quotes and quotes[-1].last)
    with pytest.raises(ValidationError, match="tick size 0.25"):
        pa.orders.place_order(info.spec, "BUY", 1, "LMT", limit_price=5300.1)
    order_id = pa.orders.place_order(info.spec, "BUY", 1, "MKT")
    pa.orders.wait_for_status(order_id, OrderState.FILLED, timeout=5)
    assert sim_order(gateway, pa, order_id).con_id == info.con_id


@pytest.mark.parametrize("version", [176, 226], ids=["text", "protobuf"])
@pytest.mark.parametrize("before", [True, False], ids=["before-last-trade", "at-last-trade"])
def test_the_front_month_on_its_expiry_day_from_the_gateways_details(make_adapter: Any, before: bool,
                                                                     version: int) -> None:
    """The simulator gives IB's contract details of each ES expiry: the last trade date with its
    time (08:30, CME's 9:30 ET) and the exchange's time zone (US/Central). On the first expiry day
    a second before that time the front month is that expiry; from that time on, the next one."""
    pa = make_adapter(**{"ib_connection.max_client_version": version})
    (first, first_local), (_, second_local) = last_trades("ES")[:2]
    assert first.utcoffset() != timedelta(0) and (first.hour, first.minute) == (8, 30)
    pa.contracts.clock = lambda: first - timedelta(seconds=1) if before else first
    info = pa.contracts.front_month("ES")
    assert info.local_symbol == (first_local if before else second_local)
    assert info.time_zone_id == "US/Central" and len(info.last_trade_date) == 8  # the date alone, as IB's spec


def test_a_future_by_expiry_or_local_symbol(pa: Any) -> None:
    front = pa.contracts.front_month("ES")
    by_expiry = pa.contracts.resolve(ContractSpec.future("ES", front.last_trade_date))
    by_local = pa.contracts.resolve(ContractSpec.future("ES", local_symbol=front.local_symbol))
    assert by_expiry.con_id == by_local.con_id == front.con_id
    with pytest.raises(ValidationError, match="front_month"):
        pa.contracts.resolve(ContractSpec.future("ES"))
    with pytest.raises(ContractNotFound):
        pa.contracts.front_month("NOSUCH")


def test_a_future_is_judged_by_ibs_margin_not_by_buying_power(pa: Any, gateway: Any) -> None:
    """A future is margined at a fraction of its value: an order whose value (multiplier 50)
    exceeds BuyingPower but whose margin fits goes to IB and works (before: refused by the
    adapter as "insufficient buying power", an order IB takes); one whose margin does not fit is
    IB's to refuse (201, OrderRejected)."""
    info = pa.contracts.front_month("ES")
    wait_for(lambda: pa.state.get_account_value("BuyingPower") and pa.state.get_account_value("AvailableFunds"))
    power = float(pa.state.get_account_value("BuyingPower"))
    lots = int(power / (5000.0 * 50)) + 1  # worth more than the buying power
    status = pa.orders.place_order_and_wait(info.spec, "BUY", lots, "LMT", limit_price=5000.0)
    assert status.status is OrderState.SUBMITTED
    available = float(pa.state.get_account_value("AvailableFunds"))
    too_many = int(available / (5000.0 * 50 * 0.05)) + 1  # no future is margined below 5%
    with pytest.raises(OrderRejected, match="201|MARGIN"):
        pa.orders.place_order_and_wait(info.spec, "BUY", too_many, "LMT", limit_price=5000.0)
    assert gateway.stats().received["placeOrder"] == 2


def test_continuous_futures_are_not_traded(pa: Any, gateway: Any) -> None:
    with pytest.raises(ValidationError, match="historical data only"):
        pa.orders.place_order(ContractSpec.continuous_future("ES"), "BUY", 1, "MKT")
    assert gateway.stats().received["placeOrder"] == 0


def test_an_option_chain_then_one_option_streamed_previewed_and_traded(pa: Any, gateway: Any) -> None:
    chain = pa.contracts.option_chain("AAPL")
    assert (chain.underlying, chain.underlying_con_id, chain.exchange, chain.multiplier) == (
        "AAPL", 265598, "SMART", "100")
    assert chain.expirations == tuple(sorted(chain.expirations)) and len(chain.expirations) >= 1
    assert chain.strikes == tuple(sorted(chain.strikes)) and len(chain.strikes) >= 3
    assert {c.exchange for c in pa.contracts.option_chains("AAPL")} >= {"SMART"}
    strike = min(chain.strikes, key=lambda s: abs(s - 190.0))
    spec = ContractSpec.option("AAPL", chain.expirations[0], strike, "CALL")
    info = pa.contracts.resolve(spec)
    assert (info.sec_type, info.strike, info.right, info.multiplier) == (SecType.OPTION, strike, "C", "100")
    assert info.underlying_con_id in (0, 265598)
    quotes: list[Any] = []
    pa.market_data.subscribe_quotes(spec, lambda _key, q: quotes.append(q))
    wait_for(lambda: quotes and quotes[-1].ask)
    preview = pa.orders.preview_order(spec, "BUY", 2, "MKT")
    assert preview.commission is not None and preview.request.contract == spec
    order_id = pa.orders.place_order(spec, "BUY", 2, "LMT", limit_price=round(quotes[-1].ask + 1.0, 2))
    status = pa.orders.wait_for_status(order_id, OrderState.FILLED, timeout=5)
    assert status.filled == Decimal(2)
    assert sim_order(gateway, pa, order_id).con_id == info.con_id
    put = pa.contracts.resolve(ContractSpec.option("AAPL", chain.expirations[0], strike, "P"))
    assert put.right == "P" and put.con_id != info.con_id


def test_a_continuous_future_gives_history(pa: Any) -> None:
    bars = pa.market_data.get_historical_data(ContractSpec.continuous_future("ES"), "5 D", "1 hour")  # weekend or not
    assert len(bars) > 0


def test_option_specs_are_checked(pa: Any, gateway: Any) -> None:
    asked = gateway.stats().received["reqContractDetails"]
    for spec, field in ((ContractSpec.option("AAPL", "", 190.0, "C"), "symbol.last_trade_date"),
                        (ContractSpec.option("AAPL", "20270115", 0.0, "C"), "symbol.strike"),
                        (ContractSpec.option("AAPL", "20270115", 190.0, "X"), "symbol.right"),
                        # IB reads YYYYMM (contract month) or YYYYMMDD (last trading day) only
                        (ContractSpec.option("AAPL", "2027-01-15", 190.0, "C"), "symbol.last_trade_date"),
                        (ContractSpec.option("AAPL", "20271315", 190.0, "C"), "symbol.last_trade_date"),
                        (ContractSpec.option("AAPL", "20270230", 190.0, "P"), "symbol.last_trade_date"),
                        (ContractSpec.future("ES", "2027"), "symbol.last_trade_date"),
                        (ContractSpec.future("ES", "H7"), "symbol.last_trade_date")):
        with pytest.raises(ValidationError) as info:
            pa.contracts.resolve(spec)
        assert info.value.field == field
        with pytest.raises(ValidationError):
            pa.orders.place_order(spec, "BUY", 1, "MKT")
    assert gateway.stats().received["reqContractDetails"] == asked
    assert gateway.stats().received["placeOrder"] == 0
    # both forms IB reads resolve (a contract month names the month's only expiry)
    es = pa.contracts.front_month("ES")
    assert pa.contracts.resolve(ContractSpec.future("ES", es.last_trade_date[:6])).con_id == es.con_id
    with pytest.raises(ValidationError):
        pa.contracts.option_chains(ContractSpec("EUR", SecType.FOREX, "IDEALPRO"))


@pytest.mark.parametrize("version", [176, 226], ids=["text", "protobuf"])
def test_an_option_quote_carries_its_greeks(make_adapter: Any, gateway: Any, version: int) -> None:
    """IB's tickOptionComputation on an option line (text below 211, protobuf from it) reaches the
    Quote as typed greeks: bid, ask, last and model; a stock's quote has none."""
    pa = make_adapter(**{"ib_connection.max_client_version": version})
    assert pa.connection.server_version == version
    chain = pa.contracts.option_chain("AAPL")
    strike = min(chain.strikes, key=lambda s: abs(s - gateway.market.quote(265598).mid))
    spec = ContractSpec.option("AAPL", chain.expirations[-1], strike, "C")
    info = pa.contracts.resolve(spec)
    quotes: list[Any] = []
    pa.market_data.subscribe_quotes([spec, "AAPL"], lambda _key, q: quotes.append(q))
    wait_for(lambda: (q := pa.market_data.get_quote(spec)).model_greeks and q.bid_greeks and q.ask_greeks
             and q.last_greeks)
    quote = pa.market_data.get_quote(spec)
    model = quote.model_greeks
    sim_spec = gateway.market.specs[info.con_id]
    assert model.implied_vol == pytest.approx(sim_spec.implied_vol)
    assert 0 < model.delta < 1 and model.gamma > 0 and model.vega > 0 and model.theta < 0
    assert model.option_price > 0 and model.underlying_price > 0 and model.pv_dividend == 0.0
    assert quote.bid_greeks.option_price == pytest.approx(quote.bid)
    assert quote.ask_greeks.option_price == pytest.approx(quote.ask)
    assert quote.bid_greeks.implied_vol <= quote.ask_greeks.implied_vol
    assert any(q.model_greeks for q in quotes)  # delivered to the callback too
    stock = pa.market_data.get_quote("AAPL")
    assert stock.bid is not None and stock.model_greeks is None and stock.bid_greeks is None


def test_the_multiplier_counts_for_options(pa: Any, gateway: Any) -> None:
    """An option's 100 multiplier counts in the buying-power check, and in the position's value
    and PnL reported back."""
    chain = pa.contracts.option_chain("AAPL")
    strike = min(chain.strikes, key=lambda s: abs(s - 190.0))
    spec = ContractSpec.option("AAPL", chain.expirations[0], strike, "C")
    info = pa.contracts.resolve(spec)
    wait_for(lambda: pa.state.get_account_value("BuyingPower"))
    power = float(pa.state.get_account_value("BuyingPower"))
    lots = int(power / (5.0 * 100)) + 1  # affordable at 1x, not at 100x
    with pytest.raises(ValidationError, match="buying power"):
        pa.orders.place_order(spec, "BUY", lots, "LMT", limit_price=5.0)
    ask = gateway.market.quote(info.con_id).ask
    order_id = pa.orders.place_order(spec, "BUY", 3, "LMT", limit_price=round(ask + 1.0, 2))
    pa.orders.wait_for_status(order_id, OrderState.FILLED, timeout=5)
    fill = gateway.stats().executions[-1]

    def position() -> Any:
        held = [p for p in pa.account.get_positions() if p.con_id == info.con_id]
        return held[0] if held and held[0].market_value is not None else None

    pos = wait_for(position)
    assert pos.quantity == Decimal(3)
    assert pos.avg_cost == pytest.approx(fill.price * 100 + fill.commission / 3, abs=0.01)
    assert pos.market_value == pytest.approx(3 * pos.market_price * 100, abs=0.01)
    assert pos.unrealized_pnl == pytest.approx(pos.market_value - 3 * pos.avg_cost, abs=0.01)


def test_an_option_position_names_its_strike_and_right(pa: Any, gateway: Any) -> None:
    # a call and a put of one strike and expiry: the positions (and the portfolio updates merged
    # into them) say which is which, as IB reports (before: strike 0.0 and right "" for both)
    chain = pa.contracts.option_chain("AAPL")
    strike = min(chain.strikes, key=lambda s: abs(s - 190.0))
    con_ids = {}
    for right in ("C", "P"):
        spec = ContractSpec.option("AAPL", chain.expirations[0], strike, right)
        con_ids[pa.contracts.resolve(spec).con_id] = right
        pa.orders.place_order_and_wait(spec, "BUY", 2, "MKT", wait_for=[OrderState.FILLED], timeout=5)
    held = {p.con_id: p for p in pa.account.get_positions() if p.contract.sec_type is SecType.OPTION}
    assert {i: (p.contract.strike, p.contract.right) for i, p in held.items()} == {
        i: (strike, right) for i, right in con_ids.items()}
    wait_for(lambda: all(p.market_value is not None for p in pa.state.get_cached_positions()
                         if p.con_id in con_ids))
    assert {p.con_id: p.contract.right for p in pa.state.get_cached_positions() if p.con_id in con_ids} == con_ids
    for p in held.values():  # the position's own contract closes it
        pa.orders.place_order_and_wait(p.contract, "SELL", 2, "MKT", wait_for=[OrderState.FILLED], timeout=5)
    assert [p for p in pa.account.get_positions() if p.con_id in con_ids] == []
