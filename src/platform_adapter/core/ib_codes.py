"""IB message codes grouped by the reaction they need (DESIGN section 5), and README's code table.

Each set is used by the code that reacts to it; ``README_ROWS`` states the reaction of each row of
README's "Troubleshooting: IB message codes" table (a test holds the two in step) and gives the
log lines their wording (:func:`reaction`).
"""

from __future__ import annotations

from ibapi import errors as _ibapi_errors

# Cannot connect / not connected / bad length or EOF (ibapi's codes for socket failures, which the
# adapter detects itself): a request that meets one fails with NotConnected; lines replay later.
CONNECTION_FAILURE = frozenset({502, 504, 507})
# ibapi's own "<request> Sending Error" codes (510-593): a request's send failed on a socket that
# closed under it (the link dropped as it was sent). A request that meets one fails with
# NotConnected, as with CONNECTION_FAILURE. Read from ibapi's table, which names them.
SEND_FAILURE = frozenset(pair.code() for pair in vars(_ibapi_errors).values()
                         if isinstance(pair, _ibapi_errors.CodeMsgPair) and "Sending Error" in pair.msg())
# Already connected / TWS too old: connecting ends with GatewayConfigError, no reconnect follows.
FATAL_CONNECT = frozenset({501, 503})
# What to do about each FATAL_CONNECT code (part of the error's text).
FATAL_CONNECT_REMEDY = {
    501: "this client id is already connected: close the other session or pick another IB_CLIENT_ID",
    503: "update TWS / IB Gateway",
}
# Client id already in use: the next id (client_id_retry) or connect fails.
CLIENT_ID_IN_USE = frozenset({326})
# Gateway lost its link to IB's servers: block new orders, mark data stale, keep the socket.
IB_LINK_LOST = frozenset({1100, 2110})
# Link restored and market data subscriptions were lost: resubscribe, then reconcile.
IB_LINK_RESTORED_DATA_LOST = frozenset({1101})
# Link restored and data kept: reconcile orders and executions (fills may have happened).
IB_LINK_RESTORED_DATA_KEPT = frozenset({1102})
# The socket port was reset: reconnect on the new port.
SOCKET_PORT_RESET = frozenset({1300})
# A data farm connection is broken / OK again; the message ends with the farm's name.
FARM_BROKEN = frozenset({2103, 2105, 2157})
FARM_OK = frozenset({2104, 2106, 2158})
# Farm inactive but available on demand (2107 HMDS, 2108 market data): the gateway closed an idle
# farm connection and opens it again when data is needed; the farm is fine (TWS API users group:
# no impact on subscribed services, safe to ignore; rust-ibapi calls them "Inactive", not
# "Broken"). So a farm reported broken or connecting that IB then calls inactive is OK again (IB
# may say so instead of 2104/2106).
FARM_INACTIVE = frozenset({2107, 2108})
# Of those, the market data farms (they feed quotes; 2105/2106/2107 are HMDS, 2157/2158 sec-def
# farms). IB names the farm, not the instruments it serves: a broken one degrades every quote.
QUOTE_FARM = frozenset({2103, 2104, 2108})
# A market data farm is connecting (after a flap; IB says OK with 2104): its streams' silence is
# not acted on until then, then a stream still silent is resubscribed (the stream watchdog).
FARM_CONNECTING = frozenset({2119})
# Max rate of messages per second exceeded: must never happen with our pacing; alert.
MESSAGE_RATE_EXCEEDED = frozenset({100})
# Max number of market data lines (tickers) reached: SubscriptionLimitExceeded.
TOO_MANY_LINES = frozenset({101})
# Historical market data service error (pacing violation, no data, query cancelled).
HISTORICAL_SERVICE = frozenset({162})
# Invalid real-time query: with "pacing violation" in its text, IB's ten-minute count of new
# real-time bar and small-bar history requests is full (another client, TWS, a restart): both are
# held for that window; the subscribe call raises PacingViolation, a replayed line is sent again
# after the hold. Otherwise (no permissions...) the line fails (on_error).
REAL_TIME_QUERY_INVALID = frozenset({420})
# No security definition / ambiguous contract: ContractNotFound, never retried.
NO_SECURITY_DEFINITION = frozenset({200})
# Market data not subscribed: warn, fall back to delayed data if configured, else the line fails.
NOT_SUBSCRIBED = frozenset({354, 10089, 10168})
# Part of the requested market data is not subscribed: warn; the line stays with the rest.
PARTLY_SUBSCRIBED = frozenset({10090, 10091})
# Delayed market data is being shown (informational): the line's data type becomes DELAYED.
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
# Order rejected (REJECTED is also reported for a rejection IB sent no error code for) / cancelled.
REJECTED = 201
ORDER_REJECTED = frozenset({REJECTED})
ORDER_CANCELLED = frozenset({202})
# Cannot modify or cancel (filled, unknown...): typed error, order state unchanged.
CANNOT_MODIFY = frozenset({104, 10148, 135, 161, 10147})
# Order warnings that do not stop the order.
ORDER_WARNINGS = frozenset({399, 404, 2109, 10349})

# Codes that are notices, never a failure of the request they name.
NOTICES = FARM_BROKEN | FARM_OK | FARM_CONNECTING | FARM_INACTIVE | DELAYED_DATA_NOTICE | ORDER_WARNINGS | frozenset(
    {2100, 2150, 2169, 10285}
)

# README's code table, row by row: the codes of each row and the reaction it states (README's
# third column contains it). Order errors without a set of their own (e.g. 110 price increment,
# 321/322 validation) take the default path; their row lists examples.
README_ROWS: tuple[tuple[frozenset[int], str], ...] = (
    (CONNECTION_FAILURE, "connection failure"),
    (CLIENT_ID_IN_USE, "connect fails"),
    (FATAL_CONNECT, "fatal configuration error"),
    (IB_LINK_LOST, "new orders blocked, quotes flagged stale"),
    (IB_LINK_RESTORED_DATA_LOST, "resubscribes every stream"),
    (IB_LINK_RESTORED_DATA_KEPT, "reconciles orders and executions"),
    (SOCKET_PORT_RESET, "reconnects on the new port"),
    (FARM_BROKEN, "farm listed as broken"),
    (FARM_OK, "farm no longer listed as broken"),
    (FARM_INACTIVE, "a farm listed as broken or connecting is OK again"),
    (FARM_CONNECTING, "a stream still silent when it is OK is resubscribed"),
    (MESSAGE_RATE_EXCEEDED, "logged CRITICAL"),
    (TOO_MANY_LINES, "SubscriptionLimitExceeded"),
    (HISTORICAL_SERVICE, "PacingViolation"),
    (REAL_TIME_QUERY_INVALID, "new real-time bar lines and small-bar history requests are held"),
    (NO_SECURITY_DEFINITION, "ContractNotFound, never retried"),
    (NOT_SUBSCRIBED, "re-requested as delayed data"),
    (PARTLY_SUBSCRIBED, "the line stays"),
    (DELAYED_DATA_NOTICE, "the line's data type becomes delayed"),
    (COMPETING_SESSION, "no resubscribe loop"),
    (STREAM_DISCONNECTED, "resubscribes that stream"),
    (DUPLICATE_ORDER_ID, "resynchronises ids"),
    (ORDER_REJECTED, "OrderRejected"),
    (CANNOT_MODIFY, "OrderStateError"),
    (frozenset({110, 321, 322}), "default order error"),
)
_REACTION = {code: text for codes, text in README_ROWS for code in codes}


def reaction(code: int) -> str:
    """The reaction README's code table states for ``code`` ("" when the table has no row)."""
    return _REACTION.get(code, "")


def is_notice(code: int) -> bool:
    """True for informational and warning codes (no request failed)."""
    return code in NOTICES or 2100 <= code < 2200


_ON_DEMAND = "upon demand."  # 2107/2108 name the farm after it, with no colon: "...upon demand.usfarm.nj"


def farm_name(message: str) -> str:
    """The farm a farm notice names ("Market data farm connection is broken:usfarm" -> "usfarm";
    "...is inactive but should be available upon demand.usfarm.nj" -> "usfarm.nj")."""
    _, colon, tail = message.rpartition(":")
    if not colon and _ON_DEMAND in message:
        tail = message.rpartition(_ON_DEMAND)[2]
    return tail.strip() or message.strip()


def historical_no_data(message: str) -> bool:
    return "returned no data" in message.lower() or "no data" in message.lower() and "hmds" in message.lower()


def historical_pacing(message: str) -> bool:
    return "pacing violation" in message.lower()


def historical_cancelled(message: str) -> bool:
    return "query cancelled" in message.lower() or "query canceled" in message.lower()
