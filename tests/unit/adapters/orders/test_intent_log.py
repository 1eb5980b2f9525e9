"""The journal's intent log: records survive the process, torn or stale records are never read
back, one owner at a time, and the journal moves what a crash left in it into SQLite."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from platform_adapter.adapters.orders import journal as journal_module
from platform_adapter.adapters.orders.intent_log import CAPACITY, IntentLog, IntentLogBusy
from platform_adapter.adapters.orders.journal import OrderJournal
from platform_adapter.models.order import (
    Order,
    OrderState,
    OrderStatus,
)
from tests.conftest import wait_for
from tests.unit.adapters.orders.journal_helpers import outside, request

ROOT = Path(__file__).resolve().parents[4]


def _json(row: Any) -> bytes:
    return json.dumps(row, separators=(",", ":")).encode()


def test_records_read_back_in_order_by_the_next_owner(tmp_path: Path) -> None:
    path = tmp_path / "x.intent"
    log = IntentLog(path)
    rows = [[i, f"ref-{i}", 1.5 * i, None, "é"] for i in range(100)]
    for row in rows:
        assert log.append(_json(row))
    log.close()  # no reset: as after a crash
    again = IntentLog(path)
    try:
        assert again.records() == rows
        assert path.stat().st_size == CAPACITY  # allocated up front
    finally:
        again.close()


def test_reset_hides_older_records_even_where_new_ones_are_shorter(tmp_path: Path) -> None:
    path = tmp_path / "x.intent"
    log = IntentLog(path)
    for i in range(10):
        log.append(_json(["a long record that leaves bytes behind", i]))
    log.reset()
    log.append(_json(["short", 1]))
    assert log.records() == [["short", 1]]
    log.reset()
    assert log.records() == []
    log.close()
    again = IntentLog(path)
    try:
        assert again.records() == []
    finally:
        again.close()


def test_a_torn_record_ends_the_log(tmp_path: Path) -> None:
    path = tmp_path / "x.intent"
    log = IntentLog(path)
    log.append(_json(["first"]))
    end_of_first = log.pos
    log.append(_json(["second", "with a payload"]))
    log.append(_json(["third"]))
    log.close()
    with open(path, "r+b") as f:  # a write cut short: the second record's last payload byte is wrong
        f.seek(end_of_first + 12 + len(b'["second","with a payload"]') - 1)
        f.write(b"X")
    again = IntentLog(path)
    try:
        assert again.records() == [["first"]]
    finally:
        again.close()


def test_a_foreign_file_is_started_afresh(tmp_path: Path) -> None:
    path = tmp_path / "x.intent"
    path.write_bytes(b"not an intent log" * 100)
    log = IntentLog(path)
    try:
        assert log.records() == []
        assert log.append(_json([1]))
        assert log.records() == [[1]]
    finally:
        log.close()


def test_full_log_refuses(tmp_path: Path) -> None:
    """(A non-finite price never reaches the log: the journal's record encoder raises, see
    test_an_order_row_with_a_non_finite_price_is_not_json.)"""
    log = IntentLog(tmp_path / "x.intent", capacity=4096)
    try:
        big = ["x" * 1000]
        assert [log.append(_json(big)) for _ in range(5)] == [True, True, True, True, False]
        log.reset()
        assert log.append(_json(big))
    finally:
        log.close()


def test_a_grown_log_keeps_its_records_and_is_read_whole_after_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "x.intent"
    log = IntentLog(path, capacity=4096, max_capacity=8192)
    rows = [[i, "x" * 40] for i in range(100)]
    written = [row for row in rows if log.append(_json(row))]
    assert len(written) < len(rows)  # full at 4 KiB
    assert log.grow() and log.capacity == 8192 and path.stat().st_size == 8192
    assert not log.grow()  # at its limit
    assert log.records() == written
    more = [row for row in rows[len(written):] if log.append(_json(row))]
    assert more
    log.close()  # no reset: as after a crash
    again = IntentLog(path, capacity=4096)
    try:
        assert again.capacity == 8192 and again.records() == written + more
    finally:
        again.close()


def test_one_owner_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "x.intent"
    log = IntentLog(path)
    with pytest.raises(IntentLogBusy):
        IntentLog(path)
    log.close()
    IntentLog(path).close()


def test_order_row_is_restored_after_the_process_is_killed(tmp_path: Path) -> None:
    """A process journals orders (no commit yet: the writer waits a minute) and is killed with
    SIGKILL; the next journal on the file has every row, each once, with a history line."""
    db = tmp_path / "orders.db"
    child = textwrap.dedent(f"""
        import os, signal, sys
        from decimal import Decimal
        from platform_adapter.adapters.orders import journal as jm
        jm.BACKGROUND_DELAY = 60.0
        from tests.unit.adapters.orders.journal_helpers import request
        j = jm.OrderJournal({str(db)!r})
        for i in range(1, 21):
            j.record_request(i, request(f"r{{i}}", 10.0 + i / 100), 7)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", child], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == -9, proc.stderr
    assert outside(db, "SELECT count(*) FROM orders") == [(0,)]  # nothing had reached SQLite
    journal = OrderJournal(db)
    try:
        restored = journal.load_orders()
        assert [(o.order.order_id, o.order.order_ref, o.sending) for o in restored] == [
            (i, f"r{i}", True) for i in range(1, 21)]
        assert restored[4].order.request.limit_price == 10.05
        assert journal.high_water() == 20
        assert journal.rows("SELECT count(*) FROM order_events WHERE kind = 'recovered'") == [(20,)]
    finally:
        journal.close()
    reopened = OrderJournal(db)  # restored once: the intent log was emptied
    try:
        assert reopened.rows("SELECT count(*) FROM order_events WHERE kind = 'recovered'") == [(20,)]
        assert len(reopened.load_orders()) == 20
    finally:
        reopened.close()


def test_fills_are_restored_after_the_process_is_killed(tmp_path: Path) -> None:
    """Fills whose rows were only in the intent log when the process was killed are in SQLite
    once the journal is opened again, not yet delivered; a fill committed and delivered before the
    crash keeps its delivered mark, with the commission that came after."""
    db = tmp_path / "orders.db"
    child = textwrap.dedent(f"""
        import os, signal
        from dataclasses import replace
        from datetime import datetime, timezone
        from decimal import Decimal
        from platform_adapter.adapters.orders import journal as jm
        from platform_adapter.models.order import Fill
        jm.BACKGROUND_DELAY = 60.0
        j = jm.OrderJournal({str(db)!r})
        first = Fill("e1.01", 1, "AAPL", "BOT", Decimal(3), 10.0, datetime(2026, 1, 2, tzinfo=timezone.utc), 7)
        j.record_fill(first, "20260102 10:00:00", then=lambda: j.mark_notified("e1"))
        j.rows("SELECT 1")  # committed and marked delivered
        j.record_fill(replace(first, commission=1.25, commission_currency="USD"), "20260102 10:00:00")
        j.record_fill(replace(first, exec_id="e2.01", price=10.5), "20260102 10:00:01")
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", child], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == -9, proc.stderr
    assert outside(db, "SELECT exec_id, commission, notified FROM fills") == [("e1.01", None, 1)]
    journal = OrderJournal(db)
    try:
        restored = [(f.fill.exec_id, f.fill.price, f.fill.commission, f.notified) for f in journal.load_fills()]
        assert restored == [("e1.01", 10.0, 1.25, True), ("e2.01", 10.5, None, False)]
    finally:
        journal.close()


def test_rows_reach_sqlite_through_the_writer_and_survive_a_full_log(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal_module, "IntentLog", lambda path: IntentLog(path, capacity=2048))
    path = tmp_path / "orders.db"
    journal = OrderJournal(path)
    try:
        for i in range(1, 41):  # ~230 bytes a row: the log fills several times
            journal.record_request(i, request(f"r{i}"), 1)
        assert journal.rows("SELECT count(*), min(order_id), max(order_id) FROM orders") == [(40, 1, 40)]
    finally:
        journal.close()


def test_duplicates_are_refused_before_anything_is_written(tmp_path: Path, slow_writer: None) -> None:
    path = tmp_path / "orders.db"
    journal = OrderJournal(path)
    try:
        journal.record_request(1, request("r1"), 1)
        with pytest.raises(sqlite3.IntegrityError):
            journal.record_request(2, request("r1"), 1)  # orderRef taken
        with pytest.raises(sqlite3.IntegrityError):
            journal.record_request(1, request("r9"), 1)  # order id taken
        assert journal.rows("SELECT order_id, order_ref FROM orders") == [(1, "r1")]
    finally:
        journal.close()
    reopened = OrderJournal(path)  # an id from an earlier session is known too
    try:
        with pytest.raises(sqlite3.IntegrityError):
            reopened.record_request(1, request("r2"), 1)
    finally:
        reopened.close()


def test_a_second_journal_on_the_file_commits_directly(tmp_path: Path, slow_writer: None) -> None:
    path = tmp_path / "orders.db"
    first = OrderJournal(path)
    second = OrderJournal(path)
    try:
        second.record_request(5, request("r5"), 2)
        assert outside(path, "SELECT order_id FROM orders") == [(5,)]  # committed before returning
        first.record_request(6, request("r6"), 1)
        assert outside(path, "SELECT order_id FROM orders") == [(5,)]  # first: in its intent log
    finally:
        second.close()
        first.close()
    assert outside(path, "SELECT order_id FROM orders ORDER BY order_id") == [(5,), (6,)]


def test_a_row_the_database_refuses_does_not_block_the_others(tmp_path: Path) -> None:
    """Another process took order id 3 after this journal loaded its ids: the background commit
    leaves that row out (logged) and commits the rest."""
    path = tmp_path / "orders.db"
    journal = OrderJournal(path)
    try:
        other = sqlite3.connect(path)
        other.execute(journal_module._INSERT_ORDER, (3, "theirs", 9, "DU1", "AAPL", "{}", "BUY", "1", "LMT", 1.0,
                                                     None, "DAY", 0, "Submitted", "1", "", "t", "t"))
        other.commit()
        other.close()
        for i in (2, 3, 4):
            journal.record_request(i, request(f"r{i}"), 1)
        status = OrderStatus(4, OrderState.SUBMITTED, Decimal(0), Decimal(5), 0.0, 0.0, 0)
        journal.record_order(Order(4, request("r4"), status, 0, 1), "open_order", background=True)
        wait_for(lambda: outside(path, "SELECT count(*) FROM orders") == [(3,)])
        assert journal.refused == 1
        assert outside(path, "SELECT order_id, order_ref, status FROM orders ORDER BY order_id") == [
            (2, "r2", "sending"), (3, "theirs", "Submitted"), (4, "r4", "Submitted")]
    finally:
        journal.close()


def test_blocks_are_written_where_fallocate_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr("os.posix_fallocate")  # as on macOS
    path = tmp_path / "x.intent"
    log = IntentLog(path, capacity=200_000)
    try:
        assert path.stat().st_size == 200_000
        assert path.stat().st_blocks * 512 >= 200_000  # allocated, not sparse
        assert log.append(_json(["a"])) and log.records() == [["a"]]
    finally:
        log.close()


def test_without_flock_the_journal_commits_directly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("platform_adapter.adapters.orders.intent_log.fcntl", None)  # as on Windows
    path = tmp_path / "orders.db"
    journal = OrderJournal(path)
    try:
        journal.record_request(1, request("r1"), 1)
        assert outside(path, "SELECT order_id, status FROM orders") == [(1, "sending")]
        assert not Path(str(path) + ".intent").exists()
    finally:
        journal.close()


def test_a_refused_row_never_blocks_the_writes_behind_it(tmp_path: Path, slow_writer: None) -> None:
    path = tmp_path / "orders.db"
    journal = OrderJournal(path)
    try:
        journal.record_request(1, request("r1"), 1)
        with journal._lock:  # a queued row that collides with the one above
            journal._deferred.append((journal_module._NEW_ORDER, (1, "r1-copy", *journal._deferred[0][1][2:])))
        journal.event(1, "note")  # queued behind the copy
        journal.rows("SELECT 1")  # a read commits the queue first: the copy is left out, the rest goes in
        assert journal.refused == 1
        assert outside(path, "SELECT order_id, order_ref FROM orders") == [(1, "r1")]
        assert outside(path, "SELECT kind FROM order_events ORDER BY id") == [("request",), ("note",)]
    finally:
        journal.close()


def test_a_sender_never_waits_for_the_writers_commit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    journal = OrderJournal(tmp_path / "orders.db")
    in_commit, release = threading.Event(), threading.Event()
    run = journal._run

    def slow_run(groups: Any) -> None:
        if threading.current_thread().name == "pa-journal-writer":
            in_commit.set()
            release.wait(10)
        run(groups)

    monkeypatch.setattr(journal, "_run", slow_run)
    try:
        journal.record_request(1, request("r1"), 1)
        journal.mark_sent(1)  # asks the writer for a commit (after the send, never before it)
        assert in_commit.wait(5)  # the writer is inside its commit, holding the database
        placed = threading.Event()

        def sender() -> None:
            journal.defer_high_water(2)
            journal.record_request(2, request("r2"), 1)
            journal.mark_sent(2)
            placed.set()

        threading.Thread(target=sender, daemon=True).start()
        assert placed.wait(5), "the sender waited for the writer's commit"
        release.set()
        assert journal.rows("SELECT order_id, status FROM orders ORDER BY order_id") == [
            (1, "PendingSubmit"), (2, "PendingSubmit")]
    finally:
        release.set()
        journal.close()


@pytest.mark.parametrize("max_capacity", [8192, 1 << 20], ids=["full-log-commits-directly", "log-grows"])
def test_concurrent_senders_readers_and_a_small_log_lose_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  max_capacity: int) -> None:
    """Four senders, their reads and the writer on an 8 KiB intent log that either stays full
    (rows committed directly) or grows while they append: every row committed once."""
    monkeypatch.setattr(journal_module, "IntentLog",
                        lambda path: IntentLog(path, capacity=8192, max_capacity=max_capacity))
    path = tmp_path / "orders.db"
    journal = OrderJournal(path)
    errors: list[BaseException] = []

    def sender(base: int) -> None:
        try:
            for i in range(base, base + 150):
                journal.record_request(i, request(f"r{i}"), 1)
                journal.mark_sent(i)
                status = OrderStatus(i, OrderState.SUBMITTED, Decimal(0), Decimal(5), 0.0, 0.0, i)
                journal.record_order(Order(i, request(f"r{i}"), status, i, 1), "open_order", background=True)
                if i % 50 == 0:
                    journal.rows("SELECT count(*) FROM orders")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sender, args=(1000 * k,)) for k in range(1, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    journal.close()
    assert outside(path, "SELECT count(*), count(DISTINCT order_ref) FROM orders WHERE status = 'Submitted'") == [
        (600, 600)]
    assert outside(path, "SELECT count(*) FROM order_events WHERE kind = 'request'") == [(600,)]
    reopened = IntentLog(str(path) + ".intent")  # emptied: nothing left to restore
    try:
        assert reopened.records() == []
    finally:
        reopened.close()


def test_a_record_this_version_did_not_write_is_skipped_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "orders.db"
    log = IntentLog(str(path) + ".intent")
    log.append(_json([7, "short row"]))  # valid record, wrong shape
    log.close()
    journal = OrderJournal(path)
    try:
        assert journal.rows("SELECT count(*) FROM orders") == [(0,)]
        journal.record_request(1, request("r1"), 1)
        assert journal.rows("SELECT order_id FROM orders") == [(1,)]
    finally:
        journal.close()


def test_the_writer_is_woken_after_the_send_not_before(tmp_path: Path) -> None:
    """A new order's row is durable in the intent log; the writer thread is woken by the sent mark
    (after the send), so it never takes the GIL from a sender about to send."""
    journal = OrderJournal(tmp_path / "orders.db")
    try:
        journal.record_request(1, request("r1"), 1)
        assert not journal._flush_wanted.is_set()
        journal.mark_sent(1)
        wait_for(lambda: journal.background_commits >= 1, timeout=5)
        assert outside(tmp_path / "orders.db", "SELECT order_id, status FROM orders") == [(1, "PendingSubmit")]
    finally:
        journal.close()


_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
_PRICE = st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False), st.integers(1, 10**6))


@settings(max_examples=500, deadline=None)
@given(texts=st.lists(_TEXT, min_size=11, max_size=11), ints=st.lists(st.integers(0, 2**40), min_size=3, max_size=3),
       limit=_PRICE, stop=_PRICE, at=st.floats(0, 4e9))
def test_an_order_rows_json_is_what_json_dumps_makes_of_it(texts: list[str], ints: list[int], limit: Any,
                                                          stop: Any, at: float) -> None:
    row = (ints[0], texts[0], ints[1], *texts[1:7], limit, stop, texts[7], ints[2] % 2, *texts[8:11], at)
    assert json.loads(journal_module._row_json(row)) == json.loads(json.dumps(row))


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_an_order_row_with_a_non_finite_price_is_not_json(bad: float) -> None:
    with pytest.raises(ValueError):
        journal_module._row_json((1, "r", 1, "DU1", "AAPL", "{}", "BUY", "1", "LMT", bad, None, "DAY", 0, "sending",
                                  "1", "", 1.0))


def test_a_cancel_request_is_restored_after_the_process_is_killed(tmp_path: Path) -> None:
    """A cancel's history line (durable: written before the cancel is sent) is in the intent log
    only when the process is killed; the next journal has it, and names the order as cancelled."""
    db = tmp_path / "orders.db"
    child = textwrap.dedent(f"""
        import os, signal
        from platform_adapter.adapters.orders import journal as jm
        jm.BACKGROUND_DELAY = 60.0
        from tests.unit.adapters.orders.journal_helpers import request
        j = jm.OrderJournal({str(db)!r})
        j.record_request(1, request("r1"), 7)
        j.record_request(2, request("r2"), 7)
        j.event(1, "cancel", "cancel requested", durable=True)
        j.event(2, "modify", "quantity=3")  # queued: lost with the process (IB holds the order as it is)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", child], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == -9, proc.stderr
    assert outside(db, "SELECT count(*) FROM order_events") == [(0,)]  # nothing had reached SQLite
    journal = OrderJournal(db)
    try:
        assert journal.cancel_requested() == {1}
        assert journal.rows("SELECT order_id, kind, detail FROM order_events WHERE kind = 'cancel'") == [
            (1, "cancel", "cancel requested")]
    finally:
        journal.close()


def test_without_an_intent_log_a_cancel_request_is_committed_before_it_returns(tmp_path: Path,
                                                                               slow_writer: None) -> None:
    path = tmp_path / "orders.db"
    owner = OrderJournal(path)
    second = OrderJournal(path)
    try:
        assert second._intent is None
        second.event(4, "cancel", "cancel requested", durable=True)
        assert outside(path, "SELECT order_id, kind FROM order_events") == [(4, "cancel")]
        owner.event(5, "cancel", "cancel requested", durable=True)  # in the owner's intent log
        assert owner._intent is not None and len(owner._intent.records()) == 1
        assert owner.cancel_requested() == {4, 5}
    finally:
        second.close()
        owner.close()
    second.event(6, "cancel", "after close", durable=True)  # closed: nothing written, no error
    assert outside(path, "SELECT DISTINCT order_id FROM order_events ORDER BY order_id") == [(4,), (5,)]


def test_a_cancel_request_the_full_intent_log_refuses_is_committed_before_it_returns(
        tmp_path: Path, slow_writer: None, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "orders.db"
    journal = OrderJournal(path)
    try:
        assert journal._intent is not None
        monkeypatch.setattr(journal._intent, "append", lambda payload: False)  # full
        journal.event(7, "cancel", "cancel requested", durable=True)
        assert outside(path, "SELECT order_id, kind FROM order_events") == [(7, "cancel")]
    finally:
        journal.close()
