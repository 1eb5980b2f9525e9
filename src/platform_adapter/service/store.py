"""The service's own journal (SQLite, WAL): which client owns which order, and each client's
numbered order events, kept until the client acknowledges them.

Every write is its own transaction, committed before the event is sent: a service killed at any
point restarts with every event it ever sent (WAL survives a killed process; ``synchronous=NORMAL``
trades only an OS crash for speed). Fills are recorded by execution id once per client, so a fill
the adapter redelivers after a restart is not numbered twice.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS owners (order_id INTEGER PRIMARY KEY, client TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS clients (name TEXT PRIMARY KEY, last_seq INTEGER NOT NULL, acked INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    client TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, body BLOB NOT NULL,
    sent INTEGER NOT NULL, PRIMARY KEY (client, seq));
CREATE TABLE IF NOT EXISTS fills (client TEXT NOT NULL, exec_id TEXT NOT NULL, PRIMARY KEY (client, exec_id));
"""


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One numbered event of a client; ``sent`` when a session was attached as it was recorded
    (so it may have reached the client already)."""

    seq: int
    kind: str
    body: bytes
    sent: bool


class ServiceStore:
    """Thread-safe (one lock); ``path`` ``":memory:"`` for tests."""

    def __init__(self, path: str | Path) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = str(path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- ownership -------------------------------------------------------------------------------
    def owners(self) -> dict[int, str]:
        with self._lock:
            return dict(self._db.execute("SELECT order_id, client FROM owners").fetchall())

    def set_owner(self, order_id: int, client: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO owners VALUES (?, ?)", (order_id, client))

    # --- numbered events -----------------------------------------------------------------------------
    def append(self, client: str, kind: str, body: bytes, sent: bool, exec_id: str | None = None) -> int | None:
        """Number and record one event; ``None`` when ``exec_id`` was recorded for ``client`` before."""
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            if exec_id is not None:
                cur = self._db.execute("INSERT OR IGNORE INTO fills VALUES (?, ?)", (client, exec_id))
                if cur.rowcount == 0:
                    return None
            seq = self._last_seq(client) + 1
            self._db.execute("INSERT INTO clients VALUES (?, ?, 0) ON CONFLICT(name) DO UPDATE SET last_seq = ?",
                             (client, seq, seq))
            self._db.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?)", (client, seq, kind, body, int(sent)))
            return seq

    def after(self, client: str, seq: int) -> list[StoredEvent]:
        """The client's events numbered above ``seq``, in order."""
        with self._lock:
            rows = self._db.execute("SELECT seq, kind, body, sent FROM events WHERE client = ? AND seq > ? "
                                    "ORDER BY seq", (client, seq)).fetchall()
        return [StoredEvent(s, k, b, bool(x)) for s, k, b, x in rows]

    def last_seq(self, client: str) -> int:
        with self._lock:
            return self._last_seq(client)

    def _last_seq(self, client: str) -> int:
        row = self._db.execute("SELECT last_seq FROM clients WHERE name = ?", (client,)).fetchone()
        return int(row[0]) if row else 0

    def acked(self, client: str) -> int:
        with self._lock:
            row = self._db.execute("SELECT acked FROM clients WHERE name = ?", (client,)).fetchone()
        return int(row[0]) if row else 0

    def ack(self, client: str, seq: int) -> None:
        """The client has handled every event up to ``seq``: forget them."""
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            cur = self._db.execute("UPDATE clients SET acked = ? WHERE name = ? AND acked < ? AND last_seq >= ?",
                                   (seq, client, seq, seq))
            if cur.rowcount:
                self._db.execute("DELETE FROM events WHERE client = ? AND seq <= ?", (client, seq))
