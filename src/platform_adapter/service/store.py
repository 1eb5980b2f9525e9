"""The service's own journal (SQLite, WAL): which client owns which order, and each client's
numbered order events, kept until the client acknowledges them.

A write (an owner, a numbered event, an acknowledgement) is made durable before the event is
sent by a copy into the store's intent log (``<store>.intent``, the order journal's
:class:`~platform_adapter.adapters.orders.intent_log.IntentLog`: a memory mapping, in the OS at
once, so it survives the process being killed, like a commit with ``synchronous=NORMAL``; no
system call on the event thread). A writer thread commits the queued writes to SQLite in the
next pause of the flow (``COMMIT_PAUSE`` without a write, at most ``MAX_COMMIT_DELAY`` after the
first), in one transaction, and then empties the log. A store opened after a kill first moves
what the log holds into SQLite; replaying a write SQLite already has changes nothing (events and
fills are inserted once, owners replaced, an acknowledgement never goes backwards), so every
numbered event is there exactly once.

An order's final status (its state and filled quantity) is recorded once per client too: the
adapter of a service restarted after a kill may report it again (its journal commits statuses in
the background, and the reconciliation finds the order final at IB), and it is not numbered again.

Numbers, acknowledgements and the fills already numbered are kept in memory (loaded at open), so
a write never waits for SQLite; a read of SQLite (:meth:`ServiceStore.after`,
:meth:`ServiceStore.owners`) first commits what is queued. Without an intent log (``":memory:"``,
or the file owned by another open store) every write is committed before it returns. Fills are
recorded by execution id once per client, so a fill the adapter redelivers after a restart is
not numbered twice.
"""

from __future__ import annotations

import base64
import itertools
import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from platform_adapter.adapters.orders.intent_log import IntentLog, IntentLogBusy, grow, wait_for_pause
from platform_adapter.log import logger

SCHEMA = """
CREATE TABLE IF NOT EXISTS owners (order_id INTEGER PRIMARY KEY, client TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS clients (name TEXT PRIMARY KEY, last_seq INTEGER NOT NULL, acked INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    client TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, body BLOB NOT NULL,
    sent INTEGER NOT NULL, PRIMARY KEY (client, seq));
CREATE TABLE IF NOT EXISTS fills (client TEXT NOT NULL, exec_id TEXT NOT NULL, PRIMARY KEY (client, exec_id));
CREATE TABLE IF NOT EXISTS finals (client TEXT NOT NULL, order_id INTEGER NOT NULL, state TEXT NOT NULL,
    PRIMARY KEY (client, order_id));
"""

COMMIT_PAUSE = 0.005  # the writer commits once no write has come for this many seconds
MAX_COMMIT_DELAY = 10.0  # ... or this long after the first write of a flow that never pauses
FAILURE_PAUSE = 0.1  # the writer's pause after a failed background commit (a failure that repeats)

# queued writes (and intent-log records, as JSON arrays): their first item names the kind
_OWNER = "o"  # (_OWNER, order_id, client)
_EVENT = "e"  # (_EVENT, client, seq, kind, body, sent, exec_id or None)
_ACK = "a"  # (_ACK, client, seq)
_FINAL = "f"  # (_FINAL, client, order_id, state)
_SQL = {
    _OWNER: "INSERT OR REPLACE INTO owners VALUES (?, ?)",
    _FINAL: "INSERT OR REPLACE INTO finals VALUES (?, ?, ?)",
    _EVENT: "INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?, ?)",
}
_FILL = "INSERT OR IGNORE INTO fills VALUES (?, ?)"
_LAST_SEQ = ("INSERT INTO clients VALUES (?, ?, 0) ON CONFLICT(name) DO UPDATE SET"
             " last_seq = max(last_seq, excluded.last_seq)")
_ACKED = "UPDATE clients SET acked = ? WHERE name = ? AND acked < ?"
_FORGET = "DELETE FROM events WHERE client = ? AND seq <= ?"
_json_text = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One numbered event of a client; ``sent`` when a session was attached as it was recorded
    (so it may have reached the client already)."""

    seq: int
    kind: str
    body: bytes
    sent: bool


class ServiceStore:
    """Thread-safe; ``path`` ``":memory:"`` for tests. ``commit_pause`` and ``max_commit_delay``:
    when the writer thread commits (see the module)."""

    def __init__(self, path: str | Path, commit_pause: float = COMMIT_PAUSE,
                 max_commit_delay: float = MAX_COMMIT_DELAY) -> None:
        memory = str(path) == ":memory:"
        if not memory:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = str(path)
        self.commit_pause = commit_pause
        self.max_commit_delay = max_commit_delay
        self._lock = threading.Lock()  # the numbers in memory, the queue, the intent log
        self._db_lock = threading.Lock()  # SQLite (taken before ``_lock`` when both are held)
        self._db: sqlite3.Connection | None = sqlite3.connect(self.path, isolation_level=None,
                                                              check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._queue: list[tuple[Any, ...]] = []  # writes not yet in SQLite, in order
        self._queued = 0  # writes queued so far (the writer waits for a pause in them)
        self._intent = None if memory else self._open_intent_log()
        self._last: dict[str, int] = {}
        self._acked: dict[str, int] = {}
        for name, last, acked in self._db.execute("SELECT name, last_seq, acked FROM clients"):
            self._last[name], self._acked[name] = last, acked
        self._fills = set(self._db.execute("SELECT client, exec_id FROM fills").fetchall())
        self._finals: dict[tuple[str, int], str] = {
            (c, o): state for c, o, state in self._db.execute("SELECT client, order_id, state FROM finals")}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.background_failures = 0
        self._writer = threading.Thread(target=self._write_loop, name="pa-service-store", daemon=True)
        self._writer.start()

    def _open_intent_log(self) -> IntentLog | None:
        """Own the intent log and move the writes a kill left in it into SQLite."""
        assert self._db is not None
        try:
            intent = IntentLog(self.path + ".intent")
        except IntentLogBusy:
            logger.warning("service store {}: open elsewhere; every write is committed directly", self.path)
            return None
        except OSError as exc:
            logger.warning("service store {}: no intent log ({}); every write is committed directly", self.path, exc)
            return None
        records = [_from_json(record) for record in intent.records()]
        if records:
            self._commit(records)
            self._db.execute("DELETE FROM events WHERE seq <= (SELECT acked FROM clients WHERE name = client)")
            logger.warning("service store {}: {} writes restored from the intent log", self.path, len(records))
        intent.reset()
        return intent

    def close(self) -> None:
        """Commit what is queued, stop the writer, close the files (what a failed commit leaves
        stays in the intent log for the next open)."""
        self._stop.set()
        self._wake.set()
        if self._writer is not threading.current_thread():
            self._writer.join(5.0)
        with self._db_lock:
            if self._db is None:
                return
            try:
                self._flush_locked()
            finally:
                with self._lock:
                    self._db.close()
                    self._db = None
                    if self._intent is not None:
                        self._intent.close()
                        self._intent = None

    # --- ownership -------------------------------------------------------------------------------
    def owners(self) -> dict[int, str]:
        return dict(self._read("SELECT order_id, client FROM owners"))

    def set_owner(self, order_id: int, client: str) -> None:
        with self._lock:
            logged = self._record((_OWNER, order_id, client))
        if not logged:
            self.flush()

    # --- numbered events -----------------------------------------------------------------------------
    def append(self, client: str, kind: str, body: bytes, sent: bool, exec_id: str | None = None,
               final: tuple[int, str] | None = None) -> int | None:
        """Number and record one event; ``None`` when ``exec_id`` was recorded for ``client``
        before, or ``final`` (an order id and its final status: state and filled quantity) is
        the status recorded as that order's final one before."""
        with self._lock:
            if exec_id is not None:
                if (client, exec_id) in self._fills:
                    return None
                self._fills.add((client, exec_id))
            if final is not None:
                if self._finals.get((client, final[0])) == final[1]:
                    return None
                self._finals[(client, final[0])] = final[1]
            seq = self._last.get(client, 0) + 1
            self._last[client] = seq
            logged = self._record((_EVENT, client, seq, kind, body, sent, exec_id))
            if final is not None:
                logged = self._record((_FINAL, client, *final)) and logged
        if not logged:
            self.flush()
        return seq

    def after(self, client: str, seq: int) -> list[StoredEvent]:
        """The client's events numbered above ``seq``, in order."""
        rows = self._read("SELECT seq, kind, body, sent FROM events WHERE client = ? AND seq > ? ORDER BY seq",
                          (client, seq))
        return [StoredEvent(s, k, b, bool(x)) for s, k, b, x in rows]

    def last_seq(self, client: str) -> int:
        with self._lock:
            return self._last.get(client, 0)

    def acked(self, client: str) -> int:
        with self._lock:
            return self._acked.get(client, 0)

    def ack(self, client: str, seq: int) -> bool:
        """The client has handled every event up to ``seq``: forget them (never backwards, never
        past what was numbered: False then)."""
        with self._lock:
            if not self._acked.get(client, 0) < seq <= self._last.get(client, 0):
                return False
            self._acked[client] = seq
            logged = self._record((_ACK, client, seq))
        if not logged:
            self.flush()
        return True

    # --- the queue and the writer -------------------------------------------------------------------
    def _record(self, write: tuple[Any, ...]) -> bool:
        """Queue one write (lock held), durable in the intent log; False when it is not in the log
        (none, or full and at its largest): the caller commits it with :meth:`flush`."""
        self._queue.append(write)
        self._queued += 1
        intent = self._intent
        if intent is None:
            return False
        payload = _to_json(write)
        if not intent.append(payload) and not (grow(intent, None, f"service store {self.path}")
                                               and intent.append(payload)):
            return False
        if not self._wake.is_set():
            self._wake.set()
        return True

    def flush(self) -> None:
        """Commit the queued writes now."""
        with self._db_lock:
            if self._db is not None:
                self._flush_locked()

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """Commit the queued writes, then run one query."""
        with self._db_lock:
            if self._db is None:
                return []
            self._flush_locked()
            return self._db.execute(sql, params).fetchall()

    def _flush_locked(self) -> None:
        """One transaction of the queued writes (database lock held; the queue taken under the
        queue lock and committed without it); once every write in the intent log is committed,
        the log starts again from empty. A write that cannot be committed for a reason not the
        database's (a bug) is left out and logged (:meth:`_commit_each`). On a database failure
        the writes go back to the front of the queue."""
        with self._lock:
            batch, self._queue = self._queue, []
            logged = self._intent.written if self._intent is not None else 0
        if not batch:
            return
        try:
            try:
                self._commit(batch)
            except sqlite3.Error:
                raise
            except Exception:  # noqa: BLE001 - not the database's: a write that cannot be made (a bug)
                logger.opt(exception=True).error("service store {}: commit failed; its writes one by one", self.path)
                self._commit_each(batch)
        except BaseException:
            with self._lock:
                self._queue[:0] = batch
            raise
        if logged:
            with self._lock:
                if self._intent is not None and self._intent.written == logged:  # none added meanwhile
                    self._intent.reset()

    def _commit(self, writes: list[tuple[Any, ...]]) -> None:
        """Apply writes in one transaction, in order (each run of one kind as one ``executemany``)."""
        db = self._db
        assert db is not None
        db.execute("BEGIN")
        try:
            for kind, group in itertools.groupby(writes, key=lambda w: w[0]):
                rows = [w[1:] for w in group]
                if kind == _EVENT:
                    db.executemany(_SQL[_EVENT], [(c, s, k, b, int(x)) for c, s, k, b, x, _ in rows])
                    db.executemany(_FILL, [(c, e) for c, _, _, _, _, e in rows if e is not None])
                    top: dict[str, int] = {}
                    for client, seq, *_ in rows:
                        top[client] = max(top.get(client, 0), seq)
                    db.executemany(_LAST_SEQ, list(top.items()))
                elif kind == _ACK:
                    for client, seq in rows:
                        db.execute(_ACKED, (seq, client, seq))
                        db.execute(_FORGET, (client, seq))
                else:
                    db.executemany(_SQL[kind], rows)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _commit_each(self, writes: list[tuple[Any, ...]]) -> None:
        """Commit writes one at a time; one that fails with an error not the database's is left
        out and logged. A database error is raised (committing the same writes again changes
        nothing: see the module)."""
        for write in writes:
            try:
                self._commit([write])
            except sqlite3.Error:
                raise
            except Exception:  # noqa: BLE001 - a bug in this write must not block the others
                logger.opt(exception=True).error("service store {}: left out {!r}", self.path, write)

    def _write_loop(self) -> None:
        """Commit the queued writes in a pause of the flow (see the module)."""
        while True:
            self._wake.wait()
            try:
                self._wait_for_pause()
                if self._stop.is_set():
                    return  # close() commits what is left
                self._wake.clear()
                self.flush()
            except Exception:  # noqa: BLE001 - kept queued (the next read, commit or close retries them); goes on
                self.background_failures += 1
                logger.opt(exception=True).error("service store {}: background commit failed", self.path)
                self._stop.wait(FAILURE_PAUSE)

    def _wait_for_pause(self) -> None:
        """Until the next pause of the flow (``intent_log.wait_for_pause``: ``commit_pause``
        without a write, at most ``max_commit_delay``, the intent log growing meanwhile), or close."""
        wait_for_pause(lambda: self._queued, self._stop.wait, self.commit_pause, self.max_commit_delay,
                       self._intent, self._lock, f"service store {self.path}")

def _to_json(write: tuple[Any, ...]) -> bytes:
    """A queued write as its intent-log record (an event's body in base64)."""
    if write[0] == _EVENT:
        _, client, seq, kind, body, sent, exec_id = write
        return (f'["e",{_json_text(client)},{seq:d},{_json_text(kind)},"{base64.b64encode(body).decode()}",'
                f'{int(sent):d},{"null" if exec_id is None else _json_text(exec_id)}]').encode()
    return json.dumps(write, separators=(",", ":")).encode()


def _from_json(record: list[Any]) -> tuple[Any, ...]:
    if record[0] == _EVENT:
        return (_EVENT, record[1], record[2], record[3], base64.b64decode(record[4]), bool(record[5]), record[6])
    return tuple(record)
