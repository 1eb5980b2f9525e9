"""Option calculations (implied volatility, price and greeks for given inputs) and exercise
requests. Exercise is not simulated: it is answered with a validation error (see docs/simulator.md)."""

from __future__ import annotations

import datetime as dt

from . import info_messages as im
from . import info_requests as iq
from .contracts import ContractSpec
from .options import NOT_COMPUTED, greeks, implied_vol
from .service import Service

CUST_OPTION_COMPUTATION = 53  # the tick type of calculateImpliedVolatility / calculateOptionPrice results
TEXT_INVALID_ACCOUNT = "Error validating request.-'cq' : cause - Invalid account code"
# The simulator's own texts, in the form of IB's other request validation errors (code 321).
TEXT_OPTIONS_ONLY = "Error validating request.-'bK' : cause - Option calculations and exercise apply to options only"
TEXT_NO_POSITION = "Error validating request.-'bE' : cause - No position to exercise in this option"
TEXT_NOT_SIMULATED = "Error validating request.-'bE' : cause - Option exercise is not simulated"


def _years(spec: ContractSpec) -> float:
    expiry = dt.datetime.strptime(spec.last_trade_date, "%Y%m%d").date()
    return (expiry - dt.date.today()).days / 365.0


class OptionCalculations(Service):
    """calculateImpliedVolatility, calculateOptionPrice (one result each) and exerciseOptions."""

    def _option(self, q: iq.ReqCalcImpliedVolat | iq.ReqCalcOptionPrice | iq.ExerciseOptions) -> ContractSpec | None:
        spec = self.spec(q.contract, q.req_id)
        if spec is not None and not spec.is_option:
            self.error(q.req_id, 321, TEXT_OPTIONS_ONLY)
            return None
        return spec

    def h_calculateImpliedVolatility(self, q: iq.ReqCalcImpliedVolat) -> None:
        spec = self._option(q)
        if spec is None:
            return
        call = spec.right == "C"
        vol = None
        if q.option_price > 0 and q.under_price > 0:
            vol = implied_vol(call, q.option_price, q.under_price, spec.strike, _years(spec))
        g = NOT_COMPUTED if vol is None else greeks(call, q.under_price, spec.strike, _years(spec), vol)
        self.send(im.tick_option_computation(q.req_id, CUST_OPTION_COMPUTATION, 0, g))

    def h_calculateOptionPrice(self, q: iq.ReqCalcOptionPrice) -> None:
        spec = self._option(q)
        if spec is None:
            return
        g = NOT_COMPUTED
        if q.volatility > 0 and q.under_price > 0:
            g = greeks(spec.right == "C", q.under_price, spec.strike, _years(spec), q.volatility)
        self.send(im.tick_option_computation(q.req_id, CUST_OPTION_COMPUTATION, 0, g))

    def h_cancelCalculateImpliedVolatility(self, q: iq.CancelCalcImpliedVolat) -> None:
        """The calculation was answered at once: nothing to stop."""

    def h_cancelCalculateOptionPrice(self, q: iq.CancelCalcOptionPrice) -> None:
        """The calculation was answered at once: nothing to stop."""

    def h_exerciseOptions(self, q: iq.ExerciseOptions) -> None:
        account = self.gw.account_of(q.account)
        if account is None:
            self.error(q.req_id, 321, TEXT_INVALID_ACCOUNT)
            return
        spec = self._option(q)
        if spec is None:
            return
        held = account.positions.get(spec.con_id)
        if held is None or held.qty < q.exercise_quantity:
            self.error(q.req_id, 321, TEXT_NO_POSITION)
            return
        self.error(q.req_id, 321, TEXT_NOT_SIMULATED)
