"""What every adapter shares: the synchronous request helper (register, send, wait; a send that
fails leaves nothing pending), the connection check and callbacks on the event thread."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

import pytest

from platform_adapter.adapters.base_adapter import BaseAdapter
from platform_adapter.core.events import EventDispatcher
from platform_adapter.core.request_registry import RequestRegistry
from platform_adapter.errors import NotConnected, RequestTimeout
from tests.conftest import Recorder


class Connection:
    def __init__(self, client: Any) -> None:
        self.client = client

    def require_connected(self) -> Any:
        if self.client is None:
            raise NotConnected("not connected to 127.0.0.1:4002")
        return self.client


def adapter(client: Any = "client", events: Any = None) -> BaseAdapter:
    settings = SimpleNamespace(ib_connection=SimpleNamespace(request_timeout=0.05))
    ctx = SimpleNamespace(settings=settings, state=None, registry=RequestRegistry(first_id=40), events=events,
                          connection=Connection(client), metrics=None, contracts=None)
    return BaseAdapter(ctx)  # type: ignore[arg-type]


def test_request_sends_with_a_fresh_id_and_returns_the_answers() -> None:
    a = adapter()

    def send(client: Any, req_id: int) -> None:
        assert client == "client"
        threading.Thread(target=lambda: (a.registry.append(req_id, "x"), a.registry.finish(req_id))).start()

    assert a._request("contract_details", send, timeout=5) == ["x"]
    assert len(a.registry) == 0


def test_a_failed_send_leaves_nothing_pending_and_no_answer_times_out() -> None:
    a = adapter()

    def broken(client: Any, req_id: int) -> None:
        raise OSError("socket closed")

    with pytest.raises(OSError):
        a._request("x", broken)
    assert len(a.registry) == 0
    with pytest.raises(RequestTimeout):
        a._request("silent", lambda client, req_id: None)  # the configured request_timeout


def test_not_connected_sends_nothing() -> None:
    a = adapter(client=None)
    sent: list[int] = []
    with pytest.raises(NotConnected):
        a._request("x", lambda client, req_id: sent.append(req_id))
    assert sent == [] and len(a.registry) == 0
    with pytest.raises(AssertionError, match="ContractResolver"):
        _ = a.contracts


def test_callbacks_run_on_the_event_thread() -> None:
    events = EventDispatcher()
    events.start()
    try:
        rec = Recorder()
        a = adapter(events=events)
        a._notify(lambda *args: rec(threading.current_thread().name, *args), 1, 2)
        (thread, *args), = rec.wait(1)
        assert thread != threading.current_thread().name and args == [1, 2]
    finally:
        events.stop()
