"""IB message codes grouped by the reaction they need (DESIGN section 5)."""

from __future__ import annotations

# Gateway lost its link to IB's servers: block new orders, mark data stale, keep the socket.
IB_LINK_LOST = frozenset({1100, 2110})
# Link restored and market data subscriptions were lost: resubscribe, then reconcile.
IB_LINK_RESTORED_DATA_LOST = frozenset({1101})
# Link restored and data kept: reconcile orders and executions (fills may have happened).
IB_LINK_RESTORED_DATA_KEPT = frozenset({1102})
# The socket port was reset: reconnect on the new port.
SOCKET_PORT_RESET = frozenset({1300})
# A data farm connection is broken: mark that data degraded; never tear down the socket.
FARM_BROKEN = frozenset({2103, 2105, 2157})
# A data farm connection is OK (INFO); resubscribe feeds that stayed silent after a break.
FARM_OK = frozenset({2104, 2106, 2158})
# Farm inactive / connecting: ignore (DEBUG).
FARM_INACTIVE = frozenset({2107, 2108, 2119})
# Cannot connect / not connected / bad length or EOF: connection failure, back off, reconnect.
CONNECTION_FAILURE = frozenset({502, 504, 507})
# Already connected / TWS too old: fatal configuration error.
FATAL_CONNECT = frozenset({501, 503})
# Client id already in use.
CLIENT_ID_IN_USE = frozenset({326})
# Max rate of messages per second exceeded: must never happen with our pacing; alert.
MESSAGE_RATE_EXCEEDED = frozenset({100})
# Max number of market data lines (tickers) reached.
TOO_MANY_LINES = frozenset({101})
# Historical market data service error (pacing violation, no data, query cancelled).
HISTORICAL_SERVICE = frozenset({162})
# No security definition / ambiguous contract: ContractNotFound, never retried.
NO_SECURITY_DEFINITION = frozenset({200})
# Market data not subscribed / delayed data available: warn, fall back to delayed if configured.
NOT_SUBSCRIBED = frozenset({354, 10089, 10090, 10091, 10167, 10168})
# Delayed market data is being shown (informational).
DELAYED_DATA_NOTICE = frozenset({10167})
# A competing live session on another login: alert; no resubscribe loop.
COMPETING_SESSION = frozenset({10197})
# Live updates failed because the stream disconnected: resubscribe that stream.
STREAM_DISCONNECTED = frozenset({10182})
# No such historical query / ticker id: expected on cancel paths (DEBUG).
CANCEL_NOISE = frozenset({366, 300})
# Duplicate ticker id: a bug on our side (ERROR).
DUPLICATE_TICKER = frozenset({102, 386})
# Duplicate order id: resync the id from nextValidId; never reuse.
DUPLICATE_ORDER_ID = frozenset({103})
# Order rejected / cancelled.
ORDER_REJECTED = frozenset({201})
ORDER_CANCELLED = frozenset({202})
# Cannot modify or cancel (filled, unknown...): typed error, order state unchanged.
CANNOT_MODIFY = frozenset({104, 10148, 135, 161, 10147})
# Price increment / validation / warnings / locate hold.
ORDER_VALIDATION = frozenset({110, 321, 322, 399, 404})
# Order warnings that do not stop the order.
ORDER_WARNINGS = frozenset({399, 404, 2109, 10349})

# Codes that are notices, never a failure of the request they name.
NOTICES = FARM_BROKEN | FARM_OK | FARM_INACTIVE | DELAYED_DATA_NOTICE | ORDER_WARNINGS | frozenset(
    {2100, 2150, 2158, 2169, 10285}
)


def is_notice(code: int) -> bool:
    """True for informational and warning codes (no request failed)."""
    return code in NOTICES or 2100 <= code < 2200


def historical_no_data(message: str) -> bool:
    return "returned no data" in message.lower() or "no data" in message.lower() and "hmds" in message.lower()


def historical_pacing(message: str) -> bool:
    return "pacing violation" in message.lower()


def historical_cancelled(message: str) -> bool:
    return "query cancelled" in message.lower() or "query canceled" in message.lower()
