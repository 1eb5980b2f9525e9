"""Order validation rules: actions, order types, time in force, contract rules, risk and the live guard."""

from __future__ import annotations

from decimal import Decimal

import pytest

from platform_adapter import LiveTradingRefused, ValidationError
from platform_adapter.adapters.orders import validation as v
from platform_adapter.config.settings import OrdersConfig
from platform_adapter.models.contract import ContractInfo, ContractSpec, SecType
from platform_adapter.models.order import OrderAction, OrderType, TimeInForce

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


def test_futures_and_forex_are_left_to_ibs_margin_check() -> None:
    """Buying power is a securities figure: a future or a currency pair worth more than it (and
    margined at a fraction of that) is not refused here; a stock or an option is."""
    cfg = OrdersConfig()
    v.check_trade(cfg, ES, OrderAction.BUY, Decimal(10), 5300.0, None, Decimal(10), None, 1_000.0)
    v.check_trade(cfg, EUR, OrderAction.BUY, Decimal(1_000_000), 1.1, None, Decimal(1_000_000), None, 1_000.0)
    aapl = ContractInfo(ContractSpec("AAPL"), 265598, "AAPL", SecType.STOCK, "SMART", "NASDAQ", "USD", "AAPL",
                        "NMS", 0.01, "", "Apple")
    with pytest.raises(ValidationError, match="buying power"):
        v.check_trade(cfg, aapl, OrderAction.BUY, Decimal(10), 200.0, None, Decimal(10), None, 1_000.0)
    with pytest.raises(ValidationError, match="notional"):  # the risk limit still counts the multiplier
        v.check_trade(OrdersConfig(max_order_notional=300_000.0), ES, OrderAction.BUY, Decimal(2), 5300.0, None,
                      Decimal(2), None, None)


def test_live_guard() -> None:
    v.check_live(OrdersConfig(), "DU123", 7497)
    v.check_live(OrdersConfig(allow_live_trading=True), "U123", 7496)
    with pytest.raises(LiveTradingRefused, match="port 7496"):
        v.check_live(OrdersConfig(), "DU123", 7496)
    with pytest.raises(LiveTradingRefused, match="paper"):
        v.check_live(OrdersConfig(), "U123", 7497)
