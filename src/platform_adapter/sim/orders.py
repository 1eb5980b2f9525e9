"""Order and execution records shared by the engine, encoders and state file."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class SimOrder:
    """An order as held by the simulated gateway."""

    order_id: int
    client_id: int
    perm_id: int
    con_id: int
    action: str
    total_qty: float
    order_type: str
    lmt_price: float | None = None
    aux_price: float | None = None
    tif: str = "DAY"
    account: str = ""
    order_ref: str = ""
    outside_rth: bool = False
    parent_id: int = 0
    status: str = "PendingSubmit"
    filled: float = 0.0
    avg_fill_price: float = 0.0
    last_fill_price: float = 0.0
    triggered: bool = False
    commission: float = 0.0
    completed_time: str = ""
    completed_status: str = ""
    exec_ids: list[str] = field(default_factory=list)

    @property
    def remaining(self) -> float:
        """Quantity still working."""
        return max(0.0, self.total_qty - self.filled)

    @property
    def is_done(self) -> bool:
        """True once filled, cancelled or inactive."""
        return self.status in ("Filled", "Cancelled", "ApiCancelled", "Inactive")

    def to_json(self) -> dict[str, Any]:
        """Serializable form."""
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> SimOrder:
        """Inverse of to_json."""
        return cls(**d)


@dataclass
class SimExecution:
    """One fill."""

    exec_id: str
    order_id: int
    client_id: int
    perm_id: int
    con_id: int
    side: str
    shares: float
    price: float
    cum_qty: float
    avg_price: float
    time: str
    account: str
    exchange: str
    order_ref: str
    commission: float
    realized_pnl: float | None
    epoch: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """Serializable form."""
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> SimExecution:
        """Inverse of to_json."""
        return cls(**d)
