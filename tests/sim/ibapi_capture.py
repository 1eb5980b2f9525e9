"""The exact frames an unmodified ibapi EClient sends at a server version (the test oracle)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ibapi.client import EClient
from ibapi.contract import Contract
from ibapi.order import Order
from ibapi.wrapper import EWrapper


class _Conn:
    """Stands in for ibapi's Connection: records each frame instead of writing it."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def sendMsg(self, msg: bytes) -> None:  # noqa: N802 - ibapi's name
        self.sent.append(msg)

    def isConnected(self) -> bool:  # noqa: N802 - ibapi's name
        return True


def frames(server_version: int, call: Callable[[EClient], Any], client_id: int = 7) -> list[bytes]:
    """The frames (length prefix included) ``call`` makes a connected EClient send; an error
    ibapi reports instead of sending fails the capture."""
    errors: list[tuple[Any, ...]] = []
    wrapper = EWrapper()
    wrapper.error = lambda *a: errors.append(a)  # type: ignore[method-assign]
    client = EClient(wrapper)
    conn = _Conn()
    client.conn = conn
    client.connState = EClient.CONNECTED
    client.serverVersion_ = server_version
    client.clientId = client_id
    call(client)
    assert not errors, errors
    return conn.sent


def one_frame(server_version: int, call: Callable[[EClient], Any], client_id: int = 7) -> bytes:
    """The single frame ``call`` sends."""
    sent = frames(server_version, call, client_id)
    assert len(sent) == 1, sent
    return sent[0]


def stock(symbol: str = "AAPL") -> Contract:
    k = Contract()
    k.symbol, k.secType, k.exchange, k.currency = symbol, "STK", "SMART", "USD"
    return k


def simple_order(action: str = "BUY", qty: float = 100, order_type: str = "MKT",
                 lmt: float | None = None) -> Order:
    o = Order()
    o.action, o.totalQuantity, o.orderType = action, qty, order_type
    if lmt is not None:
        o.lmtPrice = lmt
    return o
