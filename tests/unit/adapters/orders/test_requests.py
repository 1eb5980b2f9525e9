"""From place_order's arguments to a validated OrderRequest (everything checked before anything
is sent), and the request a modification makes."""

from __future__ import annotations

import random
import re
from decimal import Decimal

import pytest

from platform_adapter.adapters.orders.requests import check_modify_kwargs, confirms, modified, new_ref, prepare
from platform_adapter.errors import ValidationError
from platform_adapter.models.contract import ContractSpec
from platform_adapter.models.order import OcaType, OrderAction, OrderExtras, OrderRequest, OrderType, TimeInForce
from tests.unit.adapters.test_order_execution import Harness


def test_order_refs_are_fresh_and_carry_the_callers_reference() -> None:
    a, b = new_ref("pa", ""), new_ref("pa", "")
    assert re.fullmatch(r"pa-[0-9a-f]{16}", a) and a != b
    assert re.fullmatch(r"pa-[0-9a-f]{16}-strat1", new_ref("pa", "strat1"))


def test_order_refs_do_not_follow_the_users_random_seed() -> None:
    random.seed(42)
    first = new_ref("pa", "")
    random.seed(42)
    assert new_ref("pa", "") != first  # a seeded backtest never repeats refs the journal holds


def test_prepare_validates_and_resolves(harness: Harness) -> None:
    pa, fake = harness
    request, info = prepare(pa.orders, "aapl", "buy", 10, "lmt", {"limit_price": 150.0, "tif": "DAY",
                                                                   "order_ref": "s1"})
    assert (request.action, request.quantity, request.order_type, request.limit_price, request.tif) == (
        OrderAction.BUY, Decimal(10), OrderType.LIMIT, 150.0, TimeInForce.DAY)
    assert request.account == "DU111" and request.order_ref.startswith("pa-") and request.order_ref.endswith("-s1")
    assert info.con_id == 265598 and request.extras is None
    links = OrderExtras(parent_id=5, oca_group="g", oca_type=OcaType.REDUCE_NO_BLOCK)
    child, _ = prepare(pa.orders, "AAPL", "SELL", 10, "STP", {"stop_price": 140.0}, adds_exposure=False,
                       links=links)
    assert child.extras == links
    assert fake.calls == []  # prepare never sends


@pytest.mark.parametrize("symbol, kwargs, field", [
    (ContractSpec.continuous_future("ES"), {"limit_price": 1.0}, "symbol"),
    ("AAPL", {"limit_price": 1.0, "colour": "red"}, "colour"),
    ("AAPL", {}, "limit_price"),
    ("AAPL", {"limit_price": 1.0, "outside_rth": "maybe"}, "outside_rth"),
])
def test_prepare_refuses_before_sending(harness: Harness, symbol: object, kwargs: dict[str, object],
                                        field: str) -> None:
    pa, fake = harness
    with pytest.raises(ValidationError) as err:
        prepare(pa.orders, symbol, "BUY", 10, "LMT", kwargs)
    assert err.value.field == field and fake.calls == []


def test_modify_arguments() -> None:
    check_modify_kwargs({"limit_price": 1.0})
    with pytest.raises(ValidationError, match="nothing to modify"):
        check_modify_kwargs({})
    with pytest.raises(ValidationError):
        check_modify_kwargs({"symbol": "MSFT"})


def test_modified_request_keeps_the_links_and_checks_the_quantity() -> None:
    links = OrderExtras(parent_id=5, oca_group="g", oca_type=OcaType.CANCEL_WITH_BLOCK)
    request = OrderRequest(ContractSpec("AAPL"), OrderAction.SELL, Decimal(10), OrderType.LIMIT, limit_price=150.0,
                           order_ref="pa-1", extras=links)
    after = modified(request, Decimal(4), {"quantity": 20, "limit_price": 151.0})
    assert (after.quantity, after.limit_price, after.extras, after.order_ref) == (Decimal(20), 151.0, links, "pa-1")
    with pytest.raises(ValidationError, match="already filled"):
        modified(request, Decimal(4), {"quantity": 4})
    assert modified(request, Decimal(0), {"tif": "DAY"}).tif is TimeInForce.DAY


def test_a_report_confirms_the_modification_it_carries() -> None:
    """IB's openOrder after a modification confirms it when quantity, prices, time in force and
    trail match (prices as IB echoes doubles; a good-till date IB writes otherwise still matches),
    and not when it carries an earlier modification."""
    spec = ContractSpec("AAPL")
    sent = OrderRequest(spec, OrderAction.BUY, Decimal(20), OrderType.TRAIL_LIMIT, stop_price=100.0,
                        tif=TimeInForce.GTD, extras=OrderExtras(trailing_amount=0.3, limit_offset=0.1,
                                                                good_till="20261207-21:00:00"))
    echoed = OrderRequest(spec, OrderAction.BUY, Decimal(20), OrderType.TRAIL_LIMIT, stop_price=100.00000000000001,
                          tif=TimeInForce.GTD, extras=OrderExtras(trailing_amount=0.1 + 0.2, limit_offset=0.1,
                                                                  good_till="20261207 16:00:00 US/Eastern"))
    assert confirms(echoed, sent)
    earlier = OrderRequest(spec, OrderAction.BUY, Decimal(10), OrderType.TRAIL_LIMIT, stop_price=100.0,
                           tif=TimeInForce.GTD, extras=sent.extras)
    assert not confirms(earlier, sent)
    assert not confirms(OrderRequest(spec, OrderAction.BUY, Decimal(20), OrderType.TRAIL_LIMIT, stop_price=100.0,
                                     tif=TimeInForce.GTD, extras=OrderExtras(trailing_amount=0.4, limit_offset=0.1)),
                        sent)
    plain = OrderRequest(spec, OrderAction.BUY, Decimal(5), OrderType.LIMIT, limit_price=101.23)
    assert confirms(OrderRequest(spec, OrderAction.BUY, Decimal(5), OrderType.LIMIT, limit_price=101.23), plain)
    assert not confirms(OrderRequest(spec, OrderAction.BUY, Decimal(5), OrderType.LIMIT, limit_price=101.24), plain)
