"""Futures and options: a future's front month from IB's contract details, and option chains
(expirations and strikes per exchange) from ``reqSecDefOptParams``. The contracts they lead to
are ordinary :class:`ContractSpec` values, usable in market data, history and orders."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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


def _clock_time(text: str) -> time | None:
    """IB's ``lastTradeTime`` (``HH:MM`` or ``HH:MM:SS``); None when absent or unreadable."""
    for fmt in ("%H:%M:%S", "%H:%M"):
        try:
            return datetime.strptime((text or "").strip(), fmt).time()
        except ValueError:
            continue
    return None


def _zone(name: str) -> tzinfo:
    """The exchange's time zone (``ContractDetails.timeZoneId``, e.g. ``US/Central``); UTC when IB
    gives none or one this machine does not know."""
    try:
        return ZoneInfo(name.strip()) if name and name.strip() else timezone.utc
    except (ZoneInfoNotFoundError, ValueError):
        logger.warning("time zone {!r} unknown: a future's last trade time is taken as UTC", name)
        return timezone.utc


def last_trade_moment(details: Any) -> datetime | None:
    """When a future stops trading, from its contract details: the day of
    ``lastTradeDateOrContractMonth`` at ``lastTradeTime`` (ibapi splits IB's ``"YYYYMMDD HH:MM"``
    into the two) in the exchange's time zone (``timeZoneId``); without a readable time, the end
    of that day there. None when the day is unreadable."""
    day = expiry_date(details.contract.lastTradeDateOrContractMonth)
    if day is None:
        return None
    zone = _zone(getattr(details, "timeZoneId", "") or "")
    at = _clock_time(getattr(details, "lastTradeTime", "") or "")
    if at is None:
        return datetime.combine(day + timedelta(days=1), time(), zone)
    return datetime.combine(day, at, zone)


def tradable_front(details: Iterable[Any], now: datetime) -> Any | None:
    """Of the contract details of a future's expiries, the one whose last trade is next after
    ``now`` (aware): on an expiry day after the last trade time, in the exchange's time zone, the
    next expiry. None when none can still be traded."""
    timed = [(moment, d) for d in details if (moment := last_trade_moment(d)) is not None and moment > now]
    return min(timed, key=lambda item: item[0])[1] if timed else None


def front_month(resolver: ContractResolver, symbol: Any, exchange: str = "CME", currency: str = "USD",
                now: datetime | None = None, timeout: float | None = None) -> ContractInfo:
    """The future of ``symbol`` on ``exchange`` that can still be traded at ``now`` (default: the
    resolver's ``clock``) and stops trading first (:func:`tradable_front`), resolved and cached: its
    ``spec`` names that expiry. ContractNotFound when IB lists none that can still be traded."""
    root = check_symbol(symbol)
    check_code(exchange, "exchange")
    check_code(currency, "currency")
    timeout = None if timeout is None else check_wait(timeout)
    contract = contracts.make_contract(0, root, SecType.FUTURE, exchange, currency, "", "", "", "")
    results = resolver._request("contract_details",
                                lambda client, req_id: client.reqContractDetails(req_id, contract), timeout,
                                spec=f"{root} futures")
    at = now or resolver.clock()
    details = tradable_front(results, at)
    if details is None:
        raise ContractNotFound(f"no {root} future on {exchange} can be traded after "
                               f"{at.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC")
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
