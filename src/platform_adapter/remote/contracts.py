"""``RemoteAdapter.contracts``: the facade's contract helpers (``pa.contracts``), served by the
service: contract details, a future's front month and option chains."""

from __future__ import annotations

from typing import Any

from platform_adapter.models.contract import ContractInfo, OptionChain
from platform_adapter.remote.transport import Transport
from platform_adapter.service.protocol import sendable_spec
from platform_adapter.service.schema import decode
from platform_adapter.utils.validators import check_symbol


class RemoteContracts:
    """Contract details, futures and options through the service (the service caches them)."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def resolve(self, value: Any, timeout: float | None = None) -> ContractInfo:
        """The contract details for ``value`` (symbol or ContractSpec); ``ContractNotFound`` when
        IB has no definition or the spec is ambiguous."""
        return decode(ContractInfo, self._t.call("contracts.resolve",
                                                 {"symbol": sendable_spec(value), "timeout": timeout}))

    def cached(self, value: Any) -> ContractInfo | None:
        """The service's contract details for ``value`` if it has them (no request to IB)."""
        info = self._t.call("contracts.cached", {"symbol": sendable_spec(value)})
        return None if info is None else decode(ContractInfo, info)

    def front_month(self, symbol: Any, exchange: str = "CME", currency: str = "USD",
                    timeout: float | None = None) -> ContractInfo:
        """As the facade's: the future of ``symbol`` that can still be traded now (past its last
        trade time an expiry is skipped) and stops trading first; its ``spec`` trades and streams
        like any contract."""
        return decode(ContractInfo, self._t.call("contracts.front_month", {
            "symbol": sendable_spec(symbol, check=check_symbol), "exchange": exchange, "currency": currency,
            "timeout": timeout}))

    def option_chains(self, underlying: Any, fut_fop_exchange: str = "",
                      timeout: float | None = None) -> list[OptionChain]:
        """Every option chain on ``underlying``, one per exchange and trading class."""
        return [decode(OptionChain, c) for c in self._t.call("contracts.option_chains", {
            "underlying": sendable_spec(underlying, "underlying"), "fut_fop_exchange": fut_fop_exchange,
            "timeout": timeout})]

    def option_chain(self, underlying: Any, exchange: str = "SMART", timeout: float | None = None) -> OptionChain:
        """The option chain on ``underlying`` at ``exchange``: expirations and strikes."""
        return decode(OptionChain, self._t.call("contracts.option_chain", {
            "underlying": sendable_spec(underlying, "underlying"), "exchange": exchange, "timeout": timeout}))
