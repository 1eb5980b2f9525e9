"""IB's tick types as this library reads them: the one map every decoder and quote store uses.

The numbers are ibapi's ``TickTypeEnum``; each live type and its delayed twin (IB's tick-type
table) map to the same :class:`~platform_adapter.models.market_data.Quote` field.
"""

from __future__ import annotations

from ibapi.ticktype import TickTypeEnum as T

NOT_SET = T.NOT_SET
"""The tick type of a tickSize ibapi's decoder drops (it calls nothing for it)."""
NO_PRICE = -1
"""The price IB sends for "no value currently available" (negative prices are otherwise legal)."""

# Quote field <- (live tick type, delayed tick type)
_PRICE_FIELDS = {"bid": (T.BID, T.DELAYED_BID), "ask": (T.ASK, T.DELAYED_ASK), "last": (T.LAST, T.DELAYED_LAST),
                 "high": (T.HIGH, T.DELAYED_HIGH), "low": (T.LOW, T.DELAYED_LOW),
                 "close": (T.CLOSE, T.DELAYED_CLOSE), "open": (T.OPEN, T.DELAYED_OPEN)}
_SIZE_FIELDS = {"bid_size": (T.BID_SIZE, T.DELAYED_BID_SIZE), "ask_size": (T.ASK_SIZE, T.DELAYED_ASK_SIZE),
                "last_size": (T.LAST_SIZE, T.DELAYED_LAST_SIZE), "volume": (T.VOLUME, T.DELAYED_VOLUME)}
_TIMESTAMP_FIELDS = {"last_timestamp": (T.LAST_TIMESTAMP, T.DELAYED_LAST_TIMESTAMP)}
_GREEKS_FIELDS = {"bid_greeks": (T.BID_OPTION_COMPUTATION, T.DELAYED_BID_OPTION),
                  "ask_greeks": (T.ASK_OPTION_COMPUTATION, T.DELAYED_ASK_OPTION),
                  "last_greeks": (T.LAST_OPTION_COMPUTATION, T.DELAYED_LAST_OPTION),
                  "model_greeks": (T.MODEL_OPTION, T.DELAYED_MODEL_OPTION)}

PRICE_TICKS: dict[int, str] = {t: name for name, types in _PRICE_FIELDS.items() for t in types}
"""Price tick type -> Quote field."""
SIZE_TICKS: dict[int, str] = {t: name for name, types in _SIZE_FIELDS.items() for t in types}
"""Size tick type -> Quote field."""
TIMESTAMP_TICKS: dict[int, str] = {t: name for name, types in _TIMESTAMP_FIELDS.items() for t in types}
"""tickString types that carry a timestamp -> Quote field."""
GREEKS_TICKS: dict[int, str] = {t: name for name, types in _GREEKS_FIELDS.items() for t in types}
"""tickOptionComputation types an option line carries -> Quote field (IB's 53, the answer to an
option calculation, is not one)."""

SIZE_TICK_FOR: dict[int, int] = {
    T.BID: T.BID_SIZE, T.ASK: T.ASK_SIZE, T.LAST: T.LAST_SIZE,
    T.DELAYED_BID: T.DELAYED_BID_SIZE, T.DELAYED_ASK: T.DELAYED_ASK_SIZE, T.DELAYED_LAST: T.DELAYED_LAST_SIZE,
}
"""The size tick type reported with a tickPrice of a bid, ask or last (ibapi's processTickPriceMsg)."""

SIZE_FIELD_OF_PRICE: dict[int, str] = {price: SIZE_TICKS[size] for price, size in SIZE_TICK_FOR.items()}
"""The Quote field of the size a tickPrice carries."""

DELAYED_TWIN: dict[int, int] = {live: delayed
                                for fields in (_PRICE_FIELDS, _SIZE_FIELDS, _TIMESTAMP_FIELDS, _GREEKS_FIELDS)
                                for live, delayed in fields.values()}
"""Live tick type -> the type IB sends for it on a delayed line."""
