"""The facade behaves the same whatever the gateway's server version: text (176, 200), binary ids
with the first protobuf families (203), everything protobuf (213) and ibapi's maximum (226).

One scripted session per version against the simulator (same seed): contract lookup, quotes,
history, real-time bars, tick-by-tick, a limit order placed, modified and cancelled, a market order
filled with its commission, positions, account summary and PnL. What the user sees (models,
values that do not depend on the clock, callback order) must be equal across versions.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
from ibapi.server_versions import MAX_CLIENT_VER

from platform_adapter import OrderState, PlatformAdapter
from platform_adapter.sim import SimulatedGateway
from tests.conftest import LOOPBACK, Recorder, adapter_settings, wait_for

VERSIONS = (176, 200, 203, 213, MAX_CLIENT_VER)


def session(version: int, tmp_path: Path) -> dict[str, Any]:
    """What a user observes in one scripted session at ``version``."""
    seen: dict[str, Any] = {}
    with SimulatedGateway(host=LOOPBACK, port=0, seed=7, tick_interval=0.05, rt_bar_interval=0.2,
                          server_version=version) as gw:
        pa = PlatformAdapter(settings=adapter_settings(tmp_path / f"v{version}", gw.port, 1), configure_logging=False)
        try:
            assert pa.connect(), pa.connection.last_error
            seen["server_version"] = pa.connection.get_connection_status().server_version
            seen["accounts"] = pa.connection.get_connection_status().accounts
            quotes, bars, ticks, statuses, fills = Recorder(), Recorder(), Recorder(), Recorder(), Recorder()
            pa.orders.on_order_status(statuses)
            pa.orders.on_fill(fills)

            pa.market_data.subscribe_quotes(["AAPL"], quotes)
            wait_for(lambda: any(q.bid and q.ask and q.last for _, q in quotes.calls))
            quote = pa.market_data.get_quote("AAPL")
            seen["quote"] = (type(quote.bid), type(quote.bid_size), quote.bid < quote.ask, quote.market_data_type)
            end = datetime(2026, 11, 25, 21, tzinfo=timezone.utc)
            seen["history"] = pa.market_data.get_historical_data("AAPL", "2 D", "1 hour", end=end)
            pa.market_data.subscribe_real_time_bars("AAPL", bars)
            bar = bars.wait(1)[0][-1]
            seen["bar"] = (type(bar).__name__, bar.low <= bar.high, bar.time.tzinfo is not None)
            pa.market_data.subscribe_tick_by_tick("AAPL", "BidAsk", ticks)
            tick = ticks.wait(1)[0][-1]
            seen["tick"] = type(tick).__name__

            limit = pa.orders.place_order("AAPL", "BUY", 10, "LMT", limit_price=100.0)
            pa.orders.wait_for_status(limit, OrderState.SUBMITTED, timeout=5)
            pa.orders.modify_order(limit, limit_price=101.0)
            wait_for(lambda: pa.orders.get_order(limit).request.limit_price == 101.0)
            pa.orders.cancel_order(limit)
            cancelled = pa.orders.wait_for_status(limit, OrderState.CANCELLED, timeout=5)
            market = pa.orders.place_order("AAPL", "BUY", 100, "MKT")
            filled = pa.orders.wait_for_status(market, OrderState.FILLED, timeout=5)
            (fill,), = fills.wait(1)
            seen["orders"] = (cancelled.filled, filled.filled, filled.remaining, filled.avg_fill_price > 0)
            seen["fill"] = (fill.order_id == market, fill.quantity, fill.side, fill.commission,
                            fill.commission_currency, fill.possible_duplicate)
            pa.events.wait_idle(5)
            seen["statuses"] = [(s.order_id == limit, s.status) for (s,) in statuses.calls]

            wait_for(lambda: any(p.symbol == "AAPL" for p in pa.account.get_positions()))
            (position,) = [p for p in pa.account.get_positions() if p.symbol == "AAPL"]
            seen["position"] = (position.quantity, round(position.avg_cost, 6) == round(filled.avg_fill_price, 6))
            summary = pa.account.get_account_summary()
            seen["summary"] = (summary.account, type(summary.net_liquidation), summary.net_liquidation > 0)
            pnl = pa.account.get_pnl()
            seen["pnl"] = type(pnl).__name__
        finally:
            pa.disconnect()
    return seen


def test_the_same_session_at_every_protocol_generation(tmp_path: Path) -> None:
    seen = {version: session(version, tmp_path) for version in VERSIONS}
    for version, observed in seen.items():
        assert observed.pop("server_version") == version
    reference = seen[176]
    assert reference["fill"] == (True, Decimal(100), "BOT", 1.0, "USD", False)
    assert reference["orders"][:3] == (Decimal(0), Decimal(100), Decimal(0))
    assert [s for limit, s in reference["statuses"] if limit][-1] is OrderState.CANCELLED
    assert len(reference["history"]) > 0
    for version in VERSIONS[1:]:
        observed = seen[version]
        pd.testing.assert_frame_equal(observed.pop("history"), reference["history"])
        assert observed == {k: v for k, v in reference.items() if k != "history"}, version
