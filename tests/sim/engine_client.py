"""A gateway that is not started, and clients that record what the gateway sends them: the
matching engine driven step by step (prices set by the test, the clock moved by the test)."""

from __future__ import annotations

from typing import Any

from ibapi import comm
from ibapi.common import PROTOBUF_MSG_ID
from ibapi.decoder import Decoder
from ibapi.server_versions import MIN_SERVER_VER_PROTOBUF
from ibapi.wrapper import EWrapper

from platform_adapter.sim import messages as m
from platform_adapter.sim.contracts import UNIVERSE
from platform_adapter.sim.orders import SimOrder
from platform_adapter.sim.requests import OrderCondition
from platform_adapter.sim.server import SimulatedGateway
from platform_adapter.sim.session import Subs
from platform_adapter.sim.wire import Message

CON_ID: dict[str, int] = {}
for _c in UNIVERSE:  # a symbol's first contract is its stock or pair (its options come after it)
    CON_ID.setdefault(_c.symbol, _c.con_id)


class Client:
    """Stands for a session: keeps every message and error the gateway sends it."""

    def __init__(self, gw: SimulatedGateway, client_id: int = 1, sv: int = 226) -> None:
        self.gw, self.client_id, self.sv = gw, client_id, sv
        self.subs = Subs()
        self.sent: list[Message] = []
        self.errors: list[tuple[int, int, str]] = []
        gw.sessions[client_id] = self  # type: ignore[assignment]

    def send(self, *msgs: Message) -> None:
        self.sent += msgs

    def error(self, req_id: int, code: int, text: str) -> None:
        self.errors.append((req_id, code, text))

    def place(self, order_id: int, action: str = "BUY", qty: float = 100, order_type: str = "LMT",
              symbol: str = "AAPL", **kw: Any) -> None:
        """placeOrder as the session hands it to the gateway."""
        self.gw.place_order(SimOrder(order_id=order_id, client_id=self.client_id, perm_id=0,
                                     con_id=CON_ID[symbol], action=action, total_qty=qty,
                                     order_type=order_type, **kw))

    def cancel(self, order_id: int) -> None:
        with self.gw.lock:
            self.gw.apply_events(self.gw.engine.cancel(self.client_id, order_id))

    def statuses(self, order_id: int) -> list[str]:
        """Every orderStatus status sent for the order, in order."""
        return [str(x.fields[1]) for x in self.sent if x.msg_id == m.ORDER_STATUS and x.fields[0] == order_id]

    def codes(self, order_id: int) -> list[int]:
        return [code for req_id, code, _ in self.errors if req_id == order_id]

    def open_orders(self) -> list[tuple[Any, ...]]:
        """The openOrder callbacks (orderId, contract, order, orderState) as stock ibapi decodes
        the frames at the client's version (text or protobuf)."""
        return [decode_open_order(x, self.sv) for x in self.sent if x.msg_id == m.OPEN_ORDER]


class _OpenOrderWrapper(EWrapper):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.args: tuple[Any, ...] = ()

    def openOrder(self, *args: Any) -> None:  # noqa: N802 - ibapi's name
        self.args = args


def decode_open_order(msg: Message, sv: int) -> tuple[Any, ...]:
    """(orderId, contract, order, orderState) of an openOrder frame, decoded by ibapi."""
    frame = msg.encode(sv)[4:]
    w = _OpenOrderWrapper()
    decoder = Decoder(w, sv)
    if sv < MIN_SERVER_VER_PROTOBUF:
        cut = frame.index(b"\0")
        decoder.interpret(comm.read_fields(frame[cut + 1:]), int(frame[:cut]))
    elif int.from_bytes(frame[:4], "big") > PROTOBUF_MSG_ID:
        decoder.processProtoBuf(frame[4:], int.from_bytes(frame[:4], "big") - PROTOBUF_MSG_ID)
    else:
        decoder.interpret(comm.read_fields(frame[4:]), int.from_bytes(frame[:4], "big"))
    return w.args


def order(gw: SimulatedGateway, order_id: int, client_id: int = 1) -> SimOrder:
    return gw.engine.orders[(client_id, order_id)]


def position(gw: SimulatedGateway, symbol: str) -> float:
    p = gw.account.positions.get(CON_ID[symbol])
    return p.qty if p else 0.0


def price_condition(price: float, is_more: bool, symbol: str = "AAPL", conjunction: str = "a",
                    method: int = 2) -> OrderCondition:
    """A PriceCondition as ibapi sends it (conjunction, isMore, price, conId, exchange, method)."""
    return OrderCondition(1, (conjunction, "1" if is_more else "0", str(price), str(CON_ID[symbol]),
                              "SMART", str(method)))


def time_condition(when: str, is_more: bool = True, conjunction: str = "a") -> OrderCondition:
    return OrderCondition(3, (conjunction, "1" if is_more else "0", when))
