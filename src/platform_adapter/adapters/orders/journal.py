"""The durable order journal: SQLite (standard library) in WAL mode.

Every order request is written *before* it is sent (status ``sending``), then every status change,
fill and commission as it happens, and the order-id high-water mark. After a crash the adapter
loads the journal, restores its orders and fills, and reconciles them with the gateway.

Durability: WAL with ``synchronous=NORMAL``: a committed write survives the process being killed
(it is in the OS once ``COMMIT`` returns); only an OS crash or power loss may lose the last
commits (the file stays consistent; reconciliation with the gateway fills the gap). Writes are
grouped, one commit for several changes:

* a new order's row (which also carries the order-id high-water mark) is written before the send
  to the *intent log* (``<journal>.intent``, see ``adapters/orders/intent_log.py``): a copy into a memory
  mapping, in the OS at once, as durable as a commit, and no system call on the sending thread.
  The writer thread commits the row to SQLite in the next pause; a journal opened after a crash
  first moves the rows left in the intent log into SQLite. Without an intent log (``:memory:``,
  or a second journal open on the same file) the row is one commit before the send.
* a fill goes to the intent log too, before its callbacks run (without an intent log the writer
  commits it at once and its callbacks run after that commit);
* a cancel request's history line goes to the intent log too, before the cancel is sent (without
  an intent log: one commit before the send): the adapter reads these lines back at open
  (:meth:`OrderJournal.cancel_requested`), so that an order its owner cancelled is never placed
  again after a crash (``protection``); so does the ``group`` line that marks the first member of
  a bracket or OCA group (its kind and size), before that member is sent: a restart finds a group
  the process died placing and withdraws it (``groups.withdraw_incomplete``); modify requests
  (history lines) are queued like status changes;
* status changes reported by IB (IB holds them anyway) are committed by the writer thread in
  the next pause of the order flow, so the dispatcher never waits for a commit. A row new in a
  commit is inserted with the state its queued changes leave it in (no row updates of its own),
  and a commit's new rows and history lines go in as multi-row INSERTs.

The writer commits once no write has been queued for ``BACKGROUND_DELAY`` seconds: a commit
takes CPU that the orders in flight need (two cores: the gateway, the socket reader, the caller),
so it waits for the flow to pause instead of overlapping its round trips. A flow that never
pauses (faster than one order every few milliseconds, which IB's 50 messages/s allow only in
bursts) is committed ``MAX_BACKGROUND_DELAY`` seconds after its first write, the intent log
growing meanwhile (up to ``intent_log.MAX_CAPACITY``, then a commit). WAL checkpoints follow a
commit, in the same pause, at most every ``CHECKPOINT_SECONDS``.

Any read through the journal first commits what is queued. Another process reading the file
sees a new order or status once the flow pauses (after a crash: once the journal is opened again).

Inspect it with the ``sqlite3`` shell, e.g.
``sqlite3 logs/orders.db "select order_id, order_ref, symbol, action, quantity, status, filled from orders"``.
Tables: ``orders`` (one row per order, current state), ``order_events`` (append-only history),
``fills`` (one row per execution, with commission and whether callbacks saw it), ``meta``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import itertools
import json
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from platform_adapter.adapters.orders.intent_log import IntentLog, IntentLogBusy, wait_for_pause
from platform_adapter.log import logger
from platform_adapter.models.contract import ContractSpec, SecType
from platform_adapter.models.order import (
    Fill,
    OcaType,
    Order,
    OrderAction,
    OrderExtras,
    OrderRequest,
    OrderState,
    OrderStatus,
    OrderType,
    TimeInForce,
)

SENDING = "sending"
GROUP_EVENT = "group"  # the history line that marks a bracket's or OCA group's first member (before its send)
HIGH_WATER_KEY = "order_id_high_water"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orders (
    order_id INTEGER PRIMARY KEY,
    order_ref TEXT NOT NULL UNIQUE,
    perm_id INTEGER NOT NULL DEFAULT 0,
    client_id INTEGER NOT NULL DEFAULT 0,
    account TEXT NOT NULL DEFAULT '',
    symbol TEXT NOT NULL,
    contract TEXT NOT NULL,
    action TEXT NOT NULL,
    quantity TEXT NOT NULL,
    order_type TEXT NOT NULL,
    limit_price REAL,
    stop_price REAL,
    tif TEXT NOT NULL,
    outside_rth INTEGER NOT NULL DEFAULT 0,
    extras TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    filled TEXT NOT NULL DEFAULT '0',
    remaining TEXT NOT NULL DEFAULT '0',
    avg_fill_price REAL NOT NULL DEFAULT 0,
    last_fill_price REAL NOT NULL DEFAULT 0,
    reject_reason TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS order_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id INTEGER NOT NULL,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS fills (
    exec_key TEXT PRIMARY KEY,
    exec_id TEXT NOT NULL,
    order_id INTEGER NOT NULL,
    perm_id INTEGER NOT NULL DEFAULT 0,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL,
    quantity TEXT NOT NULL,
    price REAL NOT NULL,
    time TEXT NOT NULL,
    ib_time TEXT NOT NULL DEFAULT '',
    exchange TEXT NOT NULL DEFAULT '',
    commission REAL,
    commission_currency TEXT NOT NULL DEFAULT '',
    realized_pnl REAL,
    notified INTEGER NOT NULL DEFAULT 0
);
"""


CHECKPOINT_SECONDS = 1.0
BACKGROUND_DELAY = 0.005  # the writer commits after a pause of this many seconds without a write
MAX_BACKGROUND_DELAY = 10.0  # ... or this long after the first write of a flow that never pauses
FAILURE_PAUSE = 0.1  # the writer's pause after a failed background commit (a failure that repeats)
_SET_META = "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"
_UPDATE_ORDER = ("UPDATE orders SET perm_id = ?, status = ?, filled = ?, remaining = ?, avg_fill_price = ?,"
                 " last_fill_price = ?, reject_reason = ?, quantity = ?, order_type = ?, limit_price = ?,"
                 " stop_price = ?, tif = ?, extras = ?, updated_at = ? WHERE order_id = ?")
_EVENT = "INSERT INTO order_events(order_id, at, kind, detail) VALUES(?, ?, ?, ?)"
_ORDER_CHANGE = "order change"  # a queued record_order: (Order, kind, time); its SQL is made at commit
_ORDER_SENT = "order sent"  # a queued mark_sent: (order_id, time)
_NEW_ORDER = "new order"  # a queued order row: the INSERT's parameters with one time for created/updated_at,
# made into the INSERT and its "request" history line at commit
_UPSERT_FILL = (
    "INSERT INTO fills(exec_key, exec_id, order_id, perm_id, symbol, side, quantity, price, time, ib_time,"
    " exchange, commission, commission_currency, realized_pnl, notified) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
    " ON CONFLICT(exec_key) DO UPDATE SET exec_id = excluded.exec_id, quantity = excluded.quantity,"
    " price = excluded.price, commission = COALESCE(excluded.commission, fills.commission),"
    " commission_currency = excluded.commission_currency,"
    " realized_pnl = COALESCE(excluded.realized_pnl, fills.realized_pnl),"
    " notified = MAX(fills.notified, excluded.notified)")
_FILL_NOTIFIED = "UPDATE fills SET notified = 1 WHERE exec_key = ?"
_SENT = ("UPDATE orders SET status = 'PendingSubmit', updated_at = ? WHERE order_id = ? AND status = '"
         + SENDING + "'")
_INSERT_ORDER = ("INSERT INTO orders(order_id, order_ref, client_id, account, symbol, contract, action, quantity,"
                 " order_type, limit_price, stop_price, tif, outside_rth, status, remaining, extras, created_at,"
                 " updated_at) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
_INSERT_STATE = _INSERT_ORDER.replace(" updated_at)", " updated_at, perm_id, filled, avg_fill_price, last_fill_price,"
                                      " reject_reason)").replace("?)", "?, ?, ?, ?, ?, ?)")
"""A new row with its state: the row of an order whose send mark or changes are in its own commit."""
_PENDING_SUBMIT = OrderState.PENDING_SUBMIT.value
_ROW_WITHOUT_EXTRAS = 16  # an order row (intent log) written before the extras column: no extras


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def _lower_priority(nice: int) -> None:
    """Raise the calling thread's nice value by ``nice`` (Linux: a thread's own; elsewhere, or when
    refused, nothing): its commits then take a core mostly when the threads that decode, send and
    wait for orders leave it."""
    if nice <= 0:
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(os.getpriority(os.PRIO_PROCESS, tid) + nice, 19))
    except (AttributeError, OSError):
        pass


_SECONDS: dict[int, str] = {}  # whole second -> its ISO text up to the seconds (a bounded memo)


def _iso(timestamp: float) -> str:
    """``datetime.fromtimestamp(timestamp, timezone.utc).isoformat()`` in a third of its time (the
    writer thread formats three per order while holding the GIL): the microseconds rounded half to
    even as ``fromtimestamp`` rounds them, the text up to the seconds made once per second
    (``timestamp``: ``time.time()``, never negative)."""
    fraction, whole = math.modf(timestamp)
    micros, second = round(fraction * 1e6), int(whole)
    if micros == 1_000_000:
        second, micros = second + 1, 0
    prefix = _SECONDS.get(second)
    if prefix is None:
        if len(_SECONDS) >= 4096:
            _SECONDS.clear()
        prefix = _SECONDS[second] = datetime.fromtimestamp(second, timezone.utc).isoformat()[:19]
    return f"{prefix}.{micros:06d}+00:00" if micros else f"{prefix}+00:00"


@dataclass(frozen=True, slots=True)
class JournalOrder:
    """One order as restored from the journal."""

    order: Order
    sending: bool
    """True when the request was written but never confirmed as sent (placement in flight)."""


@dataclass(frozen=True, slots=True)
class JournalFill:
    fill: Fill
    ib_time: str
    notified: bool


class OrderJournal:
    """Thread-safe append/update access to the journal file (one connection, one lock)."""

    def __init__(self, path: str | Path, writer_nice: int = 0) -> None:
        """``writer_nice``: how much lower than the others the writer and checkpointer threads run
        (a nice-value increment, Linux; 0 for none)."""
        self.path = Path(path)
        self.writer_nice = writer_nice
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()  # the queue: deferred writes, pending mark, intent log, ids
        self._db_lock = threading.Lock()  # SQLite (taken before ``_lock`` when both are held)
        self._db: sqlite3.Connection | None = sqlite3.connect(str(path), check_same_thread=False,
                                                              isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._pending_high_water = 0
        self._deferred: list[tuple[str, tuple[Any, ...]]] = []
        self._after_commit: list[Callable[[], None]] = []  # run once the queued writes before them are committed
        self._commit_now = threading.Event()  # a queued write someone waits for (or close): stop gathering
        self._queued = 0  # writes queued so far (the writer waits for a pause in them)
        self._stop = threading.Event()
        self._flush_wanted = threading.Event()
        self._committed = threading.Event()  # a background commit done: the checkpointer may run
        self.background_commits = 0
        self.background_failures = 0
        self.refused = 0  # queued writes the database refused (left out, logged)
        self._writer = threading.Thread(target=self._write_loop, name="pa-journal-writer", daemon=True)
        self._checkpointer: threading.Thread | None = None
        if str(path) != ":memory:":
            # checkpoints (and the fsyncs they do) run on the checkpointer thread, not in a commit
            self._db.execute("PRAGMA wal_autocheckpoint=0")
            self._checkpointer = threading.Thread(target=self._checkpoint_loop, name="pa-journal-checkpoint",
                                                  daemon=True)
        self._db.executescript(SCHEMA)
        _add_missing_columns(self._db)
        self._intent: IntentLog | None = None
        self._ids: set[int] = set()
        self._refs: set[str] = set()
        if str(path) != ":memory:":
            self._open_intent_log()
        self._writer.start()
        if self._checkpointer is not None:
            self._checkpointer.start()

    def _open_intent_log(self) -> None:
        """Own the intent log, move the order rows a crash left in it into SQLite, and load the
        ids and refs it must keep unique (checked before a row goes to the intent log)."""
        db = self._db
        assert db is not None
        try:
            intent = IntentLog(str(self.path) + ".intent")
        except IntentLogBusy:
            logger.info("order journal {}: open elsewhere; new order rows are committed directly", self.path)
            return
        except OSError as exc:
            logger.warning("order journal {}: no intent log ({}); new order rows are committed directly",
                           self.path, exc)
            return
        records = intent.records()
        if records:
            now = _now()
            restored = {"order": 0, "fill": 0, "event": 0}
            db.execute("BEGIN")
            for record in records:
                kind = ("event" if _EVENT_RECORD in record else "fill") if isinstance(record, dict) else "order"
                try:
                    if kind == "event":
                        db.execute(_EVENT, tuple(record[_EVENT_RECORD]))
                    elif kind == "fill":  # an upsert: a fill committed before the crash stays as it is
                        db.execute(_UPSERT_FILL, tuple(record[_FILL_RECORD]))
                    else:
                        db.execute(_INSERT_ORDER.replace("INSERT", "INSERT OR IGNORE", 1), _insert_params(record))
                        db.execute(_EVENT, (record[0], now, "recovered", "order row restored from the intent log"))
                except (sqlite3.Error, TypeError, IndexError, KeyError) as exc:  # not a record this version wrote
                    logger.error("order journal {}: intent log record {} not restored: {}", self.path, record, exc)
                    continue
                restored[kind] += 1
            db.execute("COMMIT")
            logger.warning("order journal {}: {} order rows, {} fills and {} history lines restored from the intent "
                           "log", self.path, restored["order"], restored["fill"], restored["event"])
        intent.reset()
        self._intent = intent
        for order_id, ref in db.execute("SELECT order_id, order_ref FROM orders"):
            self._ids.add(order_id)
            self._refs.add(ref)

    @property
    def closed(self) -> bool:
        return self._db is None

    def close(self) -> None:
        self._stop.set()
        self._flush_wanted.set()
        self._commit_now.set()
        self._committed.set()
        for thread in (self._writer, self._checkpointer):
            if thread is not None and thread is not threading.current_thread() and thread.is_alive():
                thread.join(5.0)
        with self._db_lock:
            db = self._db
            if db is None:
                return
            try:
                self._flush_locked(mark_alone=True)
            finally:  # what a failed flush leaves stays in the intent log for the next open
                with self._lock:
                    self._db = None
                    db.close()
                    if self._intent is not None:
                        self._intent.close()
                        self._intent = None

    def _exec(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """Commit the queued writes, then run one statement (its own transaction)."""
        with self._db_lock:
            db = self._db
            if db is None:
                return []
            self._flush_locked()
            return db.execute(sql, params).fetchall()

    def _write_loop(self) -> None:
        """Commit the queued writes in the next pause of the flow (:meth:`_wait_for_pause`; a fill
        without an intent log at once). The queue's lock is held only to take the queue, never
        during the commit: senders do not wait for the disk."""
        _lower_priority(self.writer_nice)
        while True:
            self._flush_wanted.wait()
            try:
                self._wait_for_pause()
                if self._stop.is_set():
                    return  # close() commits what is left
                self._commit_now.clear()
                self._flush_wanted.clear()
                with self._db_lock:
                    if self._db is None:
                        return
                    if self._flush_locked():
                        self.background_commits += 1
                        self._committed.set()  # in a pause of the flow: the checkpointer's turn
            except Exception:  # noqa: BLE001 - kept queued (the next write or close retries them); the writer goes on
                self.background_failures += 1
                logger.opt(exception=True).error("order journal {}: background commit failed", self.path)
                self._stop.wait(FAILURE_PAUSE)

    def _wait_for_pause(self) -> None:
        """Until the next pause of the flow (``intent_log.wait_for_pause``: ``BACKGROUND_DELAY``
        without a write, at most ``MAX_BACKGROUND_DELAY``, the intent log growing meanwhile), or
        a write that waits for its commit, or close."""
        wait_for_pause(lambda: self._queued, self._commit_now.wait, BACKGROUND_DELAY, MAX_BACKGROUND_DELAY,
                       self._intent, self._lock, f"order journal {self.path}")

    def _checkpoint_loop(self) -> None:
        """Copy the WAL into the database file (PASSIVE: it never blocks a writer) after a
        background commit, in a pause of the order flow, at most every ``CHECKPOINT_SECONDS``; on
        its own connection, so that commits never wait for a checkpoint's fsyncs."""
        _lower_priority(self.writer_nice)
        db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        try:
            db.execute("PRAGMA synchronous=NORMAL")
            last = -CHECKPOINT_SECONDS
            while True:
                self._committed.wait()
                self._committed.clear()
                if self._stop.wait(max(0.0, last + CHECKPOINT_SECONDS - time.monotonic())):
                    return
                if self._deferred:  # the flow has resumed meanwhile: after its next commit
                    continue
                try:
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except Exception:  # noqa: BLE001 - the next commit's checkpoint tries again
                    logger.opt(exception=True).warning("order journal {}: checkpoint failed", self.path)
                last = time.monotonic()
        finally:
            db.close()

    def _flush_locked(self, extra: list[tuple[str, tuple[Any, ...]]] | None = None, mark_alone: bool = False) -> bool:
        """One transaction (database lock held): the pending high-water mark, the queued writes
        and ``extra`` (nothing when there are neither queued writes nor ``extra``, unless
        ``mark_alone``: the mark alone waits for the next write). The queue is taken under the
        queue lock and committed without it. When the database refuses a statement (a
        constraint) or a write cannot be made at all (a bug: not a database error), the others
        are committed without it; on a database failure the taken writes go back to the front of
        the queue and the error is raised. Once every row in the intent log is committed, the log
        starts again from empty. True when there was something to commit."""
        with self._lock:
            if not (self._deferred or extra or (mark_alone and self._pending_high_water)):
                return False
            batch, self._deferred = self._deferred, []
            after, self._after_commit = self._after_commit, []
            mark, self._pending_high_water = self._pending_high_water, 0
            intent_rows = self._intent.written if self._intent is not None else 0
        statements = [(_SET_META, (HIGH_WATER_KEY, str(mark)))] if mark else []
        statements += batch
        if extra:
            statements += extra
        try:
            try:
                self._run(_grouped(_expand(statements)))
            except sqlite3.IntegrityError:
                self._run_each(statements)
            except sqlite3.Error:
                raise
            except Exception:  # noqa: BLE001 - not the database's: a write that cannot be made (a bug)
                logger.opt(exception=True).error("order journal {}: commit failed; its writes one by one", self.path)
                self._run_each(statements)
        except BaseException:
            with self._lock:
                self._deferred[:0] = batch
                self._after_commit[:0] = after
                self._pending_high_water = max(self._pending_high_water, mark)
            raise
        for then in after:
            try:
                then()
            except Exception:  # noqa: BLE001 - the journal must survive its caller's follow-up
                logger.opt(exception=True).error("order journal {}: after-commit action failed", self.path)
        if intent_rows:
            with self._lock:
                intent = self._intent
                if intent is not None and intent.written == intent_rows:  # none added meanwhile
                    intent.reset()
        return True

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One transaction on the database (database lock held): committed at the end, rolled
        back on any error."""
        db = self._db
        assert db is not None
        db.execute("BEGIN")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _run(self, groups: list[tuple[str, list[tuple[Any, ...]]]]) -> None:
        """Run statement groups in one transaction; the rows of a plain INSERT go in as one
        statement (up to ``_ROWS_PER_INSERT`` rows each). Each statement is one step that leaves
        the GIL for its whole run: a few long releases, in which the order path's threads get
        it, rather than one short release per row, which they would wake too late for (the
        writer takes it back first)."""
        with self._transaction() as db:
            for sql, rows in groups:
                if len(rows) == 1:
                    db.execute(sql, rows[0])
                elif sql in _MULTI_ROW:
                    for start in range(0, len(rows), _ROWS_PER_INSERT):
                        chunk = rows[start:start + _ROWS_PER_INSERT]
                        db.execute(_multi_row(sql, len(chunk)), list(itertools.chain.from_iterable(chunk)))
                else:
                    db.executemany(sql, rows)

    def _run_each(self, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
        """Run queued writes one by one in one transaction; a write the database refuses (a
        constraint) or that fails with an error not the database's (a bug) is left out whole (a
        new row with its history line), counted and logged."""
        with self._transaction() as db:
            for entry in statements:
                db.execute("SAVEPOINT one")
                try:
                    for sql, params in _expand([entry]):
                        db.execute(sql, params)
                except Exception as exc:  # noqa: BLE001 - refused, or a bug: that write alone is left out
                    if isinstance(exc, sqlite3.Error) and not isinstance(exc, sqlite3.IntegrityError):
                        raise  # the database's trouble, not this write's: all of them kept queued
                    db.execute("ROLLBACK TO one")
                    self.refused += 1
                    logger.error("order journal {}: left out {} {}: {!r}", self.path, entry[0].split("(")[0],
                                 entry[1], exc)
                db.execute("RELEASE one")

    # --- meta --------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        rows = self._exec("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def set_meta(self, key: str, value: str) -> None:
        self._exec(_SET_META, (key, value))

    def high_water(self) -> int:
        """The highest order id ever used: the persisted mark, or a journalled order above it."""
        value = self.get_meta(HIGH_WATER_KEY)
        top = self._exec("SELECT max(order_id) FROM orders")[0][0]
        with self._lock:
            pending = self._pending_high_water
        return max(int(value) if value else 0, int(top or 0), pending)

    def set_high_water(self, order_id: int) -> None:
        """Persist the order-id high-water mark now (its own commit)."""
        with self._lock:
            if self._pending_high_water <= order_id:
                self._pending_high_water = 0
        self.set_meta(HIGH_WATER_KEY, str(order_id))

    def defer_high_water(self, order_id: int) -> None:
        """Persist the high-water mark with the next write, in the same transaction: the order
        allocator's persister when every allocated id is journalled (:meth:`record_request`)
        before it is sent, so it is durable before IB sees it, without a commit of its own."""
        with self._lock:
            self._pending_high_water = max(self._pending_high_water, order_id)

    # --- orders ------------------------------------------------------------------------------
    def record_request(self, order_id: int, request: OrderRequest, client_id: int) -> None:
        """Write a new order with status ``sending`` (before it is sent to IB).

        The order row goes to the intent log (durable at once, no system call) and the writer
        thread commits it moments later, with its history line. Without an intent log (or when
        it is full, or a lower id's high-water mark is pending) the row is committed at once,
        with everything queued. Raises ``sqlite3.IntegrityError`` for an order id or orderRef
        already journalled."""
        at = time.time()
        r = request
        quantity = str(r.quantity)
        # str() of a StrEnum member is its value as a plain str, without enum's Python-level property
        params = (order_id, r.order_ref, client_id, r.account, r.contract.symbol, _contract_json(r.contract),
                  str(r.action), quantity, str(r.order_type), r.limit_price, r.stop_price, str(r.tif),
                  int(r.outside_rth), SENDING, quantity, extras_json(r.extras), at)
        with self._lock:
            if self._db is None:
                return
            self._check_new(order_id, r.order_ref)
            if self._pending_high_water <= order_id and self._to_intent_log(params):
                self._pending_high_water = 0  # the row in the intent log carries the mark
                self._ids.add(order_id)
                self._refs.add(r.order_ref)
                return
        with self._db_lock:
            if self._db is None:
                return
            with self._lock:
                self._check_new(order_id, r.order_ref)
            self._flush_locked([(_NEW_ORDER, params)])
            with self._lock:
                if self._intent is not None:
                    self._ids.add(order_id)
                    self._refs.add(r.order_ref)

    def _check_new(self, order_id: int, order_ref: str) -> None:
        if order_id in self._ids or order_ref in self._refs:
            raise sqlite3.IntegrityError(f"order {order_id} or orderRef {order_ref!r} is already journalled")

    def _to_intent_log(self, params: tuple[Any, ...]) -> bool:
        """Put a new order row in the intent log and queue its INSERT (lock held); False when
        there is no intent log or the row does not go in (full; not JSON: a non-finite price)."""
        intent = self._intent
        if intent is None:
            return False
        try:
            if not intent.append(_row_json(params)):
                self._flush_wanted.set()  # full: the writer empties it soon; this row is committed directly
                return False
        except ValueError:
            return False
        self._defer((_NEW_ORDER, params))  # durable in the intent log: the writer is woken
        return True  # by mark_sent, after the send (or by the next write), not before it

    def mark_sent(self, order_id: int) -> None:
        """The order left for IB: ``sending`` becomes ``PendingSubmit`` when the writer thread
        commits moments later, with the order's new row (a crash before it leaves ``sending``,
        and the order is looked up by orderRef as for any order whose send may not have completed)."""
        with self._lock:
            if self._db is None:
                return
            self._defer((_ORDER_SENT, (order_id, time.time())))
        self._want_flush()  # the writer commits the new row and this mark moments later

    def record_order(self, order: Order, kind: str = "status", defer: bool = False, background: bool = False) -> None:
        """Update an order's current state (and request, after a modify) and log the change; with
        ``defer`` the change is committed with the next write (any read or close flushes it), with
        ``background`` by the writer thread moments later (or by an earlier write). The SQL is made
        when the change is committed (``Order`` is immutable); a later change of the same order
        in the same commit supersedes its row update (its history line stays)."""
        change = (_ORDER_CHANGE, (order, kind, time.time()))
        if defer or background:
            with self._lock:
                if self._db is None:
                    return
                self._defer(change)
            if background:
                self._want_flush()
            return
        with self._db_lock:
            if self._db is not None:
                self._flush_locked([change])

    def event(self, order_id: int, kind: str, detail: str = "", durable: bool = False) -> None:
        """Add a line to an order's history (committed by the writer thread). With ``durable`` the
        line survives a crash once this returns: in the intent log (a copy into memory, no system
        call), else (no intent log, or full) committed on the caller's thread."""
        params = (order_id, _now(), kind, detail)
        if not durable:
            self._queue(_EVENT, params)
            return
        with self._lock:
            if self._db is None:
                return
            logged = self._intent is not None and self._intent.append(_event_json(params))
            if logged:
                self._defer((_EVENT, params))
        if logged:
            self._want_flush()
            return
        with self._db_lock:
            if self._db is not None:
                self._flush_locked([(_EVENT, params)])

    def group_marks(self) -> list[tuple[int, str]]:
        """The first members of brackets and OCA groups (``group`` history lines, written durably
        before the member was sent) with their marks (``bracket 3``, ``oca 4``), by order id."""
        return [(row[0], row[1]) for row in self._exec(
            "SELECT order_id, detail FROM order_events WHERE kind = ? ORDER BY order_id", (GROUP_EVENT,))]

    def cancel_requested(self) -> set[int]:
        """The orders a cancel was requested for (``cancel`` history lines: their owner's, or the
        adapter's withdrawal of an incomplete group), in this process or an earlier one."""
        return {row[0] for row in self._exec("SELECT DISTINCT order_id FROM order_events WHERE kind = 'cancel'")}

    def record_fill(self, fill: Fill, ib_time: str = "", then: Callable[[], None] | None = None) -> None:
        """Make one execution's row (keyed by its id without the correction suffix) durable, then
        run ``then``. The row goes to the intent log (a copy into memory: durable at once, no system
        call) and ``then`` runs at once on the caller's thread; the writer commits the row to SQLite
        in the next pause of the flow. Without an intent log (or when the row does not go in) the
        writer commits it at once and runs ``then`` after that commit; when the journal is closed
        ``then`` runs at once."""
        row = (fill.exec_key, fill.exec_id, fill.order_id, fill.perm_id, fill.symbol, fill.side, str(fill.quantity),
               fill.price, fill.time.isoformat(), ib_time, fill.exchange, fill.commission, fill.commission_currency,
               fill.realized_pnl, 0)
        with self._lock:
            logged = self._db is not None and self._intent is not None and self._intent.append(_fill_json(row))
            if logged:
                self._defer((_UPSERT_FILL, row))
        if logged:
            self._want_flush()
        elif self._queue(_UPSERT_FILL, row, then=then, at_once=True):
            return
        if then is not None:
            then()

    def mark_notified(self, exec_key: str) -> None:
        """The fill's callbacks have returned: mark it delivered (committed by the writer thread)."""
        self._queue(_FILL_NOTIFIED, (exec_key,))

    def _queue(self, sql: str, params: tuple[Any, ...], then: Callable[[], None] | None = None,
               at_once: bool = False) -> bool:
        """Queue one write for the writer thread (``at_once``: without gathering), with ``then`` to
        run after its commit; False when the journal is closed (nothing queued)."""
        with self._lock:
            if self._db is None:
                return False
            self._defer((sql, params))
            if then is not None:
                self._after_commit.append(then)
        self._want_flush()
        if at_once:
            self._commit_now.set()
        return True

    def _defer(self, write: tuple[str, tuple[Any, ...]]) -> None:
        """Queue one write for the writer and count it (queue lock held): the writer waits for a
        pause in the count."""
        self._deferred.append(write)
        self._queued += 1

    def _want_flush(self) -> None:
        """Wake the writer for what was just queued. Skipped while the flag is still set (the
        writer is gathering): it clears the flag before it takes the queue, so an item queued
        before this check is in the commit that follows, and one queued after it sets the flag."""
        if not self._flush_wanted.is_set():
            self._flush_wanted.set()

    # --- loading -----------------------------------------------------------------------------
    def load_orders(self) -> list[JournalOrder]:
        rows = self._exec(
            "SELECT order_id, order_ref, perm_id, client_id, account, contract, action, quantity, order_type,"
            " limit_price, stop_price, tif, outside_rth, status, filled, remaining, avg_fill_price, last_fill_price,"
            " reject_reason, created_at, updated_at, extras FROM orders ORDER BY order_id")
        out = []
        for (oid, ref, perm, cid, account, contract, action, qty, otype, lmt, stp, tif, rth, status, filled,
             remaining, avg, last, reason, created, updated, extras) in rows:
            request = OrderRequest(_contract_from_json(contract), OrderAction(action), Decimal(qty),
                                   OrderType(otype), lmt, stp, TimeInForce(tif), bool(rth), account, ref,
                                   extras_from_json(extras))
            sending = status == SENDING
            state = OrderState.PENDING_SUBMIT if sending else OrderState(status)
            st = OrderStatus(oid, state, Decimal(filled), Decimal(remaining), avg, last, perm, (), reason,
                             datetime.fromisoformat(created), datetime.fromisoformat(updated))
            out.append(JournalOrder(Order(oid, request, st, perm, cid), sending))
        return out

    def load_fills(self) -> list[JournalFill]:
        rows = self._exec(
            "SELECT exec_id, order_id, perm_id, symbol, side, quantity, price, time, ib_time, exchange, commission,"
            " commission_currency, realized_pnl, notified FROM fills ORDER BY time")
        return [JournalFill(Fill(eid, oid, sym, side, Decimal(qty), price, datetime.fromisoformat(t), perm, exch,
                                 comm, ccy, pnl), ib_time, bool(notified))
                for (eid, oid, perm, sym, side, qty, price, t, ib_time, exch, comm, ccy, pnl, notified) in rows]

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """Run a read-only query (tests and inspection)."""
        return self._exec(sql, params)


def _expand(statements: list[tuple[str, tuple[Any, ...]]]) -> list[tuple[str, tuple[Any, ...]]]:
    """Queued order rows and changes turned into SQL: each new row with its history line; the
    row update of the last change of each order, and a history line for every change; a queued
    "sent" mark: the row leaves ``sending`` (only if nothing later has changed it: an update
    that ran first leaves it alone; a later change in the same commit makes it unneeded). A row
    new in this commit is inserted as it ends the commit (its last change, else ``PendingSubmit``
    when it was sent), with no update of its own."""
    last: dict[int, int] = {}
    new: set[int] = set()
    sent: dict[int, float] = {}  # order id (new in this commit) -> when it was sent
    lazy = False
    for i, (sql, params) in enumerate(statements):
        if sql is _ORDER_CHANGE:
            last[params[0].order_id] = i
            lazy = True
        elif sql is _NEW_ORDER:
            new.add(params[0])
            lazy = True
        elif sql is _ORDER_SENT:
            if params[0] in new:
                sent[params[0]] = params[1]
            lazy = True
    if not lazy:
        return statements
    out: list[tuple[str, tuple[Any, ...]]] = []
    folded: dict[int, str] = {}  # index of a change folded into its row's INSERT -> its time's text
    for i, (sql, params) in enumerate(statements):
        if sql is _NEW_ORDER:
            out += _new_row(params, statements, last.get(params[0], -1), sent.get(params[0]), folded)
            continue
        if sql is _ORDER_SENT:
            order_id, at = params
            now = _iso(at)
            if last.get(order_id, -1) < i and order_id not in sent:  # a later change writes the whole row anyway
                out.append((_SENT, (now, order_id)))
            out.append((_EVENT, (order_id, now, "sent", "")))
            continue
        if sql is not _ORDER_CHANGE:
            out.append((sql, params))
            continue
        order, kind, at = params
        s, r = order.status, order.request
        now = folded.pop(i, "") or _iso(at)
        if last[order.order_id] == i and order.order_id not in new:
            out.append((_UPDATE_ORDER, (
                order.perm_id, s.status.value, str(s.filled), str(s.remaining), s.avg_fill_price, s.last_fill_price,
                s.reject_reason, str(r.quantity), r.order_type.value, r.limit_price, r.stop_price, r.tif.value,
                extras_json(r.extras), now, order.order_id)))
        out.append((_EVENT, (order.order_id, now, kind, f"{s.status.value} filled={s.filled} remaining={s.remaining}"
                             + (f" reason={s.reject_reason}" if s.reject_reason else ""))))
    return out


def _new_row(params: tuple[Any, ...], statements: list[tuple[str, tuple[Any, ...]]], change: int,
             sent_at: float | None, folded: dict[int, str]) -> list[tuple[str, tuple[Any, ...]]]:
    """A queued new row's INSERT (``_INSERT_STATE``) and its "request" history line. The row has
    the state it has at the end of its commit: that of its last change (``statements[change]``,
    when ``change`` >= 0; its time's text is left in ``folded`` for the change's history line),
    else ``PendingSubmit`` when it was sent (at ``sent_at``), else ``sending``; no fills yet."""
    if len(params) == _ROW_WITHOUT_EXTRAS:
        params = (*params[:-1], "", params[-1])
    created = _iso(params[-1])
    if change >= 0:
        order, _, at = statements[change][1]
        s, r = order.status, order.request
        updated = folded[change] = _iso(at)
        row = (*params[:7], str(r.quantity), r.order_type.value, r.limit_price, r.stop_price, r.tif.value, params[12],
               s.status.value, str(s.remaining), extras_json(r.extras), created, updated,
               order.perm_id, str(s.filled), s.avg_fill_price, s.last_fill_price, s.reject_reason)
    elif sent_at is not None:
        row = (*params[:13], _PENDING_SUBMIT, *params[14:16], created, _iso(sent_at), 0, "0", 0.0, 0.0, "")
    else:
        row = (*params[:16], created, created, 0, "0", 0.0, 0.0, "")
    detail = f"{params[6]} {params[7]} {params[4]} {params[8]}"  # action quantity symbol order type
    return [(_INSERT_STATE, row), (_EVENT, (params[0], created, "request", detail))]


_MULTI_ROW = frozenset({_INSERT_STATE, _EVENT})  # plain INSERTs: several rows per statement
_ROWS_PER_INSERT = 32  # 32 x 23 parameters stay below SQLite's oldest limit of 999 per statement


@functools.lru_cache(maxsize=2 * _ROWS_PER_INSERT)
def _multi_row(sql: str, rows: int) -> str:
    """A plain ``INSERT ... VALUES(?, ...)`` for ``rows`` rows."""
    head, _, values = sql.rpartition(" VALUES")
    return f"{head} VALUES{','.join([values] * rows)}"


def _row_json(params: tuple[Any, ...]) -> bytes:
    """A queued order row (:meth:`OrderJournal.record_request`) as the JSON array ``json.dumps``
    would make of it, in a third of its time (the sender's thread writes one per order): its
    texts escaped by ``json``'s own function, the contract's once per contract. ValueError for
    a non-finite price, as ``json.dumps(..., allow_nan=False)``."""
    (order_id, ref, client_id, account, symbol, contract, action, quantity, order_type, limit, stop, tif, rth,
     status, remaining, extras, at) = params
    return (f"[{order_id:d},{_json_text(ref)},{client_id:d},{_json_text(account)},{_json_text(symbol)},"
            f"{_json_contract(contract)},{_json_text(action)},{_json_text(quantity)},{_json_text(order_type)},"
            f"{_json_number(limit)},{_json_number(stop)},{_json_text(tif)},{rth:d},{_json_text(status)},"
            f"{_json_text(remaining)},{_json_text(extras)},{float.__repr__(at)}]").encode()  # at: time.time()


_FILL_RECORD = "fill"  # an intent-log record {"fill": [the fills row]}; an order row is a plain array


def _fill_json(row: tuple[Any, ...]) -> bytes:
    """A fill's row as its intent-log record."""
    return json.dumps({_FILL_RECORD: row}, separators=(",", ":")).encode()


_EVENT_RECORD = "event"  # an intent-log record {"event": [order_id, at, kind, detail]}: a durable history line


def _event_json(params: tuple[Any, ...]) -> bytes:
    """A history line as its intent-log record."""
    return json.dumps({_EVENT_RECORD: params}, separators=(",", ":")).encode()


_json_text = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]
_json_contract = functools.lru_cache(maxsize=1024)(_json_text)


def _json_number(value: float | None) -> str:
    if value is None:
        return "null"
    if not math.isfinite(value):
        raise ValueError(f"{value} is not JSON")
    return float.__repr__(float(value))


def _insert_params(params: Any) -> tuple[Any, ...]:
    """The INSERT's parameters from a queued (or intent-log) order row: its time as created_at and
    updated_at (a row of an earlier version, without extras, gets none)."""
    now = _iso(params[-1])
    if len(params) == _ROW_WITHOUT_EXTRAS:
        return (*params[:-1], "", now, now)
    return (*params[:-1], now, now)


def _add_missing_columns(db: sqlite3.Connection) -> None:
    """Add the columns a journal written by an earlier version lacks."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(orders)")}
    if "extras" not in columns:
        db.execute("ALTER TABLE orders ADD COLUMN extras TEXT NOT NULL DEFAULT ''")


@functools.lru_cache(maxsize=1024)
def extras_json(extras: OrderExtras | None) -> str:
    """An order's advanced fields as JSON (empty for a plain order)."""
    if extras is None:
        return ""
    data = {k: v for k, v in dataclasses.asdict(extras).items() if v is not None and v != ""}
    return json.dumps(data, sort_keys=True)


def extras_from_json(text: str) -> OrderExtras | None:
    if not text:
        return None
    data = json.loads(text)
    if "oca_type" in data:
        data["oca_type"] = OcaType(data["oca_type"])
    return OrderExtras(**data)


def _grouped(statements: list[tuple[str, tuple[Any, ...]]]) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """The statements of one transaction as one ``executemany`` per distinct statement: new order
    rows first, then the others in the order each first appears; rows of a statement keep their
    order. The result is the same as running them one by one: an order's row is inserted before
    any update of it, at most one row update per order is left (:func:`_expand`), and the other
    statements each touch their own table."""
    if len(statements) <= 2:
        return [(sql, [params]) for sql, params in statements]
    groups: dict[str, list[tuple[Any, ...]]] = {}
    for sql, params in statements:
        groups.setdefault(sql, []).append(params)
    return sorted(groups.items(), key=lambda group: group[0] is not _INSERT_STATE)


@functools.lru_cache(maxsize=1024)
def _contract_json(spec: ContractSpec) -> str:
    data = dataclasses.asdict(spec)
    data["sec_type"] = spec.sec_type.value
    return json.dumps(data, sort_keys=True)


def _contract_from_json(text: str) -> ContractSpec:
    data = json.loads(text)
    data["sec_type"] = SecType(data["sec_type"])
    return ContractSpec(**data)
