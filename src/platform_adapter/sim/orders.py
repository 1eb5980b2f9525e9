"""Order and execution records shared by the engine, encoders and state file."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .requests import OrderCondition


@dataclass
class SimOrder:
    """An order as held by the simulated gateway: what the client asked for (the request's
    fields) and where the order is in its life (the fields after ``status``)."""

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
    oca_group: str = ""
    oca_type: int = 0
    good_till_date: str = ""
    trailing_percent: float | None = None
    trail_stop_price: float | None = None  # the trailing stop's current stop price
    lmt_price_offset: float | None = None
    conditions: tuple[OrderCondition, ...] = ()
    conditions_ignore_rth: bool = False
    conditions_cancel_order: bool = False
    what_if: bool = False
    transmit: bool = True  # False while held at the gateway (transmit=False, not yet released)
    status: str = "PendingSubmit"
    awaiting_parent: bool = False  # a child held until its parent fills
    conditions_met: bool = False
    triggered: bool = False
    parent_perm_id: int = 0
    placed_at: float = 0.0  # epoch seconds (simulated clock)
    orig_qty: float = 0.0  # the size an OCA reduction is proportional to
    filled: float = 0.0
    avg_fill_price: float = 0.0
    last_fill_price: float = 0.0
    commission: float = 0.0
    completed_time: str = ""
    completed_status: str = ""
    exec_ids: list[str] = field(default_factory=list)

    @property
    def remaining(self) -> float:
        """Quantity still working."""
        return max(0.0, self.total_qty - self.filled)

    def snapshot(self) -> SimOrder:
        """A shallow copy (what ``copy.copy`` gives, without its generic machinery): the order as
        it stands, for a message or an event built now and encoded later."""
        return _shallow(self)

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
        conditions = tuple(OrderCondition(c["kind"], tuple(c["fields"])) for c in d.get("conditions", ()))
        return cls(**{**d, "conditions": conditions})


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

    def snapshot(self) -> SimExecution:
        """A shallow copy (see :meth:`SimOrder.snapshot`)."""
        return _shallow(self)

    def to_json(self) -> dict[str, Any]:
        """Serializable form."""
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> SimExecution:
        """Inverse of to_json."""
        return cls(**d)


def _shallow(record: Any) -> Any:
    copy = object.__new__(type(record))
    copy.__dict__.update(record.__dict__)
    return copy
