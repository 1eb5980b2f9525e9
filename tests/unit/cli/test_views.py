"""What the shell prints for the library's models."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from platform_adapter.cli import render, views
from platform_adapter.models import (
    AccountSummary,
    ConnectionState,
    ConnectionStatus,
    ContractSpec,
    OrderAction,
    OrderState,
    OrderType,
    PnL,
    Position,
    Quote,
    SecType,
    Trade,
)
from platform_adapter.models.order import OrderRequest


def test_position_line_matches_appendix_a() -> None:
    pos = Position("DU1", "AAPL", ContractSpec("AAPL"), Decimal("100"), 149.5)
    assert views.position_line(pos) == "AAPL: 100 shares @ $149.50"


def test_position_units_and_fractions() -> None:
    fut = Position("DU1", "ES", ContractSpec("ES", SecType.FUTURE, "CME", last_trade_date="202703"), Decimal("-2"),
                   265012.5)
    assert views.position_line(fut) == "ES: -2 contracts @ $265,012.50"
    frac = Position("DU1", "SPY", ContractSpec("SPY"), Decimal("0.50"), 10)
    assert views.position_line(frac) == "SPY: 0.5 shares @ $10.00"
    assert views.positions_text([]) == "No positions"


def test_quotes_table_has_every_symbol_and_waiting_rows() -> None:
    q = Quote("AAPL", bid=149.5, ask=149.51, last=149.5, bid_size=Decimal(100), ask_size=Decimal(200),
              volume=Decimal(1000))
    text = render.plain(views.quotes_table({"AAPL": q, "MSFT": None}, {"AAPL": 3}))
    lines = text.splitlines()
    assert lines[0].split()[:4] == ["Symbol", "Bid", "Ask", "Last"]
    assert lines[2].split()[:4] == ["AAPL", "149.50", "149.51", "149.50"]
    assert lines[2].split()[-1] == "3"
    assert "waiting" in lines[3]
    assert "No subscriptions" in render.plain(views.quotes_table({}))


def test_orders_table() -> None:
    req = OrderRequest(ContractSpec("AAPL"), OrderAction.BUY, Decimal(100), OrderType.LIMIT, limit_price=150.0)
    trade = Trade(1001, req, status=OrderState.SUBMITTED, remaining=Decimal(100))
    text = render.plain(views.orders_table([trade.snapshot()]))
    row = text.splitlines()[2].split()
    assert row[:6] == ["1001", "AAPL", "BUY", "100", "LMT", "150.00"]
    assert "Submitted" in row
    assert views.orders_table([]) == "No open orders"


def test_account_pnl_status_text() -> None:
    summary = AccountSummary("DU1", net_liquidation=1_000_000.0, buying_power=4e6)
    text = render.plain(views.account_text(summary))
    assert "Net liquidation" in text and "$1,000,000.00" in text and "$4,000,000.00" in text
    pnl = render.plain(views.pnl_text(PnL("DU1", 1.5, -2.0, 0.0)))
    assert pnl == "DU1: daily $1.50, unrealized -$2.00, realized $0.00"
    st = ConnectionStatus(ConnectionState.CONNECTED, "127.0.0.1", 4002, 3, 176, ("DU1",),
                          last_error="boom")
    status = render.plain(views.status_text(st))
    assert "127.0.0.1:4002" in status and "CONNECTED" in status and "boom" in status


def test_metrics_text_groups() -> None:
    text = render.plain(views.metrics_text({"connection_state": "CONNECTED", "fill_rate": 0.5,
                                            "memory_rss_bytes": 2**21, "custom_counter": 4}))
    assert "Connection:" in text and "Orders:" in text and "Performance:" in text
    assert "50.0%" in text and "2.0 MiB" in text and "custom_counter" in text
    assert "  fill_rate                   50.0%" in text.splitlines()


def test_bars_table_from_frame_rows() -> None:
    import pandas as pd

    t0 = datetime(2026, 1, 2, 15, tzinfo=timezone.utc)
    df = pd.DataFrame({"open": [1.0, 2.0], "high": [2.0, 3.0], "low": [0.5, 1.5], "close": [1.5, 2.5],
                       "volume": [Decimal(10), Decimal(20)]},
                      index=pd.DatetimeIndex([t0, t0 + timedelta(hours=1)], name="time"))
    rows = views.frame_rows(df)
    assert rows[0]["time"] == "2026-01-02 15:00:00"
    lines = render.plain(views.bars_table(rows)).splitlines()
    assert lines[3].split() == ["2026-01-02", "16:00:00", "2.00", "3.00", "1.50", "2.50", "20"]
    assert views.bars_table([]) == "No bars"
