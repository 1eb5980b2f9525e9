"""RequestRegistry, StateManager, log masking, validators and the Wrapper's routing."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from platform_adapter.core.handlers import Handlers
from platform_adapter.core.request_registry import RequestRegistry
from platform_adapter.core.state_manager import StateManager, order_key
from platform_adapter.core.wrapper import Wrapper
from platform_adapter.errors import NotConnected, PlatformAdapterError, RequestTimeout, ValidationError
from platform_adapter.models import ContractSpec, OrderAction, OrderRequest, OrderType, Position, Quote, Trade
from platform_adapter.utils.logger import mask
from platform_adapter.utils.validators import (
    check_callback,
    check_market_data_type,
    check_price,
    check_quantity,
    check_symbol,
    check_tbt_kind,
    on_tick,
)
from tests.handlers import Recording


def test_registry_lifecycle() -> None:
    reg = RequestRegistry(first_id=100)
    p = reg.start("contract_details")
    assert p.req_id == 100 and len(reg) == 1
    assert reg.append(100, "a") and reg.append(100, "b")
    assert not reg.append(999, "x")
    assert reg.finish(100)
    assert p.wait(0.1) == ["a", "b"]
    assert not reg.finish(100)
    assert reg.pending_kinds() == []


def test_registry_fail_timeout_duplicate_and_fail_all() -> None:
    reg = RequestRegistry(first_id=1)
    p = reg.start("x")
    reg.fail(p.req_id, ValueError("boom"))
    with pytest.raises(ValueError):
        p.wait(0.1)
    q = reg.start("slow")
    with pytest.raises(RequestTimeout, match="slow"):
        q.wait(0.01)
    with pytest.raises(PlatformAdapterError, match="already pending"):
        reg.start("dup", req_id=q.req_id)
    others = [reg.start("k") for _ in range(3)]
    assert reg.fail_all(NotConnected("gone")) == 4
    for o in others:
        with pytest.raises(NotConnected):
            o.wait(0.1)
    assert not reg.fail(q.req_id, ValueError())
    reg.discard(12345)


def test_registry_ids_unique_across_threads() -> None:
    reg = RequestRegistry()
    ids: list[int] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(500):
            i = reg.next_id()
            with lock:
                ids.append(i)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 2000


def make_trade(order_id: int) -> Trade:
    req = OrderRequest(ContractSpec("AAPL"), OrderAction.BUY, Decimal(10), OrderType.MARKET)
    return Trade(order_id, req, remaining=Decimal(10))


def test_state_manager_positions_orders_and_snapshots() -> None:
    sm = StateManager()
    pos = Position("DU1", "AAPL", ContractSpec("AAPL"), Decimal(100), 150.0, con_id=265598)
    sm.update_position(pos)
    assert sm.get_cached_positions() == [pos]
    assert sm.get_position("AAPL") == pos and sm.get_position("AAPL", "DU2") is None
    sm.update_position(Position("DU1", "AAPL", ContractSpec("AAPL"), Decimal(0), 0.0, con_id=265598))
    assert sm.get_cached_positions() == []
    sm.add_trade(make_trade(5))
    snap = sm.get_order(5)
    assert snap is not None and snap.order_id == 5
    sm.mutate_trade(5, lambda t: setattr(t, "filled", Decimal(3)))
    assert snap.status.filled == 0  # snapshots are not live objects
    assert sm.get_order(5).status.filled == 3  # type: ignore[union-attr]
    assert sm.mutate_trade(99, lambda t: 1) is None
    assert sm.has_trade(5) and not sm.has_trade(6)
    sm.update_order(make_trade(0).snapshot())
    assert [o.order_id for o in sm.get_cached_orders()] == [0, 5]
    assert len(sm.trades_snapshot()) == 1


def test_state_manager_reconcile_positions_reports_differences() -> None:
    sm = StateManager()
    spec = ContractSpec("AAPL")
    sm.update_position(Position("DU1", "AAPL", spec, Decimal(100), 1.0, con_id=1))
    sm.update_position(Position("DU1", "MSFT", ContractSpec("MSFT"), Decimal(5), 1.0, con_id=2))
    changes = sm.replace_positions([Position("DU1", "AAPL", spec, Decimal(50), 1.0, con_id=1),
                                    Position("DU1", "TSLA", ContractSpec("TSLA"), Decimal(1), 1.0, con_id=3)])
    assert len(changes) == 3
    assert {p.symbol: p.quantity for p in sm.get_cached_positions()} == {"AAPL": 50, "TSLA": 1}


def test_state_manager_account_quotes_pnl() -> None:
    sm = StateManager()
    sm.update_account_value("NetLiquidation", "100")
    assert sm.get_account_value("NetLiquidation") == "100"
    assert sm.get_account_values() == {"NetLiquidation": "100"}
    assert sm.account_updated_at is not None
    sm.update_quote(Quote("AAPL", bid=1.0))
    assert sm.get_quote("AAPL").bid == 1.0  # type: ignore[union-attr]
    assert list(sm.get_quotes()) == ["AAPL"]
    sm.clear_quote("AAPL")
    assert sm.get_quote("AAPL") is None
    assert sm.get_pnl() is None


def test_order_key_rule() -> None:
    assert order_key(7, 123) == 7
    assert order_key(0, 123) == -123
    assert order_key(0, 0) == 0


def test_mask_hides_accounts_and_secrets() -> None:
    text = mask("account DU1234567 and U7654321 password=hunter2 token: abc")
    assert "DU1234567" not in text and "U7654321" not in text and "hunter2" not in text and "abc" not in text
    assert "DU****567" in text


def test_validators() -> None:
    assert check_symbol(" aapl ") == "AAPL"
    for bad in ["", "   ", "A" * 21, "AA;PL", 5, None]:
        with pytest.raises(ValidationError):
            check_symbol(bad)
    for bad in [0, -1, float("nan"), float("inf"), "1", True, None]:
        with pytest.raises(ValidationError):
            check_price(bad, "limit_price")
    assert check_price(Decimal("1.5"), "p") == 1.5
    assert check_quantity(10) == 10
    assert check_quantity("0.5", fractional=True) == Decimal("0.5")
    for bad in [0, -5, 1.5, float("nan"), "x", True, None, float("inf")]:
        with pytest.raises(ValidationError):
            check_quantity(bad)
    assert on_tick(150.25, 0.01) and not on_tick(150.255, 0.01) and on_tick(1.0, 0)


def test_one_callback_check_for_every_api() -> None:
    """The check the adapters, the lifecycle and the remote client share."""
    assert check_callback(print) is print
    assert check_callback(None, "on_error", optional=True) is None
    with pytest.raises(ValidationError) as info:
        check_callback(None, "on_error")
    assert info.value.field == "on_error"
    with pytest.raises(ValidationError):
        check_callback(42)


def test_market_data_type_and_tick_by_tick_kind_checks() -> None:
    assert check_market_data_type("Delayed-Frozen").value == 4
    assert check_market_data_type(3).value == 3
    assert check_tbt_kind("all_last").value == "AllLast"
    for bad in ("nope", 0, 5, True):
        with pytest.raises(ValidationError):
            check_market_data_type(bad)
    with pytest.raises(ValidationError):
        check_tbt_kind("Every")


def test_wrapper_routes_and_isolates_handler_errors() -> None:
    rec = Recording(normalise=lambda a: a)
    w = rec.wrapper

    def bad(*_: object) -> None:
        raise RuntimeError("handler bug")

    rec.market_data.tick_string = bad  # type: ignore[method-assign]
    w.debug = True
    w.tickString(1, 45, "x")
    w.tickGeneric(1, 49, 0.5)
    assert rec.calls == [("tick_generic", (1, 49, 0.5))]
    assert w.callback_errors == 1
    w.error(5, 0, 200, "No security definition")
    assert rec.calls[-1] == ("lifecycle.error", (5, 200, "No security definition", ""))
    with pytest.raises(RuntimeError, match="bound once"):
        w.bind(Handlers())
    unbound = Wrapper()
    unbound.tickPrice(1, 1, 1.0, None)  # null handlers until bound
    unbound.bind(Handlers())


def test_end_waiter_finishes_times_out_and_fails_fast_on_link_loss() -> None:
    from platform_adapter.core.request_registry import EndWaiter

    reg = RequestRegistry()
    waiter = EndWaiter(reg, "openOrderEnd")
    waiter.begin()
    waiter.done()
    waiter.wait(1)
    assert len(reg) == 0
    waiter.begin()
    with pytest.raises(RequestTimeout, match="no openOrderEnd within 0.01s"):
        waiter.wait(0.01)
    assert len(reg) == 0
    waiter.begin()
    threading.Timer(0.05, reg.fail_all, args=(NotConnected("link lost"),)).start()
    with pytest.raises(NotConnected):
        waiter.wait(30)  # not the 30 s timeout: the dropped link ends it
    with pytest.raises(PlatformAdapterError, match="without begin"):
        waiter.wait(1)
    waiter.done()  # a late End is ignored
