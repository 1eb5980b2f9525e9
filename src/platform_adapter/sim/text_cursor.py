"""A cursor over a text request's fields: typed reads the way ibapi's encoder writes them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation

from .contracts import ContractQuery
from .protocol import UNSET_DOUBLE, UNSET_INTEGER
from .requests import ParseError, Request


class Cursor:
    """Reads a request's text fields in order; running out of fields is a ``ParseError``."""

    def __init__(self, fields: Sequence[str]) -> None:
        self._fields = fields
        self._pos = 0

    def string(self) -> str:
        """The next field as text."""
        if self._pos >= len(self._fields):
            raise ParseError(f"too few fields ({len(self._fields)})")
        value = self._fields[self._pos]
        self._pos += 1
        return value

    def skip(self, n: int = 1) -> None:
        """Pass over ``n`` fields (a version field, fields the simulator does not use)."""
        if self._pos + n > len(self._fields):
            raise ParseError(f"too few fields ({len(self._fields)})")
        self._pos += n

    def integer(self) -> int:
        """An integer field; empty is 0 (as ibapi's decoder reads it)."""
        return self._int(self.string())

    def opt_integer(self) -> int | None:
        """An integer field that may be unset (empty or UNSET_INTEGER)."""
        text = self.string()
        value = self._int(text)
        return None if not text or value == UNSET_INTEGER else value

    def _int(self, text: str) -> int:
        try:
            return int(text) if text else 0
        except ValueError:
            raise self._not_a(text, "an integer") from None

    def _not_a(self, text: str, kind: str) -> ParseError:
        """The error for the field just read, ``text``, that is not ``kind`` (a number)."""
        return ParseError(f"field {self._pos}: {text!r} is not {kind}", text, f"field {self._pos}")

    def flag(self) -> bool:
        """A boolean sent as an integer."""
        return self.integer() != 0

    def number(self) -> float:
        """A double; empty is 0.0."""
        value = self.opt_number()
        return 0.0 if value is None else value

    def opt_number(self) -> float | None:
        """A double that may be unset (empty or UNSET_DOUBLE); "Infinity" is infinite."""
        text = self.string()
        if not text:
            return None
        try:
            value = float(text)
        except ValueError:
            raise self._not_a(text, "a number") from None
        return None if value == UNSET_DOUBLE else value

    def decimal(self) -> Decimal:
        """A decimal quantity."""
        text = self.string()
        try:
            return Decimal(text or "0")
        except InvalidOperation:
            raise self._not_a(text, "a decimal") from None

    def contract(self) -> ContractQuery:
        """The 12 contract fields (conId, symbol, ... tradingClass) most requests send."""
        return ContractQuery(
            con_id=self.integer(), symbol=self.string(), sec_type=self.string(),
            last_trade_date=self.string(), strike=self.number(), right=self.string(),
            multiplier=self.string(), exchange=self.string(), primary_exchange=self.string(),
            currency=self.string(), local_symbol=self.string(), trading_class=self.string())

    def end(self) -> None:
        """Every field must have been read: surplus fields mean a layout of another version."""
        if self._pos != len(self._fields):
            raise ParseError(f"{len(self._fields) - self._pos} fields left over "
                               f"after {self._pos} of {len(self._fields)}")

    def contract_without_primary(self) -> ContractQuery:
        """The 11 contract fields of exerciseOptions (no primary exchange)."""
        return ContractQuery(
            con_id=self.integer(), symbol=self.string(), sec_type=self.string(),
            last_trade_date=self.string(), strike=self.number(), right=self.string(),
            multiplier=self.string(), exchange=self.string(), currency=self.string(),
            local_symbol=self.string(), trading_class=self.string())

    def tag_values(self) -> tuple[tuple[str, str], ...]:
        """A TagValue list as ibapi's text encoder joins it ("tag=value;tag=value;"), by tag."""
        pairs = (item.split("=", 1) for item in self.string().split(";") if item)
        return tuple(sorted((p[0], p[1] if len(p) > 1 else "") for p in pairs))


TextParser = Callable[[Cursor, int], Request]


def versioned(build: Callable[[Cursor], Request]) -> TextParser:
    """A layout that starts with a version field and does not change with the server version."""
    def parse(c: Cursor, sv: int) -> Request:
        c.skip()
        return build(c)
    return parse


def plain(build: Callable[[Cursor], Request]) -> TextParser:
    """A layout without a version field that does not change with the server version."""
    return lambda c, sv: build(c)
