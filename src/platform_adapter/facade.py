"""The ``PlatformAdapter`` facade: one object that owns every component (spec 2.1, 6.1)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from platform_adapter.adapters.account_manager import AccountManager
from platform_adapter.adapters.base_adapter import AdapterContext
from platform_adapter.adapters.contracts import ContractResolver
from platform_adapter.adapters.market_data import MarketDataAdapter
from platform_adapter.adapters.order_execution import OrderExecutionAdapter
from platform_adapter.config.settings import Settings, load_settings
from platform_adapter.core.connection_manager import ConnectionManager
from platform_adapter.core.events import EventDispatcher
from platform_adapter.core.handlers import Handlers
from platform_adapter.core.lifecycle import Lifecycle
from platform_adapter.core.metrics import Metrics, connection_metrics, order_metrics, performance_metrics, raw_metrics
from platform_adapter.core.metrics_exporter import MetricsExporter
from platform_adapter.core.request_registry import RequestRegistry
from platform_adapter.core.state_manager import StateManager
from platform_adapter.core.wrapper import Wrapper
from platform_adapter.errors import NotConnected
from platform_adapter.log import logger
from platform_adapter.models.connection import ConnectionEvent, ConnectionState
from platform_adapter.utils.cpu_wake import held_cpu_wake_latency, hold_cpu_wake_latency
from platform_adapter.utils.heap import freeze_start_up_heap, gc_watch
from platform_adapter.utils.logger import setup_logging
from platform_adapter.utils.rate_limiter import HistoricalPacer, TokenBucket

IB_MESSAGES_PER_SECOND = 50


class PlatformAdapter:
    """The library's entry point.

    ``PlatformAdapter(config_path=None, **overrides)`` loads ``config.yaml`` (the packaged one by
    default), ``.env`` and the environment; ``overrides`` take ``section.key`` or unique key
    names, e.g. ``PlatformAdapter(port=4002, client_id=7)``.
    """

    def __init__(self, config_path: str | os.PathLike[str] | None = None, *, settings: Settings | None = None,
                 env_file: str | os.PathLike[str] | None = None, configure_logging: bool = True,
                 **overrides: Any) -> None:
        if settings is None:
            settings = load_settings(config_path, env_file=env_file, overrides=overrides)
        elif overrides:
            settings = settings.replace(**overrides)
        self.settings = settings
        if configure_logging:
            setup_logging(settings.logging)
        logger.info("Configuration loaded (environment {})", settings.environment)
        md = settings.market_data
        rate = md.rate_limit_requests_per_second
        self.wrapper = Wrapper()
        self.wrapper.debug = settings.logging.level.upper() in ("DEBUG", "TRACE")
        self.registry = RequestRegistry()
        self.state = StateManager()
        self.bucket = TokenBucket(rate, max(1, IB_MESSAGES_PER_SECOND - rate), name="outgoing messages")
        self.historical = HistoricalPacer(md.historical_data_max_requests_per_10min,
                                          md.max_concurrent_historical_requests, margin=0.1,
                                          large_per_second=md.historical_large_bar_requests_per_second)
        self.events = EventDispatcher(block_threshold=settings.monitoring.callback_block_threshold_seconds)
        self.metrics_registry = Metrics()
        self.connection = ConnectionManager(settings.ib_connection, settings.monitoring, self.wrapper,
                                            self.registry, self.bucket)
        self.ctx = AdapterContext(settings, self.wrapper, self.connection, self.registry, self.state, self.bucket,
                                  self.historical, self.events, self.metrics_registry)
        self.contracts = self.ctx.contracts = ContractResolver(self.ctx)
        self.market_data = MarketDataAdapter(self.ctx)
        self.orders = OrderExecutionAdapter(self.ctx)
        self.account = AccountManager(self.ctx)
        self.lifecycle = Lifecycle(self.connection, self.events, market_data=self.market_data, orders=self.orders,
                                   account=self.account)
        self.wrapper.bind(Handlers(market_data=self.market_data.handler, orders=self.orders.handler,
                                   account=self.account.handler, lifecycle=self.lifecycle, requests=self.registry))
        self.exporter: MetricsExporter | None = None
        self._connecting = threading.RLock()  # held by connect() through its start-up steps
        self.gc = gc_watch()  # the garbage collector's passes and pauses, in metrics()
        logger.info("Components initialised")

    def connect(self, host: str | None = None, port: int | None = None, client_id: int | None = None) -> bool:
        """Connect, wait for ``nextValidId``, then run the start-up steps (``core/lifecycle.py``:
        order ids, market data, order reconciliation, account updates and positions). The link is
        usable even when a start-up step failed (e.g. a timed-out reconciliation): that is logged,
        not raised, and runs again after the next reconnect. Already connected (or a reconnect under
        way, which this waits for): True, and nothing is started twice; a connect under way on
        another thread is waited for, start-up included."""
        self.events.start()
        self.start_metrics()
        self.historical.open()
        wake_us = self.settings.ib_connection.cpu_wake_latency_us
        if wake_us is not None:
            hold_cpu_wake_latency(wake_us)  # process-wide, held until exit (utils/cpu_wake.py)
        with self._connecting:
            opens = not self.connection.is_connected() and self.connection.state is not ConnectionState.RECONNECTING
            if not self.connection.connect(host, port, client_id):
                return False
            if opens:  # already connected, or reconnected meanwhile: the lines and subscriptions stand
                self.lifecycle.connected()
        if self.settings.ib_connection.gc_freeze_after_connect:
            freeze_start_up_heap()  # once per process (utils/heap.py)
        return True

    def start_metrics(self) -> MetricsExporter | None:
        """Start the periodic INFO metrics line (and the Prometheus endpoint when
        ``monitoring.prometheus_port`` is set) once; ``None`` when metrics are disabled."""
        mon = self.settings.monitoring
        if not mon.metrics_enabled:
            return None
        if self.exporter is None:
            exporter = MetricsExporter(self.metrics, mon.metrics_log_interval_seconds, mon.prometheus_port)
            try:
                exporter.start()
            except OSError as exc:
                logger.error("Prometheus endpoint on 127.0.0.1:{} not started: {}", mon.prometheus_port, exc)
                exporter.prometheus_port = 0
                exporter.start()
            self.exporter = exporter
        return self.exporter

    def disconnect(self) -> None:
        """Stop the adapters (their lines cancelled at IB) and close the connection. A connect
        under way on another thread ends (its start-up steps fail at once with ``NotConnected``)
        and what its steps started is stopped too."""
        self.historical.close()  # history calls waiting for their pacing turn end now (NotConnected)
        self._stop_adapters()
        self.connection.disconnect()
        with self._connecting:  # a connect's start-up ends now: then stop what its steps started
            self._stop_adapters()
        if self.exporter is not None:
            self.exporter.stop()
            self.exporter = None
        self.events.wait_idle(2.0)
        self.events.stop()

    def _stop_adapters(self) -> None:
        for adapter in (self.market_data, self.account, self.orders):
            try:
                adapter.stop()
            except Exception:  # noqa: BLE001 - shutting down: log and go on
                logger.opt(exception=True).warning("stopping {} failed", type(adapter).__name__)

    def is_connected(self) -> bool:
        return self.connection.is_connected()

    def on_connection_event(self, callback: Callable[[ConnectionEvent], Any]) -> None:
        """Call ``callback(ConnectionEvent)`` on the event thread after the library has reacted to
        each connection event (connected, disconnected, reconnected, IB link lost/restored)."""
        self.lifecycle.on_connection_event(callback)

    def metrics(self) -> dict[str, Any]:
        """Every spec 9.3 metric as a flat dict: connection health, market data, performance and
        orders, each from its component's public interface (``core/metrics.py``), the garbage
        collector's passes and pauses in this process (``utils/heap.py``), the idle CPUs' wake-up
        request this process holds (``utils/cpu_wake.py``; ``None``: none), then the event thread's
        statistics and the adapters' raw counters."""
        events = {name: round(value, 4) if isinstance(value, float) else value
                  for name, value in self.events.stats().items()}
        return raw_metrics(self.metrics_registry,
                           connection_metrics(self.connection.get_connection_status()),
                           self.market_data.monitoring_metrics(),
                           performance_metrics(events, self.connection.dispatcher_backlog),
                           order_metrics(self.state.trades_snapshot()),
                           self.gc.metrics(),
                           {"cpu_wake_latency_us": held_cpu_wake_latency()},
                           events)

    def __enter__(self) -> PlatformAdapter:
        if not self.connect():
            raise NotConnected(self.connection.last_error or "could not connect")
        return self

    def __exit__(self, *exc: object) -> None:
        self.disconnect()
