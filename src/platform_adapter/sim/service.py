"""A group of request handlers that share a session: the session owns one of each (``h_<request>``
methods are found by name, as the session's own)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .contracts import NO_SECDEF_TEXT, ContractQuery, ContractSpec
from .wire import Outgoing

if TYPE_CHECKING:
    from .server import SimulatedGateway
    from .session import Session


class Service:
    """Handlers of one domain for one client connection."""

    def __init__(self, session: Session) -> None:
        self.session = session

    @property
    def gw(self) -> SimulatedGateway:
        return self.session.gw

    @property
    def sv(self) -> int:
        """The negotiated server version."""
        return self.session.sv

    def send(self, *msgs: Outgoing) -> None:
        self.session.send(*msgs)

    def error(self, req_id: int, code: int, text: str) -> None:
        self.session.error(req_id, code, text)

    def spec(self, q: ContractQuery, req_id: int) -> ContractSpec | None:
        """The one contract the query names, else error 200 for the request and None."""
        spec = self.gw.universe.resolve_one(q)
        if spec is None:
            self.error(req_id, 200, NO_SECDEF_TEXT)
        return spec
