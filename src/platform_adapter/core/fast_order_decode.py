"""A fast path for the order messages of the text protocol: openOrder (5) and orderStatus (3).

ibapi's ``Decoder`` reads an openOrder's ~140 fields through one ``decode()`` call each (with a
log call and a type dispatch per field): about 45 us per message, on the critical path of every
order acknowledgement. ``build_order_fast_path(wrapper, server_version)`` returns decoders that
read the same fields in the same order, with the conversions ``decode()`` applies (``int(s or 0)``,
``float(s)`` or IB's "unset" value for an empty field, ``Decimal`` with IB's unset sizes,
``int(s or 0) != 0`` for booleans), and deliver into the order handler's ``open_order`` /
``order_status`` (``core/handlers.py``) objects equal to ibapi's (property tests compare every
attribute).

Only the common shape is taken: an ASCII frame of server version 145 on (the text layout stops
changing at 200; from 201 ``fast_decode`` puts the id field back in front of a text frame with a
binary id) whose order has no combo legs, smart-combo routing parameters, scale fields,
delta-neutral contract, pegged-to-benchmark fields, conditions or order allocations. Anything else, a short frame or a
field that does not parse returns ``False`` before anything is delivered, and ibapi's decoder
(the decoder of record) handles the frame.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from ibapi.const import UNSET_DECIMAL, UNSET_DOUBLE, UNSET_INTEGER
from ibapi.contract import Contract
from ibapi.order_state import OrderState
from ibapi.server_versions import (
    MIN_SERVER_VER_AUTO_CANCEL_PARENT,
    MIN_SERVER_VER_BOND_ACCRUED_INTEREST,
    MIN_SERVER_VER_CME_TAGGING_FIELDS_IN_OPEN_ORDER,
    MIN_SERVER_VER_CUSTOMER_ACCOUNT,
    MIN_SERVER_VER_D_PEG_ORDERS,
    MIN_SERVER_VER_DURATION,
    MIN_SERVER_VER_FA_PROFILE_DESUPPORT,
    MIN_SERVER_VER_FULL_ORDER_PREVIEW_FIELDS,
    MIN_SERVER_VER_IMBALANCE_ONLY,
    MIN_SERVER_VER_INCLUDE_OVERNIGHT,
    MIN_SERVER_VER_ORDER_CONTAINER,
    MIN_SERVER_VER_PEGBEST_PEGMID_OFFSETS,
    MIN_SERVER_VER_POST_TO_ATS,
    MIN_SERVER_VER_PRICE_MGMT_ALGO,
    MIN_SERVER_VER_PROFESSIONAL_CUSTOMER,
    MIN_SERVER_VER_SUBMITTER,
)
from ibapi.softdollartier import SoftDollarTier
from ibapi.tag_value import TagValue

from platform_adapter.adapters.orders.ib_order import new_ib_order

if TYPE_CHECKING:
    from platform_adapter.core.wrapper import Wrapper

FrameDecoder = Callable[[bytes], bool]

_CONTRACT_DEFAULTS = dict(Contract().__dict__)  # comboLegs (a list) is replaced per contract
_ORDER_STATE_DEFAULTS = dict(OrderState().__dict__)
# ibapi.utils.decode(Decimal, ...) maps these wire strings (and "") to UNSET_DECIMAL
UNSET_SIZE_TEXT = ("", "2147483647", "9223372036854775807", "1.7976931348623157E308", "-9223372036854775808")
_UNSET_SIZES = frozenset(UNSET_SIZE_TEXT)
# what a field that does not parse raises (a decoder that meets one declines the frame)
PARSE_ERRORS = (ValueError, ArithmeticError, InvalidOperation, TypeError, OverflowError)
_DECLINE = (*PARSE_ERRORS, StopIteration)  # StopIteration: the frame is short
_PEG_BENCH = ("PEG BENCH", "PEGBENCH")


def _new(cls: type[Any], defaults: dict[str, Any]) -> Any:
    obj = object.__new__(cls)
    obj.__dict__.update(defaults)
    return obj


# the conversions of ibapi.utils.decode() for an ASCII field: decode(Decimal, ...), decode(float/int,
# ..., SHOW_UNSET) (an empty field is IB's "unset" value) and decode(bool, ...)
def _size(s: str) -> Decimal:
    return UNSET_DECIMAL if s in _UNSET_SIZES else Decimal(s)


def unset_float(s: str) -> float:
    return float(s) if s else UNSET_DOUBLE


def unset_int(s: str) -> int:
    return int(s) if s else UNSET_INTEGER


def flag(s: str) -> bool:
    return int(s or 0) != 0


def build_order_fast_path(wrapper: Wrapper, server_version: int) -> tuple[FrameDecoder, FrameDecoder] | None:
    """``(open_order, order_status)`` text frame decoders for ``server_version``, or ``None``
    below 145 (where the openOrder carries its own version field)."""
    if server_version < MIN_SERVER_VER_ORDER_CONTAINER:
        return None
    sv = server_version
    fa_profile = sv < MIN_SERVER_VER_FA_PROFILE_DESUPPORT
    d_peg = sv >= MIN_SERVER_VER_D_PEG_ORDERS
    price_mgmt = sv >= MIN_SERVER_VER_PRICE_MGMT_ALGO
    duration = sv >= MIN_SERVER_VER_DURATION
    post_to_ats = sv >= MIN_SERVER_VER_POST_TO_ATS
    auto_cancel_parent = sv >= MIN_SERVER_VER_AUTO_CANCEL_PARENT
    peg_best = sv >= MIN_SERVER_VER_PEGBEST_PEGMID_OFFSETS
    customer_account = sv >= MIN_SERVER_VER_CUSTOMER_ACCOUNT
    professional = sv >= MIN_SERVER_VER_PROFESSIONAL_CUSTOMER
    accrued = sv >= MIN_SERVER_VER_BOND_ACCRUED_INTEREST
    overnight = sv >= MIN_SERVER_VER_INCLUDE_OVERNIGHT
    cme = sv >= MIN_SERVER_VER_CME_TAGGING_FIELDS_IN_OPEN_ORDER
    full_preview = sv >= MIN_SERVER_VER_FULL_ORDER_PREVIEW_FIELDS
    submitter = sv >= MIN_SERVER_VER_SUBMITTER
    imbalance_only = sv >= MIN_SERVER_VER_IMBALANCE_ONLY
    open_order_cb = wrapper.handlers.orders.open_order
    order_status_cb = wrapper.handlers.orders.order_status
    failed = wrapper.handler_failed

    def fields(frame: bytes) -> Callable[[], str] | None:
        """The frame's fields after the message id (as ``Decoder.interpret`` gets them), ASCII only:
        there ``int``/``float`` of a ``str`` and of ibapi's ``bytes`` agree, and UTF-8 decoding is
        the identity."""
        if not frame.isascii():
            return None
        f = frame.decode("ascii").split("\0")
        del f[-1]
        step = iter(f).__next__
        step()  # the message id
        return step

    def open_order(frame: bytes) -> bool:  # noqa: C901, PLR0915 - one straight read of the layout
        nx = fields(frame)
        if nx is None:
            return False
        c = _new(Contract, _CONTRACT_DEFAULTS)
        c.comboLegs = []
        o = new_ib_order()
        st = _new(OrderState, _ORDER_STATE_DEFAULTS)
        try:
            o.orderId = int(nx() or 0)
            c.conId = int(nx() or 0)
            c.symbol, c.secType, c.lastTradeDateOrContractMonth = nx(), nx(), nx()
            c.strike = float(nx() or 0)
            c.right, c.multiplier, c.exchange, c.currency, c.localSymbol, c.tradingClass = (
                nx(), nx(), nx(), nx(), nx(), nx())
            o.action = nx()
            o.totalQuantity = _size(nx())
            o.orderType = nx()
            o.lmtPrice = unset_float(nx())
            o.auxPrice = unset_float(nx())
            o.tif, o.ocaGroup, o.account, o.openClose = nx(), nx(), nx(), nx()
            o.origin = int(nx() or 0)
            o.orderRef = nx()
            o.clientId = int(nx() or 0)
            o.permId = int(nx() or 0)
            o.outsideRth = flag(nx())
            o.hidden = flag(nx())
            o.discretionaryAmt = float(nx() or 0)
            o.goodAfterTime = nx()
            nx()  # sharesAllocation (deprecated)
            o.faGroup, o.faMethod, o.faPercentage = nx(), nx(), nx()
            if fa_profile:
                nx()
            o.modelCode, o.goodTillDate, o.rule80A = nx(), nx(), nx()
            o.percentOffset = unset_float(nx())
            o.settlingFirm = nx()
            o.shortSaleSlot = int(nx() or 0)
            o.designatedLocation = nx()
            o.exemptCode = int(nx() or 0)
            o.auctionStrategy = int(nx() or 0)
            o.startingPrice = unset_float(nx())
            o.stockRefPrice = unset_float(nx())
            o.delta = unset_float(nx())
            o.stockRangeLower = unset_float(nx())
            o.stockRangeUpper = unset_float(nx())
            o.displaySize = unset_int(nx())
            o.blockOrder = flag(nx())
            o.sweepToFill = flag(nx())
            o.allOrNone = flag(nx())
            o.minQty = unset_int(nx())
            o.ocaType = int(nx() or 0)
            flag(nx()), flag(nx()), unset_float(nx())  # eTradeOnly, firmQuoteOnly, nbboPriceCap: parsed, unused
            o.parentId = int(nx() or 0)
            o.triggerMethod = int(nx() or 0)
            o.volatility = unset_float(nx())
            o.volatilityType = int(nx() or 0)
            o.deltaNeutralOrderType = nx()  # IB sends "None" when there is none: read as ibapi does
            o.deltaNeutralAuxPrice = unset_float(nx())
            if o.deltaNeutralOrderType:
                o.deltaNeutralConId = int(nx() or 0)
                (o.deltaNeutralSettlingFirm, o.deltaNeutralClearingAccount, o.deltaNeutralClearingIntent,
                 o.deltaNeutralOpenClose) = nx(), nx(), nx(), nx()
                o.deltaNeutralShortSale = flag(nx())
                o.deltaNeutralShortSaleSlot = int(nx() or 0)
                o.deltaNeutralDesignatedLocation = nx()
            o.continuousUpdate = flag(nx())
            o.referencePriceType = int(nx() or 0)
            o.trailStopPrice = unset_float(nx())
            o.trailingPercent = unset_float(nx())
            o.basisPoints = unset_float(nx())
            o.basisPointsType = unset_int(nx())
            c.comboLegsDescrip = nx()
            if int(nx() or 0) > 0 or int(nx() or 0) > 0 or int(nx() or 0) > 0:
                return False  # combo legs, order combo legs, smart-combo routing parameters
            o.scaleInitLevelSize = unset_int(nx())
            o.scaleSubsLevelSize = unset_int(nx())
            o.scalePriceIncrement = unset_float(nx())
            if o.scalePriceIncrement != UNSET_DOUBLE and o.scalePriceIncrement > 0.0:
                return False
            o.hedgeType = nx()
            if o.hedgeType:
                o.hedgeParam = nx()
            o.optOutSmartRouting = flag(nx())
            o.clearingAccount, o.clearingIntent = nx(), nx()
            o.notHeld = flag(nx())
            if flag(nx()):
                return False  # a delta-neutral contract
            o.algoStrategy = nx()
            if o.algoStrategy:
                count = int(nx() or 0)
                if count > 0:
                    params = []
                    for _ in range(count):
                        tag = TagValue()
                        tag.tag, tag.value = nx(), nx()
                        params.append(tag)
                    o.algoParams = params
            o.solicited = flag(nx())
            o.whatIf = flag(nx())
            st.status = nx()
            (st.initMarginBefore, st.maintMarginBefore, st.equityWithLoanBefore, st.initMarginChange,
             st.maintMarginChange, st.equityWithLoanChange, st.initMarginAfter, st.maintMarginAfter,
             st.equityWithLoanAfter) = nx(), nx(), nx(), nx(), nx(), nx(), nx(), nx(), nx()
            st.commissionAndFees = unset_float(nx())
            st.minCommissionAndFees = unset_float(nx())
            st.maxCommissionAndFees = unset_float(nx())
            st.commissionAndFeesCurrency = nx()
            if full_preview:
                st.marginCurrency = nx()
                (st.initMarginBeforeOutsideRTH, st.maintMarginBeforeOutsideRTH, st.equityWithLoanBeforeOutsideRTH,
                 st.initMarginChangeOutsideRTH, st.maintMarginChangeOutsideRTH, st.equityWithLoanChangeOutsideRTH,
                 st.initMarginAfterOutsideRTH, st.maintMarginAfterOutsideRTH, st.equityWithLoanAfterOutsideRTH) = [
                    unset_float(nx()) for _ in range(9)]
                st.suggestedSize = _size(nx())
                st.rejectReason = nx()
                if int(nx() or 0) > 0:
                    return False  # order allocations
            st.warningText = nx()
            o.randomizeSize = flag(nx())
            o.randomizePrice = flag(nx())
            if o.orderType in _PEG_BENCH or int(nx() or 0) > 0:
                return False  # pegged-to-benchmark fields, conditions
            o.adjustedOrderType = nx()
            o.triggerPrice = float(nx() or 0)
            o.trailStopPrice = float(nx() or 0)
            o.lmtPriceOffset = float(nx() or 0)
            o.adjustedStopPrice = float(nx() or 0)
            o.adjustedStopLimitPrice = float(nx() or 0)
            o.adjustedTrailingAmount = float(nx() or 0)
            o.adjustableTrailingUnit = int(nx() or 0)
            o.softDollarTier = SoftDollarTier(nx(), nx(), nx())
            o.cashQty = float(nx() or 0)
            o.dontUseAutoPriceForHedge = flag(nx())
            o.isOmsContainer = flag(nx())
            if d_peg:
                o.discretionaryUpToLimitPrice = flag(nx())
            if price_mgmt:
                o.usePriceMgmtAlgo = flag(nx())
            if duration:
                o.duration = unset_int(nx())
            if post_to_ats:
                o.postToAts = unset_int(nx())
            if auto_cancel_parent:
                o.autoCancelParent = flag(nx())
            if peg_best:
                o.minTradeQty = unset_int(nx())
                o.minCompeteSize = unset_int(nx())
                o.competeAgainstBestOffset = unset_float(nx())
                o.midOffsetAtWhole = unset_float(nx())
                o.midOffsetAtHalf = unset_float(nx())
            if customer_account:
                o.customerAccount = nx()
            if professional:
                o.professionalCustomer = flag(nx())
            if accrued:
                o.bondAccruedInterest = nx()
            if overnight:
                o.includeOvernight = flag(nx())
            if cme:
                o.extOperator = nx()
                o.manualOrderIndicator = unset_int(nx())
            if submitter:
                o.submitter = nx()
            if imbalance_only:
                o.imbalanceOnly = flag(nx())
        except _DECLINE:
            return False
        try:
            open_order_cb(o.orderId, c, o, st)
        except Exception:  # noqa: BLE001 - one bad handler must not stop the dispatcher
            failed("open_order")
        return True

    def order_status(frame: bytes) -> bool:
        nx = fields(frame)
        if nx is None:
            return False
        try:
            args = (int(nx() or 0), nx(), _size(nx()), _size(nx()), float(nx() or 0), int(nx() or 0),
                    int(nx() or 0), float(nx() or 0), int(nx() or 0), nx(), float(nx() or 0))
        except _DECLINE:
            return False
        try:
            order_status_cb(*args)
        except Exception:  # noqa: BLE001 - one bad handler must not stop the dispatcher
            failed("order_status")
        return True

    return open_order, order_status
