"""What every adapter shares: the context (config, connection, caches, pacing, events) and the
synchronous request helper."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from platform_adapter.config.settings import Settings
from platform_adapter.core.connection_manager import ConnectionManager
from platform_adapter.core.events import EventDispatcher
from platform_adapter.core.metrics import Metrics
from platform_adapter.core.request_registry import PendingRequest, RequestRegistry
from platform_adapter.core.state_manager import StateManager
from platform_adapter.core.wrapper import Wrapper
from platform_adapter.utils.rate_limiter import HistoricalPacer, TokenBucket

if TYPE_CHECKING:
    from platform_adapter.adapters.contracts import ContractResolver


@dataclass
class AdapterContext:
    """The shared services, handed to each adapter's constructor (composition, not mixins)."""

    settings: Settings
    wrapper: Wrapper
    connection: ConnectionManager
    registry: RequestRegistry
    state: StateManager
    bucket: TokenBucket
    historical: HistoricalPacer
    events: EventDispatcher
    metrics: Metrics
    contracts: ContractResolver | None = None


class BaseAdapter:
    """Base class of the market-data, order and account adapters."""

    def __init__(self, ctx: AdapterContext) -> None:
        self.ctx = ctx
        self.settings = ctx.settings
        self.state = ctx.state
        self.registry = ctx.registry
        self.events = ctx.events
        self.connection = ctx.connection
        self.metrics = ctx.metrics

    @property
    def contracts(self) -> ContractResolver:
        """The shared contract resolver (set up by the facade)."""
        assert self.ctx.contracts is not None, "the ContractResolver is created first"
        return self.ctx.contracts

    def _client(self) -> Any:
        """The EClient, or :class:`~platform_adapter.errors.NotConnected`."""
        return self.connection.require_connected()

    def _request(self, kind: str, send: Callable[[Any, int], None], timeout: float | None = None,
                 **meta: Any) -> list[Any]:
        """Register a pending request, send it with ``send(client, req_id)``, wait for the results."""
        client = self._client()
        pending: PendingRequest = self.registry.start(kind, **meta)
        try:
            send(client, pending.req_id)
        except BaseException:
            self.registry.discard(pending.req_id)
            raise
        return pending.wait(timeout if timeout is not None else self.settings.ib_connection.request_timeout)

    def _notify(self, callback: Callable[..., Any], *args: Any) -> None:
        """Run a user callback on the event thread (never on the dispatcher)."""
        self.events.submit(callback, *args)
