"""The quote sink: runs of tickPrice/tickSize from the fast paths applied to quote lines must leave
every line exactly as the tick-by-tick route through the Wrapper leaves it (same values, counters,
stale flag, queued deliveries); a run reaches the market-data handler before any later message
reaches any handler; the LineBook's lock is free after each run."""

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

from platform_adapter.core import fast_decode, fast_proto_decode
from platform_adapter.core.fast_decode import build_frame_fast_path
from platform_adapter.core.transport import Dispatcher
from platform_adapter.core.wrapper import Wrapper
from tests.conftest import Recorder
from tests.handlers import Recording
from tests.unit.adapters.test_market_data import Env, make_pa, req_ids
from tests.wire import binary_id, ibapi_decode, proto_frame

VERSION = 176
UNKNOWN_REQ = 999_999


def frame(*fields: Any) -> bytes:
    return b"".join(str(f).encode() + b"\0" for f in fields)


def tick_price(req_id: int, tick_type: int, price: str, size: str, mask: int = 0) -> bytes:
    return frame(1, 6, req_id, tick_type, price, size, mask)


def tick_size(req_id: int, tick_type: int, size: str) -> bytes:
    return frame(2, 6, req_id, tick_type, size)


def run_frames(wrapper: Wrapper, batches: list[list[bytes]], version: int = VERSION, fast: bool = True
               ) -> Dispatcher:
    """Feed ``batches`` through the dispatcher loop (the fast path unless ``fast`` is False, then
    ibapi's Decoder) on this thread, as the connection's dispatcher thread would."""
    decoder = Decoder(wrapper, version)

    def handle(raw: bytes) -> None:
        ibapi_decode(decoder, raw, version)

    path = build_frame_fast_path(wrapper, version) if fast else None
    dispatcher = Dispatcher(handle, path.decode if path else None, path.flush if path else None)
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
        elif kind == "stamp":  # tickString: another handler method, in the middle of a run
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
@given(stream=streams(), run_max=st.sampled_from([1, 3, 256]))
@pytest.mark.parametrize("version", [VERSION, 203, 226])  # text; text with a binary id; protobuf ticks
def test_sink_leaves_every_line_as_the_wrapper_path_does(tmp_path_factory: pytest.TempPathFactory,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         stream: tuple[list[tuple[Any, ...]], list[int]],
                                                         run_max: int, version: int) -> None:
    specs, cuts = stream
    base = tmp_path_factory.mktemp("sink")
    with monkeypatch.context() as patch:
        patch.setattr(fast_decode, "QUOTE_RUN_MAX", run_max)
        fast, ids = subscribed(base, patch, "fast")
        slow, slow_ids = subscribed(base, patch, "slow")
        assert ids == slow_ids
        run_frames(fast.wrapper, encode(specs, ids, cuts, version), version)
        run_frames(slow.wrapper, encode(specs, ids, cuts, version), version, fast=False)  # tick by tick
    assert line_state(fast) == line_state(slow)
    assert fast.market_data.handler.ticks == slow.market_data.handler.ticks
    assert fast.events.queue_length == slow.events.queue_length  # the same conflated deliveries queued
    sink = fast.market_data.handler.sink
    assert sink is not None
    if any(s[0] in ("price", "size") for s in specs):
        assert sink.runs > 0
    assert fast.wrapper.callback_errors == slow.wrapper.callback_errors == 0


@pytest.mark.parametrize("version", [VERSION, 201, 226])
def test_burst_is_applied_in_runs_and_the_lock_is_free_after_each_batch(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: int) -> None:
    pa, ids = subscribed(tmp_path, monkeypatch, "burst")
    aapl = ids[0]
    frames = []
    for i in range(1000):
        frames.append(at_version(tick_price(aapl, 1 if i % 2 else 2, f"{100 + i / 100:.2f}", str(100 + i)), version))
        frames.append(at_version(tick_size(aapl, 8, str(5000 + i)), version))
    monkeypatch.setattr(fast_decode, "QUOTE_RUN_MAX", 256)
    dispatcher = run_frames(pa.wrapper, [frames[:700], frames[700:]], version)
    assert dispatcher.fast_messages == 2000
    sink = pa.market_data.handler.sink
    assert sink is not None
    # 700 = 256 + 256 + 188 and 1300 = 5 * 256 + 20: a run never spans a batch
    assert sink.runs == 3 + 6
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
    run_frames(pa.wrapper, [[tick_price(aapl, 1, f"{50 + i}", "10") for i in range(600)]])
    pa.events.start()
    try:
        got.wait(1)
        assert pa.events.wait_idle()
    finally:
        pa.events.stop()
    assert len(got.calls) == 1
    assert got.calls[0][1].bid == 649.0 and got.calls[0][1].updates == 1200
    assert pa.events.stats()["callbacks_conflated"] == 1199


def test_unconflated_lines_take_the_tick_by_tick_route(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    opts = {"market_data.conflate_callbacks": False}
    fast, client = make_pa(tmp_path / "fast", monkeypatch, **opts)
    slow, _ = make_pa(tmp_path / "slow", monkeypatch, **opts)
    assert fast.market_data.handler.sink is None
    for pa in (fast, slow):
        pa.market_data.subscribe_quotes("AAPL", Recorder())
    aapl = req_ids(client, "reqMktData")[0]
    frames = [tick_price(aapl, 1, "10.5", "3"), tick_size(aapl, 8, "900"), tick_price(aapl, 2, "10.75", "4")]
    run_frames(fast.wrapper, [frames])
    run_frames(slow.wrapper, [frames], fast=False)
    assert line_state(fast) == line_state(slow)
    assert fast.events.queue_length == slow.events.queue_length == 5  # a delivery per stored value


@pytest.mark.parametrize("version", [VERSION, 226])
@pytest.mark.parametrize("other", ["order_status", "tick_string", "market_data_type"])
def test_a_quote_run_is_delivered_before_any_later_message(version: int, other: str) -> None:
    """The pending run reaches the market-data handler before the next message of any kind reaches
    its handler, whether the fast path takes that message or ibapi's decoder does."""
    rec = Recording()
    frames = {"order_status": frame(3, 1, "Submitted", "0", "1", "0", "7", "0", "0", "1", "", "0"),
              "tick_string": frame(46, 6, 5, 45, "1700000000"),
              "market_data_type": frame(58, 1, 5, 3)}  # no fast path: ibapi's decoder
    raw = at_version(frames[other], version)
    if other == "order_status" and version >= MIN_SERVER_VER_PROTOBUF_MARKET_DATA:
        raw = proto_frame(3, OrderStatusProto(orderId=1, status="Submitted", filled="0", remaining="1"))
    batch = [at_version(tick_price(5, 1, "5.5", "8"), version), at_version(tick_size(5, 8, "90"), version), raw,
             at_version(tick_size(5, 0, "7"), version)]
    run_frames(rec.wrapper, [batch], version)
    assert rec.names() == ["tick_price", "tick_size", "tick_size", other, "tick_size"]


def test_the_protobuf_size_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fast_proto_decode, "_CACHE_MAX", 2)
    rec = Recording()
    fast = build_frame_fast_path(rec.wrapper, 226)
    assert fast is not None
    for size in ("1", "2", "3", "1"):
        assert fast.decode(proto_frame(2, TickSizeProto(reqId=1, tickType=0, size=size)))
    fast.flush()
    assert [args[2] for _, args in rec.calls] == [("Decimal", repr(Decimal(n))) for n in (1, 2, 3, 1)]
