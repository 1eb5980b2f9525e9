"""Account values are frozen snapshots; figures IB has not sent are ``None``."""

from __future__ import annotations

import dataclasses

import pytest

from platform_adapter.models.account import AccountSummary, PnL


def test_summary_defaults_and_immutability() -> None:
    summary = AccountSummary("DU1", net_liquidation=1_000.0)
    assert summary.currency == "USD" and summary.total_cash is None and summary.values == {}
    with pytest.raises(dataclasses.FrozenInstanceError):
        summary.net_liquidation = 2.0  # type: ignore[misc]
    assert AccountSummary("DU1").values is not AccountSummary("DU2").values  # no shared default


def test_pnl_fields() -> None:
    pnl = PnL("DU1", daily=1.5)
    assert (pnl.daily, pnl.unrealized, pnl.realized, pnl.updated_at) == (1.5, None, None, None)
