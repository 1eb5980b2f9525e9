"""Client sessions: a ``hello`` with a client name opens one (a random token the client sends
with every later command); heartbeats keep it; one that stays silent past the timeout ends.

A name belongs to one live client at a time: a second process using it is refused
(``name_in_use``) until the first one's session ends, unless it is the same client instance
coming back (after it lost the service for a moment), which takes the session over.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from dataclasses import dataclass, field

from platform_adapter.errors import ValidationError
from platform_adapter.service.protocol import ErrorCode, ProtocolError

NAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


@dataclass
class Session:
    """One connected client."""

    token: str
    name: str
    instance: str
    last_seen: float
    resume_from: int = 0  # replay order events numbered above this at attach
    fresh: bool = True  # a new process under this name (replayed fills may be duplicates)
    account_updates: bool = False
    decimal_ext: bool = False  # the client reads Decimals as their extension (its hello said so)
    acked: int = 0
    opened: float = field(default_factory=time.monotonic)


class SessionTable:
    """Live sessions by token and by name (thread-safe)."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._lock = threading.Lock()
        self._by_token: dict[str, Session] = {}
        self._by_name: dict[str, Session] = {}

    def open(self, name: object, instance: object) -> tuple[Session, Session | None]:
        """A new session for ``name``; returns it and the session it replaces (same instance or
        one that timed out). ValidationError for a bad name, ProtocolError(name_in_use) when a
        live other client holds it."""
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise ValidationError("name", name, "must be 1-64 letters, digits, '_', '.' or '-'")
        inst = instance if isinstance(instance, str) else ""
        now = time.monotonic()
        with self._lock:
            old = self._by_name.get(name)
            if old is not None and old.instance != inst and now - old.last_seen < self.timeout:
                raise ProtocolError(ErrorCode.NAME_IN_USE, f"client {name!r} is connected (another process); "
                                                           f"it is released {self.timeout:g}s after it stops")
            session = Session(secrets.token_hex(16), name, inst, now)
            if old is not None:
                del self._by_token[old.token]
            self._by_token[session.token] = session
            self._by_name[name] = session
        return session, old

    def get(self, token: object) -> Session:
        """The live session of ``token`` (its last-seen time refreshed); ProtocolError otherwise."""
        with self._lock:
            session = self._by_token.get(token) if isinstance(token, str) else None
            if session is None:
                raise ProtocolError(ErrorCode.NOT_IDENTIFIED, "no session for this token: send hello first")
            session.last_seen = time.monotonic()
            return session

    def peek(self, token: str) -> Session | None:
        with self._lock:
            return self._by_token.get(token)

    def close(self, token: str) -> Session | None:
        with self._lock:
            session = self._by_token.pop(token, None)
            if session is not None and self._by_name.get(session.name) is session:
                del self._by_name[session.name]
            return session

    def expired(self) -> list[Session]:
        """Sessions silent for longer than the timeout (still in the table)."""
        limit = time.monotonic() - self.timeout
        with self._lock:
            return [s for s in self._by_token.values() if s.last_seen < limit]

    def all(self) -> list[Session]:
        with self._lock:
            return list(self._by_token.values())
