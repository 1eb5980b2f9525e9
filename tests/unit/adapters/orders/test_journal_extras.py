"""The journal keeps each order's advanced fields (parent, OCA group, trail, good-till) through a
restart, and opens journals and intent logs written before those fields existed."""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import replace
from pathlib import Path

from platform_adapter.adapters.orders.intent_log import IntentLog
from platform_adapter.adapters.orders.journal import OrderJournal, extras_from_json, extras_json
from platform_adapter.models.order import OcaType, OrderExtras, OrderState, OrderType
from tests.unit.adapters.orders.journal_helpers import order, request

EXTRAS = OrderExtras(7, "grp", OcaType.REDUCE_WITH_BLOCK, None, 1.5, 0.0, "20991231-00:00:00")


def test_extras_survive_a_restart_and_an_update(tmp_path: Path) -> None:
    path = tmp_path / "orders.db"
    journal = OrderJournal(path)
    req = replace(request("pa-1"), order_type=OrderType.TRAIL_LIMIT, limit_price=None, extras=EXTRAS)
    journal.record_request(10, req, 1)
    journal.record_request(11, request("pa-2"), 1)
    journal.close()
    journal = OrderJournal(path)
    restored = {j.order.order_id: j.order.request for j in journal.load_orders()}
    assert restored[10] == req and restored[11].extras is None
    changed = replace(order(10, "pa-1", OrderState.SUBMITTED), request=replace(req, extras=replace(EXTRAS,
                                                                                                  limit_offset=0.5)))
    journal.record_order(changed)
    assert journal.load_orders()[0].order.request.extras.limit_offset == 0.5
    journal.close()


def test_extras_json_round_trip() -> None:
    assert extras_json(None) == "" and extras_from_json("") is None
    assert extras_from_json(extras_json(EXTRAS)) == EXTRAS
    assert extras_from_json(extras_json(OrderExtras(trailing_amount=2.0))) == OrderExtras(trailing_amount=2.0)


OLD_ORDERS = """CREATE TABLE orders (
    order_id INTEGER PRIMARY KEY, order_ref TEXT NOT NULL UNIQUE, perm_id INTEGER NOT NULL DEFAULT 0,
    client_id INTEGER NOT NULL DEFAULT 0, account TEXT NOT NULL DEFAULT '', symbol TEXT NOT NULL,
    contract TEXT NOT NULL, action TEXT NOT NULL, quantity TEXT NOT NULL, order_type TEXT NOT NULL,
    limit_price REAL, stop_price REAL, tif TEXT NOT NULL, outside_rth INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL, filled TEXT NOT NULL DEFAULT '0', remaining TEXT NOT NULL DEFAULT '0',
    avg_fill_price REAL NOT NULL DEFAULT 0, last_fill_price REAL NOT NULL DEFAULT 0,
    reject_reason TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL, updated_at TEXT NOT NULL)"""
CONTRACT = ('{"con_id": 0, "currency": "USD", "exchange": "SMART", "last_trade_date": "", "local_symbol": "",'
            ' "multiplier": "", "primary_exchange": "", "sec_type": "STK", "symbol": "AAPL"}')


def test_a_journal_and_intent_log_of_an_earlier_version_open(tmp_path: Path) -> None:
    path = tmp_path / "orders.db"
    with sqlite3.connect(path) as db:
        db.execute(OLD_ORDERS)
        db.execute("INSERT INTO orders(order_id, order_ref, symbol, contract, action, quantity, order_type,"
                   " limit_price, tif, status, created_at, updated_at) VALUES(5, 'pa-old', 'AAPL', ?, 'BUY', '5',"
                   " 'LMT', 10.0, 'DAY', 'Submitted', '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00')",
                   (CONTRACT,))
    intent = IntentLog(str(path) + ".intent")
    old_row = [6, "pa-crash", 1, "DU1", "AAPL", CONTRACT, "BUY", "5", "LMT", 10.0, None, "DAY", 0, "sending", "5",
               time.time()]  # a row written before the extras column
    assert intent.append(json.dumps(old_row).encode())
    intent.close()
    journal = OrderJournal(path)
    loaded = {j.order.order_id: j for j in journal.load_orders()}
    assert loaded[5].order.request.extras is None and loaded[5].order.status.status is OrderState.SUBMITTED
    assert loaded[6].sending and loaded[6].order.request.order_ref == "pa-crash"
    journal.record_request(7, replace(request("pa-new"), extras=EXTRAS), 1)
    assert [j.order.request.extras for j in journal.load_orders()] == [None, None, EXTRAS]
    journal.close()
