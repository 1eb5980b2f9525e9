"""Checks against a real IB paper gateway (skipped unless IB_LIVE_TESTS=1).

Configure the gateway with ``.env`` / ``config.yaml`` as in README ("Connecting to a real paper IB
Gateway or TWS"). These tests only read data and place nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ibapi.server_versions import MIN_CLIENT_VER

from platform_adapter import PlatformAdapter

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def live() -> Iterator[PlatformAdapter]:
    pa = PlatformAdapter()
    assert pa.connect(), pa.connection.last_error
    yield pa
    pa.disconnect()


def test_connected_to_a_paper_account(live: PlatformAdapter) -> None:
    status = live.connection.get_connection_status()
    assert status.server_version is not None and status.server_version >= MIN_CLIENT_VER
    assert status.accounts and all(a.startswith("DU") for a in status.accounts)


def test_contract_and_history(live: PlatformAdapter) -> None:
    assert live.contracts.resolve("AAPL").con_id == 265598
    bars = live.market_data.get_historical_data("AAPL", "2 D", "1 hour")
    assert list(bars.columns) == ["open", "high", "low", "close", "volume", "wap", "bar_count"]


def test_account_summary(live: PlatformAdapter) -> None:
    summary = live.account.get_account_summary()
    assert summary.net_liquidation is not None
