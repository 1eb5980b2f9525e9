"""The SQLite order journal and the order-id allocator with its persisted high-water mark."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

from platform_adapter.adapters.orders.ids import OrderIdAllocator
from platform_adapter.adapters.orders.journal import OrderJournal
from platform_adapter.models.contract import ContractSpec, SecType
from platform_adapter.models.order import (
    Fill,
    OrderAction,
    OrderRequest,
    OrderState,
    OrderType,
    TimeInForce,
    Trade,
)

FUT = ContractSpec("ES", SecType.FUTURE, "CME", last_trade_date="202703", multiplier="50")


def request(ref: str = "pa-1") -> OrderRequest:
    return OrderRequest(FUT, OrderAction.SELL, Decimal(2), OrderType.STOP_LIMIT, 5300.25, 5301.0,
                        TimeInForce.DAY, True, "DU1", ref)


def test_journal_is_wal_and_restores_orders_and_fills(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "orders.db"
    journal = OrderJournal(path)
    assert journal.rows("PRAGMA journal_mode") == [("wal",)]
    journal.record_request(7, request(), client_id=3)
    journal.record_request(8, request("pa-2"), client_id=3)
    trade = Trade(8, request("pa-2"), OrderState.SUBMITTED, Decimal(1), Decimal(1), 5300.5, 5300.5, 99, 3)
    journal.record_order(trade.snapshot())
    fill = Fill("e.01", 8, "ES", "SLD", Decimal(1), 5300.5, datetime(2026, 1, 2, tzinfo=timezone.utc), 99)
    journal.record_fill(fill, "20260102 10:00:00 US/Eastern")
    journal.record_fill(Fill("e.01", 8, "ES", "SLD", Decimal(1), 5300.5, fill.time, 99, commission=2.1,
                             commission_currency="USD"))
    journal.mark_notified(fill.exec_key)
    journal.set_high_water(8)
    journal.close()
    assert journal.closed
    journal.event(8, "ignored after close")  # writes after close are dropped, not raised

    reopened = OrderJournal(path)
    sending, submitted = reopened.load_orders()
    assert sending.sending and sending.order.status.status is OrderState.PENDING_SUBMIT
    assert sending.order.request == request() and sending.order.client_id == 3
    assert not submitted.sending and submitted.order.status.status is OrderState.SUBMITTED
    assert submitted.order.perm_id == 99 and submitted.order.status.filled == Decimal(1)
    (jf,) = reopened.load_fills()
    assert jf.notified and jf.fill.commission == 2.1 and jf.ib_time == "20260102 10:00:00 US/Eastern"
    assert reopened.high_water() == 8
    kinds = [k for (k,) in reopened.rows("SELECT kind FROM order_events WHERE order_id = 8 ORDER BY id")]
    assert kinds == ["request", "status"]
    reopened.close()


def test_allocator_never_reuses_ids(tmp_path: Path) -> None:
    journal = OrderJournal(tmp_path / "orders.db")
    ids = OrderIdAllocator()
    ids.load(journal.high_water(), journal.set_high_water)
    ids.sync(None)
    ids.sync(100)
    assert ids.allocate() == 100
    ids.sync(5)  # a restarted gateway going backwards
    assert ids.allocate() == 101
    ids.sync(200)
    assert ids.allocate() == 200
    assert journal.high_water() == 200 and ids.high_water == 200

    again = OrderIdAllocator()
    again.load(journal.high_water(), None)
    again.sync(1)
    assert again.allocate() == 201
    journal.close()
