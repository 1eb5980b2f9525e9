"""The shell's bracket and preview commands over a stub adapter: what they call, what they print,
and their one-line errors."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO
from typing import Any

import pytest

from platform_adapter.cli.shell import Shell
from platform_adapter.errors import ValidationError
from platform_adapter.models import BracketOrder, ContractSpec, OrderPreview
from platform_adapter.models.order import OrderAction, OrderRequest, OrderType
from platform_adapter.models.preview import AccountChange
from tests.unit.cli.test_shell import StubOrders, StubPA


class Orders(StubOrders):
    def __init__(self) -> None:
        super().__init__()
        self.brackets: list[tuple[Any, ...]] = []

    def place_bracket_order(self, *args: Any, **kwargs: Any) -> BracketOrder:
        if args[4] <= args[3]:
            raise ValidationError("take_profit_price", args[4], "must be above the entry limit")
        self.brackets.append((*args, kwargs))
        return BracketOrder(7, 8, 9)

    def preview_order(self, symbol: str, action: str, quantity: Any, order_type: str, **kw: Any) -> OrderPreview:
        request = OrderRequest(ContractSpec(symbol), OrderAction(action), Decimal(quantity), OrderType(order_type))
        return OrderPreview(request, AccountChange(0.0, 4750.0, 4750.0), AccountChange(0.0, 4750.0, 4750.0),
                            AccountChange(1_000_000.0, -1.0, 999_999.0), 1.0, 1.0, 1.0, "USD", "USD",
                            "" if order_type == "MKT" else "outside hours")


def run(lines: list[str]) -> tuple[Shell, Orders, list[str]]:
    pa = StubPA()
    pa.orders = Orders()
    out = StringIO()
    shell = Shell(pa, interactive=False, stdout=out)
    shell.run_lines(lines)
    return shell, pa.orders, out.getvalue().splitlines()


def test_bracket() -> None:
    shell, orders, out = run(["bracket AAPL buy 100 189 195 185 tif=GTC"])
    assert out[1] == "Bracket placed: entry ID 7, take profit ID 8, stop loss ID 9"
    assert orders.brackets == [("AAPL", "BUY", 100, 189.0, 195.0, 185.0, {"tif": "GTC"})]
    assert shell.failures == 0


@pytest.mark.parametrize("line, expected", [
    ("bracket AAPL BUY 100 189 195", "Error: usage: bracket SYMBOL BUY|SELL QTY ENTRY TAKE_PROFIT STOP_LOSS"),
    ("bracket AAPL HOLD 100 189 195 185", "Error: action must be BUY or SELL, got 'HOLD'"),
    ("bracket AAPL BUY 100 189 x 185", "Error: take profit price must be a number, got 'x'"),
    ("bracket AAPL BUY 100 189 188 185", "Error: invalid take_profit_price=188.0: must be above the entry limit"),
])
def test_bracket_errors(line: str, expected: str) -> None:
    shell, orders, out = run([line])
    assert out[1].startswith(expected) and shell.failures == 1 and not orders.brackets


def test_preview() -> None:
    shell, _, out = run(["preview AAPL BUY 100 MKT", "preview AAPL BUY 100 LMT 150"])
    assert out[1] == "Preview of BUY 100 AAPL MKT (nothing placed)"
    assert [line.split() for line in out[2:7]] == [
        ["before", "change", "after"], ["─" * 57],
        ["Initial", "margin", "0.00", "4,750.00", "4,750.00"],
        ["Maintenance", "margin", "0.00", "4,750.00", "4,750.00"],
        ["Equity", "with", "loan", "1,000,000.00", "-1.00", "999,999.00"]]
    assert out[7] == "Commission: 1.00 USD"
    assert out[-1] == "Warning: outside hours" and shell.failures == 0


def test_help_and_completion() -> None:
    shell, _, out = run(["help"])
    assert any(line.startswith("  bracket") for line in out) and any(line.startswith("  preview") for line in out)
    assert shell.complete_bracket("S", "bracket AAPL S", 13, 14) == ["SELL"]
    assert shell.complete_bracket("t", "bracket AAPL BUY 1 2 3 4 t", 25, 26) == ["tif=DAY", "tif=GTC"]
    assert shell.complete_bracket("", "bracket AAPL BUY ", 17, 17) == []
    assert shell.complete_preview("L", "preview AAPL BUY 1 L", 19, 20) == ["LMT"]
