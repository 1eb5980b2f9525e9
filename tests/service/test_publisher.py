"""The publisher under concurrent producers: every event is sent promptly (no wake-up lost between
the producers and its thread) and in order per producer, and quotes are conflated per line."""

from __future__ import annotations

import threading
import time
from typing import Any

import zmq

from platform_adapter.models.market_data import Quote
from platform_adapter.service import publisher as publisher_module
from platform_adapter.service.publisher import Publisher
from platform_adapter.service.schema import pack, unpack_stream


class Attached:
    """A started publisher (heartbeat every 30 s: a lost wake-up shows) whose ``attaches`` record
    when each token was attached, and ``connect(token)``: a reader socket attaching as it."""

    def __init__(self) -> None:
        self.ctx: zmq.Context[Any] = zmq.Context()
        self.attaches: dict[str, float] = {}
        self.pub = Publisher(self.ctx, "tcp://127.0.0.1:0", self._on_attach, dict, 30.0,
                             lambda s: s.setsockopt(zmq.LINGER, 0))
        self.pub.start()

    def _on_attach(self, token: str, identity: bytes) -> bool:
        self.pub.attach(token, identity, [])
        self.attaches[token] = time.monotonic()
        return True

    def connect(self, token: str) -> zmq.Socket[Any]:
        self.pub.open(token)
        sock = self.ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(self.pub.endpoint)
        sock.send(pack({"v": 1, "attach": token}))
        return sock

    def wait_attached(self, token: str, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while token not in self.attaches:
            assert time.monotonic() < deadline, f"{token} not attached"
            time.sleep(0.001)

    def stop(self) -> None:
        self.pub.stop()
        self.ctx.destroy(linger=0)


def test_concurrent_producers_never_wait_for_the_heartbeat() -> None:
    box = Attached()
    pub = box.pub
    reader = box.connect("t")
    box.wait_attached("t")
    delays: list[float] = []
    last: dict[int, int] = {}
    stop = threading.Event()

    def produce(n: int) -> None:
        i = 0
        while not stop.is_set():
            i += 1
            pub.event(["t"], pack({"p": n, "i": i, "t": time.monotonic()}))
            pub.quote("quotes|AAPL", Quote("AAPL", updates=i), ["t"])
            time.sleep(0.0005 * (i % 3))

    producers = [threading.Thread(target=produce, args=(n,)) for n in range(4)]
    for thread in producers:
        thread.start()
    deadline = time.monotonic() + 2.0
    quotes = 0
    try:
        while time.monotonic() < deadline:
            if reader.poll(100):
                for ev in unpack_stream(reader.recv()):
                    if "p" in ev:
                        assert ev["i"] == last.get(ev["p"], 0) + 1  # nothing lost, in order
                        last[ev["p"]] = ev["i"]
                        delays.append(time.monotonic() - ev["t"])
                    elif ev.get("ev") == "quote":
                        quotes += 1
    finally:
        stop.set()
        for thread in producers:
            thread.join()
        box.stop()
    assert sum(last.values()) > 1000 and max(delays) < 0.25, max(delays)
    assert 0 < quotes < sum(last.values())  # one line: quotes merged, the events all sent


def test_order_events_sent_at_once_keep_their_place_and_attaches_are_still_read() -> None:
    """send_now (an order event sent by its producer) never overtakes events queued before it,
    and while producers use the socket, the thread still reads every attach at once (its
    descriptor is edge-triggered: a lost wake-up would leave an attach for the 30 s heartbeat)."""
    box = Attached()
    pub = box.pub
    reader = box.connect("t")
    attach_times = box.attaches
    stop = threading.Event()
    sent = [0]

    def produce() -> None:  # one producer: its events must arrive in the order it made them
        i = 0
        while not stop.is_set():
            i += 1
            if i % 3:
                pub.send_now("t", pack({"i": i}))
            else:
                pub.event(["t"], pack({"i": i}))
            pub.quote("quotes|AAPL", Quote("AAPL", updates=i), ["t"])  # work queued for the thread
            sent[0] = i
            if i % 50 == 0:
                time.sleep(0.001)

    attach_delays: list[float] = []
    others: list[zmq.Socket[Any]] = []
    producer = threading.Thread(target=produce)
    got: list[int] = []
    try:
        box.wait_attached("t")  # before the stream starts
        producer.start()
        next_attach = time.monotonic()
        end = time.monotonic() + 2.0
        while time.monotonic() < end:
            if time.monotonic() >= next_attach:
                token = f"o{len(others)}"
                asked = time.monotonic()
                others.append(box.connect(token))
                while token not in attach_times:
                    assert time.monotonic() - asked < 5, "an attach was not read"
                    if reader.poll(1):
                        got.extend(ev["i"] for ev in unpack_stream(reader.recv()) if "i" in ev)
                attach_delays.append(attach_times[token] - asked)
                next_attach = time.monotonic() + 0.05
            if reader.poll(10):
                got.extend(ev["i"] for ev in unpack_stream(reader.recv()) if "i" in ev)
        stop.set()
        producer.join()  # sent[0] is final now: read up to it
        deadline = time.monotonic() + 5
        while (not got or got[-1] < sent[0]) and time.monotonic() < deadline:
            if reader.poll(10):
                got.extend(ev["i"] for ev in unpack_stream(reader.recv()) if "i" in ev)
    finally:
        stop.set()
        if producer.ident is not None:
            producer.join()
        box.stop()
    assert got == list(range(1, sent[0] + 1))  # nothing lost, none out of order
    assert len(got) > 1000 and len(attach_delays) >= 10
    assert max(attach_delays) < 1.0, max(attach_delays)  # a lost wake-up: 30 s


def test_send_now_never_waits_for_the_socket() -> None:
    """While the publisher thread holds the socket (a long fan-out), an order event is queued for
    it instead of holding up its producer (the adapter's event thread), and still arrives in order."""
    box = Attached()
    reader = box.connect("t")
    box.wait_attached("t")
    got: list[int] = []
    try:
        with box.pub._sock_lock:  # the publisher thread's hold, made long
            done = threading.Event()
            producer = threading.Thread(target=lambda: (box.pub.send_now("t", pack({"i": 1})),
                                                        box.pub.send_now("t", pack({"i": 2})), done.set()))
            producer.start()
            assert done.wait(5), "send_now waited for the socket"
            producer.join()
        box.pub.send_now("t", pack({"i": 3}))
        deadline = time.monotonic() + 5
        while len(got) < 3 and time.monotonic() < deadline:
            if reader.poll(100):
                got.extend(ev["i"] for ev in unpack_stream(reader.recv()) if "i" in ev)
    finally:
        box.stop()
    assert got == [1, 2, 3]


def test_a_quote_that_does_not_pack_loses_no_event_of_its_frame(monkeypatch: Any) -> None:
    """A quote whose packing raises (a bug) is left out; the reliable events taken for the same
    frame are still sent, and so is what comes after."""
    real_pack = publisher_module.pack
    failed: list[dict[str, Any]] = []

    def fails_once(value: Any) -> bytes:
        if isinstance(value, dict) and value.get("ev") == "quote" and not failed:
            failed.append(value)
            raise TypeError("a bug")
        return real_pack(value)

    monkeypatch.setattr(publisher_module, "pack", fails_once)
    box = Attached()
    reader = box.connect("t")
    box.wait_attached("t")
    got: list[Any] = []

    def read(count: int) -> None:
        deadline = time.monotonic() + 5
        while len(got) < count and time.monotonic() < deadline:
            if reader.poll(100):
                events = unpack_stream(reader.recv())
                got.extend(ev.get("i", ev.get("ev")) for ev in events if ev.get("ev") != "heartbeat")

    try:
        with box.pub._sock_lock:  # both queued before the publisher thread takes them, for one frame
            box.pub.event(["t"], pack({"i": 1}))
            box.pub.quote("quotes|AAPL", Quote("AAPL", updates=1), ["t"])
        read(1)
        box.pub.event(["t"], pack({"i": 2}))
        box.pub.quote("quotes|AAPL", Quote("AAPL", updates=2), ["t"])
        read(3)
    finally:
        box.stop()
    assert len(failed) == 1
    assert got == [1, 2, "quote"]
