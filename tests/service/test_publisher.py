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
