"""Stock ibapi EClient (unmodified) over TCP decodes what a session sends at 201 and at 226.

The session's own methods and the gateway's message views push the messages (the requests that
would ask for them are the receiving side's concern); the client's callbacks must be those of each
message's text form (``wire_oracle``), protobuf wherever the message's family has switched.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from ibapi.client import EClient

from platform_adapter.sim import messages as m
from platform_adapter.sim.faults import system_text
from platform_adapter.sim.server import SimulatedGateway
from platform_adapter.sim.session import Session
from platform_adapter.sim.wire import Message
from tests.sim.wire_oracle import AAPL, EUR, Call, Recorder, executions, orders, reconcile, text_calls

TIMEOUT = 10.0


@pytest.fixture(params=[201, 226])
def linked(request: pytest.FixtureRequest) -> Iterator[tuple[Session, Recorder]]:
    """A gateway at the given version, a stock EClient connected to it, the client's session."""
    with SimulatedGateway(server_version=request.param, tick_interval=3600,
                          positions={"AAPL": (100, 149.5), "EUR": (25000, 1.0812)}) as gw:
        rec = Recorder()
        client = EClient(rec)
        client.connect("127.0.0.1", gw.port, clientId=7)
        assert client.isConnected() and client.serverVersion() == request.param
        runner = threading.Thread(target=client.run, name="eclient-run", daemon=True)
        runner.start()
        with gw.lock:  # the session answered the handshake before connect() returned
            (session,) = gw._all_sessions
        assert session.sv == request.param
        try:
            yield session, rec
        finally:
            client.disconnect()
            runner.join(TIMEOUT)


def received(rec: Recorder, msgs: list[Message], sv: int) -> list[Call]:
    """Wait until the client has decoded the callbacks of ``msgs`` (in one run, as sent)."""
    want = [call for msg in msgs for call in text_calls(msg, sv)]
    n = len(want)

    def found() -> bool:
        calls = rec.calls
        return any(reconcile(calls[i:i + n], want, set()) == want for i in range(len(calls) - n + 1))

    with rec.changed:
        assert rec.changed.wait_for(found, TIMEOUT), rec.calls[-n:]
    return want


def test_connect_messages_are_decoded(linked: tuple[Session, Recorder]) -> None:
    session, rec = linked
    now_ms = int(time.time() * 1000)
    msgs = [m.managed_accounts("DU1234567"), m.next_valid_id(4242),
            *[m.error(session.sv, -1, code, system_text(code), "", now_ms) for code in (2104, 2107, 2158)]]
    session.send(*msgs)
    received(rec, msgs, session.sv)
    session.error(-1, 1100, system_text(1100))
    with rec.changed:
        assert rec.changed.wait_for(lambda: any(c[0] == "error" and c[1][2] == ("int", 1100) for c in rec.calls),
                                    TIMEOUT)
    if session.sv >= 213:  # the connect replies are protobuf: ibapi handed each raw object over
        assert {"managedAccountsProtoBuf", "nextValidIdProtoBuf", "errorProtoBuf"} <= set(rec.protobuf)
    else:
        assert rec.protobuf == []


def test_orders_positions_account_and_quotes_are_decoded(linked: tuple[Session, Recorder]) -> None:
    session, rec = linked
    gw, sv = session.gw, session.sv
    msgs: list[Message] = []
    for o, c in orders():
        msgs += [m.open_order(sv, o, c), m.order_status(o)]
    msgs.append(m.open_order_end())
    for e, c in executions():
        msgs += [m.execution(sv, 3, e, c), m.commission_report(e.exec_id, e.commission, c.currency, e.realized_pnl)]
    msgs += [m.execution_end(3), *gw.position_msgs(), m.position_end(), *gw.account_update_msgs(),
             gw.pnl_msg(5), *session.quote_msgs(6, AAPL.con_id, True)]
    tbt = session.tbt_msg(8, EUR.con_id, 3, True)
    assert tbt is not None
    msgs.append(tbt)
    session.send(*msgs)
    received(rec, msgs, sv)
    expected = {"executionDetailsProtoBuf", "commissionAndFeesReportProtoBuf", "executionDetailsEndProtoBuf"}
    if sv >= 206:
        expected |= {"openOrderProtoBuf", "orderStatusProtoBuf", "positionProtoBuf", "updatePortfolioProtoBuf",
                     "tickPriceProtoBuf", "pnlProtoBuf", "tickByTickDataProtoBuf"}
    assert set(rec.protobuf) == expected if sv == 201 else expected <= set(rec.protobuf)
