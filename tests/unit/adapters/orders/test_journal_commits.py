"""Order journal commits: one transaction per change, the high-water mark written with the order
row, deferred writes flushed by the next write/read/close, background WAL checkpoints."""

from __future__ import annotations

import itertools
import os
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from platform_adapter.adapters.orders import journal as journal_module
from platform_adapter.adapters.orders.ids import OrderIdAllocator
from platform_adapter.adapters.orders.intent_log import IntentLog
from platform_adapter.adapters.orders.journal import OrderJournal
from platform_adapter.models.order import (
    Fill,
    OrderState,
)
from tests.conftest import FailsOnce, wait_for
from tests.unit.adapters.orders.journal_helpers import order, outside, request


def test_high_water_is_written_with_the_order_row(tmp_path: Path, slow_writer: None) -> None:
    path = tmp_path / "orders.db"
    journal = OrderJournal(path)
    ids = OrderIdAllocator()
    ids.load(journal.high_water(), journal.defer_high_water)
    first = ids.allocate()
    assert journal.high_water() == first  # readers see it at once
    assert outside(path, "SELECT value FROM meta") == []  # no commit of its own
    journal.record_request(first, request("r1"), 1)
    assert outside(path, "SELECT order_id FROM orders") == []  # in the intent log, not committed yet
    assert journal.rows("SELECT order_id, status FROM orders") == [(first, "sending")]  # a read commits it
    # the committed order row carries the mark (no extra meta write for it)
    assert outside(path, "SELECT value FROM meta") == []
    reader = OrderJournal(path)
    try:
        assert reader.high_water() == first
    finally:
        reader.close()
    second = ids.allocate()  # allocated, never journalled as an order
    journal.close()  # a pending mark is written on close
    assert outside(path, "SELECT value FROM meta") == [(str(second),)]
    reopened = OrderJournal(path)
    try:
        assert reopened.high_water() == second
    finally:
        reopened.close()


def test_a_request_below_a_pending_mark_writes_the_mark_with_its_row(tmp_path: Path) -> None:
    path = tmp_path / "orders.db"
    journal = OrderJournal(path)
    try:
        ids = OrderIdAllocator()
        ids.load(journal.high_water(), journal.defer_high_water)
        first, second = ids.allocate(), ids.allocate()  # e.g. two threads placing orders at once
        journal.record_order(order(first, "r0", OrderState.PENDING_SUBMIT), "sent", defer=True)  # queued
        journal.record_request(first, request("r1"), 1)
        # committed at once, in one transaction: the higher mark, the queued write, the row
        assert outside(path, "SELECT value FROM meta") == [(str(second),)]
        assert outside(path, "SELECT order_id, status FROM orders") == [(first, "PendingSubmit")]
        assert outside(path, "SELECT kind FROM order_events ORDER BY id") == [("sent",), ("request",)]
        journal.record_request(second, request("r2"), 1)  # now the row carries the mark
        assert outside(path, "SELECT value FROM meta") == [(str(second),)]
        assert journal.rows("SELECT kind FROM order_events ORDER BY id") == [("sent",), ("request",), ("request",)]
    finally:
        journal.close()


def test_a_later_row_update_supersedes_the_deferred_one(tmp_path: Path) -> None:
    path = tmp_path / "orders.db"
    journal = OrderJournal(path)
    try:
        journal.record_request(1, request("r1"), 1)
        journal.record_request(2, request("r2"), 1)
        journal.record_order(order(1, "r1", OrderState.PENDING_SUBMIT), "sent", defer=True)
        journal.record_order(order(2, "r2", OrderState.PENDING_SUBMIT), "sent", defer=True)
        journal.record_order(order(1, "r1", OrderState.SUBMITTED), "open_order")
        assert outside(path, "SELECT order_id, status FROM orders ORDER BY order_id") == [
            (1, "Submitted"), (2, "PendingSubmit")]
        assert outside(path, "SELECT order_id, kind FROM order_events WHERE kind != 'request' ORDER BY id") == [
            (1, "sent"), (2, "sent"), (1, "open_order")]
    finally:
        journal.close()


def test_deferred_update_commits_with_the_next_write_in_order(tmp_path: Path, slow_writer: None) -> None:
    path = tmp_path / "orders.db"
    journal = OrderJournal(path)
    try:
        journal.record_request(1, request("r1"), 1)
        journal.record_order(order(1, "r1", OrderState.PENDING_SUBMIT), "sent", defer=True)
        assert outside(path, "SELECT status FROM orders") == []
        journal.record_order(order(1, "r1", OrderState.SUBMITTED), "open_order")
        assert outside(path, "SELECT status FROM orders") == [("Submitted",)]
        kinds = outside(path, "SELECT kind FROM order_events ORDER BY id")
        assert kinds == [("request",), ("sent",), ("open_order",)]
        journal.record_order(order(1, "r1", OrderState.CANCELLED), "status", defer=True)
        assert journal.rows("SELECT status FROM orders") == [("Cancelled",)]  # a read flushes first
    finally:
        journal.close()


def test_a_failed_transaction_rolls_back_and_keeps_the_deferred_writes(tmp_path: Path, slow_writer: None) -> None:
    path = tmp_path / "orders.db"
    journal = OrderJournal(path)
    try:
        journal.record_request(1, request("r1"), 1)
        journal.record_order(order(1, "r1", OrderState.PENDING_SUBMIT), "sent", defer=True)
        with journal._lock:  # a write the database refuses, queued behind them
            journal._deferred.append(("INSERT INTO no_such_table VALUES(1)", ()))
        with pytest.raises(sqlite3.OperationalError):
            journal.rows("SELECT 1")  # a read commits the queued writes first
        assert outside(path, "SELECT order_id, status FROM orders") == []  # rolled back
        with journal._lock:
            journal._deferred.pop()
        journal.rows("SELECT 1")  # a read commits the queued writes first
        assert outside(path, "SELECT order_id, status FROM orders") == [(1, "PendingSubmit")]
    finally:
        journal.close()


def test_wal_is_checkpointed_in_the_background(tmp_path: Path) -> None:
    path = tmp_path / "orders.db"
    journal = OrderJournal(path)
    try:
        for i in range(1, 201):
            journal.record_request(i, request(f"r{i}"), 1)
            journal.mark_sent(i)
        wal = Path(str(path) + "-wal")
        assert wal.stat().st_size > 0
        # the rows reach the main database file without any commit doing a checkpoint
        wait_for(lambda: path.stat().st_size > 64 * 1024, timeout=10)
    finally:
        journal.close()
    assert outside(path, "SELECT count(*) FROM orders") == [(200,)]


def test_a_failed_checkpoint_does_not_end_checkpointing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A checkpoint that raises is logged; the checkpointer goes on with the next commit's."""
    checkpoints: list[str] = []
    connect = sqlite3.connect

    class Checkpointer:  # the checkpointer's connection: its first checkpoint fails
        def __init__(self, db: sqlite3.Connection) -> None:
            self.db = db

        def execute(self, sql: str, *args: object) -> sqlite3.Cursor:
            if "wal_checkpoint" in sql:
                checkpoints.append(sql)
                if len(checkpoints) == 1:
                    raise sqlite3.OperationalError("disk I/O error")
            return self.db.execute(sql, *args)

        def close(self) -> None:
            self.db.close()

    def connect_checkpointer(*args: object, **kwargs: object) -> object:
        db = connect(*args, **kwargs)  # type: ignore[call-overload]
        return Checkpointer(db) if threading.current_thread().name == "pa-journal-checkpoint" else db

    monkeypatch.setattr(journal_module, "CHECKPOINT_SECONDS", 0.0)
    monkeypatch.setattr(journal_module.sqlite3, "connect", connect_checkpointer)
    journal = OrderJournal(tmp_path / "orders.db")
    try:
        journal.record_request(1, request("r1"), 1)
        journal.mark_sent(1)  # the writer commits, then the checkpointer's turn
        wait_for(lambda: len(checkpoints) == 1)
        journal.record_request(2, request("r2"), 1)
        journal.mark_sent(2)
        wait_for(lambda: len(checkpoints) >= 2)
    finally:
        journal.close()


def test_background_writes_are_committed_by_the_writer_thread(tmp_path: Path) -> None:
    path = tmp_path / "orders.db"
    journal = OrderJournal(path)
    try:
        journal.record_request(1, request("r1"), 1)
        journal.record_order(order(1, "r1", OrderState.PENDING_SUBMIT), "sent", defer=True)
        journal.record_order(order(1, "r1", OrderState.SUBMITTED), "open_order", background=True)
        # no further write: the writer thread commits both, in order
        wait_for(lambda: outside(path, "SELECT status FROM orders") == [("Submitted",)])
        assert outside(path, "SELECT kind FROM order_events ORDER BY id") == [("request",), ("sent",), ("open_order",)]
        assert journal.background_commits >= 1
    finally:
        journal.close()


def test_close_commits_background_writes_still_queued(tmp_path: Path) -> None:
    path = tmp_path / "orders.db"
    journal = OrderJournal(path)
    for i in range(1, 51):
        journal.record_request(i, request(f"r{i}"), 1)
    for i in range(1, 51):
        journal.record_order(order(i, f"r{i}", OrderState.CANCELLED), "status", background=True)
    journal.close()
    assert outside(path, "SELECT DISTINCT status FROM orders") == [("Cancelled",)]
    assert outside(path, "SELECT count(*) FROM order_events WHERE kind = 'status'") == [(50,)]


def test_a_failed_background_commit_keeps_its_writes_for_the_next_one(tmp_path: Path) -> None:
    path = tmp_path / "orders.db"
    journal = OrderJournal(path)
    try:
        journal.record_request(1, request("r1"), 1)
        with journal._lock:  # a write the database refuses, queued ahead of a good one
            journal._deferred.append(("INSERT INTO no_such_table VALUES(1)", ()))
        journal.record_order(order(1, "r1", OrderState.SUBMITTED), "open_order", background=True)
        wait_for(lambda: journal.background_failures >= 1)
        with journal._lock:  # the writer has given up on this batch: nothing was lost
            queued = [" ".join(sql.split()[:3]) for sql, _ in journal._deferred]
            assert queued == ["new order", "INSERT INTO no_such_table", "order change"]
            assert journal.background_commits == 0
            del journal._deferred[1]
        assert outside(path, "SELECT status FROM orders") == []
        journal.rows("SELECT 1")  # the next read commits the kept ones first
        assert outside(path, "SELECT status FROM orders") == [("Submitted",)]
    finally:
        journal.close()


def test_an_unexpected_error_in_the_writer_does_not_end_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug in the writer's turn (its wait for a pause raises once) is logged and counted; the
    writer goes on: a fill without an intent log is committed and its follow-up runs."""
    journal = OrderJournal(":memory:")
    wait = FailsOnce(journal._wait_for_pause)
    monkeypatch.setattr(journal, "_wait_for_pause", wait)
    done = threading.Event()
    try:
        journal.record_fill(_fill(), "", then=done.set)
        assert done.wait(10), "the fill's follow-up never ran"
        assert journal.background_failures == 1 and len(wait.calls) >= 2
        assert journal.rows("SELECT exec_id FROM fills") == [("e1.01",)]
    finally:
        journal.close()


def test_a_write_that_cannot_be_made_is_left_out_not_every_commit_after_it(tmp_path: Path) -> None:
    """A queued write whose SQL cannot be made (a bug's error, not the database's: a status that
    is no OrderState) is left out, counted and logged; the writes around it and after it are
    committed."""
    path = tmp_path / "orders.db"
    journal = OrderJournal(path)
    try:
        journal.record_request(1, request("r1"), 1)
        good = order(1, "r1", OrderState.SUBMITTED)
        bad = replace(good, status=replace(good.status, status="Submitted"))  # a str: no .value
        journal.record_order(bad, "status", background=True)
        journal.record_order(good, "open_order", background=True)
        wait_for(lambda: outside(path, "SELECT status FROM orders") == [("Submitted",)])
        assert journal.refused == 1
        journal.record_order(order(1, "r1", OrderState.CANCELLED), "status")  # a commit of its own
        assert journal.rows("SELECT status FROM orders") == [("Cancelled",)]
        assert outside(path, "SELECT kind FROM order_events ORDER BY id") == [("request",), ("open_order",),
                                                                              ("status",)]
    finally:
        journal.close()


def test_sent_mark_leaves_sending_unless_ib_got_there_first(tmp_path: Path, slow_writer: None) -> None:
    path = tmp_path / "orders.db"
    journal = OrderJournal(path)
    try:
        journal.record_request(1, request("r1"), 1)
        journal.record_request(2, request("r2"), 1)
        journal.mark_sent(1)
        # order 2: IB's acknowledgement was handled before the sender got to its mark
        journal.record_order(order(2, "r2", OrderState.SUBMITTED), "open_order", background=True)
        journal.mark_sent(2)
        journal.record_request(3, request("r3"), 1)  # order 3: sent, then acknowledged, one commit
        journal.mark_sent(3)
        journal.record_order(order(3, "r3", OrderState.SUBMITTED), "open_order", background=True)
        assert outside(path, "SELECT count(*) FROM orders") == [(0,)]  # all of it queued
        assert journal.rows("SELECT order_id, status FROM orders ORDER BY order_id") == [
            (1, "PendingSubmit"), (2, "Submitted"), (3, "Submitted")]
        assert journal.rows("SELECT order_id, kind FROM order_events ORDER BY id") == [
            (1, "request"), (2, "request"), (1, "sent"), (2, "open_order"), (2, "sent"), (3, "request"),
            (3, "sent"), (3, "open_order")]
    finally:
        journal.close()


def test_a_row_new_in_its_commit_is_inserted_as_its_updates_would_leave_it(tmp_path: Path, slow_writer: None) -> None:
    """Sent and changed in the commit that inserts it: one INSERT with the state the row updates
    would give (the same row as committing each write on its own), its history lines all kept."""
    changed = order(1, "r1", OrderState.SUBMITTED)
    changed = replace(changed, perm_id=77, request=replace(changed.request, quantity=Decimal(4), limit_price=9.5),
                      status=replace(changed.status, filled=Decimal(1), remaining=Decimal(3), avg_fill_price=9.5,
                                     last_fill_price=9.5, perm_id=77))
    rows = []
    for one_commit in (True, False):
        path = tmp_path / f"orders{one_commit}.db"
        journal = OrderJournal(path)
        try:
            for step in range(3):
                if step == 0:
                    journal.record_request(1, request("r1"), 1)
                elif step == 1:
                    journal.mark_sent(1)
                else:
                    journal.record_order(changed, "status", background=True)
                if not one_commit:
                    journal.rows("SELECT 1")  # commits what is queued
            rows.append(journal.rows("SELECT * FROM orders"))
            assert journal.rows("SELECT kind FROM order_events ORDER BY id") == [("request",), ("sent",), ("status",)]
            last_at = journal.rows("SELECT max(at) FROM order_events")[0][0]
            assert journal.rows("SELECT updated_at FROM orders") == [(last_at,)]
        finally:
            journal.close()
    columns = [c for c in range(len(rows[0][0])) if c not in (21, 22)]  # all but created_at, updated_at
    assert [rows[0][0][c] for c in columns] == [rows[1][0][c] for c in columns]
    assert (rows[0][0][2], rows[0][0][8], rows[0][0][15], rows[0][0][16]) == (77, "4", "Submitted", "1")


def test_a_commit_of_many_rows_inserts_them_in_order(tmp_path: Path, slow_writer: None) -> None:
    """More rows than one multi-row INSERT takes: chunks, in the order they were queued."""
    journal = OrderJournal(tmp_path / "orders.db")
    try:
        count = journal_module._ROWS_PER_INSERT + 8
        for i in range(1, count + 1):
            journal.record_request(i, request(f"r{i}"), 1)
            journal.mark_sent(i)
        assert journal.rows("SELECT order_id, status FROM orders ORDER BY order_id") == [
            (i, "PendingSubmit") for i in range(1, count + 1)]
        assert journal.rows("SELECT order_id, kind FROM order_events ORDER BY id") == [
            (i, kind) for i in range(1, count + 1) for kind in ("request", "sent")]
    finally:
        journal.close()


def _fill(exec_id: str = "e1.01") -> Fill:
    return Fill(exec_id, 1, "AAPL", "BOT", Decimal(3), 10.0, datetime(2026, 1, 2, tzinfo=timezone.utc), 7,
                commission=1.0, commission_currency="USD")


def test_a_fill_is_durable_in_the_intent_log_before_its_follow_up_runs(tmp_path: Path, slow_writer: None) -> None:
    """``record_fill`` puts the row in the intent log and runs ``then`` at once on the caller's
    thread: no commit, no writer hop (the writer commits it in the next pause); after close
    ``then`` still runs at once."""
    path = tmp_path / "orders.db"
    journal = OrderJournal(path)
    seen: list[str] = []
    try:
        journal.record_fill(_fill(), "", then=lambda: seen.append(threading.current_thread().name))
        assert seen == [threading.current_thread().name]
        assert outside(path, "SELECT exec_id FROM fills") == []  # not committed: durable in the intent log
        assert journal._intent is not None and journal._intent.records() == [
            {"fill": ["e1", "e1.01", 1, 7, "AAPL", "BOT", "3", 10.0, "2026-01-02T00:00:00+00:00", "", "", 1.0, "USD",
                      None, 0]}]
        assert journal.background_commits == 0
        journal.mark_notified("e1")
        assert journal.rows("SELECT exec_id, notified FROM fills") == [("e1.01", 1)]  # a read commits both
    finally:
        journal.close()
    late: list[bool] = []
    journal.record_fill(_fill("e3.01"), "", then=lambda: late.append(True))
    assert late == [True]


def test_without_an_intent_log_a_fill_is_committed_by_the_writer_before_its_follow_up_runs(
        tmp_path: Path, slow_writer: None) -> None:
    """A second journal on the file has no intent log: the writer commits the fill at once (no
    waiting for a pause) and runs ``then`` after that commit; one that raises is logged and the
    journal goes on."""
    path = tmp_path / "orders.db"
    owner = OrderJournal(path)
    journal = OrderJournal(path)
    seen: list[tuple[str, list[tuple[object, ...]]]] = []
    try:
        assert journal._intent is None
        journal.record_fill(_fill(), "", then=lambda: seen.append((threading.current_thread().name,
                                                                  outside(path, "SELECT exec_id FROM fills"))))
        wait_for(lambda: seen, timeout=5)
        assert seen == [("pa-journal-writer", [("e1.01",)])]

        def broken() -> None:
            raise RuntimeError("callback bug")

        journal.mark_notified("e1")  # queued: waits for the (slow) writer's next commit
        journal.record_fill(_fill("e2.01"), "", then=broken)  # which this one starts at once
        wait_for(lambda: outside(path, "SELECT exec_id, notified FROM fills ORDER BY exec_id")
                 == [("e1.01", 1), ("e2.01", 0)], timeout=5)
    finally:
        journal.close()
        owner.close()


class _Waits:
    """Stands in for the writer's ``_commit_now`` event: each wait runs ``during(n)`` (the writes
    that arrive during the n-th wait) and times out."""

    def __init__(self, during: Callable[[int], None]) -> None:
        self.during = during
        self.timeouts: list[float] = []

    def wait(self, timeout: float) -> bool:
        self.timeouts.append(timeout)
        self.during(len(self.timeouts))
        return False


def test_the_writer_waits_for_a_pause_in_the_flow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """While writes keep coming, the writer does not commit: it waits until one wait of
    ``BACKGROUND_DELAY`` passes with none queued (here: writes arrive during the first four
    waits), and no longer than ``MAX_BACKGROUND_DELAY`` in all."""
    journal = OrderJournal(tmp_path / "orders.db")
    try:
        waits = _Waits(lambda n: journal.event(1, "x") if n <= 4 else None)
        monkeypatch.setattr(journal, "_commit_now", waits)
        journal._wait_for_pause()
        assert waits.timeouts == [journal_module.BACKGROUND_DELAY] * 5

        clock = itertools.count(0.0, 0.5)
        monkeypatch.setattr(journal_module.time, "monotonic", lambda: next(clock))
        never_pauses = _Waits(lambda n: journal.event(1, "x"))
        monkeypatch.setattr(journal, "_commit_now", never_pauses)
        journal._wait_for_pause()  # committed MAX_BACKGROUND_DELAY after the flow's start
        assert len(never_pauses.timeouts) == int(journal_module.MAX_BACKGROUND_DELAY / 0.5)
    finally:
        monkeypatch.undo()
        journal.close()


def test_the_intent_log_grows_during_a_flow_instead_of_a_commit(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Half full in the middle of a flow, the intent log doubles (up to its limit) and the writer
    keeps waiting for the pause; at the limit it commits."""
    monkeypatch.setattr(journal_module, "IntentLog", lambda path: IntentLog(path, capacity=4096, max_capacity=16384))
    path = tmp_path / "orders.db"
    journal = OrderJournal(path)
    try:
        intent = journal._intent
        assert intent is not None
        sizes: list[int] = []

        def one_order(n: int) -> None:  # one new order per wait: a flow that never pauses
            journal.record_request(n, request(f"r{n}"), 1)
            sizes.append(intent.capacity)

        monkeypatch.setattr(journal, "_commit_now", _Waits(one_order))
        journal._wait_for_pause()  # returns when the log is half full at its limit
        assert sorted(set(sizes)) == [4096, 8192, 16384]
        assert intent.half_full and path.with_name("orders.db.intent").stat().st_size == 16384
        assert outside(path, "SELECT count(*) FROM orders") == [(0,)]  # nothing committed meanwhile
        assert len(intent.records()) == len(sizes)
    finally:
        monkeypatch.undo()
        journal.close()
    assert outside(path, "SELECT count(*) FROM orders") == [(len(sizes),)]


def test_an_intent_log_that_cannot_grow_ends_the_wait_with_a_commit(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk refuses the intent log's new blocks (full): the writer stops waiting for the pause
    and commits, so the log empties instead of filling up."""
    monkeypatch.setattr(journal_module, "IntentLog", lambda path: IntentLog(path, capacity=4096))
    path = tmp_path / "orders.db"
    journal = OrderJournal(path)
    try:
        intent = journal._intent
        assert intent is not None

        def no_space() -> int:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(intent, "reserve", no_space)
        monkeypatch.setattr(journal, "_commit_now", _Waits(lambda n: journal.record_request(n, request(f"r{n}"), 1)))
        journal._wait_for_pause()
        assert intent.half_full and intent.capacity == 4096
    finally:
        monkeypatch.undo()
        journal.close()


@settings(max_examples=3000, deadline=None)
@given(timestamp=st.one_of(
    st.floats(min_value=0, max_value=4e9, allow_nan=False),
    st.integers(0, 4 * 10**9).map(float),
    st.tuples(st.integers(0, 4 * 10**9), st.integers(0, 2 * 10**6)).map(lambda p: p[0] + p[1] / 2e6),
    st.floats(min_value=-1, max_value=1).map(lambda d: 1_764_900_000.0 + d)))
def test_iso_times_are_datetimes_isoformat(timestamp: float) -> None:
    """The journal's fast ISO time text is exactly ``datetime``'s, rounding of microseconds included."""
    assert journal_module._iso(timestamp) == datetime.fromtimestamp(timestamp, timezone.utc).isoformat()


def test_iso_times_round_up_to_the_next_second_and_the_memo_stays_bounded() -> None:
    for timestamp in (1_764_900_000.9999996, 1_764_900_059.9999999, 0.9999997, 1_764_900_000.0000004, 0.0):
        assert journal_module._iso(timestamp) == datetime.fromtimestamp(timestamp, timezone.utc).isoformat()
    for second in range(5000):
        journal_module._iso(1_000_000_000.5 + second)
    assert len(journal_module._SECONDS) <= 4096


@pytest.mark.skipif(not hasattr(os, "getpriority") or not os.path.exists("/proc/self/task"),
                    reason="per-thread nice values are Linux's")
def test_the_writer_and_checkpointer_run_at_a_lower_priority(tmp_path: Path) -> None:
    """``writer_nice`` raises the nice value of the journal's own threads only (not the caller's)."""
    base = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    journal = OrderJournal(tmp_path / "nice.db", writer_nice=3)
    try:
        threads = [journal._writer, journal._checkpointer]
        assert all(t is not None for t in threads)
        wait_for(lambda: all(os.getpriority(os.PRIO_PROCESS, t.native_id or 0) == min(base + 3, 19)
                             for t in threads if t is not None))
        assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == base
    finally:
        journal.close()
