"""Recording handlers for the typed interfaces (``core/handlers.py``): every call as
``(method, normalised args)`` in one list, errors named by the domain they were routed to
(``"orders.error"``), and the two ways a frame reaches them: ibapi's decoder through the Wrapper,
and the fast path."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from ibapi.decoder import Decoder

from platform_adapter.core.fast_decode import build_frame_fast_path
from platform_adapter.core.handlers import AccountHandler, Handlers, LifecycleHandler, MarketDataHandler, OrderHandler
from platform_adapter.core.request_registry import RequestRegistry
from platform_adapter.core.wrapper import Wrapper
from tests.wire import ibapi_decode

Call = tuple[str, tuple[Any, ...]]
Normalise = Callable[[Any], Any]


def norm(value: Any) -> Any:
    """A comparable form of an argument: numbers with their type and repr (NaN equals NaN), objects
    by their attributes."""
    if isinstance(value, (float, Decimal)):
        return type(value).__name__, repr(value)
    if isinstance(value, (list, tuple)):
        return type(value).__name__, tuple(norm(v) for v in value)
    if hasattr(value, "__dict__"):
        return type(value).__name__, tuple(sorted((k, norm(v)) for k, v in vars(value).items()))
    return type(value).__name__, value


class _Recording:
    def __init__(self, calls: list[Call], normalise: Normalise, owned: Iterable[int] = ()) -> None:
        self.calls = calls
        self.normalise = normalise
        self.owned = set(owned)


def _recorder(name: str) -> Callable[..., None]:
    def record(self: _Recording, *args: Any) -> None:
        self.calls.append((name, tuple(self.normalise(a) for a in args)))
    return record


class RecordingMarketData(_Recording, MarketDataHandler):
    def owns_request(self, req_id: int) -> bool:
        return req_id in self.owned


class RecordingOrders(_Recording, OrderHandler):
    def owns_order(self, order_id: int) -> bool:
        return order_id in self.owned


class RecordingAccount(_Recording, AccountHandler):
    pass


class RecordingLifecycle(_Recording, LifecycleHandler):
    pass


for _cls, _base, _domain in ((RecordingMarketData, MarketDataHandler, "market_data"),
                             (RecordingOrders, OrderHandler, "orders"), (RecordingAccount, AccountHandler, "account"),
                             (RecordingLifecycle, LifecycleHandler, "lifecycle")):
    for _name, _member in vars(_base).items():
        if callable(_member) and not _name.startswith(("_", "owns_")) and _name != "quote_ticks":
            setattr(_cls, _name, _recorder(f"{_domain}.error" if _name == "error" else _name))

# every method a decoder may call (quote_ticks arrives as its tick_price/tick_size calls)
INTERFACE_METHODS = frozenset(
    f"{domain}.error" if name == "error" else name
    for base, domain in ((MarketDataHandler, "market_data"), (OrderHandler, "orders"), (AccountHandler, "account"),
                         (LifecycleHandler, "lifecycle"))
    for name, member in vars(base).items() if callable(member) and not name.startswith(("_", "owns_"))
    and name != "quote_ticks")


class Recording:
    """One handler per domain recording into ``calls``, bound to ``wrapper``; ``owned_requests`` and
    ``owned_orders`` are the ids the market-data and order handlers own (for error routing)."""

    def __init__(self, normalise: Normalise = norm, owned_requests: Iterable[int] = (),
                 owned_orders: Iterable[int] = (), requests: RequestRegistry | None = None) -> None:
        self.calls: list[Call] = []
        self.market_data = RecordingMarketData(self.calls, normalise, owned_requests)
        self.orders = RecordingOrders(self.calls, normalise, owned_orders)
        self.account = RecordingAccount(self.calls, normalise)
        self.lifecycle = RecordingLifecycle(self.calls, normalise)
        self.requests = requests or RequestRegistry()
        self.wrapper = Wrapper(Handlers(self.market_data, self.orders, self.account, self.lifecycle, self.requests))

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


def ibapi_calls(frame: bytes, server_version: int, normalise: Normalise = norm) -> tuple[list[Call], bool]:
    """(calls, ibapi raised) for one frame (without its length prefix) decoded by ibapi's Decoder
    through the Wrapper, as ``EClient`` decodes it at ``server_version``."""
    rec = Recording(normalise)
    try:
        ibapi_decode(Decoder(rec.wrapper, server_version), frame, server_version)
    except Exception:  # noqa: BLE001 - ibapi's own failure is part of what the tests compare
        return rec.calls, True
    return rec.calls, False


def fast_calls(frame: bytes, server_version: int, normalise: Normalise = norm) -> tuple[bool, list[Call]]:
    """(the fast path took it, calls) for one frame; the quote run is flushed after it."""
    rec = Recording(normalise)
    fast = build_frame_fast_path(rec.wrapper, server_version)
    assert fast is not None
    took = fast.decode(frame)
    fast.flush()
    return took, rec.calls
