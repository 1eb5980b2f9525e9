"""The StateManager: one lock around the caches of positions, orders, account values and quotes.

Getters return snapshots (frozen models or copies); the lock is never held while user code or
the EClient runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, Protocol, TypeVar

from platform_adapter.models.account import PnL
from platform_adapter.models.market_data import Quote
from platform_adapter.models.order import Order, Trade
from platform_adapter.models.position import Position

T = TypeVar("T")


class QuoteSource(Protocol):
    """A live quote (a market-data line) that builds its frozen :class:`Quote` when read."""

    def snapshot(self) -> Quote: ...


def order_key(order_id: int, perm_id: int = 0) -> int:
    """The one rule for keying orders: our own orders by order id; orders placed elsewhere
    (order id 0, e.g. from TWS) by their negated permId, so the two ranges never collide."""
    if order_id > 0:
        return order_id
    return -perm_id if perm_id else 0


class StateManager:
    """Thread-safe caches shared by the adapters (spec 2.2.5)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._positions: dict[tuple[str, int | str], Position] = {}
        self._trades: dict[int, Trade] = {}
        self._children: dict[int, set[int]] = {}  # parent order id -> its children's (a bracket's exits)
        self._orders: dict[int, Order] = {}
        self._account_values: dict[str, Any] = {}
        self._quotes: dict[str, Quote | QuoteSource] = {}
        self._pnl: PnL | None = None
        self.account_updated_at: datetime | None = None

    # --- spec 2.2.5 interface -------------------------------------------------------------
    def update_position(self, position: Position) -> None:
        """Insert or replace a position; a zero quantity removes it."""
        key = (position.account, position.con_id or position.symbol)
        with self._lock:
            if position.quantity == 0:
                self._positions.pop(key, None)
            else:
                self._positions[key] = position

    def update_order(self, order: Order) -> None:
        """Store an order snapshot (orders not owned by a :class:`Trade`, e.g. from elsewhere)."""
        with self._lock:
            self._orders[order_key(order.order_id, order.perm_id)] = order

    def update_account_value(self, key: str, value: Any) -> None:
        with self._lock:
            self._account_values[key] = value
            self.account_updated_at = datetime.now(timezone.utc)

    def get_cached_positions(self) -> list[Position]:
        with self._lock:
            return list(self._positions.values())

    def get_cached_orders(self) -> list[Order]:
        with self._lock:
            orders = {k: t.snapshot() for k, t in self._trades.items()}
            for k, o in self._orders.items():
                orders.setdefault(k, o)
            return [orders[k] for k in sorted(orders)]

    # --- positions ------------------------------------------------------------------------
    def replace_positions(self, positions: list[Position], account: str | None = None) -> list[str]:
        """Replace the cached positions (of ``account``) with IB's list; return what changed."""
        changes: list[str] = []
        with self._lock:
            old = {k: p for k, p in self._positions.items() if account is None or k[0] == account}
            new = {(p.account, p.con_id or p.symbol): p for p in positions if p.quantity != 0}
            for key, pos in new.items():
                before = old.get(key)
                if before is None:
                    changes.append(f"{pos.symbol}: missing from cache, IB has {pos.quantity}")
                elif before.quantity != pos.quantity:
                    changes.append(f"{pos.symbol}: cache {before.quantity}, IB {pos.quantity}")
            for key, pos in old.items():
                if key not in new:
                    changes.append(f"{pos.symbol}: cache {pos.quantity}, IB has none")
                    del self._positions[key]
            self._positions.update(new)
        return changes

    def get_position(self, symbol: str, account: str | None = None) -> Position | None:
        with self._lock:
            for (acct, _), pos in self._positions.items():
                if pos.symbol == symbol and (account is None or acct == account):
                    return pos
        return None

    # --- trades (our own orders) -------------------------------------------------------------
    def add_trade(self, trade: Trade) -> None:
        with self._lock:
            self._trades[trade.order_id] = trade
            parent = _parent_id(trade)
            if parent:
                self._children.setdefault(parent, set()).add(trade.order_id)
            replaced = trade.request.extras.replaces if trade.request.extras is not None else 0
            if replaced and replaced in self._trades:  # restored from the journal as when placed
                self._trades[replaced].replaced_by = trade.order_id

    def discard_trade(self, order_id: int) -> None:
        """Forget an order that was never sent (its placement failed before the send)."""
        with self._lock:
            trade = self._trades.pop(order_id, None)
            parent = _parent_id(trade) if trade is not None else 0
            if parent:
                self._children.get(parent, set()).discard(order_id)
            replaced = trade.request.extras.replaces if trade is not None and trade.request.extras else 0
            if replaced in self._trades and self._trades[replaced].replaced_by == order_id:
                self._trades[replaced].replaced_by = 0

    def children(self, parent_id: int) -> list[Order]:
        """The orders placed with ``parent_id`` as their parent (a bracket's exits), by order id;
        looked up in an index, not by going through every order."""
        with self._lock:
            ids = sorted(self._children.get(parent_id, ()))
            return [self._trades[i].snapshot() for i in ids if i in self._trades]

    def has_trade(self, order_id: int) -> bool:
        with self._lock:
            return order_id in self._trades

    def mutate_trade(self, order_id: int, fn: Callable[[Trade], T]) -> T | None:
        """Run ``fn`` on the live trade under the lock; ``None`` when the order is unknown."""
        with self._lock:
            trade = self._trades.get(order_id)
            if trade is None:
                return None
            return fn(trade)

    def get_order(self, order_id: int) -> Order | None:
        with self._lock:
            trade = self._trades.get(order_id)
            if trade is not None:
                return trade.snapshot()
            return self._orders.get(order_id)

    def trades_snapshot(self) -> list[Order]:
        with self._lock:
            return [t.snapshot() for t in self._trades.values()]

    # --- account values, PnL ----------------------------------------------------------------
    def get_account_values(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._account_values)

    def get_account_value(self, key: str) -> Any:
        with self._lock:
            return self._account_values.get(key)

    def set_pnl(self, pnl: PnL) -> None:
        with self._lock:
            self._pnl = pnl

    def get_pnl(self) -> PnL | None:
        with self._lock:
            return self._pnl

    # --- quotes -------------------------------------------------------------------------------
    def update_quote(self, quote: Quote) -> None:
        with self._lock:
            self._quotes[quote.symbol] = quote

    def set_quote_source(self, symbol: str, source: QuoteSource) -> None:
        """Cache a live quote: readers get ``source.snapshot()`` (built outside this lock), so
        the per-tick updates of the source never build a Quote nobody reads."""
        with self._lock:
            self._quotes[symbol] = source

    def get_quote(self, symbol: str) -> Quote | None:
        with self._lock:
            quote = self._quotes.get(symbol)
        return quote if quote is None or isinstance(quote, Quote) else quote.snapshot()

    def get_quotes(self) -> dict[str, Quote]:
        with self._lock:
            items = list(self._quotes.items())
        return {k: q if isinstance(q, Quote) else q.snapshot() for k, q in items}

    def clear_quote(self, symbol: str) -> None:
        with self._lock:
            self._quotes.pop(symbol, None)


def _parent_id(trade: Trade) -> int:
    extras = trade.request.extras
    return extras.parent_id if extras is not None else 0
