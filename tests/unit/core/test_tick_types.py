"""The one tick-type map: every live type and its delayed twin lead to the same Quote field."""

from __future__ import annotations

from dataclasses import fields

from ibapi.ticktype import TickTypeEnum as T

from platform_adapter.core import tick_types as tt
from platform_adapter.models.market_data import Quote


def test_every_mapped_field_is_a_quote_field() -> None:
    quote_fields = {f.name for f in fields(Quote)}
    for table in (tt.PRICE_TICKS, tt.SIZE_TICKS, tt.TIMESTAMP_TICKS, tt.GREEKS_TICKS):
        assert set(table.values()) <= quote_fields


def test_delayed_twins_map_to_the_live_types_field() -> None:
    assert tt.DELAYED_TWIN[T.BID] == T.DELAYED_BID and tt.DELAYED_TWIN[T.MODEL_OPTION] == T.DELAYED_MODEL_OPTION
    for live, delayed in tt.DELAYED_TWIN.items():
        table = next(t for t in (tt.PRICE_TICKS, tt.SIZE_TICKS, tt.TIMESTAMP_TICKS, tt.GREEKS_TICKS) if live in t)
        assert table[delayed] == table[live]
        assert T.toStr(delayed).startswith("DELAYED_")


def test_sizes_reported_with_prices() -> None:
    assert tt.SIZE_FIELD_OF_PRICE == {T.BID: "bid_size", T.ASK: "ask_size", T.LAST: "last_size",
                                      T.DELAYED_BID: "bid_size", T.DELAYED_ASK: "ask_size",
                                      T.DELAYED_LAST: "last_size"}
    assert T.CUST_OPTION_COMPUTATION not in tt.GREEKS_TICKS  # an option calculation's answer, not a line's
