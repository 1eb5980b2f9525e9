"""Turn the library's models into what the shell prints: one-line strings and rich tables (pure
functions; :func:`platform_adapter.cli.render.plain` gives their text)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from platform_adapter.cli.render import UNITS, key_value, money, price, qty, ratio, signed_money, table, when
from platform_adapter.models import AccountSummary, Bar, ConnectionStatus, Order, OrderPreview, PnL, Position, Quote


def position_line(p: Position) -> str:
    """``AAPL: 100 shares @ $149.50`` (spec appendix A)."""
    sec_type = getattr(p.contract, "sec_type", None)
    unit = UNITS.get(str(getattr(sec_type, "value", sec_type) or "STK"), "shares")
    return f"{p.symbol}: {qty(p.quantity)} {unit} @ {money(p.avg_cost)}"


def positions_text(positions: Sequence[Position]) -> str:
    if not positions:
        return "No positions"
    return "\n".join(position_line(p) for p in sorted(positions, key=lambda p: (p.account, p.symbol)))


STATUS_STYLES = {"Filled": "green", "Cancelled": "red", "ApiCancelled": "red", "Inactive": "red",
                 "Submitted": "cyan", "PreSubmitted": "cyan"}


def quotes_table(quotes: Mapping[str, Quote | None], updates: Mapping[str, int] | None = None) -> RenderableType:
    if not quotes:
        return "No subscriptions (use: subscribe SYMBOL...)"
    rows: list[list[Any]] = []
    for symbol in sorted(quotes):
        q = quotes[symbol]
        name = Text(symbol, style="bold")
        if q is None:
            rows.append([name, None, None, None, None, None, None, Text("waiting", style="yellow"),
                         (updates or {}).get(symbol, 0)])
            continue
        age = Text("stale", style="yellow") if q.stale else ("-" if q.age == float("inf") else f"{q.age:.1f}s")
        rows.append([name, Text(price(q.bid), style="green"), Text(price(q.ask), style="red"), price(q.last),
                     qty(q.bid_size), qty(q.ask_size), qty(q.volume), age, (updates or {}).get(symbol, 0)])
    return table(["Symbol", "Bid", "Ask", "Last", "BidSize", "AskSize", "Volume", "Age", "Updates"], rows)


def bars_table(bars: Iterable[Any], limit: int = 20, title: str | None = None) -> RenderableType:
    """A table of the last ``limit`` bars: ``Bar`` models or DataFrame rows as dicts."""
    rows: list[list[Any]] = []
    for b in list(bars)[-limit:]:
        if isinstance(b, Bar):
            rows.append([when(b.time), price(b.open), price(b.high), price(b.low), price(b.close), qty(b.volume)])
        else:
            rows.append([str(b.get("time", "")), price(b.get("open")), price(b.get("high")), price(b.get("low")),
                         price(b.get("close")), qty(b.get("volume"))])
    if not rows:
        return "No bars"
    return table(["Time (UTC)", "Open", "High", "Low", "Close", "Volume"], rows, title=title)


def frame_rows(df: Any) -> list[dict[str, Any]]:
    """DataFrame (time index or column) -> list of dicts with a ``time`` key."""
    out = []
    for idx, row in df.iterrows():
        d = {k: row[k] for k in df.columns}
        d.setdefault("time", idx)
        t = d["time"]
        d["time"] = t.strftime("%Y-%m-%d %H:%M:%S") if hasattr(t, "strftime") else str(t)
        out.append(d)
    return out


def orders_table(orders: Sequence[Order], empty: str = "No open orders") -> RenderableType:
    if not orders:
        return empty
    rows: list[list[Any]] = []
    for o in sorted(orders, key=lambda o: o.order_id):
        r, s = o.request, o.status
        rows.append([o.order_id, Text(o.symbol, style="bold"), r.action.value, qty(r.quantity), r.order_type.value,
                     price(r.limit_price), price(r.stop_price), r.tif.value,
                     Text(s.status.value, style=STATUS_STYLES.get(s.status.value, "")), qty(s.filled),
                     price(s.avg_fill_price) if s.filled else "-"])
    return table(["ID", "Symbol", "Side", "Qty", "Type", "Limit", "Stop", "TIF", "Status", "Filled", "AvgPrice"],
                 rows)


def account_text(summary: AccountSummary) -> RenderableType:
    pairs: list[tuple[str, Any]] = [
        ("Account", summary.account),
        ("Currency", summary.currency),
        ("Net liquidation", money(summary.net_liquidation)),
        ("Total cash", money(summary.total_cash)),
        ("Buying power", money(summary.buying_power)),
        ("Available funds", money(summary.available_funds)),
        ("Excess liquidity", money(summary.excess_liquidity)),
        ("Initial margin", money(summary.initial_margin)),
        ("Maintenance margin", money(summary.maintenance_margin)),
        ("Gross position value", money(summary.gross_position_value)),
        ("Realized PnL", signed_money(summary.realized_pnl)),
        ("Unrealized PnL", signed_money(summary.unrealized_pnl)),
        ("Updated", when(summary.updated_at)),
    ]
    return key_value(pairs)


def pnl_text(pnl: PnL) -> Text:
    return Text.assemble(f"{pnl.account}: daily ", signed_money(pnl.daily), ", unrealized ",
                         signed_money(pnl.unrealized), ", realized ", signed_money(pnl.realized))


def status_text(status: ConnectionStatus) -> RenderableType:
    state = status.state.value
    pairs: list[tuple[str, Any]] = [
        ("State", Text(state, style="green" if state == "CONNECTED" else "yellow")),
        ("Gateway", f"{status.host}:{status.port}"),
        ("Client id", status.client_id),
        ("Server version", status.server_version),
        ("Accounts", ", ".join(status.accounts) or "-"),
        ("Connected since", when(status.connected_since)),
        ("Uptime", f"{status.uptime_seconds:.0f}s"),
        ("Reconnects", status.reconnect_count),
        ("Last heartbeat", when(status.last_heartbeat)),
        ("IB link", Text("ok", style="green") if status.ib_link_ok
         else Text("LOST (orders blocked, data stale)", style="bold red")),
    ]
    if status.last_error:
        pairs.append(("Last error", status.last_error))
    return key_value(pairs)


METRIC_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Connection", ("connection_state", "connection_uptime_seconds", "reconnection_count", "last_heartbeat",
                    "ib_link_ok")),
    ("Market data", ("active_subscriptions", "market_data_update_frequency_per_second", "market_data_updates_total",
                     "missing_ticks", "stale_quotes")),
    ("Orders", ("orders_placed_today", "fill_rate", "avg_execution_time_seconds", "rejection_rate")),
    ("Performance", ("callback_processing_time_mean_ms", "callback_processing_time_max_ms",
                     "message_queue_length", "memory_rss_bytes")),
)


def metrics_text(values: Mapping[str, Any]) -> RenderableType:
    parts: list[RenderableType] = []
    shown: set[str] = set()
    for title, keys in METRIC_GROUPS:
        pairs = []
        for k in keys:
            v = values.get(k)
            if k in ("fill_rate", "rejection_rate"):
                v = ratio(v)
            elif k == "memory_rss_bytes" and isinstance(v, (int, float)):
                v = f"{v / 2**20:.1f} MiB"
            elif isinstance(v, float):
                v = f"{v:.4g}"
            pairs.append((k, v))
            shown.add(k)
        parts += [Text(f"{title}:", style="bold"), key_value(pairs, indent=2)]
    others = [(k, v) for k, v in sorted(values.items()) if k not in shown]
    if others:
        parts += [Text("Other counters:", style="bold"), key_value(others, indent=2)]
    return Group(*parts)


def preview_text(p: OrderPreview) -> RenderableType:
    """A what-if answer: margins and equity before, change and after; the commission."""
    def amount(value: float | None) -> str:
        return "-" if value is None else f"{value:,.2f}"

    r = p.request
    t = table(["", "before", "change", "after"],
              [[name, amount(change.before), amount(change.change), amount(change.after)]
               for name, change in (("Initial margin", p.initial_margin),
                                    ("Maintenance margin", p.maintenance_margin),
                                    ("Equity with loan", p.equity_with_loan))],
              title=f"Preview of {r.action.value} {r.quantity} {r.contract.key} {r.order_type.value} (nothing placed)")
    lines: list[RenderableType] = [t, f"Commission: {amount(p.commission)} {p.commission_currency}".rstrip()]
    if p.warning:
        lines.append(Text(f"Warning: {p.warning}", style="yellow"))
    return Group(*lines)
