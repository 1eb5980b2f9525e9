"""A what-if preview: each figure before, its change and after; the commission range."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from platform_adapter.models.contract import ContractSpec
from platform_adapter.models.order import OrderAction, OrderRequest, OrderType
from platform_adapter.models.preview import AccountChange, OrderPreview


def test_preview_holds_the_request_and_the_changes() -> None:
    request = OrderRequest(ContractSpec("AAPL"), OrderAction.BUY, Decimal(100), OrderType.MARKET)
    margin = AccountChange(0.0, 4750.0, 4750.0)
    preview = OrderPreview(request, margin, margin, AccountChange(None, None, None), 1.0, 1.0, 2.5)
    assert preview.request is request and preview.initial_margin.after == 4750.0
    assert (preview.commission_currency, preview.margin_currency, preview.warning) == ("", "", "")
    with pytest.raises(dataclasses.FrozenInstanceError):
        preview.commission = 0.0  # type: ignore[misc]
