"""A trading process for the kill -9 test: connects to the simulator, then places orders in a
loop (working limit orders and filling market orders), printing ``ORDER <id>`` after each
placement and ``FILL <exec_id>`` from the fill callback, until it is killed.

Usage: python -m tests.resilience.trader_process <port> <client_id> <work_dir>
"""

from __future__ import annotations

import sys
from pathlib import Path

from platform_adapter import PlatformAdapter
from tests.resilience.conftest import adapter_settings


def main(port: int, client_id: int, work_dir: Path) -> None:
    pa = PlatformAdapter(settings=adapter_settings(work_dir, port, client_id), configure_logging=False)
    pa.orders.on_fill(lambda fill: print("FILL", fill.exec_id, flush=True))
    if not pa.connect():
        print("FAILED", pa.connection.last_error, flush=True)
        sys.exit(1)
    print("READY", flush=True)
    for i in range(10_000):
        if i % 2:
            order_id = pa.orders.place_order("MSFT", "BUY", 1, "MKT")
        else:
            order_id = pa.orders.place_order("AAPL", "BUY", 1, "LMT", limit_price=100.0, tif="GTC")
        print("ORDER", order_id, flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]))
