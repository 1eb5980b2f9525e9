"""Fault injection state shared by the gateway and its sessions."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

SYSTEM_TEXTS: dict[int, str] = {
    1100: "Connectivity between IB and Trader Workstation has been lost.",
    1101: "Connectivity between IB and Trader Workstation has been restored - data lost.",
    1102: "Connectivity between IB and Trader Workstation has been restored - data maintained.",
    1300: "TWS socket port has been reset and this connection is being dropped. "
          "Please reconnect on port {port}",
    2103: "Market data farm connection is broken:usfarm",
    2104: "Market data farm connection is OK:usfarm",
    2105: "HMDS data farm connection is broken:ushmds",
    2106: "HMDS data farm connection is OK:ushmds",
    2107: "HMDS data farm connection is inactive but should be available upon demand.ushmds",
    2108: "Market data farm connection is inactive but should be available upon demand.usfarm",
    2119: "Market data farm is connecting:usfarm",
    2110: "Connectivity between Trader Workstation and server is broken. "
          "It will be restored automatically.",
    2157: "Sec-def data farm connection is broken:secdefil",
    2158: "Sec-def data farm connection is OK:secdefil",
}


# A farm outage: the code that starts it -> (the farm, the code that ends it).
FARM_OUTAGES: dict[int, tuple[str, int]] = {2119: ("usfarm", 2104), 2103: ("usfarm", 2104), 2105: ("ushmds", 2106)}
# The code saying a farm is inactive but available on demand (idle, not broken).
FARM_INACTIVE_CODES: dict[str, int] = {"usfarm": 2108, "ushmds": 2107}
# The streams each farm feeds (Subs attribute names): the market data farm quotes and tick-by-tick
# data; the HMDS farm real-time bars (IB reports their errors as HMDS errors, 162) and live
# historical bars.
FARM_STREAMS: dict[str, tuple[str, ...]] = {"usfarm": ("mkt", "tbt"), "ushmds": ("rtb", "hist_live")}


class Wedge(StrEnum):
    """Where a wedged gateway stops answering a new connection (its socket stays open)."""

    HANDSHAKE = "handshake"  # no version reply
    START_API = "start_api"  # version reply, then no managedAccounts/nextValidId after startApi


@dataclass
class DropOnPlace:
    """Drop the link on the next placeOrder, before or after acknowledging it."""

    after_ack: bool


@dataclass(frozen=True)
class Daily:
    """Something the gateway does every day at a time of day of its clock (in its zone): a reset
    window (IB's nightly reset) or a restart. ``seconds``: how long it lasts (a reset window, in
    the clock's time) or how long the gateway stays down (a restart, in wall time);
    ``data_lost``: a reset window ends with 1101 instead of 1102."""

    at: dt.time
    seconds: float
    data_lost: bool = False

    def started(self, now: float, tz: str) -> float:
        """The latest start at or before ``now`` (epoch seconds)."""
        zone = ZoneInfo(tz)
        day = dt.datetime.fromtimestamp(now, zone).date()
        start = dt.datetime.combine(day, self.at, zone).timestamp()
        return start if start <= now else dt.datetime.combine(day - dt.timedelta(days=1), self.at, zone).timestamp()

    def covers(self, now: float, tz: str) -> bool:
        """True while ``now`` is inside the day's window."""
        return now < self.started(now, tz) + self.seconds

    def passed(self, before: float, now: float, tz: str) -> bool:
        """True when its start fell in (``before``, ``now``]."""
        return before < self.started(now, tz) <= now


def parse_daily(text: str) -> Daily:
    """``HH:MM[:SS]/SECONDS[/lost]`` (e.g. ``23:45/300`` or ``23:45/300/lost``) -> Daily."""
    parts = text.split("/")
    if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "lost"):
        raise ValueError(f"expected HH:MM/SECONDS[/lost], got {text!r}")
    return Daily(dt.time.fromisoformat(parts[0]), float(parts[1]), len(parts) == 3)


class ResetWindow:
    """IB's reset window: while it is open the reports of orders (openOrder, orderStatus,
    execDetails, commissionReport and order errors) and of the account (positions, account
    updates) are held per session, and released in order when it closes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[Any, list[Any]] | None = None  # session -> messages; None: closed
        self.windows = 0  # windows opened so far

    @property
    def open(self) -> bool:
        """True while the window is open."""
        return self._held is not None

    def begin(self) -> bool:
        """Open the window; False when it already is."""
        with self._lock:
            if self._held is not None:
                return False
            self._held = {}
            self.windows += 1
            return True

    def hold(self, session: Any, msgs: Sequence[Any]) -> bool:
        """Keep ``msgs`` for ``session`` while the window is open; False when it is closed."""
        with self._lock:
            if self._held is None:
                return False
            self._held.setdefault(session, []).extend(msgs)
            return True

    def held(self) -> int:
        """How many messages are held now."""
        with self._lock:
            return sum(map(len, (self._held or {}).values()))

    def end(self) -> dict[Any, list[Any]] | None:
        """Close the window: what was held, by session (None when it was not open)."""
        with self._lock:
            held, self._held = self._held, None
            return held


class Faults:
    """Thread-safe fault switches consulted by the server."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.refuse_until = 0.0
        self._running = threading.Event()
        self._running.set()
        self._stall_timer: threading.Timer | None = None
        self.drop_on_place: DropOnPlace | None = None
        self._request_errors: dict[str, list[list[Any]]] = {}  # message -> [requests to serve first, code, text]
        self.reset = ResetWindow()
        self.wedge: Wedge | None = None
        self._farms_down: set[str] = set()

    def fail_next(self, message: str, code: int, text: str, after: int = 0) -> None:
        """Answer the next request named ``message`` with IB error ``code`` instead of serving it;
        ``after``: serve that many of them first (queued errors take their turns in order)."""
        with self._lock:
            self._request_errors.setdefault(message, []).append([after, code, text])

    def take_request_error(self, message: str) -> tuple[int, str] | None:
        """The error for this ``message`` request, or None to serve it."""
        with self._lock:
            queued = self._request_errors.get(message)
            if not queued:
                return None
            if queued[0][0] > 0:
                queued[0][0] -= 1
                return None
            _, code, text = queued.pop(0)
            return code, text

    def refuse_for(self, seconds: float) -> None:
        """Close new connections immediately for ``seconds``."""
        with self._lock:
            self.refuse_until = time.monotonic() + seconds

    @property
    def refusing(self) -> bool:
        """True while connections are refused."""
        return time.monotonic() < self.refuse_until

    def stall_for(self, seconds: float) -> None:
        """Stop answering (keep sockets open) for ``seconds``."""
        with self._lock:
            self._running.clear()
            if self._stall_timer:
                self._stall_timer.cancel()
            self._stall_timer = threading.Timer(seconds, self._running.set)
            self._stall_timer.daemon = True
            self._stall_timer.start()

    def freeze(self) -> None:
        """Stop answering and streaming (sockets stay open, new connections get no version reply)
        until :meth:`end_stall`."""
        with self._lock:
            if self._stall_timer:
                self._stall_timer.cancel()
            self._running.clear()

    def end_stall(self) -> None:
        """Resume immediately (thaw)."""
        with self._lock:
            if self._stall_timer:
                self._stall_timer.cancel()
            self._running.set()

    def farm_down(self, code: int) -> str:
        """Start the outage ``code`` (2119, 2103, 2105) opens; return its farm."""
        farm = FARM_OUTAGES[code][0]
        with self._lock:
            self._farms_down.add(farm)
        return farm

    def farm_up(self, farm: str) -> None:
        with self._lock:
            self._farms_down.discard(farm)

    def paused_streams(self) -> frozenset[str]:
        """The Subs attributes whose streams are paused by a farm outage."""
        with self._lock:
            return frozenset(kind for farm in self._farms_down for kind in FARM_STREAMS[farm])

    @property
    def stalled(self) -> bool:
        """True while stalled."""
        return not self._running.is_set()

    def wait_running(self, timeout: float | None = None) -> bool:
        """Block while stalled."""
        return self._running.wait(timeout)

    def arm_drop_on_place(self, after_ack: bool) -> None:
        """Arm a link drop for the next placeOrder."""
        with self._lock:
            self.drop_on_place = DropOnPlace(after_ack)

    def take_drop_on_place(self) -> DropOnPlace | None:
        """Consume the armed drop, if any."""
        with self._lock:
            d, self.drop_on_place = self.drop_on_place, None
            return d


def system_text(code: int, port: int = 0) -> str:
    """IB's text for a system code."""
    return SYSTEM_TEXTS.get(code, f"System message {code}").format(port=port)
