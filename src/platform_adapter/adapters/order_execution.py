"""Order execution adapter (spec 2.2.3, 6.3; DESIGN section 3): place, modify, cancel and track
orders; never lose a fill, never reuse an order id, never send an order twice.

IB's order messages reach the adapter through its order handler (:class:`OrderEvents`); its
lifecycle steps (``sync_ids``, ``start``, ``reconcile_after``) are run by ``core/lifecycle.py``."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from ibapi.execution import ExecutionFilter
from ibapi.order_cancel import OrderCancel

from platform_adapter.adapters.base_adapter import AdapterContext, BaseAdapter
from platform_adapter.adapters.contracts import ContractResolver
from platform_adapter.adapters.orders import groups as order_groups
from platform_adapter.adapters.orders import protection
from platform_adapter.adapters.orders import requests as order_requests
from platform_adapter.adapters.orders import validation as v
from platform_adapter.adapters.orders.echo import ExtrasEcho
from platform_adapter.adapters.orders.encoding import PlaceOrderEncoder
from platform_adapter.adapters.orders.fills import FillBook
from platform_adapter.adapters.orders.ids import OrderIdAllocator
from platform_adapter.adapters.orders.journal import GROUP_EVENT, OrderJournal, extras_json
from platform_adapter.adapters.orders.models import (
    build_ib_order,
    fill_from_execution,
    foreign_order,
    opt_float,
    parse_state,
    parse_statuses,
    to_decimal,
)
from platform_adapter.adapters.orders.preview import OrderPreviewer
from platform_adapter.adapters.orders.reconciliation import OrderReconciler
from platform_adapter.core import ib_codes
from platform_adapter.core.handlers import OrderHandler
from platform_adapter.errors import (
    JournalError,
    NotConnected,
    OrderRejected,
    OrderStateError,
    RequestTimeout,
    ValidationError,
)
from platform_adapter.log import logger
from platform_adapter.models.contract import ContractInfo
from platform_adapter.models.order import (
    TERMINAL_STATES,
    BracketOrder,
    Fill,
    OcaGroup,
    OcaType,
    Order,
    OrderRequest,
    OrderState,
    OrderStatus,
    OrderType,
    Trade,
    utcnow,
)
from platform_adapter.models.preview import OrderPreview
from platform_adapter.utils.validators import check_callback, check_wait

ACCEPTED = frozenset({OrderState.PRE_SUBMITTED, OrderState.SUBMITTED, OrderState.FILLED})
UNACKED = frozenset({OrderState.PENDING_SUBMIT, OrderState.API_PENDING})
_MAX_IB_CONTRACTS = 4096  # ibapi Contracts kept (one per instrument traded); past it the cache starts over


class OrderExecutionAdapter(BaseAdapter):
    """Order placement, modification, cancellation and tracking (spec 2.2.3).

    User callbacks (``on_order_status``, ``on_fill``) run on the event thread with an
    :class:`OrderStatus` or :class:`Fill` snapshot.
    """

    def __init__(self, ctx: AdapterContext) -> None:
        super().__init__(ctx)
        self.ids = OrderIdAllocator()
        self.journal: OrderJournal | None = None
        self.fills = FillBook()
        self.reconciler = OrderReconciler(self)
        self.previews = OrderPreviewer(self)
        self.echo = ExtrasEcho(self)
        self._lock = threading.Lock()
        # IB refuses (103 "Duplicate order id") a new order whose id is not above every id the
        # client id sent before: an id is allocated and sent under this lock, so that ids reach
        # IB in the order they are allocated however many threads place at once (the service)
        self.id_order = threading.Lock()
        self._changed = threading.Condition()
        self._status_waiters = 0  # threads in wait_for_status (changed under _changed's lock)
        self._by_ref: dict[str, int] = {}
        self._by_perm: dict[int, int] = {}
        self._pending: dict[int, str] = {}
        self._modifying: dict[int, OrderRequest] = {}  # the last modification sent, until IB confirms it
        self.withdrawing: set[int] = set()  # members of groups that failed part-way, to cancel after a reconnect
        self.held_at_restart: set[int] = set()  # of those, a bracket's held members a restart found incomplete
        self.protecting: set[int] = set()  # bracket entries ended partly filled whose exits are being set
        # orders cancel_order was called for, in this process or (journal) an earlier one: never re-placed
        self.cancelled_by_user: set[int] = set()
        self._applying = threading.RLock()  # an order change and the queueing of its callbacks, as one
        self._reject_codes: dict[int, int] = {}
        self._sending: set[int] = set()
        self._sent_at: dict[int, float] = {}
        self._status_callbacks: list[Callable[[OrderStatus], Any]] = []
        self._status_listeners: list[Callable[[OrderStatus], Any]] = []
        self._new_order_listeners: list[Callable[[int], Any]] = []
        self._ib_contracts: dict[int, tuple[ContractInfo, Any]] = {}  # id(info) -> (info, its ibapi Contract)
        self.encoder = PlaceOrderEncoder()
        self._fill_callbacks: list[Callable[[Fill], Any]] = []
        self._loaded = False
        self.handler = OrderEvents(self)
        self.listen_status(order_groups.bracket_watcher(self))
        self.listen_status(protection.protection_watcher(self))

    # --- lifecycle steps (core/lifecycle.py) -------------------------------------------------------
    def accept_next_valid_id(self, order_id: int) -> None:
        """IB's nextValidId: ids handed out from now on are at least ``order_id``."""
        self.ids.sync(order_id)

    def sync_ids(self) -> None:
        """Open and load the journal; order ids = max(journal, local, the connection's nextValidId)."""
        self.open_journal()
        self.ids.sync(self.connection.next_valid_id)

    def start(self) -> None:
        """Reconcile with IB (in-flight placements resolved), then start the periodic checks."""
        self.reconciler.run("start", resolve_in_flight=True)
        order_groups.finish_withdrawals(self)
        protection.run(self)
        self.reconciler.start_periodic(self.settings.account.update_frequency_seconds)

    def reconcile_after(self, reason: str) -> None:
        """Reconcile after a reconnect or an IB link restore (``reason``)."""
        self.reconciler.run(reason, resolve_in_flight=True)
        order_groups.finish_withdrawals(self)
        protection.run(self)

    def stop(self) -> None:
        """Stop periodic reconciliation and close the journal."""
        self.reconciler.stop_periodic()
        journal, self.journal = self.journal, None
        if journal is not None:
            journal.close()

    def open_journal(self) -> None:
        """Open the journal (``orders.journal_path``); the first time, restore its orders and fills."""
        if self.journal is None:
            orders = self.settings.orders
            self.journal = OrderJournal(orders.journal_path, orders.journal_writer_nice)
        journal = self.journal
        self.ids.load(journal.high_water(), journal.defer_high_water)  # written with the order row
        if self._loaded:
            return
        self._loaded = True
        for entry in journal.load_orders():
            o = entry.order
            s = o.status
            trade = Trade(o.order_id, o.request, s.status, s.filled, s.remaining, s.avg_fill_price,
                          s.last_fill_price, o.perm_id, o.client_id, s.reject_reason,
                          submitted_at=s.submitted_at or utcnow(), updated_at=s.updated_at or utcnow())
            self.state.add_trade(trade)
            self.remember_ids(o.order_id, o.request.order_ref, o.perm_id)
        cancelled = journal.cancel_requested()  # an owner's cancel outlives the process (protection)
        with self._lock:
            self.cancelled_by_user |= cancelled
        order_groups.withdraw_incomplete(self, journal.group_marks())  # cancelled after start's reconciliation
        for jf in journal.load_fills():
            self.fills.load(jf.fill, jf.ib_time, jf.notified)
            self._attach_fill(jf.fill)
            if not jf.notified and jf.fill.commission is not None:
                # committed, so its callbacks may have run before a crash ended them: again, flagged
                self._deliver(replace(jf.fill, possible_duplicate=True))
        logger.info("order journal {}: {} orders, {} fills restored", journal.path,
                    len(self.state.trades_snapshot()), len(journal.load_fills()))

    # --- spec 2.2.3 interface --------------------------------------------------------------------
    def place_order(self, symbol: Any, action: Any, quantity: Any, order_type: Any, **kwargs: Any) -> int:
        """Validate and send an order; returns its order id once sent.

        Keyword arguments: ``limit_price``, ``stop_price``, ``tif`` (default
        ``orders.default_time_in_force``; GTD when ``good_till`` is given), ``outside_rth``,
        ``account``, ``order_ref``; ``trailing_amount`` or ``trailing_percent`` (TRAIL, TRAIL LIMIT)
        and optionally ``trail_stop_price`` (the initial stop), ``limit_offset`` (TRAIL LIMIT),
        ``good_till`` (GTD), ``oca_group`` and ``oca_type``.
        Raises ValidationError / ContractNotFound (bad input), LiveTradingRefused, NotConnected.
        """
        request, info = order_requests.prepare(self, symbol, action, quantity, order_type, kwargs)
        return self._send_new(request, info)

    def place_bracket_order(self, symbol: Any, action: Any, quantity: Any, limit_price: Any, take_profit_price: Any,
                            stop_loss_price: Any, **kwargs: Any) -> BracketOrder:
        """A limit entry with a take-profit limit and a stop-loss stop (see ``order_groups``); an entry
        that ends partly filled leaves exits sized to the position (``protection``)."""
        return order_groups.place_bracket(self, symbol, action, quantity, limit_price, take_profit_price,
                                          stop_loss_price, kwargs)

    def place_oca_group(self, orders: Iterable[Mapping[str, Any]], oca_group: str | None = None,
                        oca_type: Any = OcaType.CANCEL_WITH_BLOCK) -> OcaGroup:
        """Orders placed as one one-cancels-all group (see ``order_groups``)."""
        return order_groups.place_oca(self, orders, oca_group, oca_type)

    def preview_order(self, symbol: Any, action: Any, quantity: Any, order_type: Any, **kwargs: Any) -> OrderPreview:
        """IB's margin, equity and commission for an order, without placing it (see ``order_preview``)."""
        return self.previews.preview(symbol, action, quantity, order_type, kwargs)

    def place_order_and_wait(self, symbol: Any, action: Any, quantity: Any, order_type: Any,
                             wait_for: Iterable[OrderState | str] = ACCEPTED, timeout: float = 10.0,
                             **kwargs: Any) -> OrderStatus:
        """``place_order`` then ``wait_for_status``; raises OrderRejected if IB rejects it. A bad
        ``wait_for`` or ``timeout`` is refused (ValidationError) before anything is placed."""
        wanted = parse_statuses(wait_for)
        check_wait(timeout)
        order_id = self.place_order(symbol, action, quantity, order_type, **kwargs)
        return self.wait_for_status(order_id, wanted, timeout)

    def cancel_order(self, order_id: int) -> bool:
        """Request cancellation; True once sent. OrderStateError for unknown or finished orders."""
        self._working(order_id, "cancelled")
        client = self._require_link()
        with self._lock:
            self._pending[order_id] = "cancel"
            self.cancelled_by_user.add(order_id)
        # durable before the cancel is sent: read back at open (cancelled_by_user), so that an exit
        # its owner cancelled is never placed again by protection, even after a crash
        self._journal_event(order_id, "cancel", "cancel requested", durable=True)
        self._send_change(order_id, "cancel", client, lambda: client.cancelOrder(order_id, OrderCancel()))
        logger.info("order {}: cancel sent", order_id)
        return True

    def modify_order(self, order_id: int, **kwargs: Any) -> bool:
        """Change ``quantity``, ``limit_price``, ``stop_price``, ``tif``, ``trailing_amount``,
        ``trailing_percent``, ``limit_offset``, ``good_till`` or ``trail_stop_price`` (sent only
        when given: a stop reported earlier is never sent back) (validated like a new order; the
        parent and OCA group of a bracket's or group's member are kept; a bracket's entry resized
        resizes its exits of the same size with it); True once sent. The cached order changes only
        when IB confirms the modification."""
        order_requests.check_modify_kwargs(kwargs)
        order = self._working(order_id, "modified")
        order_groups.check_not_withdrawn(self, order_id)
        with self._lock:  # IB replaces the whole order: build on a modification it has not confirmed yet
            req = self._modifying.get(order_id, order.request)
        new = order_requests.modified(req, order.status.filled, kwargs)
        client = self._require_link()
        info = self.contracts.resolve(req.contract)
        qty = new.quantity
        self._check_trade(info, new, qty, max(qty - req.quantity, 0 * qty), order.request)
        order_requests.check_modified_ticks(self, info, new)
        order_groups.check_bracket_modification(self, order_id, req, new)
        exits = order_groups.exits_to_resize(self, order_id, req, new)  # checked before anything is sent
        with self._lock:
            self._pending[order_id] = "modify"
            self._modifying[order_id] = new
        self._journal_event(order_id, "modify", f"quantity={qty} limit={new.limit_price} stop={new.stop_price} "
                                                f"tif={new.tif.value}"
                            + (f" extras={extras_json(new.extras)}" if new.extras != req.extras else ""))
        contract = self._ib_contract(info)
        ib_order = order_groups.modification(self, new)
        self._send_change(order_id, "modification", client, lambda: client.placeOrder(order_id, contract, ib_order))
        logger.info("order {}: modification sent ({})", order_id, kwargs)
        for exit_id in exits:  # a bracket's exits follow their entry's size
            self.modify_order(exit_id, quantity=qty)
        return True

    def get_order_status(self, order_id: int) -> OrderStatus:
        """The current status snapshot; OrderStateError for an unknown order id."""
        return self._known(order_id).status

    def get_order(self, order_id: int) -> Order:
        """The order (request and status) snapshot; OrderStateError for an unknown order id."""
        return self._known(order_id)

    def get_open_orders(self) -> list[Order]:
        """Orders that may still fill (ours and any others IB reported), from the reconciled cache."""
        return [o for o in self.state.get_cached_orders() if o.status.status not in TERMINAL_STATES]

    def wait_for_status(self, order_id: int, statuses: Iterable[OrderState | str] | OrderState | str | None = None,
                        timeout: float = 10.0) -> OrderStatus:
        """Block until the order reaches one of ``statuses`` (default: any final state).

        Raises OrderRejected when IB rejects it, OrderStateError when it ends in another final
        state, RequestTimeout after ``timeout`` seconds.
        """
        wanted = parse_statuses(statuses)
        timeout = check_wait(timeout)
        self._known(order_id)
        deadline = time.monotonic() + timeout
        with self._changed:
            self._status_waiters += 1  # before the status is read: see _wake_waiters
            try:
                while True:
                    status = self._known(order_id).status
                    if status.status in wanted:
                        return status
                    if status.status is OrderState.REJECTED:
                        code = self._reject_codes.get(order_id, ib_codes.REJECTED)
                        raise OrderRejected(code, status.reject_reason or "rejected", order_id)
                    if status.status in TERMINAL_STATES:
                        raise OrderStateError(order_id, f"ended {status.status.value}, not {sorted(wanted)}")
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise RequestTimeout(f"order {order_id} still {status.status.value} after {timeout:g}s")
                    self._changed.wait(remaining)
            finally:
                self._status_waiters -= 1

    def _wake_waiters(self) -> None:
        """Wake the threads in :meth:`wait_for_status` after a change; with none, no lock is taken
        (the decoding thread's path). No wake-up is lost: a waiter counts itself under the
        condition's lock before it reads the status, and the change was made before the count is
        read here, so a waiter this misses reads the changed status."""
        if self._status_waiters:
            with self._changed:
                self._changed.notify_all()

    def on_order_status(self, callback: Callable[[OrderStatus], Any]) -> None:
        """Call ``callback(OrderStatus)`` on every status change of our orders (a final state once,
        however often IB reports it)."""
        self._status_callbacks.append(check_callback(callback))

    def listen_status(self, listener: Callable[[OrderStatus], Any]) -> None:
        """Library-internal (the service's ``place_order_and_wait``): call ``listener(OrderStatus)``
        on the thread that applied each status change (usually the decoding thread), as
        :meth:`wait_for_status` is woken, before the callbacks are queued. It must return at once:
        no blocking, no disk, no user code (that is what :meth:`on_order_status` is for)."""
        self._status_listeners.append(check_callback(listener))

    def listen_new_orders(self, listener: Callable[[int], Any]) -> None:
        """Library-internal (the service's order ownership): call ``listener(order_id)`` on the
        placing thread as each new order's id is allocated, before anything about the order is
        journalled or sent to IB. What it raises fails the placement (nothing is sent)."""
        self._new_order_listeners.append(check_callback(listener))

    def on_fill(self, callback: Callable[[Fill], Any]) -> None:
        """Call ``callback(Fill)`` once per execution, with its commission (at least once across a
        crash: a repeat after a restart has ``possible_duplicate``)."""
        self._fill_callbacks.append(check_callback(callback))

    def reconcile(self) -> None:
        """Compare our orders and fills with IB's now (also done at start, reconnect and periodically)."""
        self.reconciler.run("manual", resolve_in_flight=False)

    # --- for the reconciler -------------------------------------------------------------------------
    def request_open_orders(self) -> None:
        """Ask IB for this client's open orders (answered through the order handler)."""
        self._client().reqOpenOrders()

    def request_completed_orders(self) -> None:
        """Ask IB for the API's completed orders (answered through the order handler)."""
        self._client().reqCompletedOrders(True)

    def request_executions(self, since: str, timeout: float) -> None:
        """Ask IB for the executions since ``since`` (IB's time text, ``""`` for all) and wait for
        their end; they reach the fills through the order handler."""
        exec_filter = ExecutionFilter()
        exec_filter.time = since
        self._request("executions", lambda c, rid: c.reqExecutions(rid, exec_filter), timeout)

    # --- helpers -----------------------------------------------------------------------------------
    def _known(self, order_id: Any) -> Order:
        if isinstance(order_id, bool) or not isinstance(order_id, int) or order_id <= 0:
            raise ValidationError("order_id", order_id, "must be a positive integer")
        order = self.state.get_order(order_id)
        if order is None:
            raise OrderStateError(order_id, "unknown order")
        return order

    def _working(self, order_id: int, verb: str) -> Order:
        order = self._known(order_id)
        if order.status.status in TERMINAL_STATES or not self.state.has_trade(order_id):
            raise OrderStateError(order_id, f"is {order.status.status.value}; it cannot be {verb}")
        return order

    def _send_change(self, order_id: int, what: str, client: Any, send: Callable[[], None]) -> None:
        """Send a modification or cancel. The link dropped meanwhile (ibapi then sends nothing, or
        the socket failed): NotConnected; it is never queued or sent again, and the reconciliation
        after the reconnect adopts the order's state at IB."""
        link = self.connection.generation
        try:
            send()
            sent = client.isConnected() and self.connection.generation == link  # a new link: nothing was sent
        except OSError:
            sent = False
        if not sent:
            with self._lock:
                self._pending.pop(order_id, None)
                self._modifying.pop(order_id, None)
            raise NotConnected(f"order {order_id}: the {what} may not have reached IB (the link dropped); "
                               "its state at IB is adopted after the reconnect")

    def _require_link(self) -> Any:
        client = self.connection.require_connected()
        if not self.connection.ib_link_ok:
            raise NotConnected("the gateway has lost its link to IB (1100); orders are blocked until it is back")
        return client

    def _account(self, account: str) -> str:
        accounts = self.connection.accounts
        account = account or self.settings.ib_connection.account_id or (accounts[0] if accounts else "")
        if accounts and account not in accounts:
            raise ValidationError("account", account, f"is not one of the connected accounts {list(accounts)}")
        return account

    def _check_trade(self, info: ContractInfo, request: OrderRequest, qty: Any, added_qty: Any,
                     current: OrderRequest | None = None) -> None:
        """``request``'s contract-dependent checks (``check_trade``) for ``qty`` of it, ``added_qty``
        of which is new exposure; a modification of ``current`` that names no trail stop price is
        priced at ``current``'s (the stop IB last reported)."""
        limit, stop = request.limit_price, request.stop_price
        trail_stop = request.extras.trail_stop_price if request.extras is not None else None
        if trail_stop is None and current is not None and current.extras is not None:
            trail_stop = current.extras.trail_stop_price
        quote = self.state.get_quote(info.spec.key) if limit is None and stop is None and trail_stop is None \
            else None  # priced orders: unused
        v.check_trade(self.settings.orders, info, request.action, qty, limit, stop, added_qty, quote,
                      self._buying_power(request.account), request.order_type, trail_stop)

    def _buying_power(self, account: str) -> float | None:
        """The cached buying power (the account updates of the adapter's account) for an order of
        that account; None for another managed account's order, whose buying power the adapter
        does not stream: IB's own margin check answers for it."""
        accounts = self.connection.accounts
        own = self.settings.ib_connection.account_id or (accounts[0] if accounts else "")
        return opt_float(self.state.get_account_value("BuyingPower")) if account in ("", own) else None

    def _send_new(self, request: OrderRequest, info: ContractInfo, transmit: bool = True, group: str = "") -> int:
        """Journal ``request`` and send it; its order id. ``group`` (the first member of a bracket or
        OCA group: ``order_groups.group_mark``) is a durable history line written before the send, so
        that a restart finds a group the process died placing (``order_groups.incomplete_groups``)."""
        client = self._require_link()
        journal = self.journal
        if journal is None:
            raise NotConnected("the order journal is not open (connect first)")
        with self.id_order:  # allocated and sent in id order (see __init__)
            order_id = self.ids.allocate()
            for listener in self._new_order_listeners:  # what one raises fails the placement: nothing sent
                listener(order_id)
            client_id = self.connection.client_id
            now = utcnow()
            self.state.add_trade(Trade(order_id, request, remaining=request.quantity, client_id=client_id,
                                       submitted_at=now, updated_at=now))
            with self._lock:
                self._sending.add(order_id)
                if request.order_ref:  # as remember_ids, under the same lock
                    self._by_ref[request.order_ref] = order_id
            try:
                journal.record_request(order_id, request, client_id)
                if group:  # durable before the send, as the row (the intent log, in order)
                    journal.event(order_id, GROUP_EVENT, group, durable=True)
                contract = self._ib_contract(info)
                message = self.encoder.encode(client.serverVersion(), contract, contract, order_id, request) \
                    if transmit else None
                if not client.isConnected():  # closed since the check: ibapi would send nothing (504)
                    raise ConnectionError("the link closed before the order was sent")
                if message is not None:
                    message.send(client)  # the same text or protobuf body ibapi's placeOrder would send
                else:
                    client.placeOrder(order_id, contract, build_ib_order(request, transmit,
                                                                        server_version=self.connection.server_version))
            except sqlite3.Error as exc:  # the journal refused the row (record_request): nothing was sent
                self.state.discard_trade(order_id)
                with self._lock:
                    if self._by_ref.get(request.order_ref) == order_id:
                        del self._by_ref[request.order_ref]
                logger.error("order {} ({}) not placed: the journal could not record it: {}", order_id,
                             request.order_ref, exc)
                raise JournalError(f"order not placed: the order journal could not record it ({exc})") from exc
            except OSError as exc:
                logger.error("order {} ({}): sending failed: {}; it will be looked up by orderRef, never re-sent",
                             order_id, request.order_ref, exc)
                journal.event(order_id, "send_failed", str(exc))  # committed by the writer with the order's row
                raise NotConnected(f"order {order_id} may not have reached the gateway: {exc}") from exc
            finally:
                with self._lock:
                    self._sending.discard(order_id)
                    self._sent_at[order_id] = time.monotonic()
        # journalled with the next write (sending and PendingSubmit restore alike); no commit of its
        # own. No status callback: the order is still PendingSubmit, as when place_order returns;
        # callbacks start with IB's acknowledgement (or a rejection).
        journal.mark_sent(order_id)
        self.metrics.incr("orders_placed")
        logger.info("order {} sent: {} {} {} {} lmt={} stp={} ref={}", order_id, request.action.value,
                    request.quantity, request.contract.key, request.order_type.value, request.limit_price,
                    request.stop_price, request.order_ref)
        return order_id

    def _ib_contract(self, info: ContractInfo) -> Any:
        """The ibapi Contract of a resolved instrument, built once (ibapi only reads it). Found by
        the info's identity (the resolver hands out one object per instrument; the entry keeps it
        alive, so its id is not reused), not by a hash of all its fields per order."""
        entry = self._ib_contracts.get(id(info))
        if entry is not None and entry[0] is info:
            return entry[1]
        if len(self._ib_contracts) >= _MAX_IB_CONTRACTS:
            self._ib_contracts.clear()
        contract = ContractResolver.ib_contract(info)
        self._ib_contracts[id(info)] = (info, contract)
        return contract

    def remember_ids(self, order_id: int, order_ref: str, perm_id: int) -> None:
        """Index an order by its orderRef and permId (for ``match``)."""
        with self._lock:
            if order_ref:
                self._by_ref[order_ref] = order_id
            if perm_id:
                self._by_perm[perm_id] = order_id

    def sent_before(self, order_id: int, moment: float) -> bool:
        """True when the order's placement finished (or failed) before ``moment`` (monotonic), or in
        an earlier process; such an order, if IB does not know it, never reached IB."""
        with self._lock:
            if order_id in self._sending:
                return False
            return self._sent_at.get(order_id, 0.0) < moment

    def match(self, order_id: int, client_id: int, perm_id: int, order_ref: str) -> int | None:
        """Our order id for an IB report, by orderRef, permId, or order id (same client)."""
        with self._lock:
            if order_ref and order_ref in self._by_ref:
                return self._by_ref[order_ref]
            if perm_id and perm_id in self._by_perm:
                return self._by_perm[perm_id]
        if order_ref or order_id <= 0:
            return None
        owner = self.state.mutate_trade(order_id, lambda t: t.client_id)
        if owner is None or (client_id and owner != client_id):
            return None
        return order_id

    def _update(self, order_id: int, fn: Callable[[Trade], bool], kind: str = "status") -> Order | None:
        """Apply ``fn`` to the trade; when it reports a change: journal, notify, wake waiters. A
        final state is reported once: a later change that leaves it and the filled quantity as they
        were (IB's other reports of the same cancellation, a reconciliation's) is journalled only."""
        def apply(t: Trade) -> tuple[Order, bool] | None:
            final = t.status in TERMINAL_STATES and (t.status, t.filled)
            if not fn(t):
                return None
            t.updated_at = utcnow()
            return t.snapshot(), final != (t.status, t.filled)

        # one change at a time (the decoding thread's and reconciliation's): its listeners,
        # callbacks and journal row go out in the order the changes were made
        with self._applying:
            changed = self.state.mutate_trade(order_id, apply)
            if changed is None:
                return None
            order, news = changed
            if not news:
                if self.journal is not None:
                    self.journal.record_order(order, kind, background=True)
                return order
            # listeners, callbacks and waiters first: the journal's copy of a status is history (IB is
            # the source of truth for it after a crash), so the user does not wait for its commit
            for listener in self._status_listeners:
                try:
                    listener(order.status)
                except Exception:  # noqa: BLE001 - a library bug must not stop the decoding thread
                    logger.opt(exception=True).error("status listener {} raised", listener)
            for cb in self._status_callbacks:  # never dropped, held in order behind a blocked call of cb
                self.events.submit_kept(cb, order.status)
            self._wake_waiters()
            if self.journal is not None:
                self.journal.record_order(order, kind, background=True)
        return order

    def _journal_event(self, order_id: int, kind: str, detail: str, durable: bool = False) -> None:
        if self.journal is not None:
            self.journal.event(order_id, kind, detail, durable)

    def set_state(self, order_id: int, state: OrderState, reason: str = "", filled: Any = None) -> None:
        """Set an order's state (reconciliation), by the rules of ``Trade.apply_status``."""
        self._update(order_id, lambda t: t.apply_status(state, filled=filled, reject_reason=reason), kind="reconcile")

    def apply_fills(self, order_id: int, state: OrderState | None = None, reason: str = "",
                    filled: Any = 0) -> OrderStatus | None:
        """Apply the order's own executions as a status, with IB's ``state`` and ``filled`` when
        known (``Trade.apply_fills``; reconciliation); its status afterwards (``None`` for an
        unknown order)."""
        self._update(order_id, lambda t: t.apply_fills(state, reason, filled), kind="reconcile")
        order = self.state.get_order(order_id)
        return order.status if order is not None else None

    def set_error(self, order_id: int, text: str) -> None:
        """Record an IB error that left the order as it was (failed modify/cancel). On a finished
        order (a cancel that came too late for the fill: 10148) the text is kept without a status
        callback: its final state has been reported once, and is reported only once."""
        def fn(t: Trade) -> bool:
            t.last_error = text
            return t.status not in TERMINAL_STATES  # a change to report (callbacks, journal) unless finished

        self._update(order_id, fn, kind="error")

    def _attach_fill(self, fill: Fill) -> None:
        def attach(t: Trade) -> None:
            t.fills[fill.exec_key] = fill
            t.perm_id = t.perm_id or fill.perm_id

        self.state.mutate_trade(fill.order_id, attach)

    def _store_fill(self, fill: Fill, ib_time: str, deliver: bool) -> None:
        """Attach the fill to its order and journal it; with ``deliver``, hand it to the callbacks
        once its row is durable (in the journal's intent log at once, else after the writer
        thread's commit; never a commit on this thread), so a fill a callback has seen is always
        in the journal."""
        self._attach_fill(fill)
        then = (lambda: self._deliver(fill)) if deliver else None
        if self.journal is not None:
            self.journal.record_fill(fill, ib_time, then=then)
        elif then is not None:
            then()

    def _deliver(self, fill: Fill) -> None:
        """Run the fill callbacks once per execution (on the event thread, never dropped); the
        fill is marked delivered only after they have returned (at least once, see ``Fill.possible_duplicate``)."""
        if not self.fills.claim_delivery(fill.exec_key):
            return
        self.metrics.incr("fills")
        # the task's first argument names what a blocked fill callback holds back: every later
        # fill (the list is the same object for all), so that fills reach the callbacks in order
        self.events.submit_task(self._run_fill_callbacks, self._fill_callbacks, fill)
        self._wake_waiters()

    def _run_fill_callbacks(self, callbacks: list[Callable[[Fill], Any]], fill: Fill) -> None:
        """The fill's log line and callbacks (event thread), then its delivered mark."""
        logger.info("order {} fill {}: {} {} @ {} commission {}", fill.order_id, fill.exec_id, fill.side,
                    fill.quantity, fill.price, fill.commission)
        for cb in callbacks:
            self.events.call(cb, fill)
        if self.journal is not None:
            self.journal.mark_notified(fill.exec_key)


class OrderEvents(OrderHandler):
    """The order handler of an :class:`OrderExecutionAdapter`: IB's order messages applied to its
    trades (on the decoding thread; callbacks are queued for the event thread)."""

    def __init__(self, adapter: OrderExecutionAdapter) -> None:
        self.a = adapter

    def owns_order(self, order_id: int) -> bool:
        return self.a.state.has_trade(order_id)

    def error(self, order_id: int, code: int, message: str, advanced: str) -> None:
        a = self.a
        if ib_codes.is_notice(code):
            logger.warning("order {}: IB {}: {}", order_id, code, message)
            return
        with a._lock:
            pending = a._pending.pop(order_id, None)
            a._modifying.pop(order_id, None)
        text = f"IB {code}: {message}"
        if code in ib_codes.ORDER_CANCELLED:
            a.set_state(order_id, OrderState.CANCELLED)
            return
        unacked = a.state.mutate_trade(order_id, lambda t: t.status in UNACKED and not t.perm_id)
        # "cannot modify / not found" leaves an order IB has acknowledged as it was, and so does a
        # duplicate order id (it answers a placeOrder that raced the order's end: a modify after its
        # cancel or fill); for one it never acknowledged, with no change of ours pending, any error
        # answers its placement: e.g. a bracket's exit whose entry IB refused (135 "Can't find order
        # with id = <entry>") was never placed, and must not stay PendingSubmit
        if code in ib_codes.CANNOT_MODIFY and not unacked or pending in ("modify", "cancel") or not (
                unacked or code in ib_codes.ORDER_REJECTED):
            logger.error("order {}: {} failed: {} (order left as it was)", order_id, pending or "request", text)
            a.set_error(order_id, text)
            return
        if code in ib_codes.DUPLICATE_ORDER_ID:
            a._client().reqIds(-1)
        a._reject_codes[order_id] = code
        logger.error("order {} rejected: {}", order_id, text)
        a.metrics.incr("orders_rejected")

        def reject(t: Trade) -> bool:
            t.last_error = text
            t.apply_status(OrderState.REJECTED, reject_reason=message)
            return True

        a._update(order_id, reject)

    def open_order(self, order_id: int, contract: Any, order: Any, order_state: Any) -> None:
        a = self.a
        if a.previews.take(order_id, contract, order, order_state):
            return  # a what-if answer: never an order
        a.echo.apply(order_id, order)
        oid = a.match(order_id, order.clientId, order.permId, order.orderRef)
        a.reconciler.saw_open(oid if oid is not None else -int(order.permId or 0))
        if oid is None:
            foreign = foreign_order(order_id, contract, order, order_state.status)
            if foreign is not None:
                a.state.update_order(foreign)
            return
        a.remember_ids(oid, "", int(order.permId or 0))
        state = parse_state(order_state.status) if order_state.status else None
        with a._lock:
            pending = a._pending.get(oid)
            sent = a._modifying.get(oid)

        def fn(t: Trade) -> bool:
            req = t.request
            limit = opt_float(order.lmtPrice) if req.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT) else None
            stop = opt_float(order.auxPrice) if req.order_type in (OrderType.STOP, OrderType.STOP_LIMIT) else None
            qty = to_decimal(order.totalQuantity) or req.quantity
            limit, stop, tif = limit or req.limit_price, stop or req.stop_price, v.tif_or(order.tif, req.tif)
            new = req
            if (qty, limit, stop, tif) != (req.quantity, req.limit_price, req.stop_price, req.tif):
                new = replace(req, quantity=qty, limit_price=limit, stop_price=stop, tif=tif)
            changed = new is not req or (order.permId and t.perm_id != order.permId)
            t.request, t.perm_id = new, int(order.permId or t.perm_id)
            changed = t.apply_status(state) or changed  # no fill quantities: "Filled" waits for them
            if pending == "modify" and new != req:
                t.last_error = ""
            return bool(changed)

        a._update(oid, fn, kind="open_order")
        if pending == "modify":
            confirmed = a.state.get_order(oid)
            if confirmed is not None and (sent is None or order_requests.confirms(confirmed.request, sent)):
                with a._lock:  # the last modification sent is IB's now (not an earlier one of two)
                    if a._modifying.get(oid) is sent:
                        a._pending.pop(oid, None)
                        a._modifying.pop(oid, None)

    def open_order_end(self) -> None:
        self.a.reconciler.open_orders_end()

    def order_status(self, order_id: int, status: str, filled: Any, remaining: Any, avg_fill_price: float,
                     perm_id: int, parent_id: int, last_fill_price: float, client_id: int, why_held: str,
                     mkt_cap_price: float) -> None:
        a = self.a
        oid = a.match(order_id, client_id, perm_id, "")
        if oid is None:
            return
        a.remember_ids(oid, "", perm_id)
        state = parse_state(status)
        filled_d, remaining_d = to_decimal(filled), to_decimal(remaining)

        def fn(t: Trade) -> bool:
            changed = t.apply_status(state, filled_d, remaining_d, avg_fill_price, last_fill_price)
            if t.status in TERMINAL_STATES and state not in TERMINAL_STATES:
                return changed  # a final state is never left
            ids = (t.perm_id, t.why_held)
            t.perm_id, t.why_held = int(perm_id or t.perm_id), why_held or ""
            return changed or ids != (t.perm_id, t.why_held)

        a._update(oid, fn)

    def completed_order(self, contract: Any, order: Any, order_state: Any) -> None:
        self.a.reconciler.completed_order(order, order_state)

    def completed_orders_end(self) -> None:
        self.a.reconciler.completed_orders_end()

    def exec_details(self, req_id: int, contract: Any, execution: Any) -> None:
        a = self.a
        if req_id >= 0:
            a.registry.append(req_id, execution.execId)
        oid = a.match(execution.orderId, execution.clientId, execution.permId, execution.orderRef)
        if oid is None:
            logger.debug("execution {} is not for one of our orders", execution.execId)
            return
        result = a.fills.add_execution(fill_from_execution(oid, contract, execution), execution.time)
        if result is None:
            return
        fill = result.fill
        a.remember_ids(oid, "", fill.perm_id)
        if result.correction:
            logger.warning("order {}: execution {} corrected (not counted twice)", oid, fill.exec_id)
        a._store_fill(fill, execution.time, deliver=fill.commission is not None)

    def exec_details_end(self, req_id: int) -> None:
        self.a.reconciler.exec_details_end(req_id)

    def commission_report(self, report: Any) -> None:
        a = self.a
        fill = a.fills.add_commission(report.execId, opt_float(report.commissionAndFees), report.currency or "",
                                      opt_float(report.realizedPNL))
        if fill is None:
            return
        a._store_fill(fill, "", deliver=True)
