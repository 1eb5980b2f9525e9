"""The publisher under concurrent producers: every event is sent promptly (no wake-up lost between
the producers and its thread) and in order per producer, and quotes are conflated per line."""

from __future__ import annotations

import threading
import time
from typing import Any

import zmq

from platform_adapter.models.market_data import Quote
from platform_adapter.service.publisher import Publisher
from platform_adapter.service.schema import pack, unpack_stream


def test_concurrent_producers_never_wait_for_the_heartbeat() -> None:
    ctx: zmq.Context[Any] = zmq.Context()
    attached = threading.Event()

    def on_attach(token: str, identity: bytes) -> bool:
        pub.attach(token, identity, [])
        attached.set()
        return True

    pub = Publisher(ctx, "tcp://127.0.0.1:0", on_attach, dict, 30.0, lambda s: s.setsockopt(zmq.LINGER, 0))
    pub.start()
    pub.open("t")
    reader = ctx.socket(zmq.DEALER)
    reader.setsockopt(zmq.LINGER, 0)
    reader.connect(pub.endpoint)
    reader.send(pack({"v": 1, "attach": "t"}))
    assert attached.wait(5)
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
        pub.stop()
        ctx.destroy(linger=0)
    assert sum(last.values()) > 1000 and max(delays) < 0.25, max(delays)
    assert 0 < quotes < sum(last.values())  # one line: quotes merged, the events all sent


def test_order_events_sent_at_once_keep_their_place_and_attaches_are_still_read() -> None:
    """send_now (an order event sent by its producer) never overtakes events queued before it,
    and while producers use the socket, the thread still reads every attach at once (its
    descriptor is edge-triggered: a lost wake-up would leave an attach for the 30 s heartbeat)."""
    ctx: zmq.Context[Any] = zmq.Context()
    attach_times: dict[str, float] = {}

    def on_attach(token: str, identity: bytes) -> bool:
        attach_times[token] = time.monotonic()
        pub.attach(token, identity, [])
        return True

    pub = Publisher(ctx, "tcp://127.0.0.1:0", on_attach, dict, 30.0, lambda s: s.setsockopt(zmq.LINGER, 0))
    pub.start()
    pub.open("t")
    reader = ctx.socket(zmq.DEALER)
    reader.setsockopt(zmq.LINGER, 0)
    reader.connect(pub.endpoint)
    reader.send(pack({"v": 1, "attach": "t"}))
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
        deadline = time.monotonic() + 5
        while "t" not in attach_times:  # attached before the stream starts
            assert time.monotonic() < deadline
            reader.poll(10)
        producer.start()
        next_attach = time.monotonic()
        end = time.monotonic() + 2.0
        while time.monotonic() < end or (got and got[-1] < sent[0] and time.monotonic() < end + 5):
            if time.monotonic() >= next_attach and time.monotonic() < end:
                token = f"o{len(others)}"
                pub.open(token)
                sock = ctx.socket(zmq.DEALER)
                sock.setsockopt(zmq.LINGER, 0)
                sock.connect(pub.endpoint)
                others.append(sock)
                asked = time.monotonic()
                sock.send(pack({"v": 1, "attach": token}))
                while token not in attach_times:
                    assert time.monotonic() - asked < 5, "an attach was not read"
                    if reader.poll(1):
                        got.extend(ev["i"] for ev in unpack_stream(reader.recv()) if "i" in ev)
                attach_delays.append(attach_times[token] - asked)
                next_attach = time.monotonic() + 0.05
            if time.monotonic() >= end:
                stop.set()
            if reader.poll(10):
                got.extend(ev["i"] for ev in unpack_stream(reader.recv()) if "i" in ev)
    finally:
        stop.set()
        if producer.ident is not None:
            producer.join()
        pub.stop()
        ctx.destroy(linger=0)
    assert got == list(range(1, sent[0] + 1))  # nothing lost, none out of order
    assert len(got) > 1000 and len(attach_delays) >= 20
    assert max(attach_delays) < 1.0, max(attach_delays)  # a lost wake-up: 30 s
