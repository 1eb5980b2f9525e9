"""Account and position requests: positions, account summary and updates, the model-code
("multi") forms, P&L; a request for an account the login does not hold gets IB's validation
error."""

from __future__ import annotations

import time

from . import messages as m
from . import requests as rq
from .contracts import NO_SECDEF_TEXT
from .option_calcs import TEXT_INVALID_ACCOUNT
from .service import Service


class AccountRequests(Service):
    """The account handlers of one session (its subscriptions are the session's ``subs``)."""

    def h_reqPositions(self, q: rq.ReqPositions) -> None:
        self.session.subs.positions = True
        self.send(*self.gw.position_msgs(), m.position_end())

    def h_cancelPositions(self, q: rq.CancelPositions) -> None:
        self.session.subs.positions = False

    def h_reqAccountSummary(self, q: rq.ReqAccountSummary) -> None:
        req_id = q.req_id
        tags = [t.strip() for t in q.tags.split(",") if t.strip()]
        sent: dict[str, str] = {}
        self.session.subs.acct_summary[req_id] = (tags, sent)
        self.send(*self.gw.summary_msgs(req_id, tags, sent), m.account_summary_end(req_id))

    def h_cancelAccountSummary(self, q: rq.CancelAccountSummary) -> None:
        self.session.subs.acct_summary.pop(q.req_id, None)

    def h_reqAccountUpdates(self, q: rq.ReqAccountUpdates) -> None:
        self.session.subs.acct_updates = q.subscribe
        if self.session.subs.acct_updates:
            self.send(*self.gw.account_update_msgs(),
                      m.account_time(time.strftime("%H:%M", time.gmtime())),
                      m.account_download_end(self.gw.account_id))

    def h_reqAccountUpdatesMulti(self, q: rq.ReqAccountUpdatesMulti) -> None:
        req_id = q.req_id
        model = q.model_code
        vals = self.gw.account_value_triples()
        self.send(*[m.account_update_multi(req_id, self.gw.account_id, model, k, v, c)
                    for k, v, c in vals], m.account_update_multi_end(req_id))

    def h_cancelAccountUpdatesMulti(self, q: rq.CancelAccountUpdatesMulti) -> None:
        pass

    def h_reqPositionsMulti(self, q: rq.ReqPositionsMulti) -> None:
        req_id = q.req_id
        acct = self.gw.account
        msgs = [m.position_multi(req_id, acct.account_id, self.gw.market.specs[cid], p.qty, p.avg_cost)
                for cid, p in acct.positions.items()]
        self.send(*msgs, m.position_multi_end(req_id))

    def h_cancelPositionsMulti(self, q: rq.CancelPositionsMulti) -> None:
        pass

    def _other_account(self, account: str, req_id: int) -> bool:
        """True (and IB's validation error sent) for an account that is not the login's."""
        if account and account != self.gw.account_id:
            self.error(req_id, 321, TEXT_INVALID_ACCOUNT)
            return True
        return False

    def h_reqPnL(self, q: rq.ReqPnL) -> None:
        req_id = q.req_id
        if self._other_account(q.account, req_id):
            return
        self.session.subs.pnl.add(req_id)
        self.send(self.gw.pnl_msg(req_id))

    def h_cancelPnL(self, q: rq.CancelPnL) -> None:
        self.session.subs.pnl.discard(q.req_id)

    def h_reqPnLSingle(self, q: rq.ReqPnLSingle) -> None:
        req_id, con_id = q.req_id, q.con_id
        if self._other_account(q.account, req_id):
            return
        if con_id not in self.gw.market.specs:
            self.error(req_id, 200, NO_SECDEF_TEXT)
            return
        self.session.subs.pnl_single[req_id] = con_id
        self.send(self.gw.pnl_single_msg(req_id, con_id))

    def h_cancelPnLSingle(self, q: rq.CancelPnLSingle) -> None:
        self.session.subs.pnl_single.pop(q.req_id, None)
