"""Session administration requests: financial-advisor data (refused: the account is not an FA
account), display groups, API verification (not enabled), the server log level and the API
configuration."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import info_messages as im
from . import info_requests as iq
from .protocol import UNSET_INTEGER
from .service import Service

if TYPE_CHECKING:
    from .session import Session

# IB's answers for a non-FA account (a real gateway sends requestFA's with id 2147483647)
TEXT_REQUEST_FA = "Error validating request.-'b9' : cause - FA data operations ignored for non FA customers."
TEXT_REPLACE_FA = "Error validating request.-'b1' : cause - FA data operations ignored for non FA customers."
TEXT_319 = "Invalid log level"
DISPLAY_GROUPS = range(1, 8)  # TWS's seven colour groups
# The simulator's own texts, in the form of IB's other request validation errors (code 321).
TEXT_NO_GROUP = "Error validating request.-'bZ' : cause - Invalid display group id: {group}"
TEXT_NOT_SUBSCRIBED = "Error validating request.-'bZ' : cause - No display group subscription: {req_id}"
TEXT_NO_VERIFY = "Error validating request.-'bV' : cause - API verification is not enabled for this connection"
CONFIG_READ_ONLY = "The simulated gateway's configuration cannot be changed through the API"


class Administration(Service):
    """FA, display groups, verification, log level and configuration."""

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.groups: dict[int, int] = {}  # display group subscriptions: reqId -> group id

    def h_requestFA(self, q: iq.RequestFA) -> None:
        self.error(UNSET_INTEGER, 321, TEXT_REQUEST_FA)

    def h_replaceFA(self, q: iq.ReplaceFA) -> None:
        self.error(q.req_id, 321, TEXT_REPLACE_FA)

    def h_queryDisplayGroups(self, q: iq.QueryDisplayGroups) -> None:
        self.send(im.display_group_list(q.req_id, "|".join(map(str, DISPLAY_GROUPS))))

    def h_subscribeToGroupEvents(self, q: iq.SubscribeToGroupEvents) -> None:
        """The subscription starts with the contract the group shows ("" for none)."""
        if q.group_id not in DISPLAY_GROUPS:
            self.error(q.req_id, 321, TEXT_NO_GROUP.format(group=q.group_id))
            return
        self.groups[q.req_id] = q.group_id
        self.send(im.display_group_updated(q.req_id, self.gw.display_groups.get(q.group_id, "")))

    def h_updateDisplayGroup(self, q: iq.UpdateDisplayGroup) -> None:
        """Shows a contract ("conId@exchange") in the group: every subscriber to it is told."""
        group = self.groups.get(q.req_id)
        if group is None:
            self.error(q.req_id, 321, TEXT_NOT_SUBSCRIBED.format(req_id=q.req_id))
            return
        self.gw.display_groups[group] = q.contract_info
        for session in list(self.gw.sessions.values()):
            for req_id, g in session.admin.groups.items():
                if g == group:
                    session.send(im.display_group_updated(req_id, q.contract_info))

    def h_unsubscribeFromGroupEvents(self, q: iq.UnsubscribeFromGroupEvents) -> None:
        self.groups.pop(q.req_id, None)

    def h_verifyRequest(self, q: iq.VerifyRequest) -> None:
        self.error(-1, 321, TEXT_NO_VERIFY)

    def h_verifyMessage(self, q: iq.VerifyMessage) -> None:
        self.error(-1, 321, TEXT_NO_VERIFY)

    def h_verifyAndAuthRequest(self, q: iq.VerifyAndAuthRequest) -> None:
        self.error(-1, 321, TEXT_NO_VERIFY)

    def h_verifyAndAuthMessage(self, q: iq.VerifyAndAuthMessage) -> None:
        self.error(-1, 321, TEXT_NO_VERIFY)

    def h_setServerLogLevel(self, q: iq.SetServerLogLevel) -> None:
        """Levels 1 (system) to 5 (detail) are taken silently, as IB takes them."""
        if q.log_level not in range(1, 6):
            self.error(-1, 319, TEXT_319)

    def h_reqConfig(self, q: iq.ReqConfig) -> None:
        self.send(im.config_response(q.req_id, self.gw.port))

    def h_updateConfig(self, q: iq.UpdateConfig) -> None:
        self.send(im.update_config_response(q.req_id, "FAILED", CONFIG_READ_ONLY))
