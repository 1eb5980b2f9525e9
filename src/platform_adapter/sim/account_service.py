"""Account and position requests: positions, account summary and updates, the model-code
("multi") forms, P&L, for each managed account; a request for an account the login does not
hold gets IB's validation error."""

from __future__ import annotations

import time

from . import messages as m
from . import requests as rq
from .contracts import NO_SECDEF_TEXT
from .option_calcs import TEXT_INVALID_ACCOUNT
from .service import Service

# IB: "only two active summary subscriptions are allowed at a time" (its reqAccountSummary
# documentation); the refusal as a gateway sent it (a user's log quoted in a public repository)
MAX_ACCOUNT_SUMMARIES = 2
TEXT_322_SUMMARIES = ("Error processing request.-'b1' : cause - Maximum number of account summary "
                      "requests exceeded; desubscribe to previous request first")


class AccountRequests(Service):
    """The account handlers of one session (its subscriptions are the session's ``subs``)."""

    def h_reqPositions(self, q: rq.ReqPositions) -> None:
        self.session.subs.positions = True
        self.send(*self.gw.position_msgs(), m.position_end())

    def h_cancelPositions(self, q: rq.CancelPositions) -> None:
        self.session.subs.positions = False

    def h_reqAccountSummary(self, q: rq.ReqAccountSummary) -> None:
        req_id = q.req_id
        held = self.session.subs.acct_summary
        if req_id not in held and len(held) >= MAX_ACCOUNT_SUMMARIES:
            self.session.error(req_id, 322, TEXT_322_SUMMARIES)
            return
        tags = [t.strip() for t in q.tags.split(",") if t.strip()]
        sent: dict[str, str] = {}
        held[req_id] = (tags, sent)
        self.send(*self.gw.summary_msgs(req_id, tags, sent), m.account_summary_end(req_id))

    def h_cancelAccountSummary(self, q: rq.CancelAccountSummary) -> None:
        self.session.subs.acct_summary.pop(q.req_id, None)

    def h_reqAccountUpdates(self, q: rq.ReqAccountUpdates) -> None:
        """Subscribes to one account's updates (the first account's for an empty code)."""
        if not q.subscribe:
            self.session.subs.acct_updates = ""
            return
        if self._other_account(q.acct_code, -1):
            return
        acct = q.acct_code or self.gw.account_id
        self.session.subs.acct_updates = acct
        self.send(*self.gw.account_update_msgs(acct),
                  m.account_time(time.strftime("%H:%M", time.gmtime())),
                  m.account_download_end(acct))

    def _accounts(self, account: str, req_id: int) -> list[str] | None:
        """The accounts a model-code request covers: the one named, or every managed account for
        an empty code or "All"; None (and IB's validation error sent) for an unmanaged one."""
        if not account or account == "All":
            return list(self.gw.accounts)
        return None if self._other_account(account, req_id) else [account]

    def h_reqAccountUpdatesMulti(self, q: rq.ReqAccountUpdatesMulti) -> None:
        req_id = q.req_id
        accounts = self._accounts(q.account, req_id)
        if accounts is None:
            return
        self.send(*[m.account_update_multi(req_id, a, q.model_code, k, v, c)
                    for a in accounts for k, v, c in self.gw.account_value_triples(a)],
                  m.account_update_multi_end(req_id))

    def h_cancelAccountUpdatesMulti(self, q: rq.CancelAccountUpdatesMulti) -> None:
        pass

    def h_reqPositionsMulti(self, q: rq.ReqPositionsMulti) -> None:
        req_id = q.req_id
        accounts = self._accounts(q.account, req_id)
        if accounts is None:
            return
        msgs = [m.position_multi(req_id, a, self.gw.market.specs[cid], p.qty, p.avg_cost)
                for a in accounts for cid, p in self.gw.accounts[a].positions.items()]
        self.send(*msgs, m.position_multi_end(req_id))

    def h_cancelPositionsMulti(self, q: rq.CancelPositionsMulti) -> None:
        pass

    def _other_account(self, account: str, req_id: int) -> bool:
        """True (and IB's validation error sent) for an account the login does not manage."""
        if self.gw.account_of(account) is None:
            self.error(req_id, 321, TEXT_INVALID_ACCOUNT)
            return True
        return False

    def h_reqPnL(self, q: rq.ReqPnL) -> None:
        req_id = q.req_id
        if self._other_account(q.account, req_id):
            return
        acct = q.account or self.gw.account_id
        self.session.subs.pnl[req_id] = acct
        self.send(self.gw.pnl_msg(req_id, acct))

    def h_cancelPnL(self, q: rq.CancelPnL) -> None:
        self.session.subs.pnl.pop(q.req_id, None)

    def h_reqPnLSingle(self, q: rq.ReqPnLSingle) -> None:
        req_id, con_id = q.req_id, q.con_id
        if self._other_account(q.account, req_id):
            return
        if con_id not in self.gw.market.specs:
            self.error(req_id, 200, NO_SECDEF_TEXT)
            return
        acct = q.account or self.gw.account_id
        self.session.subs.pnl_single[req_id] = (acct, con_id)
        self.send(self.gw.pnl_single_msg(req_id, con_id, acct))

    def h_cancelPnLSingle(self, q: rq.CancelPnLSingle) -> None:
        self.session.subs.pnl_single.pop(q.req_id, None)
