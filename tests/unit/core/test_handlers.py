"""One typed interface for every decoder: each message the simulator sends (``sim/messages.py``,
``tests/sim/wire_oracle.catalogue``), in its text form and in the form of the negotiated version
(protobuf at 226 where it has one), reaches the handler interfaces with the same call whether ibapi's
decoder (through the Wrapper) or the dispatcher's route (the fast path first, ibapi's decoder for
what it declines) decodes it; and the text and protobuf forms give the same call (up to
``wire_oracle.DIFFERENCES``, the values ibapi's protobuf decoder cannot make equal)."""

from __future__ import annotations

import inspect

import pytest
from ibapi.decoder import Decoder
from ibapi.server_versions import MIN_SERVER_VER_PROTOBUF

from platform_adapter.core.fast_decode import build_frame_fast_path
from platform_adapter.core.wrapper import Wrapper
from platform_adapter.sim import info_messages
from platform_adapter.sim.wire import Message
from tests.handlers import INTERFACE_METHODS, Call, Recording
from tests.sim.wire_oracle import catalogue, norm, reconcile
from tests.wire import ibapi_decode

OUTSIDE_THE_ADAPTER = {name for name, fn in vars(info_messages).items()
                       if inspect.isfunction(fn) and fn.__module__ == info_messages.__name__} - {
    "tick_req_params", "sec_def_opt_params", "sec_def_opt_params_end",  # option chains: pa.contracts.option_chains
    "tick_option_computation"}  # an option line's greeks
PROTOBUF_ONLY = {"config_response", "update_config_response"}  # no text form exists (replies to protobuf-only requests)
ORDER_ID, LINE_ID = 12, 7  # ids the catalogue's errors name: one owned by orders, one by market data
TEXT_FORM_MAX = MIN_SERVER_VER_PROTOBUF - 1
# every interface method the catalogue reaches (the rest: order_bound, connect_ack, connection_closed
# and the ConnectionManager's own events are not messages the simulator sends)
REACHED = INTERFACE_METHODS - {"order_bound", "connect_ack", "connection_closed", "connected",
                               "reconnected", "disconnected", "state_changed", "ib_link", "data_farm"}


def _recording() -> Recording:
    return Recording(normalise=norm, owned_requests={LINE_ID}, owned_orders={ORDER_ID})


def through_ibapi(frame: bytes, sv: int) -> list[Call]:
    """The calls of ibapi's decoder through the Wrapper (as stock ``EClient`` decodes the frame)."""
    rec = _recording()
    ibapi_decode(Decoder(rec.wrapper, sv), frame, sv)
    return rec.calls


def through_dispatcher(frame: bytes, sv: int) -> tuple[bool, list[Call]]:
    """(the fast path took it, the calls) on the dispatcher's route: the fast path, else ibapi's
    decoder after the fast path's flush, then the flush of the batch end."""
    rec = _recording()
    fast = build_frame_fast_path(rec.wrapper, sv)
    assert fast is not None
    took = fast.decode(frame)
    fast.flush()
    if not took:
        ibapi_decode(Decoder(rec.wrapper, sv), frame, sv)
    return took, rec.calls


def forms(msg: Message, sv: int) -> list[tuple[int, bytes]]:
    """(server version, frame without its length prefix): the text form, and the frame a gateway at
    ``sv`` sends (the same below 201)."""
    text_sv = min(sv, TEXT_FORM_MAX)
    out = [(text_sv, msg.encode(text_sv)[4:])]
    if sv != text_sv:
        out.append((sv, msg.encode(sv)[4:]))
    return out


@pytest.mark.parametrize("sv", [176, 226])
def test_every_message_gives_the_same_call_on_every_route(sv: int) -> None:
    used: set[tuple[str, str]] = set()
    reached: set[str] = set()
    fast_taken: dict[str, set[bool]] = {}
    for name, msg in catalogue(sv):
        text_calls: list[Call] | None = None
        for version, frame in forms(msg, sv)[name in PROTOBUF_ONLY:]:
            want = through_ibapi(frame, version)
            took, got = through_dispatcher(frame, version)
            assert got == want, (name, version, took)
            # a reply to a request family the adapter never sends (info_messages: depth, news, scanner...)
            # reaches no interface; every other message reaches one
            assert bool(want) is (name not in OUTSIDE_THE_ADAPTER), (name, version)
            fast_taken.setdefault(name, set()).add(took)
            if text_calls is None:
                text_calls = want
            else:  # the protobuf form against the text form
                assert reconcile(want, text_calls, used) == text_calls, (name, version)
            reached.update(method for method, _ in want)
    assert reached == REACHED
    text_fast = {"tick_price", "tick_size", "tick_string", "tick_generic", "tick_by_tick_last", "tick_by_tick_bid_ask",
                 "tick_by_tick_mid", "real_time_bar", "order_status", "open_order"}
    for name in text_fast:  # the text forms went the fast way (at 226 the text form is that of 200)
        assert True in fast_taken[name], name
    if sv >= MIN_SERVER_VER_PROTOBUF:  # protobuf ticks and order statuses too; the rest is ibapi's
        assert {name for name, took in fast_taken.items() if took == {True}} == {"tick_price", "tick_size",
                                                                                  "order_status"}


def test_errors_reach_the_domain_that_owns_their_id() -> None:
    routed = {}
    for name, msg in catalogue(176):
        if name == "error":
            (method, args), = through_ibapi(msg.encode(176)[4:], 176)
            routed[args[0][1]] = method
    assert routed == {-1: "lifecycle.error", ORDER_ID: "orders.error", LINE_ID: "market_data.error"}


# every ibapi callback the Wrapper adapts -> the handler method it calls
CALLBACKS = {
    "error": "lifecycle.error", "connectAck": "connect_ack", "connectionClosed": "connection_closed",
    "nextValidId": "next_valid_id", "managedAccounts": "managed_accounts", "currentTime": "current_time",
    "currentTimeInMillis": "current_time", "contractDetails": "contract_details",
    "bondContractDetails": "contract_details", "contractDetailsEnd": "contract_details_end",
    "securityDefinitionOptionParameter": "option_chain", "securityDefinitionOptionParameterEnd": "option_chain_end",
    "marketDataType": "market_data_type", "tickPrice": "tick_price", "tickSize": "tick_size",
    "tickString": "tick_string", "tickGeneric": "tick_generic", "tickSnapshotEnd": "tick_snapshot_end",
    "tickOptionComputation": "tick_option_computation",
    "tickReqParams": "tick_req_params", "tickByTickAllLast": "tick_by_tick_all_last",
    "tickByTickBidAsk": "tick_by_tick_bid_ask", "tickByTickMidPoint": "tick_by_tick_mid_point",
    "realtimeBar": "realtime_bar", "historicalData": "historical_data", "historicalDataEnd": "historical_data_end",
    "historicalDataUpdate": "historical_data_update", "headTimestamp": "head_timestamp",
    "openOrder": "open_order", "openOrderEnd": "open_order_end", "orderStatus": "order_status",
    "completedOrder": "completed_order", "completedOrdersEnd": "completed_orders_end", "orderBound": "order_bound",
    "execDetails": "exec_details", "execDetailsEnd": "exec_details_end", "commissionAndFeesReport": "commission_report",
    "updateAccountValue": "update_account_value", "updatePortfolio": "update_portfolio",
    "updateAccountTime": "update_account_time", "accountDownloadEnd": "account_download_end",
    "position": "position", "positionEnd": "position_end", "accountSummary": "account_summary",
    "accountSummaryEnd": "account_summary_end", "pnl": "pnl", "pnlSingle": "pnl_single",
    "positionMulti": "position_multi", "positionMultiEnd": "position_multi_end",
    "accountUpdateMulti": "account_update_multi", "accountUpdateMultiEnd": "account_update_multi_end",
}


def test_every_wrapper_callback_reaches_one_handler_method() -> None:
    adapted = {name for name, member in vars(Wrapper).items() if callable(member) and name[0].islower()
               and any(c.isupper() for c in name) or name in ("error", "position", "pnl")}
    assert adapted == set(CALLBACKS)
    assert set(CALLBACKS.values()) == INTERFACE_METHODS - {"connected", "reconnected", "disconnected",
                                                           "state_changed", "ib_link", "data_farm",
                                                           "orders.error", "market_data.error"}
    for callback, method in CALLBACKS.items():
        rec = Recording(normalise=lambda a: a)
        arity = len(inspect.signature(getattr(Wrapper, callback)).parameters) - 1
        args = tuple(range(1, arity + 1))
        getattr(rec.wrapper, callback)(*args)
        assert [name for name, _ in rec.calls] == [method], callback
