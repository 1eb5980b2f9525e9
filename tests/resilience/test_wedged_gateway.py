"""A wedged gateway: it accepts connections but sends no version reply to the handshake, or no
nextValidId after startApi. Every attempt closes its socket, backs off with jitter and keeps its
client id (no 326 storm); after the last attempt CRITICAL is logged; when the gateway answers
again the adapter is back (within its attempts, or by connect() after it gave up)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from loguru import logger

from platform_adapter import ConnectionState
from platform_adapter.sim import SimulatedGateway
from tests.conftest import Recorder, wait_for
from tests.resilience.conftest import wait_disconnected, wait_reconnected

FAST = {"ib_connection.timeout": 0.5, "ib_connection.reconnect_backoff": 0.1, "ib_connection.reconnect_max_delay": 0.4,
        "ib_connection.reconnect_jitter": 0.2}


@pytest.fixture
def warnings() -> Iterator[list[str]]:
    """Messages logged at WARNING or above while the test runs."""
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), level="WARNING", format="{level} {message}")
    yield lines
    logger.remove(sink)


def spy_delays(pa: Any) -> list[float]:
    """Record every backoff delay the reconnect loop draws."""
    delays: list[float] = []
    draw = pa.connection.backoff_delay

    def recorded(attempt: int) -> float:
        delay: float = draw(attempt)
        delays.append(delay)
        return delay

    pa.connection.backoff_delay = recorded
    return delays


def assert_attempts_were_clean(gw: SimulatedGateway, accepted_before: int, attempts: int, log: list[str],
                               connected: bool = False) -> None:
    """Each attempt opened one socket and closed it (only the connected one is open)."""
    wait_for(lambda: gw.stats().open_connections == int(connected), timeout=10)
    assert gw.stats().connections - accepted_before == attempts
    assert not [line for line in log if "326" in line or "in use" in line], "no client id storm"


@pytest.mark.parametrize("where", ["handshake", "start_api"])
def test_reconnects_to_a_wedged_gateway_back_off_then_recover(sim_factory: Any, adapter_factory: Any,
                                                              warnings: list[str], where: str) -> None:
    gw = sim_factory()
    pa = adapter_factory(gw, **FAST, **{"ib_connection.reconnect_max_attempts": 50})
    delays = spy_delays(pa)
    accepted = gw.stats().connections
    gw.wedge(where)
    gw.drop_all_connections()
    wait_disconnected(pa)
    wait_for(lambda: len(delays) >= 4, timeout=20)
    gw.wedge(None)
    wait_reconnected(pa, 1, timeout=20)

    nominal = [min(0.1 * 2 ** k, 0.4) for k in range(len(delays))]
    assert all(abs(d - n) <= 0.2 * n + 1e-9 for d, n in zip(delays, nominal, strict=True))
    assert delays != nominal, "jittered"
    assert pa.connection.client_id == 1 and gw.stats().clients == [1]
    reason = "no version reply" if where == "handshake" else "no nextValidId"
    assert any(reason in line for line in warnings)
    assert_attempts_were_clean(gw, accepted, len(delays), warnings, connected=True)
    quotes = Recorder()
    pa.market_data.subscribe_quotes("AAPL", quotes)
    quotes.wait(1, timeout=5)


@pytest.mark.parametrize("where", ["handshake", "start_api"])
def test_a_gateway_wedged_past_the_last_attempt_logs_critical(sim_factory: Any, adapter_factory: Any,
                                                              warnings: list[str], where: str) -> None:
    gw = sim_factory()
    pa = adapter_factory(gw, **FAST, **{"ib_connection.reconnect_max_attempts": 3})
    accepted = gw.stats().connections
    gw.wedge(where)
    gw.drop_all_connections()
    wait_for(lambda: pa.connection.state is ConnectionState.FAILED, timeout=20)
    critical = [line for line in warnings if line.startswith("CRITICAL")]
    assert len(critical) == 1 and "3 reconnect attempts" in critical[0]
    assert_attempts_were_clean(gw, accepted, 3, warnings)

    assert pa.connect() is False, "connect() against the wedged gateway fails after its timeout"
    assert_attempts_were_clean(gw, accepted, 4, warnings)
    gw.wedge(None)
    assert pa.connect(), pa.connection.last_error
    assert pa.connection.client_id == 1 and gw.stats().clients == [1]


@pytest.mark.parametrize("released", [True, False])
def test_a_client_id_still_held_at_reconnect_is_tried_again_never_another(
        sim_factory: Any, adapter_factory: Any, warnings: list[str], released: bool) -> None:
    """As after a freeze, when the gateway may still hold our closed session: a 326 at a reconnect
    is tried again once with the same id, then the backoff goes on; never another client id."""
    gw = sim_factory()
    pa = adapter_factory(gw, **{"ib_connection.reconnect_backoff": 1.0, "ib_connection.reconnect_jitter": 0.0})
    gw.drop_all_connections()
    wait_disconnected(pa)
    holder = adapter_factory(gw, **{"ib_connection.auto_reconnect": False})  # holds client id 1 meanwhile
    trigger = "still in use" if released else "Reconnect attempt 2/"
    sink = logger.add(lambda message: trigger in str(message) and threading.Thread(target=holder.disconnect).start(),
                      level="WARNING", format="{message}")
    try:
        wait_reconnected(pa, 1, timeout=20)
    finally:
        logger.remove(sink)
    attempts = [line for line in warnings if "Reconnect attempt" in line]
    assert len(attempts) == (1 if released else 2)
    assert sum("still in use" in line for line in warnings) == 1, "one more try with the same id per attempt"
    assert pa.connection.client_id == 1 and gw.stats().clients == [1]
