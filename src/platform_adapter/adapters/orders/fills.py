"""Executions joined with commission reports, corrections, and at-least-once fill delivery.

IB sends ``execDetails`` then ``commissionReport`` (joined by execution id). A corrected
execution arrives with the same id and a new last part (``...01.01`` -> ``...01.02``): it replaces
the original instead of adding to it. Fill callbacks run once per execution, across reconnects and
restarts (the journal remembers which fills were delivered; one whose delivery a crash interrupted is
delivered again, flagged ``possible_duplicate``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import datetime

from platform_adapter.models.order import Fill, exec_base_id


@dataclass(frozen=True, slots=True)
class ExecResult:
    fill: Fill
    correction: bool


class FillBook:
    """Thread-safe store of fills keyed by execution id without its correction suffix."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fills: dict[str, Fill] = {}
        self._delivered: set[str] = set()
        self._commissions: dict[str, tuple[float | None, str, float | None]] = {}
        self.last_time: datetime | None = None
        self.last_ib_time = ""
        # the newest execution time seen when the last reconciliation asked IB for executions:
        # every execution up to then is known, so the next one asks from there (not from
        # ``last_ib_time``: a live fill on a new link may come before the reconciliation that looks
        # for the executions the old link lost, and its time is past theirs)
        self.reconciled_ib_time: str | None = None

    def load(self, fill: Fill, ib_time: str, delivered: bool) -> None:
        """Restore a fill from the journal."""
        with self._lock:
            self._fills[fill.exec_key] = fill
            if delivered:
                self._delivered.add(fill.exec_key)
            self._seen_time(fill.time, ib_time)

    def add_execution(self, fill: Fill, ib_time: str) -> ExecResult | None:
        """Record an execution; ``None`` when it is a repeat of one already known, or a version
        its known correction replaced (reconciliation replays the original too)."""
        key = fill.exec_key
        with self._lock:
            old = self._fills.get(key)
            if old is not None and _revision(old.exec_id) >= _revision(fill.exec_id):
                return None
            pending = self._commissions.pop(fill.exec_id, None)
            if pending is not None:
                fill = replace(fill, commission=pending[0], commission_currency=pending[1], realized_pnl=pending[2])
            self._fills[key] = fill
            self._seen_time(fill.time, ib_time)
            return ExecResult(fill, old is not None)

    def add_commission(self, exec_id: str, commission: float | None, currency: str,
                       realized_pnl: float | None) -> Fill | None:
        """Join a commission report to its execution; ``None`` if that execution is not known (yet)."""
        key = exec_base_id(exec_id)
        with self._lock:
            fill = self._fills.get(key)
            if fill is None or fill.exec_id != exec_id:
                self._commissions[exec_id] = (commission, currency, realized_pnl)
                return None
            fill = replace(fill, commission=commission, commission_currency=currency, realized_pnl=realized_pnl)
            self._fills[key] = fill
            return fill

    def claim_delivery(self, exec_key: str) -> bool:
        """True exactly once per execution: the caller then delivers it to the fill callbacks."""
        with self._lock:
            if exec_key in self._delivered:
                return False
            self._delivered.add(exec_key)
            return True

    def get(self, exec_id: str) -> Fill | None:
        with self._lock:
            return self._fills.get(exec_base_id(exec_id))

    def _seen_time(self, when: datetime, ib_time: str) -> None:
        if self.last_time is None or when >= self.last_time:
            self.last_time = when
            self.last_ib_time = ib_time


def _revision(exec_id: str) -> tuple[int, str]:
    """The correction number of an execution id, its last dotted part (``...01.02`` -> 2; IB's
    are hex), for ordering two versions of one execution."""
    suffix = exec_id.rpartition(".")[2]
    try:
        return int(suffix, 16), suffix
    except ValueError:
        return -1, suffix
