"""The quote sink: tickPrice/tickSize applied straight to quote lines in segments must leave every
line exactly as the Wrapper path leaves it (same values, counters, stale flag, queued deliveries),
stand aside whenever another handler, DEBUG logging or unconflated delivery needs the Wrapper,
and never keep the LineBook's lock beyond a segment."""

from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ibapi.decoder import Decoder
from ibapi.protobuf.OrderStatus_pb2 import OrderStatus as OrderStatusProto
from ibapi.protobuf.TickPrice_pb2 import TickPrice as TickPriceProto
from ibapi.protobuf.TickSize_pb2 import TickSize as TickSizeProto
from ibapi.server_versions import MIN_SERVER_VER_PROTOBUF, MIN_SERVER_VER_PROTOBUF_MARKET_DATA
from ibapi.wrapper import EWrapper

from platform_adapter.adapters import quote_sink
from platform_adapter.core import fast_proto_decode
from platform_adapter.core.fast_decode import build_frame_fast_path
from platform_adapter.core.transport import Dispatcher
from tests.conftest import Recorder
from tests.unit.test_market_data import Env, make_pa, req_ids
from tests.wire import binary_id, ibapi_decode, proto_frame

VERSION = 176
UNKNOWN_REQ = 999_999


def noop(*_: Any) -> None:
    """A second handler on a tick event: it makes the sink stand aside."""


def frame(*fields: Any) -> bytes:
    return b"".join(str(f).encode() + b"\0" for f in fields)


def tick_price(req_id: int, tick_type: int, price: str, size: str, mask: int = 0) -> bytes:
    return frame(1, 6, req_id, tick_type, price, size, mask)


def tick_size(req_id: int, tick_type: int, size: str) -> bytes:
    return frame(2, 6, req_id, tick_type, size)


def run_frames(pa: Env, batches: list[list[bytes]], version: int = VERSION) -> Dispatcher:
    """Feed ``batches`` through the dispatcher loop (fast path, quote sink, ibapi's Decoder) on
    this thread, as the connection's dispatcher thread would."""
    decoder = Decoder(pa.wrapper, version)

    def handle(raw: bytes) -> None:
        ibapi_decode(decoder, raw, version)

    sink = pa.wrapper.installed_quote_sink
    dispatcher = Dispatcher(handle, build_frame_fast_path(pa.wrapper, version), sink.commit if sink else None)
    for batch in batches:
        dispatcher.queue.put(batch)
    dispatcher.queue.put(None)
    dispatcher.run()
    return dispatcher


def line_state(pa: Env) -> list[tuple[Any, ...]]:
    out = []
    for sub in sorted(pa.market_data.lines.all(), key=lambda s: s.req_id):
        quote = sub.snapshot() if sub.kind.value == "quotes" else None
        out.append((sub.key, sub.kind, dict(sub.fields), sub.updates, sub.stale, sub.pending, sub.skipped,
                    None if quote is None else (quote.bid, quote.ask, quote.last, quote.bid_size, quote.ask_size,
                                                quote.last_size, quote.volume, quote.high, quote.updates)))
    return out


def subscribed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> tuple[Env, list[int]]:
    """AAPL and MSFT quote lines and an SPY real-time-bar line (not a quote line)."""
    pa, client = make_pa(tmp_path / name, monkeypatch)
    pa.market_data.subscribe_quotes(["AAPL", "MSFT"], Recorder())
    pa.market_data.subscribe_real_time_bars("SPY", Recorder())
    ids = req_ids(client, "reqMktData") + req_ids(client, "reqRealTimeBars")
    return pa, ids


PRICES = st.sampled_from(["10.5", "-1", "0", "101.25", "-3.5", "1e3", ""])
SIZES = st.sampled_from(["100", "", "2147483647", "9223372036854775807", "-5", "12.5", "0", "100.0", "7"])
PRICE_TYPES = st.sampled_from([1, 2, 4, 6, 7, 9, 14, 37, 66, 67, 68, 72, 76])
SIZE_TYPES = st.sampled_from([0, 3, 5, 8, 21, 69, 70, 71, 74, 86])


@st.composite
def streams(draw: st.DrawFn) -> tuple[list[tuple[Any, ...]], list[int]]:
    """Message specs (``kind``, index of the request id, ...) and batch cut points."""
    specs: list[tuple[Any, ...]] = []
    for _ in range(draw(st.integers(1, 60))):
        line = draw(st.integers(0, 3))  # AAPL, MSFT, SPY bars, unknown
        kind = draw(st.sampled_from(["price", "price", "size", "size", "stamp", "mdtype"]))
        if kind == "price":
            specs.append(("price", line, draw(PRICE_TYPES), draw(PRICES), draw(SIZES), draw(st.integers(0, 7))))
        elif kind == "size":
            specs.append(("size", line, draw(SIZE_TYPES), draw(SIZES)))
        elif kind == "stamp":  # tickString: the Wrapper path, in the middle of a segment
            specs.append(("stamp", line, draw(st.sampled_from(["1700000000", "x"]))))
        else:  # marketDataType: not a fast-path message (ibapi's Decoder)
            specs.append(("mdtype", line, draw(st.integers(1, 4))))
    cuts = sorted(draw(st.lists(st.integers(0, len(specs)), max_size=5)))
    return specs, cuts


def at_version(text_frame: bytes, version: int) -> bytes:
    """A text frame as a gateway at ``version`` sends it: with a binary id from 201, and a tickPrice
    or tickSize as protobuf from 206 (an empty text field: the field absent)."""
    if version < MIN_SERVER_VER_PROTOBUF:
        return text_frame
    f = text_frame.split(b"\0")
    if f[0] not in (b"1", b"2") or version < MIN_SERVER_VER_PROTOBUF_MARKET_DATA:
        return binary_id(text_frame)
    message: Any
    if f[0] == b"1":
        message = TickPriceProto(reqId=int(f[2]), tickType=int(f[3]), attrMask=int(f[6]))
        if f[4]:
            message.price = float(f[4])
        size = f[5]
    else:
        message = TickSizeProto(reqId=int(f[2]), tickType=int(f[3]))
        size = f[4]
    if size:
        message.size = size.decode()
    return proto_frame(int(f[0]), message)


def encode(specs: list[tuple[Any, ...]], ids: list[int], cuts: list[int], version: int = VERSION
           ) -> list[list[bytes]]:
    """The frames of ``specs`` as a gateway at ``version`` sends them, cut into batches."""
    frames = []
    for spec in specs:
        req = ids[spec[1]] if spec[1] < len(ids) else UNKNOWN_REQ
        if spec[0] == "price":
            text = tick_price(req, spec[2], spec[3], spec[4], spec[5])
        elif spec[0] == "size":
            text = tick_size(req, spec[2], spec[3])
        elif spec[0] == "stamp":
            text = frame(46, 6, req, 45, spec[2])
        else:
            text = frame(58, 1, req, spec[2])
        frames.append(at_version(text, version))
    batches, start = [], 0
    for cut in [*cuts, len(frames)]:
        batches.append(frames[start:cut])
        start = cut
    return batches


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stream=streams(), segment=st.sampled_from([1, 3, 256]))
@pytest.mark.parametrize("version", [VERSION, 203, 226])  # text; text with a binary id; protobuf ticks
def test_sink_leaves_every_line_as_the_wrapper_path_does(tmp_path_factory: pytest.TempPathFactory,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         stream: tuple[list[tuple[Any, ...]], list[int]],
                                                         segment: int, version: int) -> None:
    specs, cuts = stream
    base = tmp_path_factory.mktemp("sink")
    with monkeypatch.context() as patch:
        patch.setattr(quote_sink, "SEGMENT", segment)
        fast, ids = subscribed(base, patch, "fast")
        slow, slow_ids = subscribed(base, patch, "slow")
        slow.wrapper.on("tick_price", noop)  # the sink stands aside: every tick takes the Wrapper path
        assert fast.wrapper.quote_sink is not None and slow.wrapper.quote_sink is None and ids == slow_ids
        run_frames(fast, encode(specs, ids, cuts, version), version)
        run_frames(slow, encode(specs, ids, cuts, version), version)
    assert line_state(fast) == line_state(slow)
    assert fast.market_data._ticks == slow.market_data._ticks
    assert fast.events.queue_length == slow.events.queue_length  # the same conflated deliveries queued
    sink = fast.market_data.sink
    assert sink is not None and not sink.open
    if any(s[0] in ("price", "size") and s[1] < 2 for s in specs):
        assert sink.segments > 0


@pytest.mark.parametrize("version", [VERSION, 201, 226])
def test_burst_is_applied_in_segments_and_the_lock_is_free_after_each_batch(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: int) -> None:
    pa, ids = subscribed(tmp_path, monkeypatch, "burst")
    aapl = ids[0]
    frames = []
    for i in range(1000):
        frames.append(at_version(tick_price(aapl, 1 if i % 2 else 2, f"{100 + i / 100:.2f}", str(100 + i)), version))
        frames.append(at_version(tick_size(aapl, 8, str(5000 + i)), version))
    monkeypatch.setattr(quote_sink, "SEGMENT", 256)
    dispatcher = run_frames(pa, [frames[:700], frames[700:]], version)
    assert dispatcher.fast_messages == 2000
    sink = pa.market_data.sink
    assert sink is not None
    # 700 = 256 + 256 + 188 and 1300 = 5 * 256 + 20: a segment never spans a batch
    assert sink.segments == 3 + 6
    quote = pa.market_data.get_quote("AAPL")
    assert (quote.bid, quote.ask, quote.volume) == (109.99, 109.98, Decimal(5999))
    assert (quote.bid_size, quote.ask_size) == (Decimal(1099), Decimal(1098))
    assert quote.updates == 3000 and quote.time is not None and quote.updated_monotonic > 0
    assert pa.events.queue_length == 1  # one conflated delivery for the line
    free = threading.Event()

    def take_lock() -> None:
        if pa.market_data.lines.lock.acquire(timeout=2):
            pa.market_data.lines.lock.release()
            free.set()

    other = threading.Thread(target=take_lock)
    other.start()
    other.join(5)
    assert free.is_set()


def test_delivery_after_a_burst_carries_the_last_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pa, client = make_pa(tmp_path, monkeypatch)
    got = Recorder()
    pa.market_data.subscribe_quotes("AAPL", got)
    aapl = req_ids(client, "reqMktData")[0]
    run_frames(pa, [[tick_price(aapl, 1, f"{50 + i}", "10") for i in range(600)]])
    pa.events.start()
    try:
        got.wait(1)
        assert pa.events.wait_idle()
    finally:
        pa.events.stop()
    assert len(got.calls) == 1
    assert got.calls[0][1].bid == 649.0 and got.calls[0][1].updates == 1200
    assert pa.events.stats()["callbacks_conflated"] == 1199


def test_sink_stands_aside_for_other_handlers_debug_and_unconflated_delivery(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pa, _ = make_pa(tmp_path, monkeypatch)
    wrapper, sink = pa.wrapper, pa.market_data.sink
    assert sink is not None and wrapper.quote_sink is sink and wrapper.installed_quote_sink is sink
    wrapper.on("tick_size", noop)
    assert wrapper.quote_sink is None
    wrapper.off("tick_size", noop)
    assert wrapper.quote_sink is sink
    wrapper.debug = True
    assert wrapper.quote_sink is None and wrapper.debug
    wrapper.debug = False
    assert wrapper.quote_sink is sink
    plain, _ = make_pa(tmp_path / "plain", monkeypatch, **{"market_data.conflate_callbacks": False})
    assert plain.market_data.sink is None and plain.wrapper.quote_sink is None
    assert plain.wrapper.installed_quote_sink is None


def test_ticks_a_second_handler_needs_reach_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pa, ids = subscribed(tmp_path, monkeypatch, "extra")
    seen = Recorder()
    pa.wrapper.on("tick_size", seen)
    run_frames(pa, [[tick_size(ids[0], 0, "42"), tick_price(ids[0], 1, "3.5", "9")]])
    assert [c[:3] for c in seen.calls] == [(ids[0], 0, Decimal(42)), (ids[0], 0, Decimal(9))]
    assert pa.market_data.get_quote("AAPL").bid_size == Decimal(9)
    sink = pa.market_data.sink
    assert sink is not None and sink.segments == 0


@pytest.mark.parametrize("version", [VERSION, 226])
@pytest.mark.parametrize("kind", ["price", "size", "order_status"])
def test_sink_stood_aside_mid_segment_is_committed_before_the_wrapper_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: int, kind: str) -> None:
    pa, ids = subscribed(tmp_path, monkeypatch, "aside")
    sink = pa.market_data.sink
    assert sink is not None
    assert sink.tick_price(ids[0], 1, 5.0, Decimal(3))  # a segment is open (the dispatcher's thread)
    assert sink.open
    pa.wrapper.debug = True  # the sink stands aside while its segment is open
    fast = build_frame_fast_path(pa.wrapper, version)
    frames = {"price": tick_price(ids[0], 2, "5.5", "8"), "size": tick_size(ids[0], 3, "8"),
              "order_status": frame(3, 1, "Submitted", "0", "1", "0", "7", "0", "0", "1", "", "0")}
    raw = at_version(frames[kind], version)
    if kind == "order_status" and version >= MIN_SERVER_VER_PROTOBUF_MARKET_DATA:
        raw = proto_frame(3, OrderStatusProto(orderId=1, status="Submitted", filled="0", remaining="1"))
    assert fast is not None and fast(raw)
    assert not sink.open and sink.segments == 1
    quote = pa.market_data.get_quote("AAPL")
    assert (quote.bid, quote.bid_size) == (5.0, Decimal(3))
    if kind != "order_status":
        assert quote.ask_size == Decimal(8)


def test_the_protobuf_size_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fast_proto_decode, "_CACHE_MAX", 2)
    seen: list[Any] = []

    class Sizes(EWrapper):  # type: ignore[misc]
        def tickSize(self, *args: Any) -> None:  # noqa: N802 - ibapi's name
            seen.append(args)

    decode = fast_proto_decode.build_proto_fast_path(Sizes())[202]
    for size in ("1", "2", "3", "1"):
        assert decode(proto_frame(2, TickSizeProto(reqId=1, tickType=0, size=size)))
    assert [args[2] for args in seen] == [Decimal(1), Decimal(2), Decimal(3), Decimal(1)]
