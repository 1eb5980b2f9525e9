"""The shell over a stub adapter: output lines, one-line errors, failure counting."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO
from typing import Any

import pytest

from platform_adapter.cli.shell import Shell
from platform_adapter.core.state_manager import StateManager
from platform_adapter.errors import NotConnected, ValidationError
from platform_adapter.models import ContractSpec, Position


class StubOrders:
    def __init__(self) -> None:
        self.placed: list[tuple[Any, ...]] = []

    def place_order(self, symbol: str, action: str, quantity: Any, order_type: str, **kw: Any) -> int:
        if symbol == "BAD":
            raise ValidationError("symbol", symbol, "no such symbol")
        self.placed.append((symbol, action, quantity, order_type, kw))
        return 1001

    def cancel_order(self, order_id: int) -> bool:
        return order_id == 1001

    def modify_order(self, order_id: int, **kw: Any) -> bool:
        raise NotConnected("not connected to 127.0.0.1:7497")

    def get_open_orders(self) -> list[Any]:
        return []


class StubAccount:
    def get_positions(self) -> list[Position]:
        return [Position("DU1", "AAPL", ContractSpec("AAPL"), Decimal(100), 149.5)]

    def get_pnl(self) -> Any:
        raise RuntimeError("boom\nsecond line")


class StubConnection:
    host, port, last_error = "127.0.0.1", 7497, "refused"


class StubPA:
    def __init__(self) -> None:
        self.orders = StubOrders()
        self.account = StubAccount()
        self.connection = StubConnection()
        self.state = StateManager()
        self.connected = False

    def connect(self, host: str | None = None, port: int | None = None) -> bool:
        self.connected = port != 1
        return self.connected

    def disconnect(self) -> None:
        self.connected = False

    def is_connected(self) -> bool:
        return self.connected


def run(lines: list[str]) -> tuple[Shell, StubPA, list[str]]:
    pa = StubPA()
    out = StringIO()
    shell = Shell(pa, interactive=False, stdout=out)
    shell.run_lines(lines)
    return shell, pa, out.getvalue().splitlines()


def test_appendix_lines() -> None:
    shell, pa, out = run(["connect", "place_order AAPL BUY 100 LMT 150.00", "get_positions", "disconnect"])
    assert out == ["> connect", "Connected to IB Gateway on 127.0.0.1:7497",
                   "> place_order AAPL BUY 100 LMT 150.00", "Order placed: ID 1001",
                   "> get_positions", "AAPL: 100 shares @ $149.50",
                   "> disconnect", "Disconnected"]
    assert pa.orders.placed == [("AAPL", "BUY", 100, "LMT", {"limit_price": 150.0})]
    assert shell.failures == 0


@pytest.mark.parametrize(("line", "expected"), [
    ("frobnicate", "Error: unknown command 'frobnicate'; type 'help' for the list of commands"),
    ("place_order BAD BUY 1 MKT", "Error: invalid symbol='BAD': no such symbol"),
    ("modify 1001 qty=5", "Error: not connected to 127.0.0.1:7497 (use: connect)"),
    ("pnl", "Error: RuntimeError: boom"),
    ("cancel 5", "Error: order 5 was not cancelled"),
    ("connect 1", "Error: Connection failed: refused"),
    ("status extra", "Error: status takes no arguments"),
    ("help nope", "Error: no such command 'nope'; type 'help' for the list"),
])
def test_errors_are_one_line_and_counted(line: str, expected: str) -> None:
    shell, _, out = run([line, "cancel 1001"])
    assert out[1] == expected
    assert out[3] == "Cancel requested for order 1001"  # the shell keeps going
    assert shell.failures == 1


def test_comments_blank_lines_quit_and_stop_on_error() -> None:
    shell, _, out = run(["# comment", "", "quit", "cancel 1001"])
    assert out == ["> quit"]
    pa = StubPA()
    buf = StringIO()
    shell = Shell(pa, interactive=False, stdout=buf)
    assert shell.run_lines(["nope", "cancel 1001"], stop_on_error=True) == 1
    assert "cancel" not in buf.getvalue()


def test_help_lists_every_command() -> None:
    _, _, out = run(["help"])
    text = "\n".join(out)
    for name in ("connect", "disconnect", "status", "subscribe", "unsubscribe", "quotes", "history", "bars",
                 "place_order", "cancel", "modify", "orders", "get_positions", "account", "pnl", "metrics",
                 "help", "quit"):
        assert f"  {name}" in text, name


def test_completion() -> None:
    shell = Shell(StubPA(), interactive=False, stdout=StringIO())
    assert "place_order" in shell.completenames("pla")
    assert shell.complete_place_order("S", "place_order AAPL S", 17, 18) == ["SELL"]
    assert shell.complete_place_order("ST", "place_order AAPL BUY 1 ST", 23, 25) == ["STP", "STP_LMT"]
    assert "AAPL" in shell.complete_subscribe("AA", "subscribe AA", 10, 12)


def test_modify_reports_whether_ib_confirmed(monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    import platform_adapter.cli.shell as shell_module

    monkeypatch.setattr(shell_module, "MODIFY_CONFIRM_SECONDS", 0.0)
    confirmed = SimpleNamespace(request=SimpleNamespace(limit_price=151.0))
    pending = SimpleNamespace(request=SimpleNamespace(limit_price=150.0))
    for order, expected in ((confirmed, "Order 7 modified: limit_price=151.0"),
                            (pending, "Modify sent for order 7: limit_price=151.0; IB has not confirmed it yet")):
        pa = StubPA()
        pa.orders.modify_order = lambda order_id, **kw: True  # type: ignore[method-assign]
        pa.orders.get_order = lambda order_id, o=order: o  # type: ignore[attr-defined]
        out = StringIO()
        Shell(pa, interactive=False, stdout=out).run_lines(["modify 7 limit=151"], echo=False)
        assert out.getvalue().startswith(expected)
