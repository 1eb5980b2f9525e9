"""Market depth (level 2): an order book around each contract's simulated quote, for stocks,
forex and futures, streamed as IB streams it (inserts first, then updates of changed rows);
the exchanges offering depth and the components of SMART routing."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import info_messages as im
from . import info_requests as iq
from .contracts import ContractSpec
from .info_types import DepthExchange
from .market import round_tick, stable_seed
from .service import Service
from .wire import Message

if TYPE_CHECKING:
    from .session import Session

MAX_DEPTH_CONTRACTS = 3  # IB allows depth on three distinct contracts at once
MAX_ROWS = 10
TEXT_309 = ("Max number (3) of market depth requests has been reached. Note: TWS currently limits users to a "
            "maximum of 3 distinct market depth requests. This same restriction applies to API clients, however "
            "API clients may make multiple market depth requests for the same security.")
TEXT_10092 = "Deep market data is not supported for this combination of security type/exchange"
DEPTH_TYPES = ("STK", "CASH", "FUT")
INSERT, UPDATE = 0, 1
ASK, BID = 0, 1
STOCK_VENUES = ("NSDQ", "ARCA", "BATS", "EDGX", "IEX", "NYSE", "AMEX", "BYX", "EDGA", "PSX")
US_STOCK_BBO = "9c0001"  # the BBO exchange code tickReqParams gives for US stocks
SMART_COMPONENTS: dict[str, tuple[tuple[int, str, str], ...]] = {
    US_STOCK_BBO: ((1, "ARCA", "P"), (2, "NASDAQ", "Q"), (3, "NYSE", "N"), (4, "BATS", "Z"), (5, "IEX", "V"),
                   (6, "EDGX", "K"), (7, "AMEX", "A"), (8, "CHX", "M"), (9, "PHLX", "X"), (10, "EDGEA", "J")),
}
DEPTH_EXCHANGES = (
    DepthExchange("NASDAQ", "STK", "NASDAQ", "Deep2", 7), DepthExchange("ARCA", "STK", "NYSE", "Deep2", 7),
    DepthExchange("BATS", "STK", "", "Deep", 7), DepthExchange("IEX", "STK", "", "Deep", 7),
    DepthExchange("IDEALPRO", "CASH", "", "Deep", 4), DepthExchange("CME", "FUT", "", "Deep", 2),
    DepthExchange("CBOT", "FUT", "", "Deep", 2),
)

Row = tuple[float, float]  # price, size


@dataclass
class Book:
    """One depth subscription and the rows last sent."""

    spec: ContractSpec
    rows: int
    smart: bool
    sent: dict[tuple[int, int], Row] = field(default_factory=dict)  # (side, position) -> row


def bbo_exchange(spec: ContractSpec) -> str:
    """The BBO exchange code of a contract (tickReqParams), the key of its SMART components."""
    return US_STOCK_BBO if spec.sec_type == "STK" else ""


class MarketDepth(Service):
    """reqMktDepth and the requests about depth sources."""

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.books: dict[int, Book] = {}

    def h_reqMktDepth(self, q: iq.ReqMktDepth) -> None:
        spec = self.spec(q.contract, q.req_id)
        if spec is None:
            return
        if spec.sec_type not in DEPTH_TYPES:
            self.error(q.req_id, 10092, TEXT_10092)
            return
        held = {b.spec.con_id for b in self.books.values()}
        if spec.con_id not in held and len(held) >= MAX_DEPTH_CONTRACTS:
            self.error(q.req_id, 309, TEXT_309)
            return
        rows = min(q.num_rows, MAX_ROWS) if q.num_rows > 0 else MAX_ROWS
        book = self.books[q.req_id] = Book(spec, rows, q.is_smart_depth and spec.sec_type == "STK")
        self.send(*self._changes(q.req_id, book))

    def h_cancelMktDepth(self, q: iq.CancelMktDepth) -> None:
        self.books.pop(q.req_id, None)

    def h_reqMktDepthExchanges(self, q: iq.ReqMktDepthExchanges) -> None:
        self.send(im.mkt_depth_exchanges(DEPTH_EXCHANGES))

    def h_reqSmartComponents(self, q: iq.ReqSmartComponents) -> None:
        self.send(im.smart_components(q.req_id, SMART_COMPONENTS.get(q.bbo_exchange, ())))

    def updates(self) -> list[Message]:
        """The rows that changed since last sent, for every subscription (the market loop)."""
        return [m for req_id, book in self.books.items() for m in self._changes(req_id, book)]

    def _book(self, book: Book) -> dict[tuple[int, int], Row]:
        """The current rows: levels one tick apart from the quote, sizes drawn per market step."""
        c = book.spec
        q = self.gw.market.quote(c.con_id)
        rng = random.Random(stable_seed(self.gw.market.steps, str(c.con_id)))
        lot = 100000.0 if c.sec_type == "CASH" else (1.0 if c.sec_type == "FUT" else 100.0)
        out: dict[tuple[int, int], Row] = {}
        for i in range(book.rows):
            out[(ASK, i)] = (round_tick(q.ask + i * c.min_tick, c.min_tick), lot * rng.randint(1, 30))
            out[(BID, i)] = (round_tick(q.bid - i * c.min_tick, c.min_tick), lot * rng.randint(1, 30))
        return out

    def _changes(self, req_id: int, book: Book) -> list[Message]:
        now = self._book(book)
        out = []
        for (side, position), row in sorted(now.items()):
            before = book.sent.get((side, position))
            if before != row:
                op = INSERT if before is None else UPDATE
                out.append(self._row(req_id, book, position, op, side, row))
        book.sent = now
        return out

    def _row(self, req_id: int, book: Book, position: int, op: int, side: int, row: Row) -> Message:
        price, size = row
        if book.spec.sec_type != "STK":
            return im.market_depth(req_id, position, op, side, price, size)
        venue = STOCK_VENUES[position % len(STOCK_VENUES)]
        return im.market_depth_l2(req_id, position, venue, op, side, price, size, book.smart)
