"""Paper matching engine: MKT/LMT/STP/STP LMT, DAY/GTC/IOC, partial fills, IB codes."""

from __future__ import annotations

import copy
import datetime as dt
import math
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from .account import Account
from .contracts import BY_CONID, ContractSpec
from .market import Market, on_tick
from .orders import SimExecution, SimOrder

EXEC_TZ = "US/Eastern"
ORDER_TYPES = {"MKT", "LMT", "STP", "STP LMT"}
TEXT_110 = "The price does not conform to the minimum price variation for this contract."
TEXT_201 = "Order rejected - reason:"


@dataclass
class OrderEvent:
    """Something the owning client must be told about an order (order state snapshot)."""

    kind: str  # "open", "status", "exec", "commission"
    order: SimOrder
    execution: SimExecution | None = None

    def __post_init__(self) -> None:
        self.order = copy.copy(self.order)


@dataclass
class ErrorEvent:
    """An error for a client about one of its orders."""

    client_id: int
    req_id: int
    code: int
    text: str


Event = OrderEvent | ErrorEvent


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
                 max_chunks: int = 10) -> None:
        self.account = account
        self.market = market
        self.partial_fill_size = partial_fill_size
        self.max_chunks = max_chunks
        self.orders: dict[tuple[int, int], SimOrder] = {}
        self.executions: list[SimExecution] = []
        self.next_perm_id = 1_351_823_000
        self.exec_seq = 1
        self.reject_next: str | None = None
        self.order_id_high_water = 0

    # --- helpers -----------------------------------------------------------------
    def _chunk(self, c: ContractSpec) -> float:
        return self.partial_fill_size * (1000 if c.sec_type == "CASH" else 1)

    def open_orders(self, client_id: int | None = None) -> list[SimOrder]:
        """Working orders (optionally of one client)."""
        return [o for o in self.orders.values()
                if not o.is_done and (client_id is None or o.client_id == client_id)]

    def _validate_prices(self, o: SimOrder, c: ContractSpec) -> ErrorEvent | None:
        if o.order_type not in ORDER_TYPES:
            return ErrorEvent(o.client_id, o.order_id, 387, f"Unsupported order type: {o.order_type}")
        if o.total_qty <= 0:
            return ErrorEvent(o.client_id, o.order_id, 434, "The order size cannot be zero.")
        if o.order_type in ("LMT", "STP LMT") and (o.lmt_price is None or o.lmt_price <= 0):
            return ErrorEvent(o.client_id, o.order_id, 321,
                              "Error validating request.-'bO' : cause - Missing order price")
        if o.order_type in ("STP", "STP LMT") and (o.aux_price is None or o.aux_price <= 0):
            return ErrorEvent(o.client_id, o.order_id, 321,
                              "Error validating request.-'bO' : cause - Missing stop price")
        for p in (o.lmt_price, o.aux_price):
            if p is not None and p > 0 and not on_tick(p, c.min_tick):
                return ErrorEvent(o.client_id, o.order_id, 110, TEXT_110)
        return None

    # --- requests ------------------------------------------------------------------
    def place(self, o: SimOrder) -> list[Event]:
        """New order or modification (same client and order id)."""
        c = BY_CONID[o.con_id]
        self.order_id_high_water = max(self.order_id_high_water, o.order_id)
        existing = self.orders.get((o.client_id, o.order_id))
        err = self._validate_prices(o, c)
        if err:
            return [err]
        if existing is not None:
            return self._modify(existing, o)
        if self.reject_next is not None:
            reason, self.reject_next = self.reject_next, None
            return [ErrorEvent(o.client_id, o.order_id, 201, TEXT_201 + reason)]
        price = self._ref_price(o)
        if o.action == "BUY" or c.sec_type != "STK":
            need = self.account.required_initial_margin(o.con_id, o.total_qty, price)
            avail = self.account.values(self.market.mark)["AvailableFunds"]
            if need > avail:
                return [ErrorEvent(o.client_id, o.order_id, 201, TEXT_201 + (
                    f"YOUR ORDER IS NOT ACCEPTED. IN ORDER TO OBTAIN THE DESIRED POSITION YOUR "
                    f"EQUITY WITH LOAN VALUE [{avail:.2f} USD] MUST EXCEED THE INITIAL MARGIN "
                    f"[{need:.2f} USD]"))]
        o.perm_id = self.next_perm_id
        self.next_perm_id += 1
        o.status = "PreSubmitted" if o.order_type.startswith("STP") else "Submitted"
        self.orders[(o.client_id, o.order_id)] = o
        events: list[Event] = [OrderEvent("open", o), OrderEvent("status", o)]
        events += self._try_fill(o, initial=True)
        return events

    def _ref_price(self, o: SimOrder) -> float:
        q = self.market.quote(o.con_id)
        return o.lmt_price or o.aux_price or (q.ask if o.action == "BUY" else q.bid)

    def _modify(self, cur: SimOrder, new: SimOrder) -> list[Event]:
        if cur.is_done:
            return [ErrorEvent(cur.client_id, cur.order_id, 104,
                               f"Cannot modify a filled order. (state: {cur.status})")]
        if new.total_qty < cur.filled:
            return [ErrorEvent(cur.client_id, cur.order_id, 161,
                               "Cancel attempted when order is not in a cancellable state.")]
        cur.total_qty, cur.order_type = new.total_qty, new.order_type
        cur.lmt_price, cur.aux_price, cur.tif = new.lmt_price, new.aux_price, new.tif
        cur.outside_rth = new.outside_rth
        events: list[Event] = [OrderEvent("open", cur), OrderEvent("status", cur)]
        return events + self._try_fill(cur, initial=False)

    def cancel(self, client_id: int, order_id: int) -> list[Event]:
        """Cancel one order of a client."""
        o = self.orders.get((client_id, order_id))
        if o is None:
            return [ErrorEvent(client_id, order_id, 10147,
                               f"OrderId {order_id} that needs to be cancelled is not found.")]
        if o.is_done:
            return [ErrorEvent(client_id, order_id, 10148,
                               f"OrderId {order_id} that needs to be cancelled cannot be cancelled, "
                               f"state: {o.status}.")]
        return self._cancelled(o, "Cancelled by Trader")

    def _cancelled(self, o: SimOrder, why: str) -> list[Event]:
        o.status = "Cancelled"
        o.completed_status = why
        o.completed_time = ib_time(self._now())
        return [OrderEvent("status", o), OrderEvent("open", o),
                ErrorEvent(o.client_id, o.order_id, 202, "Order Canceled - reason:")]

    def global_cancel(self) -> list[Event]:
        """Cancel every working order."""
        out: list[Event] = []
        for o in self.open_orders():
            out += self._cancelled(o, "Cancelled by Trader")
        return out

    # --- matching -------------------------------------------------------------------
    def on_market(self) -> list[Event]:
        """Re-check working orders against the latest quotes."""
        out: list[Event] = []
        for o in self.open_orders():
            out += self._try_fill(o, initial=False)
        return out

    def _now(self) -> float:
        return dt.datetime.now(dt.timezone.utc).timestamp()

    def _try_fill(self, o: SimOrder, initial: bool) -> list[Event]:
        c = BY_CONID[o.con_id]
        q = self.market.quote(o.con_id)
        buy = o.action == "BUY"
        events: list[Event] = []
        if o.order_type.startswith("STP") and not o.triggered:
            hit = q.last >= (o.aux_price or 0) if buy else q.last <= (o.aux_price or 0)
            if not hit:
                return self._ioc_check(o, initial)
            o.triggered = True
            o.status = "Submitted"
            events.append(OrderEvent("status", o))
        limit = o.lmt_price if o.order_type in ("LMT", "STP LMT") else None
        touch = q.ask if buy else q.bid
        if limit is not None and (touch > limit if buy else touch < limit):
            return events + self._ioc_check(o, initial)
        chunk = self._chunk(c)
        n = 0
        while o.remaining > 1e-9 and n < self.max_chunks:
            qty = o.remaining if n == self.max_chunks - 1 else min(o.remaining, chunk)
            price = touch + (n * c.min_tick if buy else -n * c.min_tick)
            price = round(price, 10)
            if limit is not None and (price > limit if buy else price < limit):
                break
            events += self._fill(o, c, qty, price)
            n += 1
        if o.remaining > 1e-9:
            events += self._ioc_check(o, initial)
        return events

    def _ioc_check(self, o: SimOrder, initial: bool) -> list[Event]:
        if initial and o.tif == "IOC" and not o.is_done:
            return self._cancelled(o, "Cancelled by System")
        return []

    def _fill(self, o: SimOrder, c: ContractSpec, qty: float, price: float) -> list[Event]:
        now = self._now()
        prev_comm = commission_for(c, o.filled, o.avg_fill_price or price)
        new_filled = o.filled + qty
        avg = (o.avg_fill_price * o.filled + price * qty) / new_filled
        comm = round(commission_for(c, new_filled, avg) - prev_comm, 2)
        realized = self.account.apply_fill(o.con_id, o.action, qty, price, comm)
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
        if o.remaining <= 1e-9:
            o.status = "Filled"
            o.completed_status = "Filled Size: " + str(int(new_filled)) if math.isfinite(new_filled) else "Filled"
            o.completed_time = ib_time(now)
            events.append(OrderEvent("open", o))
        events += [OrderEvent("status", o), OrderEvent("commission", o, ex)]
        return events
