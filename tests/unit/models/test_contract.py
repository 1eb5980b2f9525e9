"""Instrument specs: constructors, the cache key of each security type, fractional sizes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from platform_adapter.models.contract import ContractInfo, ContractSpec, SecType


@pytest.mark.parametrize("spec, key", [
    (ContractSpec("AAPL"), "AAPL"),
    (ContractSpec("AAPL", con_id=265598), "AAPL@SMART/USD"),
    (ContractSpec("SAP", exchange="IBIS", currency="EUR"), "SAP@IBIS/EUR"),
    (ContractSpec("EUR", SecType.FOREX, "IDEALPRO"), "EUR.USD"),
    (ContractSpec.future("ES", "20270319"), "ES:FUT:20270319@CME"),
    (ContractSpec.future("ES", local_symbol="ESH7"), "ES:FUT:ESH7@CME"),
    (ContractSpec.option("AAPL", "20270115", 190.0, "call"), "AAPL:OPT:20270115:190C@SMART"),
    (ContractSpec.continuous_future("ES"), "ES:CONTFUT:@CME"),
])
def test_keys(spec: ContractSpec, key: str) -> None:
    assert spec.key == key


def test_constructors() -> None:
    opt = ContractSpec.option("AAPL", "20270115", 190.0, " put ")
    assert (opt.sec_type, opt.right, opt.multiplier, opt.exchange) == (SecType.OPTION, "P", "100", "SMART")
    assert ContractSpec.option("AAPL", "20270115", 190.0, "C").right == "C"
    fut = ContractSpec.future("ES", "202703")
    assert (fut.sec_type, fut.exchange, fut.last_trade_date) == (SecType.FUTURE, "CME", "202703")
    assert ContractSpec.continuous_future("NQ").sec_type is SecType.CONTINUOUS_FUTURE


def test_fractional_sizes() -> None:
    def info(increment: str, minimum: str) -> ContractInfo:
        return ContractInfo(ContractSpec("X"), 1, "X", SecType.STOCK, "SMART", "", "USD", "X", "X", 0.01, "", "X",
                            size_increment=Decimal(increment), min_size=Decimal(minimum))

    assert not info("1", "1").allows_fractional
    assert info("0.0001", "1").allows_fractional and info("1", "0.5").allows_fractional
