"""One hierarchy: every error is a PlatformAdapterError; the structured ones keep their fields and
say them in one line."""

from __future__ import annotations

import pytest

import platform_adapter.errors as errors
from platform_adapter.errors import (
    ConfigError,
    GatewayConfigError,
    HistoricalQueryCancelled,
    IBError,
    OrderRejected,
    OrderStateError,
    PlatformAdapterError,
    SubscriptionLimitExceeded,
    ValidationError,
)


@pytest.mark.parametrize("name", errors.__all__)
def test_every_exported_error_is_a_platform_adapter_error(name: str) -> None:
    assert issubclass(getattr(errors, name), PlatformAdapterError)


def test_messages_and_fields() -> None:
    assert str(ConfigError("ib_connection.port", "must be 1-65535")) == "config ib_connection.port: must be 1-65535"
    v = ValidationError("quantity", -1, "must be positive")
    assert isinstance(v, ValueError) and (v.field, v.value) == ("quantity", -1)
    assert str(v) == "invalid quantity=-1: must be positive"
    e = IBError(200, "No security definition", req_id=9)
    assert (e.code, e.req_id, str(e)) == (200, 9, "IB error 200: No security definition")
    assert issubclass(OrderRejected, IBError) and issubclass(HistoricalQueryCancelled, IBError)
    assert str(OrderStateError(7, "already filled")) == "order 7: already filled"


def test_gateway_config_error_names_code_and_remedy() -> None:
    g = GatewayConfigError(503, "TWS too old", "update TWS / IB Gateway")
    assert isinstance(g, ConfigError) and g.key == "ib_connection" and g.code == 503
    assert str(g) == "config ib_connection: IB 503: TWS too old (update TWS / IB Gateway)"


def test_subscription_limit_carries_ib_code_and_symbols() -> None:
    own = SubscriptionLimitExceeded("cap of 50 lines reached")
    refused = SubscriptionLimitExceeded("max number of tickers reached", code=101, symbols=("AAPL",))
    assert (own.code, own.symbols) == (None, ())
    assert (refused.code, refused.symbols, str(refused)) == (101, ("AAPL",), "max number of tickers reached")
