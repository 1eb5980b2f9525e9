"""SimulatedGateway: threaded TCP server speaking the TWS socket protocol."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ibapi.server_versions import MAX_CLIENT_VER

from . import messages as m
from .account import Account
from .account_summary import money, summary_rows
from .account_values import account_values
from .contracts import BY_CONID
from .engine import Engine, ErrorEvent, Event, OrderEvent
from .faults import FARM_INACTIVE_CODES, FARM_OUTAGES, FARM_STREAMS, Daily, Faults, Wedge, system_text
from .history import live_price
from .market import ASK, BID, Market, round_tick
from .orders import SimExecution, SimOrder
from .pacing import HistoricalPacer, PacingConfig, PacingStats
from .session import Session
from .universe import Universe, default_universe, load_universe
from .versions import check_server_version
from .wire import Message

log = logging.getLogger("platform_adapter.sim")

@dataclass
class GatewayStats:
    """Snapshot of what the simulator has seen (for tests)."""

    received: Counter[str] = field(default_factory=Counter)
    pacing: PacingStats = field(default_factory=PacingStats)
    connections: int = 0
    open_connections: int = 0  # client sockets open now (handshaking or served)
    clients: list[int] = field(default_factory=list)
    orders: list[SimOrder] = field(default_factory=list)
    executions: list[SimExecution] = field(default_factory=list)
    unserved: Counter[str] = field(default_factory=Counter)  # requests read that have no handler


class SimulatedGateway:
    """In-process simulated IB Gateway. Use as a context manager or start()/stop()."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, seed: int = 1,
                 server_version: int = MAX_CLIENT_VER, account: str = "DU1234567",
                 starting_cash: float = 1_000_000.0, state_file: str | Path | None = None,
                 tick_interval: float = 0.25, pacing: bool | PacingConfig = True,
                 max_market_data_lines: int = 100, partial_fill_size: float = 1000.0,
                 burst_on_subscribe: int = 0, burst_size: int = 10_000,
                 rt_bar_interval: float = 5.0, conn_time_tz: str = "UTC",
                 positions: Mapping[str, tuple[float, float]] | None = None,
                 account_refresh_interval: float = 180.0,
                 universe: Universe | str | Path | None = None,
                 accounts: Sequence[str] | None = None, clock_rate: float = 1.0,
                 daily_reset: Daily | None = None, daily_restart: Daily | None = None) -> None:
        self.host, self._req_port = host, port
        self.seed = seed
        self.server_version = check_server_version(server_version)
        # the managed accounts (``accounts``, else the one ``account``); the first is the default
        ids = list(dict.fromkeys(accounts or [account]))
        self.account_id = ids[0]
        self.conn_time_tz = conn_time_tz
        self.tick_interval = tick_interval
        self.rt_bar_interval = rt_bar_interval
        # IB re-sends account updates, and the account summary values that changed, every 3 minutes
        self.account_refresh_interval = account_refresh_interval
        self._next_account_refresh = time.monotonic() + account_refresh_interval
        self.burst_on_subscribe = burst_on_subscribe
        self.burst_size = burst_size
        self.pacing = pacing if isinstance(pacing, PacingConfig) else PacingConfig(enabled=pacing)
        if not isinstance(pacing, PacingConfig):
            self.pacing.max_market_data_lines = max_market_data_lines
        self.state_file = Path(state_file) if state_file else None
        self.lock = threading.RLock()
        # the contracts it knows: the package's universe file, another file, or a loaded Universe
        self.universe = universe if isinstance(universe, Universe) else \
            load_universe(universe) if universe else default_universe()
        self.market = Market(seed, self.universe.contracts)
        self.display_groups: dict[int, str] = {}  # display group -> the contract it shows ("conId@exchange")
        self.accounts = {a: Account(a, starting_cash) for a in ids}
        self.account = self.accounts[self.account_id]
        for symbol, (qty, avg_price) in (positions or {}).items():  # e.g. {"AAPL": (100, 149.50)}
            self.account.seed_position(self._con_id(symbol), qty, avg_price)
        self.engine = Engine(self.account, self.market, partial_fill_size, local_tz=conn_time_tz,
                             others=[self.accounts[a] for a in ids[1:]])
        self.engine.clock.set_rate(clock_rate)
        self.faults = Faults()
        # IB's nightly reset window and the gateway's daily restart, at times of the clock
        self.daily_reset, self.daily_restart = daily_reset, daily_restart
        self._clock_seen = self.engine.clock.now()
        self._reset_by_schedule = False
        self._reset_timer: threading.Timer | None = None
        self.restarts = 0
        self.hist_pacer = HistoricalPacer(self.pacing)
        self._stats = GatewayStats()
        self.sessions: dict[int, Session] = {}
        self._all_sessions: set[Session] = set()
        self._listener: socket.socket | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.port = 0
        self._load_state()

    # --- lifecycle ------------------------------------------------------------------
    def start(self) -> SimulatedGateway:
        """Bind, listen and start the accept and market threads."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._req_port))
        sock.listen(64)
        self._listener = sock
        self.port = sock.getsockname()[1]
        for target, name in ((self._accept_loop, "sim-accept"), (self._market_loop, "sim-market")):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self) -> None:
        """Close every connection, stop threads and save state."""
        self._stop.set()
        self.faults.end_stall()
        if self._listener:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                self._listener.close()
            except OSError:
                pass
        self.drop_all_connections()
        if self._reset_timer is not None:
            self._reset_timer.cancel()
        for t in self._threads:
            t.join(timeout=2)
        self.save_state()

    def __enter__(self) -> SimulatedGateway:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                conn, addr = self._listener.accept()
            except OSError:
                return
            if self.faults.refusing:
                conn.close()
                continue
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.settimeout(None)
            s = Session(self, conn, addr)
            with self.lock:
                self._all_sessions.add(s)
                self._stats.connections += 1
            s.start()

    def _register(self, s: Session, client_id: int) -> bool:
        with self.lock:
            # a session closed while it was handshaking (e.g. drop_all_connections) must not
            # hold on to its client id; the id is set under the lock so _unregister sees it
            if client_id in self.sessions or s.closed.is_set():
                return False
            self.sessions[client_id] = s
            s.client_id = client_id
            return True

    def _unregister(self, s: Session) -> None:
        with self.lock:
            self._all_sessions.discard(s)
            if s.client_id is not None and self.sessions.get(s.client_id) is s:
                del self.sessions[s.client_id]

    # --- market loop -------------------------------------------------------------------
    def _market_loop(self) -> None:
        while not self._stop.wait(self.tick_interval):
            if self.faults.stalled:
                continue
            try:
                with self.lock:
                    self.market.step()
                    self.apply_events(self.engine.on_market())
                    self._run_daily()
                    if not self.faults.reset.open:  # no market data while IB resets
                        for s in list(self.sessions.values()):
                            self._push_market(s)
                    if time.monotonic() >= self._next_account_refresh:
                        self._next_account_refresh = time.monotonic() + self.account_refresh_interval
                        self._push_account(refresh=True)
            except Exception:  # noqa: BLE001
                log.exception("market loop error")

    def _push_market(self, s: Session) -> None:
        msgs: list[Message] = []
        paused = self.faults.paused_streams()
        for req_id, con_id in s.subs.mkt.items() if "mkt" not in paused else ():
            msgs += s.quote_msgs(req_id, con_id, False)
        for req_id, (con_id, kind) in s.subs.tbt.items() if "tbt" not in paused else ():
            msg = s.tbt_msg(req_id, con_id, kind, False)
            if msg:
                msgs.append(msg)
        now = time.monotonic()
        for req_id, bar in s.subs.rtb.items() if "rtb" not in paused else ():
            bar.prices.append(self.market.quote(bar.con_id).last)
            q = self.market.quote(bar.con_id)
            bar.volume += q.last_size if q.traded else 0
            if now >= bar.next_emit:
                p = bar.prices
                wap = sum(p) / len(p)
                msgs.append(m.real_time_bar(req_id, bar.bar_time, p[0], max(p), min(p), p[-1],
                                            bar.volume, wap, len(p)))
                bar.bar_time += 5
                bar.next_emit = now + self.rt_bar_interval
                bar.prices, bar.volume = [p[-1]], 0.0
        msgs += s.depth.updates()
        for req_id, (spec, secs) in s.subs.hist_live.items() if "hist_live" not in paused else ():
            t = int(time.time() // secs * secs)
            px = self.market.quote(spec.con_id).last or live_price(spec, self.seed, t)
            msgs.append(m.historical_data_update(req_id, 1, str(t), px, px, px, px, px, 0))
        msgs += [self.pnl_msg(r, a) for r, a in s.subs.pnl.items()]
        msgs += [self.pnl_single_msg(r, c, a) for r, (a, c) in s.subs.pnl_single.items()]
        if msgs:
            s.send(*msgs)

    def _run_daily(self) -> None:
        """Open or close the scheduled reset window, restart when the restart time passed (lock held)."""
        now = self.engine.clock.now()
        before, self._clock_seen = self._clock_seen, now
        tz = self.conn_time_tz
        if self.daily_reset is not None:
            inside = self.daily_reset.covers(now, tz)
            if inside and not self.faults.reset.open:
                self._reset_by_schedule = self.begin_reset()
            elif not inside and self._reset_by_schedule:
                self._reset_by_schedule = False
                self.end_reset(data_lost=self.daily_reset.data_lost)
        if self.daily_restart is not None and self.daily_restart.passed(before, now, tz):
            self.restart(self.daily_restart.seconds)

    # --- orders ------------------------------------------------------------------------
    def next_order_id(self) -> int:
        """Next valid order id (continues from the persisted high-water mark)."""
        return self.engine.order_id_high_water + 1

    def place_order(self, o: SimOrder, silent: bool = False) -> None:
        """Run an order through the engine and tell its client (unless silent)."""
        events = self.engine.place(o)
        if silent:
            events = [e for e in events if not (isinstance(e, (OrderEvent, ErrorEvent))
                                                and e_client(e) == o.client_id)]
        self.apply_events(events)

    def run_auction(self, kind: str, symbol: str | None = None) -> None:
        """Run the open ("open": tif OPG orders) or close ("close": MOC, LOC) auction now, for
        one symbol or every contract."""
        con_id = self._con_id(symbol) if symbol else None
        with self.lock:
            self.apply_events(self.engine.run_auction(kind, con_id))

    def set_clock(self, when: dt.datetime, trading_hours: bool = True) -> None:
        """Set the simulator's clock to ``when`` (an aware datetime; it runs on from there).
        With ``trading_hours`` contracts trade only in their hours (outsideRth honoured) and the
        clock runs the open and close auctions; without, every contract trades at any time."""
        with self.lock:
            self.engine.set_time(when)
            self._clock_seen = self.engine.clock.now()  # no restart for the time jumped over
            self.engine.trading_hours = trading_hours
            self.apply_events(self.engine.on_market())

    def advance_clock(self, seconds: float) -> None:
        """Move the simulator's clock on: orders expire, time conditions come true, auctions
        passed run."""
        with self.lock:
            self.engine.clock.advance(seconds)
            self.apply_events(self.engine.on_market())

    def set_price(self, symbol: str, last: float, bid: float | None = None, ask: float | None = None) -> None:
        """Put a trade at ``last`` on the tape (bid and ask one tick around it unless given) and
        match orders against it. With a long ``tick_interval`` the random walk stays still, so a
        test moves the market alone."""
        con_id = self._con_id(symbol)
        tick = BY_CONID[con_id].min_tick
        with self.lock:
            q = self.market.quote(con_id)
            q.last = round_tick(last, tick)
            q.bid = round_tick(last - tick if bid is None else bid, tick)
            q.ask = round_tick(last + tick if ask is None else ask, tick)
            q.high, q.low = max(q.high, q.last), min(q.low, q.last)
            q.traded, q.last_time = True, int(time.time())
            q.volume += q.last_size
            self.apply_events(self.engine.on_market())

    def _con_id(self, symbol: str) -> int:
        """The conId of the first contract of the universe with this symbol (its stock or pair)."""
        con_id = next((c.con_id for c in self.universe.contracts if c.symbol == symbol), None)
        if con_id is None:
            raise ValueError(f"{symbol!r} is not in the simulator's universe")
        return con_id

    def apply_events(self, events: list[Event]) -> None:
        """Send engine events to their clients and push account changes."""
        if not events:
            return
        filled = False
        for ev in events:
            try:
                filled = self._apply_one(ev) or filled
            except Exception:  # noqa: BLE001 - one order's report must not stop the others'
                log.exception("an event for client %s could not be reported", e_client(ev))
        if filled:
            self._push_account()
        self.save_state()

    def _apply_one(self, ev: Event) -> bool:
        """Report one engine event to its client (and client 0 binding orders); True for a fill."""
        s = self.sessions.get(e_client(ev))
        if isinstance(ev, ErrorEvent):
            if s and not (self.faults.reset.open and self.faults.reset.hold(s, [
                    m.error(s.sv, ev.req_id, ev.code, ev.text, "", int(time.time() * 1000))])):
                s.error(ev.req_id, ev.code, ev.text)
            return False
        o = ev.order
        spec = BY_CONID[o.con_id]
        if ev.kind == "whatif":  # answered to the client that asked, never stored
            if s:
                s.send(m.open_order(s.sv, o, spec, preview=ev.preview))
            return False
        filled = False
        targets = [x for x in self.sessions.values()
                   if x is s or (x.subs.auto_open and x.client_id == 0)]
        for t in targets:
            if ev.kind == "open":
                self._report(t, m.open_order(t.sv, o, spec))
            elif ev.kind == "status":
                self._report(t, m.order_status(o))
            elif ev.kind == "exec" and ev.execution:
                filled = True
                self._report(t, m.execution(t.sv, -1, ev.execution, spec))
            elif ev.kind == "commission" and ev.execution:
                e = ev.execution
                self._report(t, m.commission_report(e.exec_id, e.commission, spec.currency, e.realized_pnl))
        return filled

    def _push_account(self, refresh: bool = False) -> None:
        """Account updates (and positions) after a fill; on the periodic refresh, account updates
        and each account summary's changed values, closed by accountSummaryEnd."""
        for s in list(self.sessions.values()):
            if s.subs.acct_updates:
                self._report(s, *self.account_update_msgs(s.subs.acct_updates),
                             m.account_time(time.strftime("%H:%M", time.gmtime())))
            if s.subs.positions and not refresh:
                self._report(s, *self.position_msgs())
            if refresh:
                for req_id, (tags, sent) in s.subs.acct_summary.items():
                    self._report(s, *self.summary_msgs(req_id, tags, sent), m.account_summary_end(req_id))

    def _report(self, s: Session, *msgs: Message) -> None:
        """Send order or account reports to a session, or hold them while IB's reset window is open."""
        if not self.faults.reset.hold(s, msgs):
            s.send(*msgs)

    # --- account views ---------------------------------------------------------------
    @property
    def managed_accounts(self) -> str:
        """What managedAccounts carries: the account ids, comma-separated."""
        return ",".join(self.accounts)

    def account_of(self, code: str) -> Account | None:
        """The managed account ``code`` (the first one for an empty code); None if not managed."""
        return self.accounts.get(code or self.account_id)

    def values(self, account_id: str = "") -> dict[str, float]:
        """An account's figures at current marks (the first account's by default)."""
        return self.accounts[account_id or self.account_id].values(self.market.mark)

    def position_msgs(self) -> list[Message]:
        """position messages for every position of every managed account."""
        return [m.position(a.account_id, BY_CONID[cid], p.qty, p.avg_cost)
                for a in self.accounts.values() for cid, p in a.positions.items()]

    def summary_msgs(self, req_id: int, tags: list[str], sent: dict[str, str] | None = None) -> list[Message]:
        """accountSummary messages for the requested tags, for every managed account (the group
        "All"); with ``sent`` (the values last sent, updated here) only those that changed."""
        out = []
        for acct in self.accounts:
            for tag, value, currency in summary_rows(tags, self.values(acct), self.account_value_triples(acct)):
                if sent is not None:
                    key = f"{acct}:{tag}:{currency}"
                    if sent.get(key) == value:
                        continue
                    sent[key] = value
                out.append(m.account_summary(req_id, acct, tag, value, currency))
        return out

    def account_value_triples(self, account_id: str = "") -> list[tuple[str, str, str]]:
        """(key, value, currency) of one account for reqAccountUpdates."""
        acct = account_id or self.account_id
        return account_values(acct, self.values(acct), money)

    def account_update_msgs(self, account_id: str = "") -> list[Message]:
        """updateAccountValue + updatePortfolio messages of one account."""
        a = self.accounts[account_id or self.account_id]
        out = [m.account_value(k, v, c, a.account_id) for k, v, c in self.account_value_triples(a.account_id)]
        for cid, p in a.positions.items():
            spec = BY_CONID[cid]
            px = self.market.mark(cid)
            out.append(m.portfolio_value(spec, p.qty, px, p.qty * px * spec.mult, p.avg_cost,
                                         a.unrealized(cid, px), p.realized, a.account_id))
        return out

    def pnl_msg(self, req_id: int, account_id: str = "") -> Message:
        """pnl message for a whole account."""
        v = self.values(account_id)
        u, r = round(v["UnrealizedPnL"], 2), round(v["RealizedPnL"], 2)
        return m.pnl(req_id, round(u + r, 2), u, r)

    def pnl_single_msg(self, req_id: int, con_id: int, account_id: str = "") -> Message:
        """pnlSingle message for one position of an account."""
        a = self.accounts[account_id or self.account_id]
        p = a.positions.get(con_id)
        px = self.market.mark(con_id)
        qty = p.qty if p else 0.0
        unreal = round(a.unrealized(con_id, px), 2)
        real = round(p.realized, 2) if p else 0.0
        return m.pnl_single(req_id, qty, unreal + real, unreal, real, qty * px * BY_CONID[con_id].mult)

    def lines_in_use(self) -> int:
        """Market data lines held by all clients."""
        return sum(len(s.subs.mkt) + len(s.subs.tbt) for s in self.sessions.values())

    # --- stats -----------------------------------------------------------------------
    def count_message(self, name: str) -> None:
        """Count one received message by request name (``msgN`` for an unknown id N,
        ``malformed`` for a frame without a readable message id)."""
        with self.lock:
            self._stats.received[name] += 1

    def count_unserved(self, name: str) -> None:
        """Count a request the simulator read but has no handler for."""
        with self.lock:
            self._stats.unserved[name] += 1

    def record_violation(self, client_id: int, rule: str) -> None:
        """Count a pacing violation."""
        with self.lock:
            self._stats.pacing.violations[(client_id, rule)] += 1

    def stats(self) -> GatewayStats:
        """A copy of the current statistics."""
        with self.lock:
            return GatewayStats(received=Counter(self._stats.received),
                                pacing=PacingStats(Counter(self._stats.pacing.violations)),
                                connections=self._stats.connections,
                                open_connections=len(self._all_sessions),
                                clients=sorted(self.sessions),
                                orders=list(self.engine.orders.values()),
                                executions=list(self.engine.executions),
                                unserved=Counter(self._stats.unserved))

    # --- faults ------------------------------------------------------------------------
    def drop_all_connections(self) -> None:
        """Close every client socket (like a gateway restart)."""
        with self.lock:
            sessions = list(self._all_sessions)
        for s in sessions:
            s.close()

    def refuse_connections(self, seconds: float) -> None:
        """New connections are closed immediately for ``seconds``."""
        self.faults.refuse_for(seconds)

    def stall(self, seconds: float) -> None:
        """Stop answering and streaming for ``seconds``; sockets stay open."""
        self.faults.stall_for(seconds)

    def freeze(self) -> None:
        """Stop answering and streaming until :meth:`thaw`; sockets stay open and new connections
        get no version reply (a frozen gateway)."""
        self.faults.freeze()

    def thaw(self) -> None:
        """End a freeze or stall: queued requests are answered, streams go on."""
        self.faults.end_stall()

    def wedge(self, where: Wedge | str | None) -> None:
        """New connections stop answering at ``where`` (``handshake``: no version reply;
        ``start_api``: no nextValidId) with their sockets open; None serves them again.
        Connections wedged meanwhile stay silent until their client closes them."""
        self.faults.wedge = Wedge(where) if where is not None else None

    def farm_outage(self, code: int) -> None:
        """A data farm goes down: send ``code`` (2119 connecting, 2103 market data farm broken,
        2105 HMDS farm broken) and pause the streams that farm feeds."""
        with self.lock:  # not in the middle of a market push
            self.faults.farm_down(code)
            self.send_system_code(code)

    def farm_restored(self, code: int, resume: bool = True, inactive: bool = False) -> None:
        """End the outage ``code`` started: send its OK code (2104 or 2106), or with ``inactive``
        the farm's "inactive but should be available upon demand" code (2108 or 2107: the farm is
        fine but idle, as IB may say instead). The paused streams go on (``resume``) or stay silent
        until they are requested again (their lines were lost)."""
        farm, ok = FARM_OUTAGES[code]
        if inactive:
            ok = FARM_INACTIVE_CODES[farm]
        if not resume:
            with self.lock:
                for s in self.sessions.values():
                    for kind in FARM_STREAMS[farm]:
                        getattr(s.subs, kind).clear()
        self.faults.farm_up(farm)
        self.send_system_code(ok)

    def send_system_code(self, code: int, client_id: int | None = None) -> None:
        """Send a system message (1100, 1101, 1102, 2103, 2104, ...) with IB's text."""
        with self.lock:
            targets = [s for cid, s in self.sessions.items() if client_id in (None, cid)]
        for s in targets:
            s.error(-1, code, system_text(code, self.port))

    def begin_reset(self) -> bool:
        """Open IB's reset window: 1100 to every client; orders keep working at the exchange
        (resting orders go on matching) but their reports and the account's are held, and market
        data stops, until :meth:`end_reset`. False when a window is already open."""
        with self.lock:
            if not self.faults.reset.begin():
                return False
            log.warning("fault: IB reset window open")
            self.send_system_code(1100)
            return True

    def end_reset(self, data_lost: bool = False, drop_held: bool = False) -> None:
        """Close the reset window: 1102 (1101 with ``data_lost``) to every client, then what was
        held for it, in order (nothing with ``drop_held``: the reports are lost and only
        reconciliation can find them)."""
        with self.lock:  # no request is served between the code and the released reports
            held = self.faults.reset.end()
            if held is None:
                return
            log.warning("fault: IB reset window closed (%s)", 1101 if data_lost else 1102)
            self.send_system_code(1101 if data_lost else 1102)
            for s, msgs in held.items():
                if not drop_held and s in self._all_sessions and msgs:
                    s.send(*msgs)

    def reset_window(self, seconds: float, data_lost: bool = False) -> None:
        """An injected reset window: open now, closed ``seconds`` (wall time) later."""
        if not self.begin_reset():
            return
        if self._reset_timer is not None:
            self._reset_timer.cancel()
        self._reset_timer = threading.Timer(seconds, self.end_reset, kwargs={"data_lost": data_lost})
        self._reset_timer.daemon = True
        self._reset_timer.start()

    def restart(self, down_seconds: float = 2.0) -> None:
        """Restart as IB Gateway does daily: every connection dropped, new ones refused for
        ``down_seconds``, state saved; orders, executions, positions and the order id counter
        live on (as a gateway restarted with its state file), a reset window open is closed."""
        self.faults.reset.end()
        self._reset_by_schedule = False
        self.restarts += 1
        log.warning("fault: gateway restart #%d (down %.1fs)", self.restarts, down_seconds)
        self.refuse_connections(down_seconds)
        self.drop_all_connections()
        self.save_state()

    def fail_next_request(self, message: str, code: int, text: str, after: int = 0) -> None:
        """Answer the next ``message`` request (e.g. "reqMktData", "reqHistoricalData") with IB
        error ``code`` and ``text`` for its request id, instead of serving it; ``after``: serve
        that many ``message`` requests first (e.g. the first chunks of a long history)."""
        self.faults.fail_next(message, code, text, after)

    def send_error(self, req_id: int, code: int, text: str, client_id: int | None = None) -> None:
        """Send an IB error for ``req_id`` (e.g. 10182 on a live stream) to the client(s)."""
        with self.lock:
            targets = [s for cid, s in self.sessions.items() if client_id in (None, cid)]
        for s in targets:
            s.error(req_id, code, text)

    def reject_next_order(self, reason: str = "Simulated rejection") -> None:
        """The next new order is rejected with error 201."""
        with self.lock:
            self.engine.reject_next = reason

    def drop_on_next_place_order(self, after_ack: bool = False) -> None:
        """Drop the link right after the next placeOrder; the order is still placed."""
        self.faults.arm_drop_on_place(after_ack)

    # --- burst -------------------------------------------------------------------------
    def burst(self, req_id: int, n: int, client_id: int | None = None) -> int:
        """Send n pre-encoded tick messages for a subscribed reqId in one sendall."""
        with self.lock:
            s = next((x for cid, x in self.sessions.items()
                      if (client_id is None or cid == client_id) and req_id in x.subs.mkt), None)
            if s is None:
                raise KeyError(f"no market data subscription {req_id}")
            q = self.market.quote(s.subs.mkt[req_id])
            tick = self.market.specs[s.subs.mkt[req_id]].min_tick
        # a burst repeats a few distinct ticks: each is encoded once, for the session's version
        encoded: dict[tuple[int, float | None, int], bytes] = {}
        parts = []
        key: tuple[int, float | None, int]
        for i in range(n):
            if i % 2 == 0:
                key = (BID if i % 4 == 0 else ASK, round(q.bid + tick * (i % 10), 10), 100 + i % 7)
            else:
                key = (0 if i % 4 == 1 else 3, None, 100 + i % 13)  # bid size, ask size
            data = encoded.get(key)
            if data is None:
                tick_type, px, size = key
                msg = m.tick_size(req_id, tick_type, size) if px is None else m.tick_price(req_id, tick_type, px, size)
                data = encoded[key] = msg.encode(s.sv)
            parts.append(data)
        s.send_raw(b"".join(parts))
        return n

    # --- state file ----------------------------------------------------------------------
    def save_state(self) -> None:
        """Persist account, orders, executions and the order-id high-water mark."""
        if not self.state_file:
            return
        with self.lock:
            state = {"version": 1, "account": self.account.to_json(),
                     "other_accounts": [a.to_json() for a in self.accounts.values() if a is not self.account],
                     "order_id_high_water": self.engine.order_id_high_water,
                     "next_perm_id": self.engine.next_perm_id, "exec_seq": self.engine.exec_seq,
                     "orders": [o.to_json() for o in self.engine.orders.values()],
                     "executions": [e.to_json() for e in self.engine.executions]}
            tmp = self.state_file.with_suffix(self.state_file.suffix + ".tmp")
            tmp.write_text(json.dumps(state, indent=1))
            os.replace(tmp, self.state_file)

    def _load_state(self) -> None:
        if not self.state_file or not self.state_file.exists():
            return
        d = json.loads(self.state_file.read_text())
        self.account.load_json(d["account"])
        for other in d.get("other_accounts", []):
            if other["account_id"] in self.accounts and other["account_id"] != self.account_id:
                self.accounts[other["account_id"]].load_json(other)
        self.engine.order_id_high_water = int(d.get("order_id_high_water", 0))
        self.engine.next_perm_id = int(d.get("next_perm_id", self.engine.next_perm_id))
        self.engine.exec_seq = int(d.get("exec_seq", 1))
        for od in d.get("orders", []):
            o = SimOrder.from_json(od)
            self.engine.orders[(o.client_id, o.order_id)] = o
        self.engine.executions = [SimExecution.from_json(e) for e in d.get("executions", [])]


def e_client(ev: Event) -> int:
    """Client id an event belongs to."""
    return ev.client_id if isinstance(ev, ErrorEvent) else ev.order.client_id
