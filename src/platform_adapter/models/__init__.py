"""Typed models: frozen dataclasses and enums."""

from platform_adapter.models.account import AccountSummary, PnL
from platform_adapter.models.connection import ConnectionEvent, ConnectionEventKind, ConnectionState, ConnectionStatus
from platform_adapter.models.contract import ContractInfo, ContractSpec, OptionChain, SecType
from platform_adapter.models.market_data import Bar, MarketDataType, OptionGreeks, Quote, TickByTick, TickByTickKind
from platform_adapter.models.order import (
    TERMINAL_STATES,
    WORKING_STATES,
    BracketOrder,
    Fill,
    OcaGroup,
    OcaType,
    Order,
    OrderAction,
    OrderExtras,
    OrderRequest,
    OrderState,
    OrderStatus,
    OrderType,
    TimeInForce,
    Trade,
)
from platform_adapter.models.position import Position
from platform_adapter.models.preview import AccountChange, OrderPreview

__all__ = [
    "TERMINAL_STATES",
    "WORKING_STATES",
    "AccountChange",
    "AccountSummary",
    "Bar",
    "BracketOrder",
    "ConnectionEvent",
    "ConnectionEventKind",
    "ConnectionState",
    "ConnectionStatus",
    "ContractInfo",
    "ContractSpec",
    "Fill",
    "MarketDataType",
    "OcaGroup",
    "OcaType",
    "OptionChain",
    "OptionGreeks",
    "Order",
    "OrderAction",
    "OrderExtras",
    "OrderPreview",
    "OrderRequest",
    "OrderState",
    "OrderStatus",
    "OrderType",
    "PnL",
    "Position",
    "Quote",
    "SecType",
    "TickByTick",
    "TickByTickKind",
    "TimeInForce",
    "Trade",
]
