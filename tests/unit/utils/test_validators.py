"""The argument validators: symbols, quantities, prices and tick callbacks."""

from __future__ import annotations

from decimal import Decimal

import pytest

from platform_adapter.errors import ValidationError
from platform_adapter.utils.validators import check_price, check_quantity, check_symbol, check_symbols, on_tick


def test_validators() -> None:
    assert check_symbol(" aapl ") == "AAPL"
    assert check_symbols(["AAPL", "aapl", "MSFT"]) == ["AAPL", "MSFT"]
    assert check_symbols("SPY") == ["SPY"]
    for bad in ["", "   ", "A" * 21, "AA;PL", 5, None]:
        with pytest.raises(ValidationError):
            check_symbol(bad)
    with pytest.raises(ValidationError):
        check_symbols([])
    with pytest.raises(ValidationError):
        check_symbols(42)
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
