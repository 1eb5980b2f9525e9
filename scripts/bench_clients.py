"""The clients compared by the benchmarks, each behind the same small interface.

* ``ibapi``: stock ``ibapi`` ``EClient`` + ``EWrapper`` with its own ``EReader`` and ``run`` loop.
* ``ib_async``: ``ib_async.IB`` (asyncio), synchronous API, request throttle off
  (``client.MaxRequests = 0``: the others have none).
* ``pa_core``: platform_adapter's ``ConnectionManager`` (our reader, dispatcher and fast path)
  feeding the ``Wrapper`` events: the same level as ibapi's ``EWrapper`` callbacks.
* ``pa``: the full ``PlatformAdapter`` facade (``subscribe_quotes`` with its conflated user
  callback, ``orders.place_order`` with ``orders.on_order_status``); ``pa_wait`` is the same
  client, for ``orders.place_order_and_wait``.
* ``pa+handoff``: the same with ``ib_connection.inline_decode_max_frames: 0`` (every batch is
  decoded on the dispatcher thread); ``pa+nofreeze`` with ``ib_connection.gc_freeze_after_connect:
  false`` (the start-up heap stays in the garbage collector's full passes).

User-level counting: every client but ``pa`` calls ``Counter.hit()`` once per tick message
delivered; ``pa``'s user callback receives conflated quotes and counts with ``Quote.updates``.
Orders: ``on_status(order_id, status)`` is called where the client reports a status (ibapi's
``EWrapper.orderStatus``, our ``Wrapper``'s ``order_status`` event, the facade's
``on_order_status`` callback, ib_async's ``orderStatusEvent``), with IB's status text.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

LOOPBACK = "127.0.0.1"


class Counter:
    """Counts delivered messages; records when message ``base+1`` and ``base+n`` arrive."""

    def __init__(self) -> None:
        self.n = 0
        self.first = -1
        self.target = -1
        self.t_first = 0.0
        self.t_last = 0.0
        self.done = threading.Event()

    def arm(self, n: int) -> None:
        self.done.clear()
        self.first, self.target = self.n + 1, self.n + n

    def hit(self, *_: Any) -> None:
        n = self.n = self.n + 1
        if n == self.first:
            self.t_first = time.perf_counter()
        if n == self.target:
            self.t_last = time.perf_counter()
            self.done.set()


def stock(symbol: str) -> Any:
    from ibapi.contract import Contract  # noqa: PLC0415

    contract = Contract()
    contract.symbol, contract.secType, contract.exchange, contract.currency = symbol, "STK", "SMART", "USD"
    return contract


def limit_order(order_id: int, price: float) -> Any:
    from ibapi.order import Order  # noqa: PLC0415

    order = Order()
    order.orderId, order.action, order.totalQuantity, order.orderType = order_id, "BUY", 1, "LMT"
    order.lmtPrice, order.tif = price, "DAY"
    return order


class IbapiClient:
    name = "ibapi"

    def __init__(self) -> None:
        from ibapi.client import EClient  # noqa: PLC0415
        from ibapi.wrapper import EWrapper  # noqa: PLC0415

        outer = self
        self.counter = Counter()
        self.on_status: Callable[[int, str], None] = lambda *_: None
        self.on_tick_price: Callable[[int, int, float], None] = lambda *_: None
        self.ready = threading.Event()
        self.bars: list[Any] = []
        self.bars_done = threading.Event()

        class App(EWrapper, EClient):  # type: ignore[misc]
            def __init__(self) -> None:
                EWrapper.__init__(self)
                EClient.__init__(self, self)

            def nextValidId(self, orderId: int) -> None:  # noqa: N802
                outer.next_id = orderId
                outer.ready.set()

            def tickPrice(self, reqId: int, tickType: int, price: float, attrib: Any) -> None:  # noqa: N802
                outer.on_tick_price(reqId, tickType, price)

            def tickSize(self, reqId: int, tickType: int, size: Any) -> None:  # noqa: N802
                outer.counter.hit()

            def orderStatus(self, orderId: int, status: str, *rest: Any) -> None:  # noqa: N802
                outer.on_status(orderId, status)

            def historicalData(self, reqId: int, bar: Any) -> None:  # noqa: N802
                outer.bars.append(bar)

            def historicalDataEnd(self, reqId: int, start: str, end: str) -> None:  # noqa: N802
                outer.bars_done.set()

            def error(self, reqId: int, *args: Any) -> None:  # noqa: N802
                if reqId >= 0:  # e.g. 162 "no data" for a chunk: that chunk is finished
                    outer.bars_done.set()

        self.app = App()
        self.next_id = 0
        self.contract = stock("AAPL")

    def connect(self, port: int, client_id: int) -> None:
        self.app.connect(LOOPBACK, port, client_id)
        self.thread = threading.Thread(target=self.app.run, daemon=True)
        self.thread.start()
        if not self.ready.wait(15):
            raise RuntimeError("ibapi: no nextValidId")

    def subscribe(self, symbol: str) -> None:
        self.app.reqMktData(1, stock(symbol), "", False, False, [])

    def place_order(self, order_id: int, price: float) -> int:
        self.app.placeOrder(order_id, self.contract, limit_order(order_id, price))
        return order_id

    def wait(self, event: threading.Event, timeout: float) -> bool:
        return event.wait(timeout)

    def server_version(self) -> int:
        return int(self.app.serverVersion())

    def disconnect(self) -> None:
        self.app.disconnect()


class IbAsyncClient:
    name = "ib_async"

    def __init__(self) -> None:
        from ib_async import IB  # noqa: PLC0415

        self.ib = IB()
        self.counter = Counter()
        self.on_status: Callable[[int, str], None] = lambda *_: None
        self.on_tick_price: Callable[[int, int, float], None] = lambda *_: None
        self.next_id = 0

    def connect(self, port: int, client_id: int) -> None:
        ib = self.ib
        ib.client.MaxRequests = 0  # its request throttle off (the other clients have none)
        ib.connect(LOOPBACK, port, clientId=client_id, timeout=20)
        wrapper = ib.wrapper
        counter = self.counter
        price_size, size = wrapper.priceSizeTick, wrapper.tickSize

        def counted_price_size(req_id: int, tick_type: int, price: float, sz: float) -> None:
            price_size(req_id, tick_type, price, sz)
            self.on_tick_price(req_id, tick_type, price)
            counter.hit()

        def counted_size(req_id: int, tick_type: int, sz: float) -> None:
            size(req_id, tick_type, sz)
            counter.hit()

        wrapper.priceSizeTick = counted_price_size
        wrapper.tickSize = counted_size
        ib.orderStatusEvent += lambda trade: self.on_status(trade.order.orderId, trade.orderStatus.status)
        self.next_id = ib.client.getReqId()

    def subscribe(self, symbol: str) -> None:
        from ib_async import Stock  # noqa: PLC0415

        contract = Stock(symbol, "SMART", "USD")
        self.ib.qualifyContracts(contract)
        self.ticker = self.ib.reqMktData(contract, "", False, False)

    def place_order(self, order_id: int, price: float) -> Any:
        """Returns ib_async's ``Trade`` (its order id is ib_async's own)."""
        from ib_async import LimitOrder, Stock  # noqa: PLC0415

        if not hasattr(self, "contract"):
            self.contract = Stock("AAPL", "SMART", "USD")
            self.ib.qualifyContracts(self.contract)
        return self.ib.placeOrder(self.contract, LimitOrder("BUY", 1, price))

    def wait_status(self, trade: Any, status: str) -> None:
        """ib_async's own idiom: run its event loop until the trade shows ``status``."""
        order_status = trade.orderStatus
        while order_status.status != status:
            self.ib.waitOnUpdate()

    def wait(self, event: threading.Event, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not event.is_set() and time.monotonic() < deadline:
            self.ib.waitOnUpdate(0.05)
        return event.is_set()

    def server_version(self) -> int:
        return int(self.ib.client.serverVersion())

    def disconnect(self) -> None:
        self.ib.disconnect()


TMP = tempfile.gettempdir()


def _pa_settings(port: int, client_id: int, **extra: Any) -> Any:
    from platform_adapter.config.settings import load_settings  # noqa: PLC0415

    overrides = {"ib_connection.host": LOOPBACK, "ib_connection.port": port, "ib_connection.client_id": client_id,
                 "logging.console": False,
                 "logging.log_dir": os.environ.get("PA_BENCH_LOGS", os.path.join(TMP, "pa_bench_logs")),
                 "orders.journal_path": os.environ.get("PA_BENCH_JOURNAL",
                                                        os.path.join(TMP, f"pa_bench_orders_{os.getpid()}.db")),
                 "logging.level": "WARNING", **extra}
    return load_settings(None, env_file=os.devnull, overrides=overrides, use_environ=False)


class PaCoreClient:
    """Our transport + fast path + the typed handler interfaces, without the adapters on top."""

    name = "pa_core"

    def __init__(self) -> None:
        self.counter = Counter()
        self.on_status: Callable[[int, str], None] = lambda *_: None
        self.on_tick_price: Callable[[int, int, float], None] = lambda *_: None
        self.next_id = 0
        self.contract = stock("AAPL")

    def connect(self, port: int, client_id: int, **extra: Any) -> None:
        from loguru import logger  # noqa: PLC0415

        from platform_adapter.core.connection_manager import ConnectionManager  # noqa: PLC0415
        from platform_adapter.core.handlers import Handlers, MarketDataHandler, OrderHandler  # noqa: PLC0415
        from platform_adapter.core.lifecycle import Lifecycle  # noqa: PLC0415
        from platform_adapter.core.request_registry import RequestRegistry  # noqa: PLC0415
        from platform_adapter.core.wrapper import Wrapper  # noqa: PLC0415
        from platform_adapter.utils.rate_limiter import TokenBucket  # noqa: PLC0415

        logger.remove()
        settings = _pa_settings(port, client_id, **extra)
        self.wrapper = Wrapper()
        self.bucket = TokenBucket(1e9, 1e9)  # rate limit raised out of the way (stated in the results)
        self.conn = ConnectionManager(settings.ib_connection, settings.monitoring, self.wrapper, RequestRegistry(),
                                      self.bucket)
        client = self

        class CoreMarketData(MarketDataHandler):
            """One ``tick_size`` per burst message (a tickPrice's size, or a tickSize) is counted;
            quote runs arrive as the single calls ibapi makes (the default ``quote_ticks``)."""

            def tick_price(self, req_id: int, tick_type: int, price: float, _attrib: Any) -> None:
                client.on_tick_price(req_id, tick_type, price)

            def tick_size(self, *_: Any) -> None:
                client.counter.hit()

        class CoreOrders(OrderHandler):
            def order_status(self, order_id: int, status: str, *_: Any) -> None:
                client.on_status(order_id, status)

        self.wrapper.bind(Handlers(market_data=CoreMarketData(), orders=CoreOrders(), lifecycle=Lifecycle(self.conn)))
        if not self.conn.connect():
            raise RuntimeError(self.conn.last_error)
        self.next_id = self.conn.next_valid_id or 1

    def subscribe(self, symbol: str) -> None:
        self.conn.client.reqMktData(1, stock(symbol), "", False, False, [])

    def place_order(self, order_id: int, price: float) -> int:
        self.conn.client.placeOrder(order_id, self.contract, limit_order(order_id, price))
        return order_id

    def wait(self, event: threading.Event, timeout: float) -> bool:
        return event.wait(timeout)

    def server_version(self) -> int:
        return int(self.conn.client.serverVersion())

    def disconnect(self) -> None:
        self.conn.disconnect()


class PaClient:
    """The full facade: ``market_data.subscribe_quotes`` (conflated user callback), ``orders``."""

    name = "pa"
    status_callback = True  # orders.on_order_status registered (pa_wait: none, it waits in the call)

    def __init__(self) -> None:
        self.counter = Counter()
        self.on_status: Callable[[int, str], None] = lambda *_: None
        self.on_tick_price: Callable[[int, int, float], None] = lambda *_: None
        self.quotes = 0
        self.last_quote_at = 0.0
        self.updates = 0  # Quote.updates of the latest delivery (tick values applied to the line)
        self.seen: list[tuple[float, int]] | None = None  # (time, Quote.updates) per delivery, when recording
        self.next_id = 0

    def connect(self, port: int, client_id: int, **extra: Any) -> None:
        from loguru import logger  # noqa: PLC0415

        from platform_adapter import PlatformAdapter  # noqa: PLC0415

        self.pa = PlatformAdapter(settings=_pa_settings(port, client_id, **extra), configure_logging=False)
        logger.remove()
        self.pa.bucket.rate = self.pa.bucket.capacity = 1e9  # rate limit raised (stated in the results)
        if not self.pa.connect():
            raise RuntimeError(self.pa.connection.last_error)
        # no handler of our own on the Wrapper's tick events: that would stand the quote sink aside
        if self.status_callback:
            self.pa.orders.on_order_status(self._on_order_status)

    def _on_order_status(self, status: Any) -> None:
        self.on_status(status.order_id, status.status.value)

    def on_quote(self, symbol: str, quote: Any) -> None:
        self.quotes += 1
        self.last_quote_at = now = time.perf_counter()
        self.updates = quote.updates
        if self.seen is not None:
            self.seen.append((now, quote.updates))
        if quote.bid:
            self.on_quote_bid(quote.bid)

    def on_quote_bid(self, bid: float) -> None:
        """Replaced by benchmarks that read the user-level quote."""

    def subscribe(self, symbol: str) -> None:
        self.pa.market_data.subscribe_quotes([symbol], self.on_quote)

    def place_order(self, order_id: int, price: float) -> int:
        return int(self.pa.orders.place_order("AAPL", "BUY", 1, "LMT", limit_price=price))

    def place_order_and_wait(self, price: float, status: str) -> int:
        """``orders.place_order_and_wait`` until the order shows ``status``; its order id."""
        done = self.pa.orders.place_order_and_wait("AAPL", "BUY", 1, "LMT", wait_for=[status], limit_price=price)
        return int(done.order_id)

    def wait(self, event: threading.Event, timeout: float) -> bool:
        return event.wait(timeout)

    def server_version(self) -> int:
        return int(self.pa.connection.client.serverVersion())

    def disconnect(self) -> None:
        self.pa.disconnect()


class PaWaitClient(PaClient):
    """The facade for ``orders.place_order_and_wait``: no status callback of its own."""

    name = "pa_wait"
    status_callback = False


CLIENTS: dict[str, Callable[[], Any]] = {"pa_core": PaCoreClient, "pa": PaClient, "pa_wait": PaWaitClient,
                                         "ibapi": IbapiClient, "ib_async": IbAsyncClient}
# "<client>+<variant>": one of our clients with extra settings
VARIANTS: dict[str, dict[str, Any]] = {"handoff": {"ib_connection.inline_decode_max_frames": 0},
                                      "nice10": {"orders.journal_writer_nice": 10},
                                      "nofreeze": {"ib_connection.gc_freeze_after_connect": False}}


def connect_client(key: str, port: int, client_id: int, **extra: Any) -> Any:
    """Create and connect the client named ``key`` (``pa``, ``pa+handoff``, ``ibapi``, ...)."""
    name, _, variant = key.partition("+")
    client = CLIENTS[name]()
    extra = {**VARIANTS[variant], **extra} if variant else extra
    if extra:
        client.connect(port, client_id, **extra)
    else:
        client.connect(port, client_id)
    return client
