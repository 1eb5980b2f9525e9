"""A streaming line's record (quote state, snapshots) and the argument checks of the subscribe
calls."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from ibapi.const import UNSET_DECIMAL

from platform_adapter.adapters.market.subscriptions import (
    SubKind,
    Subscription,
    bar_lines_of,
    check_bar_line,
    check_specs,
    size_or_none,
    stale_copy,
    tick_lines_of,
)
from platform_adapter.errors import ValidationError
from platform_adapter.models.contract import ContractInfo, ContractSpec, SecType
from platform_adapter.models.market_data import Quote

AAPL = ContractInfo(ContractSpec("AAPL"), 265598, "AAPL", SecType.STOCK, "SMART", "NASDAQ", "USD", "AAPL", "NMS",
                    0.01, "", "Apple")


def test_snapshot_is_built_once_per_change() -> None:
    sub = Subscription(SubKind.QUOTES, "AAPL", AAPL, 1)
    sub.fields["bid"] = 1.5
    sub.touch(100.0)
    first = sub.snapshot()
    assert first is sub.snapshot()  # cached until the next change
    assert (first.bid, first.updates, first.updated_monotonic, first.stale) == (1.5, 1, 100.0, False)
    assert first.time is not None
    sub.stale = True
    assert sub.snapshot().stale and sub.snapshot() is not first
    sub.fields["ask"] = 1.6
    sub.touch(101.0)
    assert sub.snapshot().ask == 1.6 and sub.snapshot().updates == 2


def test_a_failed_line_is_not_active() -> None:
    sub = Subscription(SubKind.BARS, "AAPL", AAPL, 2)
    assert sub.active
    sub.failed = RuntimeError("refused")
    assert not sub.active


@pytest.mark.parametrize("value, expected", [
    (Decimal(100), Decimal(100)), ("2.5", Decimal("2.5")), (7, Decimal(7)), (None, None), (UNSET_DECIMAL, None),
    (Decimal(-1), None), (Decimal("NaN"), None), (Decimal("sNaN"), None), ("abc", None), (float("inf"), None)])
def test_sizes(value: Any, expected: Decimal | None) -> None:
    assert size_or_none(value) == expected


def test_specs_are_deduplicated_in_order() -> None:
    specs = check_specs(["MSFT", "AAPL", ContractSpec("MSFT")])
    assert [s.key for s in specs] == ["MSFT", "AAPL"]
    assert check_specs("AAPL") == [ContractSpec("AAPL")]
    bad: object
    for bad in ([], 42, {"AAPL": 1}):
        with pytest.raises(ValidationError):
            check_specs(bad)


def test_stale_copy_keeps_the_same_quote_when_nothing_changes() -> None:
    q = Quote("AAPL", bid=1.0)
    assert stale_copy(q, False) is q
    assert stale_copy(q, True) == Quote("AAPL", bid=1.0, stale=True)


@pytest.mark.parametrize(("call", "field"), [
    (lambda: check_bar_line("", 5, "x"), "what_to_show"), (lambda: check_bar_line("", "bid", "x"), "use_rth"),
    (lambda: check_bar_line("", "bid", True), "symbol"),
    (lambda: bar_lines_of("", 5), "symbol"), (lambda: bar_lines_of("AAPL", 5), "what_to_show"),
    (lambda: tick_lines_of(5, "Nope"), "symbol"), (lambda: tick_lines_of("AAPL", "Nope"), "kind")])
def test_line_checks_name_the_first_bad_argument_in_the_facades_order(call: Any, field: str) -> None:
    """The facade's subscribe/unsubscribe checks, shared with the service and the remote adapter."""
    with pytest.raises(ValidationError) as info:
        call()
    assert info.value.field == field


def test_line_checks_return_the_key_and_the_variant() -> None:
    assert check_bar_line("aapl", "bid", False) == (ContractSpec("AAPL"), "BID")
    assert bar_lines_of("AAPL", None) == ("AAPL", None) and bar_lines_of("AAPL", "ask") == ("AAPL", "ASK")
    assert tick_lines_of("AAPL", "bid_ask") == ("AAPL", "BidAsk") and tick_lines_of("AAPL", None) == ("AAPL", None)
