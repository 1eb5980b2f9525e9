"""platform_adapter: a synchronous, threaded Interactive Brokers TWS API adapter.

    from platform_adapter import PlatformAdapter
    pa = PlatformAdapter(config_path="config.yaml")
    pa.connect()

Names are imported lazily (PEP 562), so ``python -m platform_adapter.sim`` does not load the
adapter stack it does not use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_ERRORS = ("ConfigError", "ContractNotFound", "GatewayConfigError", "HistoricalQueryCancelled", "IBError",
           "JournalError", "LiveTradingRefused", "NotConnected", "OrderRejected", "OrderStateError", "PacingViolation",
           "PlatformAdapterError", "RequestTimeout", "SubscriptionLimitExceeded", "ValidationError")
_MODELS = ("AccountSummary", "Bar", "BracketOrder", "ConnectionEvent", "ConnectionEventKind", "ConnectionState",
           "ConnectionStatus", "ContractSpec", "Fill", "MarketDataType", "OcaGroup", "OcaType", "OptionGreeks", "Order",
           "OrderAction", "OrderPreview", "OrderState", "OrderStatus", "OrderType", "PnL", "Position", "Quote",
           "SecType", "TickByTick", "TickByTickKind", "TimeInForce")
_WHERE = {**{n: "platform_adapter.errors" for n in _ERRORS}, **{n: "platform_adapter.models" for n in _MODELS},
          "PlatformAdapter": "platform_adapter.facade"}

__all__ = sorted([*_WHERE, "__version__"])


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'platform_adapter' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from platform_adapter.errors import (  # noqa: F401
        ConfigError,
        ContractNotFound,
        GatewayConfigError,
        HistoricalQueryCancelled,
        IBError,
        JournalError,
        LiveTradingRefused,
        NotConnected,
        OrderRejected,
        OrderStateError,
        PacingViolation,
        PlatformAdapterError,
        RequestTimeout,
        SubscriptionLimitExceeded,
        ValidationError,
    )
    from platform_adapter.facade import PlatformAdapter  # noqa: F401
    from platform_adapter.models import (  # noqa: F401
        AccountSummary,
        Bar,
        BracketOrder,
        ConnectionEvent,
        ConnectionEventKind,
        ConnectionState,
        ConnectionStatus,
        ContractSpec,
        Fill,
        MarketDataType,
        OcaGroup,
        OcaType,
        OptionGreeks,
        Order,
        OrderAction,
        OrderPreview,
        OrderState,
        OrderStatus,
        OrderType,
        PnL,
        Position,
        Quote,
        SecType,
        TickByTick,
        TickByTickKind,
        TimeInForce,
    )
