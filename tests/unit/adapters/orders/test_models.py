"""ibapi conversions of the orders' models: IB orders, states, contracts, numbers and IB's time stamps."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from ibapi.const import UNSET_DECIMAL, UNSET_DOUBLE
from ibapi.contract import Contract

from platform_adapter.adapters.orders.models import (
    build_ib_order,
    opt_float,
    parse_ib_time,
    parse_state,
    spec_from_contract,
    to_decimal,
)
from platform_adapter.models.contract import ContractSpec, SecType
from platform_adapter.models.order import OrderAction, OrderRequest, OrderState, OrderType, TimeInForce


def test_ibapi_conversions() -> None:
    assert parse_state("PreSubmitted") is OrderState.PRE_SUBMITTED and parse_state("") is OrderState.UNKNOWN
    assert opt_float(UNSET_DOUBLE) is None and opt_float(math.nan) is None and opt_float("x") is None
    assert opt_float("") is None and opt_float("1.5") == 1.5
    assert to_decimal(UNSET_DECIMAL) == 0 and to_decimal("nan") == 0 and to_decimal("abc") == 0
    req = OrderRequest(ContractSpec("AAPL"), OrderAction.BUY, Decimal(5), OrderType.STOP_LIMIT, 10.0, 9.5,
                       TimeInForce.DAY, True, "DU1", "pa-x")
    o = build_ib_order(req)
    assert (o.action, o.totalQuantity, o.orderType, o.lmtPrice, o.auxPrice, o.tif, o.outsideRth, o.orderRef) == (
        "BUY", Decimal(5), "STP LMT", 10.0, 9.5, "DAY", True, "pa-x")
    c = Contract()
    c.symbol, c.secType, c.exchange, c.currency, c.conId = "AAPL", "STK", "NASDAQ", "USD", 265598
    spec = spec_from_contract(c)
    assert (spec.exchange, spec.primary_exchange, spec.con_id) == ("SMART", "NASDAQ", 265598)
    c.secType = "WAR"
    assert spec_from_contract(c).sec_type is SecType.STOCK


@pytest.mark.parametrize("text, expected", [
    ("20260102 10:00:00 US/Eastern", datetime(2026, 1, 2, 15, 0, tzinfo=timezone.utc)),
    ("20260102-15:00:00", datetime(2026, 1, 2, 15, 0, tzinfo=timezone.utc)),
    ("20260102 15:00 Nowhere/Zone", None),
])
def test_ib_times(text: str, expected: datetime | None) -> None:
    parsed = parse_ib_time(text)
    assert parsed.tzinfo is not None
    if expected is not None:
        assert parsed == expected
    assert parse_ib_time("garbage").tzinfo is not None
