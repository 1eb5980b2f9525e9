"""Paper account: cash, positions, average cost, realized PnL, margin figures."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .contracts import BY_CONID, ContractSpec


@dataclass(frozen=True, slots=True)
class MarginPreview:
    """What a what-if order answers: the account's margins and equity with loan before and after
    the order would fill, and IB's commission estimate for it."""

    init_before: float
    maint_before: float
    equity_before: float
    init_after: float
    maint_after: float
    equity_after: float
    commission: float
    min_commission: float
    max_commission: float
    currency: str = "USD"

    @property
    def init_change(self) -> float:
        return self.init_after - self.init_before

    @property
    def maint_change(self) -> float:
        return self.maint_after - self.maint_before

    @property
    def equity_change(self) -> float:
        return self.equity_after - self.equity_before


@dataclass
class Position:
    """Net position; avg_cost is per unit times multiplier, incl. commissions (IB style)."""

    qty: float = 0.0
    avg_cost: float = 0.0
    realized: float = 0.0


def margin_rates(c: ContractSpec) -> tuple[float, float]:
    """(initial, maintenance) margin as a fraction of market value."""
    if c.sec_type == "FUT":
        return 0.06, 0.05
    if c.sec_type == "CASH":
        return 0.03, 0.025
    return 0.25, 0.25


class Account:
    """A DU paper account in USD."""

    def __init__(self, account_id: str = "DU1234567", starting_cash: float = 1_000_000.0) -> None:
        self.account_id = account_id
        self.starting_cash = starting_cash
        self.cash = starting_cash
        self.positions: dict[int, Position] = {}
        self.realized = 0.0
        self.commissions = 0.0

    def seed_position(self, con_id: int, qty: float, avg_price: float) -> None:
        """Start with ``qty`` units bought at ``avg_price`` (cash reduced as if bought)."""
        mult = BY_CONID[con_id].mult
        self.positions[con_id] = Position(qty=qty, avg_cost=avg_price * mult)
        if BY_CONID[con_id].sec_type != "FUT":
            self.cash -= qty * avg_price * mult

    # --- trading ---------------------------------------------------------------
    def apply_fill(self, con_id: int, side: str, qty: float, price: float,
                   commission: float) -> float:
        """Book a fill; returns the realized PnL of this fill (net of commission)."""
        c = BY_CONID[con_id]
        mult = c.mult
        signed = qty if side == "BUY" else -qty
        pos = self.positions.setdefault(con_id, Position())
        realized = 0.0
        self.commissions += commission
        if c.sec_type == "FUT":
            self.cash -= commission
        else:
            self.cash -= signed * price * mult + commission
        if pos.qty == 0 or (pos.qty > 0) == (signed > 0):
            new_qty = pos.qty + signed
            cost = pos.avg_cost * abs(pos.qty) + price * mult * qty + commission
            pos.avg_cost = cost / abs(new_qty)
            pos.qty = new_qty
        else:
            closing = min(abs(signed), abs(pos.qty))
            direction = 1.0 if pos.qty > 0 else -1.0
            realized = (price * mult - pos.avg_cost) * closing * direction - commission
            if c.sec_type == "FUT":
                self.cash += (price * mult - pos.avg_cost) * closing * direction
            pos.qty += signed
            rest = abs(signed) - closing
            if abs(pos.qty) < 1e-12:
                pos.qty = 0.0
            if rest > 1e-12:
                pos.avg_cost = price * mult
        pos.realized += realized
        self.realized += realized
        return realized

    # --- valuation ---------------------------------------------------------------
    def unrealized(self, con_id: int, mark: float) -> float:
        """Unrealized PnL of one position at a mark price."""
        pos = self.positions.get(con_id)
        if not pos or pos.qty == 0:
            return 0.0
        return (mark * BY_CONID[con_id].mult - pos.avg_cost) * pos.qty

    def values(self, mark: Callable[[int], float]) -> dict[str, float]:
        """Core monetary figures in USD."""
        gross = stock_value = unreal = init = maint = fut_pnl = 0.0
        for con_id, pos in self.positions.items():
            if pos.qty == 0:
                continue
            c = BY_CONID[con_id]
            value = pos.qty * mark(con_id) * c.mult
            u = self.unrealized(con_id, mark(con_id))
            unreal += u
            gross += abs(value)
            im, mm = margin_rates(c)
            init += abs(value) * im
            maint += abs(value) * mm
            if c.sec_type == "FUT":
                fut_pnl += u
            else:
                stock_value += value
        net_liq = self.cash + stock_value + fut_pnl
        avail = net_liq - init
        excess = net_liq - maint
        return {
            "NetLiquidation": net_liq, "TotalCashValue": self.cash, "SettledCash": self.cash,
            "AccruedCash": 0.0, "BuyingPower": max(0.0, avail * 4), "EquityWithLoanValue": net_liq,
            "PreviousDayEquityWithLoanValue": self.starting_cash, "GrossPositionValue": gross,
            "ReqTEquity": net_liq, "ReqTMargin": init, "SMA": max(0.0, avail),
            "InitMarginReq": init, "MaintMarginReq": maint, "AvailableFunds": avail,
            "ExcessLiquidity": excess, "FullInitMarginReq": init, "FullMaintMarginReq": maint,
            "FullAvailableFunds": avail, "FullExcessLiquidity": excess,
            "LookAheadInitMarginReq": init, "LookAheadMaintMarginReq": maint,
            "LookAheadAvailableFunds": avail, "LookAheadExcessLiquidity": excess,
            "RealizedPnL": self.realized, "UnrealizedPnL": unreal, "StockMarketValue": stock_value,
            "CashBalance": self.cash, "FuturesPNL": fut_pnl, "NetLiquidationByCurrency": net_liq,
            "Cushion": excess / net_liq if net_liq else 0.0,
            "Leverage": gross / net_liq if net_liq else 0.0,
        }

    def required_initial_margin(self, con_id: int, qty: float, price: float) -> float:
        """Initial margin an order would add."""
        c = BY_CONID[con_id]
        return abs(qty) * price * c.mult * margin_rates(c)[0]

    def preview(self, con_id: int, side: str, qty: float, commission: float,
                mark: Callable[[int], float]) -> MarginPreview:
        """Margins and equity with loan now and as if ``qty`` of ``con_id`` were bought or sold
        (``side``) at the mark, paying ``commission``; nothing changes."""
        vals = self.values(mark)
        c = BY_CONID[con_id]
        held = self.positions[con_id].qty if con_id in self.positions else 0.0
        after = held + (qty if side == "BUY" else -qty)
        value = mark(con_id) * c.mult
        im, mm = margin_rates(c)
        init, maint, equity = vals["InitMarginReq"], vals["MaintMarginReq"], vals["EquityWithLoanValue"]
        return MarginPreview(
            init_before=init, maint_before=maint, equity_before=equity,
            init_after=init + (abs(after) - abs(held)) * value * im,
            maint_after=maint + (abs(after) - abs(held)) * value * mm,
            equity_after=equity - commission, commission=commission, min_commission=commission,
            max_commission=commission, currency=c.currency)

    # --- persistence ---------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """Serializable form."""
        return {"account_id": self.account_id, "starting_cash": self.starting_cash,
                "cash": self.cash, "realized": self.realized, "commissions": self.commissions,
                "positions": {str(k): [p.qty, p.avg_cost, p.realized]
                              for k, p in self.positions.items()}}

    def load_json(self, d: dict[str, Any]) -> None:
        """Restore from to_json output."""
        self.cash = float(d["cash"])
        self.realized = float(d.get("realized", 0.0))
        self.commissions = float(d.get("commissions", 0.0))
        self.positions = {int(k): Position(float(v[0]), float(v[1]), float(v[2]))
                          for k, v in d.get("positions", {}).items()}
