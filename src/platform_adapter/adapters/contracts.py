"""Contract resolution: user symbols and specs -> IB contract details, resolved once and cached."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from ibapi.contract import Contract

from platform_adapter.adapters import derivatives
from platform_adapter.adapters.base_adapter import AdapterContext, BaseAdapter
from platform_adapter.errors import ContractNotFound, ValidationError
from platform_adapter.log import logger
from platform_adapter.models.contract import ContractInfo, ContractSpec, OptionChain, SecType
from platform_adapter.utils.validators import check_code, check_symbol, check_wait

UNSET_DECIMAL_TEXT = "170141183460469231731687303715884105727"
_RIGHT = {"CALL": "C", "PUT": "P"}  # IB reports rights as C/P or CALL/PUT
_MAX_KNOWN = 4096  # symbols and specs remembered by identity (past it the memory starts over)


_STOCKS: dict[str, ContractSpec] = {}  # symbol text -> its checked spec (immutable)


def to_spec(value: Any, field: str = "symbol") -> ContractSpec:
    """A plain symbol means a US stock on SMART in USD; a ContractSpec is checked and kept."""
    if isinstance(value, ContractSpec):
        check_symbol(value.symbol, field)
        if not isinstance(value.sec_type, SecType):
            raise ValidationError(f"{field}.sec_type", value.sec_type, "must be a SecType")
        _check_spec_fields(value, field)
        if value.sec_type is SecType.FUTURE and not (value.last_trade_date or value.local_symbol or value.con_id):
            raise ValidationError(field, value, "a future needs last_trade_date, local_symbol or con_id "
                                  "(ContractResolver.front_month finds the nearest expiry)")
        if value.sec_type is SecType.OPTION:
            _check_option(value, field)
        return value
    if isinstance(value, str):
        spec = _STOCKS.get(value)
        if spec is None:
            spec = ContractSpec(check_symbol(value, field))
            if len(_STOCKS) < 4096:
                _STOCKS[value] = spec
        return spec
    raise ValidationError(field, value, "must be a symbol string or a ContractSpec")


_TEXT_FIELDS = ("exchange", "currency", "primary_exchange", "last_trade_date", "local_symbol", "multiplier", "right")
MAX_CON_ID = 2**31 - 1  # IB's conId is a 32-bit int
_MAX_STRIKE = 1e300  # below float's range: a larger int would not convert


def _check_spec_fields(spec: ContractSpec, field: str) -> None:
    """The spec's texts are printable strings, its conId IB's 32-bit int (0: none) and its strike
    a finite number, 0 or more: a wrong type would fail in ibapi's encoder after the request began."""
    for name in _TEXT_FIELDS:
        check_code(getattr(spec, name), f"{field}.{name}")
    con_id = spec.con_id
    if isinstance(con_id, bool) or not isinstance(con_id, int) or not 0 <= con_id <= MAX_CON_ID:
        raise ValidationError(f"{field}.con_id", con_id, f"must be an integer from 0 (none) to {MAX_CON_ID}")
    strike = spec.strike
    if isinstance(strike, bool) or not isinstance(strike, (int, float)) or not 0 <= strike < _MAX_STRIKE:
        raise ValidationError(f"{field}.strike", strike, "must be a finite number, 0 or more")
    if spec.last_trade_date:
        _check_expiry(spec.last_trade_date, f"{field}.last_trade_date")


def _check_expiry(text: str, field: str) -> None:
    """IB's lastTradeDateOrContractMonth: ``YYYYMM`` (a contract month) or ``YYYYMMDD`` (the last
    trading day), a real month or day (maybe followed by a time, as IB writes it); anything else
    (``2026-12-18``, month 13) would only come back as IB's 200 "no security definition"."""
    head = text.split(" ", 1)[0]
    try:
        if not head.isdigit() or len(head) not in (6, 8):
            raise ValueError(head)
        datetime.strptime(head, "%Y%m%d" if len(head) == 8 else "%Y%m")
    except ValueError:
        raise ValidationError(field, text, "must be YYYYMM (contract month) or YYYYMMDD (last trading day)") \
            from None


def _check_option(spec: ContractSpec, field: str) -> None:
    """An option names its contract id or local symbol, or its expiry, strike and right."""
    if spec.con_id or spec.local_symbol:
        return
    if not spec.last_trade_date:
        raise ValidationError(f"{field}.last_trade_date", spec.last_trade_date, "an option needs its expiry "
                              "(or local_symbol or con_id)")
    if isinstance(spec.strike, bool) or not isinstance(spec.strike, (int, float)) or not spec.strike > 0:
        raise ValidationError(f"{field}.strike", spec.strike, "an option needs a positive strike")
    if spec.right not in ("C", "P"):
        raise ValidationError(f"{field}.right", spec.right, "must be C or P (CALL or PUT)")


def make_contract(con_id: int, symbol: str, sec_type: SecType, exchange: str, currency: str, primary_exchange: str,
                  last_trade_date: str, local_symbol: str, multiplier: str, trading_class: str = "",
                  strike: float = 0.0, right: str = "") -> Contract:
    """An ibapi Contract from our field names."""
    c = Contract()
    c.conId = con_id
    c.symbol = symbol
    c.secType = sec_type.value
    c.exchange = exchange
    c.currency = currency
    c.primaryExchange = primary_exchange
    c.lastTradeDateOrContractMonth = last_trade_date
    c.localSymbol = local_symbol
    c.multiplier = multiplier
    c.tradingClass = trading_class
    if strike:
        c.strike = strike
    c.right = right
    return c


def spec_to_contract(spec: ContractSpec) -> Contract:
    """The contract to ask IB about for ``spec`` (before it is resolved)."""
    return make_contract(spec.con_id, spec.symbol, spec.sec_type, spec.exchange, spec.currency,
                         spec.primary_exchange, spec.last_trade_date, spec.local_symbol, spec.multiplier,
                         strike=spec.strike, right=spec.right)


def _decimal(value: Any, default: Decimal) -> Decimal:
    if value is None or str(value) in ("", UNSET_DECIMAL_TEXT):
        return default
    try:
        d = Decimal(str(value))
    except ArithmeticError:
        return default
    return d if d.is_finite() and d > 0 else default


class ContractResolver(BaseAdapter):
    """Resolves instruments through ``reqContractDetails``; results are cached by spec and conId
    (the answers reach the pending request through the market-data handler)."""

    def __init__(self, ctx: AdapterContext) -> None:
        super().__init__(ctx)
        # now, aware: the moment front_month picks a future that can still be traded at (tests set it)
        self.clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
        self._lock = threading.Lock()
        self._by_key: dict[str, ContractInfo] = {}
        # id(value) -> (value, its info) for the symbols and specs asked about before: found
        # without checking the value again or making its key; the entry keeps the value (a str or
        # a frozen ContractSpec) alive, so its id is not reused. Emptied when _by_key changes.
        self._known: dict[int, tuple[Any, ContractInfo]] = {}

    # --- futures and options (adapters/derivatives.py) ---------------------------------------
    def front_month(self, symbol: Any, exchange: str = "CME", currency: str = "USD",
                    timeout: float | None = None) -> ContractInfo:
        """The future of ``symbol`` that can still be traded now (``clock``) and stops trading
        first; its ``spec`` trades and streams like any contract. ContractNotFound when none can."""
        return derivatives.front_month(self, symbol, exchange, currency, timeout=timeout)

    def option_chains(self, underlying: Any, fut_fop_exchange: str = "",
                      timeout: float | None = None) -> list[OptionChain]:
        """Every option chain on ``underlying`` (``reqSecDefOptParams``), one per exchange and class."""
        return derivatives.option_chains(self, underlying, fut_fop_exchange, timeout)

    def option_chain(self, underlying: Any, exchange: str = "SMART", timeout: float | None = None) -> OptionChain:
        """The option chain on ``underlying`` at ``exchange``: expirations and strikes."""
        return derivatives.option_chain(self, underlying, exchange, timeout)

    def cached(self, value: Any) -> ContractInfo | None:
        spec = to_spec(value)
        with self._lock:
            return self._by_key.get(spec.key)

    def resolve(self, value: Any, timeout: float | None = None) -> ContractInfo:
        """The contract details for ``value`` (symbol or ContractSpec); ``ContractNotFound``
        when IB has no definition (error 200) or the spec is ambiguous."""
        if timeout is not None:
            timeout = check_wait(timeout)
        known = self._known.get(id(value))
        if known is not None and known[0] is value:
            return known[1]
        spec = to_spec(value)
        with self._lock:
            hit = self._by_key.get(spec.key)
            if hit is not None:
                if len(self._known) >= _MAX_KNOWN:
                    self._known.clear()
                self._known[id(value)] = (value, hit)
        if hit is not None:
            return hit
        contract = spec_to_contract(spec)
        try:
            results = self._request("contract_details",
                                    lambda client, req_id: client.reqContractDetails(req_id, contract),
                                    timeout, spec=spec)
        except ContractNotFound as exc:
            raise ContractNotFound(f"{spec.key}: {exc}") from None
        if not results:
            raise ContractNotFound(f"no security definition for {spec.key}")
        if len(results) > 1 and spec.sec_type is not SecType.STOCK:
            raise ContractNotFound(f"{spec.key} is ambiguous: {len(results)} contracts match; be more specific")
        info = self.info_from_details(spec, results[0])
        with self._lock:
            self._by_key[spec.key] = info
            self._known.clear()
        logger.debug("resolved {} -> conId {}", spec.key, info.con_id)
        return info

    def remember(self, info: ContractInfo) -> None:
        with self._lock:
            self._by_key[info.spec.key] = info
            self._known.clear()

    @staticmethod
    def info_from_details(spec: ContractSpec, details: Any) -> ContractInfo:
        """What IB's ``ContractDetails`` say about ``spec``."""
        c = details.contract
        try:
            sec_type = SecType(c.secType)
        except ValueError:
            sec_type = spec.sec_type
        return ContractInfo(
            spec=spec,
            con_id=int(c.conId),
            symbol=c.symbol,
            sec_type=sec_type,
            exchange=c.exchange or spec.exchange,
            primary_exchange=c.primaryExchange,
            currency=c.currency,
            local_symbol=c.localSymbol,
            trading_class=c.tradingClass,
            min_tick=float(details.minTick or 0.0),
            multiplier=c.multiplier or "",
            long_name=details.longName,
            last_trade_date=c.lastTradeDateOrContractMonth,
            time_zone_id=details.timeZoneId,
            size_increment=_decimal(getattr(details, "sizeIncrement", None), Decimal(1)),
            min_size=_decimal(getattr(details, "minSize", None), Decimal(1)),
            strike=float(c.strike or 0.0) if sec_type is SecType.OPTION else 0.0,
            right=_RIGHT.get(c.right or "", c.right or ""),
            underlying_con_id=int(getattr(details, "underConId", 0) or 0),
        )

    @staticmethod
    def ib_contract(info: ContractInfo) -> Contract:
        """An ibapi Contract naming exactly this resolved instrument (a continuous future: its
        symbol and exchange, as IB's historical data wants it)."""
        spec = info.spec
        if spec.sec_type is SecType.CONTINUOUS_FUTURE:
            return make_contract(0, spec.symbol, spec.sec_type, spec.exchange, spec.currency, "", "", "", "")
        exchange = spec.exchange if info.sec_type is not SecType.FUTURE else info.exchange
        return make_contract(info.con_id, info.symbol, info.sec_type, exchange, info.currency, info.primary_exchange,
                             info.last_trade_date, info.local_symbol, info.multiplier, info.trading_class,
                             info.strike, info.right)
