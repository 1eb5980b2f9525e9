"""Advanced-order arguments: good-till forms, modified trail and good-till fields, ticks of the trail and offset."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from platform_adapter import ValidationError
from platform_adapter.adapters.orders import extras as x
from platform_adapter.models.order import OcaType, OrderExtras, OrderType, TimeInForce

NOW = datetime(2030, 1, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize("value, text", [
    (NOW + timedelta(hours=1), "20300101-01:00:00"),
    (datetime(2030, 1, 1, 5, tzinfo=timezone(timedelta(hours=5))) + timedelta(minutes=1), "20300101-00:01:00"),
    ("20300101-00:00:01", "20300101-00:00:01"),
    (" 20300101 09:00:00 US/Eastern ", "20300101 09:00:00 US/Eastern"),
])
def test_good_till_forms(value: Any, text: str) -> None:
    assert x.check_good_till(value, NOW) == text


@pytest.mark.parametrize("value", [NOW, "20300101-00:00:00", "20291231 18:59:59 US/Eastern", "20300101 00:00:01",
                                   "20300101-00:00:01 UTC", "20301301-00:00:00", "tomorrow", datetime(2031, 1, 1),
                                   1_900_000_000])
def test_bad_good_till(value: Any) -> None:
    with pytest.raises(ValidationError) as info:
        x.check_good_till(value, NOW)
    assert info.value.field == "good_till"


def test_a_replacement_exit_stays_one_when_modified() -> None:
    """An exit placed anew for a partly filled bracket names the exit it replaces; a modification
    keeps that link (before: dropped, so the modification went to IB with the finished entry as
    its parent and the journal logged the extras as changed)."""
    base = OrderExtras(parent_id=7, oca_group="g.exits", oca_type=OcaType.REDUCE_WITH_BLOCK, replaces=9)
    got = x.modified_extras(OrderType.STOP, TimeInForce.GTC, base, {"quantity": 40})
    assert got == base


def test_modified_extras() -> None:
    base = OrderExtras(9, "g", OcaType.CANCEL_WITH_BLOCK, trailing_amount=1.0, limit_offset=0.5)
    got = x.modified_extras(OrderType.TRAIL_LIMIT, TimeInForce.DAY, base, {"trailing_percent": 2.0})
    assert got == OrderExtras(9, "g", OcaType.CANCEL_WITH_BLOCK, None, 2.0, 0.5)
    assert x.modified_extras(OrderType.LIMIT, TimeInForce.DAY, None, {"quantity": 3}) is None
    got = x.modified_extras(OrderType.LIMIT, TimeInForce.GTD, None, {"good_till": "20991231-00:00:00"})
    assert got == OrderExtras(good_till="20991231-00:00:00")
    with pytest.raises(ValidationError):
        x.modified_extras(OrderType.LIMIT, TimeInForce.DAY, None, {"trailing_amount": 1.0})
    assert x.order_tif({"good_till": "20991231-00:00:00"}, "DAY") is TimeInForce.GTD
    assert x.order_tif({}, "DAY") is TimeInForce.DAY


def test_ticks_of_the_advanced_fields() -> None:
    from platform_adapter.models.contract import ContractInfo, ContractSpec, SecType

    es = ContractInfo(ContractSpec("ES"), 1, "ES", SecType.FUTURE, "CME", "", "USD", "ESZ6", "ES", 0.25, "50", "ES")
    x.check_extras_ticks(es, None)
    x.check_extras_ticks(es, OrderExtras(trailing_amount=1.5, limit_offset=0.0))
    with pytest.raises(ValidationError, match="tick size 0.25"):
        x.check_extras_ticks(es, OrderExtras(trailing_amount=1.1))


@pytest.mark.parametrize("otype, tif, kwargs, parent, field", [
    (OrderType.LIMIT, TimeInForce.DAY, {}, 0, None),  # the plain order's shortcut
    (OrderType.LIMIT, TimeInForce.DAY, {"good_till": None, "oca_type": None}, 0, None),
    (OrderType.TRAIL, TimeInForce.DAY, {}, 0, "trailing_amount"),
    (OrderType.STOP, TimeInForce.OPG, {}, 0, "tif"),
    (OrderType.LIMIT, TimeInForce.GTD, {}, 0, "good_till"),
    (OrderType.LIMIT, TimeInForce.DAY, {"trailing_percent": 1.0}, 0, "trailing_percent"),
])
def test_check_extras_of_plain_and_advanced_orders(otype: OrderType, tif: TimeInForce, kwargs: dict[str, Any],
                                                   parent: int, field: str | None) -> None:
    if field is None:
        assert x.check_extras(otype, tif, kwargs, parent, NOW) is None
    else:
        with pytest.raises(ValidationError) as err:
            x.check_extras(otype, tif, kwargs, parent, NOW)
        assert err.value.field == field
    assert x.check_extras(OrderType.LIMIT, TimeInForce.DAY, {}, 7, NOW) == OrderExtras(parent_id=7)
