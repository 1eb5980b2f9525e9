"""Reading request bodies in protobuf: optional fields and the request's contract.

ibapi's ``client_utils`` leaves a field out of the message when it has its default or unset
value (0, "", False, UNSET_*), so an absent field reads as the protobuf default, or as ``None``
where the typed request has an optional number.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from google.protobuf.message import Message
from ibapi.decoder_utils import decodeContract

from .contracts import ContractQuery
from .protocol import UNSET_DOUBLE
from .requests import Request

ProtoParser = tuple[type[Message], Callable[[Any], Request]]


def opt(msg: Any, name: str) -> Any:
    """A field's value, or None when the message does not carry it."""
    return getattr(msg, name) if msg.HasField(name) else None


def contract_query(msg: Any) -> ContractQuery:
    """The request's contract (via ibapi's own proto -> Contract conversion); an absent strike
    is 0, as the text form's empty field reads."""
    k = decodeContract(msg.contract)
    return ContractQuery(
        con_id=k.conId, symbol=k.symbol, sec_type=k.secType,
        last_trade_date=k.lastTradeDateOrContractMonth, strike=0.0 if k.strike == UNSET_DOUBLE else k.strike,
        right=k.right, multiplier=k.multiplier, exchange=k.exchange, primary_exchange=k.primaryExchange,
        currency=k.currency, local_symbol=k.localSymbol, trading_class=k.tradingClass)


def tag_values(entries: Any) -> tuple[tuple[str, str], ...]:
    """A protobuf map of TagValue options, by tag."""
    return tuple(sorted(entries.items()))
