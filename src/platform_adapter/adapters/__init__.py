"""The three adapters: market data, order execution and account."""

from platform_adapter.adapters.account_manager import AccountManager
from platform_adapter.adapters.market_data import MarketDataAdapter
from platform_adapter.adapters.order_execution import OrderExecutionAdapter

__all__ = ["AccountManager", "MarketDataAdapter", "OrderExecutionAdapter"]
