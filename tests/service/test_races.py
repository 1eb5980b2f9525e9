"""Races between a client's calls, its session and the service: a subscribe that runs after its
session ended, acknowledgements while a callback blocks, a replay racing with live events, a
client's own unsubscribe and subscribe of one line on two threads."""

from __future__ import annotations

import subprocess
import sys
import threading
from typing import Any

import pytest

from platform_adapter import NotConnected, OrderState
from platform_adapter.remote.transport import Transport
from platform_adapter.service.schema import pack, unpack
from platform_adapter.sim import SimulatedGateway
from tests.conftest import Recorder, wait_for
from tests.service.conftest import Running, child_env
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



def test_a_blocked_status_callback_keeps_its_event_unacknowledged(served: Running, remote_factory: Any) -> None:
    """A status callback that blocks (its calls held, the other callbacks go on, on a new event
    thread): the fill that follows runs its callbacks first, but the acknowledgement stops below
    the blocked status. Before, the fill's number was acknowledged, and with it the status whose
    callbacks had not run: a process killed then never got it again."""
    a = remote_factory(served, "a", block_threshold=0.3)
    release, fills, statuses = threading.Event(), Recorder(), Recorder()

    def blocking_status(status: Any) -> None:
        statuses(status)
        if len(statuses.calls) == 1:
            assert release.wait(10)

    a.orders.on_order_status(blocking_status)
    a.orders.on_fill(fills)
    try:
        status = a.orders.place_order_and_wait("MSFT", "BUY", 1, "MKT", wait_for="Filled")
        statuses.wait(1)
        fills.wait(1)  # run while the first status callback is still blocked
        assert a.events.wait_idle(5)  # the fill's task (callbacks, then its acknowledgement) has returned
        assert a.transport.acked == 0  # the first order event (#1) has not been handled yet
    finally:
        release.set()
    wait_for(lambda: any(s.status is OrderState.FILLED for (s,) in statuses.calls))
    assert a.events.wait_idle(5)
    wait_for(lambda: a.transport.acked == a.transport.received_seq > 1)
    wait_for(lambda: served.service.store.acked("a") == a.transport.received_seq)
    assert status.status is OrderState.FILLED


def test_acknowledgements_advance_only_over_handled_numbers() -> None:
    t = Transport("tcp://127.0.0.1:1", "a", lambda ev: None, lambda: None)
    t.ack(2)
    t.ack(4)
    assert t.acked == 0
    t.ack(1)
    assert t.acked == 2
    t.ack(3)
    assert t.acked == 4
    t.ack(3)
    assert t.acked == 4


def test_a_live_event_read_while_the_hello_is_answered_is_not_delivered_again() -> None:
    """A session taken as lost (a heartbeat timed out) while the service still sends on it: the
    events thread reads a live order event between the new hello's ``last_seq`` and its answer.
    Before, the answer set the number received back to ``resume_from`` and the replay delivered
    that event a second time (not flagged: the same process)."""
    seen: list[dict[str, Any]] = []
    t = Transport("tcp://127.0.0.1:1", "a", seen.append, lambda: None)
    t.service_id, t.received_seq = "svc", 10  # this process had the service before

    def request(cmd: str, args: dict[str, Any], *rest: Any, **kwargs: Any) -> dict[str, Any]:
        if cmd == "hello":
            assert args["last_seq"] == 10
            t._handle({"ev": "order_status", "seq": 11})  # sent live on the old session, read meanwhile
            return {"session": "s2", "service": "svc", "events": "tcp://127.0.0.1:2", "heartbeat_interval": 0.5,
                    "heartbeat_timeout": 3.0, "resume_from": 10}
        return {"ib_connected": True}

    t._request = request  # type: ignore[method-assign]
    t._wake_events = t._attached.set  # type: ignore[method-assign]
    assert t._open()
    for seq in (11, 12):  # the new session's replay
        t._handle({"ev": "order_status", "seq": seq, "replay": True})
    assert [ev["seq"] for ev in seen] == [11, 12]


def test_an_acknowledgement_beyond_what_was_numbered_does_not_stop_later_ones(served: Running) -> None:
    """A heartbeat's ``ack`` above every number the service gave the client (a client that kept
    its number across a lost store, or a bug) is ignored; before, the session kept it as its
    high-water mark, and every real acknowledgement after it was dropped (the events stayed in
    the store for ever and replayed to the next process as possible duplicates)."""
    raw = RawClient(served.service.commands_endpoint)
    store = served.service.store
    try:
        raw.hello("acks")
        assert raw.call("heartbeat", {"ack": 100})["ok"]
        assert store.acked("acks") == 0
        place = {"symbol": "MSFT", "action": "BUY", "quantity": 1, "order_type": "MKT"}
        assert raw.call("orders.place_order", place)["ok"]
        wait_for(lambda: store.last_seq("acks") >= 2)
        last = store.last_seq("acks")
        assert raw.call("heartbeat", {"ack": last})["ok"]
        assert store.acked("acks") == last
    finally:
        raw.close()


def test_an_unsubscribe_and_a_subscribe_of_one_line_on_two_threads_leave_it_held(served: Running,
                                                                                   remote_factory: Any,
                                                                                   monkeypatch: Any) -> None:
    """One thread lets go of a line while another subscribes it again: the client's commands
    for one line reach the service in the order the client's book changed. Before, the subscribe
    (the line still held at the service: nothing to do) could overtake the unsubscribe, which then
    released the line: the client kept a callback that never got another quote."""
    a = remote_factory(served, "a")
    first, second = Recorder(), Recorder()
    a.market_data.subscribe_quotes("AAPL", first)
    first.wait(1)
    real_call = a.transport.call
    sending, subscribed = threading.Event(), threading.Event()

    def call(cmd: str, args: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        if cmd == "market_data.unsubscribe":
            sending.set()
            subscribed.wait(1)  # the subscribe on the other thread goes first when it can
        return real_call(cmd, args, **kwargs)

    monkeypatch.setattr(a.transport, "call", call)
    unsubscriber = threading.Thread(target=a.market_data.unsubscribe_quotes, args=("AAPL",))
    unsubscriber.start()
    assert sending.wait(5)
    subscriber = threading.Thread(target=lambda: (a.market_data.subscribe_quotes("AAPL", second), subscribed.set()))
    subscriber.start()
    unsubscriber.join(10)
    subscriber.join(10)
    assert subscribed.is_set()
    assert served.service.book.held(a.transport.session or "") == ["quotes|AAPL"]
    count = len(second.calls)
    second.wait(count + 2)  # quotes go on


def test_a_line_let_go_of_before_the_resync_is_not_subscribed_again(served: Running, remote_factory: Any,
                                                                     monkeypatch: Any) -> None:
    """The service lost the session; the client reconnects and, before its resync has subscribed
    its lines again, the user lets go of one. Before, the unsubscribe raised the service's
    ValidationError (the new session held nothing yet), and the resync, working from its list,
    subscribed the line again: held at the service (and at IB) for a client that has no callback."""
    a = remote_factory(served, "a")
    quotes = Recorder()
    a.market_data.subscribe_quotes(["AAPL", "MSFT"], quotes)
    quotes.wait(1)
    real_resync, go, resyncing = a.market_data.resync, threading.Event(), threading.Event()

    def late_resync() -> None:
        resyncing.set()
        assert go.wait(10)
        real_resync()

    monkeypatch.setattr(a.market_data, "resync", late_resync)
    token = a.transport.session
    served.service._end(served.service.sessions.peek(token or ""), "a test")  # type: ignore[arg-type]
    try:
        assert resyncing.wait(10)
        assert a.is_connected() and a.transport.session != token
        a.market_data.unsubscribe_quotes("AAPL")
    finally:
        go.set()
    wait_for(lambda: served.service.book.held(a.transport.session or "") == ["quotes|MSFT"])
    a.market_data.unsubscribe_quotes("MSFT")
    assert served.service.book.held(a.transport.session or "") == []
    wait_for(lambda: served.pa.market_data.stats()["quotes"] == 0)


def test_a_line_let_go_of_during_the_resync_is_not_subscribed_again(served: Running, remote_factory: Any,
                                                                     monkeypatch: Any) -> None:
    """The user lets go of a line while the resync after a reconnect subscribes the one before
    it: the resync skips it. Before, the resync subscribed every line of the list it took first."""
    a = remote_factory(served, "a")
    quotes = Recorder()
    a.market_data.subscribe_quotes(["AAPL", "MSFT"], quotes)
    quotes.wait(1)
    real_call, go, resyncing = a.transport.call, threading.Event(), threading.Event()

    def call(cmd: str, args: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        if cmd == "market_data.subscribe_quotes" and args == {"symbols": ["AAPL"]} and not go.is_set():
            resyncing.set()
            assert go.wait(10)
        return real_call(cmd, args, **kwargs)

    real_resync, resynced = a.market_data.resync, threading.Event()

    def resync() -> None:
        real_resync()
        resynced.set()

    monkeypatch.setattr(a.transport, "call", call)
    monkeypatch.setattr(a.market_data, "resync", resync)
    token = a.transport.session
    served.service._end(served.service.sessions.peek(token or ""), "a test")  # type: ignore[arg-type]
    unsubscriber = threading.Thread(target=a.market_data.unsubscribe_quotes, args=("MSFT",))
    try:
        assert resyncing.wait(10)  # the resync has its list and subscribes AAPL
        unsubscriber.start()
        unsubscriber.join(0.5)  # it waits for the resync's command (before, it went on)
    finally:
        go.set()
    unsubscriber.join(10)
    assert resynced.wait(10)
    assert served.service.book.held(a.transport.session or "") == ["quotes|AAPL"]


def test_a_late_answer_for_an_ended_session_does_not_end_the_new_one(served: Running, remote_factory: Any) -> None:
    """A call sent with the session that was lost (answered ``not_identified`` once the client has
    a new session) raises NotConnected for that call only. Before, it marked the new, healthy
    session lost too: a reconnect, every line subscribed again, for nothing."""
    a = remote_factory(served, "a")
    reconnects = a.transport.reconnects
    with pytest.raises(NotConnected):
        a.transport._request("is_connected", {}, "an-ended-session", 5.0)
    assert a.transport._up.is_set() and a.is_connected()
    assert a.transport.reconnects == reconnects


def test_a_client_subscribing_a_line_ib_dropped_gets_quotes(served: Running, gateway: SimulatedGateway,
                                                            remote_factory: Any) -> None:
    """IB ends a quote line (its holder hears it through on_error); the next client to subscribe
    it has it requested again and gets quotes, as a second subscribe does with the facade."""
    from platform_adapter.adapters.market.subscriptions import SubKind  # noqa: PLC0415

    a, b = remote_factory(served, "a"), remote_factory(served, "b")
    errors, quotes = Recorder(), Recorder()
    a.market_data.subscribe_quotes("AAPL", lambda s, q: None, errors)
    sub = served.pa.market_data.lines.get((SubKind.QUOTES, "AAPL", ""))
    assert sub is not None
    gateway.send_error(sub.req_id, 10197, "No market data during competing live session")
    errors.wait(1)
    b.market_data.subscribe_quotes("AAPL", quotes)
    quotes.wait(2)
    wait_for(lambda: gateway.stats().received["reqMktData"] == 2)
    a.market_data.unsubscribe_quotes("AAPL")
    b.market_data.unsubscribe_quotes("AAPL")
    wait_for(lambda: served.pa.market_data.stats()["quotes"] == 0 and served.service.book.stats()["lines"] == 0)


_HAMMER = """
import sys, threading
from platform_adapter.errors import PlatformAdapterError
from platform_adapter.remote import RemoteAdapter

for cycle in range(int(sys.argv[2])):
    pa = RemoteAdapter(sys.argv[1], name=f"hammer-{cycle}", connect_timeout=20)
    assert pa.connect(), pa.last_error
    stopped = threading.Event()
    threads = []

    def call() -> None:  # a thread's first call opens its socket: the send waits for the connection
        try:
            pa.transport.call("ping", timeout=5)
        except PlatformAdapterError:
            stopped.set()

    def spawn() -> None:
        while not stopped.is_set():
            t = threading.Thread(target=call)
            t.start()
            threads.append(t)
            if len(threads) % 4 == 0:
                threads[-4].join(10)

    spawner = threading.Thread(target=spawn)
    spawner.start()
    while len(threads) < 20:
        threading.Event().wait(0.001)
    pa.disconnect()
    stopped.set()
    spawner.join(10)
    for t in threads:
        t.join(10)
    assert not any(t.is_alive() for t in threads)
print("ok")
"""


def test_disconnect_while_other_threads_call_ends_them_without_killing_the_process(served: Running) -> None:
    """Threads still calling while another disconnects: each call ends with NotConnected, and the
    process lives; before, disconnect closed the sockets under the calls (ZeroMQ's context
    destroyed while a thread sent on one of its sockets: libzmq aborts the process)."""
    result = subprocess.run([sys.executable, "-c", _HAMMER, served.service.commands_endpoint, "8"],
                            capture_output=True, text=True, timeout=240, env=child_env(), check=False)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-3000:]
