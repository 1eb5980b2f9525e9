"""Bad-input matrix: invalid arguments across the public API and the configuration, each answered
by a typed error that names the problem, before any order or market-data message reaches the
simulator."""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from platform_adapter import (
    ConfigError,
    ContractNotFound,
    ContractSpec,
    OrderState,
    OrderStateError,
    PlatformAdapter,
    PlatformAdapterError,
    ValidationError,
)
from platform_adapter.config.settings import load_settings
from platform_adapter.sim import SimulatedGateway
from tests.conftest import LOOPBACK, wait_for
from tests.resilience.conftest import adapter_settings, received

WATCHED = ("placeOrder", "cancelOrder", "reqGlobalCancel", "reqMktData", "cancelMktData", "reqHistoricalData",
           "reqRealTimeBars", "reqTickByTickData", "reqMarketDataType")
LOOKUPS = ("reqContractDetails", "reqSecDefOptParams")  # also watched where no contract is looked up
NAN, INF = math.nan, math.inf


def noop(*_: Any) -> None:
    pass


def place(symbol: Any = "AAPL", action: Any = "BUY", qty: Any = 10, otype: Any = "LMT",
          **kw: Any) -> Callable[..., Any]:
    if otype in ("LMT", "STP LMT") and "limit_price" not in kw:
        kw["limit_price"] = 100.0
    return lambda pa: pa.orders.place_order(symbol, action, qty, otype, **kw)


def history(duration: Any = "1 D", bar_size: Any = "1 hour", **kw: Any) -> Callable[..., Any]:
    return lambda pa: pa.market_data.get_historical_data("AAPL", duration, bar_size, **kw)


API_CASES: list[tuple[str, Callable[..., Any], type[Exception], str]] = [
    # quantities
    ("qty_text", place(qty="ten"), ValidationError, "quantity"),
    ("qty_zero", place(qty=0), ValidationError, "quantity"),
    ("qty_negative", place(qty=-5), ValidationError, "quantity"),
    ("qty_nan", place(qty=NAN), ValidationError, "quantity"),
    ("qty_infinite", place(qty=INF), ValidationError, "quantity"),
    ("qty_none", place(qty=None), ValidationError, "quantity"),
    ("qty_bool", place(qty=True), ValidationError, "quantity"),
    ("qty_fraction_on_stock", place(qty=1.5), ValidationError, "quantity"),
    # prices
    ("limit_nan", place(limit_price=NAN), ValidationError, "limit_price"),
    ("limit_infinite", place(limit_price=INF), ValidationError, "limit_price"),
    ("limit_negative", place(limit_price=-1.0), ValidationError, "limit_price"),
    ("limit_zero", place(limit_price=0), ValidationError, "limit_price"),
    ("limit_text", place(limit_price="abc"), ValidationError, "limit_price"),
    ("limit_missing", place(otype="LMT", limit_price=None), ValidationError, "limit_price"),
    ("price_on_mkt", place(otype="MKT", limit_price=100.0), ValidationError, "limit_price"),
    ("stop_on_lmt", place(stop_price=90.0), ValidationError, "stop_price"),
    ("stop_missing", place(otype="STP"), ValidationError, "stop_price"),
    ("stop_nan", place(otype="STP", stop_price=NAN), ValidationError, "stop_price"),
    ("limit_off_tick", place(limit_price=100.001), ValidationError, "limit_price"),
    # symbols
    ("symbol_empty", place(symbol=""), ValidationError, "symbol"),
    ("symbol_blank", place(symbol="   "), ValidationError, "symbol"),
    ("symbol_overlong", place(symbol="A" * 21), ValidationError, "symbol"),
    ("symbol_int", place(symbol=123), ValidationError, "symbol"),
    ("symbol_none", place(symbol=None), ValidationError, "symbol"),
    ("symbol_bad_chars", place(symbol="AA$PL"), ValidationError, "symbol"),
    ("symbol_unknown", place(symbol="ZZZZQ"), ContractNotFound, "200"),
    # order type, action, tif, keywords
    ("order_type_unknown", place(otype="FOO"), ValidationError, "order_type"),
    ("order_type_empty", place(otype=""), ValidationError, "order_type"),
    ("order_type_int", place(otype=5), ValidationError, "order_type"),
    ("action_unknown", place(action="HOLD"), ValidationError, "action"),
    ("action_none", place(action=None), ValidationError, "action"),
    ("tif_unknown", place(tif="FOREVER"), ValidationError, "tif"),
    ("tif_int", place(tif=1), ValidationError, "tif"),
    ("kwarg_typo", place(otype="MKT", limit=100.0), ValidationError, "limit"),
    ("outside_rth_text", place(outside_rth="yes"), ValidationError, "outside_rth"),
    ("order_ref_overlong", place(order_ref="x" * 41), ValidationError, "order_ref"),
    ("account_unknown", place(account="U9999999"), ValidationError, "account"),
    # modify / cancel / status
    ("modify_kwarg_typo", lambda pa: pa.orders.modify_order(1, price=101.0), ValidationError, "price"),
    ("modify_nothing", lambda pa: pa.orders.modify_order(1), ValidationError, "nothing to modify"),
    ("modify_unknown_order", lambda pa: pa.orders.modify_order(987654, limit_price=1.0), OrderStateError, "987654"),
    ("cancel_id_text", lambda pa: pa.orders.cancel_order("1"), ValidationError, "order_id"),
    ("cancel_id_negative", lambda pa: pa.orders.cancel_order(-3), ValidationError, "order_id"),
    ("cancel_unknown_order", lambda pa: pa.orders.cancel_order(987654), OrderStateError, "unknown order"),
    ("status_id_zero", lambda pa: pa.orders.get_order_status(0), ValidationError, "order_id"),
    ("wait_bad_status", lambda pa: pa.orders.wait_for_status(1, "Sleeping"), ValidationError, "statuses"),
    ("on_fill_not_callable", lambda pa: pa.orders.on_fill("print"), ValidationError, "callback"),
    # market data
    ("quotes_callback_not_callable", lambda pa: pa.market_data.subscribe_quotes("AAPL", "cb"), ValidationError,
     "callback"),
    ("quotes_no_symbols", lambda pa: pa.market_data.subscribe_quotes([], noop), ValidationError, "symbols"),
    ("quotes_one_bad_symbol", lambda pa: pa.market_data.subscribe_quotes(["AAPL", ""], noop), ValidationError,
     "symbol"),
    ("quotes_symbols_dict", lambda pa: pa.market_data.subscribe_quotes({"AAPL": 1}, noop), ValidationError,
     "symbols"),
    ("quotes_unknown_symbol", lambda pa: pa.market_data.subscribe_quotes(["AAPL", "ZZZZQ"], noop), ContractNotFound,
     "200"),
    ("tbt_kind_unknown", lambda pa: pa.market_data.subscribe_tick_by_tick("AAPL", "Everything", noop),
     ValidationError, "kind"),
    ("bars_what_to_show", lambda pa: pa.market_data.subscribe_real_time_bars("AAPL", noop, what_to_show="FOO"),
     ValidationError, "what_to_show"),
    ("bars_use_rth_text", lambda pa: pa.market_data.subscribe_real_time_bars("AAPL", noop, use_rth="yes"),
     ValidationError, "use_rth"),
    ("md_type_unknown", lambda pa: pa.market_data.set_market_data_type("superfast"), ValidationError,
     "market_data_type"),
    ("md_type_out_of_range", lambda pa: pa.market_data.set_market_data_type(7), ValidationError, "market_data_type"),
    ("quote_not_subscribed", lambda pa: pa.market_data.get_quote("MSFT"), ValidationError, "subscribe"),
    ("unsubscribe_not_subscribed", lambda pa: pa.market_data.unsubscribe_real_time_bars("MSFT"), ValidationError,
     "symbol"),
    # historical
    ("duration_unit", history(duration="1 DAY"), ValidationError, "duration"),
    ("duration_negative", history(duration="-1 D"), ValidationError, "duration"),
    ("duration_empty", history(duration=""), ValidationError, "duration"),
    ("duration_int", history(duration=5), ValidationError, "duration"),
    ("duration_zero", history(duration="0 D"), ValidationError, "duration"),
    ("bar_size_unknown", history(bar_size="7 hours"), ValidationError, "bar_size"),
    ("bar_size_empty", history(bar_size=""), ValidationError, "bar_size"),
    ("what_to_show_unknown", history(what_to_show="PRICES"), ValidationError, "what_to_show"),
    ("end_naive", history(end=datetime(2024, 1, 2, 16, 0)), ValidationError, "end"),
    ("end_text", history(end="yesterday"), ValidationError, "end"),
    ("use_rth_text", history(use_rth="yes"), ValidationError, "use_rth"),
    ("timeout_negative", history(timeout=-1), ValidationError, "timeout"),
    ("max_chunk_smaller_than_bar", history(bar_size="1 day", max_chunk="60 S"), ValidationError, "max_chunk"),
]

# numbers past what a double holds, signalling NaNs, sub-tick prices, spec fields of the wrong type,
# non-iterable statuses, timeouts: each was a bare TypeError/ValueError/OverflowError, or reached the
# gateway (a quantity of 10**400 crashed its session, and every reconnect replayed the order)
HOSTILE_CASES: list[tuple[str, Callable[..., Any], type[Exception], str]] = [
    ("qty_beyond_exact_doubles", place(action="SELL", qty=10**30), ValidationError, "quantity"),
    ("qty_past_float_range", place(action="SELL", qty=10**400), ValidationError, "quantity"),
    ("qty_float_huge", place(action="SELL", qty=1e300), ValidationError, "quantity"),
    ("limit_past_float_range", place(limit_price=10**400), ValidationError, "limit_price"),
    ("limit_signalling_nan", place(limit_price=Decimal("sNaN")), ValidationError, "limit_price"),
    ("limit_below_half_a_tick", place(action="SELL", limit_price=1e-300), ValidationError, "limit_price"),
    ("trail_amount_below_half_a_tick", place(action="SELL", otype="TRAIL", trailing_amount=1e-300),
     ValidationError, "trailing_amount"),
    ("trail_offset_past_float_range", place(otype="TRAIL LIMIT", trailing_amount=1.0, limit_offset=10**400),
     ValidationError, "limit_offset"),
    ("trail_offset_signalling_nan", place(otype="TRAIL LIMIT", trailing_amount=1.0, limit_offset=Decimal("sNaN")),
     ValidationError, "limit_offset"),
    ("bracket_take_profit_signalling_nan", lambda pa: pa.orders.place_bracket_order(
        "AAPL", "BUY", 1, 100.0, Decimal("sNaN"), 90.0), ValidationError, "take_profit_price"),
    ("preview_qty_past_float_range", lambda pa: pa.orders.preview_order("AAPL", "SELL", 10**400, "MKT"),
     ValidationError, "quantity"),
    ("wait_statuses_number", lambda pa: pa.orders.wait_for_status(1, 1.5), ValidationError, "statuses"),
    ("place_and_wait_statuses_number", lambda pa: pa.orders.place_order_and_wait("AAPL", "BUY", 1, "MKT", wait_for=0),
     ValidationError, "statuses"),
    ("history_duration_huge", history(duration="99999999999999999999 D", bar_size="1 day"), ValidationError,
     "duration"),
    ("history_end_year_one", history(end=datetime(1, 1, 1, 5, tzinfo=timezone.utc)), ValidationError, "end"),
    ("history_timeout_nan", history(timeout=NAN), ValidationError, "timeout"),
    ("spec_currency_int", place(symbol=ContractSpec("AAPL", currency=123)), ValidationError,  # type: ignore[arg-type]
     "symbol.currency"),
    ("spec_con_id_text", lambda pa: pa.market_data.subscribe_quotes(ContractSpec("AAPL", con_id="1"), noop),  # type: ignore[arg-type]
     ValidationError, "symbols.con_id"),
    ("spec_con_id_huge", lambda pa: pa.market_data.subscribe_real_time_bars(ContractSpec("AAPL", con_id=10**30), noop),
     ValidationError, "symbol.con_id"),
    ("spec_expiry_int", lambda pa: pa.market_data.get_quote(ContractSpec.option("AAPL", 20270115, 190.0, "C")),  # type: ignore[arg-type]
     ValidationError, "symbol.last_trade_date"),
    ("spec_exchange_none", lambda pa: pa.market_data.get_historical_data(
        ContractSpec("AAPL", exchange=None), "1 D", "1 hour"), ValidationError, "symbol.exchange"),  # type: ignore[arg-type]
    ("spec_strike_infinite", lambda pa: pa.contracts.resolve(ContractSpec.option("AAPL", "20270115", INF, "C")),
     ValidationError, "symbol.strike"),
    ("resolve_timeout_text", lambda pa: pa.contracts.resolve("IBM", timeout="5"), ValidationError, "timeout"),
    ("resolve_timeout_nan", lambda pa: pa.contracts.resolve("IBM", timeout=NAN), ValidationError, "timeout"),
    ("front_month_exchange_none", lambda pa: pa.contracts.front_month("ES", exchange=None), ValidationError,
     "exchange"),
    ("front_month_currency_int", lambda pa: pa.contracts.front_month("ES", currency=840), ValidationError,
     "currency"),
    ("front_month_timeout_negative", lambda pa: pa.contracts.front_month("ES", timeout=-1), ValidationError,
     "timeout"),
    ("option_chains_exchange_int", lambda pa: pa.contracts.option_chains("AAPL", fut_fop_exchange=5),
     ValidationError, "fut_fop_exchange"),
    ("option_chain_exchange_none", lambda pa: pa.contracts.option_chain("AAPL", exchange=None), ValidationError,
     "exchange"),
    ("health_timeout_text", lambda pa: pa.connection.check_health("5"), ValidationError, "timeout"),
    ("round_trip_timeout_nan", lambda pa: pa.connection.round_trip(NAN), ValidationError, "timeout"),
    ("connect_client_id_text", lambda pa: pa.connect(client_id="7"), ValidationError, "client_id"),
]

CONFIG_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("port_zero", {"ib_connection.port": 0}, "ib_connection.port"),
    ("port_too_big", {"ib_connection.port": 70000}, "ib_connection.port"),
    ("port_text", {"ib_connection.port": "abc"}, "ib_connection.port"),
    ("port_bool", {"ib_connection.port": True}, "ib_connection.port"),
    ("host_empty", {"ib_connection.host": ""}, "ib_connection.host"),
    ("host_with_space", {"ib_connection.host": "bad host"}, "ib_connection.host"),
    ("client_id_negative", {"ib_connection.client_id": -1}, "ib_connection.client_id"),
    ("timeout_zero", {"ib_connection.timeout": 0}, "ib_connection.timeout"),
    ("timeout_nan", {"ib_connection.timeout": NAN}, "ib_connection.timeout"),
    ("unknown_key", {"ib_connection.prot": 4002}, "ib_connection.prot"),
    ("unknown_section", {"ordres.default_time_in_force": "DAY"}, "ordres"),
    ("rate_above_ib", {"market_data.rate_limit_requests_per_second": 51}, "rate_limit_requests_per_second"),
    ("historical_above_ib", {"market_data.historical_data_max_requests_per_10min": 61},
     "historical_data_max_requests_per_10min"),
    ("lines_zero", {"market_data.max_simultaneous_subscriptions": 0}, "max_simultaneous_subscriptions"),
    ("default_tif", {"orders.default_time_in_force": "FOREVER"}, "default_time_in_force"),
    ("md_type", {"market_data.market_data_type": "fast"}, "market_data_type"),
    ("log_level", {"logging.level": "LOUD"}, "logging.level"),
    ("environment", {"environment": "prod"}, "environment"),
    ("health_interval_negative", {"monitoring.health_check_interval_seconds": -5}, "health_check_interval_seconds"),
    ("max_order_quantity_zero", {"orders.max_order_quantity": 0}, "max_order_quantity"),
]


@pytest.fixture(scope="module")
def gw() -> Iterator[SimulatedGateway]:
    gateway = SimulatedGateway(host=LOOPBACK, port=0, seed=7, tick_interval=0.05).start()
    yield gateway
    gateway.stop()


@pytest.fixture(scope="module")
def pa(gw: SimulatedGateway, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformAdapter]:
    adapter = PlatformAdapter(settings=adapter_settings(tmp_path_factory.mktemp("bad"), gw.port, 1),
                              configure_logging=False)
    assert adapter.connect(), adapter.connection.last_error
    adapter.market_data.subscribe_quotes("AAPL", noop)
    wait_for(lambda: received(gw, "reqMktData")["reqMktData"] >= 1)  # counted before the first "before"
    yield adapter
    adapter.disconnect()


def test_matrix_is_large_enough() -> None:
    assert len(API_CASES) + len(CONFIG_CASES) >= 40


@pytest.mark.parametrize("call, error, fragment", [c[1:] for c in API_CASES], ids=[c[0] for c in API_CASES])
def test_bad_api_input(pa: PlatformAdapter, gw: SimulatedGateway, call: Callable[[PlatformAdapter], Any],
                       error: type[Exception], fragment: str) -> None:
    before = received(gw, *WATCHED)
    with pytest.raises(error) as info:
        call(pa)
    assert isinstance(info.value, PlatformAdapterError)
    assert fragment in str(info.value), f"{type(info.value).__name__}: {info.value}"
    if isinstance(info.value, ValidationError):
        assert fragment in info.value.field or fragment in info.value.reason
    assert received(gw, *WATCHED) == before, "nothing sent to the gateway"
    assert pa.is_connected()


@pytest.mark.parametrize("call, error, fragment", [c[1:] for c in HOSTILE_CASES], ids=[c[0] for c in HOSTILE_CASES])
def test_hostile_api_input(pa: PlatformAdapter, gw: SimulatedGateway, call: Callable[[PlatformAdapter], Any],
                           error: type[Exception], fragment: str) -> None:
    """As ``test_bad_api_input``, and no contract is looked up either."""
    before = received(gw, *WATCHED, *LOOKUPS)
    with pytest.raises(error) as info:
        call(pa)
    assert isinstance(info.value, ValidationError), f"{type(info.value).__name__}: {info.value}"
    assert fragment in info.value.field or fragment in info.value.reason, info.value
    assert received(gw, *WATCHED, *LOOKUPS) == before, "nothing sent to the gateway"
    assert pa.is_connected() and pa.connection.reconnect_count == 0


def test_a_wait_longer_than_a_lock_takes_waits_for_the_status(pa: PlatformAdapter) -> None:
    """``timeout=1e30`` was checked, then overflowed the lock's wait (OverflowError) with the
    order already placed; it now waits for the status like any long timeout."""
    order_id = pa.orders.place_order("AAPL", "BUY", 1, "LMT", limit_price=1.0)
    pa.orders.wait_for_status(order_id, "Submitted", timeout=10)
    outcome: list[Any] = []
    waiter = threading.Thread(target=lambda: outcome.append(_status_or_error(pa, order_id)), daemon=True)
    waiter.start()
    wait_for(lambda: pa.orders._status_waiters == 1)  # waiting in the lock's wait
    pa.orders.cancel_order(order_id)
    waiter.join(10)
    assert [getattr(o, "status", o) for o in outcome] == [OrderState.CANCELLED]


@pytest.mark.parametrize("kwargs, field", [
    ({"client_id": 1.5}, "client_id"), ({"client_id": True}, "client_id"), ({"client_id": -1}, "client_id"),
    ({"client_id": 10**30}, "client_id"), ({"port": 10**30}, "port"), ({"port": "4002"}, "port"),
    ({"host": 127}, "host"), ({"host": "bad host"}, "host"),
], ids=lambda v: repr(v) if not isinstance(v, str) else v)
def test_bad_connect_arguments_open_nothing_and_are_not_kept(gw: SimulatedGateway, tmp_path: Path,
                                                             kwargs: dict[str, Any], field: str) -> None:
    """A bad client id was a TypeError from ibapi's encoder with the socket open, and stayed the
    client id of every reconnect; a huge port an OverflowError from getaddrinfo."""
    adapter = PlatformAdapter(settings=adapter_settings(tmp_path, gw.port, 5), configure_logging=False)
    connections = gw.stats().connections
    try:
        with pytest.raises(ValidationError) as info:
            adapter.connect(**kwargs)
        assert info.value.field == field
        assert gw.stats().connections == connections and not adapter.is_connected()
        assert adapter.connect() and adapter.connection.client_id == 5  # the configured one, not the bad one
    finally:
        adapter.disconnect()


def _status_or_error(pa: PlatformAdapter, order_id: int) -> Any:
    try:
        return pa.orders.wait_for_status(order_id, "Cancelled", timeout=10**30)
    except Exception as exc:  # reported to the test
        return exc


@pytest.mark.parametrize("overrides, key", [c[1:] for c in CONFIG_CASES], ids=[c[0] for c in CONFIG_CASES])
def test_bad_config(tmp_path: Path, overrides: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(None, env_file=os.devnull, overrides=overrides, use_environ=False)
    assert key in info.value.key, info.value


def test_unknown_constructor_keyword_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="clientid"):
        PlatformAdapter(config_path=None, env_file=os.devnull, configure_logging=False, clientid=7)
