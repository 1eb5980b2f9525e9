"""RemoteAdapter against a service in this process, on the simulator: the facade's models and
typed exceptions, the spec's appendix B with only the constructor swapped, and sharing (one IB
line for many clients, orders per client). The interface itself: test_remote_parity.py."""

from __future__ import annotations

import contextlib
import io
import threading
import time
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest

from platform_adapter import (
    AccountSummary,
    Bar,
    ConfigError,
    ContractNotFound,
    IBError,
    NotConnected,
    OrderRejected,
    OrderState,
    OrderStateError,
    OrderStatus,
    PnL,
    Position,
    Quote,
    TickByTick,
    ValidationError,
)
from platform_adapter.adapters.market.subscriptions import SubKind
from platform_adapter.adapters.market_data import QUOTE_NOT_SUBSCRIBED
from platform_adapter.remote import RemoteAdapter
from platform_adapter.sim import SimulatedGateway
from tests.conftest import LOOPBACK, FailsOnce, Recorder, wait_for
from tests.e2e.test_appendix_b import APPENDIX_B
from tests.service.conftest import Running
from tests.service.raw_client import RawClient


def test_appendix_b_runs_with_only_the_constructor_swapped(served: Running, gateway: SimulatedGateway) -> None:
    endpoint = served.service.commands_endpoint
    code = APPENDIX_B.replace("from platform_adapter import PlatformAdapter",
                              "from platform_adapter.remote import RemoteAdapter")
    code = code.replace('PlatformAdapter(config_path="config.yaml")', f'RemoteAdapter("{endpoint}", name="appendix-b")')
    assert code.count("RemoteAdapter") == 2
    out = io.StringIO()
    namespace: dict[str, Any] = {}
    with contextlib.redirect_stdout(out):
        exec(compile(code, "appendix_b_remote.py", "exec"), namespace)  # noqa: S102 - the spec's example
    assert not namespace["pa"].is_connected()
    (order,) = gateway.stats().orders
    assert (order.order_id, order.action, order.total_qty, order.order_type, order.lmt_price) == (
        namespace["order_id"], "BUY", 100, "LMT", 150.0)
    assert served.service.router.owner(namespace["order_id"]) == "appendix-b"
    wait_for(lambda: served.pa.market_data.stats()["lines"] == 0)  # the example's lines went with its session


def test_clients_share_one_line_per_symbol(served: Running, gateway: SimulatedGateway, remote_factory: Any) -> None:
    a, b = remote_factory(served, "a"), remote_factory(served, "b")
    qa, qb = Recorder(), Recorder()
    a.market_data.subscribe_quotes(["AAPL", "MSFT"], qa)
    b.market_data.subscribe_quotes("aapl", qb)
    qa.wait(2)
    qb.wait(1)
    assert gateway.stats().received["reqMktData"] == 2  # AAPL and MSFT once each, for both clients
    assert served.pa.market_data.stats()["quotes"] == 2
    assert {s for s, _ in qb.calls} == {"AAPL"} and all(isinstance(q, Quote) for _, q in qb.calls)
    a.market_data.unsubscribe_quotes(["AAPL", "MSFT"])
    assert served.pa.market_data.stats()["quotes"] == 1  # b still holds AAPL
    wait_for(lambda: gateway.stats().received["cancelMktData"] == 1)
    b.market_data.unsubscribe_quotes(["AAPL"], qb)
    assert served.pa.market_data.stats()["quotes"] == 0
    with pytest.raises(ValidationError, match="has no quotes subscription"):
        b.market_data.unsubscribe_quotes(["AAPL"])


def test_a_late_subscriber_gets_the_current_quote_at_once(service_factory: Any, remote_factory: Any) -> None:
    with SimulatedGateway(host=LOOPBACK, port=0, seed=3, tick_interval=3600) as quiet:  # no tick after the first
        served = service_factory(quiet)
        first, late = Recorder(), Recorder()
        remote_factory(served, "first").market_data.subscribe_quotes(["AAPL"], first)
        wait_for(lambda: first.calls and first.calls[-1][1].ask is not None)
        remote_factory(served, "late").market_data.subscribe_quotes(["AAPL"], late)
        (_, quote), = late.wait(1, timeout=2)
        assert quote == served.pa.market_data.get_quote("AAPL") or quote.updates == first.calls[-1][1].updates
        assert (quote.bid, quote.ask) == (first.calls[-1][1].bid, first.calls[-1][1].ask)
        assert quiet.stats().received["reqMktData"] == 1


def test_orders_belong_to_the_client_that_placed_them(served: Running, remote_factory: Any) -> None:
    a, b = remote_factory(served, "a"), remote_factory(served, "b")
    seen_a, seen_b, fills_a = Recorder(), Recorder(), Recorder()
    a.orders.on_order_status(seen_a)
    b.orders.on_order_status(seen_b)
    a.orders.on_fill(fills_a)
    resting = a.orders.place_order("AAPL", "BUY", 10, "LMT", limit_price=100.0)
    status = a.orders.place_order_and_wait("MSFT", "BUY", Decimal(5), "MKT", wait_for="Filled")
    assert isinstance(status, OrderStatus) and status.filled == Decimal(5)
    (fill,), = fills_a.wait(1)
    assert fill.order_id == status.order_id and fill.commission is not None
    assert [o.order_id for o in a.orders.get_open_orders()] == [resting]
    assert b.orders.get_open_orders() == []
    for call in (b.orders.cancel_order, b.orders.get_order, b.orders.get_order_status):
        with pytest.raises(OrderStateError, match="unknown order"):
            call(resting)
    with pytest.raises(OrderStateError):
        b.orders.modify_order(resting, limit_price=101.0)
    assert a.orders.modify_order(resting, limit_price=101.0) is True
    wait_for(lambda: a.orders.get_order(resting).request.limit_price == 101.0)
    assert a.orders.cancel_order(resting) is True
    assert a.orders.wait_for_status(resting, "Cancelled").status is OrderState.CANCELLED
    assert seen_b.calls == []
    assert {s.order_id for (s,) in seen_a.calls} == {resting, status.order_id}


def test_typed_errors_are_the_facades(served: Running, gateway: SimulatedGateway, remote_factory: Any) -> None:
    a = remote_factory(served, "a")
    with pytest.raises(ValidationError, match="quantity"):
        a.orders.place_order("AAPL", "BUY", -5, "MKT")
    with pytest.raises(ValidationError, match="quantity"):
        a.orders.place_order("AAPL", "BUY", lambda: 1, "MKT")  # cannot even be sent
    with pytest.raises(ValidationError, match="nope"):
        a.orders.place_order("AAPL", "BUY", 1, "MKT", nope=1)
    with pytest.raises(ContractNotFound):
        a.market_data.subscribe_quotes(["NOSUCH"], print)
    with pytest.raises(ValidationError, match="callback"):
        a.market_data.subscribe_quotes(["AAPL"], "not callable")
    gateway.reject_next_order("no reason")
    order_id = a.orders.place_order("AAPL", "BUY", 1, "LMT", limit_price=100.0)
    with pytest.raises(OrderRejected) as info:
        a.orders.wait_for_status(order_id, "Submitted", timeout=5)
    assert info.value.code == 201 and "no reason" in str(info.value)
    with pytest.raises(OrderStateError):
        a.orders.wait_for_status(999_999)
    assert gateway.stats().received["placeOrder"] == 1
    a.disconnect()
    with pytest.raises(NotConnected):
        a.orders.place_order("AAPL", "BUY", 1, "MKT")


def test_account_and_positions_are_visible_to_all(served: Running, remote_factory: Any) -> None:
    a, b = remote_factory(served, "a"), remote_factory(served, "b")
    updates = Recorder()
    b.account.subscribe_account_updates(updates)
    a.orders.place_order_and_wait("AAPL", "BUY", 7, "MKT", wait_for="Filled")
    wait_for(lambda: any(isinstance(u, Position) and u.quantity == 7 for (u,) in updates.calls))
    (pos,) = b.account.get_positions()
    assert (pos.symbol, pos.quantity) == ("AAPL", Decimal(7))
    assert isinstance(b.account.get_account_summary(), AccountSummary)
    assert isinstance(a.account.get_pnl(), PnL)
    assert b.account.refresh_positions() == b.account.get_positions()
    account = served.pa.connection.accounts[0]
    assert b.account.get_positions(account) == b.account.get_positions()
    assert b.account.get_account_summary(account=account).account == account
    summaries = b.account.get_account_summaries()
    assert list(summaries) == [account] and summaries[account].account == account
    assert summaries[account].total_cash == served.pa.account.get_account_summaries()[account].total_cash
    assert a.account.get_pnl(account=account).account == account
    with pytest.raises(ValidationError, match="managed accounts"):
        a.account.get_pnl(account="DU0000000")


def test_unsubscribing_a_callback_from_bars_touches_only_the_lines_it_is_on(served: Running,
                                                                           remote_factory: Any) -> None:
    """As the facade: bars with and without use_rth are two lines; unsubscribing one callback by
    what_to_show lets go of the line it is on and leaves the other (before, a ValidationError:
    the callback was not on every matching line)."""
    a = remote_factory(served, "a")
    all_hours, rth = Recorder(), Recorder()
    a.market_data.subscribe_real_time_bars("AAPL", all_hours)
    a.market_data.subscribe_real_time_bars("AAPL", rth, use_rth=True)
    assert served.pa.market_data.stats()["real_time_bars"] == 2
    a.market_data.unsubscribe_real_time_bars("AAPL", rth, what_to_show="TRADES")
    wait_for(lambda: served.pa.market_data.stats()["real_time_bars"] == 1, timeout=5)
    with pytest.raises(ValidationError, match="callback"):
        a.market_data.unsubscribe_real_time_bars("AAPL", rth)  # on no line now
    a.market_data.unsubscribe_real_time_bars("AAPL", what_to_show="TRADES")
    wait_for(lambda: served.pa.market_data.stats()["real_time_bars"] == 0, timeout=5)


def test_bars_ticks_and_history(service_factory: Any, remote_factory: Any) -> None:
    with SimulatedGateway(host=LOOPBACK, port=0, seed=5, tick_interval=0.02, rt_bar_interval=0.1) as gw:
        served = service_factory(gw)
        a, b = remote_factory(served, "a"), remote_factory(served, "b")
        bars, ticks, other = Recorder(), Recorder(), Recorder()
        a.market_data.subscribe_real_time_bars("AAPL", bars, what_to_show="midpoint")
        b.market_data.subscribe_real_time_bars("AAPL", other, "MIDPOINT")
        a.market_data.subscribe_tick_by_tick("AAPL", "bid_ask", ticks)
        bars.wait(2)
        other.wait(2)
        ticks.wait(2)
        assert gw.stats().received["reqRealTimeBars"] == 1
        assert all(isinstance(x, Bar) and s == "AAPL" for s, x in bars.calls)
        assert all(isinstance(x, TickByTick) and x.bid is not None for _, x in ticks.calls)
        with pytest.raises(ValidationError, match="real_time_bars"):
            a.market_data.unsubscribe_real_time_bars("MSFT")
        a.market_data.unsubscribe_real_time_bars("AAPL", what_to_show="MIDPOINT")
        a.market_data.unsubscribe_tick_by_tick("AAPL")
        assert served.pa.market_data.stats()["real_time_bars"] == 1
        progress: list[tuple[int, int]] = []
        friday = datetime(2026, 11, 27, 20, 0, tzinfo=timezone.utc)  # a fixed end: each day back holds a session
        frame = a.market_data.get_historical_data("AAPL", "3 D", "1 hour", max_chunk="1 D", end=friday,
                                                  progress=lambda d, t: progress.append((d, t)))
        total = progress[-1][1]  # as with the facade, every progress call has run when it returns
        assert progress == [(i, total) for i in range(1, total + 1)] and total >= 2
        direct = served.pa.market_data.get_historical_data("AAPL", "2 D", "1 hour", end=friday)  # not identical
        # the same bars; the last hours bend towards the live price, which moves between the requests
        same = frame.loc[direct.index]
        settled = direct.index < direct.index[-1] - pd.Timedelta(hours=12)
        pd.testing.assert_frame_equal(same[settled], direct[settled])
        assert (same["close"] - direct["close"]).abs().max() < 2.0 and (same["volume"] == direct["volume"]).all()
        assert str(frame.index.tz) == "UTC" and len(frame) > len(direct)


def test_progress_has_run_when_history_returns_however_late_its_events(served: Running, remote_factory: Any,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The progress events travel apart from the answer: late ones (here held back 0.3 s at the
    service, as a loaded machine may) are still delivered before the call returns."""
    a = remote_factory(served, "a")
    publish = served.service.publisher.event
    timers: list[threading.Timer] = []

    def late(tokens: Any, data: bytes) -> None:
        if b"progress" in data:
            timers.append(threading.Timer(0.3, publish, (list(tokens), data)))
            timers[-1].start()
        else:
            publish(tokens, data)

    monkeypatch.setattr(served.service.publisher, "event", late)
    progress: list[tuple[int, int]] = []
    frame = a.market_data.get_historical_data("AAPL", "4 D", "1 hour", progress=lambda d, t: progress.append((d, t)),
                                              max_chunk="1 D")  # four days hold a session, weekend or not
    assert len(frame) > 0 and len(timers) >= 2  # one per request
    assert progress == [(i, len(timers)) for i in range(1, len(timers) + 1)]


def test_constructor_checks() -> None:
    with pytest.raises(ValidationError, match="name"):
        RemoteAdapter("tcp://127.0.0.1:1", name="two words")
    with pytest.raises(ConfigError, match="together"):
        RemoteAdapter("tcp://127.0.0.1:1", name="a", server_key="x" * 40)
    lonely = RemoteAdapter("tcp://127.0.0.1:1", name="a", connect_timeout=0.5)  # nobody listens
    assert lonely.connect() is False and "tcp://127.0.0.1:1" in lonely.last_error
    with pytest.raises(NotConnected):
        lonely.orders.get_open_orders()
    assert lonely.metrics()["connection_state"] == "DISCONNECTED"


def test_metrics_and_market_data_type(served: Running, remote_factory: Any) -> None:
    a = remote_factory(served, "a")
    a.market_data.subscribe_quotes(["AAPL"], Recorder())
    m = a.metrics()
    assert m["connection_state"] == "CONNECTED" and m["service_clients"] == 1 and m["service_lines"] == 1
    assert m["remote_connected"] is True and "client_quotes_conflated" in m and "market_data_updates_total" in m
    a.market_data.set_market_data_type("delayed")
    assert int(a.market_data.market_data_type) == 3 == int(served.pa.market_data.market_data_type)
    assert a.market_data.stats()["quotes"] == 1 and a.market_data.subscription_errors() == {}


def test_commands_are_read_at_once_while_workers_send_their_replies(gateway: SimulatedGateway,
                                                                    service_factory: Any,
                                                                    remote_factory: Any) -> None:
    """Workers send their own replies on the commands socket; the command thread polls its
    edge-triggered descriptor. With a 5 s heartbeat (the command loop's longest sleep), a
    command left unread after a worker's send would wait seconds: every ping is answered at once."""
    running = service_factory(gateway, heartbeat_interval=5.0, heartbeat_timeout=30.0)
    busy, pinger = remote_factory(running, "busy"), remote_factory(running, "pinger")
    stop = threading.Event()
    errors: list[BaseException] = []
    calls = [0]

    def work() -> None:  # commands a worker answers, back to back
        try:
            while not stop.is_set():
                busy.orders.get_open_orders()
                calls[0] += 1
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(2)]
    for thread in workers:
        thread.start()
    delays = []
    try:
        end = time.monotonic() + 2.0
        while time.monotonic() < end:
            t0 = time.monotonic()
            pinger.transport.call("ping", timeout=10)
            delays.append(time.monotonic() - t0)
    finally:
        stop.set()
        for thread in workers:
            thread.join()
    assert not errors and calls[0] > 50 and len(delays) > 50
    assert max(delays) < 1.0, max(delays)


def test_a_failure_in_the_events_thread_reconnects_and_loses_no_order_event(served: Running, remote_factory: Any,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception while reading the events stream (a bug, a socket error) ends the session and
    a new one replays what was missed; before, it ended the events thread and the events with it."""
    from platform_adapter.remote import transport  # noqa: PLC0415

    a = remote_factory(served, "a")
    fills = Recorder()
    a.orders.on_fill(fills)
    unpack_stream = FailsOnce(transport.unpack_stream, RuntimeError("a bug while reading the events stream"))
    monkeypatch.setattr(transport, "unpack_stream", unpack_stream)
    first = a.orders.place_order_and_wait("MSFT", "BUY", 5, "MKT", wait_for="Filled")
    assert unpack_stream.failed.wait(10)
    fills.wait(1)  # the first fill, replayed by the new session when its frame was the one that failed
    wait_for(lambda: a.transport.reconnects >= 1 and a.is_connected())
    second = a.orders.place_order_and_wait("MSFT", "BUY", 3, "MKT", wait_for="Filled")
    fills.wait(2)
    # events come in order: a duplicate of the first fill would have come before the second's
    assert [f.order_id for (f,) in fills.calls] == [first.order_id, second.order_id]


def test_a_failure_in_the_session_supervisor_reconnects(served: Running, remote_factory: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """An unexpected exception in the thread that sends heartbeats and reconnects is logged, the
    session is taken as lost and opened again; before, it ended that thread (no heartbeats, no
    reconnect ever again)."""
    from platform_adapter.remote.transport import Transport  # noqa: PLC0415

    a = remote_factory(served, "a")
    real, failed = Transport._request, threading.Event()

    def heartbeat_fails_once(self: Transport, cmd: str, *args: Any, **kwargs: Any) -> Any:
        if cmd == "heartbeat" and self is a.transport and not failed.is_set():
            failed.set()
            raise RuntimeError("a bug in the heartbeat")
        return real(self, cmd, *args, **kwargs)

    monkeypatch.setattr(Transport, "_request", heartbeat_fails_once)
    assert failed.wait(10)
    wait_for(lambda: a.transport.reconnects >= 1 and a.is_connected())
    status = a.orders.place_order_and_wait("MSFT", "BUY", 1, "MKT", wait_for="Filled")
    assert status.status is OrderState.FILLED
def test_a_client_gets_its_orders_events_in_the_order_of_the_facades_callbacks(served: Running,
                                                                                remote_factory: Any) -> None:
    """An order claimed before its events (a resting order modified until it fills): its client
    gets the statuses and the fill in the order the service's own facade callbacks have them
    (IB's commission report, which completes a fill, comes after the Filled status)."""
    facade_order: list[tuple[str, Any]] = []
    served.pa.orders.on_order_status(lambda s: facade_order.append(("status", s.status)))
    served.pa.orders.on_fill(lambda f: facade_order.append(("fill", f.exec_id)))
    a = remote_factory(served, "a")
    seen = Recorder()
    a.orders.on_order_status(lambda s: seen(("status", s.status)))
    a.orders.on_fill(lambda f: seen(("fill", f.exec_id)))
    resting = a.orders.place_order("AAPL", "BUY", 2, "LMT", limit_price=1.0)  # claimed with the answer
    wait_for(lambda: [c for (c,) in seen.calls] == [("status", OrderState.SUBMITTED)])
    assert a.orders.modify_order(resting, limit_price=10_000.0)  # marketable: it fills
    wait_for(lambda: ("status", OrderState.FILLED) in [c for (c,) in seen.calls]
             and any(c[0] == "fill" for (c,) in seen.calls))
    got = [c for (c,) in seen.calls]
    wait_for(lambda: len(facade_order) >= len(got))
    assert got == facade_order[:len(got)]


def test_a_failed_subscribe_leaves_no_callback_on_lines_held_before(served: Running, gateway: SimulatedGateway,
                                                                    remote_factory: Any) -> None:
    """All or nothing, as the facade: a subscribe call that raises takes its callback and its
    on_error off the lines the client held before (before, on_error stayed and heard IB's later
    errors on a line of a call that had failed)."""
    a = remote_factory(served, "a")
    held, held_errors, new, new_errors = Recorder(), Recorder(), Recorder(), Recorder()
    a.market_data.subscribe_quotes("AAPL", held, on_error=held_errors)
    with pytest.raises(ContractNotFound):
        a.market_data.subscribe_quotes(["AAPL", "NOSUCH"], new, on_error=new_errors)
    line = served.pa.market_data.lines.get((SubKind.QUOTES, "AAPL", ""))
    assert line is not None
    gateway.send_error(line.req_id, 10197, "No market data during competing live session")
    ((symbol, exc),) = held_errors.wait(1, timeout=5)
    assert symbol == "AAPL" and isinstance(exc, IBError) and exc.code == 10197
    a.market_data.subscribe_quotes("MSFT", held)  # its quotes come after the error's deliveries were queued
    wait_for(lambda: any(s == "MSFT" for s, _ in held.calls), timeout=5)
    assert new_errors.calls == []


def _hold_the_event_thread(md: Any) -> threading.Event:
    """Block the client's event thread in a MSFT quote callback until the returned event is set."""
    entered, release = threading.Event(), threading.Event()

    def blocker(*_: Any) -> None:
        if not entered.is_set():
            entered.set()
            release.wait(10)

    md.subscribe_quotes("MSFT", blocker)
    assert entered.wait(5)
    return release


@pytest.mark.parametrize("kind", ["quotes", "ticks"])
def test_nothing_reaches_a_callback_once_unsubscribe_returned(served: Running, remote_factory: Any,
                                                              kind: str) -> None:
    """As the facade: deliveries queued on the client's event thread when the line is
    unsubscribed (without a callback) are not made (before, they still reached the callback)."""
    a = remote_factory(served, "a", block_threshold=30.0)
    md = a.market_data
    rec = Recorder()
    if kind == "quotes":
        md.subscribe_quotes("AAPL", rec)
    else:
        md.subscribe_tick_by_tick("AAPL", "BidAsk", rec)
    rec.wait(1, timeout=5)
    release = _hold_the_event_thread(md)
    wait_for(lambda: a.events.queue_length >= 2, timeout=5)  # MSFT holds one place at most: AAPL waits too
    if kind == "quotes":
        md.unsubscribe_quotes("AAPL")
    else:
        md.unsubscribe_tick_by_tick("AAPL")
    mark = len(rec.calls)
    release.set()
    assert a.events.wait_idle(10)
    assert rec.calls[mark:] == []


def test_get_quote_of_a_line_only_another_client_holds_raises_as_the_facade(served: Running,
                                                                             remote_factory: Any) -> None:
    """As the facade: get_quote of a symbol this client did not subscribe is a ValidationError,
    with the facade's text, also when another client streams it (before, the remote returned
    the other client's quote); the service answers a wire client so too."""
    a, b = remote_factory(served, "a"), remote_factory(served, "b")
    rec = Recorder()
    a.market_data.subscribe_quotes("AAPL", rec)
    rec.wait(1, timeout=5)
    expected = str(ValidationError("symbol", "AAPL", QUOTE_NOT_SUBSCRIBED))
    with pytest.raises(ValidationError) as info:
        b.market_data.get_quote("AAPL")
    assert info.value.field == "symbol" and str(info.value) == expected
    raw = RawClient(served.service.commands_endpoint)
    try:
        raw.hello("raw")
        reply = raw.call("market_data.get_quote", {"symbol": "AAPL"})
        assert reply["error"]["type"] == "ValidationError" and reply["error"]["attributes"]["field"] == "symbol"
        assert reply["error"]["message"] == expected
    finally:
        raw.close()
    b.market_data.subscribe_quotes("AAPL", print)
    assert b.market_data.get_quote("AAPL").symbol == "AAPL"
    b.market_data.unsubscribe_quotes("AAPL")
    with pytest.raises(ValidationError, match="not subscribed"):
        b.market_data.get_quote("AAPL")
    assert a.market_data.get_quote("AAPL").symbol == "AAPL"


def test_get_quote_while_the_service_has_not_restored_the_line_is_the_last_quote_stale(
        served: Running, remote_factory: Any) -> None:
    """A service that restarted holds none of the client's lines until its resync subscribes them
    again; get_quote of a line the client holds answers meanwhile as the facade does during a
    reconnect (the last quote, flagged stale) instead of "not subscribed". Here the service lets go
    of the session's lines, as a restarted one has none."""
    a = remote_factory(served, "a", connect=False)
    a.market_data.resync = lambda: None  # type: ignore[method-assign]  # the connect's resync would hold it again
    assert a.connect()
    rec = Recorder()
    a.market_data.subscribe_quotes("AAPL", rec)
    wait_for(lambda: any(q.bid is not None for _, q in rec.calls), timeout=5)
    assert served.service.book.release_all(a.transport.session) == 1
    quote = a.market_data.get_quote("AAPL")
    assert quote.symbol == "AAPL" and quote.stale and quote.bid is not None
    a.market_data.unsubscribe_quotes("AAPL")
    with pytest.raises(ValidationError, match="not subscribed"):
        a.market_data.get_quote("AAPL")


def test_no_line_error_reaches_on_error_once_unsubscribe_returned(served: Running, gateway: SimulatedGateway,
                                                                   remote_factory: Any) -> None:
    """As the facade: a line error whose on_error call is queued on the client's event thread when
    the line is unsubscribed is not delivered (the handler is checked as it runs)."""
    a = remote_factory(served, "a", block_threshold=30.0)
    md = a.market_data
    rec, errors = Recorder(), Recorder()
    md.subscribe_quotes("AAPL", rec, on_error=errors)
    rec.wait(1, timeout=5)
    release = _hold_the_event_thread(md)
    (line,) = [s for s in served.pa.market_data.lines.all() if s.key == "AAPL"]
    seen = threading.Event()
    handle = md.on_event

    def spy(ev: dict[str, Any]) -> None:
        handle(ev)
        if ev.get("ev") == "line_error":
            seen.set()

    md.on_event = spy  # type: ignore[method-assign]
    gateway.send_error(line.req_id, 10197, "No market data during competing live session")
    assert seen.wait(5)  # handled: its on_error call waits behind the blocker
    md.unsubscribe_quotes("AAPL")
    release.set()
    assert a.events.wait_idle(10)
    assert errors.calls == []


def test_connect_waits_for_the_service_to_be_connected_to_ib(served: Running, gateway: SimulatedGateway,
                                                             remote_factory: Any) -> None:
    """A client started while the service reconnects to the gateway (a strategy restarted during a
    gateway restart) gets True from connect() once the service is back within connect_timeout;
    before, connect() returned False as soon as the session opened."""
    gateway.refuse_connections(1.5)
    gateway.drop_all_connections()
    wait_for(lambda: not served.pa.is_connected(), timeout=5)
    remote = remote_factory(served, "late", connect=False, connect_timeout=15)
    assert remote.connect(), remote.last_error
    assert remote.is_connected() and served.pa.is_connected()
