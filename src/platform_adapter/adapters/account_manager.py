"""Account manager (spec 2.2.4): account summary, positions, PnL and account updates, with a cache
refreshed every ``account.update_frequency_seconds`` and reconciled with IB (spec 2.2.5).

IB's account messages reach it through its account handler (:class:`AccountEvents`); its lifecycle
steps (``start``, ``restore``, ``refresh_positions``) are run by ``core/lifecycle.py``."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from ibapi.errors import UPDATE_TWS
from ibapi.server_versions import MIN_SERVER_VER_PNL

from platform_adapter.adapters.account.accounts import managed_account
from platform_adapter.adapters.account.updates import AccountValue, summary_from_values
from platform_adapter.adapters.base_adapter import AdapterContext, BaseAdapter
from platform_adapter.adapters.orders.models import opt_float, spec_from_contract, to_decimal
from platform_adapter.core.handlers import AccountHandler
from platform_adapter.core.request_registry import EndWaiter
from platform_adapter.errors import IBError, PlatformAdapterError
from platform_adapter.log import logger
from platform_adapter.models.account import AccountSummary, PnL
from platform_adapter.models.position import Position
from platform_adapter.utils.validators import check_callback

SUMMARY_TAGS = ("NetLiquidation,TotalCashValue,BuyingPower,AvailableFunds,ExcessLiquidity,InitMarginReq,"
                "MaintMarginReq,GrossPositionValue,EquityWithLoanValue,SettledCash")

AccountCallback = Callable[[AccountValue | Position | PnL], Any]


class AccountManager(BaseAdapter):
    """Account information and positions (spec 2.2.4).

    ``subscribe_account_updates(callback)`` calls ``callback(update)`` on the event thread with an
    :class:`AccountValue` (one account key), a :class:`Position` (portfolio update) or a
    :class:`PnL`.
    """

    def __init__(self, ctx: AdapterContext) -> None:
        super().__init__(ctx)
        self._lock = threading.Lock()
        self._request_lock = threading.Lock()
        self._positions_done = EndWaiter(ctx.registry, "positionEnd")
        self._download_done = EndWaiter(ctx.registry, "accountDownloadEnd")
        self._collect: dict[tuple[str, int], Position] | None = None  # (account, conId) -> latest
        self._portfolio: dict[tuple[str, int], Position] = {}
        self._callbacks: list[AccountCallback] = []
        self._pnl_req_id: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.account = ""
        self.refreshes = 0
        self.handler = AccountEvents(self)

    # --- lifecycle steps (core/lifecycle.py) -------------------------------------------------------
    def start(self) -> None:
        """Subscribe to account updates and PnL, load positions (spec 6.1), start the refresh loop."""
        self._stop.clear()
        if self._thread is None or not self._thread.is_alive():  # first, so it runs even if subscribing fails
            self._thread = threading.Thread(target=self._loop, name="pa-account", daemon=True)
            self._thread.start()
        self._subscribe()

    def stop(self) -> None:
        """Stop the refresh loop and cancel the subscriptions."""
        self._stop.set()
        try:
            client = self._client()
        except PlatformAdapterError:
            return
        client.reqAccountUpdates(False, self.account)
        client.cancelPositions()
        if self._pnl_req_id is not None:
            client.cancelPnL(self._pnl_req_id)
            self._pnl_req_id = None

    def _subscribe(self) -> None:
        client = self._client()
        accounts = self.connection.accounts
        self.account = self.settings.ib_connection.account_id or (accounts[0] if accounts else "")
        timeout = self.settings.ib_connection.request_timeout
        with self._request_lock:
            self._download_done.begin()
            client.reqAccountUpdates(True, self.account)
            self._download_done.wait(timeout)
        self.refresh_positions()
        if not self._has_pnl():  # ibapi refuses reqPnL (UPDATE_TWS) and sends nothing
            return
        if self._pnl_req_id is not None:
            client.cancelPnL(self._pnl_req_id)
        self._pnl_req_id = self.registry.next_id()
        client.reqPnL(self._pnl_req_id, self.account, "")

    def _has_pnl(self) -> bool:
        """Whether the gateway has PnL requests (server version 127 on; not known yet: yes)."""
        version = self.connection.server_version
        return version is None or version >= MIN_SERVER_VER_PNL

    def restore(self) -> None:
        """After a reconnect or IB 1101 (data lost): subscribe again (account updates, positions,
        PnL). After 1102 (data kept) the subscriptions live on: ``refresh_positions`` only."""
        self._subscribe()

    def _loop(self) -> None:
        while not self._stop.wait(self.settings.account.update_frequency_seconds):
            if not self.connection.is_connected():
                continue
            try:
                self.refresh()
            except PlatformAdapterError as exc:
                logger.warning("account refresh failed: {}", exc)
            except Exception:  # noqa: BLE001 - a bug must not end the refreshes
                logger.opt(exception=True).error("account refresh raised")

    def refresh(self) -> None:
        """Refresh the cache now: positions reconciled with IB and the account summary."""
        self.refresh_positions()
        self.get_account_summary()
        self.refreshes += 1

    # --- spec 2.2.4 interface ----------------------------------------------------------------------
    def get_account_summary(self, account: str | None = None) -> AccountSummary:
        """Current figures of ``account`` (default: the adapter's account; ValidationError for one
        the login does not manage) from ``reqAccountSummary``; the adapter's account's are also
        stored in the cache."""
        target = managed_account(account, self.connection.accounts, self.account)
        rows = self._summary_rows()
        return self._summary(target, {tag: value for row_account, tag, value, _ in rows
                                      if row_account == target or not target})

    def get_account_summaries(self) -> dict[str, AccountSummary]:
        """Current figures of every managed account (by account id) from one ``reqAccountSummary``
        (group "All"); the adapter's account's are also stored in the cache."""
        by_account: dict[str, dict[str, str]] = {a: {} for a in self.connection.accounts}
        for row_account, tag, value, _currency in self._summary_rows():
            by_account.setdefault(row_account, {})[tag] = value
        return {a: self._summary(a, values) for a, values in by_account.items()}

    def _summary_rows(self) -> list[tuple[str, str, str, str]]:
        """(account, tag, value, currency) of ``reqAccountSummary("All", SUMMARY_TAGS)``."""
        ids: list[int] = []

        def send(client: Any, req_id: int) -> None:
            ids.append(req_id)
            client.reqAccountSummary(req_id, "All", SUMMARY_TAGS)

        try:
            rows: list[tuple[str, str, str, str]] = self._request("account_summary", send)
        finally:
            self._cancel("cancelAccountSummary", ids)
        return rows

    def _summary(self, target: str, values: dict[str, str]) -> AccountSummary:
        """The summary of ``target`` from its tags (cached when it is the adapter's account).
        reqAccountSummary has no PnL tags: the adapter's account's come from its account updates,
        else from its reqPnL subscription; another account's from a reqPnL for it."""
        if target == self.account:
            for tag, value in values.items():
                self.state.update_account_value(tag, value)
            cached = self.state.get_account_values()
            pnl = self.state.get_pnl()
            for key, from_pnl in (("RealizedPnL", pnl and pnl.realized), ("UnrealizedPnL", pnl and pnl.unrealized)):
                if key in cached:
                    values.setdefault(key, str(cached[key]))
                elif from_pnl is not None:
                    values.setdefault(key, str(from_pnl))
        elif target and self._has_pnl():  # an older gateway has no PnL requests: the summary goes without
            other = self.get_pnl(target)
            for key, from_pnl in (("RealizedPnL", other.realized), ("UnrealizedPnL", other.unrealized)):
                if from_pnl is not None:
                    values.setdefault(key, str(from_pnl))
        return summary_from_values(target, values, datetime.now(timezone.utc))

    def get_positions(self, account: str | None = None) -> list[Position]:
        """Positions from ``reqPositions``, with market values from the portfolio updates: of every
        managed account, or of ``account`` only (ValidationError for one the login does not manage)."""
        target = managed_account(account, self.connection.accounts, "")
        positions = self.refresh_positions()
        return [p for p in positions if not target or p.account == target]

    def get_pnl(self, account: str | None = None) -> PnL:
        """Daily, unrealized and realized PnL of ``account`` (default: the adapter's account;
        ValidationError for one the login does not manage) from ``reqPnL``; IBError 503 from a
        gateway older than PnL requests (server version 127)."""
        target = managed_account(account, self.connection.accounts, self.account)
        if not self._has_pnl():
            raise IBError(UPDATE_TWS.code(), f"the gateway's server version {self.connection.server_version} has no "
                                             f"PnL requests (from {MIN_SERVER_VER_PNL})")
        timeout = self.settings.ib_connection.request_timeout
        ids: list[int] = []

        def send(client: Any, req_id: int) -> None:
            ids.append(req_id)
            client.reqPnL(req_id, target, "")

        try:
            rows = self._request("pnl", send, timeout)
        finally:
            self._cancel("cancelPnL", ids)
        pnl: PnL = rows[0]
        return pnl if pnl.account == target else replace(pnl, account=target)

    def _cancel(self, method: str, ids: list[int]) -> None:
        try:
            client = self._client()
        except PlatformAdapterError:
            return
        for req_id in ids:
            getattr(client, method)(req_id)

    def subscribe_account_updates(self, callback: AccountCallback) -> None:
        """Call ``callback(AccountValue | Position | PnL)`` on every account update."""
        self._callbacks.append(check_callback(callback))

    # --- positions ---------------------------------------------------------------------------------
    def refresh_positions(self) -> list[Position]:
        """Ask IB for all positions, correct the cache (logging each discrepancy), return them."""
        client = self._client()
        timeout = self.settings.ib_connection.request_timeout
        with self._request_lock:
            with self._lock:
                self._collect = {}
            self._positions_done.begin()
            client.reqPositions()
            try:
                self._positions_done.wait(timeout)
            except BaseException:
                with self._lock:
                    self._collect = None
                raise
            with self._lock:  # an update streamed after the list applies after it, never before
                collected, self._collect = list((self._collect or {}).values()), None
                merged = [self._merge(p) for p in collected]
                changes = self.state.replace_positions(merged, None)
        for change in changes:
            logger.warning("position reconciliation: {}", change)
        return [p for p in merged if p.quantity != 0]

    def _merge(self, pos: Position) -> Position:
        """``pos`` with the market values of its portfolio update of the same quantity (``_lock`` held)."""
        port = self._portfolio.get((pos.account, pos.con_id))
        if port is None or port.quantity != pos.quantity:
            return pos  # no market values yet for this quantity
        return Position(pos.account, pos.symbol, pos.contract, pos.quantity, pos.avg_cost, pos.con_id,
                        port.market_price, port.market_value, port.unrealized_pnl, port.realized_pnl)

    def _emit(self, update: AccountValue | Position | PnL) -> None:
        for cb in self._callbacks:
            self._notify(cb, update)


class AccountEvents(AccountHandler):
    """The account handler of an :class:`AccountManager` (on the decoding thread; callbacks are
    queued for the event thread)."""

    def __init__(self, manager: AccountManager) -> None:
        self.m = manager

    def position(self, account: str, contract: Any, position: Decimal, avg_cost: float) -> None:
        m = self.m
        spec = spec_from_contract(contract)
        pos = Position(account, spec.symbol, spec, to_decimal(position), float(avg_cost), spec.con_id)
        with m._lock:
            if m._collect is not None:
                # a streamed update for the same position may arrive during the list: keep the latest
                m._collect[(pos.account, pos.con_id)] = pos
                return
            merged = m._merge(pos)
            m.state.update_position(merged)
        m._emit(merged)

    def position_end(self) -> None:
        self.m._positions_done.done()

    def update_portfolio(self, contract: Any, position: Decimal, market_price: float, market_value: float,
                         average_cost: float, unrealized_pnl: float, realized_pnl: float, account: str) -> None:
        m = self.m
        spec = spec_from_contract(contract)
        pos = Position(account, spec.symbol, spec, to_decimal(position), float(average_cost), spec.con_id,
                       opt_float(market_price), opt_float(market_value), opt_float(unrealized_pnl),
                       opt_float(realized_pnl))
        with m._lock:  # not between a position list and its replacing the cache
            m._portfolio[(account, spec.con_id)] = pos
            m.state.update_position(pos)
        m._emit(pos)

    def update_account_value(self, key: str, value: str, currency: str, account: str) -> None:
        m = self.m
        if currency in ("", "USD") or not m.state.get_account_value(key):
            m.state.update_account_value(key, value)
        m._emit(AccountValue(account, key, value, currency))

    def account_download_end(self, account: str) -> None:
        self.m._download_done.done()

    def account_summary(self, req_id: int, account: str, tag: str, value: str, currency: str) -> None:
        self.m.registry.append(req_id, (account, tag, value, currency))

    def account_summary_end(self, req_id: int) -> None:
        self.m.registry.finish(req_id)

    def pnl(self, req_id: int, daily_pnl: float, unrealized_pnl: float, realized_pnl: float) -> None:
        m = self.m
        pnl = PnL(m.account, opt_float(daily_pnl), opt_float(unrealized_pnl), opt_float(realized_pnl),
                  datetime.now(timezone.utc))
        if m.registry.get(req_id) is not None:
            m.registry.finish(req_id, [pnl])
            return
        if req_id == m._pnl_req_id:
            m.state.set_pnl(pnl)
            m._emit(pnl)
