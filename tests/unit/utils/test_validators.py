"""The argument validators: symbols, quantities, prices and tick callbacks."""

from __future__ import annotations

import math
import threading
from decimal import Decimal

import pytest

from platform_adapter.errors import ValidationError
from platform_adapter.models.market_data import MarketDataType, TickByTickKind
from platform_adapter.utils.validators import (
    MAX_QUANTITY,
    check_callback,
    check_code,
    check_market_data_type,
    check_price,
    check_quantity,
    check_symbol,
    check_tbt_kind,
    check_wait,
    on_tick,
)


def test_validators() -> None:
    assert check_symbol(" aapl ") == "AAPL"
    for bad in ["", "   ", "A" * 21, "AA;PL", 5, None]:
        with pytest.raises(ValidationError):
            check_symbol(bad)
    for bad in [0, -1, float("nan"), float("inf"), "1", True, None]:
        with pytest.raises(ValidationError):
            check_price(bad, "limit_price")
    assert check_price(Decimal("1.5"), "p") == 1.5
    assert check_quantity(10) == 10
    assert check_quantity("0.5", fractional=True) == Decimal("0.5")
    for bad in [0, -5, 1.5, float("nan"), "x", True, None, float("inf")]:
        with pytest.raises(ValidationError):
            check_quantity(bad)
    assert on_tick(150.25, 0.01) and not on_tick(150.255, 0.01) and on_tick(1.0, 0)


def test_one_callback_check_for_every_api() -> None:
    """The check the adapters, the lifecycle and the remote client share."""
    assert check_callback(print) is print
    assert check_callback(None, "on_error", optional=True) is None
    with pytest.raises(ValidationError) as info:
        check_callback(None, "on_error")
    assert info.value.field == "on_error"
    with pytest.raises(ValidationError):
        check_callback(42)


def test_market_data_type_and_tick_by_tick_kind_checks() -> None:
    assert check_market_data_type("Delayed-Frozen").value == 4
    assert check_market_data_type(3).value == 3
    assert check_tbt_kind("all_last").value == "AllLast"
    for bad in ("nope", 0, 5, True):
        with pytest.raises(ValidationError):
            check_market_data_type(bad)
    with pytest.raises(ValidationError):
        check_tbt_kind("Every")


def test_market_data_types() -> None:
    assert check_market_data_type("Delayed-Frozen") is MarketDataType.DELAYED_FROZEN
    assert check_market_data_type(3) is MarketDataType.DELAYED
    assert check_market_data_type(MarketDataType.LIVE) is MarketDataType.LIVE
    for bad in (0, 5, True, "realtime", None):
        with pytest.raises(ValidationError):
            check_market_data_type(bad)


def test_tick_by_tick_kinds_and_callbacks() -> None:
    assert check_tbt_kind("all_last") is TickByTickKind.ALL_LAST and check_tbt_kind("bidask") is TickByTickKind.BID_ASK
    with pytest.raises(ValidationError):
        check_tbt_kind("trades")
    assert check_callback(None, optional=True) is None
    assert check_callback(print) is print
    with pytest.raises(ValidationError, match="on_error"):
        check_callback("print", "on_error")


@pytest.mark.parametrize("bad", [10**400, Decimal("sNaN"), Decimal("-Infinity")])
def test_a_price_past_floats_range_is_a_validation_error(bad: object) -> None:
    with pytest.raises(ValidationError) as info:
        check_price(bad, "limit_price")
    assert info.value.field == "limit_price"


@pytest.mark.parametrize("bad", [10**30, 10**400, Decimal("1E+16"), "1e20"])
def test_a_quantity_past_what_a_double_holds_exactly_is_refused(bad: object) -> None:
    with pytest.raises(ValidationError, match="at most"):
        check_quantity(bad)
    assert check_quantity(MAX_QUANTITY) == MAX_QUANTITY


def test_a_price_below_half_a_tick_is_not_on_the_tick() -> None:
    assert not on_tick(1e-300, 0.01) and not on_tick(0.004, 0.01)
    assert on_tick(0.01, 0.01) and on_tick(0.0, 0.01)


def test_a_wait_longer_than_a_lock_takes_is_cut_to_the_longest() -> None:
    assert check_wait(10**400) == check_wait(1e300) == threading.TIMEOUT_MAX
    assert check_wait(2) == 2.0
    for bad in (math.nan, math.inf, -1, "5", True, None):
        with pytest.raises(ValidationError):
            check_wait(bad)


def test_codes_are_printable_strings() -> None:
    assert check_code("", "exchange") == "" and check_code("CME", "exchange") == "CME"
    for bad in (None, 5, "A\x00B", "x" * 65):
        with pytest.raises(ValidationError, match="exchange"):
            check_code(bad, "exchange")
