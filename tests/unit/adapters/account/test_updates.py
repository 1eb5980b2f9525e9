"""The account summary built from IB's account value tags."""

from __future__ import annotations

from datetime import datetime, timezone

from platform_adapter.adapters.account.updates import SUMMARY_FIELDS, AccountValue, summary_from_values

T0 = datetime(2026, 1, 2, 15, tzinfo=timezone.utc)


def test_summary_from_tags() -> None:
    values = {"NetLiquidation": "1000000.5", "BuyingPower": "4000000", "TotalCashValue": "n/a", "Other": "x"}
    s = summary_from_values("DU1", values, T0, currency="EUR")
    assert (s.account, s.currency, s.updated_at) == ("DU1", "EUR", T0)
    assert (s.net_liquidation, s.buying_power) == (1000000.5, 4000000.0)
    assert s.total_cash is None and s.initial_margin is None  # unparseable and missing
    assert s.values == values and s.values is not values


def test_every_summary_field_is_read_from_its_tag() -> None:
    values = {tag: str(i + 1) for i, tag in enumerate(SUMMARY_FIELDS.values())}
    s = summary_from_values("DU1", values, T0)
    assert [getattr(s, name) for name in SUMMARY_FIELDS] == [float(i + 1) for i in range(len(SUMMARY_FIELDS))]


def test_account_value_keeps_ibs_text() -> None:
    v = AccountValue("DU1", "NetLiquidation", "1000.00", "USD")
    assert (v.key, v.value) == ("NetLiquidation", "1000.00")
