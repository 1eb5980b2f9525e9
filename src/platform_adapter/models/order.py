"""Order values: requests, IB order states, fills and the order record."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from enum import IntEnum, StrEnum

from platform_adapter.models.contract import ContractSpec


class OrderAction(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class OrderType(StrEnum):
    MARKET = "MKT"
    LIMIT = "LMT"
    STOP = "STP"
    STOP_LIMIT = "STP LMT"
    TRAIL = "TRAIL"
    TRAIL_LIMIT = "TRAIL LIMIT"


class TimeInForce(StrEnum):
    DAY = "DAY"
    GTC = "GTC"
    IOC = "IOC"
    GTD = "GTD"
    """Good till the date and time in ``OrderExtras.good_till``."""
    OPG = "OPG"
    """At the opening auction (market or limit on open)."""


PLAIN_TIFS = (TimeInForce.DAY, TimeInForce.GTC, TimeInForce.IOC)
"""The TIFs that need nothing more: a default TIF (``orders.default_time_in_force``), the shell's ``tif=``."""


class OcaType(IntEnum):
    """What a fill in a one-cancels-all group does to the other members (IB's ``ocaType``)."""

    CANCEL_WITH_BLOCK = 1
    REDUCE_WITH_BLOCK = 2
    REDUCE_NO_BLOCK = 3


class OrderState(StrEnum):
    """IB order states as reported by ``orderStatus``, plus ``PendingSubmit`` before IB answers."""

    PENDING_SUBMIT = "PendingSubmit"
    API_PENDING = "ApiPending"
    PRE_SUBMITTED = "PreSubmitted"
    SUBMITTED = "Submitted"
    PENDING_CANCEL = "PendingCancel"
    API_CANCELLED = "ApiCancelled"
    CANCELLED = "Cancelled"
    FILLED = "Filled"
    INACTIVE = "Inactive"
    REJECTED = "Rejected"
    UNKNOWN = "Unknown"


TERMINAL_STATES = frozenset(
    {OrderState.FILLED, OrderState.CANCELLED, OrderState.API_CANCELLED, OrderState.REJECTED, OrderState.INACTIVE}
)
"""States after which IB will not change the order any more."""

WORKING_STATES = frozenset(
    {OrderState.PENDING_SUBMIT, OrderState.API_PENDING, OrderState.PRE_SUBMITTED, OrderState.SUBMITTED}
)
"""States in which an order may still fill, be modified or be cancelled."""


@dataclass(frozen=True, slots=True)
class OrderExtras:
    """The fields of an advanced order: its parent (a bracket's children), its one-cancels-all
    group, the trail of a ``TRAIL`` / ``TRAIL LIMIT`` order and the expiry of a ``GTD`` order."""

    parent_id: int = 0
    oca_group: str = ""
    oca_type: OcaType | None = None
    trailing_amount: float | None = None
    trailing_percent: float | None = None
    limit_offset: float | None = None
    good_till: str = ""
    """IB's goodTillDate text: ``YYYYMMDD-HH:MM:SS`` (UTC) or ``YYYYMMDD HH:MM:SS <zone>``."""
    trail_stop_price: float | None = None
    """A trailing order's stop price (IB's trailStopPrice): the initial stop asked for, then the
    stop IB last reported in an ``openOrder`` (on placement, modification, status changes and
    ``reconcile``; IB is not known to report each move of the stop, so it can lag the market)."""
    replaces: int = 0
    """For an exit the adapter placed anew when its bracket's entry ended partly filled (its
    exits gone with it): the order id of the exit it replaces (``parent_id`` stays the entry's;
    IB is sent no parent for it). 0 for every other order."""


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A validated order as the adapter will send it (``extras`` is None for a plain order)."""

    contract: ContractSpec
    action: OrderAction
    quantity: Decimal
    order_type: OrderType
    limit_price: float | None = None
    stop_price: float | None = None
    tif: TimeInForce = TimeInForce.GTC
    outside_rth: bool = False
    account: str = ""
    order_ref: str = ""
    extras: OrderExtras | None = None


@dataclass(frozen=True, slots=True)
class BracketOrder:
    """The three orders of a bracket: the entry (parent) and its two exits, which form one
    one-cancels-all group and become active once the parent fills. An exit placed anew for an
    entry that ended partly filled is found through the old exit's ``Order.replaced_by``."""

    parent: int
    take_profit: int
    stop_loss: int

    @property
    def order_ids(self) -> tuple[int, int, int]:
        return self.parent, self.take_profit, self.stop_loss


@dataclass(frozen=True, slots=True)
class OcaGroup:
    """Orders placed as one one-cancels-all group."""

    name: str
    oca_type: OcaType
    order_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution joined with its commission report (by execution id)."""

    exec_id: str
    order_id: int
    symbol: str
    side: str
    quantity: Decimal
    price: float
    time: datetime
    perm_id: int = 0
    exchange: str = ""
    commission: float | None = None
    commission_currency: str = ""
    realized_pnl: float | None = None
    possible_duplicate: bool = False
    """True when this fill may have reached the callbacks before (a restart after a crash between
    its delivery and the record that it was delivered; FIX's PossDupFlag): ``exec_id`` identifies it."""

    @property
    def exec_key(self) -> str:
        """Execution id without IB's correction suffix (``0001f4e8.65a1b2c3.01.01`` -> ``...01``)."""
        return exec_base_id(self.exec_id)


def exec_base_id(exec_id: str) -> str:
    """IB corrects an execution by re-sending it with the last dotted part incremented."""
    head, sep, _ = exec_id.rpartition(".")
    return head if sep else exec_id


@dataclass(frozen=True, slots=True)
class OrderStatus:
    """A snapshot of an order's state, fills and timestamps."""

    order_id: int
    status: OrderState
    filled: Decimal
    remaining: Decimal
    avg_fill_price: float
    last_fill_price: float
    perm_id: int = 0
    fills: tuple[Fill, ...] = ()
    reject_reason: str = ""
    submitted_at: datetime | None = None
    updated_at: datetime | None = None
    why_held: str = ""
    last_error: str = ""

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATES

    @property
    def commission(self) -> float:
        """Total commission reported for the fills so far."""
        return sum(f.commission or 0.0 for f in self.fills)


@dataclass(frozen=True, slots=True)
class Order:
    """A snapshot of one order: what was asked and where it stands."""

    order_id: int
    request: OrderRequest
    status: OrderStatus
    perm_id: int = 0
    client_id: int = 0
    replaced_by: int = 0
    """The order that took this one's place: a bracket exit the adapter placed anew, for the
    filled quantity, when the entry ended partly filled and IB cancelled this exit with it
    (``OrderExtras.replaces`` of that order). 0 when none."""

    @property
    def symbol(self) -> str:
        return self.request.contract.symbol

    @property
    def order_ref(self) -> str:
        return self.request.order_ref


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(slots=True)
class Trade:
    """The mutable aggregate of one order, owned by the StateManager (never handed out)."""

    order_id: int
    request: OrderRequest
    status: OrderState = OrderState.PENDING_SUBMIT
    filled: Decimal = Decimal(0)
    remaining: Decimal = Decimal(0)
    avg_fill_price: float = 0.0
    last_fill_price: float = 0.0
    perm_id: int = 0
    client_id: int = 0
    reject_reason: str = ""
    why_held: str = ""
    last_error: str = ""
    submitted_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    fills: dict[str, Fill] = field(default_factory=dict)
    replaced_by: int = 0

    def snapshot(self) -> Order:
        status = OrderStatus(
            order_id=self.order_id,
            status=self.status,
            filled=self.filled,
            remaining=self.remaining,
            avg_fill_price=self.avg_fill_price,
            last_fill_price=self.last_fill_price,
            perm_id=self.perm_id,
            fills=tuple(self.fills.values()),
            reject_reason=self.reject_reason,
            submitted_at=self.submitted_at,
            updated_at=self.updated_at,
            why_held=self.why_held,
            last_error=self.last_error,
        )
        return Order(self.order_id, self.request, status, self.perm_id, self.client_id, self.replaced_by)

    def fill_totals(self) -> tuple[Decimal, float]:
        """(quantity, average price) over the trade's executions ((0, 0.0) without any)."""
        qty = sum((f.quantity for f in self.fills.values()), Decimal(0))
        if not qty:
            return qty, 0.0
        return qty, sum(float(f.quantity) * f.price for f in self.fills.values()) / float(qty)

    def apply_status(self, state: OrderState | None, filled: Decimal | None = None, remaining: Decimal | None = None,
                     avg_fill_price: float = 0.0, last_fill_price: float = 0.0, reject_reason: str = "") -> bool:
        """Apply a status report (IB's orderStatus or openOrder, a rejection, reconciliation); True
        when the trade changed. The rules, in this one place:

        - a final state is never left: a later report of a non-final state changes nothing but an
          average price the trade lacks; nor is ``Filled`` left for another final state (a late
          ``Cancelled`` of a cancel that raced the fill); another final state may be replaced by
          IB's (``Inactive``, an inference of reconciliation, by ``Cancelled``);
        - ``Filled`` without fill quantities (openOrder's) waits for the report that carries them;
        - the filled quantity never goes down; ``remaining`` is 0 in a final state other than
          ``Filled`` (nothing more will fill, whatever IB's report says: its ``orderStatus``
          carries the unfilled quantity, its ``openOrder`` and 202 nothing, so one cancellation
          reported by all three, in any order, is one change), else the reported one (unless the
          report is older, with fewer fills), else what is left of the order's quantity when the
          filled quantity grew;
        - an average price is taken when the trade has none or the report carries more fills; a
          last fill price of 0 keeps the current one;
        - a rejection's reason is kept with it.
        """
        before = (self.status, self.filled, self.remaining, self.avg_fill_price, self.last_fill_price,
                  self.reject_reason)
        if state is not None and self.status in TERMINAL_STATES and (
                state not in TERMINAL_STATES or self.status is OrderState.FILLED and state is not OrderState.FILLED):
            if avg_fill_price and not self.avg_fill_price:
                self.avg_fill_price = float(avg_fill_price)
                return True
            return False
        grew = filled is not None and filled > self.filled
        stale = filled is not None and filled < self.filled  # an older report (IB's arrive out of order)
        if avg_fill_price and (grew or not self.avg_fill_price):
            self.avg_fill_price = float(avg_fill_price)
        if filled is not None and grew:
            self.filled = filled
        if state is not None and not (state is OrderState.FILLED and filled is None
                                      and self.filled < self.request.quantity):
            self.status = state
            if reject_reason and state is OrderState.REJECTED:
                self.reject_reason = reject_reason
        if self.status is state and state in TERMINAL_STATES and state is not OrderState.FILLED:
            self.remaining = 0 * self.remaining
        elif remaining is not None and not stale:
            self.remaining = remaining
        elif grew:
            self.remaining = max(self.request.quantity - self.filled, 0 * self.filled)
        if not stale:
            self.last_fill_price = float(last_fill_price or self.last_fill_price)
        return before != (self.status, self.filled, self.remaining, self.avg_fill_price, self.last_fill_price,
                          self.reject_reason)

    def apply_fills(self, state: OrderState | None = None, reason: str = "", filled: Decimal = Decimal(0)) -> bool:
        """The trade's own executions applied as a status report (reconciliation): filled at least
        their quantity (and at least ``filled``, IB's figure), at their average price. Without
        ``state``: ``Filled`` once they cover the order's quantity, else the current state
        (``Submitted`` for one still waiting for IB's acknowledgement: executions prove IB has it)."""
        qty, avg = self.fill_totals()
        if state is None:
            state = OrderState.FILLED if qty and qty >= self.request.quantity else self.status
            if state is OrderState.PENDING_SUBMIT and qty:
                state = OrderState.SUBMITTED
        return self.apply_status(state, filled=max(qty, filled), avg_fill_price=avg, reject_reason=reason)
