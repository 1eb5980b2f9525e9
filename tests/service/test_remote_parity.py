"""RemoteAdapter has the facade's interface: every public method of ``PlatformAdapter`` and of its
adapters (``market_data``, ``orders``, ``account``, ``contracts``) exists remotely with the same
parameters (a method added to the facade and not to the remote one fails here), and the order
groups, previews, contract helpers and connection events work through the service with the
facade's results and typed exceptions."""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import msgpack
import pytest

from platform_adapter import OrderRejected, OrderState, PlatformAdapter, ValidationError
from platform_adapter.adapters.account_manager import AccountManager
from platform_adapter.adapters.contracts import ContractResolver
from platform_adapter.adapters.market_data import MarketDataAdapter
from platform_adapter.adapters.order_execution import OrderExecutionAdapter
from platform_adapter.models.connection import ConnectionEventKind
from platform_adapter.models.contract import ContractSpec, OptionChain, SecType
from platform_adapter.models.order import BracketOrder, OcaGroup, OcaType, OrderStatus, OrderType
from platform_adapter.models.preview import OrderPreview
from platform_adapter.remote import RemoteAdapter
from platform_adapter.remote.account import RemoteAccount
from platform_adapter.remote.contracts import RemoteContracts
from platform_adapter.remote.market_data import RemoteMarketData
from platform_adapter.remote.orders import RemoteOrders
from platform_adapter.service import Service, protocol
from platform_adapter.sim import SimulatedGateway
from tests.conftest import Recorder, wait_for
from tests.service.conftest import Running
from tests.service.raw_client import RawClient

_LIFECYCLE = {"start", "stop", "contracts"}  # every adapter: started and stopped by the facade
INTERNAL: dict[type, set[str]] = {
    # the library's own hooks, called by core/lifecycle.py, the wrapper or the reconciler: not user API
    MarketDataAdapter: _LIFECYCLE | {"check_stale", "data_farm", "link_lost", "link_restored", "restore",
                                     "resubscribe_all", "socket_lost",
                                     "monitoring_metrics"},  # the facade's metrics(): the service has its own
    OrderExecutionAdapter: _LIFECYCLE | {"accept_next_valid_id", "apply_fills", "match", "open_journal",
                                         "reconcile_after", "remember_ids", "request_completed_orders",
                                         "listen_new_orders", "listen_status", "request_executions",
                                         "request_open_orders", "sent_before", "set_error", "set_state", "sync_ids"},
    AccountManager: _LIFECYCLE | {"restore"},
    ContractResolver: {"contracts", "remember", "info_from_details", "ib_contract"},
    # the IB connection and its metrics exporter are the service's
    PlatformAdapter: {"start_metrics"},
}
PAIRS = [(MarketDataAdapter, RemoteMarketData), (OrderExecutionAdapter, RemoteOrders), (AccountManager, RemoteAccount),
         (ContractResolver, RemoteContracts), (PlatformAdapter, RemoteAdapter)]
DIFFERENT = {(PlatformAdapter, "connect")}  # no host, port or client id: checked below


def _public(cls: type) -> dict[str, Any]:
    return {name: value for name, value in inspect.getmembers(cls)
            if not name.startswith("_") or name in ("__enter__", "__exit__")}


def _params(fn: Any) -> list[tuple[str, Any, Any]]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


@pytest.mark.parametrize(("facade", "remote"), PAIRS, ids=lambda c: c.__name__)
def test_every_public_method_of_the_facade_is_mirrored(facade: type, remote: type) -> None:
    ours, theirs = _public(facade), _public(remote)
    internal = INTERNAL.get(facade, set())
    assert internal <= set(ours), f"stale INTERNAL names: {internal - set(ours)}"
    missing = sorted(set(ours) - internal - set(theirs))
    assert not missing, f"{remote.__name__} lacks {missing}"
    for name in sorted(set(ours) - internal):
        if (facade, name) in DIFFERENT:
            continue
        if isinstance(ours[name], property):
            assert isinstance(theirs[name], property), name
        elif callable(ours[name]):
            assert _params(theirs[name]) == _params(ours[name]), name
    assert [p[0] for p in _params(RemoteAdapter.connect)] == ["self"]  # the IB connection is the service's


def test_the_remote_adapter_has_the_facades_parts() -> None:
    remote = RemoteAdapter("tcp://127.0.0.1:1", name="parts")
    assert (type(remote.market_data), type(remote.orders), type(remote.account), type(remote.contracts)) == (
        RemoteMarketData, RemoteOrders, RemoteAccount, RemoteContracts)


def test_brackets_and_oca_groups_belong_to_their_client(served: Running, gateway: SimulatedGateway,
                                                          remote_factory: Any) -> None:
    a, b = remote_factory(served, "a"), remote_factory(served, "b")
    seen = Recorder()
    a.orders.on_order_status(seen)
    bracket = a.orders.place_bracket_order("AAPL", "BUY", 100, 150.0, 195.0, 140.0, tif="GTC")
    assert isinstance(bracket, BracketOrder)
    assert [a.orders.wait_for_status(i, ("Submitted", "PreSubmitted"), timeout=5).status for i in bracket.order_ids] \
        == [OrderState.SUBMITTED, OrderState.PRE_SUBMITTED, OrderState.PRE_SUBMITTED]
    assert served.pa.orders.get_order(bracket.stop_loss).request.extras.parent_id == bracket.parent
    group = a.orders.place_oca_group([
        {"symbol": "AAPL", "action": "BUY", "quantity": 10, "order_type": "LMT", "limit_price": 150.0},
        {"symbol": ContractSpec("MSFT"), "action": "BUY", "quantity": Decimal(5), "order_type": "LMT",
         "limit_price": 100.0}], oca_group="pair", oca_type=OcaType.REDUCE_WITH_BLOCK)
    assert isinstance(group, OcaGroup) and (group.name, group.oca_type, len(group.order_ids)) == (
        "pair", OcaType.REDUCE_WITH_BLOCK, 2)
    owned = {*bracket.order_ids, *group.order_ids}
    assert {served.service.router.owner(i) for i in owned} == {"a"}
    assert {o.order_id for o in a.orders.get_open_orders()} == owned and b.orders.get_open_orders() == []
    wait_for(lambda: {s.order_id for (s,) in seen.calls} == owned)
    with pytest.raises(ValidationError, match="oca_group") as info:
        a.orders.place_oca_group([{"symbol": "AAPL", "action": "BUY", "quantity": 1, "order_type": "MKT"},
                                  {"symbol": "AAPL", "action": "SELL", "quantity": 1, "order_type": "MKT",
                                   "oca_group": "x"}])
    assert info.value.field == "orders[1].oca_group"
    with pytest.raises(ValidationError, match="orders"):
        a.orders.place_oca_group("not a list")  # type: ignore[arg-type]


@pytest.fixture
def still_gateway() -> Iterator[SimulatedGateway]:
    """A simulator whose market does not move (torn down after the service that uses it)."""
    with SimulatedGateway(host="127.0.0.1", port=0, seed=7, tick_interval=3600.0) as gw:
        yield gw


def test_a_preview_is_the_facades_and_places_nothing(still_gateway: SimulatedGateway, service_factory: Any,
                                                     remote_factory: Any) -> None:
    # a still market: both previews price the order at the same quote (on a moving one they raced a tick)
    gateway = still_gateway
    served = service_factory(gateway)
    a = remote_factory(served, "a")
    preview = a.orders.preview_order("AAPL", "BUY", 100, "MKT")
    assert isinstance(preview, OrderPreview)
    direct = served.pa.orders.preview_order("AAPL", "BUY", 100, "MKT")
    assert preview.initial_margin == direct.initial_margin and preview.commission == direct.commission
    assert preview.request.contract == direct.request.contract and preview.request.quantity == Decimal(100)
    with pytest.raises(ValidationError) as info:
        a.orders.preview_order("AAPL", "BUY", 100, "LMT")
    assert info.value.field == "limit_price"
    assert gateway.stats().received["placeOrder"] == 2  # the two what-if orders, nothing placed
    assert a.orders.get_open_orders() == []


def test_futures_and_options_helpers(served: Running, remote_factory: Any) -> None:
    a = remote_factory(served, "a")
    assert a.contracts.cached("ES") is None
    front = a.contracts.front_month("ES")
    assert front == served.pa.contracts.front_month("ES")
    assert a.contracts.cached(front.spec) == front
    chain = a.contracts.option_chain("AAPL")
    assert isinstance(chain, OptionChain) and chain == served.pa.contracts.option_chain("AAPL")
    assert a.contracts.option_chains("AAPL") == served.pa.contracts.option_chains("AAPL")
    spec = ContractSpec.option("AAPL", chain.expirations[0], chain.strikes[len(chain.strikes) // 2], "C")
    info = a.contracts.resolve(spec)
    assert info == served.pa.contracts.resolve(spec) == a.contracts.cached(spec)
    assert a.orders.preview_order(spec, "BUY", 1, "MKT").request.contract == spec
    with pytest.raises(ValidationError) as err:
        a.contracts.resolve(ContractSpec.option("AAPL", "", 190.0, "C"))
    assert err.value.field == "symbol.last_trade_date"


def test_place_order_and_wait_answers_with_the_status(served: Running, gateway: SimulatedGateway,
                                                       remote_factory: Any) -> None:
    a = remote_factory(served, "a")
    seen = Recorder()
    a.orders.on_order_status(seen)
    status = a.orders.place_order_and_wait("AAPL", "BUY", 1, "LMT", wait_for="Submitted", limit_price=100.0)
    assert status.status is OrderState.SUBMITTED and served.service.router.owner(status.order_id) == "a"
    assert a.orders.wait_for_status(status.order_id, "Submitted", timeout=5) == status
    wait_for(lambda: any(s.order_id == status.order_id for (s,) in seen.calls))  # the event still follows
    gateway.reject_next_order("no reason")
    with pytest.raises(OrderRejected) as info:
        a.orders.place_order_and_wait("AAPL", "BUY", 1, "LMT", limit_price=100.0)
    assert info.value.code == 201
    filled = a.orders.place_order_and_wait("AAPL", "BUY", 1, "MKT", wait_for=[OrderState.FILLED], timeout=120)
    assert filled.status is OrderState.FILLED  # a wait longer than the service's limit: waited here


@pytest.mark.parametrize(("wait_for", "timeout", "field"), [
    ("Nonsense", 1.0, "statuses"), ("Submitted", -1.0, "timeout"), ("Submitted", float("nan"), "timeout")])
def test_place_order_and_wait_refuses_bad_wait_arguments_before_placing(served: Running, remote_factory: Any,
                                                                        wait_for: Any, timeout: float,
                                                                        field: str) -> None:
    a = remote_factory(served, "a")
    before = len(served.pa.state.trades_snapshot())
    with pytest.raises(ValidationError) as err:  # the client's own check
        a.orders.place_order_and_wait("AAPL", "BUY", 1, "LMT", wait_for=wait_for, timeout=timeout, limit_price=100.0)
    assert err.value.field == field
    with pytest.raises(ValidationError) as err:  # the service's, for a client that skips it
        a.transport.call("orders.place_order_and_wait", {"symbol": "AAPL", "action": "BUY", "quantity": 1,
                                                        "order_type": "LMT", "kwargs": {"limit_price": 100.0},
                                                        "wait_for": [wait_for], "timeout": timeout})
    assert err.value.field == field
    assert len(served.pa.state.trades_snapshot()) == before  # nothing was placed


def test_quick_commands_run_on_the_command_thread(served: Running, remote_factory: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    a = remote_factory(served, "a")
    threads: list[str] = []
    place = served.pa.orders.place_order

    def recording(*args: Any, **kwargs: Any) -> int:
        threads.append(threading.current_thread().name)
        return place(*args, **kwargs)

    monkeypatch.setattr(served.pa.orders, "place_order", recording)
    monkeypatch.setattr(served.pa.bucket, "can_proceed", lambda: True)  # the bucket has a token
    a.orders.place_order("MSFT", "BUY", 1, "LMT", limit_price=100.0)  # contract unknown: a worker
    a.orders.place_order("MSFT", "BUY", 1, "LMT", limit_price=100.0)  # known: the command thread
    monkeypatch.setattr(served.pa.bucket, "can_proceed", lambda: False)
    a.orders.place_order("MSFT", "BUY", 1, "LMT", limit_price=100.0)  # would wait for the bucket: a worker
    assert [t.split("_")[0] for t in threads] == ["pa-service-worker", "pa-service-commands", "pa-service-worker"]


def test_connection_events_of_the_service_and_the_session(served: Running, gateway: SimulatedGateway,
                                                           remote_factory: Any) -> None:
    a = remote_factory(served, "a", connect=False)
    events = Recorder()
    a.on_connection_event(events)
    with pytest.raises(ValidationError, match="callback"):
        a.on_connection_event("not callable")  # type: ignore[arg-type]
    assert a.connect()
    wait_for(lambda: [e.kind for (e,) in events.calls] == [ConnectionEventKind.CONNECTED])
    gateway.send_system_code(1100)
    wait_for(lambda: ConnectionEventKind.IB_LINK_LOST in [e.kind for (e,) in events.calls])
    served.service.stop()
    wait_for(lambda: events.calls[-1][0].kind is ConnectionEventKind.DISCONNECTED)
    assert events.calls[-1][0].detail.startswith("service")


BAD_SPECS = [ContractSpec("EUR", SecType.FOREX, "IDEALPRO", 5),  # type: ignore[arg-type]
             ContractSpec("AAPL", "STK"),  # type: ignore[arg-type]
             ContractSpec("AAPL", SecType.STOCK, "SMART", "USD", con_id=-1),
             ContractSpec("AAPL", SecType.STOCK, "SMART", "US\x01D"),
             ContractSpec("", SecType.STOCK)]


def _calls(pa: Any, spec: ContractSpec) -> dict[str, Any]:
    md, orders, contracts = pa.market_data, pa.orders, pa.contracts
    return {
        "subscribe_quotes": lambda: md.subscribe_quotes([spec], print),
        "unsubscribe_quotes": lambda: md.unsubscribe_quotes(spec),
        "get_quote": lambda: md.get_quote(spec),
        "subscribe_real_time_bars": lambda: md.subscribe_real_time_bars(spec, print),
        "subscribe_tick_by_tick": lambda: md.subscribe_tick_by_tick(spec, "Last", print),
        "unsubscribe_tick_by_tick": lambda: md.unsubscribe_tick_by_tick(spec),
        "get_historical_data": lambda: md.get_historical_data(spec, "1 D", "1 hour"),
        "place_order": lambda: orders.place_order(spec, "BUY", 1, "MKT"),
        "preview_order": lambda: orders.preview_order(spec, "BUY", 1, "MKT"),
        "place_bracket_order": lambda: orders.place_bracket_order(spec, "BUY", 1, 100.0, 110.0, 90.0),
        "resolve": lambda: contracts.resolve(spec),
        "cached": lambda: contracts.cached(spec),
        "option_chains": lambda: contracts.option_chains(spec),
    }


def _outcome(call: Any) -> tuple[str, str | None, str]:
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - compared, facade against remote
        return type(exc).__name__, getattr(exc, "field", None), str(exc)
    return "returned", None, ""


def assert_alike(facade: Mapping[str, Any], remote: Mapping[str, Any], run: Callable[[Any], Any] = _outcome,
                 refused: bool = False, peer: str = "remote") -> None:
    """Each named call gets the same outcome (``run``) on the facade and through the service;
    ``refused``: each must also be a ValidationError there. Every difference is listed."""
    diffs = {}
    for name, call in facade.items():
        expected, got = run(call), run(remote[name])
        if got != expected or refused and expected[0] != "ValidationError":
            diffs[name] = (expected, got)
    assert not diffs, "\n".join(f"{k}: facade {e}\n    {peer} {g}" for k, (e, g) in diffs.items())


@pytest.mark.parametrize("spec", BAD_SPECS, ids=["currency_type", "sec_type_text", "con_id", "currency_text",
                                                 "empty_symbol"])
def test_a_bad_contract_spec_gets_the_facades_error(served: Running, remote_factory: Any,
                                                    spec: ContractSpec) -> None:
    """The remote names the bad field of a ContractSpec as the facade does (``symbol.currency``,
    ``symbols.sec_type``, ``underlying.con_id``), with the facade's text, before anything is sent
    (before: ``symbol`` with the wire decoder's text, or an AttributeError while packing)."""
    remote = remote_factory(served, "a")
    facade, far = _calls(served.pa, spec), _calls(remote, spec)
    for name, call in facade.items():
        expected = _outcome(call)
        assert expected[0] == "ValidationError", (name, expected)
        assert _outcome(far[name]) == expected, name


def test_the_service_names_a_bad_spec_maps_field(served: Running) -> None:
    """A ContractSpec map with a field of the wrong wire type (from a module in another language):
    the ValidationError names that field as the facade would (``symbol.currency``)."""
    raw = RawClient(served.service.commands_endpoint)
    try:
        raw.hello("raw")
        spec = {"symbol": "EUR", "sec_type": "CASH", "exchange": "IDEALPRO", "currency": 5}
        reply = raw.call("contracts.resolve", {"symbol": spec})
        assert not reply["ok"] and reply["error"]["type"] == "ValidationError", reply
        assert reply["error"]["attributes"]["field"] == "symbol.currency"
        assert reply["error"]["attributes"]["value"] == 5
        reply = raw.call("market_data.subscribe_quotes", {"symbols": [spec]})
        assert reply["error"]["attributes"]["field"] == "symbols.currency", reply
    finally:
        raw.close()


def test_good_till_as_a_datetime_works_remotely_as_on_the_facade(served: Running, remote_factory: Any) -> None:
    """``good_till`` takes a tz-aware ``datetime`` (user guide, section 10) through the remote
    adapter too, on ``place_order`` and ``modify_order`` (before: the service refused any keyword
    argument that was not a number, text or bool: ``good_till`` must be a number, text or true/false)."""
    a = remote_factory(served, "a")
    until = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=30)
    order_id = a.orders.place_order("AAPL", "BUY", 1, "LMT", limit_price=100.0, good_till=until)
    placed = served.pa.orders.get_order(order_id).request
    assert (placed.tif.value, placed.extras.good_till) == ("GTD", until.strftime("%Y%m%d-%H:%M:%S"))
    a.orders.wait_for_status(order_id, ("Submitted", "PreSubmitted"), timeout=5)
    later = until + timedelta(days=1)
    assert a.orders.modify_order(order_id, good_till=later)
    wait_for(lambda: served.pa.orders.get_order(order_id).request.extras.good_till
             == later.strftime("%Y%m%d-%H:%M:%S"))


def test_a_trail_stop_price_works_remotely_as_on_the_facade(served: Running, gateway: SimulatedGateway,
                                                            remote_factory: Any) -> None:
    """``trail_stop_price`` goes through the service's ``place_order`` and ``modify_order`` kwargs,
    the remote ``get_order`` carries the stop IB reported, and a bad one gets the facade's error."""
    a = remote_factory(served, "a")
    gateway.set_price("AAPL", 190.0)  # a walk of 40 (to the stop) or 60 (moving it) is far off
    order_id = a.orders.place_order("AAPL", "SELL", 1, "TRAIL", trailing_amount=50.0, trail_stop_price=150.0)
    a.orders.wait_for_status(order_id, ("PreSubmitted", "Submitted"), timeout=5)
    assert a.orders.get_order(order_id).request.extras.trail_stop_price == 150.0
    assert a.orders.modify_order(order_id, trail_stop_price=155.0)
    wait_for(lambda: a.orders.get_order(order_id).request.extras.trail_stop_price == 155.0)
    sim = next(o for o in gateway.stats().orders if o.order_ref == served.pa.orders.get_order(order_id).order_ref)
    assert sim.trail_stop_price == 155.0
    with pytest.raises(ValidationError) as info:
        a.orders.place_order("AAPL", "SELL", 1, "LMT", limit_price=190.0, trail_stop_price=150.0)
    assert info.value.field == "trail_stop_price"
    with pytest.raises(ValidationError) as info:
        a.orders.modify_order(order_id, trail_stop_price=-1.0)
    assert info.value.field == "trail_stop_price"


def _several_bad(pa: Any) -> dict[str, Any]:
    """Calls with a bad ContractSpec and another bad argument: the facade names one of them first."""
    md, orders, contracts = pa.market_data, pa.orders, pa.contracts
    bad = BAD_SPECS[0]
    return {
        "place_order unknown kwarg": lambda: orders.place_order(bad, "BUY", 1, "LMT", limit_price=1.0, bogus=1),
        "place_order bad action": lambda: orders.place_order(bad, "HOLD", -1, "XX"),
        "and_wait bad wait_for": lambda: orders.place_order_and_wait(bad, "BUY", 1, "MKT", wait_for="Nope"),
        "and_wait bad timeout": lambda: orders.place_order_and_wait(bad, "BUY", 1, "MKT", timeout=-1),
        "and_wait unknown kwarg": lambda: orders.place_order_and_wait(bad, "BUY", 1, "MKT", bogus=1),
        "preview unknown kwarg": lambda: orders.preview_order(bad, "BUY", 1, "MKT", bogus=1),
        "preview bad action": lambda: orders.preview_order(bad, "HOLD", 1, "MKT"),
        "bracket unknown kwarg": lambda: orders.place_bracket_order(bad, "BUY", 1, 100.0, 110.0, 90.0, bogus=1),
        "bracket bad action": lambda: orders.place_bracket_order(bad, "HOLD", 1, 100.0, 110.0, 90.0),
        "bracket bad prices": lambda: orders.place_bracket_order(bad, "BUY", 1, 100.0, 90.0, 110.0),
        "oca bad action": lambda: orders.place_oca_group([{"symbol": bad, "action": "HOLD", "quantity": 1,
                                                           "order_type": "MKT"}]),
        "oca bad type": lambda: orders.place_oca_group([{"symbol": bad, "action": "BUY", "quantity": 1,
                                                         "order_type": "MKT"}], oca_type=9),
        "quotes bad callback": lambda: md.subscribe_quotes([bad], None),
        "history bad duration": lambda: md.get_historical_data(bad, "1 X", "1 hour"),
        "history bad bar": lambda: md.get_historical_data(bad, "1 D", "7 hours"),
        "history bad progress": lambda: md.get_historical_data(bad, "1 D", "1 hour", progress=5),
        "history bad timeout": lambda: md.get_historical_data(bad, "1 D", "1 hour", timeout=-1),
        "bars bad callback": lambda: md.subscribe_real_time_bars(bad, None),
        "bars bad what": lambda: md.subscribe_real_time_bars(bad, print, what_to_show=5),
        "ticks bad kind": lambda: md.subscribe_tick_by_tick(bad, "Nope", print),
        "ticks bad callback": lambda: md.subscribe_tick_by_tick(bad, "Last", None),
        "resolve bad timeout": lambda: contracts.resolve(bad, timeout=-1),
        "chain bad exchange": lambda: contracts.option_chain(bad, exchange=5),
        "chains bad exchange": lambda: contracts.option_chains(bad, fut_fop_exchange=5),
        "front_month bad exchange": lambda: contracts.front_month(bad, exchange=5),
    }


def test_several_bad_arguments_name_the_facades_first(served: Running, remote_factory: Any) -> None:
    remote = remote_factory(served, "a")
    assert_alike(_several_bad(served.pa), _several_bad(remote))


def _unsubscribing(pa: Any) -> dict[str, Any]:
    """Unsubscribe calls with a bad instrument and a bad kind or what_to_show (or a good one)."""
    md = pa.market_data
    out: dict[str, Any] = {}
    for i, symbol in enumerate(["AAPL", BAD_SPECS[0], 5, ""]):
        out[f"ticks bad kind #{i}"] = functools.partial(md.unsubscribe_tick_by_tick, symbol, "Nope")
        out[f"ticks #{i}"] = functools.partial(md.unsubscribe_tick_by_tick, symbol, "Last")
        out[f"bars bad what #{i}"] = functools.partial(md.unsubscribe_real_time_bars, symbol, None, 5)
        out[f"bars #{i}"] = functools.partial(md.unsubscribe_real_time_bars, symbol, None, "TRADES")
    return out


def test_unsubscribing_with_several_bad_arguments_names_the_facades_first(served: Running,
                                                                         remote_factory: Any) -> None:
    """(before: the remote checked the kind before the instrument, and took any what_to_show:
    ``unsubscribe_real_time_bars("AAPL", what_to_show=5)`` said "has no real_time_bars
    subscription" where the facade says what_to_show must be one of ASK, BID, MIDPOINT, TRADES)"""
    remote = remote_factory(served, "a")
    assert_alike(_unsubscribing(served.pa), _unsubscribing(remote), refused=True)


D = Decimal
BAD_NUMBERS = [D("NaN"), D("sNaN"), D("-Infinity"), D("-1"), D("0"), "100", "100.25"]  # the texts: no price


def _decimal_calls(pa: Any) -> dict[str, Any]:
    """Calls with Decimal prices and quantities (and texts where a price belongs)."""
    o = pa.orders
    aapl = {"symbol": "AAPL", "action": "BUY", "order_type": "LMT"}
    good = {**aapl, "quantity": D(1), "limit_price": D(100)}
    calls: dict[str, Any] = {
        "place": lambda: o.place_order("AAPL", "BUY", D("10"), "LMT", limit_price=D("100.25")),
        "place stop limit": lambda: o.place_order("AAPL", "BUY", D("2"), "STP LMT", limit_price=D("251.5"),
                                                  stop_price=D("250")),
        "place text quantity": lambda: o.place_order("AAPL", "BUY", "10", "LMT", limit_price=D("100.25")),
        "and_wait": lambda: o.place_order_and_wait("AAPL", "BUY", D("3"), "LMT", wait_for="Submitted",
                                                   limit_price=D("100.5")),
        "preview": lambda: o.preview_order("AAPL", "BUY", D("10"), "LMT", limit_price=D("100.25")),
        "bracket": lambda: o.place_bracket_order("AAPL", "BUY", D("5"), D("150"), D("195.5"), D("140.25")),
        "oca": lambda: o.place_oca_group([{**aapl, "quantity": D("3"), "limit_price": D("100.5")},
                                          {**aapl, "symbol": "MSFT", "quantity": D(4), "limit_price": D("100")}]),
    }
    calls |= {  # where the facade takes no Decimal (a timeout, a market data type), refused as there
        "resolve timeout": lambda: pa.contracts.resolve("AAPL", timeout=D(5)),
        "history timeout": lambda: pa.market_data.get_historical_data("AAPL", "1 D", "1 hour", timeout=D(5)),
        "and_wait timeout": lambda: o.place_order_and_wait("AAPL", "BUY", 1, "LMT", timeout=D(5), limit_price=D(1)),
        "market data type": lambda: pa.market_data.set_market_data_type(D(3)),
    }
    for bad in BAD_NUMBERS:
        calls |= {
            f"place limit_price={bad!r}": functools.partial(o.place_order, "AAPL", "BUY", D(1), "LMT",
                                                            limit_price=bad),
            f"place stop_price={bad!r}": functools.partial(o.place_order, "AAPL", "BUY", D(1), "STP", stop_price=bad),
            f"and_wait limit_price={bad!r}": functools.partial(o.place_order_and_wait, "AAPL", "BUY", 1, "LMT",
                                                               limit_price=bad),
            f"preview limit_price={bad!r}": functools.partial(o.preview_order, "AAPL", "BUY", 1, "LMT",
                                                              limit_price=bad),
            f"bracket take_profit={bad!r}": functools.partial(o.place_bracket_order, "AAPL", "BUY", 1, D(150), bad,
                                                              D(140)),
            f"bracket limit={bad!r}": functools.partial(o.place_bracket_order, "AAPL", "BUY", 1, bad, D(195), D(140)),
            f"oca limit_price={bad!r}": functools.partial(o.place_oca_group, [good, {**aapl, "quantity": 1,
                                                                                      "limit_price": bad}]),
        }
        if isinstance(bad, Decimal):  # a decimal text is a quantity (the facade's rule): only Decimals here
            calls |= {
                f"place quantity={bad!r}": functools.partial(o.place_order, "AAPL", "BUY", bad, "LMT",
                                                             limit_price=D(100)),
                f"bracket quantity={bad!r}": functools.partial(o.place_bracket_order, "AAPL", "BUY", bad, D(150),
                                                               D(195), D(140)),
                f"oca quantity={bad!r}": functools.partial(o.place_oca_group, [good, {**aapl, "quantity": bad,
                                                                                      "limit_price": D(100)}]),
            }
    return calls


def _modify_calls(pa: Any, order_id: int) -> dict[str, Any]:
    calls = {}
    for bad in BAD_NUMBERS:
        calls[f"modify limit_price={bad!r}"] = functools.partial(pa.orders.modify_order, order_id, limit_price=bad)
        if isinstance(bad, Decimal):
            calls[f"modify quantity={bad!r}"] = functools.partial(pa.orders.modify_order, order_id, quantity=bad)
    calls |= {"modify order_id=Decimal": lambda: pa.orders.modify_order(D(7), limit_price=D(100)),
              "cancel order_id=Decimal": lambda: pa.orders.cancel_order(D(7)),
              "get_order order_id=Decimal": lambda: pa.orders.get_order(D(7)),
              "status order_id=Decimal": lambda: pa.orders.get_order_status(D(7)),
              "wait order_id=Decimal": lambda: pa.orders.wait_for_status(D(7), timeout=0),
              "wait timeout=Decimal": lambda: pa.orders.wait_for_status(order_id, "Filled", timeout=D(0))}
    calls["modify"] = lambda: pa.orders.modify_order(order_id, quantity=D("12"), limit_price=D("101.25"))
    return calls


def _placed(served: Running, result: Any) -> list[tuple[Any, ...]]:
    """The orders a call placed (or previewed), as the service's facade holds them (ids left out)."""
    if isinstance(result, OrderPreview):
        requests = [result.request]
    else:
        ids = result.order_ids if isinstance(result, BracketOrder | OcaGroup) else (
            [result.order_id] if isinstance(result, OrderStatus) else [result])
        requests = [served.pa.orders.get_order(i).request for i in ids]
    return [(r.contract, r.action, str(r.quantity), r.order_type, r.limit_price, r.stop_price, r.tif)
            for r in requests]


def _run(served: Running, call: Any) -> tuple[Any, ...]:
    """What a call gives: the error (class, field, text, the refused value), or what it placed."""
    try:
        result = call()
    except Exception as exc:  # noqa: BLE001 - compared, facade against remote
        value = getattr(exc, "value", None)  # (a list comes back a tuple: not compared here)
        return type(exc).__name__, getattr(exc, "field", None), str(exc), repr(value) if isinstance(
            value, Decimal | str | int | float | None) else "?"
    return "returned", _placed(served, result) if isinstance(result, int | OrderPreview | OrderStatus | BracketOrder
                                                             | OcaGroup) and not isinstance(result, bool) else result


def test_decimal_prices_and_quantities_work_remotely_as_on_the_facade(served: Running,
                                                                      remote_factory: Any) -> None:
    """A Decimal price or quantity reaches the service's facade as a Decimal, a text as a text:
    good ones place the same orders, bad ones (NaN, negative, a text price) get the facade's error
    (before: the service got the Decimal's text, and the facade refused every Decimal price,
    ``must be a number``)."""
    remote = remote_factory(served, "a")
    facade, far = _decimal_calls(served.pa), _decimal_calls(remote)
    assert_alike(facade, far, functools.partial(_run, served))
    assert _run(served, facade["place"])[0] == "returned" and _run(served, facade["place limit_price='100'"]) == (
        "ValidationError", "limit_price", "invalid limit_price='100': must be a number", "'100'")
    assert _run(served, facade["place limit_price=Decimal('NaN')"])[2].endswith("must be finite")
    assert _run(served, far["oca quantity=Decimal('-1')"])[1:] == (  # the second order's Decimal is judged
        "orders[1].quantity", "invalid orders[1].quantity=Decimal('-1'): must be positive", "Decimal('-1')")
    assert {_run(served, facade[name])[0] for name in ("resolve timeout", "history timeout", "and_wait timeout",
                                                       "market data type")} == {"ValidationError"}

    own, theirs = (served.pa.orders.place_order("AAPL", "BUY", 10, "LMT", limit_price=100.0),
                   remote.orders.place_order("AAPL", "BUY", 10, "LMT", limit_price=100.0))
    for order_id in (own, theirs):
        served.pa.orders.wait_for_status(order_id, ("Submitted", "PreSubmitted"), timeout=5)
    assert_alike(_modify_calls(served.pa, own), _modify_calls(remote, theirs), functools.partial(_run, served))
    wait_for(lambda: _placed(served, own)[0][2] == _placed(served, theirs)[0][2] == "12")
    assert _placed(served, own) == _placed(served, theirs) and _placed(served, theirs)[0][3:5] == (OrderType.LIMIT,
                                                                                                  101.25)


@pytest.fixture
def old_service(monkeypatch: pytest.MonkeyPatch) -> None:
    """The service as it was before the Decimal extension: its unpacker leaves an extension an
    ``ExtType`` and its ``hello`` lists no extensions."""
    monkeypatch.setattr(protocol, "unpack", lambda data: msgpack.unpackb(data, raw=False, timestamp=3,
                                                                         strict_map_key=False))
    hello = Service._INLINE["hello"]

    def old_hello(service: Service, request: Any) -> dict[str, Any]:
        reply: dict[str, Any] = hello(service, request)
        del reply["extensions"]
        return reply
    monkeypatch.setitem(Service._INLINE, "hello", old_hello)


def test_an_older_service_gets_decimals_as_text_as_before(served: Running, remote_factory: Any,
                                                          old_service: None) -> None:
    """A service whose ``hello`` lists no extensions gets a client's Decimals as text, as before
    the extension: a Decimal quantity works, a Decimal price is refused (the facade takes no text
    price). The hello of this one lists extension 1 (the client then sends it)."""
    a = remote_factory(served, "a")
    order_id = a.orders.place_order("AAPL", "BUY", D("2"), "LMT", limit_price=100.25)
    assert served.pa.orders.get_order(order_id).request.quantity == 2
    with pytest.raises(ValidationError) as info:
        a.orders.place_order("AAPL", "BUY", 1, "LMT", limit_price=D("100.25"))
    assert str(info.value) == "invalid limit_price='100.25': must be a number"
    assert not a.transport.decimal_ext


def test_an_older_service_refuses_the_decimal_extension_with_a_typed_error(served: Running, remote_factory: Any,
                                                                          old_service: None) -> None:
    """A client that sends extension 1 to a service that does not read it (a module in another
    language that skipped the hello's list): the service's facade refuses the ``ExtType`` as it
    would any odd value (a ValidationError naming the argument), nothing is placed, and the
    service goes on serving."""
    a = remote_factory(served, "a")
    a.transport.decimal_ext = True
    before = len(served.pa.state.trades_snapshot())
    for call, field in [(lambda: a.orders.place_order("AAPL", "BUY", 1, "LMT", limit_price=D("100.25")),
                         "limit_price"),
                        (lambda: a.orders.place_order("AAPL", "BUY", D(1), "LMT", limit_price=100.25), "quantity"),
                        (lambda: a.orders.preview_order("AAPL", "BUY", D(1), "MKT"), "quantity")]:
        with pytest.raises(ValidationError) as info:
            call()
        assert info.value.field == field and "ExtType(code=1" in str(info.value)
    assert len(served.pa.state.trades_snapshot()) == before
    assert a.orders.place_order("AAPL", "BUY", 1, "LMT", limit_price=100.25) > 0


def test_the_decimal_extension_goes_back_only_to_a_client_that_reads_it(served: Running,
                                                                        remote_factory: Any) -> None:
    """The hello's reply lists extension 1; an error reply carries a refused Decimal as the
    extension to a client whose hello listed it (RemoteAdapter: ``exc.value`` is the facade's
    Decimal), as text to any other (a client of an older version, a module in another language)."""
    raw = RawClient(served.service.commands_endpoint)
    args = {"symbol": "AAPL", "action": "BUY", "quantity": 1, "order_type": "LMT",
            "kwargs": {"limit_price": msgpack.ExtType(1, b"NaN")}}
    try:
        assert raw.hello("raw")["extensions"] == [1]
        error = raw.call("orders.place_order", args)["error"]
        assert error["attributes"]["value"] == "NaN" and error["message"] == (
            "invalid limit_price=Decimal('NaN'): must be finite")
    finally:
        raw.close()
    a = remote_factory(served, "a")
    assert a.transport.decimal_ext
    with pytest.raises(ValidationError) as info:
        a.orders.place_order("AAPL", "BUY", 1, "LMT", limit_price=D("NaN"))
    assert type(info.value.value) is Decimal and info.value.value.is_nan()
