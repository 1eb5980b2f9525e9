"""placeOrder in the text protocol: the whole field layout of ibapi's ``EClient.placeOrder``.

Most of the ~100 fields are read only to reach the next one the simulator carries, but every
field is read in order, so a list of another version's layout, too short or too long, is a
``ParseError``. Server versions from 100 up (every version test below that always holds).
"""

from __future__ import annotations

from ibapi.server_versions import (
    MIN_SERVER_VER_ADVANCED_ORDER_REJECT,
    MIN_SERVER_VER_AUTO_CANCEL_PARENT,
    MIN_SERVER_VER_AUTO_PRICE_FOR_HEDGE,
    MIN_SERVER_VER_CASH_QTY,
    MIN_SERVER_VER_CME_TAGGING_FIELDS,
    MIN_SERVER_VER_CUSTOMER_ACCOUNT,
    MIN_SERVER_VER_D_PEG_ORDERS,
    MIN_SERVER_VER_DECISION_MAKER,
    MIN_SERVER_VER_DURATION,
    MIN_SERVER_VER_EXT_OPERATOR,
    MIN_SERVER_VER_FA_PROFILE_DESUPPORT,
    MIN_SERVER_VER_IMBALANCE_ONLY,
    MIN_SERVER_VER_INCLUDE_OVERNIGHT,
    MIN_SERVER_VER_MANUAL_ORDER_TIME,
    MIN_SERVER_VER_MIFID_EXECUTION,
    MIN_SERVER_VER_MODELS_SUPPORT,
    MIN_SERVER_VER_ORDER_CONTAINER,
    MIN_SERVER_VER_PEGBEST_PEGMID_OFFSETS,
    MIN_SERVER_VER_PEGGED_TO_BENCHMARK,
    MIN_SERVER_VER_POST_TO_ATS,
    MIN_SERVER_VER_PRICE_MGMT_ALGO,
    MIN_SERVER_VER_PROFESSIONAL_CUSTOMER,
    MIN_SERVER_VER_RFQ_FIELDS,
    MIN_SERVER_VER_SOFT_DOLLAR_TIER,
    MIN_SERVER_VER_UNDO_RFQ_FIELDS,
)

from .requests import OrderCondition, ParseError, PlaceOrder
from .text_cursor import Cursor

# Text fields after the condition type, by ibapi condition type (order_condition.py make_fields):
# conjunction, then isMore + value for operator conditions, conId + exchange for contract ones,
# triggerMethod for price; an execution condition is conjunction, secType, exchange, symbol.
CONDITION_FIELDS = {1: 6, 3: 3, 4: 3, 5: 4, 6: 5, 7: 5}
PEG_BENCH = ("PEG BENCH", "PEGBENCH")
PEG_BEST = ("PEG BEST", "PEGBEST")
PEG_MID = ("PEG MID", "PEGMID")


# (the server version that added them, how many): extOperator, softDollarTier name and value,
# cashQty, the MiFID II decision maker and execution fields, dontUseAutoPriceForHedge,
# isOmsContainer, discretionaryUpToLimitPrice, usePriceMgmtAlgo (none of them carried)
_MIDDLE_FIELDS = ((MIN_SERVER_VER_EXT_OPERATOR, 1), (MIN_SERVER_VER_SOFT_DOLLAR_TIER, 2), (MIN_SERVER_VER_CASH_QTY, 1),
                  (MIN_SERVER_VER_DECISION_MAKER, 2), (MIN_SERVER_VER_MIFID_EXECUTION, 2),
                  (MIN_SERVER_VER_AUTO_PRICE_FOR_HEDGE, 1), (MIN_SERVER_VER_ORDER_CONTAINER, 1),
                  (MIN_SERVER_VER_D_PEG_ORDERS, 1), (MIN_SERVER_VER_PRICE_MGMT_ALGO, 1))


def _conditions(c: Cursor) -> tuple[tuple[OrderCondition, ...], bool, bool]:
    """Order conditions, then conditionsIgnoreRth and conditionsCancelOrder (sent only with
    at least one condition)."""
    conditions = []
    for _ in range(c.integer()):
        kind = c.integer()
        if kind not in CONDITION_FIELDS:
            raise ParseError(f"unknown order condition type {kind}")
        conditions.append(OrderCondition(kind, tuple(c.string() for _ in range(CONDITION_FIELDS[kind]))))
    if not conditions:
        return (), False, False
    return tuple(conditions), c.flag(), c.flag()


def place_order(c: Cursor, sv: int) -> PlaceOrder:
    """Read a placeOrder request (the fields after the message id)."""
    if sv < MIN_SERVER_VER_ORDER_CONTAINER:
        c.skip()  # version
    order_id, contract = c.integer(), c.contract()
    c.skip(2)  # secIdType, secId
    action, quantity, order_type = c.string(), c.decimal(), c.string()
    lmt_price, aux_price = c.opt_number(), c.opt_number()
    tif, oca_group, account = c.string(), c.string(), c.string()
    c.skip(2)  # openClose, origin
    order_ref, transmit, parent_id = c.string(), c.flag(), c.integer()
    c.skip(4)  # blockOrder, sweepToFill, displaySize, triggerMethod
    outside_rth = c.flag()
    c.skip()  # hidden
    if contract.sec_type == "BAG":
        c.skip(8 * c.integer())  # combo legs: conId ... designatedLocation, exemptCode
        c.skip(c.integer())  # per-leg prices
        c.skip(2 * c.integer())  # smart combo routing params (tag, value)
    c.skip(3)  # sharesAllocation (deprecated), discretionaryAmt, goodAfterTime
    good_till_date = c.string()
    c.skip(3)  # faGroup, faMethod, faPercentage
    if sv < MIN_SERVER_VER_FA_PROFILE_DESUPPORT:
        c.skip()  # faProfile
    if sv >= MIN_SERVER_VER_MODELS_SUPPORT:
        c.skip()  # modelCode
    c.skip(3)  # shortSaleSlot, designatedLocation, exemptCode
    oca_type = c.integer()
    # rule80A ... stockRangeUpper, overridePercentageConstraints, volatility, volatilityType
    c.skip(17)
    delta_neutral_order_type = c.string()
    c.skip()  # deltaNeutralAuxPrice
    if delta_neutral_order_type:
        c.skip(8)  # conId, settlingFirm, clearingAccount, clearingIntent, openClose ... location
    c.skip(2)  # continuousUpdate, referencePriceType
    trail_stop_price, trailing_percent = c.opt_number(), c.opt_number()
    c.skip(2)  # scaleInitLevelSize, scaleSubsLevelSize
    scale_price_increment = c.opt_number()
    if scale_price_increment is not None and scale_price_increment > 0:
        c.skip(7)  # scalePriceAdjustValue ... scaleRandomPercent
    c.skip(3)  # scaleTable, activeStartTime, activeStopTime
    if c.string():  # hedgeType, then hedgeParam
        c.skip()
    c.skip(4)  # optOutSmartRouting, clearingAccount, clearingIntent, notHeld
    if c.flag():  # delta neutral contract: conId, delta, price
        c.skip(3)
    if c.string():  # algoStrategy, then its (tag, value) params
        c.skip(2 * c.integer())
    c.skip()  # algoId
    what_if = c.flag()
    c.skip(4)  # miscOptions, solicited, randomizeSize, randomizePrice
    conditions: tuple[OrderCondition, ...] = ()
    ignore_rth = cancel_order = False
    lmt_price_offset = None
    if sv >= MIN_SERVER_VER_PEGGED_TO_BENCHMARK:
        if order_type in PEG_BENCH:
            c.skip(5)  # referenceContractId ... referenceExchangeId
        conditions, ignore_rth, cancel_order = _conditions(c)
        c.skip(2)  # adjustedOrderType, triggerPrice
        lmt_price_offset = c.opt_number()
        c.skip(4)  # adjustedStopPrice, adjustedStopLimitPrice, adjustedTrailingAmount, adjustableTrailingUnit
    for version, count in _MIDDLE_FIELDS:
        if sv >= version:
            c.skip(count)
    _read_late_fields(c, sv, contract.exchange, order_type)
    return PlaceOrder(
        order_id=order_id, contract=contract, action=action, total_quantity=quantity,
        order_type=order_type, lmt_price=lmt_price, aux_price=aux_price, tif=tif,
        oca_group=oca_group, account=account, order_ref=order_ref, transmit=transmit,
        parent_id=parent_id, outside_rth=outside_rth, good_till_date=good_till_date,
        oca_type=oca_type, trail_stop_price=trail_stop_price, trailing_percent=trailing_percent,
        what_if=what_if, conditions=conditions, conditions_ignore_rth=ignore_rth,
        conditions_cancel_order=cancel_order, lmt_price_offset=lmt_price_offset)


def _read_late_fields(c: Cursor, sv: int, exchange: str, order_type: str) -> None:
    """The fields added from server version 158 on (none of them carried)."""
    for version in (MIN_SERVER_VER_DURATION, MIN_SERVER_VER_POST_TO_ATS,
                    MIN_SERVER_VER_AUTO_CANCEL_PARENT, MIN_SERVER_VER_ADVANCED_ORDER_REJECT,
                    MIN_SERVER_VER_MANUAL_ORDER_TIME):
        if sv >= version:
            c.skip()
    if sv >= MIN_SERVER_VER_PEGBEST_PEGMID_OFFSETS:
        if exchange == "IBKRATS":
            c.skip()  # minTradeQty
        mid_offsets = order_type in PEG_MID
        if order_type in PEG_BEST:
            c.skip()  # minCompeteSize
            # competeAgainstBestOffset; "up to mid" (infinite) adds the mid offsets
            mid_offsets = c.opt_number() == float("inf")
        if mid_offsets:
            c.skip(2)  # midOffsetAtWhole, midOffsetAtHalf
    for version in (MIN_SERVER_VER_CUSTOMER_ACCOUNT, MIN_SERVER_VER_PROFESSIONAL_CUSTOMER):
        if sv >= version:
            c.skip()
    if MIN_SERVER_VER_RFQ_FIELDS <= sv < MIN_SERVER_VER_UNDO_RFQ_FIELDS:
        c.skip(2)
    for version in (MIN_SERVER_VER_INCLUDE_OVERNIGHT, MIN_SERVER_VER_CME_TAGGING_FIELDS,
                    MIN_SERVER_VER_IMBALANCE_ONLY):
        if sv >= version:
            c.skip()
