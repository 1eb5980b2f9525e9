"""Contract resolution: an option named by its local symbol or con id needs nothing else."""

from __future__ import annotations

from platform_adapter import ContractSpec, SecType


def test_an_option_named_by_local_symbol_or_con_id_needs_nothing_else() -> None:
    from platform_adapter.adapters.contracts import to_spec

    by_local = ContractSpec("AAPL", SecType.OPTION, local_symbol="AAPL  270115C00190000")
    by_id = ContractSpec("AAPL", SecType.OPTION, con_id=99)
    assert to_spec(by_local) is by_local and to_spec(by_id) is by_id
    assert by_local.key == "AAPL:OPT:AAPL  270115C00190000@SMART"
