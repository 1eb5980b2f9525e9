"""StateManager: positions, orders, snapshots, reconciliation, account, quotes and PnL; the order key rule."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from platform_adapter.core.state_manager import StateManager, order_key
from platform_adapter.models import (
    ContractSpec,
    OrderAction,
    OrderExtras,
    OrderRequest,
    OrderType,
    Position,
    Quote,
    Trade,
)


def make_trade(order_id: int) -> Trade:
    req = OrderRequest(ContractSpec("AAPL"), OrderAction.BUY, Decimal(10), OrderType.MARKET)
    return Trade(order_id, req, remaining=Decimal(10))


def test_state_manager_positions_orders_and_snapshots() -> None:
    sm = StateManager()
    pos = Position("DU1", "AAPL", ContractSpec("AAPL"), Decimal(100), 150.0, con_id=265598)
    sm.update_position(pos)
    assert sm.get_cached_positions() == [pos]
    assert sm.get_position("AAPL") == pos and sm.get_position("AAPL", "DU2") is None
    sm.update_position(Position("DU1", "AAPL", ContractSpec("AAPL"), Decimal(0), 0.0, con_id=265598))
    assert sm.get_cached_positions() == []
    sm.add_trade(make_trade(5))
    snap = sm.get_order(5)
    assert snap is not None and snap.order_id == 5
    sm.mutate_trade(5, lambda t: setattr(t, "filled", Decimal(3)))
    assert snap.status.filled == 0  # snapshots are not live objects
    assert sm.get_order(5).status.filled == 3  # type: ignore[union-attr]
    assert sm.mutate_trade(99, lambda t: 1) is None
    assert sm.has_trade(5) and not sm.has_trade(6)
    sm.update_order(make_trade(0).snapshot())
    assert [o.order_id for o in sm.get_cached_orders()] == [0, 5]
    assert len(sm.trades_snapshot()) == 1


def test_state_manager_reconcile_positions_reports_differences() -> None:
    sm = StateManager()
    spec = ContractSpec("AAPL")
    sm.update_position(Position("DU1", "AAPL", spec, Decimal(100), 1.0, con_id=1))
    sm.update_position(Position("DU1", "MSFT", ContractSpec("MSFT"), Decimal(5), 1.0, con_id=2))
    changes = sm.replace_positions([Position("DU1", "AAPL", spec, Decimal(50), 1.0, con_id=1),
                                    Position("DU1", "TSLA", ContractSpec("TSLA"), Decimal(1), 1.0, con_id=3)])
    assert len(changes) == 3
    assert {p.symbol: p.quantity for p in sm.get_cached_positions()} == {"AAPL": 50, "TSLA": 1}


def test_state_manager_account_quotes_pnl() -> None:
    sm = StateManager()
    sm.update_account_value("NetLiquidation", "100")
    assert sm.get_account_value("NetLiquidation") == "100"
    assert sm.get_account_values() == {"NetLiquidation": "100"}
    assert sm.account_updated_at is not None
    sm.update_quote(Quote("AAPL", bid=1.0))
    assert sm.get_quote("AAPL").bid == 1.0  # type: ignore[union-attr]
    assert list(sm.get_quotes()) == ["AAPL"]
    sm.clear_quote("AAPL")
    assert sm.get_quote("AAPL") is None
    assert sm.get_pnl() is None


def test_order_key_rule() -> None:
    assert order_key(7, 123) == 7
    assert order_key(0, 123) == -123
    assert order_key(0, 0) == 0


def test_children_are_the_orders_placed_with_a_parent_looked_up_by_index() -> None:
    from dataclasses import replace

    from platform_adapter.models.order import OrderExtras

    sm = StateManager()
    parent = make_trade(10)
    sm.add_trade(parent)
    for order_id in (12, 11):
        child = make_trade(order_id)
        child.request = replace(child.request, extras=OrderExtras(parent_id=10))
        sm.add_trade(child)
    sm.add_trade(make_trade(13))  # no parent
    assert [o.order_id for o in sm.children(10)] == [11, 12]
    assert sm.children(13) == [] and sm.children(99) == []
    sm.discard_trade(11)
    assert [o.order_id for o in sm.children(10)] == [12]


def test_an_exit_placed_anew_is_linked_from_the_one_it_replaces_until_it_is_discarded() -> None:
    sm = StateManager()
    sm.add_trade(make_trade(2))
    new = make_trade(4)
    new.request = replace(new.request, extras=OrderExtras(parent_id=1, replaces=2))
    sm.add_trade(new)
    assert sm.get_order(2).replaced_by == 4 and [o.order_id for o in sm.children(1)] == [4]
    sm.discard_trade(4)  # never sent (the journal refused it): the old exit is replaced by nothing
    assert sm.get_order(2).replaced_by == 0 and sm.children(1) == []
    sm.discard_trade(9)  # unknown: nothing happens
