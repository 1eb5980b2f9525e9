"""Futures and options: a future's front month from IB's contract details, and option chains
(expirations and strikes per exchange) from ``reqSecDefOptParams``. The contracts they lead to
are ordinary :class:`ContractSpec` values, usable in market data, history and orders."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any

from platform_adapter.adapters import contracts  # contracts imports this module: names are read at call time
from platform_adapter.errors import ContractNotFound, ValidationError
from platform_adapter.log import logger
from platform_adapter.models.contract import ContractInfo, ContractSpec, OptionChain, SecType
from platform_adapter.utils.validators import check_code, check_symbol, check_wait

if TYPE_CHECKING:
    from platform_adapter.adapters.contracts import ContractResolver

UNDERLYING_TYPES = frozenset({SecType.STOCK, SecType.INDEX, SecType.FUTURE})


def expiry_date(text: str) -> date | None:
    """The day of IB's ``lastTradeDateOrContractMonth`` (``YYYYMMDD``, maybe with a time after it;
    ``YYYYMM`` counts as the month's last day is unknown: its first); None when unreadable."""
    head = (text or "").strip()[:8]
    try:
        if len(head) == 8:
            return datetime.strptime(head, "%Y%m%d").date()
        return datetime.strptime(head[:6], "%Y%m").date()
    except ValueError:
        return None


def front_month(resolver: ContractResolver, symbol: Any, exchange: str = "CME", currency: str = "USD",
                today: date | None = None, timeout: float | None = None) -> ContractInfo:
    """The future of ``symbol`` on ``exchange`` that expires next (from today on), resolved and
    cached: its ``spec`` names that expiry. ContractNotFound when IB lists none."""
    root = check_symbol(symbol)
    check_code(exchange, "exchange")
    check_code(currency, "currency")
    timeout = None if timeout is None else check_wait(timeout)
    contract = contracts.make_contract(0, root, SecType.FUTURE, exchange, currency, "", "", "", "")
    results = resolver._request("contract_details",
                                lambda client, req_id: client.reqContractDetails(req_id, contract), timeout,
                                spec=f"{root} futures")
    day = today or datetime.now(timezone.utc).date()
    dated = [(expiry_date(d.contract.lastTradeDateOrContractMonth), d) for d in results]
    live = sorted(((when, d) for when, d in dated if when is not None and when >= day), key=lambda item: item[0])
    if not live:
        raise ContractNotFound(f"no {root} future on {exchange} expires on or after {day:%Y-%m-%d}")
    details = live[0][1]
    c = details.contract
    spec = ContractSpec(root, SecType.FUTURE, exchange, currency, last_trade_date=c.lastTradeDateOrContractMonth,
                        local_symbol=c.localSymbol)
    info = resolver.info_from_details(spec, details)
    resolver.remember(info)
    logger.info("{} front month on {}: {} ({}), conId {}", root, exchange, info.local_symbol, info.last_trade_date,
                info.con_id)
    return info


def option_chains(resolver: ContractResolver, underlying: Any, fut_fop_exchange: str = "",
                  timeout: float | None = None) -> list[OptionChain]:
    """Every option chain IB lists on ``underlying`` (a symbol: a US stock; or a ContractSpec of a
    stock, index or future), one per exchange and trading class, expirations and strikes sorted."""
    spec = contracts.to_spec(underlying, "underlying")
    if spec.sec_type not in UNDERLYING_TYPES:
        raise ValidationError("underlying", underlying, "must be a stock, index or future")
    check_code(fut_fop_exchange, "fut_fop_exchange")
    timeout = None if timeout is None else check_wait(timeout)
    info = resolver.resolve(spec, timeout)
    rows = resolver._request(
        "option_chain",
        lambda client, req_id: client.reqSecDefOptParams(req_id, info.symbol, fut_fop_exchange,
                                                         info.sec_type.value, info.con_id),
        timeout, spec=spec)
    chains = [OptionChain(info.symbol, int(con_id), exchange, trading_class, multiplier,
                          tuple(sorted(expirations)), tuple(sorted(float(s) for s in strikes)))
              for exchange, con_id, trading_class, multiplier, expirations, strikes in rows]
    return sorted(chains, key=lambda ch: (ch.exchange, ch.trading_class))


def option_chain(resolver: ContractResolver, underlying: Any, exchange: str = "SMART",
                 timeout: float | None = None) -> OptionChain:
    """The chain of ``underlying`` at ``exchange`` (SMART by default; the one with the underlying's
    own trading class when there are several); ContractNotFound when IB lists none there."""
    check_code(exchange, "exchange")
    chains = [ch for ch in option_chains(resolver, underlying, timeout=timeout) if ch.exchange == exchange]
    if not chains:
        raise ContractNotFound(f"no option chain for {underlying} on {exchange}")
    chains.sort(key=lambda ch: ch.trading_class != ch.underlying)
    return chains[0]
