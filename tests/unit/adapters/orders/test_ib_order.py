"""The order path's shortcuts build exactly what the slow way builds."""

from __future__ import annotations

from ibapi.order import Order as IBOrder

from platform_adapter.adapters.orders.ib_order import new_ib_order


def test_new_ib_order_equals_ibapi_defaults_and_shares_no_mutable_state() -> None:
    reference, first, second = IBOrder(), new_ib_order(), new_ib_order()
    assert set(vars(first)) == set(vars(reference))
    for name, value in vars(reference).items():
        got = getattr(first, name)
        assert type(got) is type(value), name
        assert (vars(got) if hasattr(got, "__dict__") else got) == (vars(value) if hasattr(value, "__dict__")
                                                                    else value), name
    first.conditions.append("condition")
    first.softDollarTier.name = "tier"
    assert second.conditions == [] and second.softDollarTier.name == ""
    assert IBOrder().conditions == [] and IBOrder().softDollarTier.name == ""
