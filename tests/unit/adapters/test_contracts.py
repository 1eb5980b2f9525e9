"""Contract resolution: an option named by its local symbol or con id needs nothing else; a
spec's fields are checked before a request is made of them."""

from __future__ import annotations

import math

import pytest

from platform_adapter import ContractSpec, SecType, ValidationError


def test_an_option_named_by_local_symbol_or_con_id_needs_nothing_else() -> None:
    from platform_adapter.adapters.contracts import to_spec

    by_local = ContractSpec("AAPL", SecType.OPTION, local_symbol="AAPL  270115C00190000")
    by_id = ContractSpec("AAPL", SecType.OPTION, con_id=99)
    assert to_spec(by_local) is by_local and to_spec(by_id) is by_id
    assert by_local.key == "AAPL:OPT:AAPL  270115C00190000@SMART"


@pytest.mark.parametrize("spec, field", [
    (ContractSpec("AAPL", exchange=None), "symbol.exchange"),  # type: ignore[arg-type]
    (ContractSpec("AAPL", currency=123), "symbol.currency"),  # type: ignore[arg-type]
    (ContractSpec("AAPL", primary_exchange="NAS\nDAQ"), "symbol.primary_exchange"),
    (ContractSpec("ES", SecType.FUTURE, "CME", last_trade_date=202703), "symbol.last_trade_date"),  # type: ignore[arg-type]
    (ContractSpec("AAPL", multiplier=100), "symbol.multiplier"),  # type: ignore[arg-type]
    (ContractSpec("AAPL", con_id="265598"), "symbol.con_id"),  # type: ignore[arg-type]
    (ContractSpec("AAPL", con_id=-1), "symbol.con_id"),
    (ContractSpec("AAPL", con_id=2**31), "symbol.con_id"),
    (ContractSpec("AAPL", con_id=True), "symbol.con_id"),
    (ContractSpec.option("AAPL", "20270115", math.inf, "C"), "symbol.strike"),
    (ContractSpec.option("AAPL", "20270115", 10**400, "C"), "symbol.strike"),
    (ContractSpec("AAPL", strike=math.nan), "symbol.strike"),
])
def test_a_spec_field_of_the_wrong_type_or_range_is_a_validation_error(spec: ContractSpec, field: str) -> None:
    """Not a TypeError from ibapi's encoder (or the spec's key) once the request has begun."""
    from platform_adapter.adapters.contracts import to_spec

    with pytest.raises(ValidationError) as info:
        to_spec(spec)
    assert info.value.field == field


def test_specs_of_every_kind_pass_the_field_checks() -> None:
    from platform_adapter.adapters.contracts import to_spec

    for spec in (ContractSpec("AAPL", con_id=265598, exchange=""), ContractSpec.future("ES", "20270319"),
                 ContractSpec.option("AAPL", "20270115", 190, "P"), ContractSpec("EUR", SecType.FOREX, "IDEALPRO"),
                 ContractSpec.continuous_future("ES")):
        assert to_spec(spec) is spec
