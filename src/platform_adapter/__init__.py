"""platform_adapter: a synchronous, threaded Interactive Brokers TWS API adapter.

    from platform_adapter import PlatformAdapter
    pa = PlatformAdapter(config_path="config.yaml")
    pa.connect()
"""

from platform_adapter.errors import (
    ConfigError,
    ContractNotFound,
    IBError,
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
from platform_adapter.facade import PlatformAdapter
from platform_adapter.models import (
    AccountSummary,
    Bar,
    ConnectionState,
    ConnectionStatus,
    ContractSpec,
    Fill,
    MarketDataType,
    Order,
    OrderAction,
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

__version__ = "0.1.0"

__all__ = [
    "AccountSummary",
    "Bar",
    "ConfigError",
    "ConnectionState",
    "ConnectionStatus",
    "ContractNotFound",
    "ContractSpec",
    "Fill",
    "IBError",
    "LiveTradingRefused",
    "MarketDataType",
    "NotConnected",
    "Order",
    "OrderAction",
    "OrderRejected",
    "OrderState",
    "OrderStateError",
    "OrderStatus",
    "OrderType",
    "PacingViolation",
    "PlatformAdapter",
    "PlatformAdapterError",
    "PnL",
    "Position",
    "Quote",
    "RequestTimeout",
    "SecType",
    "SubscriptionLimitExceeded",
    "TickByTick",
    "TickByTickKind",
    "TimeInForce",
    "ValidationError",
    "__version__",
]
