"""A trading process for the kill -9 tests: connects to the simulator, then places orders in a
loop (working limit orders and filling market orders), printing ``ORDER <id>`` after each
placement and ``FILL <exec_id> <possible_duplicate>`` from the fill callback, until it is killed.

With a crash point it places one market order and kills itself (SIGKILL) at that point of the
fill's path instead: ``before_write`` (before the fill's journal row is queued),
``before_callback`` (its row committed, no callback run yet), ``before_mark`` (the callback has
run, the fill is not yet marked delivered).

Every line is written with one ``write`` system call (atomic on a pipe): ``print`` from the main
thread (ORDER) and the event thread (FILL) would interleave their parts ("ORDER 7FILL ... False"
then " \n"), and a fill's line would be lost to the test reading them.

Usage: python -m tests.resilience.trader_process <port> <client_id> <work_dir> [crash point]
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from platform_adapter import PlatformAdapter
from platform_adapter.adapters.order_execution import OrderExecutionAdapter
from platform_adapter.adapters.orders.journal import OrderJournal
from tests.resilience.conftest import adapter_settings

CRASH_POINTS = ("before_write", "before_callback", "before_mark")


def die(*_: Any, **__: Any) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def say(*words: Any) -> None:
    """One line to stdout in a single write (never interleaved with another thread's line)."""
    os.write(sys.stdout.fileno(), (" ".join(map(str, words)) + "\n").encode())


def main(port: int, client_id: int, work_dir: Path, crash: str = "") -> None:
    if crash == "before_write":
        OrderJournal.record_fill = die  # type: ignore[method-assign]
    elif crash == "before_callback":
        OrderExecutionAdapter._deliver = die  # type: ignore[method-assign]
    pa = PlatformAdapter(settings=adapter_settings(work_dir, port, client_id), configure_logging=False)

    def on_fill(fill: Any) -> None:
        say("FILL", fill.exec_id, fill.possible_duplicate)
        if crash == "before_mark":
            die()

    pa.orders.on_fill(on_fill)
    if not pa.connect():
        say("FAILED", pa.connection.last_error)
        sys.exit(1)
    say("READY")
    if crash:
        say("ORDER", pa.orders.place_order("MSFT", "BUY", 1, "MKT"))
        threading.Event().wait(30)
        return
    for i in range(10_000):
        if i % 2:
            order_id = pa.orders.place_order("MSFT", "BUY", 1, "MKT")
        else:
            order_id = pa.orders.place_order("AAPL", "BUY", 1, "LMT", limit_price=100.0, tif="GTC")
        say("ORDER", order_id)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]), *sys.argv[4:5])
