"""The facade works against a gateway of an old server version: ibapi's own minimum (100) and the
last version before ib_async's range (156). ibapi decodes the old layouts itself (the fast
decoders decline what they do not cover); the adapter must send only what ibapi will send there.

One scripted session per version: connect, a quote, history, a limit order placed and cancelled,
a market order filled with its commission, the position it leaves, PnL and tick-by-tick where the
gateway has them (127 / 140 on; before, the facade raises IB's 503 at once), and no request ibapi
refuses (no error recorded on the connection).
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from ibapi.server_versions import MIN_SERVER_VER_PNL, MIN_SERVER_VER_TICK_BY_TICK_IGNORE_SIZE

from platform_adapter import OrderState, PlatformAdapter
from platform_adapter.errors import IBError
from platform_adapter.sim import SimulatedGateway
from tests.conftest import LOOPBACK, Recorder, adapter_settings, wait_for


@pytest.mark.parametrize("version", [100, 156])
def test_a_session_at_an_old_server_version(version: int, tmp_path: Path) -> None:
    with SimulatedGateway(host=LOOPBACK, port=0, seed=7, tick_interval=0.05, server_version=version) as gw:
        pa = PlatformAdapter(settings=adapter_settings(tmp_path, gw.port, 1), configure_logging=False)
        try:
            assert pa.connect(), pa.connection.last_error
            status = pa.connection.get_connection_status()
            assert status.server_version == version and status.accounts == ("DU1234567",)

            quotes, fills = Recorder(), Recorder()
            pa.market_data.subscribe_quotes(["AAPL"], quotes)
            wait_for(lambda: any(q.bid and q.ask and q.last for _, q in quotes.calls))
            quote = pa.market_data.get_quote("AAPL")
            assert quote.bid < quote.ask and quote.bid_size > 0

            end = datetime(2026, 11, 25, 21, tzinfo=timezone.utc)
            history = pa.market_data.get_historical_data("AAPL", "2 D", "1 hour", end=end)
            assert len(history) > 0 and (history["low"] <= history["high"]).all()

            pa.orders.on_fill(fills)
            limit = pa.orders.place_order("AAPL", "BUY", 10, "LMT", limit_price=100.0)
            pa.orders.wait_for_status(limit, OrderState.SUBMITTED, timeout=5)
            pa.orders.cancel_order(limit)
            assert pa.orders.wait_for_status(limit, OrderState.CANCELLED, timeout=5).filled == Decimal(0)
            market = pa.orders.place_order("AAPL", "BUY", 100, "MKT")
            filled = pa.orders.wait_for_status(market, OrderState.FILLED, timeout=5)
            assert (filled.filled, filled.remaining) == (Decimal(100), Decimal(0)) and filled.avg_fill_price > 0
            (fill,), = fills.wait(1)
            assert (fill.order_id, fill.quantity, fill.side, fill.commission) == (market, Decimal(100), "BOT", 1.0)

            wait_for(lambda: any(p.symbol == "AAPL" for p in pa.account.get_positions()))
            (position,) = [p for p in pa.account.get_positions() if p.symbol == "AAPL"]
            assert position.quantity == Decimal(100)
            assert round(position.avg_cost, 6) == round(filled.avg_fill_price + fill.commission / 100, 6)

            if version < MIN_SERVER_VER_TICK_BY_TICK_IGNORE_SIZE:
                with pytest.raises(IBError, match="503.*no tick-by-tick data"):
                    pa.market_data.subscribe_tick_by_tick("AAPL", "BidAsk", Recorder())
            if version < MIN_SERVER_VER_PNL:  # the adapter asks nothing ibapi would refuse
                with pytest.raises(IBError, match="503"):
                    pa.account.get_pnl()
            else:
                assert pa.account.get_pnl().account == "DU1234567"
            assert pa.connection.get_connection_status().last_error == ""
        finally:
            pa.disconnect()
