"""Races between a client's calls, its session and the service: a subscribe that runs after its
session ended, acknowledgements while a callback blocks, a replay racing with live events, a
client's own unsubscribe and subscribe of one line on two threads."""

from __future__ import annotations

import threading
from typing import Any

from platform_adapter.service.schema import pack, unpack
from platform_adapter.sim import SimulatedGateway
from tests.service.conftest import Running
from tests.service.raw_client import RawClient


def test_a_subscribe_that_runs_after_its_session_ended_holds_no_line(served: Running, gateway: SimulatedGateway,
                                                                     monkeypatch: Any) -> None:
    """A subscribe command bound to a session, run by a worker only after the session ended and
    its lines were released (a busy pool, the book's lock won by the release): before, it held a
    line for a token that no session has, never released (an IB line leaked for good)."""
    book = served.service.book
    real_subscribe, real_release = book.subscribe_quotes, book.release_all
    entered, go, released = threading.Event(), threading.Event(), threading.Event()

    def late_subscribe(token: str, symbols: list[Any]) -> list[str]:
        entered.set()
        assert go.wait(10)
        return real_subscribe(token, symbols)

    def release_all(token: str) -> int:
        try:
            return real_release(token)
        finally:
            released.set()

    monkeypatch.setattr(book, "subscribe_quotes", late_subscribe)
    monkeypatch.setattr(book, "release_all", release_all)
    raw, beat = RawClient(served.service.commands_endpoint), RawClient(served.service.commands_endpoint)
    try:
        raw.hello("late")
        beat.session = raw.session
        with raw.lock:
            raw.cmd.send(pack({"v": 1, "id": 1, "cmd": "market_data.subscribe_quotes", "session": raw.session,
                               "args": {"symbols": ["AAPL"]}}))
        assert entered.wait(10)
        assert beat.call("bye", {"ack": 0})["ok"]  # the session ends; its lines are released
        assert released.wait(10)
        go.set()
        assert raw.cmd.poll(10_000)
        reply = unpack(raw.cmd.recv())
        assert reply["ok"] is False and reply["error"]["attributes"]["code"] == "not_identified", reply
        assert book.stats() == {"lines": 0, "line_holders": 0}
        assert served.pa.market_data.stats()["quotes"] == 0
    finally:
        go.set()
        raw.close()
        beat.close()

