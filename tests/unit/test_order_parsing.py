"""Order validation rules, ibapi conversions and the fill book (pure functions, no I/O)."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from ibapi.const import UNSET_DECIMAL, UNSET_DOUBLE
from ibapi.contract import Contract

from platform_adapter import LiveTradingRefused, ValidationError
from platform_adapter.adapters.orders import validation as v
from platform_adapter.adapters.orders.fills import FillBook
from platform_adapter.adapters.orders.models import (
    build_ib_order,
    opt_float,
    parse_ib_time,
    parse_state,
    spec_from_contract,
    to_decimal,
)
from platform_adapter.config.settings import OrdersConfig
from platform_adapter.models.contract import ContractInfo, ContractSpec, SecType
from platform_adapter.models.order import Fill, OrderAction, OrderRequest, OrderState, OrderType, TimeInForce

EUR = ContractInfo(ContractSpec("EUR", SecType.FOREX, "IDEALPRO"), 12087792, "EUR", SecType.FOREX, "IDEALPRO", "",
                   "USD", "EUR.USD", "EUR.USD", 0.00005, "", "Euro", size_increment=Decimal("0.01"),
                   min_size=Decimal("0.01"))
ES = ContractInfo(ContractSpec("ES", SecType.FUTURE, "CME", last_trade_date="202703"), 649180695, "ES",
                  SecType.FUTURE, "CME", "", "USD", "ESH7", "ES", 0.25, "50", "E-mini")


@pytest.mark.parametrize("text, expected", [
    ("buy", OrderAction.BUY), (" SELL ", OrderAction.SELL), (OrderAction.BUY, OrderAction.BUY)])
def test_actions(text: object, expected: OrderAction) -> None:
    assert v.parse_action(text) is expected


@pytest.mark.parametrize("text, expected", [
    ("mkt", OrderType.MARKET), ("Market", OrderType.MARKET), ("stp  lmt", OrderType.STOP_LIMIT),
    ("STOP_LIMIT", OrderType.STOP_LIMIT), (OrderType.STOP, OrderType.STOP)])
def test_order_types(text: object, expected: OrderType) -> None:
    assert v.parse_order_type(text) is expected


def test_tif_and_text() -> None:
    assert v.parse_tif("ioc") is TimeInForce.IOC and v.parse_tif(TimeInForce.DAY) is TimeInForce.DAY
    with pytest.raises(ValidationError):
        v.parse_tif(3)
    with pytest.raises(ValidationError, match="string"):
        v.check_text(5, "account")


def test_contract_rules_fractions_and_ticks() -> None:
    v.check_contract_rules(EUR, Decimal("0.5"), 1.08005, None)
    with pytest.raises(ValidationError, match="whole"):
        v.check_contract_rules(ES, Decimal("0.5"), None, None)
    with pytest.raises(ValidationError, match="tick"):
        v.check_contract_rules(ES, Decimal(1), 5300.1, None)
    assert v.multiplier(ES) == 50.0 and v.multiplier(EUR) == 1.0
    bad = ContractInfo(ES.spec, 1, "ES", SecType.FUTURE, "CME", "", "USD", "", "", 0.25, "x", "")
    assert v.multiplier(bad) == 1.0


def test_risk_and_buying_power_use_the_multiplier() -> None:
    cfg = OrdersConfig(max_order_notional=300_000.0)
    v.check_risk(cfg, Decimal(1), 5300.0, 50.0)
    with pytest.raises(ValidationError, match="notional"):
        v.check_risk(cfg, Decimal(2), 5300.0, 50.0)
    v.check_buying_power(OrderAction.SELL, Decimal(10**6), 100.0, 1.0, 1.0)
    v.check_buying_power(OrderAction.BUY, Decimal(10), None, 1.0, 1.0)
    with pytest.raises(ValidationError, match="buying power"):
        v.check_buying_power(OrderAction.BUY, Decimal(10), 100.0, 1.0, 999.0)


def test_live_guard() -> None:
    v.check_live(OrdersConfig(), "DU123", 7497)
    v.check_live(OrdersConfig(allow_live_trading=True), "U123", 7496)
    with pytest.raises(LiveTradingRefused, match="port 7496"):
        v.check_live(OrdersConfig(), "DU123", 7496)
    with pytest.raises(LiveTradingRefused, match="paper"):
        v.check_live(OrdersConfig(), "U123", 7497)


def test_ibapi_conversions() -> None:
    assert parse_state("PreSubmitted") is OrderState.PRE_SUBMITTED and parse_state("") is OrderState.UNKNOWN
    assert opt_float(UNSET_DOUBLE) is None and opt_float(math.nan) is None and opt_float("x") is None
    assert opt_float("") is None and opt_float("1.5") == 1.5
    assert to_decimal(UNSET_DECIMAL) == 0 and to_decimal("nan") == 0 and to_decimal("abc") == 0
    req = OrderRequest(ContractSpec("AAPL"), OrderAction.BUY, Decimal(5), OrderType.STOP_LIMIT, 10.0, 9.5,
                       TimeInForce.DAY, True, "DU1", "pa-x")
    o = build_ib_order(req)
    assert (o.action, o.totalQuantity, o.orderType, o.lmtPrice, o.auxPrice, o.tif, o.outsideRth, o.orderRef) == (
        "BUY", Decimal(5), "STP LMT", 10.0, 9.5, "DAY", True, "pa-x")
    c = Contract()
    c.symbol, c.secType, c.exchange, c.currency, c.conId = "AAPL", "STK", "NASDAQ", "USD", 265598
    spec = spec_from_contract(c)
    assert (spec.exchange, spec.primary_exchange, spec.con_id) == ("SMART", "NASDAQ", 265598)
    c.secType = "WAR"
    assert spec_from_contract(c).sec_type is SecType.STOCK


@pytest.mark.parametrize("text, expected", [
    ("20260102 10:00:00 US/Eastern", datetime(2026, 1, 2, 15, 0, tzinfo=timezone.utc)),
    ("20260102-15:00:00", datetime(2026, 1, 2, 15, 0, tzinfo=timezone.utc)),
    ("20260102 15:00 Nowhere/Zone", None),
])
def test_ib_times(text: str, expected: datetime | None) -> None:
    parsed = parse_ib_time(text)
    assert parsed.tzinfo is not None
    if expected is not None:
        assert parsed == expected
    assert parse_ib_time("garbage").tzinfo is not None


def test_fill_book_joins_corrects_and_delivers_once() -> None:
    book = FillBook()
    t = datetime(2026, 1, 2, tzinfo=timezone.utc)
    assert book.add_commission("a.01", 1.0, "USD", None) is None
    first = book.add_execution(Fill("a.01", 1, "X", "BOT", Decimal(1), 10.0, t), "t1")
    assert first is not None and first.fill.commission == 1.0 and not first.correction
    assert book.add_execution(Fill("a.01", 1, "X", "BOT", Decimal(1), 10.0, t), "t1") is None
    fixed = book.add_execution(Fill("a.02", 1, "X", "BOT", Decimal(2), 10.0, t), "t2")
    assert fixed is not None and fixed.correction
    assert book.add_commission("a.01", 3.0, "USD", None) is None  # the replaced execution's report
    assert book.add_commission("a.02", 2.0, "USD", 5.0) is not None
    assert book.get("a.02") is not None and book.get("a.02").quantity == Decimal(2)  # type: ignore[union-attr]
    assert book.claim_delivery("a") and not book.claim_delivery("a")
    book.load(Fill("b.01", 2, "X", "SLD", Decimal(1), 9.0, t), "t0", delivered=True)
    assert not book.claim_delivery("b")
    assert book.last_ib_time == "t0" and len(book.for_order(1)) == 1
