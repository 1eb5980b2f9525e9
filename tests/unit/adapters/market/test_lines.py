"""The book of streaming lines: shared lines per instrument, the line cap, release, failures,
new request ids after a reconnect, the stale and degraded flags; the IB calls of one line."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from platform_adapter.adapters.market.lines import LineBook, cancel_line, map_key, send_line
from platform_adapter.adapters.market.subscriptions import SubKind
from platform_adapter.errors import SubscriptionLimitExceeded, ValidationError
from platform_adapter.models.contract import ContractInfo, ContractSpec, SecType
from platform_adapter.models.market_data import TickByTickKind
from tests.fakes import FakeClient


def info(symbol: str, con_id: int = 1) -> ContractInfo:
    return ContractInfo(ContractSpec(symbol), con_id, symbol, SecType.STOCK, "SMART", "NASDAQ", "USD", symbol, "NMS",
                        0.01, "", symbol)


def cb_a(*_: Any) -> None: ...


def cb_b(*_: Any) -> None: ...


def quotes(*symbols: str) -> list[tuple[SubKind, ContractInfo, dict[str, Any]]]:
    return [(SubKind.QUOTES, info(s), {}) for s in symbols]


def test_one_line_per_instrument_shared_by_callbacks() -> None:
    book = LineBook(itertools.count(500).__next__)
    new = book.reserve(quotes("AAPL", "MSFT"), cb_a, None, cap=10, now=1.0).new
    assert [(s.key, s.req_id, s.callbacks) for s in new] == [("AAPL", 500, [cb_a]), ("MSFT", 501, [cb_a])]
    assert book.reserve(quotes("AAPL"), cb_b, cb_a, cap=10, now=2.0).new == []
    aapl = book.by_req(500)
    assert aapl is not None and aapl.callbacks == [cb_a, cb_b] and aapl.on_error == [cb_a]
    bars = book.reserve([(SubKind.BARS, info("AAPL"), {"what_to_show": "MIDPOINT"})], cb_a, None, cap=10, now=3.0).new
    assert map_key(bars[0]) == (SubKind.BARS, "AAPL", "MIDPOINT") and book.active_count() == 3


def test_the_cap_changes_nothing_when_passed() -> None:
    book = LineBook()
    book.reserve(quotes("AAPL"), cb_a, None, cap=2, now=0.0)
    with pytest.raises(SubscriptionLimitExceeded, match="max_simultaneous_subscriptions=2"):
        book.reserve(quotes("AAPL", "MSFT", "TSLA"), cb_b, None, cap=2, now=0.0)
    assert [s.key for s in book.all()] == ["AAPL"] and book.all()[0].callbacks == [cb_a]
    assert len(book.reserve(quotes("AAPL", "MSFT"), cb_b, None, cap=2, now=0.0).new) == 1  # AAPL is shared


def test_release_removes_a_line_with_its_last_callback() -> None:
    book = LineBook()
    book.reserve(quotes("AAPL"), cb_a, None, cap=5, now=0.0)
    book.reserve(quotes("AAPL"), cb_b, None, cap=5, now=0.0)
    keys = book.matching(SubKind.QUOTES, "AAPL", None)
    with pytest.raises(ValidationError, match="not subscribed"):
        book.release(keys, print, "symbols")
    assert book.release(keys, cb_a, "symbols") == []
    gone = book.release(keys, cb_b, "symbols")
    assert [s.key for s in gone] == ["AAPL"] and book.all() == [] and book.by_req(gone[0].req_id) is None
    with pytest.raises(ValidationError, match="has no quotes subscription"):
        book.release(keys, None, "symbols")


def test_a_failed_line_frees_its_place_and_is_replaced_by_a_new_request() -> None:
    book = LineBook()
    (sub,) = book.reserve(quotes("AAPL"), cb_a, None, cap=1, now=0.0).new
    assert book.fail(sub, RuntimeError("354")) and not book.fail(sub, RuntimeError("again"))
    assert book.by_req(sub.req_id) is None and book.active_count() == 0
    (again,) = book.reserve(quotes("AAPL"), cb_a, None, cap=1, now=0.0).new
    assert again is not sub and book.by_req(again.req_id) is again and book.by_req(sub.req_id) is None


def test_undo_takes_back_everything_one_reserve_did() -> None:
    """A subscribe call that failed: its callback and error handler leave the lines they joined,
    its new lines leave the book, a failed line one of them replaced is back; the lines' other
    callbacks stay."""
    book = LineBook(itertools.count(1).__next__)
    (aapl, dead) = book.reserve(quotes("AAPL", "TSLA"), cb_a, None, cap=5, now=0.0).new
    book.fail(dead, RuntimeError("354"))
    done = book.reserve(quotes("AAPL", "MSFT", "TSLA"), cb_b, cb_b, cap=5, now=0.0)
    assert done.joined == [aapl] and done.joined_errors == [aapl] and len(done.new) == 2
    gone = book.undo(done, cb_b, cb_b)
    assert gone == done.new
    assert aapl.callbacks == [cb_a] and aapl.on_error == []
    assert book.get((SubKind.QUOTES, "MSFT", "")) is None
    assert book.get((SubKind.QUOTES, "TSLA", "")) is dead and book.active_count() == 1


def test_undo_leaves_a_new_line_another_call_joined() -> None:
    book = LineBook(itertools.count(1).__next__)
    done = book.reserve(quotes("AAPL"), cb_a, None, cap=5, now=0.0)
    (sub,) = done.new
    sub.confirming = True
    assert book.reserve(quotes("AAPL"), cb_b, None, cap=5, now=0.0).new == []
    assert book.undo(done, cb_a, None) == []
    assert book.holds(sub) and sub.callbacks == [cb_b] and not sub.confirming


def test_renew_ids_moves_current_live_lines_only() -> None:
    book = LineBook(itertools.count(1).__next__)
    a, b = book.reserve(quotes("AAPL", "MSFT"), cb_a, None, cap=5, now=0.0).new
    book.fail(b, RuntimeError("x"))
    assert book.renew_ids([a, b], now=9.0) == [(1, a)]
    assert a.req_id == 3 and a.started == 9.0 and book.by_req(3) is a and book.by_req(1) is None


def test_stale_and_degraded_flags_report_the_lines_they_change() -> None:
    book = LineBook()
    a, b = book.reserve(quotes("AAPL", "MSFT"), cb_a, None, cap=5, now=0.0).new
    book.reserve([(SubKind.TICKS, info("AAPL"), {"tbt_kind": TickByTickKind.LAST})], cb_a, None, cap=5, now=0.0)
    flipped = book.flag_stale(lambda s: s.key == "AAPL")
    assert [(s.key, q.stale, cbs) for s, q, cbs in flipped] == [("AAPL", True, (cb_a,))]
    assert book.flag_stale(lambda s: True)[0][0] is b  # AAPL is stale already
    assert {s.key for s, q, _ in book.flag_degraded(True) if q.degraded} == {"AAPL", "MSFT"}
    assert book.flag_degraded(True) == []


def test_send_and_cancel_each_kind() -> None:
    client = FakeClient()
    book = LineBook(itertools.count(7).__next__)
    subs = book.reserve(quotes("AAPL"), cb_a, None, cap=5, now=0.0).new
    subs += book.reserve([(SubKind.BARS, info("AAPL"), {"what_to_show": "TRADES"}),
                          (SubKind.TICKS, info("AAPL"), {"tbt_kind": TickByTickKind.BID_ASK})], cb_a, None, cap=5,
                         now=0.0).new
    for sub in subs:
        send_line(client, sub)
        cancel_line(client, sub.kind, sub.req_id)
    names = [c[0] for c in client.calls]
    assert names == ["reqMktData", "cancelMktData", "reqRealTimeBars", "cancelRealTimeBars", "reqTickByTickData",
                     "cancelTickByTickData"]
    assert client.calls[4][1][2] == "BidAsk"


def test_a_failing_cancel_is_swallowed() -> None:
    class Broken:
        def cancelMktData(self, req_id: int) -> None:  # noqa: N802 - ibapi's name
            raise OSError("socket closed")

    cancel_line(Broken(), SubKind.QUOTES, 1)  # no exception: the line is gone either way
