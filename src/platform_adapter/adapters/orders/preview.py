"""What-if previews (``orders.preview_order``): the order is validated like ``place_order`` and
sent with ``whatIf``; IB answers with an ``openOrder`` whose state carries the margin and equity
changes and its commission estimate, and never places it. A preview has an order id of its own
(IB needs one) but no trade, no journal row and no status callbacks; it waits in the request
registry under that id, so an IB error for it (e.g. 201, 321) or a dropped link ends the wait."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from platform_adapter.adapters.orders import requests as order_requests
from platform_adapter.adapters.orders.models import build_ib_order, opt_float
from platform_adapter.errors import IBError, OrderRejected
from platform_adapter.log import logger
from platform_adapter.models.order import OrderRequest
from platform_adapter.models.preview import AccountChange, OrderPreview

if TYPE_CHECKING:
    from platform_adapter.adapters.order_execution import OrderExecutionAdapter

KIND = "what_if"


def preview_from_state(request: OrderRequest, state: Any) -> OrderPreview:
    """An :class:`OrderPreview` from the ibapi OrderState of a what-if answer."""
    def change(name: str) -> AccountChange:
        return AccountChange(opt_float(getattr(state, f"{name}Before")), opt_float(getattr(state, f"{name}Change")),
                             opt_float(getattr(state, f"{name}After")))

    return OrderPreview(request, change("initMargin"), change("maintMargin"), change("equityWithLoan"),
                        opt_float(state.commissionAndFees), opt_float(state.minCommissionAndFees),
                        opt_float(state.maxCommissionAndFees), state.commissionAndFeesCurrency or "",
                        state.marginCurrency or "", state.warningText or "")


class OrderPreviewer:
    """Sends what-if orders and hands each answer to the caller waiting for it."""

    def __init__(self, adapter: OrderExecutionAdapter) -> None:
        self.adapter = adapter
        self._requests: dict[int, OrderRequest] = {}

    def preview(self, symbol: Any, action: Any, quantity: Any, order_type: Any,
                kwargs: Mapping[str, Any]) -> OrderPreview:
        """Validate (as ``place_order``, without the buying-power check and the paper-account
        guard: nothing can trade) and ask IB; OrderRejected when IB refuses the order,
        RequestTimeout / NotConnected when no answer comes."""
        a = self.adapter
        request, info = order_requests.prepare(a, symbol, action, quantity, order_type, kwargs,
                                               adds_exposure=False, live_guard=False)
        client = a._require_link()
        with a.id_order:  # ids reach IB in the order they are allocated (IB refuses a lower one: 103)
            order_id = a.ids.allocate()
            pending = a.registry.start(KIND, req_id=order_id)
            self._requests[order_id] = request
            try:
                client.placeOrder(order_id, a._ib_contract(info),
                                  build_ib_order(request, what_if=True, server_version=a.connection.server_version))
            except BaseException:
                a.registry.discard(order_id)
                self._requests.pop(order_id, None)
                raise
        try:
            result = pending.wait(a.settings.ib_connection.request_timeout)
        except IBError as exc:  # IB refused the order (201, 321...): it would refuse it placed too
            raise OrderRejected(exc.code, exc.message, order_id) from None
        finally:
            a.registry.discard(order_id)
            self._requests.pop(order_id, None)
        preview: OrderPreview = result[0]
        logger.info("preview {}: {} {} {} {}: initial margin change {}, commission {} {}", order_id,
                    request.action.value, request.quantity, request.contract.key, request.order_type.value,
                    preview.initial_margin.change, preview.commission, preview.commission_currency)
        return preview

    def take(self, order_id: int, _contract: Any, ib_order: Any, state: Any) -> bool:
        """Called by the order handler for every ``openOrder``: a what-if answer for a waiting
        preview completes it (True: the report is consumed)."""
        if not ib_order.whatIf:
            return False
        request = self._requests.get(order_id)
        pending = self.adapter.registry.get(order_id)
        if request is None or pending is None or pending.kind != KIND:
            return False
        return self.adapter.registry.finish(order_id, [preview_from_state(request, state)])
