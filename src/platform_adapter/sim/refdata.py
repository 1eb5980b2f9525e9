"""Reference data: market rules, matching symbols, option chains (reqSecDefOptParams), family
codes, soft-dollar tiers and user info."""

from __future__ import annotations

from . import info_messages as im
from . import info_requests as iq
from .contracts import NO_SECDEF_TEXT
from .service import Service

# The simulator's own text, in the form of IB's other request validation errors (code 321).
TEXT_UNKNOWN_RULE = "Error validating request.-'bM' : cause - Invalid market rule id: {rule_id}"


class ReferenceData(Service):
    """Requests answered from the universe and the account, without a subscription."""

    def h_reqMarketRule(self, q: iq.ReqMarketRule) -> None:
        increments = self.gw.universe.market_rules.get(q.market_rule_id)
        if increments is None:
            self.error(-1, 321, TEXT_UNKNOWN_RULE.format(rule_id=q.market_rule_id))
            return
        self.send(im.market_rule(q.market_rule_id, increments))

    def h_reqMatchingSymbols(self, q: iq.ReqMatchingSymbols) -> None:
        u = self.gw.universe
        found = [(c, ("OPT",) if c.con_id in u.chains else ()) for c in u.matching(q.pattern)]
        self.send(im.symbol_samples(self.sv, q.req_id, found))

    def h_reqSecDefOptParams(self, q: iq.ReqSecDefOptParams) -> None:
        """One message per exchange listing the underlying's options, then the end; none for an
        underlying without options (or a futures-options exchange it is not on)."""
        under = self.gw.universe.by_con_id.get(q.underlying_con_id)
        if under is None or under.symbol != q.underlying_symbol.upper():
            self.error(q.req_id, 200, NO_SECDEF_TEXT)
            return
        chain = self.gw.universe.chains.get(under.con_id)
        msgs = []
        if chain is not None:
            msgs = [im.sec_def_opt_params(q.req_id, exchange, under.con_id, chain.trading_class, chain.multiplier,
                                          chain.expirations, chain.strikes)
                    for exchange in chain.exchanges
                    if q.fut_fop_exchange in ("", exchange)]
        self.send(*msgs, im.sec_def_opt_params_end(q.req_id))

    def h_reqFamilyCodes(self, q: iq.ReqFamilyCodes) -> None:
        self.send(im.family_codes([(a, "") for a in self.gw.accounts]))

    def h_reqSoftDollarTiers(self, q: iq.ReqSoftDollarTiers) -> None:
        self.send(im.soft_dollar_tiers(q.req_id))

    def h_reqUserInfo(self, q: iq.ReqUserInfo) -> None:
        self.send(im.user_info(q.req_id, ""))

    def h_cancelContractData(self, q: iq.CancelContractData) -> None:
        """Contract details are answered at once: nothing to stop."""
