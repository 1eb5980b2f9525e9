"""The spec's appendix B example, run as written against the simulator, then a market buy that
must show up in ``get_positions()`` with the right quantity and average cost."""

from __future__ import annotations

import contextlib
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from platform_adapter import PlatformAdapter
from platform_adapter.config.settings import ENV_KEYS
from tests.conftest import wait_for

APPENDIX_B = '''
from platform_adapter import PlatformAdapter

# Initialize
pa = PlatformAdapter(config_path="config.yaml")

# Connect
pa.connect()

# Subscribe to market data
def on_quote_update(symbol, data):
    print(f"{symbol}: Bid={data.bid}, Ask={data.ask}")

pa.market_data.subscribe_quotes(["AAPL", "MSFT"], on_quote_update)

# Place order
order_id = pa.orders.place_order(
    symbol="AAPL",
    action="BUY",
    quantity=100,
    order_type="LMT",
    limit_price=150.00
)

# Check positions
positions = pa.account.get_positions()
for pos in positions:
    print(f"{pos.symbol}: {pos.quantity} shares")

# Disconnect
pa.disconnect()
'''

SPEC_CONFIG = """\
ib_connection:
  host: "127.0.0.1"
  port: {port}  # the simulator
  client_id: 1
  timeout: 30
  auto_reconnect: true
  reconnect_max_attempts: 5
  reconnect_backoff: 2.0

market_data:
  max_simultaneous_subscriptions: 50
  rate_limit_requests_per_second: 40
  historical_data_max_requests_per_10min: 50

orders:
  default_time_in_force: "GTC"
  validate_before_submit: true

account:
  update_frequency_seconds: 180  # 3 minutes

logging:
  level: "INFO"
  format: "{{time:YYYY-MM-DD HH:mm:ss}} | {{level}} | {{name}}:{{function}}:{{line}} - {{message}}"
  rotation: "10 MB"
  retention: "7 days"
  log_dir: "logs"

monitoring:
  health_check_interval_seconds: 30
  metrics_enabled: true
"""


def test_appendix_b_runs_as_written_and_a_market_buy_shows_in_positions(
        gateway: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_KEYS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.yaml").write_text(SPEC_CONFIG.format(port=gateway.port), encoding="utf-8")

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        namespace: dict[str, Any] = {}
        exec(compile(APPENDIX_B, "appendix_b.py", "exec"), namespace)  # noqa: S102 - the spec's example
    example = namespace["pa"]
    assert not example.is_connected()
    (order,) = [o for o in gateway.stats().orders]
    assert (order.order_id, order.action, order.total_qty, order.order_type, order.lmt_price) == (
        namespace["order_id"], "BUY", 100, "LMT", 150.0)
    assert order.order_ref.startswith("pa-")
    assert (tmp_path / "logs" / "orders.db").is_file()

    pa = PlatformAdapter(config_path="config.yaml")
    assert pa.connect()
    try:
        assert [o.order_id for o in pa.orders.get_open_orders()] == [namespace["order_id"]]
        fills: list[Any] = []
        pa.orders.on_fill(fills.append)
        order_id = pa.orders.place_order("AAPL", "BUY", 100, "MKT")
        assert order_id > namespace["order_id"]
        status = pa.orders.wait_for_status(order_id, "Filled", timeout=10)
        wait_for(lambda: len(fills) == 1)
        (pos,) = pa.account.get_positions()
        assert (pos.symbol, pos.quantity) == ("AAPL", Decimal(100))
        fill = fills[0]
        assert pos.avg_cost == pytest.approx((fill.price * 100 + fill.commission) / 100)
        assert fill.price == pytest.approx(status.avg_fill_price)
        assert pos.avg_cost == pytest.approx(gateway.account.positions[265598].avg_cost)
    finally:
        pa.disconnect()
