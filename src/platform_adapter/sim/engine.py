"""Paper matching engine, as IB behaves: its order types (``order_types``), parent/child orders
(a child is held until its parent fills, cancelling a parent cancels its children), orders held
at the gateway until their group is transmitted, OCA groups, order conditions, the open and
close auctions, what-if previews that never trade, partial fills and IB's codes."""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from zoneinfo import ZoneInfo

from . import order_types as ot
from .account import Account, MarginPreview
from .contracts import BY_CONID, ContractSpec
from .market import Market, round_tick
from .order_conditions import World, all_hold
from .orders import SimExecution, SimOrder
from .trading_hours import SimClock, edges, is_open, parse_ib_time

log = logging.getLogger("platform_adapter.sim")

EXEC_TZ = "US/Eastern"
TEXT_201 = "Order rejected - reason:"
TEXT_135 = "Can't find order with id = {}"
# IB's answer to an order joining a one-cancels-all group one of whose members has already filled
# (recorded on a paper account: error 201 with this reason, the order never working)
TEXT_OCA_FILLED = "OCA group is already filled."
TEXT_321_ACCOUNT = "Error validating request.-'bO' : cause - Invalid account code '{}'."
# order ids (IB's texts: 103/104/105 its message-code table, 103 as a 10.41 gateway sends it in
# wboayue/rust-ibapi#350; 10149 a gateway's answer to order id 0 in stoqey/ib#203)
TEXT_103 = "Duplicate order id"
TEXT_104 = "Cannot modify a filled order. (state: {})"
TEXT_105 = "Order being modified does not match original order."
TEXT_10149 = "Invalid order id: {}"
BY_TRADER, BY_SYSTEM = "Cancelled by Trader", "Cancelled by System"
# an order the engine failed on while working it (a simulator bug): that order is made Inactive
# and its client told, the other orders go on (simulator text, in the form of IB's 322)
TEXT_322_ORDER = "Error processing request.-'bW' : cause - the simulated gateway could not work order {}"
# ocaType: cancel the others (with block), reduce them (with block), reduce them (without block)
OCA_CANCEL, OCA_REDUCE_BLOCK, OCA_REDUCE = 1, 2, 3
EPS = 1e-9


@dataclass
class OrderEvent:
    """Something the owning client must be told about an order (order state snapshot):
    "open", "status", "exec", "commission", or "whatif" (an openOrder with the preview)."""

    kind: str
    order: SimOrder
    execution: SimExecution | None = None
    preview: MarginPreview | None = None

    def __post_init__(self) -> None:
        self.order = self.order.snapshot()


@dataclass
class ErrorEvent:
    """An error for a client about one of its orders."""

    client_id: int
    req_id: int
    code: int
    text: str


Event = OrderEvent | ErrorEvent
OcaKey = tuple[str, str | int, str | int]


def ib_time(ts: float, fmt: str = "%Y%m%d %H:%M:%S") -> str:
    """Timestamp rendered as TWS does in executions: 'yyyymmdd hh:mm:ss US/Eastern'."""
    return dt.datetime.fromtimestamp(ts, ZoneInfo(EXEC_TZ)).strftime(fmt) + " " + EXEC_TZ


def commission_for(c: ContractSpec, qty: float, price: float) -> float:
    """IB-like commission for a cumulative quantity of one order."""
    if qty <= 0:
        return 0.0
    value = qty * price * c.mult
    if c.sec_type == "STK":
        return round(min(max(0.005 * qty, 1.0), 0.01 * value), 2)
    if c.sec_type == "FUT":
        return round(0.85 * qty, 2)
    return round(max(0.00002 * value, 2.0), 2)


class Engine:
    """Holds all orders and executions; produces events for the gateway to send."""

    def __init__(self, account: Account, market: Market, partial_fill_size: float = 1000.0,
                 max_chunks: int = 10, local_tz: str = "UTC",
                 others: Sequence[Account] = ()) -> None:
        self.account = account  # the first managed account: an order without one is booked to it
        self.accounts = {a.account_id: a for a in (account, *others)}
        self.market = market
        self.partial_fill_size = partial_fill_size
        self.max_chunks = max_chunks
        self.local_tz = local_tz  # the gateway's zone: a date-time without one is in it
        self.orders: dict[tuple[int, int], SimOrder] = {}
        self.executions: list[SimExecution] = []
        self.next_perm_id = 1_351_823_000
        self.exec_seq = 1
        self.reject_next: str | None = None
        self.order_id_high_water = 0
        self.clock = SimClock()
        # off: every contract trades around the clock and auctions run only when asked for;
        # on: contracts trade in their hours and the clock runs the open and close auctions
        self.trading_hours = False
        self._checked = self.clock.now()
        self._deferred: list[tuple[SimOrder, float]] = []  # OCA reductions without block
        self._by_parent: dict[tuple[int, int], list[SimOrder]] = {}
        self._by_oca: dict[OcaKey, list[SimOrder]] = {}
        self._indexed = -1  # len(self.orders) when the two were built
        self._last_ids: dict[int, int] = {}  # client id -> the highest order id it placed

    # --- queries -------------------------------------------------------------------
    def open_orders(self, client_id: int | None = None) -> list[SimOrder]:
        """Orders not done (optionally of one client), held ones included."""
        return [o for o in self.orders.values()
                if not o.is_done and (client_id is None or o.client_id == client_id)]

    def _children(self, o: SimOrder) -> list[SimOrder]:
        return self._index()[0].get((o.client_id, o.order_id), [])

    def _oca_members(self, key: OcaKey) -> list[SimOrder]:
        return self._index()[1].get(key, [])

    def _store(self, o: SimOrder) -> None:
        """Keep a new order (and keep the indexes current)."""
        current = self._indexed == len(self.orders)
        self.orders[(o.client_id, o.order_id)] = o
        if current:
            self._add_to_index(o)
            self._indexed += 1

    def _add_to_index(self, o: SimOrder) -> None:
        if o.parent_id:
            self._by_parent.setdefault((o.client_id, o.parent_id), []).append(o)
        key = self._oca_key(o)
        if key is not None:
            self._by_oca.setdefault(key, []).append(o)

    def _index(self) -> tuple[dict[tuple[int, int], list[SimOrder]], dict[OcaKey, list[SimOrder]]]:
        """Children by parent and members by OCA group, rebuilt when orders were added (also
        directly, as the state file does) or a group changed."""
        if self._indexed != len(self.orders):
            self._by_parent, self._by_oca = {}, {}
            for x in self.orders.values():
                self._add_to_index(x)
            self._indexed = len(self.orders)
        return self._by_parent, self._by_oca

    def _now(self) -> float:
        return self.clock.now()

    def _chunk(self, c: ContractSpec) -> float:
        return self.partial_fill_size * (1000 if c.sec_type == "CASH" else 1)

    # --- clock ---------------------------------------------------------------------
    def set_time(self, when: dt.datetime) -> None:
        """Jump the clock to ``when`` (no auction fires for the time jumped over)."""
        self.clock.set(when)
        self._checked = self.clock.now()

    # --- placing -------------------------------------------------------------------
    def place(self, o: SimOrder) -> list[Event]:
        """New order, modification (same client and order id), or what-if preview."""
        c = BY_CONID[o.con_id]
        refused = self._id_refusal(o)
        if refused is not None:
            return [refused]
        self.order_id_high_water = max(self.order_id_high_water, o.order_id)
        self._last_ids[o.client_id] = max(self._last_id(o.client_id), o.order_id)
        if o.account and o.account not in self.accounts:
            return [ErrorEvent(o.client_id, o.order_id, 321, TEXT_321_ACCOUNT.format(o.account))]
        o.account = o.account or self.account.account_id
        refusal = ot.check(o, c)
        if refusal:
            return [ErrorEvent(o.client_id, o.order_id, refusal.code, refusal.text)]
        events: list[Event] = []
        if o.outside_rth and o.order_type not in ot.OUTSIDE_RTH:
            events.append(ErrorEvent(o.client_id, o.order_id, 2109, ot.TEXT_2109))
        if o.what_if:
            return events + self._what_if(o, c)
        existing = self.orders.get((o.client_id, o.order_id))
        if existing is not None:
            if o.parent_id and not existing.is_done and self._parent_gone(o):
                # a child modified with the id of a parent that has filled: IB no longer finds the
                # parent and refuses the modification (135); the child works on unchanged
                return events + [ErrorEvent(o.client_id, o.order_id, 135, TEXT_135.format(o.parent_id))]
            return events + self._modify(existing, o)
        parent = self.orders.get((o.client_id, o.parent_id)) if o.parent_id else None
        if o.parent_id and (parent is None or parent.is_done and parent.status != "Filled"):
            return events + [ErrorEvent(o.client_id, o.order_id, 135, TEXT_135.format(o.parent_id))]
        if self._oca_filled(o):
            return events + [ErrorEvent(o.client_id, o.order_id, 201, TEXT_201 + TEXT_OCA_FILLED)]
        if self.reject_next is not None:
            reason, self.reject_next = self.reject_next, None
            return events + [ErrorEvent(o.client_id, o.order_id, 201, TEXT_201 + reason)]
        rejected = None if parent else self._margin_refusal(o, c)
        if rejected:
            return events + [rejected]
        o.perm_id = self.next_perm_id
        self.next_perm_id += 1
        o.parent_perm_id = parent.perm_id if parent else 0
        o.orig_qty = o.total_qty
        o.placed_at = self._now()
        self._store(o)
        if not o.transmit:
            o.status = "PendingSubmit"
            return events + [OrderEvent("open", o), OrderEvent("status", o)]
        return events + self._release(o)

    def _last_id(self, client_id: int) -> int:
        """The highest order id a client has placed (orders restored from a state file count)."""
        last = self._last_ids.get(client_id)
        if last is None:
            last = max((i for cid, i in self.orders if cid == client_id), default=0)
            self._last_ids[client_id] = last
        return last

    def _id_refusal(self, o: SimOrder) -> ErrorEvent | None:
        """IB's answer to an order id it does not take, nothing placed: not positive (10149); the
        id of the client's filled order (104) or finished one (103); the id of its working order
        for another contract (105, not a modification); a new order whose id is not above every id
        the client used before, even for an order refused (103)."""
        cid, oid = o.client_id, o.order_id
        if oid <= 0:
            return ErrorEvent(cid, oid, 10149, TEXT_10149.format(oid))
        existing = self.orders.get((cid, oid))
        if existing is not None:
            if existing.status == "Filled":
                return ErrorEvent(cid, oid, 104, TEXT_104.format(existing.status))
            if existing.is_done:
                return ErrorEvent(cid, oid, 103, TEXT_103)
            if existing.con_id != o.con_id:
                return ErrorEvent(cid, oid, 105, TEXT_105)
            return None
        if oid <= self._last_id(cid):
            return ErrorEvent(cid, oid, 103, TEXT_103)
        return None

    def _parent_gone(self, o: SimOrder) -> bool:
        parent = self.orders.get((o.client_id, o.parent_id))
        return parent is None or parent.is_done

    def _oca_filled(self, o: SimOrder) -> bool:
        """Whether a new order's one-cancels-all group has already done its work: a member
        completely filled, or (a group that cancels the others, ocaType 1) any member filled at
        all. IB refuses such an order (201) rather than let it work next to the fill."""
        if not o.oca_group:
            return False
        key = self._oca_key(o)
        members = self._oca_members(key) if key is not None else []
        cancels = self._oca_type(o) == OCA_CANCEL
        return any(x.status == "Filled" or (cancels and x.filled > EPS) for x in members)

    def book_of(self, o: SimOrder) -> Account:
        """The account an order is booked to (the first one for an order of an account no
        longer managed, e.g. restored from a state file)."""
        return self.accounts.get(o.account, self.account)

    def _margin_refusal(self, o: SimOrder, c: ContractSpec) -> ErrorEvent | None:
        account = self.book_of(o)
        qty = o.total_qty
        if o.action != "BUY" and c.sec_type == "STK":  # selling shares held needs no margin, a short does
            held = account.positions[o.con_id].qty if o.con_id in account.positions else 0.0
            qty -= max(held, 0.0)
            if qty <= 0:
                return None
        need = account.required_initial_margin(o.con_id, qty, self._ref_price(o))
        avail = account.values(self.market.mark)["AvailableFunds"]
        if need <= avail:
            return None
        return ErrorEvent(o.client_id, o.order_id, 201, TEXT_201 + (
            f"YOUR ORDER IS NOT ACCEPTED. IN ORDER TO OBTAIN THE DESIRED POSITION YOUR "
            f"EQUITY WITH LOAN VALUE [{avail:.2f} USD] MUST EXCEED THE INITIAL MARGIN "
            f"[{need:.2f} USD]"))

    def _ref_price(self, o: SimOrder) -> float:
        """The price an order's margin and commission are reckoned at: its limit, else its stop or
        touch price, else the market. A trailing order's auxPrice is its trailing amount and a
        relative order's its offset, not prices: those go at the trail's stop or the market."""
        q = self.market.quote(o.con_id)
        market = q.ask if o.action == "BUY" else q.bid
        if o.order_type in ot.TRAILING or o.order_type in ot.PEGGED:
            return o.lmt_price or o.trail_stop_price or market
        return o.lmt_price or o.aux_price or market

    def _what_if(self, o: SimOrder, c: ContractSpec) -> list[Event]:
        """A what-if order: answered with margins and commission, never stored, never working."""
        commission = commission_for(c, o.total_qty, self._ref_price(o))
        preview = self.book_of(o).preview(o.con_id, o.action, o.total_qty, commission, self.market.mark)
        o.status = "PreSubmitted"
        return [OrderEvent("whatif", o, preview=preview)]

    def _release(self, o: SimOrder) -> list[Event]:
        """Transmit ``o`` with every held order of its group: its parent (or itself as a parent)
        with the parent's children, and the members of its OCA group."""
        root = self.orders.get((o.client_id, o.parent_id), o) if o.parent_id else o
        group = [root, *self._children(root), o]
        key = self._oca_key(o)
        if o.oca_group and key is not None:
            group += self._oca_members(key)
        members: dict[int, SimOrder] = {}
        for x in sorted(group, key=lambda x: (x is not root, x.order_id)):
            if not x.is_done and (not x.transmit or x is o):
                members.setdefault(id(x), x)
        events: list[Event] = []
        for x in members.values():
            x.transmit = True
            x.awaiting_parent = self._awaiting_parent(x)
            self._show_trail(x)
            x.status = self._status_of(x)
            events += [OrderEvent("open", x), OrderEvent("status", x)]
        for x in members.values():
            events += self._work(x)
        return events + self._flush_oca()

    def _show_trail(self, o: SimOrder) -> None:
        """Trail a working trailing stop to the market now, so that the openOrder about to be sent
        reports the stop in force (at placement, and after a modification: a looser stop given is
        discarded, a new trail applied, before the report)."""
        if o.order_type in ot.TRAILING and not o.awaiting_parent and not o.conditions:
            ot.trail(o, self.market.quote(o.con_id), BY_CONID[o.con_id])

    def _awaiting_parent(self, o: SimOrder) -> bool:
        parent = self.orders.get((o.client_id, o.parent_id)) if o.parent_id else None
        return parent is not None and parent.status != "Filled"

    def _modify(self, cur: SimOrder, new: SimOrder) -> list[Event]:
        if new.total_qty < cur.filled:
            return [ErrorEvent(cur.client_id, cur.order_id, 161,
                               "Cancel attempted when order is not in a cancellable state.")]
        if new.aux_price != cur.aux_price or new.order_type != cur.order_type:
            cur.triggered = False
        if new.conditions != cur.conditions:
            cur.conditions_met = False
        for name in ("total_qty", "order_type", "lmt_price", "aux_price", "tif", "outside_rth",
                     "good_till_date", "trailing_percent", "lmt_price_offset", "oca_group", "oca_type",
                     "conditions", "conditions_ignore_rth", "conditions_cancel_order"):
            setattr(cur, name, getattr(new, name))
        if new.trail_stop_price is not None:
            cur.trail_stop_price = new.trail_stop_price
        cur.orig_qty = cur.total_qty
        self._indexed = -1  # its OCA group may have changed
        if not cur.transmit:
            if new.transmit:
                return self._release(cur)
            return [OrderEvent("open", cur), OrderEvent("status", cur)]
        self._show_trail(cur)
        cur.status = self._status_of(cur)
        events: list[Event] = [OrderEvent("open", cur), OrderEvent("status", cur)]
        return events + self._work(cur) + self._flush_oca()

    # --- cancelling ----------------------------------------------------------------
    def cancel(self, client_id: int, order_id: int) -> list[Event]:
        """Cancel one order of a client, and its children."""
        o = self.orders.get((client_id, order_id))
        if o is None:
            return [ErrorEvent(client_id, order_id, 10147,
                               f"OrderId {order_id} that needs to be cancelled is not found.")]
        if o.is_done:
            return [ErrorEvent(client_id, order_id, 10148,
                               f"OrderId {order_id} that needs to be cancelled cannot be cancelled, "
                               f"state: {o.status}.")]
        return self._cancel_family(o, BY_TRADER)

    def _cancel_family(self, o: SimOrder, why: str) -> list[Event]:
        events = self._cancelled(o, why)
        for child in self._children(o):
            if not child.is_done:
                events += self._cancel_family(child, why)
        return events

    def _cancelled(self, o: SimOrder, why: str) -> list[Event]:
        o.status = "Cancelled"
        o.completed_status = why
        o.completed_time = ib_time(self._now())
        return [OrderEvent("status", o), OrderEvent("open", o),
                ErrorEvent(o.client_id, o.order_id, 202, "Order Canceled - reason:")]

    def global_cancel(self) -> list[Event]:
        """Cancel every order not done."""
        out: list[Event] = []
        for o in self.open_orders():
            if not o.is_done:
                out += self._cancelled(o, BY_TRADER)
        return out

    # --- the market moves ----------------------------------------------------------
    def on_market(self) -> list[Event]:
        """Run the auctions the clock passed, then re-check every order against the quotes."""
        now = self._now()
        out: list[Event] = self._auctions_between(self._checked, now) if self.trading_hours else []
        self._checked = max(self._checked, now)
        for o in self.open_orders():
            out += self._guarded(o, partial(self._work, o, passive=True))
        return out + self._flush_oca()

    def _guarded(self, o: SimOrder, step: Callable[[], list[Event]]) -> list[Event]:
        """One order's step of the market loop; if it raises (a simulator bug) the error is
        logged, the order made Inactive and its client told (322), and the loop goes on with the
        other orders. What the step changed before it raised stays as it is."""
        if o.is_done:
            return []
        try:
            return step()
        except Exception:  # noqa: BLE001 - one order must not stop the others' matching
            log.exception("order %d of client %d failed in the market loop", o.order_id, o.client_id)
            o.status = "Inactive"
            o.completed_status = "Inactive"
            o.completed_time = ib_time(self._now())
            return [ErrorEvent(o.client_id, o.order_id, 322, TEXT_322_ORDER.format(o.order_id)),
                    OrderEvent("status", o)]

    def _auctions_between(self, t0: float, t1: float) -> list[Event]:
        out: list[Event] = []
        for con_id in sorted({o.con_id for o in self.open_orders() if ot.auction(o)}):
            c = BY_CONID[con_id]
            for kind, _ in edges(c.liquid_hours, c.time_zone, t0, t1):
                out += self.run_auction(kind, con_id)
        return out

    def run_auction(self, kind: str, con_id: int | None = None) -> list[Event]:
        """The open ("open") or close ("close") auction of one contract or all: every working
        order waiting for it trades at the auction price (the last trade) all at once; a limit
        the auction price does not reach is cancelled, as IB cancels unfilled LOC/LOO orders."""
        if kind not in ("open", "close"):
            raise ValueError(f"auction must be 'open' or 'close', not {kind!r}")
        out: list[Event] = []
        for o in self.open_orders():
            if ot.auction(o) != kind or (con_id is not None and o.con_id != con_id):
                continue
            out += self._guarded(o, partial(self._auction_one, o))
        return out + self._flush_oca()

    def _auction_one(self, o: SimOrder) -> list[Event]:
        out = self._work(o)
        if o.is_done or not o.transmit or o.awaiting_parent or (o.conditions and not o.conditions_met):
            return out
        c = BY_CONID[o.con_id]
        price = round_tick(self.market.quote(o.con_id).last, c.min_tick)
        lim = o.lmt_price if o.order_type in ("LOC", "LMT") else None
        if lim is not None and (price > lim if o.action == "BUY" else price < lim):
            return out + self._cancelled(o, BY_SYSTEM)
        return out + self._fill(o, c, o.remaining, price)

    # --- one order -----------------------------------------------------------------
    def _status_of(self, o: SimOrder) -> str:
        """The status IB shows for an order not done: PendingSubmit while held at the gateway,
        PreSubmitted while inactive (a child before its parent fills, conditions not met, a
        trigger not reached, outside its trading hours), else Submitted."""
        if not o.transmit:
            return "PendingSubmit"
        if o.awaiting_parent or (o.conditions and not o.conditions_met):
            return "PreSubmitted"
        if o.order_type in ot.TRIGGERED and not o.triggered:
            return "PreSubmitted"
        if ot.auction(o) is None and not self._in_hours(o):
            return "PreSubmitted"
        return "Submitted"

    def _refresh(self, o: SimOrder) -> list[Event]:
        status = self._status_of(o)
        if o.is_done or status == o.status:
            return []
        o.status = status
        return [OrderEvent("status", o)]

    def _in_hours(self, o: SimOrder) -> bool:
        """Whether the order may trade now: in the contract's liquid hours, or in its trading
        hours with outsideRth for an order type IB lets trade there."""
        if not self.trading_hours:
            return True
        c, now = BY_CONID[o.con_id], self._now()
        if is_open(c.liquid_hours, c.time_zone, now):
            return True
        return o.outside_rth and o.order_type in ot.OUTSIDE_RTH and is_open(c.trading_hours, c.time_zone, now)

    def _expired(self, o: SimOrder) -> bool:
        if o.tif != "GTD" or not o.good_till_date:
            return False
        until = parse_ib_time(o.good_till_date, self.local_tz)
        return until is not None and self._now() >= until

    def _conditions_hold(self, o: SimOrder) -> bool:
        c = BY_CONID[o.con_id]
        if self.trading_hours and not o.conditions_ignore_rth \
                and not is_open(c.liquid_hours, c.time_zone, self._now()):
            return False
        world = World(self.market, self._now(), self.local_tz,
                      lambda: self.book_of(o).values(self.market.mark)["Cushion"],
                      lambda sec, exch, sym: self._traded_since(o, sec, sym))
        return all_hold(o.conditions, world)

    def _traded_since(self, o: SimOrder, sec_type: str, symbol: str) -> bool:
        for e in reversed(self.executions):
            if e.epoch < o.placed_at:
                return False
            c = BY_CONID[e.con_id]
            if c.symbol == symbol.upper() and sec_type.upper() in ("", c.sec_type) and e.account == o.account:
                return True
        return False

    def _work(self, o: SimOrder, passive: bool = False) -> list[Event]:
        """Move one order on as far as it goes now: expiry, parent, conditions, hours, trailing,
        trigger, then matching (``passive``: the last trade may fill a pegged order resting at
        or through it)."""
        if o.is_done or not o.transmit:
            return []
        if self._expired(o):
            return self._cancelled(o, BY_SYSTEM)
        if o.awaiting_parent:
            return []
        if o.conditions and not o.conditions_met:
            if not self._conditions_hold(o):
                return []
            if o.conditions_cancel_order:
                return self._cancelled(o, BY_SYSTEM)
            o.conditions_met = True
        if ot.auction(o) or not self._in_hours(o):
            return self._refresh(o)
        c, q = BY_CONID[o.con_id], self.market.quote(o.con_id)
        if o.order_type in ot.TRAILING:
            ot.trail(o, q, c)
        if o.order_type in ot.TRIGGERED and not o.triggered:
            if not ot.trigger_hit(o, q):
                return self._refresh(o)
            o.triggered = True
            ot.on_trigger(o)
        return self._refresh(o) + self._match(o, c, passive)

    def _match(self, o: SimOrder, c: ContractSpec, passive: bool) -> list[Event]:
        q = self.market.quote(o.con_id)
        buy = o.action == "BUY"
        touch = q.ask if buy else q.bid
        events: list[Event] = []
        if o.order_type == "MTL" and o.lmt_price is None:  # the rest works at the first fill's price
            o.lmt_price = touch
        limit = ot.limit(o, q, c)
        if limit is not None and (touch > limit if buy else touch < limit):
            if passive and o.order_type in ot.PEGGED and q.traded and (q.last <= limit if buy else q.last >= limit):
                events += self._fill(o, c, min(o.remaining, self._chunk(c)), limit)
            return events + self._ioc(o)
        chunk = self._chunk(c)
        n = 0
        while o.remaining > EPS and n < self.max_chunks and not o.is_done:
            qty = o.remaining if n == self.max_chunks - 1 else min(o.remaining, chunk)
            price = round(touch + (n * c.min_tick if buy else -n * c.min_tick), 10)
            if limit is not None and (price > limit if buy else price < limit):
                break
            events += self._fill(o, c, qty, price)
            n += 1
        if o.order_type == "MTL" and not o.is_done and o.filled > 0:
            events.append(OrderEvent("open", o))  # now a limit order at the first fill's price
        return events + self._ioc(o)

    def _ioc(self, o: SimOrder) -> list[Event]:
        """IOC: what could not fill at once is cancelled."""
        if o.tif == "IOC" and not o.is_done and o.remaining > EPS:
            return self._cancelled(o, BY_SYSTEM)
        return []

    def _fill(self, o: SimOrder, c: ContractSpec, qty: float, price: float) -> list[Event]:
        now = self._now()
        prev_comm = commission_for(c, o.filled, o.avg_fill_price or price)
        new_filled = o.filled + qty
        avg = (o.avg_fill_price * o.filled + price * qty) / new_filled
        comm = round(commission_for(c, new_filled, avg) - prev_comm, 2)
        realized = self.book_of(o).apply_fill(o.con_id, o.action, qty, price, comm)
        o.filled, o.avg_fill_price, o.last_fill_price = new_filled, avg, price
        o.commission += comm
        exec_id = f"0000e215.{0x656d0000 + self.exec_seq:08x}.01.01"
        self.exec_seq += 1
        o.exec_ids.append(exec_id)
        ex = SimExecution(
            exec_id=exec_id, order_id=o.order_id, client_id=o.client_id, perm_id=o.perm_id,
            con_id=o.con_id, side="BOT" if o.action == "BUY" else "SLD", shares=qty, price=price,
            cum_qty=new_filled, avg_price=avg, time=ib_time(now), account=o.account,
            exchange=c.primary_exchange or c.exchange, order_ref=o.order_ref, commission=comm,
            realized_pnl=realized if abs(realized) > 1e-12 else None, epoch=now)
        self.executions.append(ex)
        events: list[Event] = [OrderEvent("exec", o, ex)]
        if o.remaining <= EPS:
            o.status = "Filled"
            o.completed_status = "Filled Size: " + str(int(new_filled)) if math.isfinite(new_filled) else "Filled"
            o.completed_time = ib_time(now)
            events.append(OrderEvent("open", o))
        events += [OrderEvent("status", o), OrderEvent("commission", o, ex)]
        return events + self._after_fill(o, qty)

    # --- what a fill sets off ------------------------------------------------------
    def _after_fill(self, o: SimOrder, qty: float) -> list[Event]:
        """The other members of the order's OCA group are cancelled or reduced; once the order
        is filled its children become active."""
        events: list[Event] = []
        if self._oca_key(o) is not None:
            kind = self._oca_type(o)
            if kind == OCA_REDUCE:
                self._deferred.append((o, qty))
            else:
                events += self._oca_apply(o, qty, kind)
        if o.status == "Filled":
            for child in self._children(o):
                if child.awaiting_parent and not child.is_done:
                    child.awaiting_parent = False
                    events += self._refresh(child) + self._work(child)
        return events

    @staticmethod
    def _oca_key(o: SimOrder) -> OcaKey | None:
        """An order's OCA group: its ocaGroup, or, for a bracket's children, their parent."""
        if o.oca_group:
            return "oca", o.account, o.oca_group
        if o.parent_id:
            return "bracket", o.client_id, o.parent_id
        return None

    @staticmethod
    def _oca_type(o: SimOrder) -> int:
        """A bracket's children reduce each other with block (a full fill cancels the other
        child); an OCA group uses its ocaType (cancel with block when none is given)."""
        if not o.oca_group:
            return OCA_REDUCE_BLOCK
        return o.oca_type if o.oca_type in (OCA_CANCEL, OCA_REDUCE_BLOCK, OCA_REDUCE) else OCA_CANCEL

    def _oca_apply(self, o: SimOrder, qty: float, kind: int) -> list[Event]:
        key = self._oca_key(o)
        if key is None:
            return []
        events: list[Event] = []
        for x in list(self._oca_members(key)):
            if x is o or x.is_done:
                continue
            if kind == OCA_CANCEL:
                events += self._cancelled(x, BY_SYSTEM)
                continue
            base = o.orig_qty or o.total_qty
            cut = qty * (x.orig_qty or x.total_qty) / base if base else qty
            x.total_qty = max(x.filled, round(x.total_qty - cut, 8))
            if x.remaining <= EPS:
                events += self._cancelled(x, BY_SYSTEM)
            else:
                events += [OrderEvent("open", x), OrderEvent("status", x)]
        return events

    def _flush_oca(self) -> list[Event]:
        """Apply the reductions of OCA groups without block (after the fills of one pass)."""
        events: list[Event] = []
        while self._deferred:
            o, qty = self._deferred.pop(0)
            events += self._oca_apply(o, qty, OCA_REDUCE)
        return events

