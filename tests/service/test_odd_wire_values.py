"""Odd wire values reach the facade through the service: an argument the facade validates itself
gets whatever msgpack value a client sent (a map or an array where a text belongs, bytes, a
negative number, an unprintable text), and the reply is the facade's own ValidationError for it
(same field and text as calling the facade with that value), never an ``internal`` error from a
TypeError or AttributeError on the way. A ContractSpec map's fields are the facade's to judge too."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from platform_adapter.models.contract import ContractSpec, SecType
from tests.service.conftest import Running
from tests.service.raw_client import RawClient
from tests.service.test_remote_parity import _outcome, assert_alike

ODD: list[Any] = [{"a": 1}, [1, "x"], b"\x00", -7.5, -3, "\x01bad"]
Facade = Callable[[Any, dict[str, Any]], Any]

_PLACE = {"symbol": "AAPL", "action": "BUY", "quantity": 1, "order_type": "LMT", "kwargs": {"limit_price": 100.0}}


def _place(method: str) -> Facade:
    return lambda pa, a: getattr(pa.orders, method)(a["symbol"], a["action"], a["quantity"], a["order_type"],
                                                    **a["kwargs"])


# command -> (good wire arguments, the facade's call with them)
CASES: dict[str, tuple[dict[str, Any], Facade]] = {
    "market_data.subscribe_quotes": ({"symbols": ["AAPL"]},
                                     lambda pa, a: pa.market_data.subscribe_quotes(a["symbols"], print)),
    "market_data.subscribe_real_time_bars": (
        {"symbol": "AAPL", "what_to_show": "TRADES", "use_rth": False},
        lambda pa, a: pa.market_data.subscribe_real_time_bars(a["symbol"], print, a["what_to_show"], a["use_rth"])),
    "market_data.subscribe_tick_by_tick": (
        {"symbol": "AAPL", "kind": "Last"},
        lambda pa, a: pa.market_data.subscribe_tick_by_tick(a["symbol"], a["kind"], print)),
    "market_data.get_quote": ({"symbol": "AAPL"}, lambda pa, a: pa.market_data.get_quote(a["symbol"])),
    "market_data.get_historical_data": (
        {"symbol": "AAPL", "duration": "1 D", "bar_size": "1 hour", "what_to_show": "TRADES", "use_rth": True,
         "end": None, "max_chunk": None, "timeout": None},
        lambda pa, a: pa.market_data.get_historical_data(a["symbol"], a["duration"], a["bar_size"], a["what_to_show"],
                                                         a["use_rth"], a["end"], max_chunk=a["max_chunk"],
                                                         timeout=a["timeout"])),
    "market_data.set_market_data_type": ({"value": 1}, lambda pa, a: pa.market_data.set_market_data_type(a["value"])),
    "orders.place_order": (_PLACE, _place("place_order")),
    "orders.preview_order": (_PLACE, _place("preview_order")),
    "orders.place_order_and_wait": (
        {**_PLACE, "timeout": 5.0},
        lambda pa, a: pa.orders.place_order_and_wait(a["symbol"], a["action"], a["quantity"], a["order_type"],
                                                     timeout=a["timeout"], **a["kwargs"])),
    "orders.place_bracket_order": (
        {"symbol": "AAPL", "action": "BUY", "quantity": 1, "limit_price": 100.0, "take_profit_price": 110.0,
         "stop_loss_price": 90.0, "kwargs": {}},
        lambda pa, a: pa.orders.place_bracket_order(a["symbol"], a["action"], a["quantity"], a["limit_price"],
                                                    a["take_profit_price"], a["stop_loss_price"], **a["kwargs"])),
    "orders.place_oca_group": (
        {"orders": [{"symbol": "AAPL", "action": "BUY", "quantity": 1, "order_type": "LMT", "limit_price": 100.0},
                    {"symbol": "AAPL", "action": "SELL", "quantity": 1, "order_type": "LMT", "limit_price": 200.0}],
         "oca_type": 1},
        lambda pa, a: pa.orders.place_oca_group(a["orders"], oca_type=a["oca_type"])),
    "contracts.resolve": ({"symbol": "AAPL", "timeout": 5.0},
                          lambda pa, a: pa.contracts.resolve(a["symbol"], a["timeout"])),
    "contracts.cached": ({"symbol": "AAPL"}, lambda pa, a: pa.contracts.cached(a["symbol"])),
    "contracts.front_month": (
        {"symbol": "ES", "exchange": "CME", "currency": "USD", "timeout": 5.0},
        lambda pa, a: pa.contracts.front_month(a["symbol"], a["exchange"], a["currency"], a["timeout"])),
    "contracts.option_chains": (
        {"underlying": "AAPL", "fut_fop_exchange": "", "timeout": 5.0},
        lambda pa, a: pa.contracts.option_chains(a["underlying"], a["fut_fop_exchange"], a["timeout"])),
    "contracts.option_chain": (
        {"underlying": "AAPL", "exchange": "SMART", "timeout": 5.0},
        lambda pa, a: pa.contracts.option_chain(a["underlying"], a["exchange"], a["timeout"])),
}
_INSTRUMENTS = {"symbol", "symbols", "underlying"}  # a map there is a ContractSpec map (below)


def _variants() -> list[tuple[str, str, dict[str, Any], Facade]]:
    """(case name, command, wire arguments with one odd value, facade call)."""
    out = []
    for cmd, (good, facade) in CASES.items():
        names = [n for n in good if n != "kwargs"]
        if "kwargs" in good:
            names += [f"kwargs.{k}" for k in ("tif", "outside_rth", *good["kwargs"])]
        for name in names:
            for i, odd in enumerate(ODD):
                if name in _INSTRUMENTS and isinstance(odd, dict):
                    continue
                args = {**good, "kwargs": dict(good["kwargs"])} if "kwargs" in good else dict(good)
                if name.startswith("kwargs."):
                    args["kwargs"][name.split(".", 1)[1]] = odd
                else:
                    args[name] = odd
                out.append((f"{cmd} {name} #{i}", cmd, args, facade))
    return out


def test_each_odd_value_gets_the_facades_own_error(served: Running, remote_factory: Any) -> None:
    """(before: the service refused most of them itself, with its wire-type text, e.g. ``action``
    "must be text" where the facade says "must be BUY or SELL")"""
    remote = remote_factory(served, "a")
    variants = _variants()
    assert len(variants) > 300
    assert_alike({name: functools.partial(facade, served.pa, args) for name, _, args, facade in variants},
                 {name: functools.partial(remote.transport.call, cmd, args) for name, cmd, args, _ in variants},
                 refused=True, peer="service")
    assert served.pa.state.trades_snapshot() == [] and served.pa.market_data.stats()["lines"] == 0


SPEC_ODD: list[Any] = [*ODD, None, True, 1.5]


_SPEC_CALLS: list[tuple[str, dict[str, Any], Callable[[Any, ContractSpec], Any]]] = [
    ("contracts.resolve", {}, lambda pa, spec: pa.contracts.resolve(spec)),
    ("contracts.cached", {}, lambda pa, spec: pa.contracts.cached(spec)),
    ("market_data.get_quote", {}, lambda pa, spec: pa.market_data.get_quote(spec)),
    ("orders.preview_order", {"action": "BUY", "quantity": 1, "order_type": "MKT"},
     lambda pa, spec: pa.orders.preview_order(spec, "BUY", 1, "MKT")),
]


def test_a_spec_maps_odd_fields_get_the_facades_errors(served: Running) -> None:
    """Every field of a ContractSpec map with an odd value: the facade's error for the ContractSpec
    holding that value, field and text (before: the service's own, ``must be str, not int (a
    ContractSpec map's field)``)."""
    raw = RawClient(served.service.commands_endpoint)
    diffs = {}
    try:
        raw.hello("raw")
        for field in ("symbol", "sec_type", "exchange", "currency", "primary_exchange", "last_trade_date",
                      "local_symbol", "multiplier", "con_id", "strike", "right"):
            for i, odd in enumerate(SPEC_ODD):
                spec = ContractSpec(**{"symbol": "EUR", "sec_type": SecType.FOREX, "exchange": "IDEALPRO",
                                       field: odd})
                wire = {"symbol": "EUR", "sec_type": "CASH", "exchange": "IDEALPRO", field: odd}
                for cmd, args, facade in _SPEC_CALLS:
                    expected = _outcome(functools.partial(facade, served.pa, spec))
                    reply = raw.call(cmd, {**args, "symbol": wire})
                    error = reply.get("error") or {}
                    got = (error.get("type", "returned"), error.get("attributes", {}).get("field"),
                           error.get("message", ""))
                    if expected[0] == "returned" and reply["ok"] or got == expected and got[0] != "ProtocolError":
                        continue  # a value the facade takes (a strike of 1.5) is taken, or refused, alike
                    diffs[f"{cmd} {field} #{i}"] = (expected, got)
    finally:
        raw.close()
    assert not diffs, "\n".join(f"{k}: facade {e} service {g}" for k, (e, g) in diffs.items())


def test_a_raw_sec_type_stays_text(served: Running) -> None:
    """``sec_type`` "STK" is a SecType on the wire unless the map flags it as the plain text a
    Python caller gave (which the facade refuses: it must be a SecType)."""
    raw = RawClient(served.service.commands_endpoint)
    try:
        raw.hello("raw")
        ok = raw.call("contracts.resolve", {"symbol": {"symbol": "AAPL", "sec_type": "STK"}})
        assert ok["ok"] and ok["result"]["spec"]["sec_type"] == "STK", ok
        text = raw.call("contracts.resolve", {"symbol": {"symbol": "AAPL", "sec_type": "STK", "raw_sec_type": True}})
        assert text["error"]["attributes"]["field"] == "symbol.sec_type", text
        assert text["error"]["message"] == "invalid symbol.sec_type='STK': must be a SecType"
        missing = raw.call("orders.place_order", {**_PLACE, "symbol": {"currency": "USD"}})
        assert (missing["error"]["type"], missing["error"]["attributes"]["field"]) == ("ValidationError", "symbol")
        assert "without its symbol" in missing["error"]["message"]
    finally:
        raw.close()


def test_kwargs_naming_another_argument_are_refused(served: Running, remote_factory: Any) -> None:
    """A ``kwargs`` key that is another argument of the command (``limit_price`` of a bracket,
    ``symbol`` of an order) is a ValidationError naming it (before: Python's TypeError "got
    multiple values for argument", an ``internal`` error reply)."""
    remote = remote_factory(served, "a")
    bracket = {"symbol": "AAPL", "action": "BUY", "quantity": 1, "limit_price": 100.0, "take_profit_price": 110.0,
               "stop_loss_price": 90.0}
    for cmd, args, key in [("orders.place_bracket_order", {**bracket, "kwargs": {"limit_price": 101.0}}, "limit_price"),
                           ("orders.place_order", {**_PLACE, "kwargs": {"symbol": "MSFT"}}, "symbol"),
                           ("orders.modify_order", {"order_id": 1, "kwargs": {"order_id": 2}}, "order_id")]:
        outcome = _outcome(functools.partial(remote.transport.call, cmd, args))
        assert outcome == ("ValidationError", key, f"invalid {key}={args['kwargs'][key]!r}: is an argument of "
                                                   f"{cmd}, not one of its kwargs"), outcome
    assert served.pa.state.trades_snapshot() == []


def _service_only(pa: Any) -> dict[str, Any]:
    """Order ids, accounts and the market data type: odd values through RemoteAdapter."""
    o, md, acc = pa.orders, pa.market_data, pa.account
    out: dict[str, Any] = {}
    for i, v in enumerate(["x", -1, 0, True, 1.5, None, [1], {"a": 1}]):
        out[f"cancel_order #{i}"] = functools.partial(o.cancel_order, v)
        out[f"modify_order #{i}"] = functools.partial(o.modify_order, v, quantity=5)
        out[f"modify_order bad kwarg #{i}"] = functools.partial(o.modify_order, v, bogus=5)
        out[f"get_order_status #{i}"] = functools.partial(o.get_order_status, v)
        out[f"get_order #{i}"] = functools.partial(o.get_order, v)
        if v is not None:  # None: every account
            out[f"get_account_summary #{i}"] = functools.partial(acc.get_account_summary, v)
            out[f"get_positions #{i}"] = functools.partial(acc.get_positions, v)
            out[f"get_pnl #{i}"] = functools.partial(acc.get_pnl, v)
        out[f"set_market_data_type #{i}"] = functools.partial(md.set_market_data_type, v)
    return out


def test_order_ids_accounts_and_the_data_type_get_the_facades_errors(served: Running, remote_factory: Any) -> None:
    """(before: the service's own texts, ``order_id`` "must be an integer" where the facade says
    "must be a positive integer", ``account`` "must be text", ``modify_order("x", bogus=5)``
    naming ``order_id`` where the facade names ``bogus``; and ``set_market_data_type(True)`` was
    sent as 1 and taken)"""
    remote = remote_factory(served, "a")
    assert_alike(_service_only(served.pa), _service_only(remote), refused=True)
