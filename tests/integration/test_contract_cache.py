"""The caches on the order path that find things by an object's identity instead of a hash of its
fields: the resolver's memory of symbols and specs asked about, and the ibapi Contract built per
resolved instrument. Each must give what the full lookup gives, and follow a contract that changes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from platform_adapter.adapters import order_execution
from platform_adapter.models.contract import ContractSpec


def details_requests(gateway: Any) -> int:
    return int(gateway.stats().received["reqContractDetails"])


def test_a_symbol_or_spec_asked_about_again_is_answered_from_memory(pa: Any, gateway: Any) -> None:
    first = pa.contracts.resolve("AAPL")
    asked = details_requests(gateway)
    assert pa.contracts.resolve("AAPL") is first
    assert pa.contracts.resolve(ContractSpec("AAPL")) is first  # another object, the same instrument
    spec = ContractSpec("AAPL")
    assert pa.contracts.resolve(spec) is first and pa.contracts.resolve(spec) is first
    assert details_requests(gateway) == asked  # nothing asked of IB again


def test_a_contract_remembered_anew_replaces_what_was_known(pa: Any) -> None:
    spec = ContractSpec("MSFT")
    old = pa.contracts.resolve(spec)
    assert pa.contracts.resolve(spec) is old
    new = replace(old, long_name="Renamed Corp")
    pa.contracts.remember(new)
    assert pa.contracts.resolve(spec) is new
    assert pa.contracts.resolve("MSFT") is new


def test_the_ibapi_contract_follows_the_resolved_object(pa: Any, monkeypatch: Any) -> None:
    info = pa.contracts.resolve("AAPL")
    contract = pa.orders._ib_contract(info)
    assert pa.orders._ib_contract(info) is contract  # built once per resolved object
    assert (contract.conId, contract.symbol, contract.primaryExchange) == (info.con_id, "AAPL",
                                                                          info.primary_exchange)
    other = replace(info, primary_exchange="ARCA")  # equal fields but one: a contract of its own
    assert pa.orders._ib_contract(other).primaryExchange == "ARCA"
    assert pa.orders._ib_contract(info) is contract
    monkeypatch.setattr(order_execution, "_MAX_IB_CONTRACTS", 2)
    third = replace(info, long_name="third")
    assert pa.orders._ib_contract(third).conId == info.con_id  # past the bound the cache starts over
    assert pa.orders._ib_contract(info) is not contract and len(pa.orders._ib_contracts) == 2
