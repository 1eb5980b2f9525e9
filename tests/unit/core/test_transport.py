"""The reader's linear framing and the dispatcher's fast-path/decoder hand-off."""

from __future__ import annotations

import socket
import struct
import threading
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from platform_adapter.core.transport import MAX_FRAME, Dispatcher, Reader, split_frames
from tests.conftest import Recorder, wait_for


def framed(*payloads: bytes) -> bytes:
    return b"".join(struct.pack(">I", len(p)) + p for p in payloads)


def split_all(data: bytes, start: int = 0) -> tuple[list[bytes], int]:
    buf = bytearray(data)
    view = memoryview(buf)
    try:
        return split_frames(buf, view, start, len(buf))
    finally:
        view.release()


def test_split_frames_cuts_complete_frames_and_keeps_the_partial_tail() -> None:
    payloads = [b"1\0" + str(i).encode() + b"\0" for i in range(1000)]
    data = framed(*payloads) + framed(b"partial frame")[:7]
    frames, used = split_all(data)
    assert frames == payloads
    assert used == len(data) - 7
    assert all(type(f) is bytes for f in frames)


def test_split_frames_from_an_offset_and_with_an_incomplete_first_frame() -> None:
    data = b"xxxx" + framed(b"a\0", b"bc\0")
    frames, used = split_all(data, 4)
    assert frames == [b"a\0", b"bc\0"] and used == len(data)
    big = framed(b"z" * 5000)
    assert split_all(big[:3000]) == ([], 0)  # waits for the rest, copies nothing
    assert split_all(b"\0\0") == ([], 0)


def test_split_frames_rejects_impossible_lengths_after_handing_over_good_frames() -> None:
    bad = struct.pack(">I", MAX_FRAME + 1) + b"x"
    with pytest.raises(ValueError, match="exceeds"):
        split_all(bad)
    data = framed(b"ok\0") + bad
    frames, used = split_all(data)
    assert frames == [b"ok\0"] and used == 7
    with pytest.raises(ValueError, match="exceeds"):
        split_all(data, used)


def _reader_pair(initial: bytes = b"") -> tuple[socket.socket, Reader, list[list[bytes]], Recorder]:
    ours, theirs = socket.socketpair()
    batches: list[list[bytes]] = []
    closed = Recorder()
    reader = Reader(SimpleNamespace(socket=ours), batches.append, closed, initial)  # type: ignore[arg-type]
    reader.start()
    return theirs, reader, batches, closed


def test_reader_reassembles_frames_split_across_reads_and_reports_close() -> None:
    payloads = [(b"2\0%d\0" % i) * (1 + i % 50) for i in range(3000)]
    data = framed(*payloads)
    theirs, reader, batches, closed = _reader_pair(initial=data[:10])
    pos = 10
    for size in (1, 3, 7, 4096, 65536, 1 << 21):  # odd chunk sizes cut frames and headers anywhere
        theirs.sendall(data[pos:pos + size])
        pos += size
    theirs.sendall(data[pos:])
    theirs.close()
    assert closed.wait(1, timeout=10)[0] == ("closed by peer",)
    reader.join(5)
    assert [f for batch in batches for f in batch] == payloads
    assert reader.frames_read == len(payloads)
    assert len(batches) < len(payloads) / 10  # handed over in batches, not frame by frame


def test_reader_closes_on_a_bad_length() -> None:
    theirs, reader, batches, closed = _reader_pair()
    theirs.sendall(framed(b"ok\0") + struct.pack(">I", MAX_FRAME + 1))
    reason = closed.wait(1, timeout=10)[0][0]
    assert reason.startswith("bad frame")
    assert batches == [[b"ok\0"]]
    theirs.close()
    reader.join(5)


def test_dispatcher_tries_the_fast_path_then_the_decoder_and_survives_errors() -> None:
    handled: list[bytes] = []
    done = threading.Event()

    def handle(frame: bytes) -> None:
        if frame == b"boom":
            raise RuntimeError("decoder failed")
        handled.append(frame)
        if frame == b"last":
            done.set()

    def fast(frame: bytes) -> bool:
        return frame.startswith(b"1\0")

    dispatcher = Dispatcher(handle, fast)
    dispatcher.start()
    dispatcher.deliver([b"1\0a", b"9\0b", b"boom"])
    dispatcher.deliver([b"1\0c", b"last"])
    assert done.wait(5)
    dispatcher.stop()
    dispatcher.join(5)
    assert not dispatcher.is_alive()
    assert handled == [b"9\0b", b"last"]
    assert dispatcher.messages == 5 and dispatcher.fast_messages == 2
    assert dispatcher.backlog == 0 and dispatcher.max_backlog >= 1


def test_dispatcher_without_fast_path_decodes_everything() -> None:
    seen: list[Any] = []
    dispatcher = Dispatcher(seen.append)
    dispatcher.start()
    dispatcher.deliver([b"1\0x", b"2\0y"])
    dispatcher.stop()
    dispatcher.join(5)
    assert seen == [b"1\0x", b"2\0y"] and dispatcher.fast_messages == 0


class Trace:
    """A frame handler that records (frame, thread name) and can hold a frame until released."""

    def __init__(self, hold: bytes | None = None) -> None:
        self.seen: list[tuple[bytes, str]] = []
        self.hold = hold
        self.holding = threading.Event()
        self.release = threading.Event()
        self.active = 0
        self.overlaps = 0
        self._lock = threading.Lock()

    def __call__(self, frame: bytes) -> None:
        with self._lock:
            self.active += 1
            self.overlaps += self.active > 1
        if frame == self.hold:
            self.holding.set()
            self.release.wait(5)
        self.seen.append((frame, threading.current_thread().name))
        with self._lock:
            self.active -= 1


def test_a_small_batch_is_decoded_on_the_readers_thread_when_the_dispatcher_is_idle() -> None:
    trace = Trace()
    d = Dispatcher(trace, inline_max=4)
    d.start()
    try:
        d.deliver([b"a", b"b"])  # idle: decoded here, before deliver returns
        assert trace.seen == [(b"a", "MainThread"), (b"b", "MainThread")]
        d.deliver([b"1", b"2", b"3", b"4", b"5"])  # larger: the dispatcher's
        wait_for(lambda: len(trace.seen) == 7)
        assert {name for _, name in trace.seen[2:]} == {"pa-dispatcher"}
        assert (d.inline_batches, d.messages) == (1, 7)
    finally:
        d.stop()
        d.join(2)


def test_while_the_dispatcher_is_busy_small_batches_queue_behind_it_in_order() -> None:
    trace = Trace(hold=b"slow")
    d = Dispatcher(trace, inline_max=4)
    d.start()
    try:
        d.deliver([b"slow", b"x", b"y", b"z", b"w"])
        assert trace.holding.wait(5)
        d.deliver([b"next"])  # the dispatcher is busy: queued, not decoded out of order
        assert [f for f, _ in trace.seen] == []
        trace.release.set()
        wait_for(lambda: len(trace.seen) == 6)
        assert [f for f, _ in trace.seen] == [b"slow", b"x", b"y", b"z", b"w", b"next"]
        assert trace.seen[-1][1] == "pa-dispatcher"
        d.deliver([b"later"])  # caught up: inline again
        assert trace.seen[-1] == (b"later", "MainThread")
    finally:
        trace.release.set()
        d.stop()
        d.join(2)


def test_inline_max_zero_always_hands_over() -> None:
    trace = Trace()
    d = Dispatcher(trace, inline_max=0)
    d.start()
    try:
        d.deliver([b"a"])
        wait_for(lambda: len(trace.seen) == 1)
        assert trace.seen == [(b"a", "pa-dispatcher")] and d.inline_batches == 0
    finally:
        d.stop()
        d.join(2)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=40), st.integers(0, 6))
def test_batches_are_decoded_once_each_in_order_never_two_at_a_time(sizes: list[int], inline_max: int) -> None:
    trace = Trace()
    d = Dispatcher(trace, inline_max=inline_max)
    d.start()
    try:
        expected = []
        for b, size in enumerate(sizes):
            batch = [f"{b}.{i}".encode() for i in range(size)]
            expected += batch
            d.deliver(batch)
        wait_for(lambda: len(trace.seen) == len(expected))
        assert [f for f, _ in trace.seen] == expected
        assert trace.overlaps == 0
    finally:
        d.stop()
        d.join(2)
