"""The fill book joins executions with their commissions, applies corrections and delivers each fill once."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from platform_adapter.adapters.orders.fills import FillBook
from platform_adapter.models.order import Fill


def test_fill_book_joins_corrects_and_delivers_once() -> None:
    book = FillBook()
    t = datetime(2026, 1, 2, tzinfo=timezone.utc)
    assert book.add_commission("a.01", 1.0, "USD", None) is None
    first = book.add_execution(Fill("a.01", 1, "X", "BOT", Decimal(1), 10.0, t), "t1")
    assert first is not None and first.fill.commission == 1.0 and not first.correction
    assert book.add_execution(Fill("a.01", 1, "X", "BOT", Decimal(1), 10.0, t), "t1") is None
    fixed = book.add_execution(Fill("a.02", 1, "X", "BOT", Decimal(2), 10.0, t), "t2")
    assert fixed is not None and fixed.correction
    assert book.add_commission("a.01", 3.0, "USD", None) is None  # the replaced execution's report
    assert book.add_commission("a.02", 2.0, "USD", 5.0) is not None
    assert book.get("a.02") is not None and book.get("a.02").quantity == Decimal(2)  # type: ignore[union-attr]
    assert book.claim_delivery("a") and not book.claim_delivery("a")
    book.load(Fill("b.01", 2, "X", "SLD", Decimal(1), 9.0, t), "t0", delivered=True)
    assert not book.claim_delivery("b")
    assert book.last_ib_time == "t0" and book.get("b.01") is not None


def test_an_execution_replayed_after_its_correction_is_not_taken_back() -> None:
    """Reconciliation replays the day's executions, the original among them: a correction is
    replaced only by a later one, never by the execution it corrected."""
    book = FillBook()
    t = datetime(2026, 1, 2, tzinfo=timezone.utc)
    book.add_execution(Fill("c.01.01", 1, "X", "BOT", Decimal(4), 10.0, t), "t1")
    assert book.add_execution(Fill("c.01.02", 1, "X", "BOT", Decimal(5), 10.0, t), "t1") is not None
    assert book.add_execution(Fill("c.01.01", 1, "X", "BOT", Decimal(4), 10.0, t), "t1") is None
    assert book.add_execution(Fill("c.01.0a", 1, "X", "BOT", Decimal(6), 10.0, t), "t1") is not None
    assert book.get("c.01.02") is not None and book.get("c.01.02").exec_id == "c.01.0a"  # type: ignore[union-attr]
